"""The shared TTL policy: stored in Redis, seen at once by HoldStores on other clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from holds import HoldStore, InvalidPolicy, PolicyStore, TtlPolicy
from holds.policy_watch import PolicyWatcher
from tests.holds.support import T0_MS, Clock

DEFAULTS = TtlPolicy(default_ms=60_000, min_ms=1_000, max_ms=600_000)


@pytest.fixture
async def other_client(redis, fake_server, request) -> AsyncIterator[aioredis.Redis]:
    """A second client (own connections) to the same server as ``redis``."""
    if isinstance(redis, fakeredis.FakeAsyncRedis):
        client = fakeredis.FakeAsyncRedis(server=fake_server)
    else:
        client = aioredis.Redis.from_url(request.getfixturevalue("redis_server").url)
    try:
        yield client
    finally:
        await client.aclose()


async def eventually(predicate, timeout_s: float = 5.0) -> None:
    """Wait for an asynchronous notification to take effect (not for a TTL)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_load_returns_defaults_until_changed(redis):
    policies = PolicyStore(redis, defaults=DEFAULTS)
    assert await policies.load() == DEFAULTS
    await policies.set_default(90_000)
    await policies.set_bounds(2_000, 300_000)
    await policies.set_override("et:1", 5_000)
    await policies.set_override("et:{2}", 7_000)
    policy = await policies.load()
    assert (policy.default_ms, policy.min_ms, policy.max_ms) == (90_000, 2_000, 300_000)
    assert dict(policy.overrides) == {"et:1": 5_000, "et:{2}": 7_000}
    await policies.set_override("et:1", None)
    assert dict((await policies.load()).overrides) == {"et:{2}": 7_000}


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.set_bounds(10, 5),
        lambda p: p.set_bounds(0, 5),
        lambda p: p.set_default(0),
        lambda p: p.set_override("r", -1),
    ],
)
async def test_invalid_changes_are_refused_and_not_stored(redis, change):
    policies = PolicyStore(redis, defaults=DEFAULTS)
    with pytest.raises(InvalidPolicy):
        await change(policies)
    assert await redis.exists(policies.key) == 0


async def test_change_through_one_client_is_seen_by_a_store_on_another(redis, other_client):
    operator = PolicyStore(other_client, defaults=DEFAULTS)
    clock = Clock()
    async with HoldStore(redis, clock=clock, policy=PolicyStore(redis, defaults=DEFAULTS)) as store:
        assert (await store.acquire("et:1", 0, 10, "a")).expires_at_ms == T0_MS + 60_000
        await operator.set_default(90_000)
        await operator.set_override("et:2", 4_000)

        async def seen() -> bool:
            policy = await store.policy()
            return policy.default_ms == 90_000 and "et:2" in policy.overrides

        await eventually(seen)
        assert (await store.acquire("et:1", 20, 30, "a")).expires_at_ms == T0_MS + 90_000
        assert (await store.acquire("et:2", 0, 10, "a")).expires_at_ms == T0_MS + 4_000
        await operator.set_bounds(1_000, 2_000)

        async def bounded() -> bool:
            return (await store.policy()).max_ms == 2_000

        await eventually(bounded)
        hold = await store.acquire("et:1", 40, 50, "a", ttl_ms=500_000)
        assert hold.expires_at_ms == T0_MS + 2_000
        assert (await store.extend("et:1", hold.uid, "a", ttl_ms=1)).expires_at_ms == T0_MS + 1_000


async def test_watcher_recheck_catches_a_change_without_a_message(redis):
    policies = PolicyStore(redis, defaults=DEFAULTS)
    watcher = PolicyWatcher(policies, recheck_s=0.05)
    try:
        assert (await watcher.current()).default_ms == 60_000
        await redis.hset(policies.key, "default", 33_000)  # no publish: as if the message was lost

        async def seen() -> bool:
            return (await watcher.current()).default_ms == 33_000

        await eventually(seen)
    finally:
        await watcher.aclose()


async def test_fixed_policy_never_touches_redis(fake_server):
    client = fakeredis.FakeAsyncRedis(server=fake_server)
    fixed = TtlPolicy(default_ms=5_000, min_ms=1_000, max_ms=9_000)
    store = HoldStore(client, policy=fixed)
    fake_server.connected = False
    assert await store.policy() is fixed
    await store.aclose()
    await client.aclose()


async def test_replace_writes_the_whole_policy_at_once_and_drops_unlisted_overrides(redis):
    defaults = TtlPolicy(default_ms=60_000, min_ms=1_000, max_ms=600_000, overrides={"et:9": 30_000})
    policies = PolicyStore(redis, defaults=defaults)
    await policies.set_override("et:1", 5_000)
    _, before = await policies.load_versioned()
    wanted = TtlPolicy(default_ms=90_000, min_ms=2_000, max_ms=300_000, overrides={"grp:a": 45_000})
    version = await policies.replace(wanted)
    assert version == before + 1
    # The stored override and the one from the defaults are both gone: a replace is complete.
    assert await policies.load_versioned() == (wanted, before + 1)


@pytest.mark.parametrize(
    "policy",
    [
        TtlPolicy(default_ms=700_000, min_ms=1_000, max_ms=600_000),
        TtlPolicy(default_ms=500, min_ms=1_000, max_ms=600_000),
        TtlPolicy(
            default_ms=60_000, min_ms=1_000, max_ms=600_000, overrides={"et:1": 5_000, "et:2": 900_000}
        ),
        TtlPolicy(default_ms=60_000, min_ms=1_000, max_ms=600_000, overrides={"": 5_000}),
    ],
)
async def test_replace_refuses_a_policy_outside_its_own_bounds_and_writes_nothing(redis, policy):
    policies = PolicyStore(redis, defaults=DEFAULTS)
    await policies.set_default(50_000)
    before = await redis.hgetall(policies.key)
    with pytest.raises(InvalidPolicy):
        await policies.replace(policy)
    assert await redis.hgetall(policies.key) == before


async def test_replace_with_a_stale_version_changes_nothing(redis):
    policies = PolicyStore(redis, defaults=DEFAULTS)
    _, seen = await policies.load_versioned()
    await policies.set_default(50_000)  # another operator got in first
    changed = TtlPolicy(default_ms=70_000, min_ms=1_000, max_ms=600_000)
    assert await policies.replace(changed, if_version=seen) is None
    assert (await policies.load()).default_ms == 50_000
    policy, current = await policies.load_versioned()
    assert await policies.replace(changed, if_version=current) == current + 1
    assert await policies.load() == changed


async def test_replace_through_one_client_is_seen_by_a_store_on_another(redis, other_client):
    operator = PolicyStore(other_client, defaults=DEFAULTS)
    async with HoldStore(redis, clock=Clock(), policy=PolicyStore(redis, defaults=DEFAULTS)) as store:
        assert (await store.policy()).default_ms == 60_000
        wanted = TtlPolicy(default_ms=3_000, min_ms=2_000, max_ms=4_000, overrides={"et:2": 2_500})
        await operator.replace(wanted)

        async def seen() -> bool:
            return await store.policy() == wanted

        await eventually(seen)
        assert (await store.acquire("et:1", 0, 10, "a")).expires_at_ms == T0_MS + 3_000
        assert (await store.acquire("et:2", 0, 10, "a")).expires_at_ms == T0_MS + 2_500
