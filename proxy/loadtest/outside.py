"""The outside channel: bookings straight at the simulator, past calproxy and its holds.

Two kinds of outside bookers (issue 11, item 4): a *web booker* is a person on Cal.com's booking page, who can
only pick a slot that `GET /v2/slots` shows at that moment (so a Cal.com reservation hides a slot from them);
a *raw API booker* books the time it wants, whatever the slot list says (Cal.com's own conflict check still
applies at booking).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from proxy.calcom.timefmt import local_date
from proxy.loadtest.client import CallFailed, LoadClient
from proxy.loadtest.population import outside_email, wanted_time
from proxy.loadtest.strategies.base import BOOKINGS_VERSION, SLOTS_VERSION, utc
from proxy.loadtest.strategies.direct import nearest, slot_starts


@dataclass
class OutsideStats:
    """What the outside channel did, so its requests can be told apart from the strategy's."""

    attempts: int = 0
    booked: int = 0
    booked_web: int = 0
    booked_api: int = 0
    requests: int = 0
    rate_limited: int = 0
    starts: list[str] = field(default_factory=list)
    # Web bookers: attendee email -> when their page view (GET /v2/slots) was answered, Unix time.
    viewed_at: dict[str, float] = field(default_factory=dict)


class OutsideChannel:
    """Books through Cal.com's public API (its conflict check applies; no API key, so its own limit)."""

    def __init__(
        self,
        client: LoadClient,
        sim_url: str,
        *,
        seed: int,
        event_types: Sequence[int],
        zones: Mapping[int, str],
        days: Sequence[date],
        web_share: float = 0.5,
    ) -> None:
        self.client = client
        self.sim_url = sim_url
        self.rng = random.Random(seed * 31 + 3)
        self.event_types = list(event_types)
        self.zones = zones
        self.days = list(days)
        self.web_share = web_share
        self.stats = OutsideStats()

    async def run(self, schedule_real_s: Sequence[float]) -> None:
        """Book once at each scheduled offset (seconds from now)."""
        begin = time.monotonic()
        for offset in schedule_real_s:
            await asyncio.sleep(max(0.0, begin + offset - time.monotonic()))
            try:
                await self.book_one()
            except CallFailed:
                pass  # An outside visitor whose page failed simply goes away.

    async def book_one(self) -> None:
        """Pick a popular time; a web booker books it or the nearest slot the page shows, a raw API booker
        books it as it is."""
        et = self.rng.choice(self.event_types)
        zone = self.zones[et]
        wanted = wanted_time(self.rng, self.days, zone)
        channel = "web" if self.rng.random() < self.web_share else "api"
        self.stats.attempts += 1
        pick = await self._from_page(et, zone, wanted) if channel == "web" else wanted
        seen_at = time.time()
        if pick is None:
            return
        email = outside_email(channel, self.stats.attempts)
        body = {
            "eventTypeId": et,
            "start": utc(pick),
            "attendee": {"name": f"Outside {self.stats.attempts}", "email": email, "timeZone": zone},
        }
        created = await self.client.call(
            "POST", f"{self.sim_url}/v2/bookings", headers={"cal-api-version": BOOKINGS_VERSION}, body=body
        )
        self._count(created.status)
        if created.status == 201:
            self.stats.booked += 1
            if channel == "web":
                self.stats.booked_web += 1
                self.stats.viewed_at[email] = seen_at
            else:
                self.stats.booked_api += 1
            self.stats.starts.append(utc(pick))

    async def _from_page(self, et: int, zone: str, wanted: datetime) -> datetime | None:
        """What a person on the booking page can pick: the wanted time if shown, else the nearest shown."""
        day = local_date(wanted, zone).isoformat()
        params = {"eventTypeId": str(et), "start": day, "end": day, "timeZone": zone}
        answer = await self.client.call(
            "GET", f"{self.sim_url}/v2/slots", headers={"cal-api-version": SLOTS_VERSION}, params=params
        )
        self._count(answer.status)
        if answer.status != 200:
            return None
        starts = slot_starts(answer.body)
        return wanted if wanted in starts else next(iter(nearest(starts, wanted, 1)), None)

    def _count(self, status: int) -> None:
        self.stats.requests += 1
        if status == 429:
            self.stats.rate_limited += 1
