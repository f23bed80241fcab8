"""GET /v2/slots (2024-09-04) and the legacy GET /v2/slots/available: query parsing and the `data` object."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from proxy.calcom.bounds import MAX_LENGTH_MINUTES, instant_error, length_error
from proxy.calcom.errors import BadRequest
from proxy.calcom.timefmt import date_key, format_in_zone, is_bare_date, is_valid_zone, parse_instant
from proxy.calcom.validation import FieldError, parse_int_param, raise_if_errors, unknown_properties

SlotFormat = Literal["time", "range"]

SLOTS_PARAMS = (
    "start",
    "end",
    "eventTypeId",
    "eventTypeSlug",
    "username",
    "teamSlug",
    "organizationSlug",
    "usernames",
    "timeZone",
    "duration",
    "format",
    "bookingUidToReschedule",
)
INVALID_RANGE = "Invalid time range given - check the 'start' and 'end' query parameters."
INVALID_FORMAT = "slotFormat must be either 'range' or 'time'"
NO_EVENT_TYPE = (
    "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug or usernames must be provided"
)


@dataclass(frozen=True)
class SlotsQuery:
    """A validated 2024-09-04 slots query; start/end are aware UTC datetimes."""

    start: datetime
    end: datetime
    event_type_id: int | None
    time_zone: str | None
    duration: int | None
    format: SlotFormat
    booking_uid_to_reschedule: str | None
    event_type_slug: str | None = None
    username: str | None = None


def in_window(start: datetime, window_start: datetime, window_end: datetime) -> bool:
    """The one window rule: a slot belongs to [start, end] when its start lies inside, both ends included."""
    return window_start <= start <= window_end


def slots_horizon(now: datetime) -> datetime:
    """The last instant Cal.com computes slots for: it clamps `end` to `dayjs.utc().add(1, "year")`.

    dayjs moves 29 February to 28 February of the next year; nothing after this instant is ever offered.
    """
    try:
        return now.replace(year=now.year + 1)
    except ValueError:
        return now.replace(year=now.year + 1, day=28)


def range_error(start: datetime, end: datetime, max_days: int) -> str | None:
    """calproxy's bound on a slots range (Cal.com has none): the refusal text, or None within it."""
    if end - start > timedelta(days=max_days):
        return (
            "Invalid time range given - 'start' and 'end' may be at most "
            f"{max_days} day{'s' if max_days != 1 else ''} apart."
        )
    return None


def _int_param_errors(query: Mapping[str, str], names: Iterable[str]) -> list[FieldError]:
    errors = []
    for name in names:
        raw = query.get(name)
        if raw is not None and parse_int_param(raw) is None:
            errors.append(FieldError(name, (f"{name} must be an integer number",)))
    return errors


def _duration_errors(query: Mapping[str, str]) -> list[FieldError]:
    """A slot length no working day fits is refused before it reaches any arithmetic.

    0 is let through: Cal.com's `value && parseInt(value)` reads it as "no duration", so does everyone here.
    """
    raw = query.get("duration")
    duration = None if raw is None else parse_int_param(raw)
    error = length_error("duration", duration, high=MAX_LENGTH_MINUTES) if duration else None
    return [] if error is None else [error]


