from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proxy.calcom.errors import BadRequest
from proxy.calcom.slots import (
    INVALID_FORMAT,
    available_data,
    parse_available_query,
    parse_slots_query,
    slots_data,
)

BASE = {"start": "2050-09-05", "end": "2050-09-06", "eventTypeId": "1001"}


def test_bare_dates_cover_whole_utc_days() -> None:
    query = parse_slots_query(BASE)
    assert query.start == datetime(2050, 9, 5, tzinfo=UTC)
    assert query.end == datetime(2050, 9, 6, 23, 59, 59, tzinfo=UTC)
    assert query.format == "time" and query.time_zone is None and query.event_type_id == 1001


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"foo": "1"}, "foo property is wrong,property foo should not exist "),
        ({"start": "2050-02-30"}, "start property is wrong,start must be a valid ISO 8601 date string "),
        ({"timeZone": "Nowhere/City"}, "timeZone property is wrong,timeZone must be a valid IANA time-zone "),
        (
            {"eventTypeId": "abc"},
            "eventTypeId property is wrong,eventTypeId must be a number conforming to the specified "
            "constraints ",
        ),
        ({"format": "list"}, "format property is wrong," + INVALID_FORMAT + " "),
    ],
)
def test_slots_query_errors(changes: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_slots_query({**BASE, **changes})
    assert info.value.message == message


def test_an_end_before_the_start_is_no_error() -> None:
    """Cal.com throws "Invalid time range given" only for an unparseable date (getUserAvailability.ts:
    721-723); the real Cal.com answered a reversed range with empty data (golden
    slots-bad-input/end-before-start)."""
    query = parse_slots_query({**BASE, "start": "2050-09-07", "end": "2050-09-06"})
    assert query.end < query.start


def test_missing_start_is_reported() -> None:
    with pytest.raises(BadRequest) as info:
        parse_slots_query({"end": "2050-09-06", "eventTypeId": "1"})
    assert info.value.message == "start property is wrong,start must be a valid ISO 8601 date string "


def test_slots_data_groups_by_zone_date_window_and_range() -> None:
    query = parse_slots_query(
        {
            "start": "2050-09-05T21:30:00Z",
            "end": "2050-09-05T23:00:00Z",
            "eventTypeId": "1",
            "timeZone": "Europe/Berlin",
            "format": "range",
        }
    )
    starts = [datetime(2050, 9, 5, 21, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(6)]
    data = slots_data(reversed(starts), query, 30)
    # 21:00Z is before the window; the 22:30Z slot ends at the inclusive end; 23:00Z ends after it.
    assert data == {
        "2050-09-05": [{"start": "2050-09-05T23:30:00.000+02:00", "end": "2050-09-06T00:00:00.000+02:00"}],
        "2050-09-06": [
            {"start": "2050-09-06T00:00:00.000+02:00", "end": "2050-09-06T00:30:00.000+02:00"},
            {"start": "2050-09-06T00:30:00.000+02:00", "end": "2050-09-06T01:00:00.000+02:00"},
        ],
    }


def test_slots_data_without_zone_is_utc_and_empty_is_empty() -> None:
    query = parse_slots_query(BASE)
    assert slots_data([datetime(2050, 9, 5, 7, tzinfo=UTC)], query, 30) == {
        "2050-09-05": [{"start": "2050-09-05T07:00:00.000Z"}]
    }
    assert slots_data([], query, 30) == {}


def test_available_legacy_shapes() -> None:
    query = parse_available_query(
        {"startTime": "2050-09-05", "endTime": "2050-09-06", "eventTypeId": "1", "x": "y"}
    )
    start = datetime(2050, 9, 5, 7, tzinfo=UTC)
    assert available_data([start], query, 30) == {
        "slots": {"2050-09-05": [{"time": "2050-09-05T07:00:00.000Z"}]}
    }
    ranged = parse_available_query(
        {
            "startTime": "2050-09-05",
            "endTime": "2050-09-06",
            "eventTypeId": "1",
            "slotFormat": "range",
            "timeZone": "America/New_York",
        }
    )
    assert available_data([start], ranged, 30) == {
        "slots": {
            "2050-09-05": [
                {"startTime": "2050-09-05T03:00:00.000-04:00", "endTime": "2050-09-05T03:30:00.000-04:00"}
            ]
        }
    }
    with pytest.raises(BadRequest):
        parse_available_query(
            {"startTime": "2050-09-05", "endTime": "2050-09-06", "eventTypeId": "1", "slotFormat": "x"}
        )
