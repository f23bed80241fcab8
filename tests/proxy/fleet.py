"""Several calproxy processes (in-process apps) on one Redis and one simulator, and a ledger seeded with
confirmed bookings fast: for reconciliation and the shared upstream budget (issue 10). Used by tests and by
benchmarks/reconcile_bench.py."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.calcom.timefmt import parse_instant
from proxy.ledger import CommitState, LedgerEntry
from proxy.loadtest.servers import listen_on_loopback
from proxy.services import Services
from proxy.settings import Settings

API_KEY = "cal_test_alpha"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
GROUPS = {1001: "host-1", 1002: "host-1", 2001: "host-2"}
SEED_EVENT_TYPE = 1001
SEED_LENGTH_MIN = 30


@dataclass
class Process:
    """One proxy app, served on a loopback port."""

    app: web.Application
    url: str
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        return self.app[SERVICES]


def base_settings(sim_url: str, **overrides: Any) -> Settings:
    """The settings every process of a fleet shares (scheduler off: tests and the benchmark drive passes)."""
    values: dict[str, Any] = {
        "upstream_url": sim_url,
        "upstream_api_key": SecretStr(API_KEY),
        "resource_groups": GROUPS,
        "reconcile_interval_s": 0,
        "upstream_timeout_s": 5.0,
        "admin_token": SecretStr("admin-secret"),
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def fleet(
    sim_url: str, redis: aioredis.Redis, count: int, **overrides: Any
) -> AsyncIterator[list[Process]]:
    """`count` proxy processes on one Redis and one simulator."""
    async with AsyncExitStack() as stack:
        processes = []
        for _ in range(count):
            app = create_app(base_settings(sim_url, **overrides), redis=redis)
            url = await listen_on_loopback(stack, app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH)
            )
            processes.append(Process(app=app, url=url, client=client))
        yield processes


def _ms(text: str) -> int:
    return int(parse_instant(text).timestamp() * 1000)


async def seed_confirmed(
    sim: httpx.AsyncClient,
    services: Services,
    count: int,
    *,
    first_day_ahead: int = 60,
    event_type_id: int = SEED_EVENT_TYPE,
    concurrency: int = 16,
) -> list[LedgerEntry]:
    """`count` bookings in the simulator, tagged as calproxy tags them, each with a CONFIRMED ledger entry.

    The simulator's outside-channel endpoint books without checks (and without counting against its rate
    limit), so 500 take about a second; the slots start `first_day_ahead` days out, every 30 minutes.
    """
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start += timedelta(days=first_day_ahead)
    resource = f"grp:{GROUPS[event_type_id]}" if event_type_id in GROUPS else f"et:{event_type_id}"
    gate = asyncio.Semaphore(concurrency)
    now_ms = int(time.time() * 1000)

    async def one(i: int) -> LedgerEntry:
        commit_id = f"seed-{uuid.uuid4().hex}"
        at = start + timedelta(minutes=SEED_LENGTH_MIN * i)
        async with gate:
            made = await sim.post(
                "/_sim/bookings",
                json={
                    "eventTypeId": event_type_id,
                    "start": at.isoformat().replace("+00:00", "Z"),
                    "lengthInMinutes": SEED_LENGTH_MIN,
                    "metadata": {"calproxyCommit": commit_id},
                },
            )
        assert made.status_code == 201, made.text
        data = made.json()["data"]
        entry = LedgerEntry(
            commit_id=commit_id,
            tenant="seeded",
            event_type_id=event_type_id,
            resource=resource,
            start_ms=_ms(data["start"]),
            end_ms=_ms(data["end"]),
            state=CommitState.CONFIRMED,
            created_ms=now_ms,
            updated_ms=now_ms,
            booking_uid=data["uid"],
        )
        await services.ledger.write(entry)
        return entry

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def sim_stats(sim: httpx.AsyncClient) -> dict[str, Any]:
    """The simulator's request counters."""
    return dict((await sim.get("/_sim/stats")).json()["data"])


def count_of(stats: dict[str, Any], route: str, status: int | None = None) -> int:
    """Requests to one simulator route (e.g. "GET /v2/bookings"), of one status or all."""
    by_status = stats["requests"].get(route, {})
    return sum(n for s, n in by_status.items() if status is None or int(s) == status)
