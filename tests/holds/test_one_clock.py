"""One clock: a HoldStore built without a clock decides every hold by Redis's own clock (TIME).

Three ways to make the process clock and Redis's disagree:
- fakeredis, whose TIME command is moved by hand (``server_clock``), while this process's clock is not;
- a second process 120 s ahead under Debian's ``faketime`` (``tests/holds/clock_child.py``), against a
  real redis-server: the measured failure of issue 10 (faketime comes from scripts/ensure-packages.sh);
- bracketing with ``await redis.time()`` on both a fake and a real server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis.asyncio as aioredis
from fakeredis.commands_mixins import server_mixin

from holds import HoldConflict, HoldNotFound, HoldState, HoldStore, TtlPolicy
from tests.redis_server import RedisServer

R = "et:1"
HOUR = 3_600_000
DAY_MS = 86_400_000
SKEW_S = 120
POLICY = TtlPolicy(default_ms=60_000, min_ms=1, max_ms=600_000)
REPO = Path(__file__).resolve().parents[2]


async def redis_now_ms(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@dataclass
class ServerClock:
    """fakeredis's TIME, offset from the real clock by ``offset_ms``; this process's clock is untouched."""

    offset_ms: int = 0

    def time(self) -> float:
        return time.time() + self.offset_ms / 1000

    def advance(self, ms: int) -> None:
        self.offset_ms += ms


@pytest.fixture
def server_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerClock]:
    """Move fakeredis's TIME (only that command: its key expiry keeps the real clock)."""
    clock = ServerClock()
    monkeypatch.setattr(server_mixin, "time", clock)
    yield clock


@pytest.fixture
def fake(fake_server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=fake_server)


# ---- production construction uses TIME -----------------------------------------------------------------


async def test_a_store_without_clock_stamps_holds_with_redis_time(redis):
    store = HoldStore(redis, policy=POLICY)
    t0 = await redis_now_ms(redis)
    hold = await store.acquire(R, 0, HOUR, "a", ttl_ms=10_000)
    t1 = await redis_now_ms(redis)
    assert t0 <= hold.created_ms <= t1
    assert hold.expires_at_ms == hold.created_ms + 10_000
    extended = await store.extend(R, hold.uid, "a", ttl_ms=20_000)
    t2 = await redis_now_ms(redis)
    assert t1 <= extended.expires_at_ms - 20_000 <= t2
    ticket = await store.begin_commit(R, hold.uid, "a", budget_ms=5_000)
    t3 = await redis_now_ms(redis)
    assert t2 <= ticket.hold.expires_at_ms - 5_000 <= t3
    with pytest.raises(HoldConflict) as info:
        await store.acquire(R, 0, HOUR, "b")
    t4 = await redis_now_ms(redis)
    assert info.value.now_ms is not None and t3 <= info.value.now_ms <= t4
    assert info.value.expires_at_ms == ticket.hold.expires_at_ms
    assert await store.get(R, hold.uid) == ticket.hold


async def test_a_store_without_clock_follows_redis_not_the_process(fake, server_clock):
    server_clock.advance(-DAY_MS)  # Redis's clock a day behind this process's
    assert abs(await redis_now_ms(fake) - (time.time() * 1000 - DAY_MS)) < 5_000, "TIME not moved"
    store = HoldStore(fake, policy=POLICY)
    hold = await store.acquire(R, 0, HOUR, "a", ttl_ms=60_000)
    assert abs(hold.created_ms - (time.time() * 1000 - DAY_MS)) < 5_000
    # By this process's clock the hold ended a day ago; by Redis's it is live, for every operation.
    assert await store.get(R, hold.uid) == hold
    assert await store.live(R, 0, HOUR) == [hold]
    with pytest.raises(HoldConflict):
        await store.acquire(R, 0, HOUR, "b")
    assert (await store.extend(R, hold.uid, "a", ttl_ms=60_000)).state is HoldState.HELD


async def test_expiry_pruning_and_commit_budget_follow_redis_time(fake, server_clock):
    store = HoldStore(fake, policy=POLICY)
    held = await store.acquire(R, 0, HOUR, "a", ttl_ms=30_000)
    committing = await store.acquire(R, HOUR, 2 * HOUR, "a", ttl_ms=30_000)
    ticket = await store.begin_commit(R, committing.uid, "a", budget_ms=45_000)
    server_clock.advance(30_000)  # only Redis's clock moves
    assert await store.get(R, held.uid) is None
    assert await store.live(R, 0, 2 * HOUR) == [ticket.hold]
    assert (await store.acquire(R, 0, HOUR, "b")).owner == "b"
    with pytest.raises(HoldNotFound):
        await store.extend(R, held.uid, "a")
    server_clock.advance(15_000)  # the commit budget is spent by Redis's clock
    with pytest.raises(HoldNotFound):
        await store.finish_commit(R, committing.uid, "a", ticket.fence, booked_ttl_ms=10_000)
    assert (await store.acquire(R, HOUR, 2 * HOUR, "b")).owner == "b"


