"""A whole load test: build the world once, run each strategy on a freshly reset simulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from proxy.loadtest import overview
from proxy.loadtest.client import LoadClient
from proxy.loadtest.config import LoadConfig
from proxy.loadtest.harness import Harness
from proxy.loadtest.overview import Servers
from proxy.loadtest.plan import plan_digest
from proxy.loadtest.population import booking_days, generate, outside_schedule
from proxy.loadtest.runner import Progress, StrategyRun, World, run_strategy
from proxy.sim.seed import load_seed

CONTROL_CONCURRENCY = 4
CONTROL_TIMEOUT_S = 30.0


def build_world(config: LoadConfig, today: date | None = None) -> World:
    """The population and the event-type facts of the simulator's default seed; days count from `today`."""
    seed = load_seed()
    unknown = [et for et in config.event_types if et not in seed.event_types]
    if unknown:
        raise ValueError(f"event types {unknown} are not in the simulator's seed")
    zones = {et.id: seed.host_of(et).time_zone for et in seed.event_types.values()}
    hosts = {et.id: et.host_id for et in seed.event_types.values()}
    lengths = {et.id: et.length for et in seed.event_types.values()}
    days = booking_days(today or datetime.now(UTC).date(), config.days)
    population = generate(
        seed=config.seed,
        callers=config.callers,
        event_types=config.event_types,
        zones=zones,
        days=days,
        arrival_window_s=config.arrival_window_s,
        think_median_s=config.think_median_s,
        think_max_s=config.think_max_s,
    )
    outside = outside_schedule(config.seed, config.outside_per_min, config.arrival_window_s)
    return World(
        population=population, days=days, zones=zones, hosts=hosts, lengths=lengths, outside_s=outside
    )


@dataclass(frozen=True)
class Setup:
    """What is known once the servers are up and before the first caller: shown, then stored in --json."""

    config: LoadConfig
    world: World
    servers: Servers
    digest: str

    def effective(self) -> dict[str, Any]:
        """The effective configuration (JSON form)."""
        return overview.effective(
            self.config, self.servers, self.world.days, len(self.world.outside_s), self.digest
        )


def world_digest(world: World) -> str:
    """The digest of the world's population and arrival schedule."""
    return plan_digest(world.population, world.days, world.outside_s)


async def run_all(
    config: LoadConfig,
    *,
    sim_url: str | None = None,
    proxy_url: str | None = None,
    redis_url: str | None = None,
    on_start: Callable[[str, int], Progress | None] | None = None,
    on_ready: Callable[[Setup], None] | None = None,
) -> tuple[World, list[StrategyRun]]:
    """Every configured strategy in order.

    `on_ready(setup)` is called once the servers are up, before any caller; `on_start(name, callers)` at the
    start of each strategy may return a progress callback.
    """
    world = build_world(config)
    client = LoadClient(config.concurrency, config.request_timeout_real_s)
    control = LoadClient(CONTROL_CONCURRENCY, CONTROL_TIMEOUT_S)
    runs: list[StrategyRun] = []
    try:
        async with Harness(
            config, control, sim_url=sim_url, proxy_url=proxy_url, redis_url=redis_url
        ) as harness:
            servers = await harness.start(proxy="proxy" in config.strategies)
            if on_ready is not None:
                on_ready(Setup(config, world, servers, world_digest(world)))
            for name in config.strategies:
                progress = on_start(name, len(world.population)) if on_start else None
                runs.append(await run_strategy(name, config, world, harness, client, progress))
    finally:
        await client.aclose()
        await control.aclose()
    return world, runs