def _optional_int(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    return None if raw is None else parse_int_param(raw)


def parse_slots_query(query: Mapping[str, str]) -> SlotsQuery:
    """Validate a 2024-09-04 slots query as GetSlotsInputPipe does; BadRequest with Cal.com's messages."""
    errors = unknown_properties(query, SLOTS_PARAMS)
    for name in ("start", "end"):
        error = instant_error(name, query.get(name))
        if error is not None:
            errors.append(error)
    errors.extend(_int_param_errors(query, ("eventTypeId", "duration")))
    errors.extend(_duration_errors(query))
    zone_name = query.get("timeZone")
    if zone_name is not None and not is_valid_zone(zone_name):
        errors.append(FieldError("timeZone", ("timeZone must be a valid IANA time-zone",)))
    raise_if_errors(errors)
    slot_format = query.get("format", "time")
    if slot_format not in ("time", "range"):
        raise BadRequest(INVALID_FORMAT)
    event_type_id = _optional_int(query, "eventTypeId")
    slug, username = query.get("eventTypeSlug"), query.get("username")
    if (
        event_type_id is None
        and not (slug and (username or query.get("teamSlug")))
        and not query.get("usernames")
    ):
        raise BadRequest(NO_EVENT_TYPE)
    raw_start, raw_end = query["start"], query["end"]
    start = parse_instant(raw_start)
    end = parse_instant(raw_end)
    if is_bare_date(raw_end):
        # adjustEndTime: a bare end date covers that whole UTC day.
        end += timedelta(hours=23, minutes=59, seconds=59)
    if end < start:
        raise BadRequest(INVALID_RANGE)
    return SlotsQuery(
        start=start,
        end=end,
        event_type_id=event_type_id,
        time_zone=zone_name,
        duration=_optional_int(query, "duration"),
        format="range" if slot_format == "range" else "time",
        booking_uid_to_reschedule=query.get("bookingUidToReschedule"),
        event_type_slug=slug,
        username=username,
    )


def slots_data(
    starts: Iterable[datetime], query: SlotsQuery, length_minutes: int
) -> dict[str, list[dict[str, str]]]:
    """The `data` object of GET /v2/slots: starts in the window, keyed by date in query.time_zone."""
    days: dict[str, list[dict[str, str]]] = {}
    length = timedelta(minutes=length_minutes)
    for start in sorted(starts):
        if not in_window(start, query.start, query.end):
            continue
        slot = {"start": format_in_zone(start, query.time_zone)}
        if query.format == "range":
            slot["end"] = format_in_zone(start + length, query.time_zone)
        # Only days that get a slot appear, so empty days are omitted.
        days.setdefault(date_key(start, query.time_zone), []).append(slot)
    return days


# Legacy GET /v2/slots/available (versions 2024-04-15 .. 2024-08-13). Its global ValidationPipe drops
# unknown parameters instead of refusing them.


@dataclass(frozen=True)
class AvailableQuery:
    """A validated legacy slots query; start/end are aware UTC datetimes."""

    start: datetime
    end: datetime
    event_type_id: int | None
    time_zone: str | None
    duration: int | None
    format: SlotFormat
    reschedule_uid: str | None
    event_type_slug: str | None = None


def parse_available_query(query: Mapping[str, str]) -> AvailableQuery:
    """Validate a legacy `/v2/slots/available` query; BadRequest with class-validator messages."""
    errors = [
        error
        for error in (
            instant_error("startTime", query.get("startTime")),
            instant_error("endTime", query.get("endTime")),
        )
        if error is not None
    ]
    errors.extend(_int_param_errors(query, ("eventTypeId", "duration")))
    errors.extend(_duration_errors(query))
    zone_name = query.get("timeZone")
    if zone_name is not None and not is_valid_zone(zone_name):
        errors.append(FieldError("timeZone", ("timeZone must be a valid IANA time-zone",)))
    raise_if_errors(errors)
    slot_format = query.get("slotFormat", "time")
    if slot_format not in ("time", "range"):
        raise BadRequest(INVALID_FORMAT)
    event_type_id = _optional_int(query, "eventTypeId")
    if event_type_id is None and not query.get("eventTypeSlug"):
        raise BadRequest(NO_EVENT_TYPE)
    start, end = parse_instant(query["startTime"]), parse_instant(query["endTime"])
    if end < start:
        raise BadRequest(INVALID_RANGE)
    return AvailableQuery(
        start=start,
        end=end,
        event_type_id=event_type_id,
        time_zone=zone_name,
        duration=_optional_int(query, "duration"),
        format="range" if slot_format == "range" else "time",
        reschedule_uid=query.get("rescheduleUid"),
        event_type_slug=query.get("eventTypeSlug"),
    )


def available_data(
    starts: Iterable[datetime], query: AvailableQuery, length_minutes: int
) -> dict[str, dict[str, list[dict[str, str]]]]:
    """The `data` object of the legacy endpoint: `{"slots": {date: [{"time"} | {"startTime","endTime"}]}}`."""
    days: dict[str, list[dict[str, str]]] = {}
    length = timedelta(minutes=length_minutes)
    for start in sorted(starts):
        if not in_window(start, query.start, query.end):
            continue
        if query.format == "range":
            slot = {
                "startTime": format_in_zone(start, query.time_zone),
                "endTime": format_in_zone(start + length, query.time_zone),
            }
        else:
            slot = {"time": format_in_zone(start, query.time_zone)}
        days.setdefault(date_key(start, query.time_zone), []).append(slot)
    return {"slots": days}
