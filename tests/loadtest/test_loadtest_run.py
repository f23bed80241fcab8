"""A small real load test: simulator and calproxy in child processes, ground truth from the simulator."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.loadtest.config import Faults, LoadConfig
from proxy.loadtest.report import proxy_failures
from proxy.loadtest.session import run_all

pytestmark = pytest.mark.slow


async def test_proxy_has_the_three_zeros_while_the_naive_flow_is_caught() -> None:
    config = LoadConfig(
        callers=40,
        seed=11,
        time_scale=0.01,
        event_types=(1001, 1002),
        days=3,
        outside_per_min=3.0,
        # Frequent shift faults: the naive flow must be caught announcing bookings that do not exist.
        faults=Faults(shift=0.3),
        strategies=("direct-naive", "proxy"),
    )
    _, runs = await run_all(config)
    naive, proxy = runs
    assert proxy.name == "proxy"
    assert proxy.figures.callers == 40
    assert proxy.figures.confirmed > 0
    assert proxy.figures.false_confirmations == 0
    assert proxy.figures.double_bookings == 0
    assert proxy.figures.lost_to_caller == 0
    assert proxy.figures.lost_to_caller_while_holding == 0
    assert proxy_failures(runs) == []
    # The same harness detects the incident's failure in the naive flow, so the zeros above can fail.
    assert naive.figures.false_confirmations > 0
    assert proxy_failures([dataclasses.replace(naive, name="proxy")]) != []
