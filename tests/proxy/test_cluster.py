"""calproxy on a real Redis Cluster (3 masters, 3 replicas): the end-to-end scenarios, and a master killed.

The proxy connects with `CALPROXY_REDIS_CLUSTER=1` (redis-py's RedisCluster) to one node of a local cluster
started by `tests/redis_cluster.py`. Every key of one resource (holds, ledger, idempotency records) shares
the resource's hash slot; a master killed mid-run makes requests fail closed (503) until its replica took
over, then the proxy serves again by itself, and no caller was told "booked" for a booking that is not
exactly in the simulator.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from holds import PolicyStore, TtlPolicy
from holds.keys import resource_keys
from holds.policy_watch import PolicyWatcher
from proxy.app import connect_redis
from proxy.calcom.timefmt import parse_instant
from proxy.idempotency import digest
from proxy.ledger import CommitState
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from tests.proxy.conftest import Stack, StackFactory, next_weekday
from tests.redis_cluster import RedisClusterProcesses, cluster_binaries, start_redis_cluster

pytestmark = [pytest.mark.real_redis, pytest.mark.slow]

BERLIN = "Europe/Berlin"
DAY = next_weekday(21, weekday=1)
RESOURCE = "grp:host-1"  # event types 1001 and 1002 (conftest.GROUPS)
_prefixes = itertools.count()


def berlin(hhmm: str, day: date = DAY) -> str:
    local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def booking(start: str, name: str, event_type_id: int = 1001) -> dict[str, Any]:
    attendee = {"name": name, "email": f"{name.lower()}@example.com", "timeZone": BERLIN}
    return {"eventTypeId": event_type_id, "start": start, "attendee": attendee}


def live(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in truth if b["status"] != "cancelled"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterProcesses]:
    """One cluster for the module (the failover test runs last: it leaves a master dead)."""
    if not cluster_binaries():
        pytest.skip("redis-server and redis-cli are not installed")
    started = start_redis_cluster()
    try:
        yield started
    finally:
        started.stop()


async def cluster_stack(
    make_stack: StackFactory, cluster: RedisClusterProcesses, sim: SimConfig | None = None, **settings: Any
) -> Stack:
    """Simulator + proxy on the cluster, in a keyspace of its own (a fresh prefix per test)."""
    values = {
        "redis_url": cluster.url,
        "redis_cluster": True,
        "key_prefix": f"ct{next(_prefixes)}-{int(time.time())}",
        **settings,
    }
    stack = await make_stack(sim=sim, settings=values)
    assert type(stack.services.redis).__name__ == "RedisCluster"
    return stack


async def keyslot(stack: Stack, key: str) -> int:
    client: Any = stack.services.redis  # a RedisCluster: CLUSTER KEYSLOT asks the server, not redis-py
    return int(await client.execute_command("CLUSTER KEYSLOT", key))


async def test_100_concurrent_quotes_of_one_slot_make_exactly_one_hold(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    stack = await cluster_stack(make_stack, cluster)
    body = {"eventTypeId": 1002, "start": berlin("10:00"), "timeZone": BERLIN, "alternatives": 0}
    answers = await asyncio.gather(*(stack.quote(f"caller-{i}", **body) for i in range(100)))
    assert len([a for a in answers if a["available"]]) == 1
    assert {a["reason"] for a in answers if not a["available"]} == {"held"}
    assert len(await stack.services.holds.live(RESOURCE, 0, 2**62)) == 1
    # The quote rates were counted in the cluster (limits' storage on the proxy's own cluster client).
    prefix = stack.services.keys.rate_limit_prefix()
    assert [key async for key in stack.services.redis.scan_iter(match=f"{prefix}*")]


async def test_the_live_view_follows_holds_over_sharded_pub_sub(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    """Issue 12 on Redis Cluster: the view subscribes with SSUBSCRIBE on the resource's shard, reads it, and
    answers from memory; a quote's hold reaches it as an announcement (not a re-read)."""
    stack = await cluster_stack(make_stack, cluster)
    view = stack.services.availability.live_view
    assert view is not None
    day = berlin("10:00")[:10]
    query = {"eventTypeId": "1002", "start": day, "end": day, "timeZone": BERLIN}
    await stack.proxy.get("/v2/slots", params=query, headers={"cal-api-version": "2024-09-04"})
    assert await view.wait_current(RESOURCE, timeout_s=10)
    syncs, applied = view.stats.syncs, view.stats.applied
    await stack.quote("viewer", eventTypeId=1002, start=berlin("10:00"), timeZone=BERLIN)
    for _ in range(400):
        if view.stats.applied > applied:
            break
        await asyncio.sleep(0.005)
    assert view.stats.applied > applied and view.stats.syncs == syncs
    held = view.holds(RESOURCE, 0, 2**62)
    in_redis = await stack.services.holds.live(RESOURCE, 0, 2**62)
    assert held is not None and [h.uid for h in held] == [h.uid for h in in_redis]
    listed = await stack.proxy.get("/v2/slots", params=query, headers={"cal-api-version": "2024-09-04"})
    starts = [slot["start"] for slot in listed.json()["data"][day]]
    assert berlin("11:00") in starts and berlin("10:00") not in starts  # hidden from everyone else
    assert view.stats.served > 0


