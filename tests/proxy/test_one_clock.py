"""One clock in the proxy: a process whose clock is off still decides holds by Redis's clock.

`build_services`/`create_app` take a `clock` (display, ledger and stats times); the hold store must not
use it. A clock 120 s ahead (and one 120 s behind) stands for the `faketime -f +120s calproxy serve` of
issue 10; tests/holds/test_one_clock.py runs the same check in a real second process under faketime.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import SecretStr

from holds import HoldConflict, HoldStore
from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.loadtest.servers import listen_on_loopback
from proxy.services import build_services
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from tests.proxy.conftest import AUTH, BOOKINGS_V, GROUPS, next_weekday

R = "et:1001"
HOUR = 3_600_000
SKEW_S = 120
DAY = next_weekday(21, weekday=2)
BERLIN = "Europe/Berlin"


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def skewed(seconds: float) -> Callable[[], float]:
    return lambda: time.time() + seconds


async def redis_now_ms(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@pytest.mark.parametrize("skew_s", [SKEW_S, -SKEW_S], ids=["ahead", "behind"])
async def test_a_process_with_a_skewed_clock_agrees_with_redis_on_every_hold(redis, skew_s):
    settings = Settings(upstream_url="http://127.0.0.1:9", upstream_api_key=SecretStr("x"))
    services = build_services(settings, redis, "http://127.0.0.1:9", clock=skewed(skew_s))
    honest = HoldStore(redis)
    try:
        # Live 30 s by Redis's clock: 90 s expired by a clock 120 s ahead.
        held = await honest.acquire(R, 0, HOUR, "honest", ttl_ms=30_000)
        assert await services.holds.get(R, held.uid) == held
        assert await services.holds.live(R, 0, HOUR) == [held]
        with pytest.raises(HoldConflict) as info:
            await services.holds.acquire(R, 0, HOUR, "skewed")
        assert info.value.expires_at_ms == held.expires_at_ms
        # Its own holds and extensions are timed by Redis's clock: 30 s, not 30 s +- 120 s.
        t0 = await redis_now_ms(redis)
        mine = await services.holds.acquire(R, HOUR, 2 * HOUR, "skewed", ttl_ms=30_000)
        extended = await services.holds.extend(R, mine.uid, "skewed", ttl_ms=40_000)
        t1 = await redis_now_ms(redis)
        assert t0 <= mine.created_ms <= t1 and mine.expires_at_ms == mine.created_ms + 30_000
        assert t0 + 40_000 <= extended.expires_at_ms <= t1 + 40_000
        assert await honest.get(R, mine.uid) == extended
    finally:
        await honest.aclose()
        await services.aclose()


@pytest.fixture
async def skewed_proxy() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, web.Application]]:
    """Simulator + a proxy whose clock is 120 s ahead (fakeredis), with a commit freshness of 0."""
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(run_sim(SimConfig(rate_limit=0)))
        settings = Settings(
            upstream_url=sim.url,
            upstream_api_key=SecretStr("cal_test_alpha"),
            resource_groups=GROUPS,
            reconcile_interval_s=0,
            upstream_timeout_s=2.0,
            commit_freshness_s=0,
        )
        app = create_app(settings, redis=fakeredis.FakeAsyncRedis(), clock=skewed(SKEW_S))
        url = await listen_on_loopback(stack, app)
        proxy = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH))
        direct = await stack.enter_async_context(httpx.AsyncClient(base_url=sim.url, timeout=10))
        yield proxy, direct, app


async def test_a_new_commit_hold_is_rechecked_against_a_fresh_snapshot_whatever_the_clock(
    skewed_proxy: tuple[httpx.AsyncClient, httpx.AsyncClient, web.Application],
) -> None:
    """Whether the commit's hold is new (so a stale snapshot must be re-fetched) is not a clock question."""
    proxy, direct, app = skewed_proxy
    body: dict[str, Any] = {"eventTypeId": 1001, "start": berlin("10:00"), "timeZone": BERLIN}
    quoted = await proxy.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": "A"})
    assert quoted.status_code == 200 and quoted.json()["data"]["available"], quoted.text  # day now cached
    outside = await direct.post("/_sim/bookings", json={"eventTypeId": 1001, "start": berlin("14:00")})
    assert outside.status_code == 201
    attendee = {"name": "Bea", "email": "bea@example.com", "timeZone": BERLIN}
    response = await proxy.post(
        "/v2/bookings",
        json={"eventTypeId": 1001, "start": berlin("14:00"), "attendee": attendee},
        headers={**BOOKINGS_V, "X-Call-Id": "B"},
    )
    assert response.status_code == 409, response.text
    requests = (await direct.get("/_sim/stats")).json()["data"]["requests"]
    assert "POST /v2/bookings" not in requests, "the stale snapshot was trusted and Cal.com asked"
    start_ms = int(datetime.fromisoformat(berlin("14:00")).timestamp() * 1000)
    assert await app[SERVICES].holds.live("grp:host-1", start_ms, start_ms + 1) == [], "hold not released"
