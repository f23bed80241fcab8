"""Cal.com's rate limiting per tracker: every hit counts, and going over the limit blocks the tracker.

CustomThrottlerGuard.incrementRateLimit (apps/api/v2/src/lib/throttler-guard.ts:179-198) calls
@nest-lab/throttler-storage-redis, whose Lua script INCRs the tracker's hit counter on EVERY request (a
refused one too; the counter expires `ttl` after its first hit), and once the count passes the limit sets a
block key for `blockDuration` (RATE_LIMIT_DEFAULT_BLOCK_DURATION_MS, 60 s). While blocked, requests are
refused with X-RateLimit-Remaining-* 0 and X-RateLimit-Reset-* the seconds left on the block; otherwise
Remaining is limit - hits and Reset the seconds left on the counter (both rounded up).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# Cal.com's defaults (throttler-guard.ts:28-41). The simulator's window stands for the TTL, so a load test
# that compresses time shrinks the block by the same factor.
DEFAULT_TTL_MS = 60_000
DEFAULT_BLOCK_DURATION_MS = 60_000


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, and the header values."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """Cal.com's headers for the `default` named limit."""
        return {
            "X-RateLimit-Limit-Default": str(self.limit),
            "X-RateLimit-Remaining-Default": str(self.remaining),
            "X-RateLimit-Reset-Default": str(self.reset_s),
        }


@dataclass
class _Counter:
    """One tracker's hit key and block key, with the instants (clock seconds) they expire."""

    hits: int
    hits_expire_at: float
    blocked_until: float = 0.0


class BlockingLimiter:
    """`limit` hits per `window_s` seconds per tracker, then a block; limit 0 turns limiting off."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self.block_s = window_s * DEFAULT_BLOCK_DURATION_MS / DEFAULT_TTL_MS
        self._clock = clock
        self._counters: dict[str, _Counter] = {}

    def reset(self) -> None:
        """Forget every tracker's counter and block."""
        self._counters.clear()

    def hit(self, tracker: str) -> Decision | None:
        """Count one request (whatever its outcome); None when limiting is off."""
        if self.limit <= 0:
            return None
        now = self._clock()
        counter = self._counters.get(tracker)
        if counter is None:
            counter = self._counters[tracker] = _Counter(hits=0, hits_expire_at=now + self.window_s)
        elif now >= counter.hits_expire_at:
            # Redis dropped the hit key: the next INCR starts a new one with a fresh TTL.
            counter.hits, counter.hits_expire_at = 0, now + self.window_s
        counter.hits += 1
        if now >= counter.blocked_until and counter.hits > self.limit:
            counter.blocked_until = now + self.block_s
        if now < counter.blocked_until:
            return Decision(
                allowed=False, limit=self.limit, remaining=0, reset_s=_seconds(counter.blocked_until - now)
            )
        return Decision(
            allowed=True,
            limit=self.limit,
            remaining=max(0, self.limit - counter.hits),
            reset_s=_seconds(counter.hits_expire_at - now),
        )


def _seconds(left_s: float) -> int:
    """Math.ceil(ms / 1000) as the storage reports times."""
    return max(0, math.ceil(round(left_s * 1000) / 1000))


# SimState builds its limiter under this name.
FixedWindowLimiter = BlockingLimiter
