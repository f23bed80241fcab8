"""The shared upstream budget (issue 10, item 3): one budget per credential for every process, priorities,
and a Cal.com 429 that pauses everyone until its reset."""

from __future__ import annotations

import fakeredis
import httpx

from proxy.keys import ProxyKeys
from proxy.metrics import Metrics
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from proxy.upstream_budget import (
    BUDGET_HEADER,
    UpstreamBudget,
    is_budget_refusal,
    priority_for,
    reset_seconds,
    tracker_of,
    upstream_priority,
)
from tests.proxy.conftest import Stack
from tests.proxy.fleet import AUTH, count_of, fleet, sim_stats
from tests.proxy.test_e2e_commit import BERLIN, berlin, booking

SLOTS = "GET /v2/slots"


class FakeTime:
    """A clock the budget reads (ms) and a sleep that advances it, so waits take no real time."""

    def __init__(self) -> None:
        self.ms = 1_000_000_000
        self.slept: list[float] = []

    def now(self) -> int:
        return self.ms

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ms += int(seconds * 1000)


def budget(redis: fakeredis.FakeAsyncRedis, per_minute: int, clock: FakeTime) -> UpstreamBudget:
    return UpstreamBudget(
        redis=redis,
        keys=ProxyKeys("t"),
        per_minute=per_minute,
        secret=b"secret",
        metrics=Metrics(),
        clock_ms=clock.now,
        sleep=clock.sleep,
    )


async def admit(b: UpstreamBudget, priority: str, key: str = "cal_one") -> httpx.Response | None:
    refused = await b.admit(
        "GET", "/v2/bookings", "/v2/bookings", {"Authorization": f"Bearer {key}"}, priority
    )
    return None if refused is None else httpx.Response(refused.status, headers=refused.headers)


async def test_priorities_share_one_budget_across_processes() -> None:
    redis, clock = fakeredis.FakeAsyncRedis(), FakeTime()
    # Two processes, one Redis: one budget of 10 a minute.
    first, second = budget(redis, 10, clock), budget(redis, 10, clock)
    granted = [await admit(b, "background") for b in (first, second, first, second, first)]
    assert granted == [None] * 5
    # Background has used its half: it waits at most 20 s, the window frees room only after 61 s.
    refused = await admit(second, "background")
    assert refused is not None and refused.status_code == 429 and BUDGET_HEADER in refused.headers
    assert clock.slept == [], "no wait that cannot succeed"
    # Slot fetches may go to 90 %, commits to all of it.
    assert [await admit(first, "slots") for _ in range(4)] == [None] * 4
    assert (await admit(second, "slots")) is not None
    assert await admit(second, "commit") is None
    # Full: a commit waits for room only within its 2 s bound.
    assert (await admit(first, "commit")) is not None
    # Another credential has its own budget.
    assert await admit(first, "background", key="cal_two") is None


async def test_a_waiting_priority_gets_in_when_the_window_moves() -> None:
    redis, clock = fakeredis.FakeAsyncRedis(), FakeTime()
    b = budget(redis, 10, clock)
    for _ in range(5):
        assert await admit(b, "background") is None
    clock.ms += 45_000  # the oldest request leaves the 61 s window 16 s from now: within background's 20 s
    assert await admit(b, "background") is None
    assert 15.9 < sum(clock.slept) < 16.5


async def test_a_calcom_429_pauses_every_process_until_its_reset() -> None:
    redis, clock = fakeredis.FakeAsyncRedis(), FakeTime()
    first, second = budget(redis, 120, clock), budget(redis, 120, clock)
    headers = {"Authorization": "Bearer cal_one"}
    await first.throttled(headers, httpx.Headers({"X-RateLimit-Reset-Default": "30"}))
    for priority in ("background", "slots", "commit"):
        refused = await admit(second, priority)
        assert refused is not None and refused.status_code == 429
        assert 29 <= int(refused.headers["Retry-After"]) <= 30
        assert "paused" in refused.headers[BUDGET_HEADER]
    assert await admit(second, "commit", key="cal_other") is None
    # A later 429 with a shorter reset never cuts the pause short.
    await second.throttled(headers, httpx.Headers({"Retry-After": "2"}))
    assert 29_000 <= await redis.pttl(ProxyKeys("t").upstream_pause(tracker_of(headers, b"secret"))) <= 30_000


async def test_a_commit_waits_for_a_pause_that_ends_within_its_bound() -> None:
    redis = fakeredis.FakeAsyncRedis()
    b = UpstreamBudget(redis=redis, keys=ProxyKeys("t"), per_minute=120, secret=b"s", metrics=Metrics())
    headers = {"Authorization": "Bearer cal_one"}
    await redis.set(ProxyKeys("t").upstream_pause(tracker_of(headers, b"s")), "1", px=300)
    assert await admit(b, "slots") is not None, "others fail fast"
    assert await admit(b, "commit") is None, "a commit waits 0.3 s (Redis's own clock here)"


