"""LiveHolds: the in-memory view equals what Redis answers, follows every change in order, and re-reads (or
refuses to answer) whenever it cannot show it is current."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from holds import HoldConflict, HoldError, HoldState, HoldStore
from holds.keys import events_channel, resource_keys
from holds.live_view import Announcement, LiveHolds
from tests.holds.support import Clock, make_store

R = "et:1"
HOUR = 3_600_000
WINDOW = (0, 48 * HOUR)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def pair(redis: Redis, clock: Clock) -> AsyncIterator[tuple[HoldStore, LiveHolds]]:
    store = make_store(redis, clock, max_per_owner=2)
    view = LiveHolds(redis, store, clock=clock, audit_s=0.05)
    try:
        yield store, view
    finally:
        await view.aclose()


async def converged(view: LiveHolds, redis: Redis, resource: str = R, timeout_s: float = 3.0) -> None:
    """Wait until the view is current at Redis's version (announcements are asynchronous)."""
    meta = resource_keys("calproxy", resource).meta
    for _ in range(int(timeout_s / 0.005)):
        wanted = int(await redis.hget(meta, "v") or 0)
        if view.is_current(resource) and view.version(resource) == wanted:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"view not current: {view.version(resource)} vs {wanted}, {view.stats}")


def uids(holds: object) -> list[tuple[str, str, int, int, int, HoldState]]:
    return [(h.uid, h.owner, h.start_ms, h.end_ms, h.expires_at_ms, h.state) for h in holds]  # type: ignore[attr-defined]


async def test_first_use_answers_none_then_follows(pair: tuple[HoldStore, LiveHolds], redis: Redis) -> None:
    store, view = pair
    await store.acquire(R, 0, HOUR, "a")
    assert view.holds(R, *WINDOW) is None  # not followed yet: the caller reads Redis
    assert await view.wait_current(R)
    assert uids(view.holds(R, *WINDOW)) == uids(await store.live(R, *WINDOW))


async def test_a_resource_first_held_while_followed_needs_no_re_read(
    pair: tuple[HoldStore, LiveHolds], redis: Redis
) -> None:
    store, view = pair
    assert await view.wait_current("et:fresh")  # read empty: version 0
    syncs = view.stats.syncs
    await store.acquire("et:fresh", 0, HOUR, "a")  # a fresh sequence: announced as following 0
    await converged(view, redis, "et:fresh")
    assert view.stats.syncs == syncs and view.stats.gaps == 0
    assert [h.owner for h in view.holds("et:fresh", *WINDOW) or []] == ["a"]


async def test_every_operation_is_followed_in_order(
    pair: tuple[HoldStore, LiveHolds], redis: Redis, clock: Clock
) -> None:
    """Random operations of every kind; after each burst the view equals Redis's own read, per window."""
    store, view = pair
    assert await view.wait_current(R)
    rng = random.Random(7)
    held: list[tuple[str, str]] = []
    for burst in range(12):
        for _ in range(15):
            op = rng.choice(("acquire", "acquire", "release", "extend", "commit", "book", "mark", "force"))
            owner = rng.choice("abc")
            start = rng.randrange(0, 24) * HOUR // 2
            try:
                if op == "acquire":
                    hold = await store.acquire(
                        R, start, start + HOUR, owner, ttl_ms=rng.choice((5_000, 60_000))
                    )
                    held.append((hold.uid, owner))
                elif op == "mark":
                    await store.mark_booked(R, start, start + HOUR, ttl_ms=30_000)
                elif held:
                    uid, who = rng.choice(held)
                    if op == "release":
                        await store.release(R, uid, who)
                    elif op == "extend":
                        await store.extend(R, uid, who)
                    elif op == "force":
                        await store.force_release(R, uid)
                    else:
                        ticket = await store.begin_commit(R, uid, who, budget_ms=10_000)
                        if op == "book":
                            await store.finish_commit(R, uid, who, ticket.fence, booked_ttl_ms=20_000)
                        else:
                            await store.abort_commit(R, uid, who, ticket.fence)
            except (HoldConflict, HoldError):
                pass
        clock.advance(rng.choice((0, 1_000, 6_000)))  # some holds expire: the view lets them go by itself
        await converged(view, redis)
        for lo, hi in (WINDOW, (0, HOUR), (5 * HOUR, 7 * HOUR), (11 * HOUR, 11 * HOUR + 1)):
            assert uids(view.holds(R, lo, hi)) == uids(await store.live(R, lo, hi)), (burst, lo, hi)
    # Every change was applied from its announcement: a version that starts afresh (the resource's keys had
    # expired) says it follows 0, which a view that read the resource empty continues from; only a view
    # that still held an older version has to re-read.
    assert view.stats.applied > 40
    assert view.stats.gaps == 0 and view.stats.syncs == 1


async def test_a_missing_number_makes_it_re_read(pair: tuple[HoldStore, LiveHolds], redis: Redis) -> None:
    store, view = pair
    assert await view.wait_current(R)
    syncs = view.stats.syncs
    # A change whose announcement never arrived: the version moved, nothing was published.
    await redis.hincrby(resource_keys("calproxy", R).meta, "v", 1)
    keys = resource_keys("calproxy", R)
    await redis.hset(keys.holds, "ghost", "h|0|3600000|9999999999999|0|0|99|z")
    await redis.zadd(keys.by_start, {"ghost": 0})
    await store.acquire(R, 10 * HOUR, 11 * HOUR, "a")  # announced with a number one too far
    await converged(view, redis)
    assert view.stats.gaps >= 1
    assert view.stats.syncs > syncs
    # The re-read found what the announcements never said.
    assert uids(view.holds(R, *WINDOW)) == uids(await store.live(R, *WINDOW))
    assert "ghost" in {h.uid for h in view.holds(R, *WINDOW) or []}


