"""Fixed-window rate limiting per tracker, with Cal.com's X-RateLimit-*-Default headers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


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


class FixedWindowLimiter:
    """`limit` hits per `window_s` seconds per tracker; limit 0 turns limiting off."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def reset(self) -> None:
        """Forget every tracker's window."""
        self._windows.clear()

    def hit(self, tracker: str) -> Decision | None:
        """Count one request; None when limiting is off."""
        if self.limit <= 0:
            return None
        now = self._clock()
        started, count = self._windows.get(tracker, (now, 0))
        if now - started >= self.window_s:
            started, count = now, 0
        # Like @nestjs/throttler, a refused request does not extend or consume the window.
        allowed = count < self.limit
        if allowed:
            count += 1
        self._windows[tracker] = (started, count)
        reset = max(0, math.ceil(started + self.window_s - now))
        return Decision(
            allowed=allowed, limit=self.limit, remaining=max(0, self.limit - count), reset_s=reset
        )