def test_rules() -> None:
    assert priority_for("POST", "/v2/bookings") == "commit"
    assert priority_for("POST", "/v2/bookings/{uid}/cancel") == "commit"
    assert priority_for("GET", "/v2/slots") == "slots"
    assert priority_for("GET", "/v2/me") == "slots"
    assert priority_for("GET", "passthrough") == "slots"
    assert priority_for("GET", "/v2/event-types/{id}") == "background"
    with upstream_priority("background"):
        assert priority_for("GET", "/v2/bookings") == "background"
        assert priority_for("GET", "/v2/bookings", "commit") == "commit"
    digest = tracker_of({"Authorization": "Bearer cal_live_secret"}, b"k")
    assert "cal_live_secret" not in digest and len(digest) == 32
    assert tracker_of({}, b"k") == "anonymous"
    assert tracker_of({"x-cal-client-id": "c1"}, b"k") != tracker_of({"x-cal-client-id": "c2"}, b"k")
    assert reset_seconds(httpx.Headers({"X-RateLimit-Reset-Default": "42"}), 0) == 42
    assert reset_seconds(httpx.Headers({}), 0) == 60
    assert reset_seconds(httpx.Headers({"X-RateLimit-Reset": "1700000030"}), 1_700_000_000) == 30


async def test_processes_never_overrun_calcom_and_callers_get_calcom_shaped_429s() -> None:
    """Three processes fetch slots for one caller beyond the budget: Cal.com sees at most the slots share,
    never answers 429, and the callers beyond it get Cal.com's ThrottlerException without a request."""
    async with run_sim(SimConfig(rate_limit=20)) as sim, httpx.AsyncClient(base_url=sim.url) as direct:
        redis = fakeredis.FakeAsyncRedis()
        async with fleet(sim.url, redis, 3, upstream_budget_per_minute=20) as processes:
            answers = []
            for i in range(30):
                upstream = processes[i % 3].services.upstream
                response = await upstream.get_slots(
                    1001, f"2030-01-{1 + i:02d}", f"2030-01-{1 + i:02d}", None, {}
                )
                answers.append(response)
            stats = await sim_stats(direct)
            assert stats["rateLimited"] == 0
            assert count_of(stats, SLOTS) == 18, "90 % of 20 for slot fetches"
            refused = [r for r in answers if r.status == 429]
            assert len(refused) == 12 and all(is_budget_refusal(r) for r in refused)
            body = refused[0].json()
            assert body["error"]["code"] == "ThrottlerException" and body["path"] == "/v2/slots"
            # The commit reserve is intact: a commit-priority request still goes through.
            made = await processes[0].services.upstream.list_bookings({"take": "1"}, AUTH)
            assert made.status == 200


async def test_a_real_calcom_429_pauses_the_other_processes() -> None:
    async with run_sim(SimConfig(rate_limit=3)) as sim, httpx.AsyncClient(base_url=sim.url) as direct:
        redis = fakeredis.FakeAsyncRedis()
        async with fleet(sim.url, redis, 2) as (first, second):
            for _ in range(3):
                await direct.get("/v2/bookings", headers={**AUTH, "cal-api-version": "2024-08-13"})
            hit = await first.services.upstream.list_bookings({"take": "1"})
            assert hit.status == 429 and not is_budget_refusal(hit), "Cal.com's own 429"
            before = await sim_stats(direct)
            held = await second.services.upstream.list_bookings({"take": "1"})
            assert held.status == 429 and is_budget_refusal(held)
            assert "paused" in held.headers[BUDGET_HEADER]
            assert (await sim_stats(direct))["totalRequests"] == before["totalRequests"], "nothing sent"
            metrics = first.services.metrics.upstream_pauses
            assert metrics._value.get() == 1


async def test_a_commit_during_a_long_pause_is_answered_429_and_its_retry_books(stack: Stack) -> None:
    """A commit never waits out a Cal.com block longer than its bound: it gets Cal.com's 429 at once, nothing
    is created, the slot is not left committing, and the retry after the pause books."""
    assert (await stack.book("A", booking("10:00"))).status_code == 201
    services = stack.services
    tracker = tracker_of(AUTH, services.tenant_secret)
    await services.redis.set(services.keys.upstream_pause(tracker), "1", px=10_000)
    before = (await stack.direct.get("/_sim/stats")).json()["data"]["totalRequests"]
    refused = await stack.book("B", booking("11:00", name="Bea"))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "ThrottlerException"
    assert (await stack.direct.get("/_sim/stats")).json()["data"]["totalRequests"] == before
    await services.redis.delete(services.keys.upstream_pause(tracker))
    retried = await stack.book("B", booking("11:00", name="Bea"))
    assert retried.status_code == 201, retried.text


async def test_a_commit_that_never_goes_upstream_gives_its_budget_place_back(stack: Stack) -> None:
    """The create's place is taken while the commit prepares (in parallel); a commit refused before it went
    upstream (another caller holds the slot) returns it, so every place in the window is a real request."""
    services = stack.services
    window = services.keys.upstream_window(tracker_of(AUTH, services.tenant_secret))
    await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    places = await services.redis.zcard(window)
    sent = (await sim_stats(stack.direct))["totalRequests"]
    refused = await stack.book("B", booking("10:00", name="Bea"))
    assert refused.status_code == 409, refused.text
    made = (await sim_stats(stack.direct))["totalRequests"] - sent
    assert await services.redis.zcard(window) - places == made
    booked = await stack.book("A", booking("10:00"))
    assert booked.status_code == 201
    made = (await sim_stats(stack.direct))["totalRequests"] - sent
    assert await services.redis.zcard(window) - places == made
