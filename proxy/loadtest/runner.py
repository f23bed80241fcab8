"""Run one strategy: fresh simulator, callers released at their arrival times, outside channel, truth."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from proxy.loadtest.client import LoadClient
from proxy.loadtest.config import LoadConfig
from proxy.loadtest.harness import Harness
from proxy.loadtest.outside import OutsideChannel, OutsideStats
from proxy.loadtest.population import CallerSpec
from proxy.loadtest.records import CallerOutcome, latency_summary
from proxy.loadtest.strategies import FLOWS, Endpoints
from proxy.loadtest.truth import Figures, analyze

# Called once per caller as it finishes, with whether the caller was told "booked".
Progress = Callable[[bool], None]


@dataclass
class StrategyRun:
    """One strategy's results: what callers heard, what the calendar holds, what Cal.com counted."""

    name: str
    outcomes: list[CallerOutcome]
    figures: Figures
    latencies: dict[str, dict[str, float | int | None]]
    upstream_requests: int
    upstream_429: int
    outside: OutsideStats
    sim_stats: dict[str, Any]
    wall_s: float


@dataclass(frozen=True)
class World:
    """What every strategy's run shares: population, days, zones, event type facts, outside arrivals."""

    population: Sequence[CallerSpec]
    days: Sequence[date]
    zones: dict[int, str]
    hosts: dict[int, int]
    lengths: dict[int, int]
    # Simulated seconds; drawn once with the population so every strategy (and the digest) sees the same.
    outside_s: Sequence[float] = ()


async def run_strategy(
    name: str,
    config: LoadConfig,
    world: World,
    harness: Harness,
    client: LoadClient,
    progress: Progress | None = None,
) -> StrategyRun:
    """Reset the simulator, play the population through one strategy, then read ground truth."""
    await harness.reset()
    endpoints = Endpoints(sim=await harness.sim(), proxy=await harness.proxy() if name == "proxy" else None)
    flow = FLOWS[name](client, endpoints, config)
    outside = OutsideChannel(
        client,
        endpoints.sim,
        seed=config.seed,
        event_types=config.event_types,
        zones=world.zones,
        days=world.days,
        web_share=config.outside_web_share,
    )
    schedule = [config.real(t) for t in world.outside_s]
    begin = time.monotonic()

    async def one(spec: CallerSpec) -> CallerOutcome:
        await asyncio.sleep(max(0.0, begin + config.real(spec.arrival_s) - time.monotonic()))
        booked = False
        try:
            outcome = await flow.run(spec)
            booked = outcome.told_booked
            return outcome
        finally:
            # Also for a caller cut off mid-call by the deadline, so the count still reaches the total.
            if progress is not None:
                progress(booked)

    outside_task = asyncio.create_task(outside.run(schedule))
    tasks = [asyncio.create_task(one(spec)) for spec in world.population]
    done, pending = await asyncio.wait(tasks, timeout=config.deadline_real_s)
    for task in pending:
        task.cancel()
    outside_task.cancel()
    await asyncio.gather(*pending, outside_task, return_exceptions=True)
    wall = time.monotonic() - begin
    outcomes = [_result(task, spec) for task, spec in zip(tasks, world.population, strict=True)]
    truth = await harness.truth()
    stats = await harness.stats()
    figures = analyze(
        outcomes, truth, hosts=world.hosts, lengths=world.lengths, viewed_at=outside.stats.viewed_at
    )
    return StrategyRun(
        name=name,
        outcomes=outcomes,
        figures=figures,
        latencies=latency_summary(outcomes),
        upstream_requests=int(stats["totalRequests"]) - outside.stats.requests,
        upstream_429=int(stats["rateLimited"]) - outside.stats.rate_limited,
        outside=outside.stats,
        sim_stats=stats,
        wall_s=wall,
    )


def _result(task: asyncio.Task[CallerOutcome], spec: CallerSpec) -> CallerOutcome:
    """The caller's outcome; a caller cut off by the global deadline counts as a hard error."""
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()
    outcome = CallerOutcome(
        index=spec.index, event_type_id=spec.event_type_id, wanted=spec.wanted.isoformat()
    )
    outcome.error = "deadline" if task.cancelled() else f"crash:{type(task.exception()).__name__}"
    return outcome
