"""The run's plan (population + arrival schedule) in canonical form and its digest. Pure: no I/O, no clock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from proxy.loadtest.population import CallerSpec

DIGEST_HEX = 16
# Microseconds of simulated time: far finer than any timer the run uses, coarse enough that a last-bit
# difference in a float (e.g. another libm's exp) does not change the digest.
ROUND_DIGITS = 6


def canonical_caller(caller: CallerSpec, days: Sequence[date]) -> dict[str, Any]:
    """One caller as drawn from the seed: the wanted day as its position among `days`, the local wall time.

    Positions instead of calendar dates because the days are counted from today: the same seed on another
    day draws the same callers, who then want the same weekday slot of a later week.
    """
    local = caller.wanted.astimezone(ZoneInfo(caller.zone))
    return {
        "index": caller.index,
        "arrivalS": round(caller.arrival_s, ROUND_DIGITS),
        "eventTypeId": caller.event_type_id,
        "zone": caller.zone,
        "day": list(days).index(local.date()),
        "localTime": local.strftime("%H:%M"),
        "thinkS": round(caller.think_s, ROUND_DIGITS),
    }


def canonical_plan(
    population: Sequence[CallerSpec], days: Sequence[date], outside_s: Sequence[float]
) -> dict[str, Any]:
    """What the seed decides before the run: callers (in index order) and the outside channel's arrivals."""
    callers = sorted(population, key=lambda c: c.index)
    return {
        "callers": [canonical_caller(c, days) for c in callers],
        "outsideArrivalsS": [round(t, ROUND_DIGITS) for t in outside_s],
    }


def canonical_json(value: Any) -> str:
    """Sorted keys and fixed separators: equal plans give equal bytes whatever order dicts were built in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest_of(plan: dict[str, Any]) -> str:
    """The first DIGEST_HEX hex digits of the SHA-256 of the plan's canonical JSON."""
    return hashlib.sha256(canonical_json(plan).encode("ascii")).hexdigest()[:DIGEST_HEX]


def plan_digest(population: Sequence[CallerSpec], days: Sequence[date], outside_s: Sequence[float]) -> str:
    """The digest printed before the run: equal for equal seeds and population options."""
    return digest_of(canonical_plan(population, days, outside_s))
