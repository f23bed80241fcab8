"""Slot reservations: ReserveSlotInput_2024_09_04, the legacy reserve body, and their output shapes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy.calcom.bookings import BODY_NOT_OBJECT
from proxy.calcom.bounds import MAX_LENGTH_MINUTES, instant_error, length_error
from proxy.calcom.errors import BadRequest, Unauthorized
from proxy.calcom.timefmt import format_utc, parse_instant
from proxy.calcom.validation import FieldError, is_int, raise_if_pipe_errors, stripped

DEFAULT_RESERVATION_MINUTES = 5
# A year of minutes: far beyond any hold TTL policy (which caps it anyway), far below datetime's limits.
MAX_RESERVATION_MINUTES = 366 * 24 * 60
RESERVE_FIELDS = ("eventTypeId", "slotStart", "slotDuration", "reservationDuration")
LEGACY_RESERVE_FIELDS = ("eventTypeId", "slotUtcStartDate", "slotUtcEndDate", "bookingUid", "_isDryRun")
AUTH_ONLY_DURATION = (
    "reservationDuration can only be used for authenticated requests - "
    "use access token, api key or OAuth credentials"
)
# A reservationDuration from a key that does not own the event type (the real Cal.com's words: the goldens).
NOT_OWNER_FOR_DURATION = (
    "authenticated user is not owner of event type, does not have memberships in common with owner of the "
    "event type, nor does belong to event type's team or org."
)
ALREADY_RESERVED = "This time slot is already reserved by another user. Please choose a different time."
ALREADY_BOOKED = "Can't reserve a slot if the event is already booked."
NOT_VARIABLE_LENGTH = "You passed 'slotDuration' but this event type is not a variable length event type."


@dataclass(frozen=True)
class ReserveSlot:
    """A validated ReserveSlotInput_2024_09_04; `slot_start` is an aware UTC datetime."""

    event_type_id: int
    slot_start: datetime
    slot_duration: int | None
    reservation_duration: int | None


@dataclass(frozen=True)
class LegacyReserve:
    """A validated legacy `POST /v2/slots/reserve` body."""

    event_type_id: int
    slot_start: datetime
    slot_end: datetime
    booking_uid: str | None
    # Cal.com answers a uid but reserves nothing (slots.service.ts 2024-04-15 reserveSlot).
    dry_run: bool = False


def _object(body: object) -> dict[str, Any]:
    if body is None:
        return {}  # body-parser hands an empty body to the pipe as {}: the missing fields are named
    if not isinstance(body, dict):
        raise BadRequest(BODY_NOT_OBJECT)
    return body


def _date_error(data: dict[str, Any], name: str) -> FieldError | None:
    return instant_error(name, data.get(name))


def _int_error(
    data: dict[str, Any], name: str, *, optional: bool, high: int | None = None
) -> FieldError | None:
    """IsInt (IsOptional skips null and absent), then calproxy's upper bound on a positive length."""
    value: Any = data.get(name)
    if optional and value is None:
        return None
    if not is_int(value):
        return FieldError(name, (f"{name} must be an integer number",))
    if high is None or int(value) <= 0:
        # Cal.com sets no maximum; zero and below are left to the service, as Cal.com leaves them.
        return None
    return length_error(name, int(value), high=high)


def _errors(candidates: list[FieldError | None]) -> list[FieldError]:
    return [error for error in candidates if error is not None]


