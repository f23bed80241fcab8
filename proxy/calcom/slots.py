"""GET /v2/slots (2024-09-04) and the legacy GET /v2/slots/available: query parsing and the `data` object."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from proxy.calcom.bounds import MAX_LENGTH_MINUTES, instant_error, length_error
from proxy.calcom.errors import BadRequest
from proxy.calcom.timefmt import date_key, format_in_zone, is_valid_zone, parse_instant
from proxy.calcom.validation import FieldError, parse_int_param, raise_if_errors, unknown_properties

SlotFormat = Literal["time", "range"]

# GetAvailableSlotsInput_2024_09_04's own properties, in declaration order (class-validator reports a
# subclass's properties first, then these; PT/slots/slots-2024-09-04/inputs/get-slots.input.ts:16-112).
COMMON_PARAMS = (
    "start",
    "end",
    "timeZone",
    "duration",
    "format",
    "bookingUidToReschedule",
    "rrHostSubsetIds",
)
# The four input classes GetSlotsInputPipe picks from (get-slots-input.pipe.ts:35-56), each with its own
# properties (`type` is a declared property too, so forbidNonWhitelisted lets it through).
BY_ID = ("type", "eventTypeId")
BY_USERNAME_AND_SLUG = ("type", "eventTypeSlug", "username", "organizationSlug")
BY_TEAM_AND_SLUG = ("type", "eventTypeSlug", "teamSlug", "organizationSlug")
BY_USERNAMES = ("type", "usernames", "organizationSlug")
INVALID_RANGE = "Invalid time range given - check the 'start' and 'end' query parameters."
INVALID_FORMAT = "slotFormat must be either 'range' or 'time'"
NOT_A_NUMBER = "must be a number conforming to the specified constraints"
# Cal.com keeps a slot while `slotStart + length - 1 s` is not after the range end (slots.ts:178).
SLOT_END_GRACE = timedelta(seconds=1)


@dataclass(frozen=True)
class SlotsQuery:
    """A validated 2024-09-04 slots query; start/end are aware UTC datetimes, already adjusted."""

    start: datetime
    end: datetime
    event_type_id: int | None
    time_zone: str | None
    duration: int | None
    format: SlotFormat
    booking_uid_to_reschedule: str | None
    event_type_slug: str | None = None
    username: str | None = None
    rr_host_subset_ids: tuple[int, ...] | None = None


def in_window(start: datetime, length: timedelta, window_start: datetime, window_end: datetime) -> bool:
    """The one window rule: a slot starts at or after `start` and ends by `end`.

    Cal.com clips each available date range at dateFrom/dateTo (features/schedules/lib/date-ranges.ts:76-77)
    and keeps a slot only while its end minus one second is not after the range end (slots.ts:178).
    """
    return window_start <= start and start + length - SLOT_END_GRACE <= window_end


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


def _is_midnight(instant: datetime) -> bool:
    return instant.hour == 0 and instant.minute == 0 and instant.second == 0


def adjust_start(start: datetime) -> datetime:
    """slots-input.service.ts:161-173: a start at 00:00:00 UTC loses its milliseconds."""
    return start.replace(microsecond=0) if _is_midnight(start) else start


def adjust_end(end: datetime) -> datetime:
    """slots-input.service.ts:175-179: ANY end at 00:00:00 UTC (not only a bare date) means 23:59:59 that day.

    Luxon's set() keeps the milliseconds, so 00:00:00.500Z becomes 23:59:59.500Z.
    """
    return end + timedelta(hours=23, minutes=59, seconds=59) if _is_midnight(end) else end


def _int_param_errors(query: Mapping[str, str], names: Iterable[str], message: str) -> list[FieldError]:
    errors = []
    for name in names:
        raw = query.get(name)
        if raw is not None and parse_int_param(raw) is None:
            errors.append(FieldError(name, (f"{name} {message}",)))
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


def input_class(query: Mapping[str, str]) -> tuple[str, ...]:
    """The properties of the input class GetSlotsInputPipe.transform picks (get-slots-input.pipe.ts:43-55)."""
    if "eventTypeId" in query:
        return BY_ID
    if "eventTypeSlug" in query and "username" in query:
        return BY_USERNAME_AND_SLUG
    if "eventTypeSlug" in query and "teamSlug" in query:
        return BY_TEAM_AND_SLUG
    return BY_USERNAMES


def _usernames_errors(raw: str | None) -> list[FieldError]:
    """ByUsernames_2024_09_04.usernames: split on commas, IsArray, ArrayMinSize(2), IsString each.

    Decorators run bottom-up, so the constraints are listed IsString, ArrayMinSize, IsArray.
    """
    if raw is None:
        constraints = (
            "each value in usernames must be a string",
            "The array must contain at least 2 elements.",
            "usernames must be an array",
        )
        return [FieldError("usernames", constraints)]
    if len(raw.split(",")) < 2:
        return [FieldError("usernames", ("The array must contain at least 2 elements.",))]
    return []


def _own_errors(query: Mapping[str, str], props: tuple[str, ...]) -> list[FieldError]:
    """Errors of the chosen class's own properties, reported before the inherited ones."""
    if props is BY_ID:
        return _int_param_errors(query, ("eventTypeId",), NOT_A_NUMBER)
    if props is BY_USERNAMES:
        errors = _usernames_errors(query.get("usernames"))
        if query.get("organizationSlug") is None:
            errors.append(FieldError("organizationSlug", ("organizationSlug must be a string",)))
        return errors
    return []


