"""Plan digest: one seed, one population and arrival schedule, one digest, whatever the day or dict order."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from proxy.loadtest.config import LoadConfig
from proxy.loadtest.plan import DIGEST_HEX, canonical_json, canonical_plan, digest_of, plan_digest
from proxy.loadtest.population import booking_days, generate, outside_schedule
from proxy.loadtest.session import build_world, world_digest

ZONES = {1001: "Europe/Berlin", 2001: "America/New_York"}
MONDAY = date(2026, 11, 23)
CONFIG = LoadConfig(callers=120, seed=7, event_types=(1001, 1002), days=4, outside_per_min=3.0)
# The digest of CONFIG's world, pinned: a change means the same seed now plays a different population or
# schedule (a new draw order, a new canonical form). Update it deliberately, and say so in the changelog.
PINNED = "f762c78a1bad853c"


def _digest(seed: int, zones: dict[int, str] = ZONES, today: date = MONDAY) -> str:
    days = booking_days(today, 5)
    population = generate(
        seed=seed,
        callers=150,
        event_types=(1001, 2001),
        zones=zones,
        days=days,
        arrival_window_s=600,
        think_median_s=14,
        think_max_s=60,
    )
    return plan_digest(population, days, outside_schedule(seed, 2.0, 600))


def test_same_seed_gives_the_same_population_schedule_and_digest() -> None:
    first, second = build_world(CONFIG, MONDAY), build_world(CONFIG, MONDAY)
    assert list(first.population) == list(second.population)
    assert list(first.outside_s) == list(second.outside_s) and len(first.outside_s) > 0
    assert world_digest(first) == world_digest(second)
    assert len(world_digest(first)) == DIGEST_HEX
    assert int(world_digest(first), 16) >= 0


def test_a_different_seed_gives_a_different_digest() -> None:
    other = dataclasses.replace(CONFIG, seed=8)
    assert world_digest(build_world(CONFIG, MONDAY)) != world_digest(build_world(other, MONDAY))
    assert _digest(3) != _digest(4)


def test_options_that_shape_the_population_change_the_digest_but_time_scale_does_not() -> None:
    base = world_digest(build_world(CONFIG, MONDAY))
    assert world_digest(build_world(dataclasses.replace(CONFIG, callers=121), MONDAY)) != base
    assert world_digest(build_world(dataclasses.replace(CONFIG, outside_per_min=4.0), MONDAY)) != base
    # Wall-clock pacing is not part of the plan: a slower replay of the same callers keeps its digest.
    assert world_digest(build_world(dataclasses.replace(CONFIG, time_scale=0.5), MONDAY)) == base


def test_the_digest_does_not_depend_on_the_day_the_run_starts() -> None:
    today, later = build_world(CONFIG, MONDAY), build_world(CONFIG, date(2027, 3, 24))
    # Absolute dates move with the calendar (even across a DST change); the seeded draws do not.
    assert list(today.days) != list(later.days)
    assert [c.wanted for c in today.population] != [c.wanted for c in later.population]
    assert world_digest(today) == world_digest(later)
    assert _digest(5, today=MONDAY) == _digest(5, today=date(2026, 6, 1))


def test_the_digest_does_not_depend_on_dict_order() -> None:
    assert _digest(5, zones=dict(reversed(list(ZONES.items())))) == _digest(5)
    plan = canonical_plan(build_world(CONFIG, MONDAY).population, booking_days(MONDAY, 4), [1.5, 2.25])
    reordered: dict[str, Any] = {
        "outsideArrivalsS": plan["outsideArrivalsS"],
        "callers": [dict(reversed(list(c.items()))) for c in plan["callers"]],
    }
    assert canonical_json(reordered) == canonical_json(plan)
    assert digest_of(reordered) == digest_of(plan)


def test_the_plan_is_in_index_order_whatever_order_it_is_given_in() -> None:
    world = build_world(CONFIG, MONDAY)
    shuffled = list(reversed(list(world.population)))
    assert plan_digest(shuffled, world.days, world.outside_s) == world_digest(world)


def test_the_canonical_plan_names_days_by_position_and_times_locally() -> None:
    world = build_world(CONFIG, MONDAY)
    plan = canonical_plan(world.population, world.days, world.outside_s)
    first = plan["callers"][0]
    assert set(first) == {"index", "arrivalS", "eventTypeId", "zone", "day", "localTime", "thinkS"}
    assert all(0 <= c["day"] < 4 for c in plan["callers"])
    assert all(9 <= int(c["localTime"][:2]) <= 16 for c in plan["callers"])
    assert len(plan["outsideArrivalsS"]) == len(world.outside_s)


def test_the_digest_of_a_known_seed_is_pinned() -> None:
    assert world_digest(build_world(CONFIG, MONDAY)) == PINNED