def parse_reserve_slot(body: object, *, authenticated: bool | None = None) -> ReserveSlot:
    """Validate a POST/PATCH /v2/slots/reservations body as the global ValidationPipe does.

    Unknown keys are dropped (whitelist without forbidNonWhitelisted); errors come in the DTO's declaration
    order (reserve-slot.input.ts). Lengths past a day of slot or a year of reservation are calproxy's bound.
    `authenticated` (POST only) also applies require_auth_for_duration.
    """
    data = stripped(_object(body), RESERVE_FIELDS)
    errors = _errors(
        [
            _int_error(data, "eventTypeId", optional=False),
            _date_error(data, "slotStart"),
            _int_error(data, "slotDuration", optional=True, high=MAX_LENGTH_MINUTES),
            _int_error(data, "reservationDuration", optional=True, high=MAX_RESERVATION_MINUTES),
        ]
    )
    raise_if_pipe_errors(errors, data)
    duration, reservation = data.get("slotDuration"), data.get("reservationDuration")
    parsed = ReserveSlot(
        event_type_id=int(data["eventTypeId"]),
        slot_start=parse_instant(data["slotStart"]),
        slot_duration=None if duration is None else int(duration),
        reservation_duration=None if reservation is None else int(reservation),
    )
    if authenticated is not None:
        require_auth_for_duration(parsed, authenticated=authenticated)
    return parsed


def require_auth_for_duration(body: ReserveSlot, *, authenticated: bool) -> None:
    """POST only (slots.service.ts reserveSlot 96-100): a truthy reservationDuration needs credentials.

    updateReservedSlot has no such check, so PATCH takes reservationDuration from anyone.
    """
    if body.reservation_duration and not authenticated:
        raise Unauthorized(AUTH_ONLY_DURATION)


def not_a_possible_length(options: Iterable[int]) -> str:
    """validateSlotDuration's refusal (slots.service.ts:224-229)."""
    return (
        "Provided 'slotDuration' is not one of the possible lengths for the event type. The possible "
        f"lengths for this variable length event type are: {', '.join(str(x) for x in options)}"
    )


def _optional_type_error(data: dict[str, Any], name: str, kind: type, message: str) -> FieldError | None:
    value = data.get(name)
    if value is None or (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
        return None
    return FieldError(name, (f"{name} {message}",))


def parse_legacy_reserve(body: object) -> LegacyReserve:
    """Validate a legacy `POST /v2/slots/reserve` body (ReserveSlotInput_2024_04_15, global pipe)."""
    data = stripped(_object(body), LEGACY_RESERVE_FIELDS)
    errors = _errors(
        [
            _int_error(data, "eventTypeId", optional=False),
            _date_error(data, "slotUtcStartDate"),
            _date_error(data, "slotUtcEndDate"),
            _optional_type_error(data, "bookingUid", str, "must be a string"),
            _optional_type_error(data, "_isDryRun", bool, "must be a boolean value"),
        ]
    )
    raise_if_pipe_errors(errors, data)
    return LegacyReserve(
        event_type_id=int(data["eventTypeId"]),
        slot_start=parse_instant(data["slotUtcStartDate"]),
        slot_end=parse_instant(data["slotUtcEndDate"]),
        booking_uid=data.get("bookingUid"),
        dry_run=data.get("_isDryRun") is True,
    )


def reserved_slot_output(
    *,
    event_type_id: int,
    slot_start: datetime,
    slot_end: datetime,
    slot_duration: int,
    uid: str,
    until: datetime,
) -> dict[str, Any]:
    """The `data` of GET /v2/slots/reservations/{uid} (no reservationDuration).

    plainToClass(..., excludeAll) writes the output class's properties in declaration order, and
    GetReservedSlotOutput_2024_09_04 declares reservationUid first (get-reserved-slot.output.ts).
    """
    return {
        "reservationUid": uid,
        "eventTypeId": event_type_id,
        "slotStart": format_utc(slot_start),
        "slotEnd": format_utc(slot_end),
        "slotDuration": slot_duration,
        "reservationUntil": format_utc(until),
    }


def reservation_output(
    *,
    event_type_id: int,
    slot_start: datetime,
    slot_end: datetime,
    slot_duration: int,
    uid: str,
    reservation_duration: int,
    until: datetime,
) -> dict[str, Any]:
    """The `data` of POST/PATCH /v2/slots/reservations: ReserveSlotOutput_2024_09_04's declaration order."""
    return {
        "eventTypeId": event_type_id,
        "slotStart": format_utc(slot_start),
        "slotEnd": format_utc(slot_end),
        "slotDuration": slot_duration,
        "reservationUid": uid,
        "reservationDuration": reservation_duration,
        "reservationUntil": format_utc(until),
    }
