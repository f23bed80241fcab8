"""HoldStore behaviour beyond single script rows: indexes, key expiry, errors, isolation."""

from __future__ import annotations

import fakeredis
import pytest
from redis.crc import key_slot

from holds import (
    HoldConflict,
    HoldNotFound,
    HoldNotOwned,
    HoldState,
    HoldStore,
    HoldStoreUnavailable,
    InvalidHold,
    TtlPolicy,
)
from holds.keys import resource_keys
from holds.scripts import CallContext, decode_reply
from tests.holds.support import T0_MS, Clock, make_store

R = "event-type:7"
HOUR = 3_600_000


async def test_conflict_reports_latest_blocker_expiry_and_never_an_owner(redis):
    clock = Clock()
    store = make_store(redis, clock)
    await store.acquire(R, 0, HOUR, "secret-owner-1", ttl_ms=10_000)
    await store.acquire(R, HOUR, 2 * HOUR, "secret-owner-2", ttl_ms=50_000)
    with pytest.raises(HoldConflict) as info:
        await store.acquire(R, HOUR // 2, HOUR + HOUR // 2, "me")
    err = info.value
    assert (err.expires_at_ms, err.booked, err.resource, err.uid) == (T0_MS + 50_000, False, R, None)
    assert (err.start_ms, err.end_ms) == (HOUR // 2, HOUR + HOUR // 2)
    assert "secret-owner" not in str(err) and "secret-owner" not in repr(vars(err))


async def test_conflict_with_hold_and_marker_says_booked(redis):
    store = make_store(redis, Clock())
    await store.acquire(R, 0, HOUR, "other")
    await store.mark_booked(R, HOUR, 2 * HOUR, ttl_ms=5_000)
    with pytest.raises(HoldConflict) as info:
        await store.acquire(R, 0, 2 * HOUR, "me")
    assert info.value.booked is True
    assert info.value.expires_at_ms == T0_MS + 60_000


async def test_not_owned_error_names_the_hold_not_its_owner(redis):
    store = make_store(redis, Clock())
    hold = await store.acquire(R, 0, HOUR, "secret-owner")
    with pytest.raises(HoldNotOwned) as info:
        await store.release(R, hold.uid, "intruder")
    assert (info.value.resource, info.value.uid) == (R, hold.uid)
    assert "secret-owner" not in str(info.value)


async def test_every_key_expires_with_the_latest_hold(redis):
    clock = Clock()
    store = make_store(redis, clock)
    first = await store.acquire(R, 0, HOUR, "a", ttl_ms=10_000)
    await store.acquire(R, HOUR, 2 * HOUR, "b", ttl_ms=40_000)
    ticket = await store.begin_commit(R, first.uid, "a", budget_ms=20_000)
    assert ticket.fence > 0
    names = resource_keys("calproxy", R).as_list()
    ttls = [await redis.pttl(name) for name in names]
    present = [name for name, ttl in zip(names, ttls, strict=True) if ttl != -2]
    assert len(present) == 5
    assert all(39_000 < ttl <= 40_000 for ttl in ttls), ttls
    # Releasing the longest hold shortens the lifetime to the remaining latest expiry.
    await store.force_release(R, (await store.live(R, HOUR, 2 * HOUR))[0].uid)
    for name in names:
        ttl = await redis.pttl(name)
        assert ttl == -2 or 19_000 < ttl <= 20_000, (name, ttl)


async def test_all_keys_of_a_resource_share_one_cluster_slot(redis):
    store = make_store(redis, Clock())
    for resource in ("a", "b:{c}", "x%7D"):
        hold = await store.acquire(resource, 0, HOUR, "o")
        await store.begin_commit(resource, hold.uid, "o", budget_ms=1_000)
    slots: dict[str, set[int]] = {}
    async for key in redis.scan_iter(match="calproxy:*"):
        tag = key.split(b"{", 1)[1].split(b"}", 1)[0]
        slots.setdefault(tag.decode(), set()).add(key_slot(key))
    assert sorted(slots) == ["a", "b:%7Bc%7D", "x%257D"]
    assert all(len(s) == 1 for s in slots.values())


async def test_expired_holds_are_pruned_by_writes_in_bounded_batches_never_by_reads(redis):
    clock = Clock()
    store = make_store(redis, clock)
    for i in range(40):
        await store.acquire(R, i * HOUR, (i + 1) * HOUR, f"owner{i}", ttl_ms=1_000)
    # A long-lived hold keeps the keys alive; otherwise Redis would drop them all 1 ms later.
    await store.acquire(R, 100 * HOUR, 101 * HOUR, "keeper", ttl_ms=600_000)
    keys = resource_keys("calproxy", R)
    clock.advance(1_000)
    # Reads write nothing (they run as EVALSHA_RO): the expired records stay until a write prunes them.
    assert [h.owner for h in await store.live(R, 0, 200 * HOUR)] == ["keeper"]
    assert await redis.zcard(keys.by_expiry) == 41
    # A write with nothing else to do (releasing an absent hold) prunes at most 32 per call.
    with pytest.raises(HoldNotFound):
        await store.release(R, "absent", "nobody")
    assert await redis.zcard(keys.by_expiry) == 9
    assert await redis.hlen(keys.holds) == 9
    with pytest.raises(HoldNotFound):
        await store.release(R, "absent", "nobody")
    assert await redis.zcard(keys.by_expiry) == 1
    assert await redis.zcard(keys.by_start) == 1


async def test_fences_keep_increasing_after_an_idle_resource_vanished(redis):
    clock = Clock()
    store = make_store(redis, clock)
    hold = await store.acquire(R, 0, HOUR, "a")
    fences = []
    for _ in range(3):
        ticket = await store.begin_commit(R, hold.uid, "a", budget_ms=1_000)
        fences.append(ticket.fence)
        await store.abort_commit(R, hold.uid, "a", ticket.fence)
    assert fences == sorted(set(fences))
    await redis.delete(*resource_keys("calproxy", R).as_list())  # what Redis does once everything expired
    clock.advance(1)
    hold = await store.acquire(R, 0, HOUR, "a")
    assert (await store.begin_commit(R, hold.uid, "a", budget_ms=1_000)).fence > fences[-1]


async def test_resources_lists_each_resource_with_holds_once(redis):
    store = make_store(redis, Clock())
    other = make_store(redis, Clock(), prefix="other")
    for resource in ("et:1", "et:{2}", "et:1"):
        await store.mark_booked(resource, 0, HOUR, ttl_ms=1_000)
    await other.acquire("et:3", 0, HOUR, "o")
    assert sorted([r async for r in store.resources()]) == ["et:1", "et:{2}"]
    assert [r async for r in other.resources()] == ["et:3"]


async def test_prefixes_isolate_stores(redis):
    a = make_store(redis, Clock(), prefix="tenant-a")
    b = make_store(redis, Clock(), prefix="tenant-b")
    await a.acquire(R, 0, HOUR, "x")
    assert (await b.acquire(R, 0, HOUR, "y")).owner == "y"


async def test_owner_cap_is_configurable(redis):
    store = make_store(redis, Clock(), max_per_owner=1)
    first = await store.acquire(R, 0, HOUR, "a")
    await store.acquire(R, HOUR, 2 * HOUR, "a")
    assert await store.get(R, first.uid) is None
    assert [h.start_ms for h in await store.live(R, 0, 2 * HOUR)] == [HOUR]


async def test_booked_marker_from_a_commit_has_the_hold_uid(redis):
    store = make_store(redis, Clock())
    hold = await store.acquire(R, 0, HOUR, "a")
    ticket = await store.begin_commit(R, hold.uid, "a", budget_ms=5_000)
    await store.finish_commit(R, hold.uid, "a", ticket.fence, booked_ttl_ms=5_000)
    [marker] = await store.live(R, 0, HOUR)
    assert (marker.uid, marker.state) == (hold.uid, HoldState.BOOKED)


async def test_client_with_decoded_responses_works(fake_server):
    client = fakeredis.FakeAsyncRedis(server=fake_server, decode_responses=True)
    store = make_store(client, Clock())
    hold = await store.acquire(R, 0, HOUR, "a")
    assert await store.get(R, hold.uid) == hold
    assert await store.live(R, 0, HOUR) == [hold]
    assert [r async for r in store.resources()] == [R]
    await client.aclose()


async def test_redis_outage_raises_unavailable_with_cause(fake_server):
    client = fakeredis.FakeAsyncRedis(server=fake_server)
    store = make_store(client, Clock())
    fake_server.connected = False
    for call in (
        store.acquire(R, 0, HOUR, "a"),
        store.release(R, "abc", "a"),
        store.get(R, "abc"),
        store.live(R, 0, HOUR),
    ):
        with pytest.raises(HoldStoreUnavailable) as info:
            await call
        assert info.value.__cause__ is not None
        assert info.value.resource == R
    await client.aclose()


def test_unknown_or_malformed_script_replies_raise():
    ctx = CallContext(R, "u")
    with pytest.raises(RuntimeError, match="unknown script reply code 99"):
        decode_reply([99], ctx)
    with pytest.raises(RuntimeError, match="malformed"):
        decode_reply(None, ctx)
    with pytest.raises(RuntimeError, match="malformed"):
        decode_reply([], ctx)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_per_owner": 0}, {"prefix": "a{b"}, {"prefix": ""}],
)
def test_bad_constructor_arguments_are_refused(kwargs):
    with pytest.raises(InvalidHold):
        HoldStore(fakeredis.FakeAsyncRedis(), policy=TtlPolicy(1, 1, 1), **kwargs)


async def test_invalid_arguments_never_reach_redis(fake_server):
    client = fakeredis.FakeAsyncRedis(server=fake_server)
    store = make_store(client, Clock())
    fake_server.connected = False  # any Redis call would raise HoldStoreUnavailable instead
    for call in (
        store.acquire(R, 10, 5, "a"),
        store.acquire(R, 0, 5, ""),
        store.acquire(R, 0, 5, "a", ttl_ms=0),
        store.acquire(R, 0, 5, "a", uid="not a uid"),
        store.acquire("", 0, 5, "a"),
        store.extend(R, "u", "a\0b"),
        store.begin_commit(R, "u", "a", budget_ms=0),
        store.finish_commit(R, "u", "a", 1, booked_ttl_ms=-1),
        store.mark_booked(R, 0, 5, ttl_ms=0),
        store.live(R, 5, 5),
    ):
        with pytest.raises(InvalidHold):
            await call
    await client.aclose()


async def test_default_policy_applies_without_one(redis):
    store = HoldStore(redis, clock=Clock())
    hold = await store.acquire(R, 0, HOUR, "a")
    assert hold.expires_at_ms == T0_MS + 120_000
    assert (await store.policy()).default_ms == 120_000
