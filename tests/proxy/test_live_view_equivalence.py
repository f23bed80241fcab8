"""With the live view and its reused answers off, every answer is the same (issue 12): two apps on one
Redis and one simulator, one answering from its view (and reusing answers), the other reading Redis on every
request, asked the same things after every change of a random sequence of holds, releases, bookings and
expiries."""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import fakeredis
import httpx
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


def at(hhmm: str, zone: str = "Europe/Berlin") -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(zone))
    return local.isoformat(timespec="milliseconds")


async def test_answers_with_and_without_the_live_view_are_identical() -> None:
    server = fakeredis.FakeServer()
    async with AsyncExitStack() as stack, run_sim(SimConfig(rate_limit=0)) as sim:
        clients = {}
        for live in (True, False):
            values = {
                "upstream_url": sim.url,
                "upstream_api_key": SecretStr("cal_test_alpha"),
                "resource_groups": GROUPS,
                "reconcile_interval_s": 0,
                "live_view": live,
                # Short holds, so expiry is part of the sequence.
                "hold_ttl_default_s": 2,
                "hold_ttl_min_s": 1,
            }
            redis = fakeredis.FakeAsyncRedis(server=server)
            stack.push_async_callback(redis.aclose)
            app = create_app(Settings(**values), redis=redis)
            url = await listen_on_loopback(stack, app)
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH))
            clients[live] = (client, app)
        on, on_app = clients[True]
        off, off_app = clients[False]

        async def same_answers(step: str) -> None:
            view = on_app[SERVICES].availability.live_view
            assert view is not None and off_app[SERVICES].availability.live_view is None
            queries = []
            for event_type in (1001, 1002, 2001):
                for zone in ZONES:
                    for fmt in ("time", "range"):
                        queries.append(
                            {"eventTypeId": event_type, "start": str(DAY), "end": str(DAY + timedelta(days=1)),
                             "timeZone": zone, "format": fmt}
                        )  # fmt: skip
            # The view is asynchronous: it may answer with the previous state for a few milliseconds.
            for _ in range(100):
                pairs = []
                for query in queries:
                    for caller in ("", "c1", "c2"):
                        headers = {**SLOTS_V, **({"X-Call-Id": caller} if caller else {})}
                        a = await on.get("/v2/slots", params=query, headers=headers)
                        b = await off.get("/v2/slots", params=query, headers=headers)
                        pairs.append((a.status_code, a.text, b.status_code, b.text, query, caller))
                if all(p[0] == p[2] and p[1] == p[3] for p in pairs):
                    break
                await asyncio.sleep(0.02)
            bad = [p for p in pairs if p[0] != p[2] or p[1] != p[3]]
            assert not bad, (step, bad[:1])
            # Quotes' refusals (reasons, alternatives) too; probed without holding (alternatives unheld and
            # the probing caller's own hold released at once).
            for hhmm in ("09:00", "10:00", "10:30", "11:15", "18:00"):
                body = {"eventTypeId": 1002, "start": at(hhmm), "timeZone": "Europe/Berlin", "alternatives": 3}
                answers = []
                for client in (on, off):
                    r = await client.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": "probe"})
                    data = r.json()["data"]
                    if data["reservationUid"]:
                        await client.delete(f"/v2/slots/reservations/{data['reservationUid']}")
                    answers.append({k: v for k, v in data.items() if k not in ("reservationUid", "reservationUntil")})
                assert answers[0] == answers[1], (step, hhmm, answers)

        rng = random.Random(12)
        await same_answers("start")
        held: list[tuple[httpx.AsyncClient, str]] = []
        for step in range(14):
            client = rng.choice((on, off))
            caller = rng.choice(("c1", "c2", "c3"))
            event_type = rng.choice((1001, 1002))
            hhmm = rng.choice(("09:00", "09:30", "10:00", "11:00", "14:00", "15:30"))
            action = rng.choice(("quote", "quote", "release", "book", "wait"))
            if action == "quote":
                body = {"eventTypeId": event_type, "start": at(hhmm), "timeZone": "Europe/Berlin"}
                r = await client.post("/calproxy/v1/quote", json=body, headers={"X-Call-Id": caller})
                uid = r.json()["data"]["reservationUid"]
                if uid:
                    held.append((client, uid))
            elif action == "release" and held:
                owner, uid = held.pop(rng.randrange(len(held)))
                await owner.delete(f"/v2/slots/reservations/{uid}")
            elif action == "book":
                body = {"eventTypeId": event_type, "start": at(hhmm)}
                body["attendee"] = {"name": "Eq", "email": f"eq{step}@example.com", "timeZone": "Europe/Berlin"}
                await client.post("/v2/bookings", json=body, headers={**BOOKINGS_V, "X-Call-Id": caller})
            else:
                await asyncio.sleep(2.1)  # every quoted hold expires
            await same_answers(f"step {step}: {action} {event_type} {hhmm} via {'on' if client is on else 'off'}")
        view = on_app[SERVICES].availability.live_view
        assert view is not None and view.stats.served > 0
        answers = on_app[SERVICES].answers
        assert answers is not None and answers.hits > 0
