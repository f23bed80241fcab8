"""A process SIGKILLed mid-commit: the caller's retry, on another process, receives the booking Cal.com made.

Before: the retry got 409 "Idempotency-Key still being processed" for two minutes although the caller sent
no key, and reconciliation later cancelled the booking as a ghost. Now the retry finds the open commit under
its replay key, looks its tagged booking up in Cal.com, verifies it and hands it over (201, the same booking).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis

from proxy.ledger import CommitState
from tests.ops.support import clean_env, free_port
from tests.proxy.conftest import BOOKINGS_V, GROUPS, StackFactory, next_weekday
from tests.redis_server import RedisServer, start_redis_server

pytestmark = [pytest.mark.real_redis]

DAY = next_weekday(56, weekday=1)
BERLIN = "Europe/Berlin"
KEY = {"Authorization": "Bearer cal_test_alpha"}


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


@pytest.fixture
def server() -> Iterator[RedisServer]:
    running = start_redis_server()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(server.url)
    yield redis
    await redis.aclose()


async def start_process(sim_url: str, redis_url: str) -> tuple[asyncio.subprocess.Process, str]:
    """A second calproxy process on the same Redis and simulator (started and killed by PID)."""
    port = free_port()
    env = clean_env(
        CALPROXY_UPSTREAM_URL=sim_url,
        REDIS_URL=redis_url,
        CALPROXY_UPSTREAM_API_KEY="cal_test_alpha",
        CALPROXY_RESOURCE_GROUPS=json.dumps({str(k): v for k, v in GROUPS.items()}),
        CALPROXY_RECONCILE_INTERVAL_S="0",
        CALPROXY_ADMIN_TOKEN="t" * 32,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    while b"listening on" not in (line := await asyncio.wait_for(process.stdout.readline(), timeout=20)):
        assert line, "the second process did not start"
    return process, f"http://127.0.0.1:{port}"


async def test_the_retry_after_a_sigkill_mid_commit_receives_the_booking(
    make_stack: StackFactory, server: RedisServer, client: aioredis.Redis
) -> None:
    stack = await make_stack(redis=client)
    process, url = await start_process(stack.sim.url, server.url)
    body: dict[str, Any] = {
        "eventTypeId": 1001,
        "start": berlin("10:00"),
        "attendee": {"name": "Ann", "email": "ann@example.com", "timeZone": BERLIN},
    }
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10, headers={**KEY, "X-Call-Id": "A"}) as first:
            quoted = await first.post(
                "/calproxy/v1/quote", json={"eventTypeId": 1001, "start": berlin("10:00"), "timeZone": BERLIN}
            )
            assert quoted.json()["data"]["available"] is True
            # Cal.com now takes 1.5 s: the create is upstream when the first process dies.
            await stack.direct.post("/_sim/faults", json={"latencyMs": 1500})
            attempt = asyncio.create_task(first.post("/v2/bookings", json=body, headers=BOOKINGS_V))
            await asyncio.sleep(0.6)
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            with pytest.raises(httpx.HTTPError):
                await attempt
        await asyncio.sleep(1.5)  # Cal.com finishes the booking the dead process asked for
        made = [b for b in await stack.truth() if b["status"] != "cancelled"]
        stats = (await stack.direct.get("/_sim/stats")).json()["data"]["requests"]
        assert len(made) == 1, (made, stats)
        await stack.direct.post("/_sim/faults", json={"latencyMs": 0})

        retried = await stack.book("A", body)  # the same caller and body, on the surviving process
        assert retried.status_code == 201, retried.text
        assert retried.json()["data"]["uid"] == made[0]["uid"]
        entry = await stack.services.ledger.find_booking(made[0]["uid"])
        assert entry is not None and entry.state is CommitState.CONFIRMED
        again = await stack.book("A", body)  # and from now on it is a plain replay
        assert again.status_code == 201 and again.json()["data"]["uid"] == made[0]["uid"]
        assert len([b for b in await stack.truth() if b["status"] != "cancelled"]) == 1
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
