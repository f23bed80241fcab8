"""Creating bookings the way Cal.com's handleNewBooking does, with the simulator's faults and race window."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from proxy.calcom.bookings import Attendee
from proxy.calcom.errors import BadRequest, BareHttpError, InternalError
from proxy.logs import get_logger
from proxy.sim.calendar import OUT_OF_BOUNDS, booking_length, check_bookable, next_free_start
from proxy.sim.faults import choose_fault
from proxy.sim.seed import EventTypeDef
from proxy.sim.state import Booking, SimState

log = get_logger(__name__)


@dataclass(frozen=True)
class BookingRequest:
    """What a caller asked to book."""

    event_type: EventTypeDef
    start: datetime
    length_in_minutes: int | None
    attendee: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    guests: tuple[str, ...] = ()
    location: str | None = None
    booking_fields_responses: dict[str, Any] = field(default_factory=dict)
    # The caller named the location: it is answered in the responses too (golden booking-extras).
    location_named: bool = False
    rescheduled_from: Booking | None = None
    rescheduling_reason: str | None = None
    rescheduled_by_email: str | None = None


def attendee_record(attendee: Attendee) -> dict[str, Any]:
    """A BookingAttendee (the simulator's event types require the email: create_booking checks it)."""
    record: dict[str, Any] = {
        "name": attendee.name,
        "email": attendee.email,
        "timeZone": attendee.time_zone,
        "language": attendee.language,
        "absent": False,
    }
    if attendee.phone_number:
        record["phoneNumber"] = attendee.phone_number
    return record


def location_text(location: object) -> str:
    """The booking's location string from a 2024-08-13 location input."""
    if isinstance(location, str):
        return location
    if isinstance(location, dict):
        for key in ("link", "address", "phone", "location"):
            if isinstance(location.get(key), str):
                return str(location[key])
        integration = location.get("integration")
        if isinstance(integration, str):
            # Cal Video's app is "daily" inside Cal.com (golden booking-extras/location-of-the-event-type).
            return "integrations:daily" if integration == "cal-video" else f"integrations:{integration}"
    return "integrations:daily"


def insert_booking(
    state: SimState, req: BookingRequest, start: datetime, end: datetime, source: str
) -> Booking:
    """Write a booking into the ground truth and return it."""
    now = state.now()
    et = req.event_type
    host = state.seed.host_of(et)
    booking = Booking(
        id=state.next_booking_id(),
        uid=state.new_booking_uid(),
        event_type_id=et.id,
        host_id=host.id,
        start=start,
        end=end,
        status="accepted",
        attendee=req.attendee,
        created_at=now,
        updated_at=now,
        title=f"{et.title} between {host.name} and {req.attendee.get('name', '')}",
        location=req.location or "integrations:daily",
        guests=list(req.guests),
        metadata=req.metadata,
        booking_fields_responses=req.booking_fields_responses,
        location_named=req.location_named,
        # The booking's description is the notes response (golden booking-extras).
        description=str(req.booking_fields_responses.get("notes", "")),
        source=source,
    )
    booking.ics_uid = f"{booking.uid}@Cal.com"
    if req.rescheduled_from is not None:
        old = req.rescheduled_from
        booking.ics_uid = old.ics_uid or f"{old.uid}@Cal.com"
        booking.rescheduled_from_uid = old.uid
        booking.rescheduling_reason = req.rescheduling_reason
        booking.rescheduled_by_email = req.rescheduled_by_email
        # handleNewBooking marks the original booking rescheduled, with the same rescheduledBy.
        old.status, old.rescheduled, old.rescheduled_to_uid, old.updated_at = (
            "cancelled",
            True,
            booking.uid,
            now,
        )
        old.rescheduled_by_email = req.rescheduled_by_email
    state.bookings[booking.uid] = booking
    return booking


def _duplicate(
    state: SimState, host_id: int, start: datetime, end: datetime, exclude_uid: str | None
) -> bool:
    # A reschedule cancels the original (clearing its key) before creating, in one transaction
    # (createBooking.ts:175-186), so the original never collides with its own replacement.
    return any(
        b.host_id == host_id
        and b.status == "accepted"
        and b.start == start
        and b.end == end
        and b.uid != exclude_uid
        for b in state.bookings.values()
    )


async def _hang(state: SimState) -> None:
    # The booking exists but the client never hears about it; only server shutdown ends the wait.
    state.stuck_requests += 1
    try:
        await state.shutdown.wait()
    finally:
        state.stuck_requests -= 1
    raise InternalError()


async def commit(state: SimState, req: BookingRequest) -> Booking:
    """Check availability, wait out the race window, insert; apply the configured faults."""
    et = req.event_type
    length = booking_length(et, req.length_in_minutes)
    start = req.start
    fault = choose_fault(state.faults, state.rng)
    if fault is not None:
        state.stats.faults[fault] += 1
        log.info("sim_fault", fault=fault, event_type=et.id, start=start.isoformat())
    if fault == "error":
        raise InternalError()
    if fault == "shift":
        # The incident of 18 Oct: the booking lands on the next free slot and the answer says so.
        shifted = next_free_start(state, et, start, length)
        start = shifted or start
    try:
        end = start + timedelta(minutes=length)
    except OverflowError as exc:
        raise BadRequest(OUT_OF_BOUNDS) from exc
    exclude = req.rescheduled_from.uid if req.rescheduled_from is not None else None
    check_bookable(state, et, start, end, exclude)
    if state.race_window_ms > 0:
        # Cal.com checks availability, then inserts without a lock (issue #13397): concurrent requests
        # that all passed the check above all get inserted below.
        await asyncio.sleep(state.race_window_ms / 1000)
    if state.config.idempotency_guard and _duplicate(state, et.host_id, start, end, exclude):
        raise BareHttpError(409, "booking_conflict_error")
    booking = insert_booking(state, req, start, end, source="api")
    log.info("sim_booking_created", uid=booking.uid, event_type=et.id, start=start.isoformat())
    if fault == "timeout":
        await _hang(state)
    return booking
