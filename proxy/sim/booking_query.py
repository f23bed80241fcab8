"""GET /v2/bookings: query validation, filters, sorting and pagination (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from proxy.calcom.timefmt import parse_instant
from proxy.calcom.validation import (
    FieldError,
    is_iso8601,
    js_number,
    js_parse_int,
    raise_if_pipe_errors,
    stripped,
)
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
# GetBookingsInput_2024_08_13's properties in declaration order: class-validator reports errors in this
# order and the global pipe strips every other parameter (get-bookings.input.ts:32-285).
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
INVALID_STATUS = "Invalid status. Allowed are upcoming, recurring, past, cancelled, unconfirmed"
# The DTO's own messages (get-bookings.input.ts:159-268); sortUpdatedAt reuses SortCreated's text there.
DATE_MESSAGES = {name: ("fromDate" if after else "toDate") for name, (_, after) in DATE_FILTERS.items()}
SORT_MESSAGES = {
    "sortStart": 'SortStart must be either "asc" or "desc".',
    "sortEnd": 'SortEnd must be either "asc" or "desc".',
    "sortCreated": 'SortCreated must be either "asc" or "desc".',
    "sortUpdatedAt": 'SortCreated must be either "asc" or "desc".',
}

Raw = str | list[str]


def _plain(query: Mapping[str, str]) -> dict[str, Raw]:
    """The query as Express's parser hands it over: a repeated parameter becomes an array."""
    getall = getattr(query, "getall", None)
    plain: dict[str, Raw] = {}
    for key in query:
        if key not in plain:
            values = list(getall(key)) if getall is not None else [query[key]]
            plain[key] = values[0] if len(values) == 1 else values
    return plain


def _csv(value: Raw, convert: Callable[[str], float]) -> list[float]:
    if isinstance(value, str):
        return [js_parse_int(part) for part in value.split(",")]
    return [convert(item) for item in value]


def _take_skip(value: Raw) -> object:
    # `value && parseInt(value)`: "" stays "", an array is read as its comma-joined string.
    text = value if isinstance(value, str) else ",".join(value)
    return text if text == "" else js_parse_int(text)


def _transformed(value: Raw, name: str) -> object:
    """One parameter after the DTO's @Transform / @Type (class-transformer runs before validation)."""
    if name == "status" and isinstance(value, str):
        return [status.strip() for status in value.split(",")]
    if name == "attendeeEmail" and isinstance(value, str):
        return re.sub(r"\s+", "+", value.strip())
    if name in ("eventTypeIds", "teamsIds"):
        return _csv(value, js_number)
    if name in ("eventTypeId", "teamId"):
        return js_number(value) if isinstance(value, str) else [js_number(item) for item in value]
    if name in ("take", "skip"):
        return _take_skip(value)
    return value


def transform(query: Mapping[str, str]) -> dict[str, Any]:
    """The validated object: declared parameters only, transformed, in the caller's order."""
    plain = stripped(_plain(query), PARAMS)
    return {name: _transformed(value, name) for name, value in plain.items()}


