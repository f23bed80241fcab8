"""GET /v2/bookings: query validation, filters, sorting and pagination (pure)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from proxy.calcom.timefmt import parse_instant
from proxy.calcom.validation import FieldError, parse_int_param, raise_if_errors, unknown_properties
from proxy.sim.state import Booking

STATUSES = ("upcoming", "recurring", "past", "cancelled", "unconfirmed")
DATE_FILTERS = {
    "afterStart": ("start", True),
    "beforeEnd": ("end", False),
    "afterCreatedAt": ("created_at", True),
    "beforeCreatedAt": ("created_at", False),
    "afterUpdatedAt": ("updated_at", True),
    "beforeUpdatedAt": ("updated_at", False),
}
SORTS = {"sortStart": "start", "sortEnd": "end", "sortCreated": "created_at", "sortUpdatedAt": "updated_at"}
PARAMS = (
    (
        "status",
        "attendeeEmail",
        "attendeeName",
        "bookingUid",
        "eventTypeIds",
        "eventTypeId",
        "teamsIds",
        "teamId",
    )
    + tuple(DATE_FILTERS)
    + tuple(SORTS)
    + ("take", "skip")
)
MAX_TAKE = 250


def _csv_ints(raw: str) -> list[int | None]:
    return [parse_int_param(part) for part in raw.split(",") if part.strip()]


def validate(query: Mapping[str, str]) -> None:
    """Cal.com's 400 for unknown or malformed GET /v2/bookings parameters."""
    errors = unknown_properties(query, PARAMS)
    for status in filter(None, query.get("status", "").split(",")):
        if status not in STATUSES:
            errors.append(
                FieldError("status", (f"status must be one of the following values: {', '.join(STATUSES)}",))
            )
            break
    for name in DATE_FILTERS:
        if name in query:
            try:
                parse_instant(query[name])
            except ValueError:
                errors.append(FieldError(name, (f"{name} must be a valid ISO 8601 date string",)))
    for name in SORTS:
        if name in query and query[name] not in ("asc", "desc"):
            errors.append(FieldError(name, (f"{name} must be one of the following values: asc, desc",)))
    for name in ("eventTypeIds", "teamsIds", "eventTypeId", "teamId"):
        if name in query and any(v is None for v in _csv_ints(query[name])):
            errors.append(FieldError(name, (f"{name} must be an integer number",)))
    take, skip = query.get("take"), query.get("skip")
    take_value = None if take is None else parse_int_param(take)
    if take is not None and (take_value is None or take_value < 1 or take_value > MAX_TAKE):
        errors.append(FieldError("take", (f"take must not be less than 1 and not greater than {MAX_TAKE}",)))
    skip_value = None if skip is None else parse_int_param(skip)
    if skip is not None and (skip_value is None or skip_value < 0):
        errors.append(FieldError("skip", ("skip must not be less than 0",)))
    raise_if_errors(errors)


def _status_match(booking: Booking, statuses: Sequence[str], now: datetime) -> bool:
    checks: dict[str, Callable[[], bool]] = {
        "upcoming": lambda: booking.end >= now and booking.active,
        "recurring": lambda: False,
        "past": lambda: booking.end <= now and booking.status not in ("cancelled", "rejected"),
        "cancelled": lambda: booking.status in ("cancelled", "rejected"),
        "unconfirmed": lambda: booking.end >= now and booking.status == "pending",
    }
    return any(checks[s]() for s in statuses)


def _matches(booking: Booking, query: Mapping[str, str], now: datetime) -> bool:
    statuses = [s for s in query.get("status", "").split(",") if s]
    if statuses and not _status_match(booking, statuses, now):
        return False
    if "attendeeEmail" in query and booking.attendee.get("email") != query["attendeeEmail"]:
        return False
    if (
        "attendeeName" in query
        and query["attendeeName"].lower() not in str(booking.attendee.get("name")).lower()
    ):
        return False
    if "bookingUid" in query and booking.uid != query["bookingUid"]:
        return False
    ids = _csv_ints(query.get("eventTypeIds", "")) + _csv_ints(query.get("eventTypeId", ""))
    if ids and booking.event_type_id not in ids:
        return False
    if "teamsIds" in query or "teamId" in query:
        return False  # The simulator has no team event types.
    for name, (attr, after) in DATE_FILTERS.items():
        if name in query:
            bound, value = parse_instant(query[name]), getattr(booking, attr)
            if (after and value < bound) or (not after and value > bound):
                return False
    return True


def select(
    bookings: Sequence[Booking], query: Mapping[str, str], now: datetime
) -> tuple[list[Booking], dict[str, Any]]:
    """Filter, sort and page bookings; returns the page and PaginationMetaDto."""
    found = [b for b in bookings if _matches(b, query, now)]
    found.sort(key=lambda b: (b.start, b.id))
    for name, attr in SORTS.items():
        if name in query:
            found.sort(key=attrgetter(attr), reverse=query[name] == "desc")
    take = parse_int_param(query.get("take", "100")) or 100
    skip = parse_int_param(query.get("skip", "0")) or 0
    page = found[skip : skip + take]
    total = len(found)
    return page, {
        "totalItems": total,
        "remainingItems": max(0, total - skip - len(page)),
        "returnedItems": len(page),
        "itemsPerPage": take,
        "currentPage": skip // take + 1,
        "totalPages": math.ceil(total / take),
        "hasNextPage": skip + take < total,
        "hasPreviousPage": skip > 0,
    }
