"""Cal.com output objects built from simulator state: bookings, event types, the current user."""

from __future__ import annotations

import re
from typing import Any

from proxy.calcom.timefmt import format_utc
from proxy.sim.seed import EventTypeDef, Host
from proxy.sim.state import Booking, SimState

# Shown only when set: output.service.ts leaves them undefined and JSON.stringify drops them. Except
# rescheduledByEmail, which the real Cal.com always answers (null when unset: the goldens).
_OPTIONAL_FIELDS = (
    ("reschedulingReason", "rescheduling_reason"),
    ("rescheduledFromUid", "rescheduled_from_uid"),
    ("rescheduledToUid", "rescheduled_to_uid"),
)
# Cal.com cloud's WEBAPP_URL: Cal Video rooms are published as `${WEBAPP_URL}/video/${uid}`
# (packages/lib/CalEventParser.ts:452-454).
WEBAPP_URL = "https://app.cal.com"
CAL_VIDEO = "integrations:daily"
# getDisplayEmail (output.service.ts:96-98) hides the 25-character suffix platform users carry.
_PLATFORM_SUFFIX = re.compile(r"\+[a-zA-Z0-9]{25}")
_ATTENDEE_KEYS = ("name", "email", "displayEmail", "timeZone", "language", "absent", "phoneNumber")


def display_email(email: str) -> str:
    """The email with a platform user's `+<25 characters>` suffix removed (first one only, as JS replace)."""
    return _PLATFORM_SUFFIX.sub("", email, count=1)


def host_output(host: Host) -> dict[str, Any]:
    """A BookingHost, in the class's @Expose order."""
    return {
        "id": host.id,
        "name": host.name,
        "email": host.email,
        "displayEmail": display_email(host.email),
        "username": host.username,
        "timeZone": host.time_zone,
    }


def attendee_output(attendee: dict[str, Any]) -> dict[str, Any]:
    """A BookingAttendee; phoneNumber only when the attendee has one."""
    full = {**attendee, "displayEmail": display_email(str(attendee.get("email", "")))}
    return {key: full[key] for key in _ATTENDEE_KEYS if full.get(key) is not None}


def video_call_url(booking: Booking) -> str | None:
    """metadata.videoCallUrl as Cal.com stores it after creating the meeting (RegularBookingService.ts)."""
    if booking.location.startswith(CAL_VIDEO):
        return f"{WEBAPP_URL}/video/{booking.uid}"
    if booking.location.startswith("http"):
        return booking.location
    given = booking.metadata.get("videoCallUrl")
    return given if isinstance(given, str) and given else None


