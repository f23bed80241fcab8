"""End-to-end fixtures: the simulator and the proxy, both on free loopback ports, started by the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.loadtest.servers import listen_on_loopback
from proxy.services import Services
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import RunningSim, run_sim
from tests.redis_server import RedisServer, start_redis_server

GROUPS = {1001: "host-1", 1002: "host-1", 2001: "host-2"}
BOOKINGS_V = {"cal-api-version": "2024-08-13"}
# The simulator's seeded key: hold-creating requests need a credential Cal.com accepts.
API_KEY = "cal_test_alpha"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SLOTS_V = {"cal-api-version": "2024-09-04"}


def next_weekday(days_ahead: int = 14, weekday: int = 0) -> date:
    """A weekday comfortably in the future (minimum notice never bites)."""
    day = date.today() + timedelta(days=days_ahead)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


@dataclass
class Stack:
    """A running simulator and proxy, with clients for both."""

    sim: RunningSim
    proxy_url: str
    app: web.Application
    # Sends the seeded API key on every request (a test may override the header).
    proxy: httpx.AsyncClient
    direct: httpx.AsyncClient
    # The same proxy without any credential.
    anonymous: httpx.AsyncClient

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def truth(self) -> list[dict[str, Any]]:
        """The simulator's ground truth: every booking."""
        response = await self.direct.get("/_sim/bookings")
        body = response.json()
        return list(body["data"] if isinstance(body, dict) else body)

    async def quote(self, call_id: str, **body: Any) -> dict[str, Any]:
        response = await self.proxy.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": call_id})
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    async def book(self, call_id: str | None, body: dict[str, Any], **headers: str) -> httpx.Response:
        extra = {"X-Call-Id": call_id} if call_id else {}
        return await self.proxy.post("/v2/bookings", json=body, headers={**BOOKINGS_V, **extra, **headers})


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack() -> AsyncIterator[StackFactory]:
    """Start sim + proxy with overrides: make_stack(sim=SimConfig(...), settings={...}, redis=client)."""
    async with AsyncExitStack() as stack:

        async def start(
            sim: SimConfig | None = None,
            settings: dict[str, Any] | None = None,
            redis: aioredis.Redis | None = None,
        ) -> Stack:
            running = await stack.enter_async_context(run_sim(sim or SimConfig(rate_limit=0)))
            values: dict[str, Any] = {
                "upstream_url": running.url,
                "upstream_api_key": SecretStr("cal_test_alpha"),
                "resource_groups": GROUPS,
                "reconcile_interval_s": 0,
                "upstream_timeout_s": 2.0,
                "admin_token": SecretStr("admin-secret"),
                **(settings or {}),
            }
            app = create_app(Settings(**values), redis=redis)
            url = await listen_on_loopback(stack, app)
            proxy = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH))
            direct = await stack.enter_async_context(httpx.AsyncClient(base_url=running.url, timeout=10))
            anonymous = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10))
            return Stack(sim=running, proxy_url=url, app=app, proxy=proxy, direct=direct, anonymous=anonymous)

        yield start


@pytest.fixture
async def stack(make_stack: StackFactory) -> Stack:
    """The default stack: rate limit off, in-process fakeredis."""
    return await make_stack()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own (for several processes on one Redis), stopped by PID."""
    running = start_redis_server()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def own_redis_client(own_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client of `own_redis`."""
    redis = aioredis.Redis.from_url(own_redis.url)
    yield redis
    await redis.aclose()
