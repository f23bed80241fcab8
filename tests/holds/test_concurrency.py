"""Concurrency on a real redis-server, with exact counts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from holds import HoldConflict, HoldNotOwned, HoldStore
from tests.holds.support import Clock, make_store
from tests.redis_server import RedisServer

pytestmark = pytest.mark.real_redis

R = "event-type:1"
MINUTE = 60_000
N = 200


@pytest.fixture
async def stores(real_redis, redis_server: RedisServer) -> AsyncIterator[list[HoldStore]]:
    """Four stores on four separate clients (own connection pools) sharing one clock."""
    clients = [real_redis] + [aioredis.Redis.from_url(redis_server.url) for _ in range(3)]
    clock = Clock()
    try:
        yield [make_store(client, clock) for client in clients]
    finally:
        for client in clients[1:]:
            await client.aclose()


async def attempt(store: HoldStore, start: int, end: int, owner: str) -> tuple[int, int] | None:
    try:
        hold = await store.acquire(R, start, end, owner)
    except HoldConflict:
        return None
    return (hold.start_ms, hold.end_ms)


async def test_one_slot_has_exactly_one_winner(stores):
    results = await asyncio.gather(
        *(
            attempt(stores[i % len(stores)], 13 * 60 * MINUTE, 14 * 60 * MINUTE, f"caller-{i}")
            for i in range(N)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert len(await stores[0].live(R, 0, 24 * 60 * MINUTE)) == 1


async def test_overlapping_intervals_of_distinct_owners_never_overlap(stores):
    rng = random.Random(7)
    grid = 15 * MINUTE
    asks = []
    for _ in range(N):
        start = rng.randrange(0, 8 * 60 * MINUTE, grid)
        asks.append((start, start + rng.choice([30, 45, 60, 120]) * MINUTE))
    results = await asyncio.gather(
        *(attempt(stores[i % len(stores)], s, e, f"caller-{i}") for i, (s, e) in enumerate(asks))
    )
    winners = sorted(r for r in results if r is not None)
    assert winners, "somebody must win"
    for (_, prev_end), (next_start, _) in zip(winners, winners[1:], strict=False):
        assert prev_end <= next_start, winners
    # Every loser lost to a hold that still stands (nothing was released), i.e. to a winner.
    for ask, result in zip(asks, results, strict=True):
        if result is None:
            assert any(ask[0] < w_end and w_start < ask[1] for w_start, w_end in winners), ask
    stored = [(h.start_ms, h.end_ms) for h in await stores[0].live(R, 0, 24 * 60 * MINUTE)]
    assert stored == winners


async def test_non_owners_never_release_or_extend(stores):
    owner_store = stores[0]
    hold = await owner_store.acquire(R, 0, 60 * MINUTE, "owner", ttl_ms=30_000)

    async def intrude(i: int) -> str:
        store = stores[i % len(stores)]
        try:
            if i % 2:
                await store.release(R, hold.uid, f"intruder-{i}")
            else:
                await store.extend(R, hold.uid, f"intruder-{i}", ttl_ms=600_000)
        except HoldNotOwned:
            return "refused"
        return "succeeded"

    async def owner_extends() -> str:
        await owner_store.extend(R, hold.uid, "owner", ttl_ms=40_000)
        return "owner"

    outcomes = await asyncio.gather(*(intrude(i) for i in range(N)), owner_extends())
    assert outcomes.count("refused") == N
    assert outcomes.count("owner") == 1
    after = await owner_store.get(R, hold.uid)
    assert after is not None and after.owner == "owner"
    assert after.expires_at_ms == hold.expires_at_ms + 10_000


async def test_concurrent_commits_get_distinct_increasing_fences(stores):
    holds = [
        await stores[0].acquire(R, i * 60 * MINUTE, (i + 1) * 60 * MINUTE, f"c{i}", ttl_ms=60_000)
        for i in range(50)
    ]
    tickets = await asyncio.gather(
        *(stores[i % 4].begin_commit(R, h.uid, f"c{i}", budget_ms=10_000) for i, h in enumerate(holds))
    )
    fences = sorted(t.fence for t in tickets)
    assert fences == list(range(fences[0], fences[0] + 50))
