from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from proxy.sim.availability import free_starts, grid_starts, within_hours
from proxy.sim.seed import WeeklyHours


def _every_day(start_min: int, end_min: int) -> WeeklyHours:
    return {day: ((start_min, end_min),) for day in range(7)}


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _series(first: datetime, count: int, step_min: int) -> list[datetime]:
    return [first + timedelta(minutes=step_min * k) for k in range(count)]


WORKWEEK: WeeklyHours = {day: ((9 * 60, 17 * 60),) for day in range(5)}


@pytest.mark.parametrize(
    ("zone", "day", "hours", "expected"),
    [
        # Berlin spring forward 2027-03-28 02:00 CET -> 03:00 CEST: 01:00-04:00 local is two real hours.
        ("Europe/Berlin", (2027, 3, 28), (60, 240), _series(_utc(2027, 3, 28, 0), 4, 30)),
        # Berlin fall back 2026-10-25 03:00 CEST -> 02:00 CET: 01:00-04:00 local is four real hours.
        ("Europe/Berlin", (2026, 10, 25), (60, 240), _series(_utc(2026, 10, 24, 23), 8, 30)),
        # Berlin fall back 2027-10-31, same shape.
        ("Europe/Berlin", (2027, 10, 31), (60, 240), _series(_utc(2027, 10, 30, 23), 8, 30)),
        # New York fall back 2026-11-01 02:00 EDT -> 01:00 EST: 00:00-03:00 local is four real hours.
        ("America/New_York", (2026, 11, 1), (0, 180), _series(_utc(2026, 11, 1, 4), 8, 30)),
        # New York spring forward 2027-03-14 02:00 EST -> 03:00 EDT: 00:00-04:00 local is three real hours.
        ("America/New_York", (2027, 3, 14), (0, 240), _series(_utc(2027, 3, 14, 5), 6, 30)),
        # Whole-day hours on the Berlin spring day: 23 real hours, 46 half-hour slots from 23:00Z.
        ("Europe/Berlin", (2027, 3, 28), (0, 1440), _series(_utc(2027, 3, 27, 23), 46, 30)),
        # ... and 25 real hours on the fall-back day.
        ("Europe/Berlin", (2026, 10, 25), (0, 1440), _series(_utc(2026, 10, 24, 22), 50, 30)),
    ],
)
def test_dst_transition_days(
    zone: str, day: tuple[int, int, int], hours: tuple[int, int], expected: list[datetime]
) -> None:
    tz = ZoneInfo(zone)
    local_midnight = datetime(*day, tzinfo=tz)
    window_start = local_midnight.astimezone(UTC)
    window_end = (local_midnight + timedelta(days=1)).astimezone(UTC) - timedelta(seconds=1)
    starts = free_starts(
        hours=_every_day(*hours),
        tz=tz,
        length=30,
        interval=30,
        window_start=window_start,
        window_end=window_end,
        earliest=_utc(2000, 1, 1),
        busy=[],
    )
    assert starts == expected


@pytest.mark.parametrize(
    ("zone", "day", "first_utc"),
    [
        ("Europe/Berlin", (2027, 3, 26), _utc(2027, 3, 26, 8)),  # Friday before: CET, 09:00 = 08:00Z
        ("Europe/Berlin", (2027, 3, 29), _utc(2027, 3, 29, 7)),  # Monday after: CEST, 09:00 = 07:00Z
        ("Europe/Berlin", (2026, 10, 23), _utc(2026, 10, 23, 7)),
        ("Europe/Berlin", (2026, 10, 26), _utc(2026, 10, 26, 8)),
        ("America/New_York", (2026, 10, 30), _utc(2026, 10, 30, 13)),
        ("America/New_York", (2026, 11, 2), _utc(2026, 11, 2, 14)),
        ("America/New_York", (2027, 3, 12), _utc(2027, 3, 12, 14)),
        ("America/New_York", (2027, 3, 15), _utc(2027, 3, 15, 13)),
    ],
)
def test_weekdays_around_dst_follow_local_nine_to_five(
    zone: str, day: tuple[int, int, int], first_utc: datetime
) -> None:
    tz = ZoneInfo(zone)
    start = datetime(*day, tzinfo=tz).astimezone(UTC)
    starts = grid_starts(start, start + timedelta(hours=23), WORKWEEK, tz, 60, 15)
    same_day = [s for s in starts if s.astimezone(tz).date() == datetime(*day).date()]
    # 09:00..16:00 local every 15 minutes: 29 starts, the last ending exactly at 17:00 local.
    assert same_day == _series(first_utc, 29, 15)


def test_weekend_has_no_slots_on_default_hours() -> None:
    tz = ZoneInfo("Europe/Berlin")
    saturday = datetime(2030, 9, 7, tzinfo=tz).astimezone(UTC)
    starts = free_starts(
        hours=WORKWEEK,
        tz=tz,
        length=30,
        interval=30,
        window_start=saturday,
        window_end=saturday + timedelta(hours=47),
        earliest=saturday,
        busy=[],
    )
    assert starts == []


def test_busy_intervals_and_notice_remove_overlapping_starts() -> None:
    tz = ZoneInfo("Europe/Berlin")
    monday = _utc(2030, 9, 2)
    busy = [(_utc(2030, 9, 2, 8, 10), _utc(2030, 9, 2, 8, 20))]
    starts = free_starts(
        hours=WORKWEEK,
        tz=tz,
        length=60,
        interval=15,
        window_start=monday,
        # The 10:00 slot is the last one that ends by the window's end.
        window_end=_utc(2030, 9, 2, 11),
        earliest=_utc(2030, 9, 2, 7, 15),
        busy=busy,
    )
    # 07:00 is before notice; 07:15..08:15 overlap 08:10-08:20 with a 60-minute slot; 08:30 onwards free.
    assert starts == _series(_utc(2030, 9, 2, 8, 30), 7, 15)


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        (_utc(2030, 9, 2, 7), _utc(2030, 9, 2, 15), True),
        (_utc(2030, 9, 2, 7, 7), _utc(2030, 9, 2, 7, 37), True),
        (_utc(2030, 9, 2, 6, 59), _utc(2030, 9, 2, 7, 29), False),
        (_utc(2030, 9, 2, 14, 45), _utc(2030, 9, 2, 15, 15), False),
        (_utc(2030, 9, 7, 9), _utc(2030, 9, 7, 9, 30), False),
    ],
)
def test_within_hours(start: datetime, end: datetime, inside: bool) -> None:
    assert within_hours(start, end, WORKWEEK, ZoneInfo("Europe/Berlin")) is inside


def test_within_hours_joins_midnight() -> None:
    tz = ZoneInfo("UTC")
    assert within_hours(_utc(2030, 9, 2, 23, 30), _utc(2030, 9, 3, 0, 30), _every_day(0, 1440), tz)
