"""Booking endpoints of cal-api-version 2024-08-13."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.bookings import (
    EMAIL_REQUIRED_RESPONSE,
    INVALID_GUEST_RESPONSE,
    CreateBooking,
    checked_rescheduled_by,
    is_zod_email,
    location_type_error,
    parse_cancel,
    parse_create_booking,
    parse_reschedule,
)
from proxy.calcom.errors import BadRequest, NotFound, ZodBadRequest
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.calcom.versions import BOOKING_VERSIONS, HEADER, request_version
from proxy.sim import booking_query
from proxy.sim.appkeys import STATE
from proxy.sim.calendar import event_type
from proxy.sim.commit import BookingRequest, attendee_record, commit, location_text
from proxy.sim.output import EVENT_TYPE_LOCATION_TYPES, booking_output
from proxy.sim.requests import require_permissions_credentials, require_user
from proxy.sim.seed import EventTypeDef
from proxy.sim.state import Booking, SimState

# Without the header Cal.com routes to its 2024-04-15 bookings controller, whose body format the
# simulator does not implement; it answers a Cal.com-shaped 400 that says what to send instead.
OLD_VERSION = (
    f"The simulator implements bookings for {HEADER} 2024-08-13 only; "
    f"send the header '{HEADER}: 2024-08-13' (without it Cal.com uses the 2024-04-15 body format)."
)


def _require_booking_version(request: web.Request) -> None:
    if request_version(request.headers) not in BOOKING_VERSIONS:
        raise BadRequest(OLD_VERSION)


def _booking(
    state: SimState, uid: str, missing: str = "Booking with uid={uid} was not found in the database"
) -> Booking:
    found = state.bookings.get(uid)
    if found is None:
        raise NotFound(missing.format(uid=uid))
    return found


def _resolve_event_type(state: SimState, body: CreateBooking) -> EventTypeDef:
    """bookings.service.ts getBookedEventType (:200-220) and errors.service.ts:10-32 for the misses."""
    if body.event_type_id is not None:
        return event_type(state, body.event_type_id)
    if body.username is None:
        # The simulator has no teams: every team slug is unknown.
        raise NotFound(f"Team with slug {body.team_slug} not found")
    if not any(host.username == body.username for host in state.seed.hosts.values()):
        raise NotFound(f"User with username {body.username} not found")
    for et in state.seed.event_types.values():
        if et.slug == body.event_type_slug and state.seed.host_of(et).username == body.username:
            return et
    raise NotFound(
        f"Event type with slug {body.event_type_slug} belonging to user {body.username} not found."
    )


async def create_booking(request: web.Request) -> web.Response:
    """POST /v2/bookings: 201 with the created BookingOutput_2024_08_13."""
    _require_booking_version(request)
    state = request.app[STATE]
    body = parse_create_booking(await read_json(request))
    et = _resolve_event_type(state, body)
    _service_checks(et, body)
    booking = await commit(
        state,
        BookingRequest(
            event_type=et,
            start=body.start,
            length_in_minutes=body.length_in_minutes,
            attendee=attendee_record(body.attendee),
            metadata=body.metadata,
            guests=body.guests,
            location=location_text(body.location) if body.location is not None else None,
            booking_fields_responses=body.booking_fields_responses,
            location_named=body.location is not None,
        ),
    )
    return json_response({"status": "success", "data": booking_output(state, booking)}, status=201)


def _service_checks(et: EventTypeDef, body: CreateBooking) -> None:
    """What Cal.com refuses after the input pipe for the simulator's event types (one Cal Video location,
    the default booking fields): the location's type, then the responses schema. (The metadata schema is
    the same for every event type: parse_create_booking applies it.)"""
    location_error = location_type_error(body.location, et.id, EVENT_TYPE_LOCATION_TYPES)
    if location_error is not None:
        raise BadRequest(location_error)
    if not body.attendee.email:
        # The default booking fields require the email (golden booking-attendee-contacts/phone-only).
        raise ZodBadRequest(EMAIL_REQUIRED_RESPONSE)
    if not all(is_zod_email(guest) for guest in body.guests):
        raise ZodBadRequest(INVALID_GUEST_RESPONSE)


async def list_bookings(request: web.Request) -> web.Response:
    """GET /v2/bookings: the key owner's bookings, filtered and paginated (auth required)."""
    _require_booking_version(request)
    require_permissions_credentials(request)
    user_id = require_user(request)
    state = request.app[STATE]
    booking_query.validate(request.query)
    own = [b for b in state.bookings.values() if b.host_id == user_id]
    page, pagination = booking_query.select(own, request.query, state.now())
    data = [booking_output(state, b) for b in page]
    return json_response({"status": "success", "data": data, "pagination": pagination})


async def get_booking(request: web.Request) -> web.Response:
    """GET /v2/bookings/{uid}."""
    _require_booking_version(request)
    state = request.app[STATE]
    booking = _booking(state, request.match_info["uid"])
    return json_response({"status": "success", "data": booking_output(state, booking)})


async def cancel_booking(request: web.Request) -> web.Response:
    """POST /v2/bookings/{uid}/cancel: 200 with the cancelled booking."""
    _require_booking_version(request)
    state = request.app[STATE]
    uid = request.match_info["uid"]
    # CancelBookingInputPipe validates the body before the service looks the booking up.
    body = parse_cancel(await read_json(request))
    booking = _booking(state, uid, missing="Booking with uid={uid} not found")
    if booking.status == "cancelled":
        raise BadRequest(
            f"Can't cancel booking with uid={uid} because it has been cancelled already. "
            "Please provide uid of a booking that is not cancelled."
        )
    booking.status = "cancelled"
    booking.cancellation_reason = body.cancellation_reason
    booking.updated_at = state.now()
    return json_response({"status": "success", "data": booking_output(state, booking)})


def _require_reschedulable(old: Booking) -> None:
    """bookings.service.ts canRescheduleBooking (:797-812)."""
    if old.status != "cancelled":
        return
    if old.rescheduled:
        new_uid = old.rescheduled_to_uid
        raise BadRequest(
            f"Can't reschedule booking with uid={old.uid} because it has been cancelled and rescheduled "
            f"already to booking with uid={new_uid}. You probably want to reschedule {new_uid} instead by "
            "passing it within the request URL."
        )
    raise BadRequest(
        f"Can't reschedule booking with uid={old.uid} because it has been cancelled. "
        "Please provide uid of a booking that is not cancelled."
    )


async def reschedule_booking(request: web.Request) -> web.Response:
    """POST /v2/bookings/{uid}/reschedule: 201 with the new booking; the old one is cancelled."""
    _require_booking_version(request)
    state = request.app[STATE]
    uid = request.match_info["uid"]
    body = parse_reschedule(await read_json(request))
    old = _booking(state, uid)
    _require_reschedulable(old)
    rescheduled_by = checked_rescheduled_by(body)
    booking = await commit(
        state,
        BookingRequest(
            event_type=state.seed.event_types[old.event_type_id],
            start=body.start,
            # input.service.ts:667-668: the new booking lasts the event type's length, whatever the old one.
            length_in_minutes=None,
            attendee=old.attendee,
            metadata=old.metadata,
            guests=tuple(old.guests),
            location=old.location,
            booking_fields_responses=old.booking_fields_responses,
            location_named=old.location_named,
            rescheduled_from=old,
            rescheduling_reason=body.rescheduling_reason,
            rescheduled_by_email=rescheduled_by,
        ),
    )
    return json_response({"status": "success", "data": booking_output(state, booking)}, status=201)
