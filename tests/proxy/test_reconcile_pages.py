"""Reconciliation that costs pages, not bookings (issue 10, item 2): one runner across processes under a
fenced lease, list pages per event type, 429s are "unknown" never "missing", orphans settled, old entries
retired."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import httpx
import pytest

from proxy.errors import UpstreamTimeout
from proxy.ledger import CommitState, LedgerEntry
from proxy.reconcile import Lease, LeaseLost
from proxy.sim.config import SimConfig
from proxy.sim.runner import RunningSim, run_sim
from proxy.upstream_budget import MAX_WAIT_S
from tests.proxy.conftest import BOOKINGS_V, next_weekday
from tests.proxy.fleet import Process, count_of, fleet, seed_confirmed, sim_stats

LIST = "GET /v2/bookings"
GET_ONE = "GET /v2/bookings/{uid}"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    """The simulator at Cal.com's own limit: 120 requests a minute per key."""
    async with run_sim(SimConfig(rate_limit=120)) as running:
        yield running


@pytest.fixture
async def direct(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=30) as client:
        yield client


async def test_three_processes_500_bookings_one_pass_of_a_few_pages_no_429(
    sim: RunningSim, direct: httpx.AsyncClient
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 3) as processes:
        entries = await seed_confirmed(direct, processes[0].services, 500)
        for process in processes:
            process.services.reconciler.interval_ms = 60_000
        before = await sim_stats(direct)
        results = await asyncio.gather(*(p.services.reconciler.run_scheduled() for p in processes))
        reports = [r for r in results if r is not None]
        assert len(reports) == 1, "the lease lets one process run the pass"
        report = reports[0]
        assert report.confirmed == 500 and report.present == 500
        assert report.missing == [] and report.unknown == [] and report.mismatched == []
        assert report.consistency_ratio == 1.0
        # 500 bookings of 1001 in 2 pages of 250, plus one page for 1002; 2001 belongs to another user, whose
        # bookings calproxy's key cannot list: not read (an empty page would read as false absence).
        assert report.pages == 3 and report.not_visible == [2001]
        # A second round within the interval: every process sees the recent pass and skips.
        again = await asyncio.gather(*(p.services.reconciler.run_scheduled() for p in processes))
        assert again == [None, None, None]
        after = await sim_stats(direct)
        assert count_of(after, LIST) - count_of(before, LIST) == report.pages
        assert count_of(after, GET_ONE) == count_of(before, GET_ONE), "no per-booking reads"
        assert after["rateLimited"] == 0
        stored = await processes[2].services.reconciler.last_report()
        assert stored is not None and stored["pages"] == 3 and stored["fence"] == report.fence
        assert len(entries) == 500


async def test_a_429_on_a_page_makes_entries_unknown_never_missing(
    sim: RunningSim, direct: httpx.AsyncClient
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 1, reconcile_page_size=20) as (process,):
        await seed_confirmed(direct, process.services, 60)
        reconciler = process.services.reconciler
        assert reconciler.reach is not None
        await reconciler.reach.of({1001, 1002, 2001})  # what the key can see, learned before the limit bites
        # Cal.com lets 2 more requests through this minute: the 3rd page of event type 1001 is a 429.
        await direct.post("/_sim/faults", json={"rateLimit": 2})
        report = await process.services.reconciler.run()
        assert report.missing == [], "a 429 is not a missing booking"
        assert len(report.unknown) == 60 and report.confirmed == 60
        assert report.consistency_ratio == 1.0, "nothing checked, nothing inconsistent"
        assert report.pages == 2
        statuses = {page["status"] for page in report.failed_pages}
        assert 429 in statuses
        stored = await process.services.reconciler.last_report()
        assert stored is not None and len(stored["unknown"]) == 60 and stored["missing"] == []
        # The 429 paused every process with that key: the other event types were not even sent.
        stats = await sim_stats(direct)
        assert stats["rateLimited"] == 1


