"""Booking request bodies of cal-api-version 2024-08-13: strict validation with Cal.com's messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy.calcom.bounds import instant_error, length_error
from proxy.calcom.errors import BadRequest, ZodBadRequest
from proxy.calcom.timefmt import is_valid_zone, parse_instant
from proxy.calcom.validation import FieldError, is_int, raise_if_errors, unknown_properties

BODY_REQUIRED = "Body is required"
BODY_NOT_OBJECT = "Body should be an object"
NO_CONTACT = "Attendee must have at least one contact method (email or phone number)"
NO_EVENT_TYPE = "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided"
METADATA_LIMITS = (
    "Metadata must have at most 50 keys, each key up to 40 characters, "
    "and string values up to 500 characters."
)
CREATE_FIELDS = (
    "start",
    "attendee",
    "bookingFieldsResponses",
    "eventTypeId",
    "eventTypeSlug",
    "username",
    "teamSlug",
    "organizationSlug",
    "guests",
    "meetingUrl",
    "location",
    "metadata",
    "lengthInMinutes",
    "routing",
    "emailVerificationCode",
)
ATTENDEE_FIELDS = ("name", "email", "timeZone", "phoneNumber", "language")
RESCHEDULE_FIELDS = ("start", "rescheduledBy", "reschedulingReason", "emailVerificationCode", "seatUid")
CANCEL_FIELDS = ("cancellationReason", "cancelSubsequentBookings", "seatUid")
LOCATION_TYPES = frozenset(
    {"address", "attendeeAddress", "attendeeDefined", "attendeePhone", "integration", "link", "phone"}
    | {"organizersDefaultApp"}
)
LANGUAGES = frozenset(
    "ar ca de es eu he id ja lv pl ro sr th vi az cs el es-419 fi hr it km nl pt ru sv tr zh-CN bg "
    "da en et fr hu iw ko no pt-BR sk ta uk zh-TW bn".split()
)
INVALID_EMAIL_RESPONSE = "responses - {email}email_validation_error, "
# The event type's booking fields (the default ones) require an email: a phone-only attendee is refused by the
# responses' zod schema (golden booking-attendee-contacts/phone-only). Event types that make the email
# optional accept one, so calproxy leaves it to Cal.com; only the simulator, whose event types keep the
# default fields, answers it.
EMAIL_REQUIRED_RESPONSE = "responses - {email}error_required_field, "
# The guests booking field is a multiemail: the responses' zod schema refuses a guest that is not an email
# (golden booking-extras/guest-not-an-email), although the DTO takes any strings.
INVALID_GUEST_RESPONSE = "responses - {guests}email_validation_error, "
# zod 3.25's z.string().email(), which handleNewBooking's bookingCreateBodySchema applies to rescheduledBy.
_ZOD_EMAIL_RE = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Z0-9_'+\-.]*)[A-Z0-9_+-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$", re.IGNORECASE
)


@dataclass(frozen=True)
class Attendee:
    """The booking attendee."""

    name: str
    time_zone: str
    email: str | None
    phone_number: str | None
    language: str


@dataclass(frozen=True)
class CreateBooking:
    """A validated CreateBookingInput_2024_08_13; `start` is an aware UTC datetime."""

    start: datetime
    attendee: Attendee
    event_type_id: int | None
    event_type_slug: str | None
    username: str | None
    team_slug: str | None
    organization_slug: str | None
    guests: tuple[str, ...]
    metadata: dict[str, Any]
    length_in_minutes: int | None
    location: str | dict[str, Any] | None
    booking_fields_responses: dict[str, Any]
    email_verification_code: str | None


@dataclass(frozen=True)
class Reschedule:
    """A validated RescheduleBookingInput_2024_08_13."""

    start: datetime
    # Any JSON value: only handleNewBooking checks it, after the booking is found (checked_rescheduled_by).
    rescheduled_by: object
    rescheduled_by_present: bool
    rescheduling_reason: str | None
    seat_uid: str | None


@dataclass(frozen=True)
class Cancel:
    """A validated CancelBookingInput_2024_08_13."""

    cancellation_reason: str | None
    cancel_subsequent_bookings: bool
    seat_uid: str | None


def _require_object(body: object, *, required: bool = True) -> dict[str, Any]:
    if body is None:
        if required:
            raise BadRequest(BODY_REQUIRED)
        return {}
    if not isinstance(body, dict):
        raise BadRequest(BODY_NOT_OBJECT)
    return body


def _check_string(body: dict[str, Any], name: str, errors: list[FieldError]) -> None:
    if name in body and not isinstance(body[name], str):
        errors.append(FieldError(name, (f"{name} must be a string",)))


def _check_start(body: dict[str, Any], errors: list[FieldError]) -> None:
    error = instant_error("start", body.get("start"))
    if error is not None:
        errors.append(error)


def _attendee_errors(value: object) -> list[FieldError]:
    if value is None:
        # @IsDefined runs before @ValidateNested (golden bookings/book-no-attendee, the real Cal.com).
        return [FieldError("attendee", ("attendee should not be null or undefined",))]
    if not isinstance(value, dict):
        return [FieldError("attendee", ("nested property attendee must be either object or array",))]
    children = unknown_properties(value, ATTENDEE_FIELDS)
    if not isinstance(value.get("name"), str):
        children.append(FieldError("name", ("name must be a string",)))
    zone_name = value.get("timeZone")
    if not isinstance(zone_name, str) or not is_valid_zone(zone_name):
        children.append(FieldError("timeZone", ("timeZone must be a valid IANA time-zone",)))
    phone = value.get("phoneNumber")
    # Any string: the format check (create-booking.input.ts:138-140) is an @Validate(fn) that never runs,
    # as for the email (golden booking-attendee-contacts/bad-phone: "12345" is booked). Anything else crashes
    # the real Cal.com (500, golden phone-not-a-string); calproxy refuses it as class-validator would.
    if phone is not None and not isinstance(phone, str):
        children.append(FieldError("phoneNumber", ("phoneNumber must be a string",)))
    language = value.get("language")
    # The type check comes first: a JSON object or list is unhashable and would crash the membership test.
    if language is not None and not (isinstance(language, str) and language in LANGUAGES):
        children.append(
            FieldError(
                "language", (f"language must be one of the following values: {', '.join(sorted(LANGUAGES))}",)
            )
        )
    if not value.get("email") and not value.get("phoneNumber"):
        # The class-level RequireEmailOrPhone (create-booking.input.ts:49-101), named as the real Cal.com
        # names it (golden booking-attendee-contacts/no-contact).
        children.append(FieldError("attendee email or phone", (NO_CONTACT,)))
    return [FieldError("attendee", (), tuple(children))] if children else []


def _metadata_value_ok(item: object) -> bool:
    # validators/validate-metadata.ts:49-60: numbers and booleans are fine, strings up to 500, nothing else.
    if isinstance(item, bool | int | float):
        return True
    return isinstance(item, str) and len(item) <= 500


def _metadata_ok(value: object) -> bool:
    if not isinstance(value, dict) or len(value) > 50:
        return False
    return all(len(key) <= 40 and _metadata_value_ok(item) for key, item in value.items())


def _guests_errors(value: object) -> list[FieldError]:
    # @IsArray + @IsString({each: true}) (create-booking.input.ts:313-316): any strings, not only emails.
    # Decorators register bottom-up, so IsString's message comes first.
    items = value if isinstance(value, list) else [value]
    constraints = []
    if not all(isinstance(guest, str) for guest in items):
        constraints.append("each value in guests must be a string")
    if not isinstance(value, list):
        constraints.append("guests must be an array")
    return [FieldError("guests", tuple(constraints))] if constraints else []


def _location_ok(value: object) -> bool:
    if isinstance(value, str):
        return True
    # Any JSON may arrive as "type" ({} or [] are unhashable): only a known string names a location.
    kind = value.get("type") if isinstance(value, dict) else None
    return isinstance(kind, str) and kind in LOCATION_TYPES


def _create_field_errors(body: dict[str, Any]) -> list[FieldError]:
    errors = unknown_properties(body, CREATE_FIELDS)
    _check_start(body, errors)
    errors.extend(_attendee_errors(body.get("attendee")))
    for name in ("eventTypeId", "lengthInMinutes"):
        if name in body and not is_int(body[name]):
            errors.append(FieldError(name, (f"{name} must be an integer number",)))
    length = body.get("lengthInMinutes")
    if length is not None and is_int(length):
        # Cal.com's @Min(1), and calproxy's @Max: 2**63 or 1e308 minutes is no slot, and no datetime either.
        error = length_error("lengthInMinutes", int(length))
        if error is not None:
            errors.append(error)
    for name in (
        "eventTypeSlug",
        "username",
        "teamSlug",
        "organizationSlug",
        "meetingUrl",
        "emailVerificationCode",
    ):
        _check_string(body, name, errors)
    if "guests" in body:
        errors.extend(_guests_errors(body["guests"]))
    if "metadata" in body and not _metadata_ok(body["metadata"]):
        errors.append(FieldError("metadata", (METADATA_LIMITS,)))
    if "location" in body and not _location_ok(body["location"]):
        errors.append(FieldError("location", ("location must be one of the event type locations",)))
    for name in ("bookingFieldsResponses", "routing"):
        if name in body and not isinstance(body[name], dict):
            errors.append(FieldError(name, (f"{name} must be an object",)))
    slug = body.get("eventTypeSlug")
    if body.get("eventTypeId") is None and not (slug and (body.get("username") or body.get("teamSlug"))):
        # The class-level RequireEventTypeIdentification (create-booking.input.ts:49-101), named as the real
        # Cal.com names it (golden booking-attendee-contacts/no-event-type).
        errors.append(FieldError("eventTypeId or eventTypeSlug + username", (NO_EVENT_TYPE,)))
    return errors


def is_zod_email(value: object) -> bool:
    """zod 3.25's z.string().email()."""
    return isinstance(value, str) and _ZOD_EMAIL_RE.match(value) is not None


