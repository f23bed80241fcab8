"""Recording quote-to-commit observations in Redis (OpsStats), and the advisor through the running proxy."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import fakeredis
import pytest
import redis.asyncio as aioredis

from holds import Hold, HoldState, TtlPolicy
from proxy.advisor import Outcome
from proxy.keys import ProxyKeys
from proxy.opstats import OpsStats
from tests.proxy.conftest import SLOTS_V, StackFactory, next_weekday

T0 = 1_764_806_400.0  # seconds
KEYS = ProxyKeys("t")
POLICY = TtlPolicy(default_ms=60_000, min_ms=5_000, max_ms=600_000)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hold(uid: str, created_s: float, ttl_s: float, resource: str = "et:1") -> Hold:
    created = int((T0 + created_s) * 1000)
    return Hold(
        uid=uid,
        resource=resource,
        owner="public:c:x",
        start_ms=2_000_000_000_000,
        end_ms=2_000_001_800_000,
        expires_at_ms=created + int(ttl_s * 1000),
        state=HoldState.HELD,
        created_ms=created,
        fence=0,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stats(redis: aioredis.Redis, clock: Clock) -> OpsStats:
    return OpsStats(redis, KEYS, clock=clock, window_s=3600, max_observations=100, grace_ms=10_000)


async def outcomes(stats: OpsStats) -> list[tuple[Outcome, float]]:
    _, found = await stats.observations()
    return sorted(((o.outcome, o.duration_s) for o in found), key=lambda pair: (pair[0].value, pair[1]))


async def test_quote_commit_release_and_expiry_are_recorded(stats: OpsStats, clock: Clock) -> None:
    await stats.hold_quoted(hold("a", 0, 60))
    await stats.hold_quoted(hold("b", 0, 60))
    await stats.hold_quoted(hold("c", 0, 60))
    await stats.hold_quoted(hold("d", 0, 60))
    clock.advance(12)
    await stats.record_commit("et:1", "a", 12_000)
    clock.advance(8)
    await stats.hold_released("et:1", "b")
    await stats.record_commit("et:1", "never-quoted", 1_000)  # a hold a commit took itself: no observation
    assert await outcomes(stats) == [
        (Outcome.BOOKED, 12.0),
        (Outcome.OPEN, 20.0),  # still live: censored at its current age
        (Outcome.OPEN, 20.0),
        (Outcome.RELEASED, 20.0),
    ]
    clock.advance(45)  # 65 s: c and d expired 5 s ago, still within the commit grace
    await stats.record_commit("et:1", "c", 64_000)  # a commit begun before expiry still counts
    assert await outcomes(stats) == [
        (Outcome.BOOKED, 12.0),
        (Outcome.BOOKED, 65.0),
        (Outcome.EXPIRED, 60.0),  # censored at its lifetime, not at now
        (Outcome.RELEASED, 20.0),
    ]
    clock.advance(30)  # past the grace: d is converted for good, and a late commit finds nothing
    await stats.record_commit("et:1", "d", 95_000)
    assert [o for o, _ in await outcomes(stats)].count(Outcome.EXPIRED) == 1
    assert await stats.redis.hlen(KEYS.observations_open()) == 0


async def test_a_refresh_moves_the_expiry_and_keeps_the_quote_time(stats: OpsStats, clock: Clock) -> None:
    await stats.hold_quoted(hold("a", 0, 30))
    clock.advance(25)
    await stats.hold_quoted(replace(hold("a", 0, 30), expires_at_ms=int(clock() * 1000) + 30_000))
    clock.advance(20)  # 45 s: past the first expiry and its grace, before the new one
    assert await outcomes(stats) == [(Outcome.OPEN, 45.0)]
    await stats.record_commit("et:1", "a", 45_000)
    assert await outcomes(stats) == [(Outcome.BOOKED, 45.0)]


async def test_bounded_in_number_and_time(redis: aioredis.Redis, clock: Clock) -> None:
    stats = OpsStats(redis, KEYS, clock=clock, window_s=3600, max_observations=3, grace_ms=0)
    for i in range(5):
        await stats.hold_quoted(hold(f"h{i}", 0, 60))
        await stats.record_commit("et:1", f"h{i}", 0)
    assert len(await outcomes(stats)) == 3, "only the newest max_observations are kept"
    assert 0 < await redis.pttl(KEYS.observations_done()) <= 3_600_000, "idle keys leave with the window"
    for i in range(5):
        await stats.hold_quoted(hold(f"o{i}", 0, 600))
    assert await redis.hlen(KEYS.observations_open()) == 3, "open observations are capped too"
    clock.advance(3601)  # the bookings closed at 0 s leave; the open holds expire (600 s) within the window
    assert await outcomes(stats) == [(Outcome.EXPIRED, 600.0)] * 3
    clock.advance(600)
    assert await outcomes(stats) == [], "closed more than a window ago: gone"
    for key in (KEYS.observations_open(), KEYS.observations_expiry(), KEYS.observations_done()):
        assert "{stats}" in key


async def test_a_stats_write_failure_never_fails_its_caller(
    fake_server: fakeredis.FakeServer, clock: Clock
) -> None:
    client = fakeredis.FakeAsyncRedis(server=fake_server)
    stats = OpsStats(client, KEYS, clock=clock)
    fake_server.connected = False
    await stats.hold_quoted(hold("a", 0, 60))
    await stats.hold_released("et:1", "a")
    await stats.record_commit("et:1", "a", 1_000)
    fake_server.connected = True
    assert await outcomes(stats) == []
    await client.aclose()


async def test_advisor_reads_the_window_against_the_policy(stats: OpsStats, clock: Clock) -> None:
    for i in range(40):
        await stats.hold_quoted(hold(f"h{i}", 0, 60))
    clock.advance(10)
    for i in range(35):
        await stats.record_commit("et:1", f"h{i}", 10_000)
    advice = await stats.advisor(POLICY)
    data = advice.as_dict()
    assert (data["n"], data["events"], data["censored"], data["enough"]) == (40, 35, 5, True)
    assert data["windowSeconds"] == 3600 and data["currentTtlSeconds"] == 60
    assert data["percentilesSeconds"]["p50"] == 10.0


# -- through the running proxy ---------------------------------------------------------------------------

DAY = next_weekday(28, weekday=2)
ADMIN = {"Authorization": "Bearer admin-secret"}


def berlin(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()


def booking(hhmm: str, name: str) -> dict[str, object]:
    attendee = {"name": name, "email": f"{name.lower()}@example.com", "timeZone": "Europe/Berlin"}
    return {"eventTypeId": 1001, "start": berlin(hhmm), "attendee": attendee}


async def test_stats_endpoint_counts_bookings_releases_and_expiries(make_stack: StackFactory) -> None:
    # One-second holds, so that one can expire during the test.
    stack = await make_stack(settings={"hold_ttl_min_s": 0.5, "hold_ttl_default_s": 1.0})
    for caller, hhmm in (("A", "09:00"), ("B", "09:30"), ("D", "10:30")):
        quote = await stack.quote(caller, eventTypeId=1001, start=berlin(hhmm), timeZone="Europe/Berlin")
        assert quote["available"] is True
    assert (await stack.book("A", booking("09:00", "Ann"))).status_code == 201
    assert (await stack.book("B", booking("09:30", "Bob"))).status_code == 201
    reserved = await stack.proxy.post(
        "/v2/slots/reservations", json={"eventTypeId": 1001, "slotStart": berlin("10:00")}, headers=SLOTS_V
    )
    assert reserved.status_code == 201
    uid = reserved.json()["data"]["reservationUid"]
    assert (await stack.proxy.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)).status_code == 200
    await asyncio.sleep(1.2)  # D never books: its hold expires
    data = (await stack.proxy.get("/calproxy/v1/admin/stats", headers=ADMIN)).json()["data"]
    advisor = data["advisor"]
    assert (advisor["n"], advisor["events"], advisor["censored"]) == (4, 2, 2)
    assert advisor["censoredShare"] == 0.5 and advisor["enough"] is False
    assert advisor["recommendedTtlSeconds"] is None and "at least 30 bookings" in advisor["reason"]
    assert advisor["currentTtlSeconds"] == 1
    _, found = await stack.services.stats.observations()
    kinds = Counter(o.outcome for o in found)
    assert kinds == {Outcome.BOOKED: 2, Outcome.RELEASED: 1, Outcome.EXPIRED: 1}
    expired = next(o for o in found if o.outcome is Outcome.EXPIRED)
    assert expired.duration_s == pytest.approx(1.0, abs=0.01), "censored at its lifetime"