async def test_an_explicit_clock_still_controls_time_for_tests(fake, server_clock):
    server_clock.advance(-DAY_MS)
    store = HoldStore(fake, policy=POLICY, clock=lambda: 1_000.0)
    hold = await store.acquire(R, 0, HOUR, "a", ttl_ms=5_000)
    assert (hold.created_ms, hold.expires_at_ms) == (1_000_000, 1_005_000)


# ---- a process 120 s ahead, on a real redis-server -------------------------------------------------------


def run_skewed(url: str, steps: list[list[Any]]) -> dict[str, Any]:
    """Run the steps in a child process whose clock is SKEW_S ahead (faketime); its JSON answer."""
    command = ["faketime", "-f", f"+{SKEW_S}s", sys.executable, "-m", "tests.holds.clock_child", url, R]
    done = subprocess.run(
        [*command, json.dumps(steps)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.real_redis
async def test_a_process_120s_ahead_neither_takes_nor_frees_a_live_hold(
    real_redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    honest = HoldStore(real_redis, policy=POLICY)
    # Live for 30 s: by the skewed process's clock it would have expired 90 s ago.
    held = await honest.acquire(R, 0, HOUR, "honest", ttl_ms=30_000)
    t0 = await redis_now_ms(real_redis)
    steps: list[list[Any]] = [
        ["get", held.uid],
        ["live", 0, 2 * HOUR],
        ["acquire", 0, HOUR, "skewed", 30_000],
        ["acquire", HOUR, 2 * HOUR, "skewed", 10_000],
    ]
    answer = await asyncio.to_thread(run_skewed, redis_server.url, steps)
    t1 = await redis_now_ms(real_redis)
    assert answer["process_time_s"] * 1000 - t1 > (SKEW_S - 10) * 1000, "the child's clock was not ahead"
    seen, listed, taken, own = answer["results"]
    assert "hold" in seen and "conflict" in taken, f"the skewed process saw the live hold as free: {answer}"
    assert seen["hold"]["uid"] == held.uid and seen["hold"]["owner"] == "honest"
    assert [h["uid"] for h in listed["holds"]] == [held.uid]
    assert taken == {"conflict": {"expires_at_ms": held.expires_at_ms, "now_ms": taken["conflict"]["now_ms"]}}
    assert t0 <= taken["conflict"]["now_ms"] <= t1
    # Its own hold lives 10 s by Redis's clock, not 130 s by its own.
    mine = own["hold"]
    assert t0 <= mine["created_ms"] <= t1 and mine["expires_at_ms"] == mine["created_ms"] + 10_000
    assert (await honest.get(R, mine["uid"])) is not None
    with pytest.raises(HoldConflict):
        await honest.acquire(R, HOUR, 2 * HOUR, "honest")

    # Extending cannot reach past Redis's now + ttl either.
    t2 = await redis_now_ms(real_redis)
    extend: list[list[Any]] = [["extend", mine["uid"], "skewed", 20_000]]
    answer = await asyncio.to_thread(run_skewed, redis_server.url, extend)
    t3 = await redis_now_ms(real_redis)
    extended = answer["results"][0]["hold"]
    assert t2 + 20_000 <= extended["expires_at_ms"] <= t3 + 20_000
    assert (await honest.get(R, mine["uid"])).expires_at_ms == extended["expires_at_ms"]  # type: ignore[union-attr]


@pytest.mark.real_redis
async def test_a_hold_ends_by_redis_time_for_the_skewed_process_too(
    real_redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    honest = HoldStore(real_redis, policy=POLICY)
    held = await honest.acquire(R, 0, HOUR, "honest", ttl_ms=300)
    while await redis_now_ms(real_redis) <= held.expires_at_ms:
        await asyncio.sleep(0.05)
    steps: list[list[Any]] = [["get", held.uid], ["acquire", 0, HOUR, "skewed", 10_000]]
    answer = await asyncio.to_thread(run_skewed, redis_server.url, steps)
    gone, taken = answer["results"]
    assert gone == {"none": True}
    assert taken["hold"]["owner"] == "skewed"
