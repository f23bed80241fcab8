"""GET /v2/slots query rules read from Cal.com's source (upstream dd7b6477), on the shared wire code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proxy.calcom.errors import BadRequest
from proxy.calcom.slots import in_window, parse_slots_query, slots_data

BASE = {"start": "2050-09-05", "end": "2050-09-06", "eventTypeId": "1001"}
NOT_A_NUMBER = "must be a number conforming to the specified constraints"


def _message(query: dict[str, str]) -> str:
    with pytest.raises(BadRequest) as caught:
        parse_slots_query(query)
    return caught.value.message


@pytest.mark.parametrize(
    "end",
    [
        "2050-09-06",
        "2050-09-06T00:00:00Z",
        "2050-09-06T00:00:00.000Z",
        "2050-09-06T02:00:00+02:00",
        "2050-09-05T20:00:00-04:00",
    ],
)
def test_any_end_at_utc_midnight_means_the_end_of_that_day(end: str) -> None:
    """slots-input.service.ts:175-179 (adjustEndTime): ANY end at 00:00:00 UTC becomes 23:59:59 of that day.

    Luxon's DateTime.fromISO(end, {zone: "utc"}) reads the instant in UTC, so an offset that lands on UTC
    midnight counts too; a bare date is only one case of it.
    """
    assert parse_slots_query({**BASE, "end": end}).end == datetime(2050, 9, 6, 23, 59, 59, tzinfo=UTC)


def test_end_at_utc_midnight_keeps_its_milliseconds_and_other_ends_stay() -> None:
    """slots-input.service.ts:175-179: Luxon's set({hour, minute, second}) leaves the milliseconds alone."""
    query = parse_slots_query({**BASE, "end": "2050-09-06T00:00:00.500Z"})
    assert query.end == datetime(2050, 9, 6, 23, 59, 59, 500_000, tzinfo=UTC)
    query = parse_slots_query({**BASE, "end": "2050-09-06T00:00:01Z"})
    assert query.end == datetime(2050, 9, 6, 0, 0, 1, tzinfo=UTC)


def test_slots_ending_after_end_are_dropped() -> None:
    """features/schedules/lib/date-ranges.ts:76-77 clips every date range at dateTo, and
    features/schedules/lib/slots.ts:178 keeps a slot while `start + length - 1 s` is not after the range
    end: a slot must END by `end` (a slot merely starting before it is not offered)."""
    start = datetime(2050, 9, 5, 9, tzinfo=UTC)
    length = timedelta(minutes=60)
    window_start = start
    assert in_window(start, length, window_start, start + length)
    assert in_window(start, length, window_start, start + length - timedelta(seconds=1))
    assert not in_window(start, length, window_start, start + length - timedelta(seconds=1, microseconds=1))
    assert not in_window(start, length, window_start, start + timedelta(minutes=30))
    assert not in_window(start - timedelta(minutes=15), length, window_start, start + 2 * length)
    query = parse_slots_query({**BASE, "start": "2050-09-05T09:00:00Z", "end": "2050-09-05T10:30:00Z"})
    starts = [start + timedelta(minutes=15 * k) for k in range(8)]
    assert slots_data(starts, query, 60) == {
        "2050-09-05": [
            {"start": "2050-09-05T09:00:00.000Z"},
            {"start": "2050-09-05T09:15:00.000Z"},
            {"start": "2050-09-05T09:30:00.000Z"},
        ]
    }


@pytest.mark.parametrize("value", ["RANGE", "Range", "range"])
def test_get_slots_input_pipe_lowercases_format(value: str) -> None:
    """get-slots.input.ts:70-73: format's Transform lowercases it before IsEnum checks it."""
    assert parse_slots_query({**BASE, "format": value}).format == "range"
    assert parse_slots_query({**BASE, "format": "TIME"}).format == "time"
    # `if (!value) return undefined`: an empty format is no format.
    assert parse_slots_query({**BASE, "format": ""}).format == "time"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"format": "List"},
            "format property is wrong,slotFormat must be either 'range' or 'time' ",
        ),
        (
            {"username": "berlin-host"},
            "username property is wrong,property username should not exist ",
        ),
        (
            {"eventTypeSlug": "consultation-30", "teamSlug": "t"},
            "eventTypeSlug property is wrong,property eventTypeSlug should not exist , "
            "teamSlug property is wrong,property teamSlug should not exist ",
        ),
        ({"eventTypeId": "abc"}, f"eventTypeId property is wrong,eventTypeId {NOT_A_NUMBER} "),
        ({"eventTypeId": ""}, f"eventTypeId property is wrong,eventTypeId {NOT_A_NUMBER} "),
        ({"duration": "abc"}, f"duration property is wrong,duration {NOT_A_NUMBER} "),
        ({"duration": ""}, f"duration property is wrong,duration {NOT_A_NUMBER} "),
        (
            {"rrHostSubsetIds": "1,x"},
            f"rrHostSubsetIds property is wrong,each value in rrHostSubsetIds {NOT_A_NUMBER} ",
        ),
        (
            # Unknown keys first, then the subclass's own properties, then the inherited ones.
            {"x": "1", "start": "nope", "eventTypeId": "abc", "format": "list"},
            "x property is wrong,property x should not exist , "
            f"eventTypeId property is wrong,eventTypeId {NOT_A_NUMBER} , "
            "start property is wrong,start must be a valid ISO 8601 date string , "
            "format property is wrong,slotFormat must be either 'range' or 'time' ",
        ),
    ],
)
def test_get_slots_input_pipe_messages(changes: dict[str, str], message: str) -> None:
    """get-slots-input.pipe.ts:35-131: the input class is chosen by which keys are present (eventTypeId
    first), validated with whitelist + forbidNonWhitelisted, and refused with BadRequestException(
    formatErrors(errors)); get-slots.input.ts:55-57,119-120: parseInt + IsNumber's default message."""
    assert _message({**BASE, **changes}) == message


def test_get_slots_input_pipe_by_usernames() -> None:
    """get-slots-input.pipe.ts:55 falls back to ByUsernames_2024_09_04 (get-slots.input.ts:196-227): without
    eventTypeId or a slug pair, usernames (2+) and organizationSlug are required. Cal.com has no "Either
    eventTypeId or ..." message for slots."""
    query = {"start": "2050-09-05", "end": "2050-09-06"}
    assert _message(query) == (
        "usernames property is wrong,each value in usernames must be a string, The array must contain at "
        "least 2 elements., usernames must be an array , "
        "organizationSlug property is wrong,organizationSlug must be a string "
    )
    assert _message({**query, "usernames": "alice", "organizationSlug": "org"}) == (
        "usernames property is wrong,The array must contain at least 2 elements. "
    )
    # eventTypeSlug alone is not a class of its own: it is an unknown key of ByUsernames.
    assert _message({**query, "usernames": "a,b", "organizationSlug": "o", "eventTypeSlug": "s"}) == (
        "eventTypeSlug property is wrong,property eventTypeSlug should not exist "
    )
    assert parse_slots_query({**query, "usernames": "a,b", "organizationSlug": "o"}).event_type_id is None


def test_get_slots_input_pipe_accepts_rr_host_subset_ids() -> None:
    """get-slots.input.ts:92-111: rrHostSubsetIds is hidden from the docs but declared, so accepted."""
    query = parse_slots_query({**BASE, "rrHostSubsetIds": "1, 2"})
    assert query.rr_host_subset_ids == (1, 2)
