"""Reconciliation cost (issue 10, item 2): upstream requests per pass, for 1 and for 3 processes.

Loopback only and bounded: the simulator at Cal.com's 120/min per key, in-process fakeredis, the proxy
apps in this process. For each process count it seeds N confirmed bookings (simulator bookings tagged as
calproxy tags them, plus their ledger entries), lets every process run its scheduled reconciliation at once,
and counts what reached the simulator. In the same run it replays the old per-booking pass (one
`GET /v2/bookings/{uid}` per confirmed entry, by every process, as before issue 10) against the same
simulator, and counts its requests, 429s and the "missing" bookings the old code would have reported.

    .venv/bin/python benchmarks/reconcile_bench.py [--bookings 500] [--processes 1,3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import fakeredis
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from tests.proxy.fleet import AUTH, Process, fleet, seed_confirmed, sim_stats

BOOKINGS_V = {"cal-api-version": "2024-08-13"}
TIME_LIMIT_S = 300


async def legacy_pass(direct: httpx.AsyncClient, process: Process) -> dict[str, int]:
    """The pre-issue-10 reconciliation of one process: one GET per confirmed ledger entry."""
    counts = {"requests": 0, "status429": 0, "missing": 0}
    async for entry in process.services.ledger.entries():
        if entry.booking_uid is None or entry.state.value != "confirmed":
            continue
        response = await direct.get(f"/v2/bookings/{entry.booking_uid}", headers={**AUTH, **BOOKINGS_V})
        counts["requests"] += 1
        body = response.json()
        if response.status_code == 429:
            counts["status429"] += 1
        # As the old code did: no booking in the answer counted as missing, whatever the status.
        if (
            response.status_code == 404
            or not isinstance(body, dict)
            or not isinstance(body.get("data"), dict)
        ):
            counts["missing"] += 1
    return counts


async def phase(sim_url: str, direct: httpx.AsyncClient, processes: int, bookings: int) -> dict[str, Any]:
    await direct.post("/_sim/reset")
    await direct.post("/_sim/faults", json={"rateLimit": 120})  # also starts a fresh limiter window
    redis = fakeredis.FakeAsyncRedis()
    async with fleet(sim_url, redis, processes) as fleet_processes:
        await seed_confirmed(direct, fleet_processes[0].services, bookings)
        for process in fleet_processes:
            process.services.reconciler.interval_ms = 60_000
        before = await sim_stats(direct)
        started = time.perf_counter()
        results = await asyncio.gather(*(p.services.reconciler.run_scheduled() for p in fleet_processes))
        seconds = time.perf_counter() - started
        after = await sim_stats(direct)
        reports = [r for r in results if r is not None]
        report = reports[0]
        new = {
            "passes": len(reports),
            "requests": after["totalRequests"] - before["totalRequests"],
            "status429": after["rateLimited"] - before["rateLimited"],
            "pages": report.pages,
            "confirmed": report.confirmed,
            "present": report.present,
            "missing": len(report.missing),
            "unknown": len(report.unknown),
            "seconds": round(seconds, 3),
        }
        await direct.post("/_sim/faults", json={"rateLimit": 120})
        olds = await asyncio.gather(*(legacy_pass(direct, p) for p in fleet_processes))
        old = {key: sum(o[key] for o in olds) for key in ("requests", "status429", "missing")}
    return {"processes": processes, "bookings": bookings, "new": new, "old": old}


async def main(bookings: int, counts: list[int]) -> int:
    async with (
        run_sim(SimConfig(rate_limit=120)) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=30) as direct,
    ):
        rows = [await phase(sim.url, direct, n, bookings) for n in counts]
    print(f"reconciliation, {bookings} confirmed bookings, simulator at 120 requests/min per key")
    header = (
        f"{'processes':>9} | {'passes':>6} {'upstream':>8} {'pages':>5} {'429s':>4} {'present':>7} "
        f"{'missing':>7} {'unknown':>7} {'s':>6} | {'old reqs':>8} {'old 429s':>8} {'old missing':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        new, old = row["new"], row["old"]
        print(
            f"{row['processes']:>9} | {new['passes']:>6} {new['requests']:>8} {new['pages']:>5} "
            f"{new['status429']:>4} {new['present']:>7} {new['missing']:>7} {new['unknown']:>7} "
            f"{new['seconds']:>6} | {old['requests']:>8} {old['status429']:>8} {old['missing']:>11}"
        )
    same = len({row["new"]["requests"] for row in rows}) == 1
    pages_only = all(row["new"]["requests"] == row["new"]["pages"] for row in rows)
    print(f"upstream requests per pass = list pages: {pages_only}; same for every process count: {same}")
    return 0 if same and pages_only else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--processes", default="1,3", help="comma-separated process counts")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    sys.exit(asyncio.run(asyncio.wait_for(main(args.bookings, counts), TIME_LIMIT_S)))
