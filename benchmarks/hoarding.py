"""Hoarding run (issue 9): one tenant quotes every slot it can, as fast as it can; do honest callers book?

Run: .venv/bin/python benchmarks/hoarding.py [--seconds 8] [--honest 40] [--seed 7]   (~25 s, loopback only)

The simulator and calproxy run in this process on 127.0.0.1 (embedded fakeredis), twice with the same seed:
once with the budgets switched off, once with calproxy's defaults. The hoarder (API key cal_test_alpha)
runs `--workers` loops that quote every free slot of event type 1001 over `--days` weekdays in turn, each
quote with a fresh X-Call-Id (so the per-caller cap never bites), renewing whatever expires. The honest
tenant (API key cal_test_beta) sends `--honest` callers, spread evenly over the run, each quoting a seeded
random slot with two held alternatives and booking what it was offered. Bounded: `--seconds` per run, at
most `--max-quotes` hoarder quotes per run. Prints one table (markdown) and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.identity import tenant_of
from proxy.loadtest.servers import listen_on_loopback
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim

EVENT_TYPE = 1001
ZONE = "Europe/Berlin"
HOARDER = {"Authorization": "Bearer cal_test_alpha"}
HONEST = {"Authorization": "Bearer cal_test_beta"}
BOOKINGS_V = {"cal-api-version": "2024-08-13"}
SLOTS_V = {"cal-api-version": "2024-09-04"}
UNBUDGETED: dict[str, Any] = {
    "max_holds_per_tenant": 100_000,
    "resource_share": 1.0,
    "resource_share_floor": 10_000,
    "quote_rate_per_tenant": 0,
    "quote_rate_per_address": 0,
}


@dataclass
class Figures:
    """What one run measured."""

    honest: int = 0
    offered: int = 0
    booked: int = 0
    honest_429: int = 0
    hoarder_quotes: int = 0
    hoarder_holds_made: int = 0
    hoarder_429: int = 0
    hoarder_other: int = 0
    hoarder_live_peak: int = 0
    slots_total: int = 0
    free_to_honest_at_end: int = 0
    samples: list[int] = field(default_factory=list)


def first_weekday(days_ahead: int) -> date:
    day = date.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def free_slots(
    client: httpx.AsyncClient, headers: dict[str, str], first: date, last: date
) -> list[str]:
    params = {"eventTypeId": str(EVENT_TYPE), "start": str(first), "end": str(last), "timeZone": ZONE}
    response = await client.get("/v2/slots", params=params, headers={**SLOTS_V, **headers})
    response.raise_for_status()
    return [slot["start"] for day in response.json()["data"].values() for slot in day]


def quote_body(start: str, alternatives: int) -> dict[str, Any]:
    return {
        "eventTypeId": EVENT_TYPE,
        "start": start,
        "timeZone": ZONE,
        "alternatives": alternatives,
        "holdAlternatives": alternatives > 0,
    }


async def hoard(
    client: httpx.AsyncClient, slots: list[str], figures: Figures, stop: float, max_quotes: int, worker: int
) -> None:
    i = worker
    while time.monotonic() < stop and figures.hoarder_quotes < max_quotes:
        start = slots[i % len(slots)]
        i += 7  # workers interleave over the slot list
        figures.hoarder_quotes += 1
        response = await client.post(
            "/calproxy/v1/quote",
            json=quote_body(start, 0),
            headers={**HOARDER, "X-Call-Id": f"hoard-{worker}-{figures.hoarder_quotes}"},
        )
        if response.status_code == 429:
            figures.hoarder_429 += 1
        elif response.status_code == 200 and response.json()["data"]["available"]:
            figures.hoarder_holds_made += 1
        else:
            figures.hoarder_other += 1


async def honest_caller(
    client: httpx.AsyncClient, index: int, wanted: str, delay: float, figures: Figures
) -> None:
    await asyncio.sleep(delay)
    call = {**HONEST, "X-Call-Id": f"honest-{index}"}
    response = await client.post("/calproxy/v1/quote", json=quote_body(wanted, 2), headers=call)
    if response.status_code == 429:
        figures.honest_429 += 1
        return
    data = response.json()["data"]
    if data["available"]:
        start = data["slot"]["start"]
    elif data["alternatives"]:
        start = data["alternatives"][0]["start"]
    else:
        return
    figures.offered += 1
    # Like the load test's agent: let go of the alternatives the caller did not pick.
    for alt in data["alternatives"]:
        if alt["start"] != start and "reservationUid" in alt:
            await client.delete(
                f"/v2/slots/reservations/{alt['reservationUid']}", headers={**SLOTS_V, **call}
            )
    attendee = {"name": f"Caller {index}", "email": f"caller{index}@example.com", "timeZone": ZONE}
    body = {"eventTypeId": EVENT_TYPE, "start": start, "attendee": attendee}
    booked = await client.post("/v2/bookings", json=body, headers={**BOOKINGS_V, **call})
    if booked.status_code == 201:
        figures.booked += 1


async def one_run(args: argparse.Namespace, budgets: bool) -> Figures:
    figures = Figures(honest=args.honest)
    first = first_weekday(7)
    # The hoarder takes two weeks, which covers every honest caller's search for alternatives too.
    last = first + timedelta(days=13)
    honest_last = first + timedelta(days=args.days - 1)
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(run_sim(SimConfig(rate_limit=0)))
        values: dict[str, Any] = {
            "upstream_url": sim.url,
            "upstream_api_key": SecretStr("cal_test_alpha"),
            "reconcile_interval_s": 0,
            **({} if budgets else UNBUDGETED),
        }
        app = create_app(Settings(**values))
        url = await listen_on_loopback(stack, app)
        limits = httpx.Limits(max_connections=args.workers + args.honest + 4)
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30, limits=limits))
        slots = await free_slots(client, HOARDER, first, last)
        figures.slots_total = len(slots)
        rng = random.Random(args.seed)
        near = [s for s in slots if s[:10] <= str(honest_last)]
        wanted = [rng.choice(near) for _ in range(args.honest)]
        services = app[SERVICES]
        hoarder_tenant = tenant_of(HOARDER, services.tenant_secret)

        async def sample() -> None:
            while time.monotonic() < stop:
                # The holds' resource as calproxy resolves it now: since calendars are learned from Cal.com
                # (issue 11) that is the host's `usr:<id>`, not `et:<id>` (the peak read 0 until this).
                resource = services.availability.resources.resource_for(EVENT_TYPE)
                live = await services.holds.live(resource, 0, 2**62)
                mine = sum(1 for h in live if h.owner.startswith(f"{hoarder_tenant}:"))
                figures.samples.append(mine)
                await asyncio.sleep(0.25)

        stop = time.monotonic() + args.seconds
        spacing = args.seconds / max(1, args.honest)
        await asyncio.gather(
            sample(),
            *(hoard(client, slots, figures, stop, args.max_quotes, w) for w in range(args.workers)),
            *(honest_caller(client, i, wanted[i], (i + 0.5) * spacing, figures) for i in range(args.honest)),
        )
        figures.hoarder_live_peak = max(figures.samples, default=0)
        figures.free_to_honest_at_end = len(await free_slots(client, HONEST, first, last))
    return figures


def pct(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.0f}%)" if whole else "0"


def table(off: Figures, on: Figures) -> str:
    rows = [
        ("bookable slots, two weeks of event type 1001", str(off.slots_total), str(on.slots_total)),
        ("honest callers", str(off.honest), str(on.honest)),
        ("honest callers offered a slot", pct(off.offered, off.honest), pct(on.offered, on.honest)),
        ("honest callers booked", pct(off.booked, off.honest), pct(on.booked, on.honest)),
        ("honest callers refused 429", str(off.honest_429), str(on.honest_429)),
        ("hoarder quotes sent", str(off.hoarder_quotes), str(on.hoarder_quotes)),
        ("hoarder holds obtained (incl. renewals)", str(off.hoarder_holds_made), str(on.hoarder_holds_made)),
        ("hoarder live holds, peak", str(off.hoarder_live_peak), str(on.hoarder_live_peak)),
        ("hoarder 429s", str(off.hoarder_429), str(on.hoarder_429)),
        ("hoarder quotes answered 'not available'", str(off.hoarder_other), str(on.hoarder_other)),
        (
            "slots free to the honest tenant at the end",
            str(off.free_to_honest_at_end),
            str(on.free_to_honest_at_end),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        f"| {'figure'.ljust(width)} | budgets off | budgets on (defaults) |",
        f"|{'-' * (width + 2)}|---:|---:|",
    ]
    lines += [f"| {name.ljust(width)} | {a} | {b} |" for name, a, b in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each run (max 60)")
    parser.add_argument("--honest", type=int, default=40, help="honest callers per run (max 500)")
    parser.add_argument("--workers", type=int, default=8, help="hoarder's concurrent loops (max 32)")
    parser.add_argument("--days", type=int, default=5, help="days the honest callers want (max 7)")
    parser.add_argument("--max-quotes", type=int, default=20_000, help="hoarder quotes per run (bound)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.seconds = min(max(1.0, args.seconds), 60.0)
    args.honest = min(max(1, args.honest), 500)
    args.workers = min(max(1, args.workers), 32)
    args.days = min(max(1, args.days), 7)
    off = await one_run(args, budgets=False)
    on = await one_run(args, budgets=True)
    print(
        f"hoarding run: {args.seconds:g} s per run, {args.workers} hoarder loops,"
        f" {args.honest} honest callers, seed {args.seed}"
    )
    print(table(off, on))


if __name__ == "__main__":
    asyncio.run(main())