def _is_number(value: object) -> bool:
    """IsNumber() with default options: a finite JS number."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _range_errors(name: str, value: object, low: int, high: int | None) -> FieldError | None:
    # Take's decorators apply bottom-up (Max, Min, IsNumber); Min/Max refuse anything not a number.
    checks = []
    if high is not None and not (_is_number(value) and value <= high):  # type: ignore[operator]
        checks.append(("max", f"{name} must not be greater than {high}"))
    if not (_is_number(value) and value >= low):  # type: ignore[operator]
        checks.append(("min", f"{name} must not be less than {low}"))
    if not _is_number(value):
        checks.append(("isNumber", f"{name} must be a number conforming to the specified constraints"))
    if not checks:
        return None
    return FieldError(name, tuple(m for _, m in checks), names=tuple(n for n, _ in checks))


def _error(name: str, value: object) -> FieldError | None:
    """The class-validator error for one transformed parameter, or None."""
    if name == "status":
        if isinstance(value, list) and all(item in STATUSES for item in value):
            return None
        return FieldError(name, (INVALID_STATUS,), names=("isEnum",))
    if name in ("attendeeEmail", "attendeeName", "bookingUid"):
        return None if isinstance(value, str) else FieldError(name, (f"{name} must be a string",))
    if name in ("eventTypeIds", "teamsIds"):
        if isinstance(value, list) and all(_is_number(item) for item in value):
            return None
        message = f"each value in {name} must be a number conforming to the specified constraints"
        return FieldError(name, (message,), names=("isNumber",))
    if name in ("eventTypeId", "teamId"):
        ok = _is_number(value) and float(value).is_integer()  # type: ignore[arg-type]
        return None if ok else FieldError(name, (f"{name} must be an integer number",))
    if name in DATE_FILTERS:
        if is_iso8601(value, strict=True):
            return None
        return FieldError(
            name, (f"{DATE_MESSAGES[name]} must be a valid ISO 8601 date.",), names=("isIso8601",)
        )
    if name in SORTS:
        ok = value in ("asc", "desc")
        return None if ok else FieldError(name, (SORT_MESSAGES[name],), names=("isEnum",))
    if name == "take":
        return _range_errors(name, value, 1, MAX_TAKE)
    return _range_errors(name, value, 0, None)


def validate(query: Mapping[str, str]) -> None:
    """The global ValidationPipe over GET /v2/bookings: unknown parameters dropped, errors as {errors}."""
    target = transform(query)
    found = (_error(name, target[name]) for name in PARAMS if name in target)
    raise_if_pipe_errors([error for error in found if error is not None], target)


def _status_match(booking: Booking, statuses: Sequence[str], now: datetime) -> bool:
    checks: dict[str, Callable[[], bool]] = {
        "upcoming": lambda: booking.end >= now and booking.active,
        "recurring": lambda: False,
        "past": lambda: booking.end <= now and booking.status not in ("cancelled", "rejected"),
        "cancelled": lambda: booking.status in ("cancelled", "rejected"),
        "unconfirmed": lambda: booking.end >= now and booking.status == "pending",
    }
    return any(checks[s]() for s in statuses)


def _bound(text: str) -> datetime | None:
    try:
        return parse_instant(text)
    except ValueError:
        return None  # ISO 8601 forms JavaScript's Date cannot read (week or ordinal dates) match nothing


def _ints(value: object) -> list[float]:
    if isinstance(value, list):
        return list(value)
    return [] if value is None else [value]  # type: ignore[list-item]


def _matches(booking: Booking, query: Mapping[str, Any], now: datetime) -> bool:
    statuses = query.get("status") or []
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
    ids = _ints(query.get("eventTypeIds")) + _ints(query.get("eventTypeId"))
    if ids and booking.event_type_id not in ids:
        return False
    if "teamsIds" in query or "teamId" in query:
        return False  # The simulator has no team event types.
    for name, (attr, after) in DATE_FILTERS.items():
        if name in query:
            bound, value = _bound(query[name]), getattr(booking, attr)
            if bound is None or (after and value < bound) or (not after and value > bound):
                return False
    return True


# The order of one status asked alone, without a sort (get.handler.ts:1167-1177).
STATUS_ORDER = {"upcoming": False, "recurring": False, "past": True, "cancelled": True, "unconfirmed": False}


def order_of(params: Mapping[str, Any]) -> tuple[str, bool]:
    """Cal.com's getOrderBy (get.handler.ts:1158-1193): one key, never several. One status alone and no sort
    takes that status's order (golden booking-list/status-cancelled: newest start first); otherwise the first
    sort given of start, end, created, updated; otherwise the start, ascending."""
    statuses = params.get("status") or []
    given = [(name, attr) for name, attr in SORTS.items() if name in params]
    if len(statuses) == 1 and not given:
        return "start", STATUS_ORDER[statuses[0]]
    if given:
        name, attr = given[0]
        return attr, params[name] == "desc"
    return "start", False


def select(
    bookings: Sequence[Booking], query: Mapping[str, str], now: datetime
) -> tuple[list[Booking], dict[str, Any]]:
    """Filter, sort and page bookings; returns the page and PaginationMetaDto."""
    params = transform(query)
    found = [b for b in bookings if _matches(b, params, now)]
    found.sort(key=lambda b: (b.start, b.id))
    attr, descending = order_of(params)
    found.sort(key=attrgetter(attr), reverse=descending)
    take = int(params.get("take") or 100)
    skip = int(params.get("skip") or 0)
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