def _rr_host_subset_ids(raw: str | None) -> tuple[int | None, ...] | None:
    """rrHostSubsetIds (hidden in the docs, accepted): comma-split, each parseInt'ed."""
    return None if raw is None else tuple(parse_int_param(part) for part in raw.split(","))


def _common_errors(query: Mapping[str, str]) -> list[FieldError]:
    """Errors of GetAvailableSlotsInput_2024_09_04's properties, in its declaration order."""
    errors = [error for name in ("start", "end") if (error := instant_error(name, query.get(name)))]
    zone_name = query.get("timeZone")
    if zone_name is not None and not is_valid_zone(zone_name):
        errors.append(FieldError("timeZone", ("timeZone must be a valid IANA time-zone",)))
    errors.extend(_int_param_errors(query, ("duration",), NOT_A_NUMBER))
    errors.extend(_duration_errors(query))
    if _slot_format(query) not in (None, "time", "range"):
        errors.append(FieldError("format", (INVALID_FORMAT,)))
    if None in (_rr_host_subset_ids(query.get("rrHostSubsetIds")) or ()):
        errors.append(FieldError("rrHostSubsetIds", (f"each value in rrHostSubsetIds {NOT_A_NUMBER}",)))
    return errors


def _slot_format(query: Mapping[str, str]) -> str | None:
    """get-slots.input.ts:70-73: an empty format is no format; any other is lowercased before IsEnum."""
    raw = query.get("format")
    return raw.lower() if raw else None


def parse_slots_query(query: Mapping[str, str]) -> SlotsQuery:
    """Validate a 2024-09-04 slots query as GetSlotsInputPipe does; BadRequest with its formatErrors text.

    The pipe validates with forbidNonWhitelisted against the one input class it picks
    (get-slots-input.pipe.ts:35-131), so eventTypeId together with username is refused.
    """
    props = input_class(query)
    errors = unknown_properties(query, props + COMMON_PARAMS)
    errors.extend(_own_errors(query, props))
    errors.extend(_common_errors(query))
    raise_if_errors(errors)
    start = adjust_start(parse_instant(query["start"]))
    # An end before the start is no error: Cal.com's "Invalid time range given" is thrown only for an
    # unparseable date (getUserAvailability.ts:721-723); the answer is empty (golden slots-bad-input).
    end = adjust_end(parse_instant(query["end"]))
    ids = _rr_host_subset_ids(query.get("rrHostSubsetIds"))
    return SlotsQuery(
        start=start,
        end=end,
        event_type_id=_optional_int(query, "eventTypeId"),
        time_zone=query.get("timeZone"),
        duration=_optional_int(query, "duration"),
        format="range" if _slot_format(query) == "range" else "time",
        booking_uid_to_reschedule=query.get("bookingUidToReschedule"),
        event_type_slug=query.get("eventTypeSlug"),
        username=query.get("username"),
        rr_host_subset_ids=None if ids is None else tuple(i for i in ids if i is not None),
    )


def slots_data(
    starts: Iterable[datetime], query: SlotsQuery, length_minutes: int
) -> dict[str, list[dict[str, str]]]:
    """The `data` object of GET /v2/slots: slots inside the window, keyed by date in query.time_zone."""
    days: dict[str, list[dict[str, str]]] = {}
    length = timedelta(minutes=length_minutes)
    for start in sorted(starts):
        if not in_window(start, length, query.start, query.end):
            continue
        slot = {"start": format_in_zone(start, query.time_zone)}
        if query.format == "range":
            slot["end"] = format_in_zone(start + length, query.time_zone)
        # Only days that get a slot appear, so empty days are omitted.
        days.setdefault(date_key(start, query.time_zone), []).append(slot)
    return days


# Legacy GET /v2/slots/available (versions 2024-04-15 .. 2024-08-13). Its global ValidationPipe drops
# unknown parameters instead of refusing them.
LEGACY_NOT_AN_INT = "must be an integer number"
NO_EVENT_TYPE = (
    "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug or usernames must be provided"
)


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
    errors.extend(_int_param_errors(query, ("eventTypeId", "duration"), LEGACY_NOT_AN_INT))
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
        if not in_window(start, length, query.start, query.end):
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