async def test_commits_keep_flowing_with_zero_429_while_reconciliation_runs(
    sim: RunningSim, direct: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Background work waits at most 0.3 s for its share here (20 s in production), to keep the test short.
    monkeypatch.setitem(MAX_WAIT_S, "background", 0.3)
    redis = fakeredis.FakeAsyncRedis()
    # Small pages make each pass cost 22 requests: three passes alone would overrun Cal.com's 120/min
    # together with the commits, without the shared budget.
    async with fleet(sim.url, redis, 3, reconcile_page_size=25) as processes:
        await seed_confirmed(direct, processes[0].services, 500)
        day = next_weekday(21, weekday=1)
        times = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]

        async def commit(i: int, hhmm: str) -> int:
            process = processes[i % 3]
            local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))
            body = {
                "eventTypeId": 1001,
                "start": local.isoformat(timespec="milliseconds"),
                "attendee": {"name": f"C{i}", "email": f"c{i}@example.com", "timeZone": "Europe/Berlin"},
            }
            response = await process.client.post(
                "/v2/bookings", json=body, headers={**BOOKINGS_V, "X-Call-Id": f"call-{i}"}
            )
            assert response.status_code == 201, response.text
            return response.status_code

        async def reconcile_forever(process: Process, stop: asyncio.Event) -> list[int]:
            pages = []
            while not stop.is_set():
                report = await process.services.reconciler.run(wait_s=0.5)
                pages.append(report.pages)
                await asyncio.sleep(0.05)
            return pages

        stop = asyncio.Event()
        loops = [asyncio.create_task(reconcile_forever(p, stop)) for p in processes]
        await asyncio.sleep(0.3)
        statuses = []
        for i, hhmm in enumerate(times):
            statuses.append(await commit(i, hhmm))
        stop.set()
        pages = [n for loop in loops for n in await loop]
        stats = await sim_stats(direct)
        assert statuses == [201] * len(times), statuses
        assert stats["rateLimited"] == 0, "Cal.com never answered 429"
        assert sum(pages) >= 22, "reconciliation really ran meanwhile"
        # Reconciliation stayed within its half of the minute's budget.
        assert count_of(stats, LIST) <= 60


async def test_orphan_tagged_booking_unknown_to_the_ledger_is_found_and_adopted(
    sim: RunningSim, direct: httpx.AsyncClient
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 1) as (process,):
        reconciler = process.services.reconciler
        day = next_weekday(30)
        made = await direct.post(
            "/_sim/bookings",
            json={
                "eventTypeId": 1002,
                "start": f"{day}T10:00:00Z",
                "metadata": {"calproxyCommit": "lost-one"},
            },
        )
        uid = made.json()["data"]["uid"]
        # Just made: it could be a commit still in flight, so it is reported and left for a later pass.
        first = await reconciler.run()
        assert first.orphans == [uid] and first.orphans_adopted == []
        reconciler.pending_grace_ms = 0
        second = await reconciler.run()
        assert second.orphans == [uid] and second.orphans_adopted == [uid]
        truth = (await direct.get("/_sim/bookings")).json()["data"]
        # Kept: its caller may have been told "booked" before Redis lost the entry.
        assert [b["status"] for b in truth if b["uid"] == uid] == ["accepted"]
        # The calendar rebuilt the lost entry: known now, and never reported again.
        entry = await process.services.ledger.find_booking(uid)
        assert entry is not None and entry.commit_id == "lost-one"
        assert entry.state is CommitState.ADOPTED and entry.resource == "grp:host-1"
        third = await reconciler.run()
        assert third.orphans == []


async def test_entries_past_retention_leave_the_live_ledger(sim: RunningSim) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 1) as (process,):
        services = process.services
        now = int(time.time() * 1000)
        old = LedgerEntry(
            commit_id="old-commit",
            tenant="t",
            event_type_id=1001,
            resource="grp:host-1",
            start_ms=now - 9 * 86_400_000,
            end_ms=now - 9 * 86_400_000 + 1_800_000,
            state=CommitState.CONFIRMED,
            created_ms=now,
            updated_ms=now,
            booking_uid="old-booking",
        )
        await services.ledger.write(old)
        report = await services.reconciler.run()
        assert report.retired == 1 and report.confirmed == 0, "outside the window: neither read nor checked"
        assert await services.ledger.get("old-commit", "grp:host-1") is None
        assert await services.ledger.find_booking("old-booking") is None
        archive = services.keys.ledger_archive("grp:host-1", "old-commit")
        archived = await redis.get(archive)
        assert archived is not None and LedgerEntry.decode(archived) == old
        ttl = await redis.ttl(archive)
        assert 0 < ttl <= 7 * 86_400


