"""Helpers shared by the holds tests: a settable clock and a store factory."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from holds import HoldStore, TtlPolicy

T0_MS = 1_000_000_000  # an arbitrary fixed "now" for tests
POLICY = TtlPolicy(default_ms=60_000, min_ms=1_000, max_ms=600_000)


@dataclass
class Clock:
    """An injectable clock that only moves when told to (milliseconds internally)."""

    ms: int = T0_MS

    def __call__(self) -> float:
        return self.ms / 1000

    def advance(self, ms: int) -> None:
        self.ms += ms


def make_store(redis: Redis, clock: Clock, **kwargs: object) -> HoldStore:
    """A HoldStore with the test policy and clock unless overridden."""
    kwargs.setdefault("policy", POLICY)
    return HoldStore(redis, clock=clock, **kwargs)  # type: ignore[arg-type]
