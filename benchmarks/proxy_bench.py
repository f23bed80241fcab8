"""calproxy benchmarks: cached slots throughput, quote and commit cost, upstream requests per 1,000 queries.

Run: .venv/bin/python benchmarks/proxy_bench.py [--seconds 8]   (needs wrk and redis-server; ~2 minutes)
Prints figures; asserts nothing. The simulator, calproxy and a bare aiohttp handler each run in their own
process (one proxy process), wrk (one thread) drives the throughput runs, and Redis is a real redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

# The redis-server launcher is shared with the test suite; this script runs from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holds.scripts import SCRIPT_NAMES, script_source
from proxy.app import create_app
from proxy.budgets import RECORD_SOURCE
from proxy.commit_records import CLOSE_SOURCE, OPEN_SOURCE
from proxy.loadtest.harness import HOST_GROUPS, Child, spawn
from proxy.loadtest.population import booking_days
from proxy.opstats import SCRIPT_NAMES as STATS_SCRIPTS
from proxy.opstats import script_source as stats_source
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from proxy.upstream_budget import TAKE_SOURCE
from tests.redis_server import start_redis_server

KEY = "cal_test_alpha"
SLOTS_HEADERS = {"cal-api-version": "2024-09-04", "Authorization": f"Bearer {KEY}"}
BOOK_HEADERS = {"cal-api-version": "2024-08-13", "Authorization": f"Bearer {KEY}"}
GOAL_RPS, GOAL_RATIO, GOAL_COMMIT_MS = 5000, 0.50, 1.5
GOAL_QUOTE_P50_MS, GOAL_LAG_P99_MS = 1.5, 5.0
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def proxy_settings(sim_url: str, redis_url: str | None, **extra: Any) -> dict[str, Any]:
    """calproxy for benchmarks: no rate limit games, long TTLs so measurements are not cut short."""
    return {
        "upstream_url": sim_url,
        "redis_url": redis_url,
        "upstream_api_key": KEY,
        "resource_groups": {str(k): v for k, v in HOST_GROUPS.items()},
        "reconcile_interval_s": 0,
        "hold_ttl_default_s": 600,
        "max_holds_per_owner": 50,
        # calproxy requires booked markers to outlive snapshots; the benchmarks use hour-long snapshots.
        "booked_marker_ttl_s": 7200,
        **extra,
    }


def wrk(url: str, seconds: int, headers: dict[str, str], connections: int = 50) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) from one wrk thread."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for q in ("50", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{q}"] = float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    return result


def slots_path(day: str, event_type: int = 1001) -> str:
    """One day of slots in Berlin time, as a caller asks."""
    return f"/v2/slots?eventTypeId={event_type}&start={day}&end={day}&timeZone=Europe/Berlin"


async def bench_slots(sim: Child, log_dir: Path, redis_url: str, seconds: int, day: str) -> None:
    """Cached GET /v2/slots through one calproxy process vs the simulator and a bare aiohttp handler."""
    print(f"\n## Cached GET /v2/slots (wrk: 1 thread, 50 connections, {seconds} s each)")
    path = slots_path(day)
    results: dict[str, dict[str, float]] = {}
    for label, url in (("proxy (redis-server)", redis_url), ("proxy (fakeredis in-process)", None)):
        proxy = await spawn("proxy", proxy_settings(sim.url, url, snapshot_ttl_s=3600), log_dir)
        try:
            async with httpx.AsyncClient() as client:
                warm = await client.get(proxy.url + path, headers=SLOTS_HEADERS)
                body = warm.text
            results[label] = wrk(proxy.url + path, seconds, SLOTS_HEADERS)
        finally:
            await proxy.stop()
    bare = await spawn("bare", {"body": body}, log_dir)
    try:
        results["bare aiohttp JSON handler"] = wrk(bare.url + path, seconds, SLOTS_HEADERS)
    finally:
        await bare.stop()
    results["simulator directly"] = wrk(sim.url + path, seconds, SLOTS_HEADERS)
    print(f"{'target':32} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for label, r in results.items():
        print(
            f"{label:32} {r['rps']:9.0f} {r['p50']:8.2f} {r['p90']:8.2f} {r['p99']:8.2f} {r['non2xx']:8.0f}"
        )
    proxy_r, bare_r, sim_r = (
        results["proxy (redis-server)"],
        results["bare aiohttp JSON handler"],
        results["simulator directly"],
    )
    ratio = proxy_r["rps"] / bare_r["rps"]
    print(
        f"proxy/bare throughput {ratio:.2f}  proxy/simulator throughput {proxy_r['rps'] / sim_r['rps']:.1f}x"
    )
    print(
        f"p50 latency proxy/bare {proxy_r['p50'] / bare_r['p50']:.2f}  "
        f"proxy/simulator {proxy_r['p50'] / sim_r['p50']:.2f}"
    )
    verdict = "PASS" if proxy_r["rps"] >= GOAL_RPS and ratio >= GOAL_RATIO else "FAIL"
    print(f"goal >= {GOAL_RPS} req/s and >= {GOAL_RATIO:.0%} of bare: {verdict}")


def free_slots(days: list[str], event_type: int, count: int) -> list[str]:
    """UTC starts on the Berlin 30-min grid (09:00-16:30 local), first `count` of them."""
    from zoneinfo import ZoneInfo

    starts: list[str] = []
    for day in days:
        base = datetime.fromisoformat(day).replace(hour=9, tzinfo=ZoneInfo("Europe/Berlin"))
        for i in range(16):
            starts.append(
                (base + timedelta(minutes=30 * i)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            )
    return starts[:count]


def quote_request(start: str, zone: str = "Europe/Berlin") -> dict[str, Any]:
    """A quote of one start of event type 1001, without alternatives."""
    return {"eventTypeId": 1001, "start": start, "timeZone": zone, "alternatives": 0}


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> str:
    """p50 / p95 / p99 in ms."""
    return (
        f"p50 {pct(values, 50):.2f}  p95 {pct(values, 95):.2f}  p99 {pct(values, 99):.2f}  (n={len(values)})"
    )


async def timed(pending: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    """Elapsed ms and the response (the coroutine only starts running when awaited here)."""
    started = time.perf_counter()
    response = await pending
    return (time.perf_counter() - started) * 1000, response


async def bench_quote_commit(sim: Child, log_dir: Path, redis_url: str, days: list[str]) -> None:
    """Sequential quotes, and commits vs the same creates sent to the simulator directly and through a bare
    aiohttp + httpx forwarder (the floor of any proxy on this stack: one more HTTP hop, no work)."""
    print("\n## Quote and commit latency (sequential, simulator and proxy in their own processes)")
    proxy = await spawn("proxy", proxy_settings(sim.url, redis_url, snapshot_ttl_s=3600), log_dir)
    forwarder = await spawn("forward", {"upstream": sim.url}, log_dir)
    answer = '{"status":"success","data":{"available":true}}'
    bare = await spawn("bare", {"body": answer}, log_dir)
    bare_hold = await spawn("bare_hold", {"body": answer, "redis_url": redis_url}, log_dir)
    starts = free_slots(days, 1001, 16 * len(days))
    quotes, direct, forwarded, commits, quotes_in_loop, floor, hold_floor = [], [], [], [], [], [], []
    try:
        async with (
            httpx.AsyncClient(base_url=proxy.url) as client,
            httpx.AsyncClient(base_url=sim.url) as raw,
            httpx.AsyncClient(base_url=forwarder.url) as hop,
        ):
            # As an agent does: the caller's days are listed (the process keeps them) before it quotes.
            for day in days:
                await client.get(slots_path(day), headers=SLOTS_HEADERS)
            quarter = len(starts) // 4
            for i, start in enumerate(starts[:quarter]):
                body = quote_request(start)
                ms, r = await timed(
                    client.post(
                        "/calproxy/v1/quote", json=body, headers={"X-Call-Id": f"q{i}", **BOOK_HEADERS}
                    )
                )
                if r.status_code == 200 and r.json()["data"]["available"]:
                    quotes.append(ms)
            for target, sink in ((bare, floor), (bare_hold, hold_floor)):
                async with httpx.AsyncClient(base_url=target.url) as floor_client:
                    for i, start in enumerate(starts[:quarter]):
                        body = quote_request(start)
                        headers = {"X-Call-Id": f"q{i}", **BOOK_HEADERS}
                        sent = floor_client.post("/calproxy/v1/quote", json=body, headers=headers)
                        ms, _ = await timed(sent)
                        sink.append(ms)
            # Interleave a direct create (slot a), a forwarded one (slot b) and quote + commit (slot c), so
            # the simulator grows alike for all three.
            rest = starts[quarter:]
            for i in range(0, len(rest) - 2, 3):
                a, b, c = rest[i], rest[i + 1], rest[i + 2]
                attendee = {"name": "Bench", "email": f"bench-{i}@bench.test", "timeZone": "Europe/Berlin"}
                for target, start, sink in ((raw, a, direct), (hop, b, forwarded)):
                    ms, r = await timed(
                        target.post(
                            "/v2/bookings",
                            json={"eventTypeId": 1001, "start": start, "attendee": attendee},
                            headers=BOOK_HEADERS,
                        )
                    )
                    if r.status_code == 201:
                        sink.append(ms)
                call = {"X-Call-Id": f"c{i}", **BOOK_HEADERS}
                qbody = quote_request(c)
                qms, _ = await timed(client.post("/calproxy/v1/quote", json=qbody, headers=call))
                quotes_in_loop.append(qms)
                ms, r = await timed(
                    client.post(
                        "/v2/bookings",
                        json={"eventTypeId": 1001, "start": c, "attendee": attendee},
                        headers=call,
                    )
                )
                if r.status_code == 201:
                    commits.append(ms)
    finally:
        await proxy.stop()
        await forwarder.stop()
        await bare.stop()
        await bare_hold.stop()
    print(f"quote, snapshot cached          {summary(quotes)}")
    print(f"the same POST to a bare handler {summary(floor)}  (the floor: HTTP alone)")
    print(f"... to a bare handler + 1 hold  {summary(hold_floor)}  (one acquire_hold, nothing else)")
    verdict = "PASS" if pct(quotes, 50) <= GOAL_QUOTE_P50_MS else "FAIL"
    own = pct(quotes, 50) - pct(floor, 50)
    print(
        f"quote of a free slot p50 {pct(quotes, 50):.2f} ms: {verdict} (goal <= {GOAL_QUOTE_P50_MS} ms); "
        f"the HTTP floor {pct(floor, 50):.2f} ms, calproxy's own work {own:.2f} ms"
    )
    left = round(GOAL_QUOTE_P50_MS - pct(hold_floor, 50), 2) + 0.0  # + 0.0: never "-0.00"
    print(
        f"  the floor of any quote that holds its slot (HTTP + one acquire_hold through redis-py) is "
        f"{pct(hold_floor, 50):.2f} ms: it leaves {left:.2f} ms of the goal for everything else a quote "
        "does (credential, rate windows, budget, parse, answer)"
    )
    print(f"quote, after a commit elsewhere {summary(quotes_in_loop)}  (interleaved with commits)")
    print(f"create straight to simulator    {summary(direct)}")
    print(f"create via a bare forwarder     {summary(forwarded)}")
    print(f"commit through calproxy         {summary(commits)}")
    added = pct(commits, 50) - pct(direct, 50)
    hop_ms = pct(forwarded, 50) - pct(direct, 50)
    print(
        f"commit adds {added:.2f} ms at p50 to the upstream create: "
        f"{'PASS' if added <= GOAL_COMMIT_MS else 'FAIL'} (goal <= {GOAL_COMMIT_MS} ms); "
        f"the bare hop alone adds {hop_ms:.2f} ms, calproxy's own work {added - hop_ms:.2f} ms"
    )


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


SCRIPT_BY_SHA = {_sha(script_source(n)): n for n in SCRIPT_NAMES}
SCRIPT_BY_SHA |= {_sha(stats_source(n)): f"stats_{n}" for n in STATS_SCRIPTS}
SCRIPT_BY_SHA |= {
    _sha(OPEN_SOURCE): "commit_open",
    _sha(CLOSE_SOURCE): "commit_close",
    _sha(TAKE_SOURCE): "upstream_budget_take",
    _sha(RECORD_SOURCE): "tenant_holds_record",
}


class RoundTrips:
    """Counts Redis round trips: one per non-pipelined command, one per pipeline execute."""

    def __init__(self) -> None:
        self.trips: list[str] = []
        self._command: Any = Redis.execute_command
        self._pipeline: Any = Pipeline.execute

    def install(self) -> None:
        """Patch the client classes (benchmark process only)."""
        trips, command, pipeline = self.trips, self._command, self._pipeline

        async def execute_command(client: Redis, *args: Any, **options: Any) -> Any:
            name = str(args[0]).upper()
            trips.append(f"EVALSHA:{SCRIPT_BY_SHA.get(str(args[1]), '?')}" if name == "EVALSHA" else name)
            return await command(client, *args, **options)

        async def execute(pipe: Pipeline, raise_on_error: bool = True) -> Any:
            names = [str(c[0][0]).upper() for c in pipe.command_stack]
            trips.append("PIPELINE[" + ",".join(names) + "]")
            return await pipeline(pipe, raise_on_error)

        Redis.execute_command = execute_command  # type: ignore[method-assign,assignment]
        Pipeline.execute = execute  # type: ignore[method-assign,assignment]

    def take(self) -> list[str]:
        """The trips since the last take."""
        taken = list(self.trips)
        self.trips.clear()
        return taken


async def bench_round_trips(redis_url: str, days: list[str]) -> None:
    """Redis round trips per quote and per commit, counted inside one in-process proxy."""
    print("\n## Redis round trips (in-process proxy on redis-server, counted at the client)")
    counter = RoundTrips()
    async with run_sim(SimConfig(rate_limit=0), port=0) as sim:
        settings = Settings(**proxy_settings(sim.url, None, snapshot_ttl_s=3600))
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        runner = web.AppRunner(create_app(settings, redis=redis), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        starts = free_slots(days, 1001, 24)
        per_quote: list[list[str]] = []
        per_commit: list[list[str]] = []
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                for day in days:  # the caller's days listed first, as an agent does
                    await client.get(slots_path(day), headers=SLOTS_HEADERS)
                # The first quotes and commits load the scripts (NOSCRIPT fallback): left out below.
                counter.install()
                for i, start in enumerate(starts):
                    h = {"X-Call-Id": f"rt{i}", **BOOK_HEADERS}
                    body = quote_request(start)
                    counter.take()
                    await client.post("/calproxy/v1/quote", json=body, headers=h)
                    per_quote.append(counter.take())
                for i, start in enumerate(starts):
                    h = {"X-Call-Id": f"rt{i}", **BOOK_HEADERS}
                    attendee = {"name": "RT", "email": f"rt-{i}@bench.test", "timeZone": "Europe/Berlin"}
                    body = {"eventTypeId": 1001, "start": start, "attendee": attendee}
                    counter.take()
                    r = await client.post("/v2/bookings", json=body, headers=h)
                    per_commit.append(counter.take())
                    assert r.status_code == 201, r.text
        finally:
            await runner.cleanup()
            await redis.aclose()
    for label, samples in (("quote", per_quote[2:]), ("commit", per_commit[2:])):
        counts = [len(s) for s in samples]
        typical = Counter(tuple(s) for s in samples).most_common(1)[0][0]
        print(
            f"{label}: round trips median {statistics.median(counts):.0f} "
            f"(min {min(counts)}, max {max(counts)})"
        )
        print(f"  typical sequence: {' -> '.join(typical)}")
    holds = [sum(1 for t in s if t.startswith("EVALSHA:") and t[8:] in SCRIPT_NAMES) for s in per_quote[2:]]
    reads = [sum(1 for t in s if t in ("EVALSHA:live_holds", "EVALSHA_RO", "MGET")) for s in per_quote[2:]]
    verdict = "PASS" if statistics.median(holds) == 1 and max(reads) == 0 else "FAIL"
    print(
        f"hold round trips per quote of a free slot: median {statistics.median(holds):.0f}, reads of holds "
        f"or slots before it: max {max(reads)}: {verdict} (goal: one, nothing read first)"
    )
    print(
        "  the others: the two quote-rate windows (in parallel) before it, the tenant's hold budget after "
        "it (each in its own hash slot), the advisor's observation off the answer's path"
    )
    # Hold, ledger and idempotency state of a commit: only the two commit scripts may touch it.
    state_ops = {"EVALSHA:" + n for n in SCRIPT_NAMES} | {"EVALSHA:commit_open", "EVALSHA:commit_close"}
    per = [sum(1 for t in s if t in state_ops) for s in per_commit[2:]]
    verdict = "PASS" if max(per) == 2 else "FAIL"
    print(f"commit-state round trips per commit: max {max(per)} (open, close): {verdict} (goal: two)")


async def bench_view_lag(sim: Child, log_dir: Path, redis_url: str, days: list[str]) -> None:
    """How long after process A answered a quote process B still lists the held slot (two processes, one
    redis-server): B is polled from the moment A's answer arrives, so the figure includes one poll."""
    print("\n## Live view lag between two processes (hold placed through A, slot list of B)")
    a = await spawn("proxy", proxy_settings(sim.url, redis_url, snapshot_ttl_s=3600), log_dir)
    b = await spawn("proxy", proxy_settings(sim.url, redis_url, snapshot_ttl_s=3600), log_dir)
    lags: list[float] = []
    stale_polls = 0
    try:
        async with httpx.AsyncClient() as client:
            for day in days:
                for target in (a, b):
                    await client.get(target.url + slots_path(day), headers=SLOTS_HEADERS)
            for i, start in enumerate(free_slots(days, 1001, 16 * len(days)) * 4):
                day = start[:10]
                body = quote_request(start, "UTC")
                headers = {"X-Call-Id": f"lag{i}", **BOOK_HEADERS}
                r = await client.post(a.url + "/calproxy/v1/quote", json=body, headers=headers)
                held_at = time.perf_counter()
                if r.status_code != 200 or not r.json()["data"]["available"]:
                    continue
                for _ in range(200):
                    listed = await client.get(
                        b.url + f"/v2/slots?eventTypeId=1001&start={day}&end={day}&timeZone=UTC",
                        headers=SLOTS_HEADERS,
                    )
                    if start.replace(".000Z", "") not in listed.text.replace(".000Z", ""):
                        lags.append((time.perf_counter() - held_at) * 1000)
                        break
                    stale_polls += 1
                # Released again (also announced), so the tenant's share of the day never runs out.
                uid = r.json()["data"]["reservationUid"]
                released = await client.delete(
                    a.url + f"/v2/slots/reservations/{uid}", headers={**headers, **SLOTS_HEADERS}
                )
                assert released.status_code == 200, released.text
    finally:
        await a.stop()
        await b.stop()
    print(f"B still listed the slot for    {summary(lags)}; polls that still listed it: {stale_polls}")
    verdict = "PASS" if lags and pct(lags, 99) <= GOAL_LAG_P99_MS else "FAIL"
    print(f"view lag p99 {pct(lags, 99):.2f} ms: {verdict} (goal <= {GOAL_LAG_P99_MS} ms)")