def metadata_zod_error(metadata: dict[str, Any]) -> str | None:
    """handleNewBooking's metadata schema takes strings only, although the DTO also takes numbers and
    booleans: zod's message names each other value, the last key first (golden
    booking-extras/metadata-not-strings)."""
    issues = [
        f"metadata.{key} - Expected string, received {'boolean' if isinstance(value, bool) else 'number'}, "
        for key, value in reversed(metadata.items())
        if not isinstance(value, str)
    ]
    return "".join(issues) or None


def location_type_error(location: object, event_type_id: int, allowed: tuple[str, ...]) -> str | None:
    """A booking location whose type the event type does not offer (input.service.ts:366-405; golden
    booking-extras/location-not-of-the-event-type)."""
    kind = location.get("type") if isinstance(location, dict) else None
    if kind is None or kind in allowed:
        return None
    return (
        f"Booking location with type {kind} not valid for event type with id={event_type_id}. The event type "
        f"has following location types: {', '.join(allowed)}, and only these types are allowed for booking "
        "location."
    )


def parse_create_booking(body: object) -> CreateBooking:
    """Validate a POST /v2/bookings body as CreateBookingInputPipe does; BadRequest on any problem."""
    data = _require_object(body)
    raise_if_errors(_create_field_errors(data))
    attendee = data["attendee"]
    event_type_id = data.get("eventTypeId")
    slug = data.get("eventTypeSlug")
    email = attendee.get("email")
    if email is not None and not is_zod_email(email):
        # The attendee's @Validate(fn) never runs (class-validator #1750); the booking responses' zod schema
        # refuses it (golden bookings/book-bad-email, the real Cal.com: no `details`).
        raise ZodBadRequest(INVALID_EMAIL_RESPONSE)
    metadata_error = metadata_zod_error(dict(data.get("metadata", {})))
    if metadata_error is not None:
        # Not event-type specific, so refused here, before calproxy places anything or asks Cal.com.
        raise ZodBadRequest(metadata_error)
    length = data.get("lengthInMinutes")
    return CreateBooking(
        start=parse_instant(data["start"]),
        attendee=Attendee(
            name=attendee["name"],
            time_zone=attendee["timeZone"],
            email=attendee.get("email"),
            phone_number=attendee.get("phoneNumber"),
            language=attendee.get("language", "en"),
        ),
        event_type_id=None if event_type_id is None else int(event_type_id),
        event_type_slug=slug,
        username=data.get("username"),
        team_slug=data.get("teamSlug"),
        organization_slug=data.get("organizationSlug"),
        guests=tuple(data.get("guests", ())),
        metadata=dict(data.get("metadata", {})),
        length_in_minutes=None if length is None else int(length),
        location=data.get("location", data.get("meetingUrl")),
        booking_fields_responses=dict(data.get("bookingFieldsResponses", {})),
        email_verification_code=data.get("emailVerificationCode"),
    )


