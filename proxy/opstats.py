"""Operator statistics shared by every process: quote-to-commit times and a recommended hold TTL."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from proxy.keys import ProxyKeys

MAX_SAMPLES = 2000
# A hold should outlive nearly every conversational gap; 20% headroom over the p99, in 5 s steps.
HEADROOM = 1.2
STEP_S = 5


def percentile(sorted_values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def recommend_ttl_s(p99_ms: int | None, min_s: float, max_s: float, default_s: float) -> float:
    """The TTL to suggest: p99 quote-to-commit plus headroom, rounded up, within the bounds."""
    if p99_ms is None:
        return default_s
    raw = math.ceil(p99_ms / 1000 * HEADROOM / STEP_S) * STEP_S
    return float(min(max(raw, min_s), max_s))


@dataclass(frozen=True)
class OpsStats:
    """A capped Redis list of quote-to-commit durations (ms)."""

    redis: Redis
    keys: ProxyKeys

    async def record_quote_to_commit(self, ms: int) -> None:
        """One sample (a single pipelined round trip)."""
        key = self.keys.quote_to_commit_samples()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(key, ms)
            pipe.ltrim(key, 0, MAX_SAMPLES - 1)
            await pipe.execute()

    async def summary(self, min_s: float, max_s: float, default_s: float) -> dict[str, Any]:
        """Distribution of quote-to-commit times and the TTL it suggests."""
        raw = await self.redis.lrange(self.keys.quote_to_commit_samples(), 0, -1)
        values = sorted(int(v) for v in raw)
        p99 = percentile(values, 99)
        return {
            "quoteToCommitMs": {
                "samples": len(values),
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "p99": p99,
                "max": values[-1] if values else None,
            },
            "recommendedTtlSeconds": recommend_ttl_s(p99, min_s, max_s, default_s),
        }
