"""POST /v2/bookings (the verified commit), reschedule and cancel."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from proxy.calcom.bookings import CreateBooking, parse_create_booking, parse_reschedule
from proxy.calcom.errors import BadRequest
from proxy.calcom.requests import read_json
from proxy.calcom.versions import BOOKING_VERSIONS, request_version
from proxy.commit import Committed
from proxy.errors import IdempotencyInFlight
from proxy.handlers.context import creds, services, verified_caller
from proxy.handlers.passthrough import forward
from proxy.idempotency import NATURAL_TTL_MS, ReplayGuard, StoredOutcome, body_digest
from proxy.identity import Caller

IDEMPOTENCY_HEADER = "Idempotency-Key"
NEEDS_VERSION = (
    "calproxy verifies bookings in the 2024-08-13 format only: send the header cal-api-version: 2024-08-13."
)


def _response(outcome: Committed | StoredOutcome) -> web.Response:
    response = web.Response(status=outcome.status, body=outcome.body, content_type="application/json")
    response.charset = "utf-8"
    if isinstance(outcome, Committed):
        for name, value in outcome.headers.items():
            response.headers[name] = value
    return response


def _reserved_uid(body: dict[str, Any]) -> str | None:
    """Newer Cal.com's reservedSlotUid: ours to check, never forwarded (older Cal.com refuses it)."""
    value = body.pop("reservedSlotUid", None)
    if value is not None and not isinstance(value, str):
        raise BadRequest("reservedSlotUid property is wrong,reservedSlotUid must be a string ")
    return value


def replay_guard(
    request: web.Request, who: Caller, raw: object, booking: CreateBooking, reserved: str | None
) -> ReplayGuard | None:
    """The Idempotency-Key; else the natural key (same caller, same slot), which replays only success.

    None without an event type (the commit refuses such a body at once, before anything is held), or
    without anything that names the caller's attempt.
    """
    if booking.event_type_id is None:
        return None
    explicit = request.headers.get(IDEMPOTENCY_HEADER)
    if explicit:
        return ReplayGuard(explicit, who.tenant, body_digest(raw), replay_refusals=True)
    ident = who.owner if who.has_call_id else (f"r:{reserved}" if reserved else None)
    if ident is None:
        return None
    start_ms = int(booking.start.timestamp() * 1000)
    # Same caller, same slot *and same body* replays: a call id is no secret (anyone with the tenant's
    # credential can send it), so another attendee's body must never be handed this caller's booking. A
    # retry with a changed body is not replayed, and cannot book twice either: the booked marker refuses it.
    digest = body_digest(raw)
    key = f"natural:{ident}:{booking.event_type_id}:{start_ms}:{digest}"
    return ReplayGuard(key, who.tenant, digest, replay_refusals=False, ttl_ms=NATURAL_TTL_MS)


async def _handed_off(request: web.Request, guard: ReplayGuard, event_type_id: int) -> Committed | None:
    """The first attempt under this key never answered (its process may have died mid-commit): the booking
    it made, if Cal.com has it, stored for later replays; None when there is none (the retry hears 409)."""
    svc = services(request)
    resource = svc.availability.resources.resource_for(event_type_id)
    handed = await svc.commits.hand_off(resource, guard.key, creds(request))
    if handed is not None:
        await svc.idempotency.finish(resource, guard, StoredOutcome(handed.status, handed.body))
    return handed


async def create(request: web.Request) -> web.Response:
    """The verified commit of CONTRACT §5."""
    if request_version(request.headers) not in BOOKING_VERSIONS:
        raise BadRequest(NEEDS_VERSION)
    # Cal.com authenticates before it validates the body.
    who = await verified_caller(request)
    raw = await read_json(request)
    body = dict(raw) if isinstance(raw, dict) else raw
    reserved = _reserved_uid(body) if isinstance(body, dict) else None
    booking = parse_create_booking(body)
    assert isinstance(body, dict)
    svc = services(request)

    guard = replay_guard(request, who, raw, booking, reserved)
    try:
        committed = await svc.commits.commit(
            body, booking, who, creds(request), reserved, guard=guard, path=request.path_qs
        )
    except IdempotencyInFlight:
        assert guard is not None and booking.event_type_id is not None
        handed = await _handed_off(request, guard, booking.event_type_id)
        if handed is None:
            raise
        committed = handed
    response = _response(committed)
    if response.status == 201 and booking.event_type_id is not None:
        # The hold became a booking: it no longer counts against the tenant's hold budgets. Off the answer's
        # path: the booking is verified and recorded, and this bookkeeping must not delay or fail its answer.
        resource = svc.availability.resources.resource_for(booking.event_type_id)
        svc.budget.note_booked(who.tenant, resource, int(booking.start.timestamp() * 1000))
    return response


async def reschedule(request: web.Request) -> web.StreamResponse:
    """A commit of the new time (CONTRACT §3): verified like a create."""
    if request_version(request.headers) not in BOOKING_VERSIONS:
        raise BadRequest(NEEDS_VERSION)
    who = await verified_caller(request)
    raw = await read_json(request)
    parsed = parse_reschedule(raw)
    assert isinstance(raw, dict)
    result = await services(request).rescheduler.reschedule(
        request.match_info["uid"], dict(raw), parsed, who, creds(request)
    )
    return await forward(request) if result is None else _response(result)


async def cancel(request: web.Request) -> web.StreamResponse:
    """Forwarded; on success the snapshot, booked marker and ledger follow."""
    response = await forward(request)
    if response.status in (200, 201) and isinstance(response, web.Response) and response.text:
        answer = json.loads(response.text)
        await services(request).rescheduler.after_cancel(request.match_info["uid"], answer)
    return response
