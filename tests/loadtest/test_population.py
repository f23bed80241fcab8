"""The caller population is pure and seeded."""

from __future__ import annotations

from datetime import UTC, date

from proxy.loadtest.population import (
    booking_days,
    caller_email,
    caller_index,
    generate,
    outside_schedule,
    think_time,
)

ZONES = {1001: "Europe/Berlin", 2001: "America/New_York"}


def _population(seed: int) -> list[object]:
    return list(
        generate(
            seed=seed,
            callers=200,
            event_types=(1001, 2001),
            zones=ZONES,
            days=booking_days(date(2026, 11, 21), 5),
            arrival_window_s=600,
            think_median_s=14,
            think_max_s=60,
        )
    )


def test_same_seed_same_population_and_other_seed_differs() -> None:
    assert _population(3) == _population(3)
    assert _population(3) != _population(4)


def test_booking_days_are_future_weekdays_after_a_full_week() -> None:
    days = booking_days(date(2026, 11, 21), 7)  # a Saturday
    assert days[0] == date(2026, 11, 30)
    assert len(days) == 7
    assert all(d.weekday() < 5 for d in days)
    assert days == sorted(days)


def test_callers_arrive_in_order_within_the_window_and_want_working_hours() -> None:
    population = generate(
        seed=1,
        callers=300,
        event_types=(1001,),
        zones=ZONES,
        days=booking_days(date(2026, 11, 21), 3),
        arrival_window_s=600,
        think_median_s=14,
        think_max_s=60,
    )
    arrivals = [c.arrival_s for c in population]
    assert arrivals == sorted(arrivals)
    assert all(0 <= a <= 600 for a in arrivals)
    assert [c.index for c in population] == list(range(300))
    for caller in population:
        local = caller.wanted.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert 9 <= local.hour <= 16 and local.minute in (0, 15, 30, 45)
        assert caller.wanted.tzinfo is UTC or caller.wanted.utcoffset() is not None


def test_popular_hours_are_contended() -> None:
    population = generate(
        seed=2,
        callers=2000,
        event_types=(1001,),
        zones=ZONES,
        days=booking_days(date(2026, 11, 21), 3),
        arrival_window_s=600,
        think_median_s=14,
        think_max_s=60,
    )
    hours = [c.wanted.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour for c in population]
    assert hours.count(10) > 3 * hours.count(16)


def test_think_time_is_capped_with_a_long_tail() -> None:
    import random

    rng = random.Random(5)
    values = sorted(think_time(rng, 14, 60) for _ in range(5000))
    assert max(values) <= 60
    assert 12 <= values[len(values) // 2] <= 16
    assert values[int(len(values) * 0.99)] > 30


def test_caller_email_round_trip_and_outside_is_not_a_caller() -> None:
    assert caller_index(caller_email(17)) == 17
    assert caller_index("outside-3@outside.test") is None
    assert caller_index(None) is None
    assert caller_index("caller-x@load.test") is None


def test_outside_schedule_is_seeded_and_bounded() -> None:
    first = outside_schedule(7, 6.0, 600)
    assert first == outside_schedule(7, 6.0, 600)
    assert all(0 <= t < 600 for t in first)
    assert 30 <= len(first) <= 95
    assert outside_schedule(7, 0, 600) == []
