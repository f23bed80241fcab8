"""The TTL advisor, pure: Kaplan–Meier over quote-to-commit times, a TTL trade-off table, a recommendation.

A quote-to-commit time is a survival-time observation. A hold converted by a commit is an *event* at its
age; a hold released explicitly is *censored* at its release (the caller was still undecided then); a hold
that expired unused is censored at its lifetime; a hold still live is censored at its current age. Dropping
the censored ones (as a plain percentile of booked holds does) keeps only the quick deciders and biases
every quantile low; Kaplan–Meier keeps them in the risk set for exactly as long as they were observed.

Caveat operators should know: a caller who hangs up without releasing looks undecided until the hold
expires, so the curve (and the loss share) lean long, i.e. towards a safer, longer TTL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

CANDIDATE_TTLS_S: tuple[float, ...] = (30, 45, 60, 90, 120, 180)
QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
MIN_EVENTS = 30
# A hold should outlive nearly every conversational gap: 20% over the p99, on a 5 s grid.
HEADROOM = 1.2
STEP_S = 5
# Survival values are products of fractions; compare with a tolerance so that no censoring reproduces the
# empirical (nearest-rank) quantile exactly despite rounding.
EPS = 1e-9


class Outcome(Enum):
    """How an observation ended (or that it has not yet)."""

    BOOKED = "booked"  # event: converted by a commit
    RELEASED = "released"  # censored at release
    EXPIRED = "expired"  # censored at the hold's lifetime
    OPEN = "open"  # censored at its current age (still live)


@dataclass(frozen=True)
class Observation:
    """One quoted hold: how long it was observed, and how that ended."""

    duration_s: float
    outcome: Outcome

    @property
    def event(self) -> bool:
        """True when the caller said yes (the hold became a booking)."""
        return self.outcome is Outcome.BOOKED


@dataclass(frozen=True)
class Step:
    """The curve at one distinct observed time."""

    time_s: float
    at_risk: int
    events: int
    censored: int
    survival: float  # S(t) just after this time


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan–Meier estimate of S(t) = P(quote-to-commit time > t)."""

    steps: tuple[Step, ...]

    @property
    def last_time_s(self) -> float | None:
        """The longest observed time: beyond it S is unknown unless it already reached 0."""
        return self.steps[-1].time_s if self.steps else None

    def survival_at(self, t: float) -> float | None:
        """S(t), or None when t lies beyond the data and the curve has not reached 0 (not estimable)."""
        if not self.steps:
            return None
        survival = 1.0
        for step in self.steps:
            if step.time_s > t:
                return survival
            survival = step.survival
        if survival <= EPS:
            return 0.0
        return survival if t <= self.steps[-1].time_s else None

    def quantile(self, q: float) -> float | None:
        """The smallest t with S(t) <= 1 - q, or None when the curve never gets there (not estimable)."""
        for step in self.steps:
            if step.events and step.survival <= 1 - q + EPS:
                return step.time_s
        return None


def kaplan_meier(data: Iterable[tuple[float, bool]]) -> SurvivalCurve:
    """The product-limit estimate from (duration_s, event) pairs.

    Ties: at one time, events happen before censorings, so a hold censored at t still counts as at
    risk at t (the usual convention: it was seen to survive up to t).
    """
    counts: dict[float, list[int]] = {}
    for duration, event in data:
        events_censored = counts.setdefault(float(duration), [0, 0])
        events_censored[0 if event else 1] += 1
    at_risk = sum(e + c for e, c in counts.values())
    survival = 1.0
    steps: list[Step] = []
    for time_s in sorted(counts):
        events, censored = counts[time_s]
        survival *= 1 - events / at_risk
        steps.append(Step(time_s, at_risk, events, censored, survival))
        at_risk -= events + censored
    return SurvivalCurve(tuple(steps))


def idle_slot_minutes(observations: Iterable[Observation], ttl_s: float) -> float:
    """Slot-minutes held by callers who never booked, had the TTL been ttl_s.

    Rule: a released hold would have held its slot until its release or the TTL, whichever is first; an
    expired hold held it for the whole TTL (its caller never came back). Booked and still-live holds are
    left out: the first did book, the second may yet.
    """
    total_s = 0.0
    for obs in observations:
        if obs.outcome is Outcome.RELEASED:
            total_s += min(ttl_s, obs.duration_s)
        elif obs.outcome is Outcome.EXPIRED:
            total_s += ttl_s
    return total_s / 60


def grid_ttl(raw_s: float, min_s: float, max_s: float) -> tuple[float, bool]:
    """The smallest 5 s grid TTL within [min_s, max_s] that is >= raw_s, and whether it had to be capped."""
    first = math.ceil(min_s / STEP_S) * STEP_S
    last = math.floor(max_s / STEP_S) * STEP_S
    if first > last:  # the bounds hold no grid point: the maximum is the best there is
        return max_s, raw_s > max_s
    wanted = max(first, math.ceil(raw_s / STEP_S - EPS) * STEP_S)
    return (float(wanted), False) if wanted <= last else (float(last), True)


def window_text(window_s: float) -> str:
    """A window length people read: 24 h, 90 min, 45 s."""
    if window_s % 3600 == 0:
        return f"{int(window_s // 3600)} h"
    if window_s % 60 == 0:
        return f"{int(window_s // 60)} min"
    return f"{window_s:g} s"