async def test_the_lease_is_fenced_and_taken_over_when_its_holder_dies() -> None:
    redis = fakeredis.FakeAsyncRedis()
    first = Lease(redis, "t:lease", "t:fence", ttl_ms=200)
    second = Lease(redis, "t:lease", "t:fence", ttl_ms=200)
    assert await first.acquire()
    assert not await second.acquire(), "one holder at a time"
    await first.check()
    await asyncio.sleep(0.3)  # the holder "died": no renewal, the lease expired
    assert await second.acquire()
    assert second.fence == first.fence + 1
    with pytest.raises(LeaseLost):
        await first.check()  # the stalled holder checks its fence before acting, and stops
    assert not await first.renew()
    await first.release()  # never releases the new holder's lease
    await second.check()
    await second.release()
    assert await redis.get("t:lease") is None


async def test_a_held_lease_makes_other_processes_skip(sim: RunningSim) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 2) as processes:
        keys = processes[0].services.keys
        holder = Lease(redis, keys.reconcile_lease(), keys.reconcile_fence(), ttl_ms=5_000)
        assert await holder.acquire()
        assert await processes[0].services.reconciler.run_scheduled() is None
        skipped = await processes[1].services.reconciler.run(wait_s=0.3)
        assert skipped.skipped is not None and skipped.pages == 0
        await holder.release()
        report = await processes[1].services.reconciler.run(wait_s=0.3)
        assert report.skipped is None and report.fence == holder.fence + 1


async def test_a_timeout_or_5xx_on_a_page_is_unknown_too(
    sim: RunningSim, direct: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 1) as (process,):
        await seed_confirmed(direct, process.services, 10)
        upstream = process.services.upstream
        real = upstream.list_bookings

        async def flaky(params: Mapping[str, str], credentials: Mapping[str, str] | None = None) -> Any:
            if params.get("eventTypeId") == "1001":
                raise UpstreamTimeout()
            return await real(params, credentials)

        monkeypatch.setattr(upstream, "list_bookings", flaky)
        report = await process.services.reconciler.run()
        assert report.missing == [] and len(report.unknown) == 10
        assert report.failed_pages == [{"eventTypeId": 1001, "page": 0, "status": "timeout"}]


async def test_a_holder_that_lost_its_lease_stops_before_acting(
    sim: RunningSim, direct: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim.url, redis, 1) as (process,):
        services = process.services
        day = next_weekday(30)
        made = await direct.post(
            "/_sim/bookings",
            json={"eventTypeId": 1001, "start": f"{day}T12:00:00Z", "metadata": {"calproxyCommit": "ghost"}},
        )
        start_ms = int(datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp() * 1000)
        now = int(time.time() * 1000)
        ghost = LedgerEntry(
            commit_id="ghost",
            tenant="t",
            event_type_id=1001,
            resource="grp:host-1",
            start_ms=start_ms,
            end_ms=start_ms + 1_800_000,
            state=CommitState.UNKNOWN,
            created_ms=now,
            updated_ms=now,
        )
        await services.ledger.write(ghost)
        keys = services.keys
        usurper = Lease(redis, keys.reconcile_lease(), keys.reconcile_fence(), ttl_ms=30_000)
        real = services.upstream.list_bookings

        async def stalled(params: Mapping[str, str], credentials: Mapping[str, str] | None = None) -> Any:
            # The holder stalls past its lease; another process takes over meanwhile.
            if usurper.value is None:
                await redis.delete(keys.reconcile_lease())
                assert await usurper.acquire()
            return await real(params, credentials)

        monkeypatch.setattr(services.upstream, "list_bookings", stalled)
        report = await services.reconciler.run()
        assert report.skipped == "lease lost mid-pass"
        truth = (await direct.get("/_sim/bookings")).json()["data"]
        uid = made.json()["data"]["uid"]
        assert [b["status"] for b in truth if b["uid"] == uid] == ["accepted"], "nothing acted on"
        entry = await services.ledger.get("ghost", "grp:host-1")
        assert entry is not None and entry.state is CommitState.UNKNOWN
        assert await services.reconciler.last_report() is None, "no report stored by the stale holder"
        await usurper.release()
        monkeypatch.setattr(services.upstream, "list_bookings", real)
        settled = await services.reconciler.run()
        assert settled.ghosts_cancelled == [uid] and settled.fence == usurper.fence + 1
