"""POST /v2/bookings (the verified commit), reschedule and cancel."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from proxy.calcom.bookings import parse_create_booking, parse_reschedule
from proxy.calcom.errors import BadRequest, CalcomError, status_of
from proxy.calcom.jsonwire import dumps
from proxy.calcom.requests import read_json
from proxy.calcom.versions import BOOKING_VERSIONS, request_version
from proxy.commit import Committed
from proxy.handlers.context import caller, creds, services
from proxy.handlers.passthrough import forward
from proxy.idempotency import StoredOutcome, body_digest
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


async def _idempotent(
    request: web.Request, who: Caller, digest: str, run: Callable[[], Awaitable[Committed]]
) -> web.Response:
    """Run a commit once per Idempotency-Key; replay its answer (success or refusal) afterwards."""
    svc = services(request)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        return _response(await run())
    stored = await svc.idempotency.claim(who.tenant, key, digest)
    if stored is not None:
        return _response(stored)
    try:
        committed = await run()
    except CalcomError as error:
        if status_of(error) >= 500:
            # Outcome unknown: a retry must be allowed to try (and resolve) again.
            await svc.idempotency.abandon(who.tenant, key)
        else:
            body = dumps(error.body(request.path_qs)).encode()
            await svc.idempotency.finish(who.tenant, key, digest, StoredOutcome(status_of(error), body))
        raise
    except BaseException:
        await svc.idempotency.abandon(who.tenant, key)
        raise
    await svc.idempotency.finish(who.tenant, key, digest, StoredOutcome(committed.status, committed.body))
    return _response(committed)


async def create(request: web.Request) -> web.Response:
    """The verified commit of CONTRACT §5."""
    if request_version(request.headers) not in BOOKING_VERSIONS:
        raise BadRequest(NEEDS_VERSION)
    raw = await read_json(request)
    body = dict(raw) if isinstance(raw, dict) else raw
    reserved = _reserved_uid(body) if isinstance(body, dict) else None
    booking = parse_create_booking(body)
    assert isinstance(body, dict)
    who = caller(request)
    svc = services(request)

    async def run() -> Committed:
        return await svc.commits.commit(body, booking, who, creds(request), reserved)

    return await _idempotent(request, who, body_digest(raw), run)


async def reschedule(request: web.Request) -> web.StreamResponse:
    """A commit of the new time (CONTRACT §3): verified like a create."""
    if request_version(request.headers) not in BOOKING_VERSIONS:
        raise BadRequest(NEEDS_VERSION)
    raw = await read_json(request)
    parsed = parse_reschedule(raw)
    assert isinstance(raw, dict)
    result = await services(request).rescheduler.reschedule(
        request.match_info["uid"], dict(raw), parsed, caller(request), creds(request)
    )
    return await forward(request) if result is None else _response(result)


async def cancel(request: web.Request) -> web.StreamResponse:
    """Forwarded; on success the snapshot, booked marker and ledger follow."""
    response = await forward(request)
    if response.status in (200, 201) and isinstance(response, web.Response) and response.text:
        answer = json.loads(response.text)
        await services(request).rescheduler.after_cancel(request.match_info["uid"], answer)
    return response