def iso_utc(ms: int) -> str:
    """ISO 8601 in UTC with a Z, to the second."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _number(value: float) -> int | float:
    """Whole seconds as ints in JSON (60, not 60.0)."""
    return int(value) if float(value).is_integer() else value


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Candidate:
    """One row of the trade-off table."""

    ttl_s: float
    loss_share: float | None  # share of callers who would lose the hold before saying yes; None: unknown
    idle_slot_minutes: float
    current: bool

    def as_dict(self) -> dict[str, Any]:
        """camelCase JSON."""
        return {
            "ttlSeconds": _number(self.ttl_s),
            "lossShare": _round(self.loss_share, 4),
            "idleSlotMinutes": round(self.idle_slot_minutes, 2),
            "current": self.current,
        }


@dataclass(frozen=True)
class Advice:
    """What the advisor says, and the data it says it from."""

    window_s: float
    from_ms: int
    to_ms: int
    n: int
    events: int
    min_events: int
    percentiles_s: dict[str, float | None]
    candidates: tuple[Candidate, ...]
    current_ttl_s: float
    recommended_ttl_s: float | None
    reason: str
    curve: SurvivalCurve = field(repr=False, compare=False)

    @property
    def censored(self) -> int:
        """Observations without an event (released, expired, still live)."""
        return self.n - self.events

    @property
    def censored_share(self) -> float:
        """Share of observations that are censored (0 without data)."""
        return self.censored / self.n if self.n else 0.0

    @property
    def enough(self) -> bool:
        """At least the minimum number of events to recommend anything."""
        return self.events >= self.min_events

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the stats endpoint's `advisor` key (and of the status page)."""
        return {
            "windowSeconds": _number(self.window_s),
            "from": iso_utc(self.from_ms),
            "to": iso_utc(self.to_ms),
            "n": self.n,
            "events": self.events,
            "censored": self.censored,
            "censoredShare": round(self.censored_share, 3),
            "minEvents": self.min_events,
            "enough": self.enough,
            "percentilesSeconds": {k: _round(v, 2) for k, v in self.percentiles_s.items()},
            "candidates": [c.as_dict() for c in self.candidates],
            "currentTtlSeconds": _number(self.current_ttl_s),
            "recommendedTtlSeconds": None
            if self.recommended_ttl_s is None
            else _number(self.recommended_ttl_s),
            "reason": self.reason,
        }


def trade_off(
    observations: Sequence[Observation], curve: SurvivalCurve, current_ttl_s: float
) -> tuple[Candidate, ...]:
    """The candidate TTLs and the current one, each with its loss share and idle slot-minutes."""
    ttls = sorted({float(t) for t in CANDIDATE_TTLS_S} | {float(current_ttl_s)})
    return tuple(
        Candidate(
            ttl_s=ttl,
            loss_share=curve.survival_at(ttl),
            idle_slot_minutes=idle_slot_minutes(observations, ttl),
            current=ttl == current_ttl_s,
        )
        for ttl in ttls
    )


@dataclass(frozen=True)
class Bounds:
    """The policy's TTL bounds and the TTL in force, in seconds."""

    current_s: float
    min_s: float
    max_s: float


def recommend(
    curve: SurvivalCurve, n: int, events: int, bounds: Bounds, window_s: float, min_events: int
) -> tuple[float | None, str]:
    """The recommended TTL (or None) and a sentence saying why, naming the data it rests on."""
    share = (n - events) / n if n else 0.0
    window = window_text(window_s)
    data = f"{events} bookings among {n} quoted holds ({share:.1%} censored) over the last {window}"
    if events < min_events:
        return None, f"not enough data: {data}; at least {min_events} bookings are needed"
    p99 = curve.quantile(0.99)
    if p99 is None:
        tail = curve.survival_at(curve.last_time_s or 0.0) or 0.0
        return None, (
            f"p99 not estimable: {tail:.1%} of callers were still deciding at the longest time observed "
            f"({curve.last_time_s or 0.0:.1f} s); raise the TTL for a while to observe the tail; {data}"
        )
    raw = p99 * HEADROOM
    ttl, capped = grid_ttl(raw, bounds.min_s, bounds.max_s)
    cap = f", capped at the policy maximum {bounds.max_s:g} s" if capped else ""
    return ttl, f"p99 {p99:.1f} s × {HEADROOM} headroom = {raw:.1f} s → {ttl:g} s{cap}, from {data}"


def advise(
    observations: Sequence[Observation],
    *,
    now_ms: int,
    window_s: float,
    bounds: Bounds,
    min_events: int = MIN_EVENTS,
) -> Advice:
    """Everything the advisor shows, from the observations of one window."""
    curve = kaplan_meier((o.duration_s, o.event) for o in observations)
    events = sum(1 for o in observations if o.event)
    ttl, reason = recommend(curve, len(observations), events, bounds, window_s, min_events)
    return Advice(
        window_s=window_s,
        from_ms=now_ms - int(window_s * 1000),
        to_ms=now_ms,
        n=len(observations),
        events=events,
        min_events=min_events,
        percentiles_s={name: curve.quantile(q) for name, q in QUANTILES.items()},
        candidates=trade_off(observations, curve, bounds.current_s),
        current_ttl_s=bounds.current_s,
        recommended_ttl_s=ttl,
        reason=reason,
        curve=curve,
    )
