"""Stateful property test: HoldStore and a plain in-memory model agree after any sequence of operations.

Times are whole minutes so that the Redis key TTLs (relative, in real time) never run out while a
hold is still live in model time; the model clock only moves by whole minutes too.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any

import fakeredis
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from holds import (
    Hold,
    HoldCommitting,
    HoldConflict,
    HoldNotFound,
    HoldNotOwned,
    HoldState,
    StaleFence,
    TtlPolicy,
)
from holds.logic import overlaps
from tests.holds.support import Clock, make_store
from tests.redis_server import RedisServer

R = "et:1"
MIN = 60_000
POLICY = TtlPolicy(default_ms=5 * MIN, min_ms=2 * MIN, max_ms=10 * MIN)
CAP = 2
OWNERS = st.sampled_from(["A", "B"])
STARTS = st.integers(0, 6)
LENGTHS = st.integers(1, 3)
TTLS = st.none() | st.sampled_from([1 * MIN, 3 * MIN, 20 * MIN])
H, C, B = HoldState.HELD, HoldState.COMMITTING, HoldState.BOOKED


@dataclasses.dataclass
class Model:
    """The reference: a dict of holds with explicit expiry, cap and fence rules."""

    now: int
    holds: dict[str, Hold] = dataclasses.field(default_factory=dict)
    seq: dict[str, int] = dataclasses.field(default_factory=dict)
    next_seq: int = 0

    def live(self, uid: str) -> Hold | None:
        hold = self.holds.get(uid)
        return hold if hold is not None and hold.expires_at_ms > self.now else None

    def all_live(self) -> list[Hold]:
        live = (h for h in self.holds.values() if h.expires_at_ms > self.now)
        return sorted(live, key=lambda h: (h.start_ms, h.end_ms, h.uid))

    def put(self, hold: Hold) -> Hold:
        if hold.uid not in self.holds:
            self.seq[hold.uid] = self.next_seq
            self.next_seq += 1
        self.holds[hold.uid] = hold
        return hold

    def acquire(self, uid: str, start: int, end: int, owner: str, ttl: int) -> Any:
        overlapping = [h for h in self.all_live() if overlaps(h.start_ms, h.end_ms, start, end)]
        blockers = [h for h in overlapping if h.state == B or h.owner != owner]
        if blockers:
            return HoldConflict, max(h.expires_at_ms for h in blockers), any(h.state == B for h in blockers)
        for h in overlapping:
            if (h.start_ms, h.end_ms) == (start, end):
                return self.put(dataclasses.replace(h, expires_at_ms=self.now + ttl)) if h.state == H else h
        mine = sorted(
            (h for h in self.all_live() if h.owner == owner and h.state != B), key=lambda h: self.seq[h.uid]
        )
        count = len(mine)
        for victim in (h for h in mine if h.state == H):
            if count < CAP:
                break
            del self.holds[victim.uid]
            count -= 1
        return self.put(Hold(uid, R, owner, start, end, self.now + ttl, H, self.now, 0))

    def owned(self, uid: str, owner: str, *, booked_is_absent: bool) -> Hold | type[Exception]:
        hold = self.live(uid)
        if hold is None or (booked_is_absent and hold.state == B):
            return HoldNotFound
        if hold.owner != owner:
            return HoldNotOwned
        return hold


class HoldMachine(RuleBasedStateMachine):
    """Random operations on one resource, compared with the model after each step."""

    make_client: Callable[[], aioredis.Redis] = staticmethod(fakeredis.FakeAsyncRedis)

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client = self.make_client()
        self.clock = Clock()
        self.store = make_store(self.client, self.clock, policy=POLICY, max_per_owner=CAP)
        self.model = Model(now=self.clock.ms)
        self.uids: list[str] = ["unknown"]
        self.last_fence = 0
        self.counter = 0
        self.run(self.client.flushdb())

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def outcome(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return self.run(coro)
        except (HoldConflict, HoldNotFound, HoldNotOwned, HoldCommitting, StaleFence) as exc:
            if isinstance(exc, HoldConflict):
                return HoldConflict, exc.expires_at_ms, exc.booked
            return type(exc)

    def new_uid(self) -> str:
        self.counter += 1
        self.uids.append(f"u{self.counter}")
        return self.uids[-1]

    def pick_uid(self, data: st.DataObject) -> str:
        # Mostly recent uids, so that chains like acquire -> begin -> extend on one hold are likely.
        return data.draw(st.sampled_from(self.uids[-2:]) | st.sampled_from(self.uids))

    def teardown(self) -> None:
        self.run(self.client.aclose())
        self.loop.close()

    @rule(owner=OWNERS, start=STARTS, length=LENGTHS, ttl=TTLS)
    def acquire(self, owner, start, length, ttl):
        uid = self.new_uid()
        got = self.outcome(
            self.store.acquire(R, start * MIN, (start + length) * MIN, owner, ttl_ms=ttl, uid=uid)
        )
        want = self.model.acquire(uid, start * MIN, (start + length) * MIN, owner, POLICY.ttl_for(R, ttl))
        assert got == want

    @rule(data=st.data(), owner=OWNERS, ttl=TTLS)
    def extend(self, data, owner, ttl):
        uid = self.pick_uid(data)
        got = self.outcome(self.store.extend(R, uid, owner, ttl_ms=ttl))
        want = self.model.owned(uid, owner, booked_is_absent=True)
        if isinstance(want, Hold):
            if want.state == C:
                want = HoldCommitting
            else:
                want = self.model.put(
                    dataclasses.replace(want, expires_at_ms=self.model.now + POLICY.ttl_for(R, ttl))
                )
        assert got == want

    @rule(data=st.data(), owner=OWNERS)
    def release(self, data, owner):
        uid = self.pick_uid(data)
        got = self.outcome(self.store.release(R, uid, owner))
        want = self.model.owned(uid, owner, booked_is_absent=True)
        if isinstance(want, Hold):
            del self.model.holds[uid]
            want = None
        assert got == want

    @rule(data=st.data(), owner=OWNERS, budget=st.sampled_from([1 * MIN, 30 * MIN]))
    def begin_commit(self, data, owner, budget):
        uid = self.pick_uid(data)
        got = self.outcome(self.store.begin_commit(R, uid, owner, budget_ms=budget))
        want = self.model.owned(uid, owner, booked_is_absent=True)
        if isinstance(want, Hold) and want.state == C:
            want = HoldCommitting  # a second commit of one hold must never go upstream too
        elif isinstance(want, Hold):
            assert got.fence > self.last_fence  # strictly increasing per resource
            self.last_fence = got.fence
            want = self.model.put(
                dataclasses.replace(want, state=C, fence=got.fence, expires_at_ms=self.model.now + budget)
            )
            got = got.hold
        assert got == want

    @rule(data=st.data(), owner=OWNERS, stale=st.booleans(), booked_ttl=st.sampled_from([1 * MIN, 4 * MIN]))
    def finish_commit(self, data, owner, stale, booked_ttl):
        uid = self.pick_uid(data)
        hold = self.model.holds.get(uid)
        fence = (hold.fence if hold else 0) - stale
        got = self.outcome(self.store.finish_commit(R, uid, owner, fence, booked_ttl_ms=booked_ttl))
        want = self.model.owned(uid, owner, booked_is_absent=False)
        if isinstance(want, Hold):
            if want.state == B and want.fence == fence:
                want = None
            elif want.state != C or want.fence != fence:
                want = StaleFence
            else:
                self.model.put(dataclasses.replace(want, state=B, expires_at_ms=self.model.now + booked_ttl))
                want = None
        assert got == want

    @rule(data=st.data(), owner=OWNERS, stale=st.booleans(), ttl=TTLS)
    def abort_commit(self, data, owner, stale, ttl):
        uid = self.pick_uid(data)
        hold = self.model.holds.get(uid)
        fence = (hold.fence if hold else 0) - stale
        got = self.outcome(self.store.abort_commit(R, uid, owner, fence, ttl_ms=ttl))
        want = self.model.owned(uid, owner, booked_is_absent=False)
        if isinstance(want, Hold):
            if want.state != C or want.fence != fence:
                want = StaleFence
            else:
                expires = self.model.now + POLICY.ttl_for(R, ttl)
                want = self.model.put(dataclasses.replace(want, state=H, expires_at_ms=expires))
        assert got == want

    @rule(start=STARTS, length=LENGTHS, ttl=st.sampled_from([1 * MIN, 4 * MIN]))
    def mark_booked(self, start, length, ttl):
        uid = self.new_uid()
        got = self.run(self.store.mark_booked(R, start * MIN, (start + length) * MIN, ttl_ms=ttl, uid=uid))
        now = self.model.now
        assert got == self.model.put(
            Hold(uid, R, "", start * MIN, (start + length) * MIN, now + ttl, B, now, 0)
        )

    @rule(data=st.data())
    def force_release(self, data):
        uid = self.pick_uid(data)
        want = self.model.live(uid) is not None
        self.model.holds.pop(uid, None)
        assert self.run(self.store.force_release(R, uid)) is want

    @rule(minutes=st.integers(1, 6))
    def advance(self, minutes):
        self.clock.advance(minutes * MIN)
        self.model.now = self.clock.ms

    @invariant()
    def live_holds_agree(self):
        assert self.run(self.store.live(R, 0, 10 * MIN)) == self.model.all_live()

    @invariant()
    def no_two_owners_overlap(self):
        live = [h for h in self.model.all_live() if h.state != B]
        for i, a in enumerate(live):
            for b in live[i + 1 :]:
                if a.owner != b.owner:
                    assert not overlaps(a.start_ms, a.end_ms, b.start_ms, b.end_ms)


SETTINGS = settings(
    max_examples=200, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_store_agrees_with_model_on_fakeredis():
    run_state_machine_as_test(HoldMachine, settings=SETTINGS)


@pytest.mark.real_redis
@pytest.mark.slow
def test_store_agrees_with_model_on_real_redis(redis_server: RedisServer):
    class RealMachine(HoldMachine):
        make_client = staticmethod(lambda: aioredis.Redis.from_url(redis_server.url))

    run_state_machine_as_test(RealMachine, settings=settings(SETTINGS, max_examples=60))
