"""LoadConfig: every knob of one load test run; durations are simulated seconds unless named `_real`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STRATEGIES = ("direct-naive", "direct-recheck", "proxy")
API_KEY = "cal_test_alpha"
# Agent processing and the commit itself, on top of the caller's longest think time.
HOLD_MARGIN_S = 15.0


@dataclass(frozen=True)
class Faults:
    """Simulator faults for every strategy's run (the simulator is reset with these)."""

    shift: float = 0.03
    error: float = 0.0
    timeout: float = 0.0
    latency_ms: int = 0
    race_window_ms: int = 0
    rate_limit: int = 120
    rate_limit_window_s: float = 60.0


@dataclass(frozen=True)
class LoadConfig:
    """One run: population, timing, faults and bounds."""

    callers: int = 300
    seed: int = 7
    time_scale: float = 0.02
    arrival_window_s: float = 600.0
    think_median_s: float = 14.0
    think_max_s: float = 60.0
    event_types: tuple[int, ...] = (1001,)
    days: int = 10
    outside_per_min: float = 2.0
    # Share of outside bookings made on Cal.com's booking page (the rest: raw API clients).
    outside_web_share: float = 0.5
    alternatives: int = 2
    hold_ttl_s: float | None = None
    # calproxy mirrors its holds as Cal.com reservations (CALPROXY_MIRROR_HOLDS).
    mirror_holds: bool = False
    faults: Faults = field(default_factory=Faults)
    strategies: tuple[str, ...] = STRATEGIES
    concurrency: int = 100
    request_timeout_real_s: float = 15.0
    max_callers: int = 5000

    def __post_init__(self) -> None:
        if not 1 <= self.callers <= self.max_callers:
            raise ValueError(f"callers must be within 1..{self.max_callers}")
        if not 0.001 <= self.time_scale <= 1.0:
            raise ValueError("time scale must be within 0.001..1")
        unknown = set(self.strategies) - set(STRATEGIES)
        if unknown or not self.strategies:
            raise ValueError(f"strategies must be among {', '.join(STRATEGIES)}")

    def real(self, simulated_s: float) -> float:
        """Wall-clock seconds for a simulated duration."""
        return simulated_s * self.time_scale

    @property
    def hold_ttl(self) -> float:
        """Simulated hold TTL: by default the longest think time plus the commit margin."""
        return self.hold_ttl_s if self.hold_ttl_s is not None else self.think_max_s + HOLD_MARGIN_S

    @property
    def deadline_real_s(self) -> float:
        """Global bound on one strategy's run: arrivals, the longest think, and generous slack."""
        return self.real(self.arrival_window_s + self.think_max_s) + 2 * self.request_timeout_real_s + 10

    def as_json(self) -> dict[str, Any]:
        """The configuration as reported in --json."""
        data = asdict(self)
        data["holdTtlS"] = self.hold_ttl
        return data
