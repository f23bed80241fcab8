"""Cal.com's reservation endpoints (new and legacy), served as holds in Redis."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web

from proxy.calcom.errors import NotFound
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.calcom.reservations import parse_legacy_reserve, parse_reserve_slot, require_auth_for_duration
from proxy.calcom.versions import LEGACY_SLOTS_VERSIONS, V2024_09_04, request_version
from proxy.handlers.context import answers_throttled, caller, creds, holding_caller, services
from proxy.identity import Caller

LEGACY_RESERVATION_MINUTES = 5
# calproxy's own PATCH variant: extend one's live hold in place. Cal.com refuses a PATCH over the
# reservation's own unexpired time with 422, and so does calproxy without this header.
REFRESH_HEADER = "X-Calproxy-Refresh"


def _require(request: web.Request, allowed: frozenset[str]) -> None:
    if request_version(request.headers) not in allowed:
        raise NotFound(f"Cannot {request.method} {request.path_qs}")


def _ttl_ms(minutes: int | None) -> int | None:
    # Cal.com keeps 0 or less (`?? 5`) as an already expired row; a hold needs a TTL: those get the default.
    return minutes * 60_000 if minutes and minutes > 0 else None


def _wants_refresh(request: web.Request) -> bool:
    return request.headers.get(REFRESH_HEADER, "").strip().lower() in ("1", "true", "yes")


@answers_throttled
async def create(request: web.Request) -> web.Response:
    """POST /v2/slots/reservations: 201 with reservationUid and reservationUntil."""
    _require(request, frozenset({V2024_09_04}))
    who = await holding_caller(request)
    body = parse_reserve_slot(await read_json(request))
    require_auth_for_duration(body, authenticated=bool(creds(request)))
    svc = services(request)
    reservation = await svc.reservations.reserve(
        body.event_type_id,
        body.slot_start,
        None,
        _ttl_ms(body.reservation_duration),
        who,
        creds(request),
    )
    svc.metrics.holds_created.labels(outcome="reservation").inc()
    return json_response({"status": "success", "data": reservation.output(with_duration=True)}, status=201)


async def get(request: web.Request) -> web.Response:
    """GET /v2/slots/reservations/{uid}: the reservation, or data null (Cal.com does not 404 here)."""
    _require(request, frozenset({V2024_09_04}))
    found = await services(request).reservations.find(request.match_info["uid"], caller(request))
    data = found.output(with_duration=False) if found else None
    return json_response({"status": "success", "data": data})


@answers_throttled
async def update(request: web.Request) -> web.Response:
    """PATCH /v2/slots/reservations/{uid}: move to another slot (or, with X-Calproxy-Refresh, extend).

    Cal.com's PATCH takes reservationDuration without credentials (no 401 check in updateReservedSlot).
    """
    _require(request, frozenset({V2024_09_04}))
    who = await holding_caller(request)
    body = parse_reserve_slot(await read_json(request))
    reservation = await services(request).reservations.update(
        request.match_info["uid"],
        body.event_type_id,
        body.slot_start,
        _ttl_ms(body.reservation_duration),
        who,
        creds(request),
        refresh=_wants_refresh(request),
    )
    return json_response({"status": "success", "data": reservation.output(with_duration=True)})


async def delete(request: web.Request) -> web.Response:
    """DELETE /v2/slots/reservations/{uid}: always 200, like Cal.com's deleteMany."""
    _require(request, frozenset({V2024_09_04}))
    await services(request).reservations.release(request.match_info["uid"], caller(request))
    return json_response({"status": "success"})


@answers_throttled
async def legacy_reserve(request: web.Request) -> web.Response:
    """POST /v2/slots/reserve (2024-04-15): data is the bare uid, also set as the `uid` cookie."""
    _require(request, LEGACY_SLOTS_VERSIONS)
    who = await holding_caller(request)
    body = parse_legacy_reserve(await read_json(request))
    svc = services(request)
    if body.dry_run:
        return await _legacy_dry_run(request, body.event_type_id, body.slot_start, who)
    reservation = await svc.reservations.reserve(
        body.event_type_id,
        body.slot_start,
        body.slot_end,
        _ttl_ms(LEGACY_RESERVATION_MINUTES),
        who,
        creds(request),
    )
    uid = reservation.uid
    response = json_response({"status": "success", "data": uid}, status=201)
    response.set_cookie("uid", uid, path="/")
    return response


async def _legacy_dry_run(
    request: web.Request, event_type_id: int, start: datetime, who: Caller
) -> web.Response:
    """_isDryRun: Cal.com looks the event type up and answers a uid, reserving nothing."""
    start_ms = int(start.timestamp() * 1000)
    await services(request).availability.view(
        event_type_id, None, start_ms, start_ms, who.owner, creds(request)
    )
    uid = request.cookies.get("uid") or str(uuid.uuid4())
    response = json_response({"status": "success", "data": uid}, status=201)
    response.set_cookie("uid", uid, path="/")
    return response


async def legacy_delete(request: web.Request) -> web.Response:
    """DELETE /v2/slots/selected-slot?uid= and /v2/slots/delete?uid=."""
    _require(request, LEGACY_SLOTS_VERSIONS)
    uid = request.query.get("uid") or request.cookies.get("uid")
    if uid:
        await services(request).reservations.release(uid, caller(request))
    return json_response({"status": "success"})
