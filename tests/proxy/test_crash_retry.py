"""A process SIGKILLed mid-commit: settled within seconds, and the caller's retry receives what Cal.com did.

Before: the retry got 409 "Idempotency-Key still being processed" for two minutes although the caller sent
no key, the slot stayed held, and reconciliation later cancelled the booking as a ghost. Now the surviving
process notices the death (its heartbeat, proxy.liveness, lapses within seconds) and settles the open commit
(proxy.abandoned): a booking Cal.com made is kept for the retry, which receives it (201, the same booking);
when Cal.com made none, the slot and the caller's claim are freed. While the first process is alive, a retry
hears 409 (the contract: the first attempt is still in flight).
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis

from proxy.ledger import CommitState, LedgerEntry
from proxy.liveness import BEAT_TTL_S
from tests.proxy.conftest import BOOKINGS_V, StackFactory, next_weekday
from tests.proxy.processes import start_process
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.real_redis]

DAY = next_weekday(56, weekday=1)
BERLIN = "Europe/Berlin"
KEY = {"Authorization": "Bearer cal_test_alpha"}


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def body_at(hhmm: str) -> dict[str, Any]:
    return {
        "eventTypeId": 1001,
        "start": berlin(hhmm),
        "attendee": {"name": "Ann", "email": "ann@example.com", "timeZone": BERLIN},
    }


async def kill_mid_commit(stack: Any, server: RedisServer, body: dict[str, Any]) -> float:
    """Caller A quotes and commits through a second process, which is SIGKILLed while Cal.com works
    (1.5 s per request); returns the monotonic time of the kill."""
    process, url = await start_process(stack.sim.url, server.url)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10, headers={**KEY, "X-Call-Id": "A"}) as first:
            quote = {"eventTypeId": 1001, "start": body["start"], "timeZone": BERLIN}
            quoted = await first.post("/calproxy/v1/quote", json=quote)
            assert quoted.json()["data"]["available"] is True
            await stack.direct.post("/_sim/faults", json={"latencyMs": 1500})
            attempt = asyncio.create_task(first.post("/v2/bookings", json=body, headers=BOOKINGS_V))
            await asyncio.sleep(0.6)
            os.kill(process.pid, signal.SIGKILL)
            killed = asyncio.get_running_loop().time()
            await process.wait()
            with pytest.raises(httpx.HTTPError):
                await attempt
        # The create already upstream finishes on its own; later requests (the settling) are fast again.
        await stack.direct.post("/_sim/faults", json={"latencyMs": 0})
        return killed
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def entry_in(stack: Any, states: set[CommitState], within_s: float) -> LedgerEntry:
    """The single ledger entry, once it reaches one of `states` (polled)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        entries = [e async for e in stack.services.ledger.entries()]
        assert len(entries) == 1, entries
        if entries[0].state in states or asyncio.get_running_loop().time() > deadline:
            return entries[0]
        await asyncio.sleep(0.2)


async def test_the_retry_after_a_sigkill_mid_commit_receives_the_booking(
    make_stack: StackFactory, own_redis: RedisServer, own_redis_client: aioredis.Redis
) -> None:
    stack = await make_stack(redis=own_redis_client)
    body = body_at("10:00")
    killed = await kill_mid_commit(stack, own_redis, body)
    await asyncio.sleep(1.5)  # Cal.com finishes the booking the dead process asked for
    made = [b for b in await stack.truth() if b["status"] != "cancelled"]
    assert len(made) == 1, made
    await stack.direct.post("/_sim/faults", json={"latencyMs": 0})

    # Retries on the surviving process: 409 while the dead one still counts as alive, then the booking.
    answers = []
    while True:
        retried = await stack.book("A", body)
        answers.append(retried.status_code)
        if retried.status_code != 409 or asyncio.get_running_loop().time() - killed > 3 * BEAT_TTL_S:
            break
        assert "still in progress" in retried.json()["error"]["message"]
        await asyncio.sleep(0.3)
    elapsed = asyncio.get_running_loop().time() - killed
    assert retried.status_code == 201, (answers, retried.text)
    assert set(answers[:-1]) <= {409}
    assert elapsed < BEAT_TTL_S + 3, elapsed  # within seconds of the death, not the 120 s claim
    assert retried.json()["data"]["uid"] == made[0]["uid"]
    entry = await stack.services.ledger.find_booking(made[0]["uid"])
    assert entry is not None and entry.state is CommitState.CONFIRMED
    again = await stack.book("A", body)  # and from now on it is a plain replay
    assert again.status_code == 201 and again.json()["data"]["uid"] == made[0]["uid"]
    assert len([b for b in await stack.truth() if b["status"] != "cancelled"]) == 1
    other = await stack.quote("B", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    assert other["available"] is False


async def test_a_dead_process_commit_that_booked_is_kept_for_the_retry_without_one(
    make_stack: StackFactory, own_redis: RedisServer, own_redis_client: aioredis.Redis
) -> None:
    """No retry at all: the surviving process still settles the entry within seconds, and blocks the slot."""
    stack = await make_stack(redis=own_redis_client)
    killed = await kill_mid_commit(stack, own_redis, body_at("11:00"))
    entry = await entry_in(stack, {CommitState.ABANDONED}, within_s=3 * BEAT_TTL_S)
    elapsed = asyncio.get_running_loop().time() - killed
    assert entry.state is CommitState.ABANDONED, entry
    assert elapsed < BEAT_TTL_S + 4, elapsed
    made = [b for b in await stack.truth() if b["status"] != "cancelled"]
    assert [entry.booking_uid] == [b["uid"] for b in made]
    await stack.direct.post("/_sim/faults", json={"latencyMs": 0})
    other = await stack.quote("B", eventTypeId=1001, start=berlin("11:00"), timeZone=BERLIN)
    assert other["available"] is False  # the booking is not offered to anyone else


async def test_a_dead_process_commit_that_booked_nothing_frees_the_slot_and_the_claim(
    make_stack: StackFactory, own_redis: RedisServer, own_redis_client: aioredis.Redis
) -> None:
    """Cal.com answers 500 and creates nothing: the slot returns within seconds and A's retry books."""
    stack = await make_stack(redis=own_redis_client)
    await stack.direct.post("/_sim/faults", json={"error": 1.0})
    body = body_at("12:00")
    killed = await kill_mid_commit(stack, own_redis, body)
    entry = await entry_in(stack, {CommitState.UNKNOWN}, within_s=4 * BEAT_TTL_S)
    elapsed = asyncio.get_running_loop().time() - killed
    assert entry.state is CommitState.UNKNOWN, entry
    assert elapsed < BEAT_TTL_S + 6, elapsed  # the death, then the create's landing time (2 s + 1 s)
    assert [b for b in await stack.truth() if b["status"] != "cancelled"] == []
    await stack.direct.post("/_sim/faults", json={"latencyMs": 0, "error": 0})
    retried = await stack.book("A", body)  # not 409: the claim was dropped with the hold
    assert retried.status_code == 201, retried.text
    assert len([b for b in await stack.truth() if b["status"] != "cancelled"]) == 1
