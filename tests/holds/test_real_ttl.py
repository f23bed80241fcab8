"""The one test that waits for Redis itself to expire a hold (real server, real clock)."""

from __future__ import annotations

import asyncio
import time

import pytest

from holds import HoldStore, TtlPolicy
from holds.keys import resource_keys

pytestmark = pytest.mark.real_redis


async def test_redis_evicts_an_expired_hold_and_its_indexes(real_redis):
    policy = TtlPolicy(default_ms=300, min_ms=1, max_ms=1_000)
    store = HoldStore(real_redis, policy=policy)
    frozen = HoldStore(
        real_redis, policy=policy, clock=lambda: time.time() - 3600
    )  # never sees expiry itself
    hold = await store.acquire("et:ttl", 0, 60_000, "a")
    names = resource_keys("calproxy", "et:ttl").as_list()
    assert 0 < await real_redis.pttl(names[0]) <= 300
    assert await frozen.get("et:ttl", hold.uid) == hold
    await asyncio.sleep(0.6)
    assert await real_redis.exists(*names) == 0
    assert await frozen.get("et:ttl", hold.uid) is None
    assert await store.get("et:ttl", hold.uid) is None
    assert (await store.acquire("et:ttl", 0, 60_000, "b")).owner == "b"
