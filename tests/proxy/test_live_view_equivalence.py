"""With the live view and its reused answers off, every answer is the same (issue 12): two apps on one
Redis and one simulator, one answering from its view (and reusing answers), the other reading Redis on every
request, asked the same things after every change of a random sequence of holds, releases, bookings and
expiries."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import httpx
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.loadtest.servers import listen_on_loopback
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from tests.proxy.conftest import AUTH, BOOKINGS_V, GROUPS, SLOTS_V, next_weekday

DAY = next_weekday(70, weekday=3)
ZONES = ("Europe/Berlin", "America/New_York", "UTC")
QUERIES = [
    {
        "eventTypeId": et,
        "start": str(DAY),
        "end": str(DAY + timedelta(days=1)),
        "timeZone": zone,
        "format": fmt,
    }
    for et in (1001, 1002, 2001)
    for zone in ZONES
    for fmt in ("time", "range")
]
Client = tuple[httpx.AsyncClient, web.Application]


def at(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))
    return local.isoformat(timespec="milliseconds")


@asynccontextmanager
async def two_apps() -> AsyncIterator[tuple[Client, Client]]:
    """(view on, view off) on one fakeredis server and one simulator."""
    server = fakeredis.FakeServer()
    async with AsyncExitStack() as stack, run_sim(SimConfig(rate_limit=0)) as sim:
        made = []
        for live in (True, False):
            settings = Settings(
                upstream_url=sim.url,
                upstream_api_key=SecretStr("cal_test_alpha"),
                resource_groups=GROUPS,
                reconcile_interval_s=0,
                live_view=live,
                # Short holds, so expiry is part of the sequence.
                hold_ttl_default_s=2,
                hold_ttl_min_s=1,
            )
            redis = fakeredis.FakeAsyncRedis(server=server)
            stack.push_async_callback(redis.aclose)
            app = create_app(settings, redis=redis)
            url = await listen_on_loopback(stack, app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH)
            )
            made.append((client, app))
        yield made[0], made[1]


async def slot_answers(on: httpx.AsyncClient, off: httpx.AsyncClient) -> list[tuple[Any, ...]]:
    """Every query by every caller through both apps: (status, body) pairs that differ."""
    differing = []
    for query in QUERIES:
        for caller in ("", "c1", "c2"):
            headers = {**SLOTS_V, **({"X-Call-Id": caller} if caller else {})}
            a = await on.get("/v2/slots", params=query, headers=headers)
            b = await off.get("/v2/slots", params=query, headers=headers)
            if (a.status_code, a.text) != (b.status_code, b.text):
                differing.append((query, caller, a.status_code, a.text, b.status_code, b.text))
    return differing


async def probe_quote(client: httpx.AsyncClient, hhmm: str) -> dict[str, Any]:
    """A quote's answer without its hold (released at once) or its uids."""
    body = {"eventTypeId": 1002, "start": at(hhmm), "timeZone": "Europe/Berlin", "alternatives": 3}
    data = (await client.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": "probe"})).json()["data"]
    if data["reservationUid"]:
        uid = data["reservationUid"]
        gone = await client.delete(f"/v2/slots/reservations/{uid}", headers={**SLOTS_V, "X-Call-Id": "probe"})
        assert gone.status_code == 200, gone.text
    return {k: v for k, v in data.items() if k not in ("reservationUid", "reservationUntil")}


async def same_answers(on: Client, off: Client, step: str) -> None:
    assert on[1][SERVICES].availability.live_view is not None
    assert off[1][SERVICES].availability.live_view is None
    # The view is asynchronous and each app keeps days for a second: agreement may take a moment.
    for _ in range(100):
        differing = await slot_answers(on[0], off[0])
        if not differing:
            break
        await asyncio.sleep(0.02)
    assert not differing, (step, differing[:1])
    # Quotes' answers (reasons, alternatives) too.
    for hhmm in ("09:00", "10:00", "10:30", "11:15", "18:00"):
        assert await probe_quote(on[0], hhmm) == await probe_quote(off[0], hhmm), (step, hhmm)


async def random_step(
    rng: random.Random, on: Client, off: Client, held: list[tuple[httpx.AsyncClient, str, str]], step: int
) -> str:
    """One change through either app; returns what it was."""
    client = rng.choice((on[0], off[0]))
    caller = rng.choice(("c1", "c2", "c3"))
    event_type = rng.choice((1001, 1002))
    hhmm = rng.choice(("09:00", "09:30", "10:00", "11:00", "14:00", "15:30"))
    action = rng.choice(("quote", "quote", "release", "book", "wait"))
    if action == "quote":
        body = {"eventTypeId": event_type, "start": at(hhmm), "timeZone": "Europe/Berlin"}
        r = await client.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": caller})
        if uid := r.json()["data"]["reservationUid"]:
            held.append((client, uid, caller))
    elif action == "release" and held:
        owner, uid, who = held.pop(rng.randrange(len(held)))
        gone = await owner.delete(f"/v2/slots/reservations/{uid}", headers={**SLOTS_V, "X-Call-Id": who})
        assert gone.status_code == 200, gone.text
    elif action == "book":
        body = {"eventTypeId": event_type, "start": at(hhmm)}
        body["attendee"] = {"name": "Eq", "email": f"eq{step}@example.com", "timeZone": "Europe/Berlin"}
        await client.post("/v2/bookings", json=body, headers={**BOOKINGS_V, "X-Call-Id": caller})
    else:
        await asyncio.sleep(2.1)  # every quoted hold expires
    return f"step {step}: {action} {event_type} {hhmm} via {'on' if client is on[0] else 'off'}"


async def test_answers_with_and_without_the_live_view_are_identical() -> None:
    async with two_apps() as (on, off):
        rng = random.Random(12)
        await same_answers(on, off, "start")
        held: list[tuple[httpx.AsyncClient, str, str]] = []
        for step in range(14):
            await same_answers(on, off, await random_step(rng, on, off, held, step))
        services = on[1][SERVICES]
        assert (
            services.availability.live_view is not None and services.availability.live_view.stats.served > 0
        )
        assert services.answers is not None and services.answers.hits > 0