async def test_racing_commits_confirm_exactly_one(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    # The simulator's race window lets concurrent creates of one slot all land: only the proxy stops them.
    stack = await cluster_stack(make_stack, cluster, sim=SimConfig(rate_limit=0, race_window_ms=300))
    start = berlin("12:00")
    answers = await asyncio.gather(*(stack.book(f"p{i}", booking(start, f"P{i}")) for i in range(20)))
    codes = [r.status_code for r in answers]
    assert codes.count(201) == 1, codes
    assert set(codes) == {201, 409}, codes
    at_noon = [b for b in live(await stack.truth()) if parse_instant(b["start"]) == parse_instant(start)]
    assert len(at_noon) == 1
    (won,) = [r for r in answers if r.status_code == 201]
    assert at_noon[0]["uid"] == won.json()["data"]["uid"]


async def test_shift_faults_never_confirm_and_every_shifted_booking_is_cancelled(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    stack = await cluster_stack(
        make_stack, cluster, sim=SimConfig(rate_limit=0, faults=FaultRates(shift=1.0))
    )
    for i, hhmm in enumerate(("09:00", "10:00", "11:30", "14:00", "15:30")):
        await stack.quote(f"c{i}", eventTypeId=1001, start=berlin(hhmm), timeZone=BERLIN)
        response = await stack.book(f"c{i}", booking(berlin(hhmm), f"Caller{i}"))
        assert response.status_code == 409, response.text
        assert response.json()["error"]["details"]["compensated"] is True
    truth = await stack.truth()
    assert len(truth) == 5 and live(truth) == []
    entries = [e async for e in stack.services.ledger.entries()]
    assert len(entries) == 5 and {e.state for e in entries} == {CommitState.COMPENSATED}


async def test_ledger_and_idempotency_keys_share_the_resource_slot(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    stack = await cluster_stack(make_stack, cluster)
    services = stack.services
    first = await stack.book("k", booking(berlin("13:00"), "Kim"), **{"Idempotency-Key": "key-1"})
    assert first.status_code == 201, first.text
    uid = first.json()["data"]["uid"]
    replay = await stack.book("k", booking(berlin("13:00"), "Kim"), **{"Idempotency-Key": "key-1"})
    assert replay.status_code == 201 and replay.json()["data"]["uid"] == uid
    (entry,) = [e async for e in services.ledger.entries()]
    assert entry.resource == RESOURCE and entry.booking_uid == uid and entry.state is CommitState.CONFIRMED
    tenant = entry.tenant
    keys = services.keys
    resource_slot = await keyslot(stack, resource_keys(services.settings.key_prefix, RESOURCE).holds)
    own = [
        keys.ledger(RESOURCE),
        keys.ledger_by_booking(RESOURCE),
        keys.idempotency(RESOURCE, tenant, digest("key-1")),
    ]
    for key in own:
        assert await services.redis.exists(key) == 1, key
        assert await keyslot(stack, key) == resource_slot, key
    # The registry and the locator live elsewhere: `find_booking` works with the locator and without it.
    assert (await services.ledger.find_booking(uid)) == entry
    await services.redis.hdel(keys.ledger_locator(), uid)
    assert (await services.ledger.find_booking(uid)) == entry
    assert (await services.ledger.get(entry.commit_id)) == entry


async def test_policy_change_reaches_another_client_by_pubsub(cluster: RedisClusterProcesses) -> None:
    # PUBLISH is broadcast to every node of a cluster, so the watcher hears it whichever node it is on.
    prefix = f"ct{next(_prefixes)}-policy"
    defaults = TtlPolicy(default_ms=60_000, min_ms=5_000, max_ms=600_000)
    writer_client, reader_client = (connect_redis(cluster.url, cluster=True) for _ in range(2))
    watcher = PolicyWatcher(PolicyStore(reader_client, prefix=prefix, defaults=defaults), recheck_s=60)
    try:
        assert (await watcher.current()).default_ms == 60_000
        await asyncio.sleep(0.2)  # the watcher subscribes in the background
        writer = PolicyStore(writer_client, prefix=prefix, defaults=defaults)
        await writer.replace(TtlPolicy(default_ms=42_000, min_ms=5_000, max_ms=600_000))
        deadline = time.monotonic() + 5  # far below the 60 s recheck: only the message can explain it
        while (await watcher.current()).default_ms != 42_000:
            assert time.monotonic() < deadline, "the policy change was not heard"
            await asyncio.sleep(0.02)
    finally:
        await watcher.aclose()
        await writer_client.aclose()
        await reader_client.aclose()


@dataclass
class Attempt:
    """One request of the failover run."""

    kind: str  # "quote" or "book"
    started: float
    ended: float
    status: int
    start: str
    uid: str | None = None


@dataclass
class FailoverLoad:
    """Four workers quoting a slot and racing two commits of it, slot after slot; every answer recorded."""

    stack: Stack
    plan: Iterator[str]
    attempts: list[Attempt] = field(default_factory=list)
    # Client-side failures (timeouts): recorded, never swallowed. A worker that died on one silently ended the
    # run twice in CI (no request completed after the failover, cause unknown).
    errors: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def worker(self, w: int) -> None:
        for n in itertools.count():
            start = None if self.stop.is_set() else next(self.plan, None)
            if start is None:
                return
            a, b = f"w{w}-{n}-a", f"w{w}-{n}-b"
            quote = {"eventTypeId": 1001, "start": start, "timeZone": BERLIN, "alternatives": 0}
            await self._timed("quote", start, "/calproxy/v1/quote", quote, a)
            # The quoting caller and a rival race the commit of the same slot.
            await asyncio.gather(
                self._timed("book", start, "/v2/bookings", booking(start, f"A{w}x{n}"), a),
                self._timed("book", start, "/v2/bookings", booking(start, f"B{w}x{n}"), b),
            )
            await asyncio.sleep(0.01)

    async def _timed(self, kind: str, start: str, path: str, body: dict[str, Any], call_id: str) -> None:
        began = time.monotonic()
        headers = {"cal-api-version": "2024-08-13", "X-Call-Id": call_id}
        try:
            # Longer than the stack's 10 s: a request slowed by the failover is measured, not cut short.
            response = await self.stack.proxy.post(path, json=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            self.errors.append(f"{kind} {type(exc).__name__} after {time.monotonic() - began:.2f} s")
            self.attempts.append(Attempt(kind, began, time.monotonic(), 0, start, None))
            return
        uid = response.json()["data"]["uid"] if kind == "book" and response.status_code == 201 else None
        self.attempts.append(Attempt(kind, began, time.monotonic(), response.status_code, start, uid))


def recovered_after(attempts: list[Attempt], takeover_at: float) -> list[Attempt]:
    """Bookings made after the proxy was serving again: started after the replica took over and after the
    last 503 of a request that itself started after the takeover. A request in flight across the takeover
    may still fail closed a little later (one answered 503 1.1 s after it under load), which says nothing
    of the requests begun since."""
    failed_since = [x.ended for x in attempts if x.status == 503 and x.started >= takeover_at]
    late = max(failed_since, default=takeover_at)
    return [x for x in attempts if x.status == 201 and x.started > late]


def timeline(attempts: list[Attempt], since: float) -> list[str]:
    """Each attempt as `kind status +started..+ended` seconds after `since` (for a failure's message)."""
    return [
        f"{x.kind} {x.status} +{x.started - since:.2f}..+{x.ended - since:.2f}"
        for x in sorted(attempts, key=lambda x: x.started)
    ]


def slot_plan(days: int = 12) -> Iterator[str]:
    """Every 30-minute slot of event type 1001 over `days` weekdays, far enough ahead."""
    day = next_weekday(28)
    made = 0
    while made < days:
        if day.weekday() < 5:
            made += 1
            for minutes in range(9 * 60, 17 * 60, 30):
                yield berlin(f"{minutes // 60:02d}:{minutes % 60:02d}", day)
        day += timedelta(days=1)


async def test_master_killed_mid_run_fails_closed_then_serves_again_and_never_confirms_falsely(
    make_stack: StackFactory, cluster: RedisClusterProcesses
) -> None:
    stack = await cluster_stack(
        make_stack,
        cluster,
        resource_share=1.0,
        max_holds_per_tenant=100_000,
        hold_ttl_default_s=30,
    )
    prefix = stack.services.settings.key_prefix
    holds_key = resource_keys(prefix, RESOURCE).holds
    slot = cluster.keyslot(holds_key)
    old_master = cluster.master_of_slot(slot)
    load = FailoverLoad(stack, slot_plan())
    attempts, errors, stop, clock = load.attempts, load.errors, load.stop, time.monotonic
    workers = [asyncio.create_task(load.worker(w)) for w in range(4)]
    try:
        # Warm up: bookings flow.
        deadline = clock() + 15
        while sum(1 for x in attempts if x.status == 201) < 4 and clock() < deadline:
            await asyncio.sleep(0.05)
        assert any(x.status == 201 for x in attempts), [x.status for x in attempts]
        killed_at = clock()
        await asyncio.to_thread(cluster.kill_master_of, holds_key)
        failover_s = await asyncio.to_thread(cluster.wait_failover, slot, old_master)
        # Served again by itself: bookings succeed again after the failover, without any restart.
        deadline = clock() + 20
        while clock() < deadline and len(recovered_after(attempts, killed_at + failover_s)) < 3:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)

    after = [x for x in attempts if x.ended >= killed_at]
    failed = [x for x in after if x.status == 503]
    first_ok = min((x.ended for x in after if x.status == 201 and x.started >= killed_at), default=None)
    last_503 = max((x.ended for x in failed), default=killed_at)
    print(
        f"\nfailover: replica took over {failover_s:.2f} s after the kill; {len(failed)} requests 503;"
        f" last 503 at +{last_503 - killed_at:.2f} s; first booking after the kill at"
        f" +{(first_ok or 0) - killed_at:.2f} s; {len(attempts)} requests in all"
    )
    statuses = {x.status for x in attempts}
    assert statuses <= {200, 201, 409, 503}, (statuses, errors)
    assert failed, "requests in flight during the failover fail closed (503)"
    recovered = recovered_after(attempts, killed_at + failover_s)
    assert recovered, (
        "the proxy serves bookings again after the failover, without a restart",
        errors,
        timeline(after, killed_at),
    )

    # Nothing falsely confirmed: every 201 is a live booking in the simulator, exactly at its start, and no
    # slot was confirmed twice.
    confirmed = [x for x in attempts if x.status == 201]
    truth = {b["uid"]: b for b in await stack.truth()}
    for x in confirmed:
        found = truth.get(x.uid or "")
        assert found is not None and found["status"] != "cancelled", x
        assert parse_instant(found["start"]) == parse_instant(x.start), x
    assert len({x.start for x in confirmed}) == len(confirmed)
    starts = sorted(parse_instant(b["start"]) for b in live(list(truth.values())))
    assert len(starts) == len(set(starts)), "no two live bookings of host 1 at one instant"
    # Replication is asynchronous: a write a master acknowledged just before it died can be missing on
    # its replica. Reported, not asserted (ARCHITECTURE: Redis Cluster).
    ledger = stack.services.ledger
    entries = [await ledger.find_booking(x.uid or "") for x in confirmed]
    unrecorded = [
        x.uid
        for x, e in zip(confirmed, entries, strict=True)
        if e is None or e.state is not CommitState.CONFIRMED
    ]
    print(
        f"confirmed bookings: {len(confirmed)}; not CONFIRMED in the ledger after the failover:"
        f" {len(unrecorded)}"
    )
