"""POST /v2/bookings (the verified commit), reschedule and cancel."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from proxy.calcom.bookings import CreateBooking, parse_create_booking, parse_reschedule
from proxy.calcom.errors import BadRequest, CalcomError, status_of
from proxy.calcom.jsonwire import dumps
from proxy.calcom.requests import read_json
from proxy.calcom.versions import BOOKING_VERSIONS, request_version
from proxy.commit import Committed, ConfirmHook
from proxy.errors import IdempotencyInFlight
from proxy.handlers.context import creds, services, verified_caller
from proxy.handlers.passthrough import forward
from proxy.idempotency import DONE_TTL_MS, NATURAL_TTL_MS, StoredOutcome, body_digest
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


@dataclass(frozen=True)
class Replay:
    """Which idempotency key guards a commit, and which answers it replays."""

    key: str
    digest: str
    replay_refusals: bool
    # The resource booked: the record lives in its hash slot, with its holds and ledger.
    resource: str
    ttl_ms: int = DONE_TTL_MS


def replay_key(
    request: web.Request, who: Caller, raw: object, booking: CreateBooking, reserved: str | None
) -> Replay | None:
    """The Idempotency-Key; else the natural key (same caller, same slot), which replays only success.

    None without an event type: the commit refuses such a body at once (400), before anything is held.
    """
    if booking.event_type_id is None:
        return None
    resource = services(request).availability.resources.resource_for(booking.event_type_id)
    explicit = request.headers.get(IDEMPOTENCY_HEADER)
    if explicit:
        return Replay(explicit, body_digest(raw), replay_refusals=True, resource=resource)
    ident = who.owner if who.has_call_id else (f"r:{reserved}" if reserved else None)
    if ident is None:
        return None
    start_ms = int(booking.start.timestamp() * 1000)
    # Same caller, same slot *and same body* replays: a call id is no secret (anyone with the tenant's
    # credential can send it), so another attendee's body must never be handed this caller's booking. A
    # retry with a changed body is not replayed, and cannot book twice either: the booked marker refuses it.
    digest = body_digest(raw)
    key = f"natural:{ident}:{booking.event_type_id}:{start_ms}:{digest}"
    return Replay(key, digest, replay_refusals=False, resource=resource, ttl_ms=NATURAL_TTL_MS)


async def _idempotent(
    request: web.Request,
    who: Caller,
    replay: Replay | None,
    run: Callable[[ConfirmHook | None], Awaitable[Committed]],
) -> web.Response:
    """Run a commit once per key; replay its answer afterwards (409 while the first is in flight)."""
    if replay is None:
        return _response(await run(None))
    svc = services(request)
    store = svc.idempotency
    try:
        stored = await store.claim(replay.resource, who.tenant, replay.key, replay.digest)
    except IdempotencyInFlight:
        # The first attempt never answered (its process may have died mid-commit): hand over the booking
        # it made, if Cal.com has it; otherwise the retry hears 409 as before.
        handed = await svc.commits.hand_off(replay.resource, replay.key, creds(request))
        if handed is None:
            raise
        outcome = StoredOutcome(handed.status, handed.body)
        await store.finish(
            replay.resource, who.tenant, replay.key, replay.digest, outcome, ttl_ms=replay.ttl_ms
        )
        return _response(handed)
    if stored is not None:
        return _response(stored)

    async def remember(committed: Committed) -> None:
        outcome = StoredOutcome(committed.status, committed.body)
        await store.finish(
            replay.resource, who.tenant, replay.key, replay.digest, outcome, ttl_ms=replay.ttl_ms
        )

    try:
        # The answer is stored alongside the commit's own final writes, before the caller hears it.
        committed = await run(remember)
    except CalcomError as error:
        if status_of(error) >= 500 or not replay.replay_refusals:
            # Outcome unknown, or a refusal the caller may retry once the slot frees up: run again next time.
            await store.abandon(replay.resource, who.tenant, replay.key)
        else:
            body = dumps(error.body(request.path_qs)).encode()
            stored_error = StoredOutcome(status_of(error), body)
            await store.finish(replay.resource, who.tenant, replay.key, replay.digest, stored_error)
        raise
    except BaseException:
        await store.abandon(replay.resource, who.tenant, replay.key)
        raise
    return _response(committed)


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

    replay = replay_key(request, who, raw, booking, reserved)

    async def run(on_confirmed: ConfirmHook | None) -> Committed:
        key = replay.key if replay else None
        return await svc.commits.commit(
            body, booking, who, creds(request), reserved, on_confirmed=on_confirmed, replay_key=key
        )

    response = await _idempotent(request, who, replay, run)
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