async def bench_upstream_per_1000(sim: Child, log_dir: Path, redis_url: str, days: list[str]) -> None:
    """1,000 caller slot queries (3 event types x 10 days) through calproxy: how many reach Cal.com."""
    print("\n## Upstream requests per 1,000 caller slot queries (default 30 s snapshot TTL)")
    proxy = await spawn("proxy", proxy_settings(sim.url, redis_url), log_dir)
    rng = random.Random(1)
    try:
        async with httpx.AsyncClient() as client:
            await client.post(f"{sim.url}/_sim/reset")
            await client.post(f"{sim.url}/_sim/faults", json={"rateLimit": 0})
            sem = asyncio.Semaphore(20)

            async def one() -> int:
                et, day = rng.choice((1001, 1002, 2001)), rng.choice(days)
                async with sem:
                    r = await client.get(proxy.url + slots_path(day, et), headers=SLOTS_HEADERS)
                return r.status_code

            started = time.perf_counter()
            statuses = Counter(await asyncio.gather(*(one() for _ in range(1000))))
            elapsed = time.perf_counter() - started
            stats = (await client.get(f"{sim.url}/_sim/stats")).json()["data"]
    finally:
        await proxy.stop()
    print(
        f"1000 queries in {elapsed:.1f} s, statuses {dict(statuses)}; "
        f"upstream requests: {stats['totalRequests']}"
        f" (direct: 1000)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    redis_server = start_redis_server()
    log_dir = Path(tempfile.mkdtemp(prefix="calproxy-bench-"))
    days = [d.isoformat() for d in booking_days(datetime.now(UTC).date(), 15)]
    sim = await spawn("sim", {"rateLimit": 0}, log_dir)
    try:
        print(
            f"python {sys.version.split()[0]}, 2 cores; simulator rate limit off for benchmarks; "
            f"first day {days[0]}"
        )
        await bench_slots(sim, log_dir, redis_server.url, args.seconds, days[0])
        await bench_quote_commit(sim, log_dir, redis_server.url, days[1:11])
        await bench_round_trips(redis_server.url, days[11:13])
        await bench_view_lag(sim, log_dir, redis_server.url, days[13:15])
        await bench_upstream_per_1000(sim, log_dir, redis_server.url, days[:10])
    finally:
        await sim.stop()
        redis_server.stop()
    print(json.dumps({"logs": str(log_dir)}))


if __name__ == "__main__":
    asyncio.run(main())
