"""Slot reservations: /v2/slots/reservations (2024-09-04) and the legacy reserve/selected-slot/delete."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aiohttp import web

from proxy.calcom.errors import BadRequest, Forbidden, NotFound, Unprocessable
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.calcom.reservations import (
    ALREADY_BOOKED,
    ALREADY_RESERVED,
    DEFAULT_RESERVATION_MINUTES,
    NOT_OWNER_FOR_DURATION,
    NOT_VARIABLE_LENGTH,
    ReserveSlot,
    not_a_possible_length,
    parse_legacy_reserve,
    parse_reserve_slot,
    require_auth_for_duration,
    reservation_output,
    reserved_slot_output,
)
from proxy.calcom.versions import LEGACY_SLOTS_VERSIONS, V2024_09_04
from proxy.sim.appkeys import STATE
from proxy.sim.availability import overlaps
from proxy.sim.requests import caller, require_version
from proxy.sim.seed import EventTypeDef
from proxy.sim.state import Reservation, SimState

NEW_VERSIONS = frozenset({V2024_09_04})
# SlotsService_2024_04_15.reserveSlot's refusal, without the id the newer service names.
LEGACY_EVENT_TYPE_NOT_FOUND = "Event Type not found"


def _event_type(state: SimState, event_type_id: int) -> EventTypeDef:
    found = state.seed.event_types.get(event_type_id)
    if found is None:
        raise NotFound(f"Event Type with ID={event_type_id} not found")
    return found


def _slot_length(et: EventTypeDef, requested: int | None) -> int:
    # `if (input.slotDuration)`: 0 reads as "not given" (slots.service.ts:124-128).
    if not requested:
        return et.length
    if len(et.length_options) < 2:
        raise BadRequest(NOT_VARIABLE_LENGTH)
    if requested not in et.length_options:
        raise BadRequest(not_a_possible_length(et.length_options))
    return requested


def _reservation_overlaps(held: Reservation, start: datetime, end: datetime) -> bool:
    """getOverlappingSlotReservation's four cases (slots.repository.ts:35-57), kept literally."""
    s, e = held.start, held.end
    return (s <= start < e) or (s < end <= e) or (s <= start and e >= end) or (s >= start and e <= end)


def _check_free(state: SimState, et: EventTypeDef, start: datetime, end: datetime) -> None:
    """Booked first, then any unexpired reservation of the event type, the one being updated included.

    updateReservedSlot runs the same overlap query as reserveSlot, with no uid filter (slots.service.ts:321),
    so refreshing a live reservation over its own time is refused like anyone else's.
    """
    booked = [(b.start, b.end) for b in state.bookings.values() if b.event_type_id == et.id and b.active]
    if overlaps(start, end, booked):
        raise Unprocessable(ALREADY_BOOKED)
    now = state.now()
    for held in state.reservations.values():
        if held.event_type_id == et.id and held.release_at > now and _reservation_overlaps(held, start, end):
            raise Unprocessable(ALREADY_RESERVED)


def _store(state: SimState, uid: str, et: EventTypeDef, body: ReserveSlot) -> Reservation:
    length = _slot_length(et, body.slot_duration)
    end = body.slot_start + timedelta(minutes=length)
    _check_free(state, et, body.slot_start, end)
    # `input.reservationDuration ?? DEFAULT_RESERVATION_DURATION`: an explicit 0 is kept.
    minutes = DEFAULT_RESERVATION_MINUTES if body.reservation_duration is None else body.reservation_duration
    reservation = Reservation(
        uid=uid,
        event_type_id=et.id,
        host_id=et.host_id,
        start=body.slot_start,
        end=end,
        duration=length,
        reservation_duration=minutes,
        release_at=state.now() + timedelta(minutes=minutes),
    )
    state.reservations[uid] = reservation
    return reservation


def _output(reservation: Reservation) -> dict[str, object]:
    return reservation_output(
        event_type_id=reservation.event_type_id,
        slot_start=reservation.start,
        slot_end=reservation.end,
        slot_duration=reservation.duration,
        uid=reservation.uid,
        reservation_duration=reservation.reservation_duration,
        until=reservation.release_at,
    )


