"""Cal.com output objects built from simulator state: bookings, event types, the current user."""

from __future__ import annotations

from typing import Any

from proxy.calcom.timefmt import format_utc
from proxy.sim.seed import EventTypeDef, Host
from proxy.sim.state import Booking, SimState

_OPTIONAL_FIELDS = (
    ("cancellationReason", "cancellation_reason"),
    ("cancelledByEmail", "cancelled_by_email"),
    ("reschedulingReason", "rescheduling_reason"),
    ("rescheduledByEmail", "rescheduled_by_email"),
    ("rescheduledFromUid", "rescheduled_from_uid"),
    ("rescheduledToUid", "rescheduled_to_uid"),
)


def host_output(host: Host) -> dict[str, Any]:
    """A BookingHost."""
    return {
        "id": host.id,
        "name": host.name,
        "email": host.email,
        "username": host.username,
        "timeZone": host.time_zone,
    }


def booking_output(state: SimState, booking: Booking) -> dict[str, Any]:
    """BookingOutput_2024_08_13 with Cal.com's key order and UTC `….000Z` times."""
    et = state.seed.event_types[booking.event_type_id]
    output: dict[str, Any] = {
        "id": booking.id,
        "uid": booking.uid,
        "title": booking.title,
        "description": booking.description,
        "hosts": [host_output(state.seed.hosts[booking.host_id])],
        "status": booking.status,
    }
    for key, attr in _OPTIONAL_FIELDS:
        value = getattr(booking, attr)
        if value is not None:
            output[key] = value
    if booking.rescheduled:
        output["rescheduled"] = True
    output.update(
        {
            "start": format_utc(booking.start),
            "end": format_utc(booking.end),
            "duration": int((booking.end - booking.start).total_seconds() // 60),
            "eventTypeId": et.id,
            "eventType": {"id": et.id, "slug": et.slug},
            "meetingUrl": booking.location,
            "location": booking.location,
            "absentHost": False,
            "createdAt": format_utc(booking.created_at),
            "updatedAt": format_utc(booking.updated_at),
            "metadata": booking.metadata,
            "icsUid": f"{booking.uid}@Cal.com",
            "attendees": [booking.attendee],
            "guests": booking.guests,
            "bookingFieldsResponses": booking.booking_fields_responses,
        }
    )
    return output


def ground_truth(booking: Booking) -> dict[str, Any]:
    """The /_sim/bookings record: what really sits in the calendar."""
    return {
        "id": booking.id,
        "uid": booking.uid,
        "eventTypeId": booking.event_type_id,
        "hostId": booking.host_id,
        "start": format_utc(booking.start),
        "end": format_utc(booking.end),
        "status": booking.status,
        "attendee": booking.attendee,
        "metadata": booking.metadata,
        "source": booking.source,
        "rescheduled": booking.rescheduled,
        "rescheduledFromUid": booking.rescheduled_from_uid,
        "rescheduledToUid": booking.rescheduled_to_uid,
        "createdAt": format_utc(booking.created_at),
    }


def event_type_output(et: EventTypeDef, host: Host) -> dict[str, Any]:
    """EventTypeOutput_2024_06_14 with the fields the simulator models and neutral defaults for the rest."""
    output: dict[str, Any] = {
        "id": et.id,
        "lengthInMinutes": et.length,
        "title": et.title,
        "slug": et.slug,
        "description": "",
        "locations": [{"type": "integration", "integration": "cal-video"}],
        "bookingFields": [],
        "disableGuests": False,
        "slotInterval": et.interval,
        "minimumBookingNotice": et.min_notice,
        "beforeEventBuffer": 0,
        "afterEventBuffer": 0,
        "recurrence": None,
        "metadata": {},
        "price": 0,
        "currency": "usd",
        "lockTimeZoneToggleOnBookingPage": False,
        "seatsPerTimeSlot": None,
        "forwardParamsSuccessRedirect": None,
        "successRedirectUrl": None,
        "isInstantEvent": False,
        "seatsShowAvailabilityCount": None,
        "scheduleId": None,
        "hidden": False,
        "bookingRequiresAuthentication": False,
        "ownerId": host.id,
        "users": [host.username],
    }
    if len(et.length_options) > 1:
        output["lengthInMinutesOptions"] = list(et.length_options)
    return output


def me_output(host: Host) -> dict[str, Any]:
    """MeOutput for the key's owner."""
    return {
        "id": host.id,
        "username": host.username,
        "email": host.email,
        "timeFormat": 24,
        "defaultScheduleId": None,
        "weekStart": "Monday",
        "timeZone": host.time_zone,
        "organizationId": None,
    }
