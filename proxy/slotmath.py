"""Pure slot arithmetic: hold filtering, exact membership, the reason a start is not free, alternatives.

All instants are integer epoch milliseconds (UTC); nothing here formats or reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

DAY_MS = 86_400_000


class Reason(StrEnum):
    """Why an exact instant cannot be offered (CONTRACT §4)."""

    BOOKED = "booked"
    HELD = "held"
    NOT_A_SLOT = "not_a_slot"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class Busy:
    """An interval that hides slots from one caller: another owner's hold, or a booked marker."""

    start_ms: int
    end_ms: int
    expires_at_ms: int
    booked: bool


@dataclass(frozen=True)
class Grid:
    """The slot grid of an event type: starts are anchor + k * interval."""

    interval_ms: int
    anchor_ms: int

    def contains(self, instant_ms: int) -> bool:
        """Whether an instant lies on the grid."""
        return (instant_ms - self.anchor_ms) % self.interval_ms == 0


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Half-open interval overlap: [a_start, a_end) and [b_start, b_end) share an instant."""
    return a_start < b_end and b_start < a_end


def blocking(busy: Iterable[Busy], start_ms: int, end_ms: int) -> list[Busy]:
    """The busy intervals overlapping one slot."""
    return [b for b in busy if overlaps(start_ms, end_ms, b.start_ms, b.end_ms)]


def free_starts(starts: Iterable[int], length_ms: int, busy: Sequence[Busy]) -> list[int]:
    """Snapshot starts minus every slot that overlaps a busy interval, in order."""
    ordered = sorted(busy, key=lambda b: b.start_ms)
    return [s for s in starts if not _hits(ordered, s, s + length_ms)]


def _hits(ordered: Sequence[Busy], start_ms: int, end_ms: int) -> bool:
    for b in ordered:
        if b.start_ms >= end_ms:
            return False
        if b.end_ms > start_ms:
            return True
    return False


def infer_grid(starts: Sequence[int]) -> Grid | None:
    """The grid a list of slot starts lies on: the gcd of their gaps, anchored at the first start."""
    ordered = sorted(set(starts))
    if len(ordered) < 2:
        return None
    interval = 0
    for a, b in zip(ordered, ordered[1:], strict=False):
        interval = math.gcd(interval, b - a)
    return Grid(interval_ms=interval, anchor_ms=ordered[0] % interval)


@dataclass(frozen=True)
class Verdict:
    """The answer for one exact instant."""

    available: bool
    reason: Reason | None
    blocked_until_ms: int | None = None


def classify(
    start_ms: int,
    length_ms: int,
    *,
    snapshot_starts: Collection[int],
    busy: Sequence[Busy],
    grid: Grid | None,
    now_ms: int,
) -> Verdict:
    """Exact-instant availability: 13:00 is available only if 13:00 itself is a free, unheld slot."""
    end_ms = start_ms + length_ms
    if start_ms <= now_ms:
        return Verdict(False, Reason.OUTSIDE_WINDOW)
    if grid is not None and not grid.contains(start_ms):
        return Verdict(False, Reason.NOT_A_SLOT)
    hits = blocking(busy, start_ms, end_ms)
    if any(b.booked for b in hits):
        return Verdict(False, Reason.BOOKED)
    if start_ms in snapshot_starts:
        if hits:
            return Verdict(False, Reason.HELD, max(b.expires_at_ms for b in hits))
        return Verdict(True, None)
    if not within_working_span(start_ms, snapshot_starts):
        return Verdict(False, Reason.OUTSIDE_WINDOW)
    return Verdict(False, Reason.BOOKED)


def within_working_span(start_ms: int, snapshot_starts: Collection[int]) -> bool:
    """Whether an on-grid start that is not free looks booked rather than outside working hours.

    The snapshot only lists free slots, so working hours are inferred: the start's UTC day must have some
    free slot, and its time of day must lie within the earliest and latest slot times seen on any day of
    the snapshot (a fully booked afternoon is "booked", a Saturday or 20:00 is "outside"). Hosts whose
    working day straddles UTC midnight get a wide span, so their off-hours read as "booked".
    """
    day = start_ms // DAY_MS
    if not any(s // DAY_MS == day for s in snapshot_starts):
        return False
    times = [s % DAY_MS for s in snapshot_starts]
    return min(times) <= start_ms % DAY_MS <= max(times)


def nearest(free: Iterable[int], target_ms: int, n: int, *, exclude: Iterable[int] = ()) -> list[int]:
    """The n free starts closest to the target (earlier first on a tie), returned in time order."""
    if n <= 0:
        return []
    excluded = set(exclude)
    candidates = sorted((s for s in set(free) if s not in excluded), key=lambda s: (abs(s - target_ms), s))
    return sorted(candidates[:n])


def utc_days(start_ms: int, end_ms: int) -> list[int]:
    """The UTC day numbers (epoch ms // DAY_MS) that a closed window touches."""
    return list(range(start_ms // DAY_MS, end_ms // DAY_MS + 1))


def bookable_days(days: Iterable[int], now_ms: int, horizon_ms: int) -> list[int]:
    """The UTC days that may hold a slot: not over by `now_ms`, not starting after `horizon_ms`.

    Cal.com offers nothing before now (its start is clamped to now plus the minimum notice) nor after its
    horizon (its end is clamped to one year from now), so the other days need neither a fetch nor a key.
    """
    return [d for d in days if (d + 1) * DAY_MS > now_ms and d * DAY_MS <= horizon_ms]
