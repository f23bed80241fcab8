"""What each caller was told (the strategy's belief), kept apart from ground truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ASK = "ask"
CONFIRM = "confirm"
OPERATIONS = (ASK, CONFIRM)


@dataclass
class CallerOutcome:
    """One caller's conversation as the caller experienced it."""

    index: int
    event_type_id: int
    wanted: str
    offered: str | None = None
    offered_kind: str | None = None
    held: bool = False
    hold_expired_before_yes: bool = False
    told_booked: bool = False
    booked_start: str | None = None
    refused: bool = False
    refusal: str | None = None
    error: str | None = None
    # Unix times: when the offer was heard, and when the answer to "yes" came back.
    asked_at: float | None = None
    answered_at: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def no_offer(self) -> bool:
        """Nothing free was found to offer (and no error)."""
        return self.offered is None and self.error is None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return dict(self.__dict__)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (None when there are no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(outcomes: Sequence[CallerOutcome]) -> dict[str, dict[str, float | int | None]]:
    """p50/p95/p99 (ms) and sample count of each caller-visible operation."""
    summary: dict[str, dict[str, float | int | None]] = {}
    for op in OPERATIONS:
        values = [o.timings_ms[op] for o in outcomes if op in o.timings_ms]
        summary[op] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
        }
    return summary
