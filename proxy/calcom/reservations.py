"""Slot reservations: ReserveSlotInput_2024_09_04, the legacy reserve body, and their output shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy.calcom.bookings import BODY_NOT_OBJECT, BODY_REQUIRED
from proxy.calcom.bounds import MAX_LENGTH_MINUTES, instant_error, length_error
from proxy.calcom.errors import BadRequest, Unauthorized
from proxy.calcom.timefmt import format_utc, parse_instant
from proxy.calcom.validation import FieldError, is_int, raise_if_errors, unknown_properties

DEFAULT_RESERVATION_MINUTES = 5
# A year of minutes: far beyond any hold TTL policy (which caps it anyway), far below datetime's limits.
MAX_RESERVATION_MINUTES = 366 * 24 * 60
RESERVE_FIELDS = ("eventTypeId", "slotStart", "slotDuration", "reservationDuration")
LEGACY_RESERVE_FIELDS = ("eventTypeId", "slotUtcStartDate", "slotUtcEndDate", "bookingUid")
AUTH_ONLY_DURATION = (
    "reservationDuration can only be used for authenticated requests - "
    "use access token, api key or OAuth credentials"
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


def _object(body: object) -> dict[str, Any]:
    if body is None:
        raise BadRequest(BODY_REQUIRED)
    if not isinstance(body, dict):
        raise BadRequest(BODY_NOT_OBJECT)
    return body


def _date_error(data: dict[str, Any], name: str) -> FieldError | None:
    return instant_error(name, data.get(name))


def _int_errors(data: dict[str, Any], names: tuple[str, ...], required: tuple[str, ...]) -> list[FieldError]:
    errors = []
    for name in names:
        if (name in data or name in required) and not is_int(data.get(name)):
            errors.append(FieldError(name, (f"{name} must be an integer number",)))
    return errors


def _length_errors(data: dict[str, Any]) -> list[FieldError]:
    """Lengths beyond any datetime arithmetic (2**63 or 1e308 minutes) are refused before any is done.

    Cal.com sets no maximum on either; one day of slot and one year of reservation are far past any use.
    Zero and below are left to the later checks, as before (Cal.com reads 0 as "not given").
    """
    errors = []
    limits = (("slotDuration", MAX_LENGTH_MINUTES), ("reservationDuration", MAX_RESERVATION_MINUTES))
    for name, high in limits:
        value = data.get(name)
        if value is not None and is_int(value) and int(value) > 0:
            error = length_error(name, int(value), high=high)
            if error is not None:
                errors.append(error)
    return errors


def parse_reserve_slot(body: object, *, authenticated: bool) -> ReserveSlot:
    """Validate a POST/PATCH /v2/slots/reservations body; 401 for reservationDuration without credentials."""
    data = _object(body)
    errors = unknown_properties(data, RESERVE_FIELDS)
    errors.extend(_int_errors(data, ("eventTypeId",), ("eventTypeId",)))
    start_error = _date_error(data, "slotStart")
    if start_error is not None:
        errors.append(start_error)
    errors.extend(_int_errors(data, ("slotDuration", "reservationDuration"), ()))
    errors.extend(_length_errors(data))
    raise_if_errors(errors)
    reservation = data.get("reservationDuration")
    if reservation is not None and not authenticated:
        raise Unauthorized(AUTH_ONLY_DURATION)
    duration = data.get("slotDuration")
    return ReserveSlot(
        event_type_id=int(data["eventTypeId"]),
        slot_start=parse_instant(data["slotStart"]),
        slot_duration=None if duration is None else int(duration),
        reservation_duration=None if reservation is None else int(reservation),
    )


def parse_legacy_reserve(body: object) -> LegacyReserve:
    """Validate a legacy `POST /v2/slots/reserve` body `{eventTypeId, slotUtcStartDate, slotUtcEndDate}`."""
    data = _object(body)
    errors = unknown_properties(data, LEGACY_RESERVE_FIELDS)
    errors.extend(_int_errors(data, ("eventTypeId",), ("eventTypeId",)))
    for name in ("slotUtcStartDate", "slotUtcEndDate"):
        error = _date_error(data, name)
        if error is not None:
            errors.append(error)
    if "bookingUid" in data and not isinstance(data["bookingUid"], str):
        errors.append(FieldError("bookingUid", ("bookingUid must be a string",)))
    raise_if_errors(errors)
    return LegacyReserve(
        event_type_id=int(data["eventTypeId"]),
        slot_start=parse_instant(data["slotUtcStartDate"]),
        slot_end=parse_instant(data["slotUtcEndDate"]),
        booking_uid=data.get("bookingUid"),
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
    """The `data` of GET /v2/slots/reservations/{uid} (no reservationDuration)."""
    return {
        "eventTypeId": event_type_id,
        "slotStart": format_utc(slot_start),
        "slotEnd": format_utc(slot_end),
        "slotDuration": slot_duration,
        "reservationUid": uid,
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
    """The `data` of POST/PATCH /v2/slots/reservations: ReserveSlotOutput_2024_09_04 as sent on the wire."""
    output = reserved_slot_output(
        event_type_id=event_type_id,
        slot_start=slot_start,
        slot_end=slot_end,
        slot_duration=slot_duration,
        uid=uid,
        until=until,
    )
    # Key order follows the controller's output class: reservationDuration sits before reservationUntil.
    until_text = output.pop("reservationUntil")
    output["reservationDuration"] = reservation_duration
    output["reservationUntil"] = until_text
    return output
