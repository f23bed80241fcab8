"""Process heartbeats (proxy.liveness): a dead process is noticed by the others within its heartbeat's TTL."""

from __future__ import annotations

import asyncio

import fakeredis

from proxy.keys import ProxyKeys
from proxy.liveness import Liveness

KEYS = ProxyKeys("t")


async def test_a_process_without_a_heartbeat_is_dead_to_the_others() -> None:
    redis = fakeredis.FakeAsyncRedis()
    mine, other = Liveness(redis, KEYS, ttl_s=5), Liveness(redis, KEYS, ttl_s=0.2)
    await mine.beat()
    await other.beat()
    assert await mine.alive(other.process_id)
    assert await mine.dead() == []
    await asyncio.sleep(0.35)
    assert not await mine.alive(other.process_id)
    assert await mine.dead() == [other.process_id]
    assert await other.alive(other.process_id), "a process never takes itself for dead"


async def test_one_process_at_a_time_settles_a_death() -> None:
    redis = fakeredis.FakeAsyncRedis()
    a, b = Liveness(redis, KEYS), Liveness(redis, KEYS)
    assert await a.claim_sweep("gone")
    assert not await b.claim_sweep("gone")
    await a.forget("gone")
    assert await b.claim_sweep("gone")


async def test_beating_settles_the_dead_and_forgets_them_only_once_settled() -> None:
    redis = fakeredis.FakeAsyncRedis()
    dead = Liveness(redis, KEYS, ttl_s=0.1)
    await dead.beat()
    await asyncio.sleep(0.2)
    calls: list[str] = []
    answers = iter([False, True])

    async def on_death(process_id: str) -> bool:
        calls.append(process_id)
        if len(calls) == 1:
            await redis.delete(KEYS.process_sweep(process_id))  # let the next beat try again at once
        return next(answers)

    survivor = Liveness(redis, KEYS)
    async with survivor.beating(on_death, every_s=0.05):
        for _ in range(100):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.02)
        assert await redis.sismember(KEYS.processes(), survivor.process_id)
    assert calls == [dead.process_id, dead.process_id]
    assert not await redis.sismember(KEYS.processes(), dead.process_id), "forgotten once settled"
    # A clean stop leaves nothing behind: no heartbeat, no announcement.
    assert not await redis.exists(KEYS.process_alive(survivor.process_id))
    assert not await redis.sismember(KEYS.processes(), survivor.process_id)
