"""The benchmark's floors are what they claim: the bare hold handler really places one hold per POST."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from holds import HoldStore
from proxy.loadtest.harness import spawn
from tests.redis_server import RedisServer


async def test_the_bare_hold_floor_places_one_hold_per_post(
    redis_server: RedisServer, real_redis: aioredis.Redis
) -> None:
    body = '{"status":"success","data":{"available":true}}'
    spec = {"body": body, "redis_url": redis_server.url}
    server = await spawn("bare_hold", spec, Path(tempfile.mkdtemp()))
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            answers = [await client.post("/calproxy/v1/quote", json={"n": n}) for n in range(3)]
    finally:
        await server.stop()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].text == body
    holds = await HoldStore(real_redis, prefix="barehold").live("bare:1", 0, 2**53)
    assert len(holds) == 3
    assert len({h.owner for h in holds}) == 3