def booking_output(state: SimState, booking: Booking) -> dict[str, Any]:
    """BookingOutput_2024_08_13 as services/output.service.ts:104-150 builds it, in @Expose order."""
    et = state.seed.event_types[booking.event_type_id]
    location = video_call_url(booking) or booking.location
    output: dict[str, Any] = {
        "id": booking.id,
        "uid": booking.uid,
        "title": booking.title,
        "description": booking.description,
        "hosts": [host_output(state.seed.hosts[booking.host_id])],
        "status": booking.status,
        "cancellationReason": booking.cancellation_reason or "",
        "cancelledByEmail": booking.cancelled_by_email or "",
    }
    if booking.rescheduling_reason is not None:
        output["reschedulingReason"] = booking.rescheduling_reason
    output["rescheduledByEmail"] = booking.rescheduled_by_email
    for key, attr in _OPTIONAL_FIELDS[1:]:
        value = getattr(booking, attr)
        if value is not None:
            output[key] = value
    output.update(
        {
            "start": format_utc(booking.start),
            "end": format_utc(booking.end),
            "duration": int((booking.end - booking.start).total_seconds() // 60),
            "eventTypeId": et.id,
            "eventType": {"id": et.id, "slug": et.slug},
            "meetingUrl": location,
            "location": location,
            "absentHost": False,
            "createdAt": format_utc(booking.created_at),
            "updatedAt": format_utc(booking.updated_at),
            # getUserDefinedMetadata: the stored videoCallUrl is not the caller's metadata.
            "metadata": {k: v for k, v in booking.metadata.items() if k != "videoCallUrl"},
            # Prisma's `rating Int?`: null until rated, and class-transformer keeps unset fields.
            "rating": None,
            "icsUid": booking.ics_uid or f"{booking.uid}@Cal.com",
            "attendees": [attendee_output(booking.attendee), *guest_attendees(booking)],
        }
    )
    if booking.guests:
        # Left out when there are none, as the real Cal.com answers (the goldens).
        output["guests"] = booking.guests
    output["bookingFieldsResponses"] = fields_responses(booking)
    return output


def guest_attendees(booking: Booking) -> list[dict[str, Any]]:
    """Guests become attendees without a name, in the booker's zone (golden booking-extras)."""
    zone = booking.attendee.get("timeZone")
    return [
        {"name": "", "email": g, "displayEmail": display_email(g), "timeZone": zone, "language": "en",
         "absent": False}
        for g in booking.guests
    ]  # fmt: skip


def fields_responses(booking: Booking) -> dict[str, Any]:
    """The booking responses Cal.com stores and answers: the attendee's email, phone and name, the guests, the
    location the caller named, what the caller sent, the rescheduling reason, then displayEmail and
    displayGuests (the goldens: bookings/book, bookings/reschedule, booking-attendee-contacts, booking-extras;
    guests and a location together were never recorded, so their relative order is a guess)."""
    email = booking.attendee.get("email")
    responses: dict[str, Any] = {}
    if email is not None:
        responses["email"] = email
    phone = booking.attendee.get("phoneNumber")
    if phone is not None:
        responses["attendeePhoneNumber"] = phone
    responses["name"] = booking.attendee.get("name", "")
    if booking.guests:
        responses["guests"] = list(booking.guests)
    if booking.location_named:
        responses["location"] = {"value": booking.location, "optionValue": ""}
    responses.update(booking.booking_fields_responses)
    if booking.rescheduling_reason is not None:
        responses["rescheduledReason"] = booking.rescheduling_reason
    if email is not None:
        responses["displayEmail"] = display_email(str(email))
    if booking.guests:
        responses["displayGuests"] = [display_email(g) for g in booking.guests]
    return responses


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


# Cal.com's default booking fields of a personal event type (the golden catalogue/event-type-own).
DEFAULT_BOOKING_FIELDS: tuple[dict[str, Any], ...] = (
    {"isDefault": True, "type": "name", "slug": "name", "required": True, "label": "your_name",
     "disableOnPrefill": False},
    {"isDefault": True, "type": "email", "slug": "email", "required": True, "disableOnPrefill": False,
     "hidden": False},
    {"isDefault": True, "type": "radioInput", "slug": "location", "required": False, "hidden": False},
    {"isDefault": True, "type": "text", "slug": "title", "required": True, "disableOnPrefill": False,
     "hidden": True},
    {"isDefault": True, "type": "textarea", "slug": "notes", "required": False, "disableOnPrefill": False,
     "hidden": False},
    {"isDefault": True, "type": "multiemail", "slug": "guests", "required": False, "disableOnPrefill": False,
     "hidden": False},
    {"isDefault": True, "type": "textarea", "slug": "rescheduleReason", "required": False,
     "disableOnPrefill": False, "hidden": False},
)  # fmt: skip
BOOKING_SITE = "https://cal.com"
# Every simulated event type offers Cal Video only, as the seed makes them.
EVENT_TYPE_LOCATIONS: tuple[dict[str, str], ...] = ({"type": "integration", "integration": "cal-video"},)
EVENT_TYPE_LOCATION_TYPES = tuple(dict.fromkeys(location["type"] for location in EVENT_TYPE_LOCATIONS))


def event_type_output(et: EventTypeDef, host: Host) -> dict[str, Any]:
    """EventTypeOutput_2024_06_14 as the real Cal.com answers it for an event type created with the API's
    defaults (the golden catalogue/event-type-own: fields and order). A personal event type carries no
    `timeZone` and no `hosts`; its owner is `ownerId`, which calproxy reads to learn shared calendars."""
    output: dict[str, Any] = {
        "id": et.id,
        "ownerId": host.id,
        "lengthInMinutes": et.length,
    }
    if len(et.length_options) > 1:
        output["lengthInMinutesOptions"] = list(et.length_options)
    output.update(
        {
            "title": et.title,
            "slug": et.slug,
            "description": "",
            "locations": [dict(location) for location in EVENT_TYPE_LOCATIONS],
            "bookingFields": [dict(field) for field in DEFAULT_BOOKING_FIELDS],
            "recurrence": None,
            "disableGuests": False,
            "slotInterval": et.interval,
            "minimumBookingNotice": et.min_notice,
            "beforeEventBuffer": 0,
            "afterEventBuffer": 0,
            "metadata": {},
            "price": 0,
            "currency": "usd",
            "lockTimeZoneToggleOnBookingPage": False,
            "forwardParamsSuccessRedirect": True,
            "successRedirectUrl": None,
            "isInstantEvent": False,
            "users": [
                {
                    "id": host.id,
                    "name": host.name,
                    "username": host.username,
                    "avatarUrl": None,
                    "brandColor": None,
                    "darkBrandColor": None,
                    "weekStart": "Sunday",
                    "metadata": {},
                }
            ],
            "scheduleId": None,
            "onlyShowFirstAvailableSlot": False,
            "offsetStart": 0,
            "bookingWindow": {"disabled": True},
            "confirmationPolicy": {"disabled": True},
            "requiresBookerEmailVerification": False,
            "hideCalendarNotes": False,
            "seats": {"disabled": True},
            "useDestinationCalendarEmail": False,
            "hideCalendarEventDetails": False,
            "hideOrganizerEmail": False,
            "calVideoSettings": {"sendTranscriptionEmails": True},
            "hidden": False,
            "bookingRequiresAuthentication": False,
            "bookerActiveBookingsLimit": {"disabled": True},
            "bookingUrl": f"{BOOKING_SITE}/{host.username}/{et.slug}",
            "disableCancelling": {"disabled": False},
            "disableRescheduling": {"disabled": False},
            "interfaceLanguage": None,
            "allowReschedulingPastBookings": False,
            "allowReschedulingCancelledBookings": False,
            "showOptimizedSlots": False,
        }
    )
    return output


def me_output(host: Host, default_schedule_id: int | None) -> dict[str, Any]:
    """MeOutput for the key's owner, as the real Cal.com answers a user made with its defaults (the golden
    catalogue/me): 12-hour clock, weeks from Sunday, the schedule made first as the default."""
    return {
        "id": host.id,
        "email": host.email,
        "name": host.name,
        "avatarUrl": None,
        "bio": None,
        "timeFormat": 12,
        "defaultScheduleId": default_schedule_id,
        "weekStart": "Sunday",
        "timeZone": host.time_zone,
        "username": host.username,
        "organizationId": None,
    }
