"""Pure slot arithmetic: overlap, hold filtering, grids, exact-instant verdicts, alternatives."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.slotmath import (
    DAY_MS,
    Busy,
    Reason,
    classify,
    free_starts,
    infer_grid,
    nearest,
    overlaps,
    utc_days,
)

M = 60_000
BASE = 1_900_000_000_000 - 1_900_000_000_000 % DAY_MS  # a UTC midnight in 2030
NINE = BASE + 9 * 60 * M


def grid_starts(step_min: int, count: int, first: int = NINE) -> list[int]:
    return [first + i * step_min * M for i in range(count)]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 10), (10, 20), False),  # touching ends do not overlap
        ((0, 10), (9, 20), True),
        ((5, 6), (0, 10), True),
        ((0, 10), (0, 10), True),
        ((0, 10), (-5, 0), False),
        ((0, 10), (-5, 1), True),
    ],
)
def test_overlaps_is_half_open(a: tuple[int, int], b: tuple[int, int], expected: bool) -> None:
    assert overlaps(*a, *b) is expected
    assert overlaps(*b, *a) is expected


def test_a_held_hour_hides_every_overlapping_quarter() -> None:
    starts = grid_starts(15, 32)  # 09:00..16:45, 60-minute slots every 15 minutes
    held = Busy(NINE + 4 * 60 * M, NINE + 5 * 60 * M, 0, False)  # 13:00-14:00
    free = free_starts(starts, 60 * M, [held])
    hidden = sorted(set(starts) - set(free))
    assert hidden == [NINE + (3 * 60 + q) * M for q in (15, 30, 45)] + [
        NINE + (4 * 60 + q) * M for q in (0, 15, 30, 45)
    ]


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8)), max_size=6),
    st.sampled_from([15, 30, 60]),
)
def test_free_starts_matches_brute_force(holds: list[tuple[int, int]], length_min: int) -> None:
    starts = grid_starts(15, 32)
    busy = [Busy(NINE + s * 15 * M, NINE + (s + d) * 15 * M, 0, False) for s, d in holds]
    expected = [
        s for s in starts if not any(overlaps(s, s + length_min * M, b.start_ms, b.end_ms) for b in busy)
    ]
    assert free_starts(starts, length_min * M, busy) == expected


@pytest.mark.parametrize("step", [5, 15, 30, 45, 60])
def test_infer_grid_finds_the_interval_despite_gaps(step: int) -> None:
    starts = grid_starts(step, 12)
    with_gaps = [s for i, s in enumerate(starts) if i % 3 != 1]
    grid = infer_grid(with_gaps)
    assert grid is not None and grid.interval_ms == step * M
    assert all(grid.contains(s) for s in starts)
    assert not grid.contains(starts[0] + M)


def test_infer_grid_needs_two_slots() -> None:
    assert infer_grid([NINE]) is None


def classify_at(start: int, *, busy: list[Busy] | None = None, now: int = BASE) -> Reason | None:
    starts = grid_starts(30, 16)
    return classify(
        start, 30 * M, snapshot_starts=starts, busy=busy or [], grid=infer_grid(starts), now_ms=now
    ).reason


def test_classify_covers_every_reason() -> None:
    thirteen = NINE + 4 * 60 * M
    assert classify_at(thirteen) is None
    assert classify_at(thirteen + 10 * M) is Reason.NOT_A_SLOT  # the incident's 13:10 on a 30-minute grid
    assert classify_at(thirteen, busy=[Busy(thirteen, thirteen + 30 * M, 99, False)]) is Reason.HELD
    assert classify_at(thirteen, busy=[Busy(thirteen, thirteen + 30 * M, 99, True)]) is Reason.BOOKED
    assert classify_at(thirteen, now=thirteen) is Reason.OUTSIDE_WINDOW
    assert classify_at(NINE - 60 * M) is Reason.OUTSIDE_WINDOW  # 08:00, before the day's first slot
    assert classify_at(NINE + 9 * 60 * M) is Reason.OUTSIDE_WINDOW  # 18:00, after the last


def test_a_booked_afternoon_is_booked_not_outside_the_window() -> None:
    # The load test's caller 58: every slot after 14:00 taken, 15:30 asked for.
    tomorrow = [s + DAY_MS for s in grid_starts(30, 16)]
    today = [s for s in grid_starts(30, 16) if s < NINE + 5 * 60 * M]
    starts = today + tomorrow
    verdict = classify(
        NINE + 6 * 60 * M + 30 * M,
        30 * M,
        snapshot_starts=starts,
        busy=[],
        grid=infer_grid(starts),
        now_ms=BASE,
    )
    assert verdict.reason is Reason.BOOKED
    saturday = NINE + 2 * DAY_MS + 60 * M
    assert classify(saturday, 30 * M, snapshot_starts=starts, busy=[], grid=None, now_ms=BASE).reason is (
        Reason.OUTSIDE_WINDOW
    )


def test_a_missing_on_grid_slot_within_the_day_is_booked() -> None:
    starts = [s for s in grid_starts(30, 16) if s != NINE + 4 * 60 * M]
    verdict = classify(
        NINE + 4 * 60 * M, 30 * M, snapshot_starts=starts, busy=[], grid=infer_grid(starts), now_ms=BASE
    )
    assert verdict.reason is Reason.BOOKED


def test_held_verdict_says_when_it_frees_up() -> None:
    thirteen = NINE + 4 * 60 * M
    busy = [
        Busy(thirteen - 15 * M, thirteen + 15 * M, 111, False),
        Busy(thirteen + 15 * M, thirteen + 45 * M, 222, False),
    ]
    starts = grid_starts(30, 16)
    verdict = classify(thirteen, 30 * M, snapshot_starts=starts, busy=busy, grid=None, now_ms=BASE)
    assert verdict.reason is Reason.HELD and verdict.blocked_until_ms == 222


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, []), (1, [60]), (2, [60, 120]), (3, [0, 60, 120]), (9, [0, 60, 120, 180, 240])],
)
def test_nearest_prefers_closest_then_earlier(n: int, expected: list[int]) -> None:
    free = [0, 60, 120, 180, 240]
    assert nearest(free, 90, n) == expected


def test_nearest_excludes_the_request_itself() -> None:
    assert nearest([0, 30, 60], 30, 2, exclude=[30]) == [0, 60]


@given(st.lists(st.integers(0, 10_000), unique=True), st.integers(0, 10_000), st.integers(0, 12))
def test_nearest_is_the_n_smallest_distances(free: list[int], target: int, n: int) -> None:
    picked = nearest(free, target, n)
    assert picked == sorted(picked) and len(picked) == min(n, len(free))
    if picked and len(free) > len(picked):
        worst = max(abs(p - target) for p in picked)
        assert all(abs(f - target) >= worst for f in set(free) - set(picked))


def test_utc_days_covers_a_closed_window() -> None:
    assert utc_days(BASE, BASE) == [BASE // DAY_MS]
    assert utc_days(BASE - 1, BASE + DAY_MS) == [BASE // DAY_MS - 1, BASE // DAY_MS, BASE // DAY_MS + 1]
    for a, b in itertools.combinations(range(0, 5 * DAY_MS, DAY_MS // 3), 2):
        days = utc_days(a, b)
        assert days[0] == a // DAY_MS and days[-1] == b // DAY_MS
