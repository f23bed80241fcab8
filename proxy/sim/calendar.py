"""The simulated Cal.com scheduling rules over SimState: free slots and whether a booking may be made."""

from __future__ import annotations

from datetime import datetime, timedelta

from proxy.calcom.errors import BadRequest, NotFound
from proxy.calcom.timefmt import zone
from proxy.sim.availability import free_starts, overlaps, within_hours
from proxy.sim.seed import EventTypeDef
from proxy.sim.state import SimState

OUT_OF_BOUNDS = (
    "The event type can't be booked at the \"start\" time provided. This could be because it's too soon "
    "(violating the minimum booking notice) or too far in the future "
    "(outside the event's scheduling window). "
    "Try fetching available slots first using the GET /v2/slots endpoint and then make a booking with "
    '"start" time equal to one of the available slots: https://cal.com/docs/api-reference/v2/slots'
)
# Cal.com answers this for a busy host AND for a start outside working hours: both are
# no_available_users_found_error (handleNewBooking/ensureAvailableUsers.ts:236-258, errors.service.ts:39-43).
HOST_BUSY = "User either already has booking at this time or is not available"
# BookingDateInPastError (packages/lib/isOutOfBounds.tsx:9-21), passed through by errors.service.ts:48-49.
IN_THE_PAST = "Attempting to book a meeting in the past."
SINGLE_LENGTH = (
    "Can't specify 'lengthInMinutes' because event type does not have multiple possible lengths. "
    "Please, remove the 'lengthInMinutes' field from the request."
)
# How far ahead the shift fault looks for the next free start.
SHIFT_HORIZON = timedelta(days=60)


def event_type(state: SimState, event_type_id: int) -> EventTypeDef:
    """The event type, or Cal.com's 404 for bookings."""
    found = state.seed.event_types.get(event_type_id)
    if found is None:
        raise NotFound(f"Event type with id {event_type_id} not found.")
    return found


def earliest_start(state: SimState, et: EventTypeDef) -> datetime:
    """The first instant the minimum booking notice allows."""
    return state.now() + timedelta(minutes=et.min_notice)


def available_starts(
    state: SimState,
    et: EventTypeDef,
    window_start: datetime,
    window_end: datetime,
    *,
    length: int | None = None,
    exclude_uid: str | None = None,
) -> list[datetime]:
    """Free grid starts of an event type: hours, notice, the host's bookings and live holds removed."""
    host = state.seed.host_of(et)
    busy = state.host_busy(host.id, exclude_uid=exclude_uid)
    busy += [(r.start, r.end) for r in state.live_reservations(host.id)]
    return free_starts(
        hours=host.weekly_hours,
        tz=zone(host.time_zone),
        length=length or et.length,
        interval=et.interval,
        window_start=window_start,
        window_end=window_end,
        earliest=earliest_start(state, et),
        busy=busy,
    )


def check_bookable(
    state: SimState, et: EventTypeDef, start: datetime, end: datetime, exclude_uid: str | None
) -> None:
    """Raise Cal.com's 400 unless [start, end) is bookable; the slot grid and holds are not enforced.

    The order is Cal.com's: validateBookingTimeIsNotOutOfBounds (past, then minimum notice) runs before
    ensureAvailableUsers (working hours and busy times, one message for both).
    """
    host = state.seed.host_of(et)
    if start < state.now():
        raise BadRequest(IN_THE_PAST)
    if start < earliest_start(state, et):
        raise BadRequest(OUT_OF_BOUNDS)
    if not within_hours(start, end, host.weekly_hours, zone(host.time_zone)) or overlaps(
        start, end, state.host_busy(host.id, exclude_uid=exclude_uid)
    ):
        raise BadRequest(HOST_BUSY)


def next_free_start(state: SimState, et: EventTypeDef, after: datetime, length: int) -> datetime | None:
    """The first grid start after `after` that no booking blocks (holds are ignored, as booking does)."""
    host = state.seed.host_of(et)
    candidates = free_starts(
        hours=host.weekly_hours,
        tz=zone(host.time_zone),
        length=length,
        interval=et.interval,
        window_start=after,
        window_end=after + SHIFT_HORIZON,
        earliest=earliest_start(state, et),
        busy=state.host_busy(host.id),
    )
    return next((start for start in candidates if start > after), None)


def booking_length(et: EventTypeDef, requested: int | None) -> int:
    """`lengthInMinutes` if allowed for the event type, else its default length.

    Cal.com's validateBookingLengthInMinutes (input.service.ts:220-235): any lengthInMinutes on an event
    type without multiple durations is refused, even one equal to its length.
    """
    if requested is None:
        return et.length
    if len(et.length_options) < 2:
        raise BadRequest(SINGLE_LENGTH)
    if requested not in et.length_options:
        options = ", ".join(str(x) for x in et.length_options)
        raise BadRequest(
            "Provided 'lengthInMinutes' is not one of the possible lengths for the event type. "
            f"The possible lengths are: {options}"
        )
    return requested
