"""Recent activity shared by every process: per-minute counters in Redis, for the operators' page.

Counting happens in memory (`add` is synchronous and free on the hot path); a background task flushes the
counts into one Redis hash per minute every few seconds, so "the last hour" adds up every process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError

from proxy.keys import ProxyKeys
from proxy.logs import get_logger
from proxy.periodic import repeating

log = get_logger(__name__)

WINDOW_MINUTES = 60
# Buckets outlive the window so a late reader still sees a full hour.
BUCKET_TTL_S = 2 * WINDOW_MINUTES * 60
FLUSH_EVERY_S = 5.0

UPSTREAM_REQUESTS = "upstream"
UPSTREAM_429 = "upstream_429"
COMMIT_PREFIX = "commit:"
MIRROR_PREFIX = "mirror:"


def minute_of(epoch_s: float) -> int:
    """The minute bucket an instant falls in."""
    return int(epoch_s // 60)


def summarise(buckets: list[dict[str, int]]) -> dict[str, Any]:
    """Counts of the window's buckets added up, in the shape the status page shows."""
    total: Counter[str] = Counter()
    for bucket in buckets:
        total.update(bucket)
    commits = {
        name.removeprefix(COMMIT_PREFIX): n
        for name, n in sorted(total.items())
        if name.startswith(COMMIT_PREFIX)
    }
    mirrors = {
        name.removeprefix(MIRROR_PREFIX): n
        for name, n in sorted(total.items())
        if name.startswith(MIRROR_PREFIX)
    }
    return {
        "minutes": WINDOW_MINUTES,
        "upstreamRequests": total[UPSTREAM_REQUESTS],
        "upstream429": total[UPSTREAM_429],
        "commits": commits,
        "mirrors": mirrors,
    }


@dataclass
class Activity:
    """Counts by name and minute: `add` now, `flush` to Redis in the background, `last_hour` for reading."""

    redis: Redis
    keys: ProxyKeys
    clock: Callable[[], float]
    _pending: Counter[tuple[int, str]] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        """Count `n` occurrences now (no I/O)."""
        self._pending[(minute_of(self.clock()), name)] += n

    def commit(self, outcome: str) -> None:
        """Count one booking commit by its outcome."""
        self.add(COMMIT_PREFIX + outcome)

    async def flush(self) -> None:
        """Move the pending counts into Redis (one pipelined round trip); kept for the next try on failure."""
        if not self._pending:
            return
        pending, self._pending = self._pending, Counter()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (minute, name), n in pending.items():
                    key = self.keys.activity(minute)
                    pipe.hincrby(key, name, n)
                    pipe.expire(key, BUCKET_TTL_S)
                await pipe.execute()
        except (RedisError, RedisClusterException, OSError) as exc:
            self._pending.update(pending)
            log.warning("activity_flush_failed", error=type(exc).__name__)

    async def last_hour(self) -> dict[str, Any]:
        """Every process's counts over the last hour."""
        await self.flush()
        now = minute_of(self.clock())
        async with self.redis.pipeline(transaction=False) as pipe:
            for minute in range(now - WINDOW_MINUTES + 1, now + 1):
                pipe.hgetall(self.keys.activity(minute))
            raw = await pipe.execute()
        return summarise([{_text(k): int(v) for k, v in bucket.items()} for bucket in raw])

    @asynccontextmanager
    async def flushing(self, every_s: float = FLUSH_EVERY_S) -> AsyncIterator[None]:
        """Flush periodically while the block runs, and once more at its end."""
        async with repeating(self.flush, every_s, now=False):
            yield
        with suppress(RedisError, RedisClusterException, OSError):
            await self.flush()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