async def test_the_audit_finds_a_lost_last_message(pair: tuple[HoldStore, LiveHolds], redis: Redis) -> None:
    store, view = pair
    await store.acquire(R, 0, HOUR, "a")
    assert await view.wait_current(R)
    await converged(view, redis)
    # Lost in transit and nothing follows it: only the audit can notice.
    await redis.hincrby(resource_keys("calproxy", R).meta, "v", 1)
    await redis.hdel(resource_keys("calproxy", R).holds, (await store.live(R, *WINDOW))[0].uid)
    await converged(view, redis)
    assert view.stats.audit_resyncs >= 1
    assert view.holds(R, *WINDOW) == []


async def test_a_malformed_announcement_makes_it_re_read(
    pair: tuple[HoldStore, LiveHolds], redis: Redis
) -> None:
    store, view = pair
    assert await view.wait_current(R)
    syncs = view.stats.syncs
    await redis.spublish(events_channel("calproxy", R), "garbage")
    for _ in range(200):
        if view.stats.syncs > syncs:
            break
        await asyncio.sleep(0.005)
    assert view.stats.syncs > syncs
    assert await view.wait_current(R)


def test_announcements_parse_strictly() -> None:
    assert Announcement.parse(b"5|4|10|d|u1") == Announcement(5, 4, 10, "d", "u1", None)
    assert Announcement.parse("6|5|10|s|u1|h|0|1|2|3|0|1|own|er").record == "h|0|1|2|3|0|1|own|er"
    for bad in ("", "x|0|1|s|u", "1|0|2|s|u", "1|0|2|d|u|rec", "1|0|2|q|u", "1|2|d|u"):
        with pytest.raises(ValueError):
            Announcement.parse(bad)


@pytest.mark.parametrize("redis", ["real"], indirect=True)
async def test_a_dropped_subscription_stops_answers_then_re_reads(
    pair: tuple[HoldStore, LiveHolds], redis: Redis
) -> None:
    store, view = pair
    view._retry_s = 0.3  # keep the outage visible for a moment
    await store.acquire(R, 0, HOUR, "a")
    assert await view.wait_current(R)
    reconnects = view.stats.reconnects
    await redis.client_kill_filter(_type="pubsub")
    for _ in range(200):
        if not view.is_current(R):
            break
        await asyncio.sleep(0.005)
    assert view.holds(R, *WINDOW) is None  # never a possibly stale answer
    await store.acquire(R, 2 * HOUR, 3 * HOUR, "b")  # made while nobody listened
    await converged(view, redis)
    assert view.stats.reconnects > reconnects
    assert [h.owner for h in view.holds(R, *WINDOW) or []] == ["a", "b"]


async def test_clock_estimate_never_runs_ahead(
    pair: tuple[HoldStore, LiveHolds], redis: Redis, clock: Clock
) -> None:
    store, view = pair
    assert await view.wait_current(R)
    await store.acquire(R, 0, HOUR, "a", ttl_ms=1_000)
    await converged(view, redis)
    assert view.redis_now_ms() <= clock.ms
    clock.advance(999)
    assert len(view.holds(R, *WINDOW) or []) == 1
    clock.advance(1)
    assert view.holds(R, *WINDOW) == []


async def test_expired_records_are_let_go(
    pair: tuple[HoldStore, LiveHolds], redis: Redis, clock: Clock
) -> None:
    """Nothing announces an expiry: the audit drops records past it, so memory follows the live holds."""
    store, view = pair
    assert await view.wait_current(R)
    for i in range(20):
        await store.acquire(R, i * HOUR, (i + 1) * HOUR, f"o{i}", ttl_ms=1_000)
    await converged(view, redis)
    assert view.size() == (1, 20)
    clock.advance(1_000)
    for _ in range(200):
        if view.size()[1] == 0:
            break
        await asyncio.sleep(0.005)
    assert view.size() == (1, 0)
    assert view.holds(R, *WINDOW) == []


async def test_an_idle_resource_is_forgotten_and_followed_again_on_use(redis: Redis, clock: Clock) -> None:
    store = make_store(redis, clock)
    view = LiveHolds(redis, store, clock=clock, audit_s=0.02, idle_s=0.1)
    try:
        assert await view.wait_current(R)
        clock.advance(200)  # the view's idle clock is the test's clock
        for _ in range(200):
            if view.size()[0] == 0:
                break
            await asyncio.sleep(0.005)
        assert view.size() == (0, 0)
        await asyncio.sleep(0.1)  # the listener idles with nothing subscribed
        await store.acquire(R, 0, HOUR, "a")
        assert view.holds(R, *WINDOW) is None  # followed again from here
        assert await view.wait_current(R)
        assert [h.owner for h in view.holds(R, *WINDOW) or []] == ["a"]
    finally:
        await view.aclose()
