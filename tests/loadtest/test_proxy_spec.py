"""calproxy's settings for a load-test run follow the run's scaled clock, upstream budget included."""

from __future__ import annotations

from dataclasses import replace

from proxy.loadtest.config import Faults, LoadConfig
from proxy.loadtest.harness import proxy_spec, upstream_budget


def test_the_upstream_budget_matches_the_simulators_scaled_rate_limit() -> None:
    # 120 requests per simulated minute, a run fifty times faster: 120 per 1.2 wall seconds = 6,000 a minute.
    # Unscaled (120 per wall minute) the budget refused 221 of 300 callers with 429s.
    config = LoadConfig(time_scale=0.02)
    assert upstream_budget(config) == 6000
    assert proxy_spec(config, "http://127.0.0.1:1", None)["upstream_budget_per_minute"] == 6000
    assert upstream_budget(replace(config, time_scale=1.0)) == 120
    assert upstream_budget(replace(config, faults=replace(config.faults, rate_limit=0))) == 0
    assert isinstance(config.faults, Faults)