async def create_reservation(request: web.Request) -> web.Response:
    """POST /v2/slots/reservations: 201 ReserveSlotOutputResponse_2024_09_04."""
    require_version(request, NEW_VERSIONS)
    state = request.app[STATE]
    body = parse_reserve_slot(await read_json(request))
    user_id = caller(request).user_id
    require_auth_for_duration(body, authenticated=user_id is not None)
    et = _event_type(state, body.event_type_id)
    if body.reservation_duration and user_id != et.host_id:
        # Only the event type's owner (or a member of its team or organisation, which the simulator's seed
        # has none of) may choose the duration (golden booking-refusals/reserve-with-duration-on-anothers-
        # event-type, the real Cal.com).
        raise Forbidden(NOT_OWNER_FOR_DURATION)
    reservation = _store(state, str(uuid.uuid4()), et, body)
    return json_response({"status": "success", "data": _output(reservation)}, status=201)


async def get_reservation(request: web.Request) -> web.Response:
    """GET /v2/slots/reservations/{uid}: the row without reservationDuration, or data null.

    getByUid has no expiry filter (slots.repository.ts:11-13): an expired row is answered until deleted.
    """
    require_version(request, NEW_VERSIONS)
    state = request.app[STATE]
    found = state.reservations.get(request.match_info["uid"])
    if found is None:
        return json_response({"status": "success", "data": None})
    data = reserved_slot_output(
        event_type_id=found.event_type_id,
        slot_start=found.start,
        slot_end=found.end,
        slot_duration=found.duration,
        uid=found.uid,
        until=found.release_at,
    )
    return json_response({"status": "success", "data": data})


async def update_reservation(request: web.Request) -> web.Response:
    """PATCH /v2/slots/reservations/{uid}: move a reservation; 404 for an unknown uid.

    No auth guard and no reservationDuration check here (slots.service.ts:271-332).
    """
    require_version(request, NEW_VERSIONS)
    state = request.app[STATE]
    uid = request.match_info["uid"]
    body = parse_reserve_slot(await read_json(request))
    if uid not in state.reservations:
        raise NotFound(f"Slot with uid={uid} not found")
    reservation = _store(state, uid, _event_type(state, body.event_type_id), body)
    return json_response({"status": "success", "data": _output(reservation)})


async def delete_reservation(request: web.Request) -> web.Response:
    """DELETE /v2/slots/reservations/{uid}: always 200 (deleteMany)."""
    require_version(request, NEW_VERSIONS)
    request.app[STATE].reservations.pop(request.match_info["uid"], None)
    return json_response({"status": "success"})


async def legacy_reserve(request: web.Request) -> web.Response:
    """POST /v2/slots/reserve: hold for MINUTES_TO_BOOK (5) minutes; data is the bare uid string."""
    require_version(request, LEGACY_SLOTS_VERSIONS)
    state = request.app[STATE]
    body = parse_legacy_reserve(await read_json(request))
    if body.event_type_id not in state.seed.event_types:
        raise NotFound(LEGACY_EVENT_TYPE_NOT_FOUND)
    et = state.seed.event_types[body.event_type_id]
    uid = request.cookies.get("uid") or str(uuid.uuid4())
    response = json_response({"status": "success", "data": uid}, status=201)
    response.set_cookie("uid", uid, path="/")
    if body.dry_run:
        return response
    minutes = DEFAULT_RESERVATION_MINUTES
    state.reservations[uid] = Reservation(
        uid=uid,
        event_type_id=et.id,
        host_id=et.host_id,
        start=body.slot_start,
        end=body.slot_end,
        duration=int((body.slot_end - body.slot_start).total_seconds() // 60),
        reservation_duration=minutes,
        release_at=state.now() + timedelta(minutes=minutes),
    )
    return response


async def legacy_delete(request: web.Request) -> web.Response:
    """DELETE /v2/slots/selected-slot?uid= and /v2/slots/delete?uid=: remove the legacy hold."""
    require_version(request, LEGACY_SLOTS_VERSIONS)
    uid = request.query.get("uid") or request.cookies.get("uid")
    if uid:
        request.app[STATE].reservations.pop(uid, None)
    return json_response({"status": "success"})
