"""Start the simulator and calproxy in child processes (or use given URLs); reset, truth and stats."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from proxy.loadtest.client import LoadClient, require_loopback
from proxy.loadtest.config import API_KEY, LoadConfig
from proxy.loadtest.overview import Servers, faults_json

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# Event types of one simulated host share its calendar, so calproxy holds them as one resource.
HOST_GROUPS = {1001: "host-1", 1002: "host-1", 2001: "host-2"}


@dataclass
class Child:
    """One server process we started, stopped by its own pid only."""

    process: asyncio.subprocess.Process
    url: str
    log: IO[bytes]

    async def stop(self) -> None:
        """Close stdin (the child exits on EOF); terminate it if it lingers."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.terminate()
            await self.process.wait()
        self.log.close()


async def spawn(kind: str, spec: dict[str, Any], log_dir: Path) -> Child:
    """Run `python -m proxy.loadtest.servers kind spec` and wait for its READY line."""
    log = (log_dir / f"{kind}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxy.loadtest.servers",
        kind,
        json.dumps(spec),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
    except TimeoutError:
        process.terminate()
        await process.wait()
        raise RuntimeError(f"{kind} did not start; see {log.name}") from None
    text = line.decode().strip()
    if not text.startswith("READY "):
        await process.wait()
        raise RuntimeError(f"{kind} failed to start ({text!r}); see {log.name}")
    return Child(process, require_loopback(text.split(" ", 1)[1]), log)


def sim_spec(config: LoadConfig) -> dict[str, Any]:
    """The simulator's configuration; its rate-limit window scales like every other duration."""
    scaled = {"rateLimitWindowS": config.real(config.faults.rate_limit_window_s), "faultSeed": config.seed}
    return {**faults_json(config.faults), **scaled}


def proxy_spec(config: LoadConfig, sim_url: str, redis_url: str | None) -> dict[str, Any]:
    """calproxy's settings for the run: every duration scaled, the hold TTL covering the longest think."""
    ttl = config.real(config.hold_ttl)
    snapshot_ttl = config.real(30.0)
    # Real seconds: a hung upstream request must not outlast the caller's own patience.
    timeout = max(2.0, config.real(10.0))
    return {
        "upstream_url": sim_url,
        "redis_url": redis_url,
        "upstream_api_key": API_KEY,
        "resource_groups": {str(k): v for k, v in HOST_GROUPS.items()},
        "reconcile_interval_s": 0,
        "hold_ttl_default_s": ttl,
        "hold_ttl_min_s": min(5.0, ttl),
        "hold_ttl_max_s": max(600.0, ttl),
        "snapshot_ttl_s": snapshot_ttl,
        "commit_freshness_s": config.real(5.0),
        # calproxy requires a booked marker to outlive any snapshot fetched before the booking.
        "booked_marker_ttl_s": max(config.real(300.0), snapshot_ttl + timeout + 1.0),
        "upstream_timeout_s": timeout,
        # calproxy's shared upstream budget mirrors the simulator's rate limit on the same scaled clock
        # (unscaled, 120 per wall minute would throttle a run compressed fifty times).
        "upstream_budget_per_minute": upstream_budget(config),
        "mirror_holds": config.mirror_holds,
    }


def upstream_budget(config: LoadConfig) -> int:
    """Requests per wall minute matching the simulator's scaled rate limit (0: no limit, no budget)."""
    f = config.faults
    if f.rate_limit <= 0:
        return 0
    return max(1, round(f.rate_limit * 60.0 / config.real(f.rate_limit_window_s)))


class Harness(AbstractAsyncContextManager["Harness"]):
    """Owns the child servers and talks to the simulator's control endpoints."""

    def __init__(
        self,
        config: LoadConfig,
        client: LoadClient,
        *,
        sim_url: str | None = None,
        proxy_url: str | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.sim_url = require_loopback(sim_url) if sim_url else None
        self.proxy_url = require_loopback(proxy_url) if proxy_url else None
        self.sim_given = self.sim_url is not None
        self.proxy_given = self.proxy_url is not None
        self.redis_url = redis_url
        self.children: list[Child] = []
        self.log_dir = Path(tempfile.mkdtemp(prefix="calproxy-loadtest-"))

    async def __aenter__(self) -> Harness:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for child in reversed(self.children):
            await child.stop()
        self.children.clear()

    async def sim(self) -> str:
        """The simulator's URL, starting it on first use."""
        if self.sim_url is None:
            child = await spawn("sim", sim_spec(self.config), self.log_dir)
            self.children.append(child)
            self.sim_url = child.url
        return self.sim_url

    async def proxy(self) -> str:
        """calproxy's URL, starting it (against our simulator) on first use."""
        if self.proxy_url is None:
            sim = await self.sim()
            child = await spawn("proxy", proxy_spec(self.config, sim, self.redis_url), self.log_dir)
            self.children.append(child)
            self.proxy_url = child.url
        return self.proxy_url

    async def start(self, *, proxy: bool) -> Servers:
        """Start every server the run needs now, so their URLs are known (and shown) before any caller."""
        sim = await self.sim()
        proxy_url = await self.proxy() if proxy else None
        return Servers(
            sim_url=sim,
            sim_started=not self.sim_given,
            proxy_url=proxy_url,
            proxy_started=proxy and not self.proxy_given,
            redis_url=self.redis_url,
        )

    async def reset(self) -> None:
        """A fresh simulator: seed bookings only, counters zeroed, this run's faults applied."""
        sim = await self.sim()
        await self._control("POST", f"{sim}/_sim/reset")
        f = self.config.faults
        faults = {
            "shift": f.shift,
            "error": f.error,
            "timeout": f.timeout,
            "latencyMs": f.latency_ms,
            "raceWindowMs": f.race_window_ms,
            "rateLimit": f.rate_limit,
            "rngSeed": self.config.seed,
        }
        await self._control("POST", f"{sim}/_sim/faults", faults)

    async def truth(self) -> list[dict[str, Any]]:
        """Every booking as the simulator really holds it."""
        data = await self._control("GET", f"{await self.sim()}/_sim/bookings")
        return list(data["data"])

    async def stats(self) -> dict[str, Any]:
        """Cal.com request counters since the last reset."""
        data = await self._control("GET", f"{await self.sim()}/_sim/stats")
        return dict(data["data"])

    async def _control(self, method: str, url: str, body: Any = None) -> Any:
        answer = await self.client.call(method, url, body=body)
        if answer.status != 200:
            raise RuntimeError(f"simulator control {method} {url} answered {answer.status}: {answer.body}")
        return answer.body
