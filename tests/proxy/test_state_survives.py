"""State that survives a Redis restart with append-only persistence, and a loss that is noticed, not silent.

A real redis-server with AOF is restarted mid-run (SIGTERM and SIGKILL): holds, ledger entries and
idempotency records are still there and the proxy serves again by itself. Without persistence the restart
comes back empty: the state guard notices (sentinel gone), counts it and asks for a reconciliation, and
nothing is confirmed falsely or booked twice meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from proxy.ledger import CommitState
from proxy.state_guard import StateChange
from tests.proxy.conftest import Stack, StackFactory, next_weekday
from tests.redis_server import RedisServer, start_redis_server

pytestmark = [pytest.mark.real_redis]

DAY = next_weekday(35, weekday=2)
BERLIN = "Europe/Berlin"
# appendfsync always: the test kills the server right after writing; `everysec` (compose's choice) may lose
# up to about a second of writes on SIGKILL, which the README states.
AOF = ("--appendonly", "yes", "--appendfsync", "always")


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def booking(hhmm: str, name: str) -> dict[str, Any]:
    attendee = {"name": name, "email": f"{name.lower()}@example.com", "timeZone": BERLIN}
    return {"eventTypeId": 1001, "start": berlin(hhmm), "attendee": attendee}


@pytest.fixture
def aof_server() -> Iterator[RedisServer]:
    server = start_redis_server(*AOF)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client_of() -> AsyncIterator[Any]:
    clients: list[aioredis.Redis] = []

    def make(server: RedisServer) -> aioredis.Redis:
        client = aioredis.Redis.from_url(server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def serving_again(stack: Stack, timeout_s: float = 15.0) -> None:
    """Poll /readyz until Redis answers again (the client reconnects by itself)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (await stack.proxy.get("/readyz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "the proxy did not serve again"
        await asyncio.sleep(0.1)


async def live_bookings(stack: Stack) -> list[dict[str, Any]]:
    return [b for b in await stack.truth() if b["status"] != "cancelled"]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_aof_restart_keeps_holds_ledger_and_idempotency(
    make_stack: StackFactory, aof_server: RedisServer, client_of: Any, kill: bool
) -> None:
    stack = await make_stack(redis=client_of(aof_server), settings={"state_check_s": 0.2})
    held = await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    assert held["available"] is True
    first = await stack.book("B", booking("11:00", "Bea"), **{"Idempotency-Key": "survives-1"})
    assert first.status_code == 201, first.text
    uid = first.json()["data"]["uid"]

    aof_server.restart(kill=kill)
    await serving_again(stack)

    svc = stack.services
    await svc.state_guard.check()
    restarted = svc.metrics.redis_state_changes.labels(change=StateChange.RESTARTED.value)._value.get()
    assert restarted == 1, "the restart went unnoticed (run_id)"
    assert (await svc.ledger.find_booking(uid)) is not None, "the ledger entry did not survive"
    replay = await stack.book("B", booking("11:00", "Bea"), **{"Idempotency-Key": "survives-1"})
    assert replay.status_code == 201 and replay.json()["data"]["uid"] == uid, replay.text
    other = await stack.quote("C", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    assert other["available"] is False and other["reason"] == "held", "A's hold did not survive"
    lost = svc.metrics.redis_state_changes.labels(change=StateChange.LOST.value)._value.get()
    assert lost == 0
    assert len(await live_bookings(stack)) == 1


async def test_an_empty_restart_is_noticed_and_never_confirms_falsely(
    make_stack: StackFactory, own_redis: RedisServer, client_of: Any
) -> None:
    stack = await make_stack(redis=client_of(own_redis), settings={"state_check_s": 0.2})
    svc = stack.services
    assert await svc.state_guard.check() is StateChange.UNCHANGED  # the sentinel is in place
    await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    first = await stack.book("B", booking("11:00", "Bea"))
    assert first.status_code == 201, first.text

    own_redis.restart(kill=True)  # no persistence: Redis comes back empty
    await serving_again(stack)
    lost = svc.metrics.redis_state_changes.labels(change=StateChange.LOST.value)
    deadline = asyncio.get_running_loop().time() + 10
    while lost._value.get() < 1:  # the background guard notices within a few checks
        assert asyncio.get_running_loop().time() < deadline, "the loss went unnoticed"
        await asyncio.sleep(0.1)

    # The booked slot is not offered or booked again although its marker and ledger entry are gone:
    # the fresh snapshot comes from Cal.com, and Cal.com's own answer is verified.
    again = await stack.quote("C", eventTypeId=1001, start=berlin("11:00"), timeZone=BERLIN)
    assert again["available"] is False, again
    refused = await stack.book("C", booking("11:00", "Cem"))
    assert refused.status_code in (400, 409), refused.text
    # A's hold is gone with the data; A can still book its slot, once.
    booked = await stack.book("A", booking("10:00", "Ann"))
    assert booked.status_code == 201, booked.text
    starts = sorted(b["start"] for b in await live_bookings(stack))
    assert len(starts) == len(set(starts)) == 2, starts

    # The calendar rebuilds the lost ledger: B's booking (tagged, unknown now) is adopted and kept, since B
    # was told "booked" before the loss; cancelling it would break the invariant.
    uid = first.json()["data"]["uid"]
    assert await svc.ledger.find_booking(uid) is None
    svc.reconciler.pending_grace_ms = 0  # the orphan is fresh; a real pass waits twice the commit budget
    report = await svc.reconciler.run()
    assert uid in report.orphans_adopted, report.as_dict()
    adopted = await svc.ledger.find_booking(uid)
    assert adopted is not None and adopted.state is CommitState.ADOPTED
    assert uid in {b["uid"] for b in await live_bookings(stack)}


async def test_guard_tells_new_lost_and_restarted_apart() -> None:
    import fakeredis

    from proxy.keys import ProxyKeys
    from proxy.metrics import Metrics
    from proxy.state_guard import StateGuard

    redis = fakeredis.FakeAsyncRedis()
    repaired: list[str] = []
    forgotten: list[str] = []

    async def repair() -> None:
        repaired.append("reconcile")

    guard = StateGuard(
        redis, ProxyKeys("t"), Metrics(), on_loss=repair, forget_local=lambda: forgotten.append("memo")
    )
    assert await guard.check() is StateChange.INITIALISED
    assert await guard.check() is StateChange.UNCHANGED
    # Overlapping checks never call each other's fresh sentinel a loss.
    await redis.flushall()
    assert sorted(await asyncio.gather(guard.check(), guard.check())) == sorted(
        [StateChange.LOST, StateChange.UNCHANGED]
    )
    await asyncio.sleep(0)
    assert repaired == ["reconcile"] and forgotten == ["memo"]
    await redis.aclose()