def parse_reschedule(body: object) -> Reschedule:
    """Validate a POST /v2/bookings/{uid}/reschedule body."""
    data = _require_object(body)
    errors = unknown_properties(data, RESCHEDULE_FIELDS)
    _check_start(data, errors)
    # rescheduledBy's @Validate(fn) names no constraint class, so class-validator checks nothing there;
    # handleNewBooking's zod schema does (see rescheduled_by_error).
    for name in ("reschedulingReason", "emailVerificationCode", "seatUid"):
        _check_string(data, name, errors)
    raise_if_errors(errors)
    return Reschedule(
        start=parse_instant(data["start"]),
        rescheduled_by=data.get("rescheduledBy"),
        rescheduled_by_present="rescheduledBy" in data,
        rescheduling_reason=data.get("reschedulingReason"),
        seat_uid=data.get("seatUid"),
    )


def parse_cancel(body: object) -> Cancel:
    """Validate a POST /v2/bookings/{uid}/cancel body; an empty body is allowed."""
    data = _require_object(body, required=False)
    errors = unknown_properties(data, CANCEL_FIELDS)
    for name in ("cancellationReason", "seatUid"):
        _check_string(data, name, errors)
    if "cancelSubsequentBookings" in data and not isinstance(data["cancelSubsequentBookings"], bool):
        errors.append(
            FieldError("cancelSubsequentBookings", ("cancelSubsequentBookings must be a boolean value",))
        )
    raise_if_errors(errors)
    return Cancel(
        cancellation_reason=data.get("cancellationReason"),
        cancel_subsequent_bookings=bool(data.get("cancelSubsequentBookings", False)),
        seat_uid=data.get("seatUid"),
    )


def _js_type(value: object) -> str:
    # zod's "received" names for JSON values.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def checked_rescheduled_by(body: Reschedule) -> str | None:
    """handleNewBooking's `rescheduledBy: z.string().email().optional()` (bookingCreateBodySchema.ts:14).

    The filter joins issues as `${path} - ${message}, `; this is the only issue the simulator can raise.
    """
    value = body.rescheduled_by
    if not body.rescheduled_by_present:
        return None
    if not isinstance(value, str):
        raise ZodBadRequest(f"rescheduledBy - Expected string, received {_js_type(value)}, ")
    if not _ZOD_EMAIL_RE.match(value):
        raise ZodBadRequest("rescheduledBy - Invalid email, ")
    return value
