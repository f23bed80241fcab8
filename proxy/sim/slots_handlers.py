"""GET /v2/slots (2024-09-04) and the legacy GET /v2/slots/available."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.errors import NotFound
from proxy.calcom.jsonwire import json_response
from proxy.calcom.slots import (
    available_data,
    parse_available_query,
    parse_slots_query,
    slots_data,
    slots_horizon,
)
from proxy.calcom.versions import LEGACY_SLOTS_VERSIONS, V2024_09_04
from proxy.sim.appkeys import STATE
from proxy.sim.calendar import available_starts
from proxy.sim.requests import require_version
from proxy.sim.seed import EventTypeDef
from proxy.sim.state import SimState

EVENT_TYPE_NOT_FOUND = "Event Type not found"


def _find_event_type(
    state: SimState, event_type_id: int | None, slug: str | None, username: str | None
) -> EventTypeDef:
    if event_type_id is not None:
        found = state.seed.event_types.get(event_type_id)
        if found is not None:
            return found
        raise NotFound(EVENT_TYPE_NOT_FOUND)
    if username is not None and all(h.username != username for h in state.seed.hosts.values()):
        # slots-input.service.ts:109-113: the user is looked up before the event type.
        raise NotFound(f"User with username {username} not found")
    for et in state.seed.event_types.values():
        host = state.seed.host_of(et)
        if et.slug == slug and (username is None or host.username == username):
            return et
    raise NotFound(EVENT_TYPE_NOT_FOUND)


async def get_slots(request: web.Request) -> web.Response:
    """GET /v2/slots: free slots grouped by day in the requested zone."""
    require_version(request, frozenset({V2024_09_04}))
    state = request.app[STATE]
    query = parse_slots_query(request.query)
    et = _find_event_type(state, query.event_type_id, query.event_type_slug, query.username)
    length = query.duration or et.length
    # Cal.com clamps `end` to one year from now, whatever the caller asked for.
    end = min(query.end, slots_horizon(state.now()))
    key = (et.id, query.start, end, query.time_zone, query.duration, query.booking_uid_to_reschedule)
    starts = state.cached_starts(
        key,
        lambda: available_starts(
            state, et, query.start, end, length=length, exclude_uid=query.booking_uid_to_reschedule
        ),
    )
    return json_response({"status": "success", "data": slots_data(starts, query, length)})


async def get_available(request: web.Request) -> web.Response:
    """GET /v2/slots/available: the pre-2024-09-04 shape `data.slots[date][].time`."""
    require_version(request, LEGACY_SLOTS_VERSIONS)
    state = request.app[STATE]
    query = parse_available_query(request.query)
    et = _find_event_type(state, query.event_type_id, query.event_type_slug, None)
    length = query.duration or et.length
    end = min(query.end, slots_horizon(state.now()))
    key = (et.id, query.start, end, query.time_zone, query.duration, query.reschedule_uid)
    starts = state.cached_starts(
        key,
        lambda: available_starts(
            state, et, query.start, end, length=length, exclude_uid=query.reschedule_uid
        ),
    )
    return json_response({"status": "success", "data": available_data(starts, query, length)})
