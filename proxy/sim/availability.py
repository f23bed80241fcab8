"""Pure slot arithmetic: working hours in the host's zone, the slot grid, notice and busy intervals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from proxy.calcom.slots import in_window
from proxy.sim.seed import WeeklyHours

Interval = tuple[datetime, datetime]
# Slot generation never looks further than this many days, so a huge query range stays cheap.
MAX_DAYS = 800


def _local_instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    # Wall-clock arithmetic: 24:00 is the next local midnight. A wall time inside a DST gap resolves with
    # fold=0, i.e. with the offset in force before the transition (PEP 495).
    wall = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)
    return wall.astimezone(UTC)


def working_intervals(day: date, hours: WeeklyHours, tz: ZoneInfo) -> list[Interval]:
    """The UTC intervals a host works on local calendar day `day`."""
    return [
        (_local_instant(day, start, tz), _local_instant(day, end, tz))
        for start, end in hours.get(day.weekday(), ())
    ]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last and (day - first).days <= MAX_DAYS:
        yield day
        day += timedelta(days=1)


def grid_starts(
    window_start: datetime, window_end: datetime, hours: WeeklyHours, tz: ZoneInfo, length: int, interval: int
) -> list[datetime]:
    """Every grid start whose slot fits its working interval, for local days touching the window.

    Starts are the interval's start plus k * `interval` minutes of elapsed time, so on DST days the grid
    keeps running through the transition instead of repeating or skipping wall-clock times.
    """
    starts: list[datetime] = []
    step, span = timedelta(minutes=interval), timedelta(minutes=length)
    first = window_start.astimezone(tz).date() - timedelta(days=1)
    last = window_end.astimezone(tz).date() + timedelta(days=1)
    for day in _days(first, last):
        for begin, end in working_intervals(day, hours, tz):
            start = begin
            while start + span <= end:
                starts.append(start)
                start += step
    return starts


def overlaps(start: datetime, end: datetime, busy: Sequence[Interval]) -> bool:
    """True if [start, end) intersects any busy interval."""
    return any(start < busy_end and busy_start < end for busy_start, busy_end in busy)


def free_starts(
    *,
    hours: WeeklyHours,
    tz: ZoneInfo,
    length: int,
    interval: int,
    window_start: datetime,
    window_end: datetime,
    earliest: datetime,
    busy: Sequence[Interval],
) -> list[datetime]:
    """Grid starts of slots inside [window_start, window_end], not before `earliest`, clear of busy intervals.

    A slot must END by `window_end`: Cal.com clips date ranges at dateTo
    (features/schedules/lib/date-ranges.ts:76-77) and keeps a slot while its end minus one second is not
    after the range end (features/schedules/lib/slots.ts:178).
    """
    span = timedelta(minutes=length)
    low = max(window_start, earliest)
    # Bound the work (and stay clear of datetime.max) whatever range the caller asked for.
    window_end = min(window_end, low + timedelta(days=MAX_DAYS))
    if window_end < low:
        return []
    return [
        start
        for start in grid_starts(low, window_end, hours, tz, length, interval)
        if in_window(start, span, low, window_end) and not overlaps(start, start + span, busy)
    ]


def within_hours(start: datetime, end: datetime, hours: WeeklyHours, tz: ZoneInfo) -> bool:
    """True if [start, end] lies inside working time (adjacent intervals, e.g. across midnight, join up)."""
    try:
        first = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date() + timedelta(days=1)
    except OverflowError:
        return False  # at the edge of the calendar nobody works
    intervals = sorted(item for day in _days(first, last) for item in working_intervals(day, hours, tz))
    chain_end: datetime | None = None
    for begin, finish in intervals:
        if chain_end is not None and begin <= chain_end:
            chain_end = max(chain_end, finish)
        elif begin <= start:
            chain_end = finish
        else:
            break
        if chain_end >= end:
            return True
    return False
