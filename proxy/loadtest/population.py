"""The caller population: seeded, pure. Arrival times, wanted times (skewed), think times."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Relative popularity of the local hours 09..16: late morning and early afternoon are contended.
HOUR_WEIGHTS: tuple[tuple[int, float], ...] = (
    (9, 3.0),
    (10, 7.0),
    (11, 6.0),
    (12, 2.0),
    (13, 2.0),
    (14, 5.0),
    (15, 3.0),
    (16, 1.0),
)
# People mostly say "ten o'clock", sometimes "half past", rarely "quarter past".
MINUTE_WEIGHTS: tuple[tuple[int, float], ...] = ((0, 0.7), (30, 0.2), (15, 0.05), (45, 0.05))
# Lognormal spread chosen so the p99 think time is about 3x the median before the cap.
THINK_SIGMA = 0.5
THINK_MIN_S = 2.0


@dataclass(frozen=True)
class CallerSpec:
    """One simulated phone caller."""

    index: int
    arrival_s: float
    event_type_id: int
    zone: str
    wanted: datetime
    think_s: float

    @property
    def email(self) -> str:
        """The attendee email that ties ground-truth bookings back to this caller."""
        return caller_email(self.index)

    @property
    def name(self) -> str:
        """The attendee name."""
        return f"Load Caller {self.index}"


def caller_email(index: int) -> str:
    """`caller-<n>@load.test`."""
    return f"caller-{index}@load.test"


def caller_index(email: object) -> int | None:
    """Inverse of caller_email; None for anything else (e.g. the outside channel)."""
    if not isinstance(email, str) or not email.startswith("caller-") or not email.endswith("@load.test"):
        return None
    digits = email[len("caller-") : -len("@load.test")]
    return int(digits) if digits.isdigit() else None


OUTSIDE_CHANNELS = ("web", "api")


def outside_email(channel: str, n: int) -> str:
    """The attendee email of the n-th outside booking through `channel` ("web" or "api")."""
    return f"outside-{channel}-{n}@outside.test"


def outside_channel_of(email: object) -> str | None:
    """Inverse of outside_email: "web", "api", or None for anything else."""
    if not isinstance(email, str) or not email.endswith("@outside.test"):
        return None
    channel = email.removeprefix("outside-").split("-", 1)[0]
    return channel if channel in OUTSIDE_CHANNELS else None


def booking_days(today: date, count: int) -> list[date]:
    """`count` weekdays starting the Monday after next, so minimum notice never bites."""
    monday = today + timedelta(days=7 - today.weekday() + 7)
    days: list[date] = []
    day = monday
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _weighted(rng: random.Random, table: Sequence[tuple[int, float]]) -> int:
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return rng.choices(values, weights=weights, k=1)[0]


def wanted_time(rng: random.Random, days: Sequence[date], zone: str) -> datetime:
    """A local wall time on one of `days` (earlier days more popular), as a UTC instant."""
    day_weights = [1.0 / (1.0 + 0.25 * i) for i in range(len(days))]
    day = rng.choices(list(days), weights=day_weights, k=1)[0]
    hour, minute = _weighted(rng, HOUR_WEIGHTS), _weighted(rng, MINUTE_WEIGHTS)
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def think_time(rng: random.Random, median_s: float, max_s: float) -> float:
    """Lognormal around the median with a long tail, capped at max_s."""
    value = median_s * math.exp(rng.gauss(0.0, THINK_SIGMA))
    return min(max(value, min(THINK_MIN_S, max_s)), max_s)


def generate(
    *,
    seed: int,
    callers: int,
    event_types: Sequence[int],
    zones: Mapping[int, str],
    days: Sequence[date],
    arrival_window_s: float,
    think_median_s: float,
    think_max_s: float,
) -> list[CallerSpec]:
    """The same population for a given seed, ordered by arrival."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0.0, arrival_window_s) for _ in range(callers))
    population: list[CallerSpec] = []
    for index, arrival in enumerate(arrivals):
        et = rng.choice(list(event_types))
        population.append(
            CallerSpec(
                index=index,
                arrival_s=arrival,
                event_type_id=et,
                zone=zones[et],
                wanted=wanted_time(rng, days, zones[et]),
                think_s=think_time(rng, think_median_s, think_max_s),
            )
        )
    return population


def outside_schedule(seed: int, per_min: float, window_s: float) -> list[float]:
    """Poisson arrival times (simulated seconds) of outside-channel bookings."""
    if per_min <= 0:
        return []
    rng = random.Random(seed * 7919 + 1)
    times: list[float] = []
    t = rng.expovariate(per_min / 60.0)
    while t < window_s:
        times.append(t)
        t += rng.expovariate(per_min / 60.0)
    return times
