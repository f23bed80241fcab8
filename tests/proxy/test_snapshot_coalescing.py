"""One upstream fetch for many concurrent callers: within a process and across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import fakeredis
import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import RunningSim, run_sim
from tests.proxy.conftest import GROUPS, SLOTS_V, next_weekday

DAY = next_weekday(28)
QUERY = {"eventTypeId": "1002", "start": str(DAY), "end": str(DAY), "timeZone": "Europe/Berlin"}


async def upstream_slot_gets(sim: RunningSim) -> int:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        stats = (await client.get("/_sim/stats")).json()["data"]["requests"]
    return sum(stats.get("GET /v2/slots", {}).values())


@pytest.fixture
async def two_proxies() -> AsyncIterator[tuple[RunningSim, list[httpx.AsyncClient]]]:
    """Two proxy apps (think: two processes) sharing one Redis and one simulator."""
    server = fakeredis.FakeServer()
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(run_sim(SimConfig(rate_limit=0, latency_ms=50)))
        clients = []
        for _ in range(2):
            settings = {
                "upstream_url": sim.url,
                "upstream_api_key": SecretStr("cal_test_alpha"),
                "resource_groups": GROUPS,
                "reconcile_interval_s": 0,
            }

            app = create_app(Settings(**settings), redis=fakeredis.FakeAsyncRedis(server=server))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            clients.append(await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10)))
        yield sim, clients


async def test_concurrent_misses_make_one_upstream_request(
    two_proxies: tuple[RunningSim, list[httpx.AsyncClient]],
) -> None:
    sim, (a, b) = two_proxies
    responses = await asyncio.gather(
        *(client.get("/v2/slots", params=QUERY, headers=SLOTS_V) for client in [a, b] * 25)
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    # Upstream latency is 50 ms, so all 50 requests overlapped the first fetch.
    assert await upstream_slot_gets(sim) == 1
