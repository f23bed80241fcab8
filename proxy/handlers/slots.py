"""GET /v2/slots and the legacy GET /v2/slots/available, answered from the snapshot minus others' holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from aiohttp import web

from proxy.answers import Answer, Resolved
from proxy.availability import View
from proxy.calcom.errors import BadRequest
from proxy.calcom.jsonwire import CONTENT_TYPE, dumps
from proxy.calcom.slots import (
    AvailableQuery,
    SlotsQuery,
    available_data,
    parse_available_query,
    parse_slots_query,
    range_error,
    slots_data,
)
from proxy.calcom.timefmt import from_ms
from proxy.calcom.versions import HEADER as VERSION_HEADER
from proxy.calcom.versions import LEGACY_SLOTS_VERSIONS, V2024_09_04, request_version
from proxy.credentials import CLIENT_ID_HEADER, SECRET_HEADER
from proxy.handlers.context import caller, creds, services
from proxy.handlers.passthrough import forward
from proxy.identity import CALL_ID_HEADER
from proxy.services import Services
from proxy.snapshot import UpstreamRefused

# Later than any instant an answer could depend on.
NEVER_MS = 2**62

# Above this many slots the answer is rendered off the event loop (about 5 ms of formatting at 500 slots).
RENDER_INLINE_MAX = 600


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _bounded(request: web.Request, query: SlotsQuery | AvailableQuery) -> None:
    """Refuse a range longer than the configured maximum before any work is done for it."""
    message = range_error(query.start, query.end, services(request).settings.max_slot_range_days)
    if message is not None:
        raise BadRequest(message)


@lru_cache(maxsize=2048)
def render(query: SlotsQuery | AvailableQuery, starts: tuple[int, ...], length_minutes: int) -> bytes:
    """The whole answer body for a query and the starts it may offer; pure, so cached.

    Most requests repeat a (query, free slots) pair until a hold or booking changes it, and formatting
    every slot in the caller's zone was a quarter of the time of a cached slots request.
    """
    instants = [from_ms(s) for s in starts]
    if isinstance(query, SlotsQuery):
        data: object = slots_data(instants, query, length_minutes)
    else:
        data = available_data(instants, query, length_minutes)
    return dumps({"status": "success", "data": data}).encode()


def _reused(svc: Services, resolved: Resolved) -> web.Response | None:
    """The answer rendered earlier for this very resolution while it is provably current (proxy.answers),
    looked up before any coroutine is entered, as most slots requests end here. It is reused for at most the
    local memo's second, so it is as fresh as the window test of `_answer` that it skips."""
    query = resolved.query
    answers = svc.answers
    if answers is None or query is None or query.event_type_id is None:
        return None
    event_type_id = query.event_type_id
    body = answers.get(resolved, lambda: svc.snapshots.generation(event_type_id))
    return None if body is None else web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _answer(request: web.Request, svc: Services, resolved: Resolved) -> web.StreamResponse:
    """Serve a validated slots query from the snapshot; what we cannot answer ourselves goes upstream."""
    query = resolved.query
    if query is None or query.event_type_id is None:
        return await forward(request)
    owner = resolved.owner
    event_type_id = query.event_type_id
    answers = svc.answers
    if not svc.availability.within_window(_ms(query.start), _ms(query.end)):
        # Wholly past, or wholly beyond Cal.com's one-year horizon: Cal.com's answer is empty (or its own
        # refusal of the event type or credentials), so ask it rather than cache days that hold nothing.
        return await forward(request)
    generation = svc.snapshots.generation(event_type_id)
    try:
        view = await svc.availability.view(
            event_type_id, query.duration, _ms(query.start), _ms(query.end), owner, creds(request)
        )
    except UpstreamRefused:
        # Let Cal.com word its own refusal for the caller's exact query.
        return await forward(request)
    length_ms = query.duration * 60_000 if query.duration else (view.length_ms or 0)
    free = tuple(view.free())
    if len(free) <= RENDER_INLINE_MAX:
        body = render(query, free, length_ms // 60_000)
    else:
        body = await asyncio.to_thread(render, query, free, length_ms // 60_000)
    if answers is not None and view.holds_version is not None:
        answers.put(resolved, answer_of(view, body, free, generation))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def answer_of(view: View, body: bytes, free: tuple[int, ...], generation: int) -> Answer:
    """What a rendered answer rests on (see proxy.answers)."""
    assert view.holds_version is not None
    return Answer(
        body=body,
        resource=view.resource,
        version=view.holds_version,
        generation=generation,
        fresh_until=view.snapshot.fresh_until,
        until_ms=free[0] if free else NEVER_MS,
        holds_until_ms=min((b.expires_at_ms for b in view.busy), default=NEVER_MS),
    )


# The headers a resolution depends on (see proxy.answers.resolutions).
RESOLVING_HEADERS = (VERSION_HEADER, "Authorization", CLIENT_ID_HEADER, SECRET_HEADER, CALL_ID_HEADER)


def _resolved(request: web.Request, svc: Services, resolve: Callable[[web.Request], Resolved]) -> Resolved:
    get = request.headers.get
    key = (request.path, request.query_string, *map(get, RESOLVING_HEADERS))
    memo = svc.slot_requests
    found = memo.get(key)
    if found is None:
        found = resolve(request)  # a refused request raises here and is never remembered
        memo.put(key, found)
    return found


def _resolve_slots(request: web.Request) -> Resolved:
    if request_version(request.headers) != V2024_09_04:
        return Resolved(None)
    query = parse_slots_query(request.query)
    _bounded(request, query)
    # A round-robin host subset changes which hosts count, which the snapshot of the whole event type
    # cannot tell; Cal.com answers it.
    if query.booking_uid_to_reschedule or query.rr_host_subset_ids is not None:
        return Resolved(None)
    return Resolved(query, caller(request, read_only=True).owner)


def _resolve_available(request: web.Request) -> Resolved:
    if request_version(request.headers) not in LEGACY_SLOTS_VERSIONS:
        return Resolved(None)
    query = parse_available_query(request.query)
    _bounded(request, query)
    if query.reschedule_uid:
        return Resolved(None)
    return Resolved(query, caller(request, read_only=True).owner)


async def get_slots(request: web.Request) -> web.StreamResponse:
    """2024-09-04 slots; other versions, slug queries and upstream errors go to Cal.com as they are."""
    svc = services(request)
    resolved = _resolved(request, svc, _resolve_slots)
    reused = _reused(svc, resolved)
    return reused if reused is not None else await _answer(request, svc, resolved)


async def get_available(request: web.Request) -> web.StreamResponse:
    """The legacy shape `data.slots[date][].time`, still used by older backends and @calcom/sdk."""
    svc = services(request)
    resolved = _resolved(request, svc, _resolve_available)
    reused = _reused(svc, resolved)
    return reused if reused is not None else await _answer(request, svc, resolved)
