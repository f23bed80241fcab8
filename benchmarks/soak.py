"""Soak run (issue 10): three calproxy processes behind a round-robin balancer, the load test's callers,
simulator faults (shift, error, timeout) at 10 % each, Redis (append-only file) restarted once and one
calproxy process SIGKILLed and restarted mid-run. Bounded: --minutes of wall time in all (default 10).

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--callers 1000] [--json PATH]   (needs redis-server)
Prints figures, exit 1 when an invariant broke: false confirmations, double bookings between callers,
bookings in the calendar neither confirmed to a caller nor cancelled (after settling), a consistency ratio
below 100 %, transient Redis keys above their baseline once their TTLs passed. Also prints every process's
RSS growth. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy.loadtest.config import Faults, LoadConfig
from proxy.loadtest.harness import Child, proxy_spec, sim_spec, spawn
from proxy.loadtest.runner import StrategyRun, World
from proxy.loadtest.session import run_all
from proxy.loadtest.truth import analyze
from tests.redis_server import RedisServer, start_redis_server

ADMIN = "soak-admin-token-" + "x" * 16
PROCESSES = 3
# Key families of caller traffic whose keys live about a minute at most here: back to baseline once their TTLs
# pass. (The upstream budget's window stays while the processes run: their reconciliation keeps using it.)
TRANSIENT = ("hold", "snap", "snaplock", "seenlock", "thold", "rl", "proc")
# Families kept on purpose without a TTL: the ledger, the sentinel, reconciliation's fence and last report,
# the set of processes, the shared TTL policy, the advisor's observations. Every other key must carry a TTL.
DURABLE = ("ledger", "sentinel", "reconcile", "proc", "policy", "stats")


class Balancer:
    """Round-robin HTTP forwarding over the live calproxy processes (a load balancer in front of them)."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self._turn = itertools.count()
        self._session: aiohttp.ClientSession | None = None
        self.failed = 0
        self.commits_in_flight: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        assert self._session is not None
        backend = self.backends[next(self._turn) % len(self.backends)]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        commit = request.method == "POST" and request.path == "/v2/bookings"
        self.commits_in_flight[backend] += commit
        try:
            async with self._session.request(
                request.method, backend + request.path_qs, headers=headers, data=await request.read()
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length",
                        "transfer-encoding", "connection", "content-encoding")}  # fmt: skip
                return web.Response(status=answer.status, body=body, headers=kept)
        except (aiohttp.ClientError, TimeoutError):
            self.failed += 1  # the backend died under this request: what a real balancer answers
            return web.json_response({"status": "error", "error": {"message": "bad gateway"}}, status=502)
        finally:
            self.commits_in_flight[backend] -= commit

    @contextlib.asynccontextmanager
    async def serving(self) -> Any:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()
            await self._session.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def family(key: bytes) -> str:
    text = key.decode()
    return text.split(":")[1] if ":" in text else text


async def key_families(redis: Redis) -> Counter[str]:
    """Keys by family (the segment after the prefix)."""
    families: Counter[str] = Counter()
    async for key in redis.scan_iter(count=1000):
        families[family(key)] += 1
    return families


async def without_ttl(redis: Redis) -> Counter[str]:
    """Keys outside the durable families that would live forever (a leak), by family."""
    leaks: Counter[str] = Counter()
    async for key in redis.scan_iter(count=1000):
        if family(key) not in DURABLE and await redis.pttl(key) == -1:
            leaks[family(key)] += 1
    return leaks


def proxy_settings(config: LoadConfig, sim_url: str, redis_url: str) -> dict[str, Any]:
    return {**proxy_spec(config, sim_url, redis_url), "admin_token": ADMIN, "reconcile_interval_s": 20}


async def disrupt(
    plan_s: float, redis_server: RedisServer, children: list[Child], balancer: Balancer, spec: dict[str, Any],
    log_dir: Path, events: list[dict[str, Any]],
) -> None:  # fmt: skip
    """Redis restarted at 35 % of the load, one calproxy process SIGKILLed at 55 % and restarted 2 s later."""
    start = time.monotonic()
    await asyncio.sleep(plan_s * 0.35)
    await asyncio.to_thread(redis_server.restart)  # SIGTERM: the append-only file is flushed and replayed
    events.append({"at_s": round(time.monotonic() - start, 1), "event": "redis restarted (SIGTERM, AOF)"})
    await asyncio.sleep(max(0.0, plan_s * 0.55 - (time.monotonic() - start)))
    victim = children[1]
    # Killed while it has a commit in flight (waiting up to 30 s for one), so the kill lands mid-commit.
    deadline = time.monotonic() + 30
    while balancer.commits_in_flight[victim.url] == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    in_flight = balancer.commits_in_flight[victim.url]
    victim.process.kill()  # SIGKILL: its in-flight requests die with it
    balancer.backends.remove(victim.url)
    await victim.process.wait()
    killed = f"calproxy pid {victim.process.pid} SIGKILLed with {in_flight} commit(s) in flight"
    events.append({"at_s": round(time.monotonic() - start, 1), "event": killed})
    await asyncio.sleep(2)
    fresh = await spawn("proxy", spec, log_dir)
    children[1] = fresh
    balancer.backends.append(fresh.url)
    events.append(
        {
            "at_s": round(time.monotonic() - start, 1),
            "event": f"calproxy restarted as pid {fresh.process.pid}",
        }
    )


async def soak(args: argparse.Namespace) -> int:
    budget_s = args.minutes * 60
    load_s = budget_s * 0.62  # the rest: settling, reconciliation, waiting out TTLs
    scale = 0.05
    faults = Faults(shift=0.1, error=0.1, timeout=0.1)
    config = LoadConfig(
        callers=args.callers, seed=args.seed, time_scale=scale, arrival_window_s=load_s / scale,
        days=30, event_types=(1001, 1002), faults=faults, strategies=("proxy",), concurrency=200,
    )  # fmt: skip
    redis_server = start_redis_server("--appendonly", "yes", "--appendfsync", "everysec")
    log_dir = Path(args.logs) if args.logs else Path(f"/tmp/calproxy-soak-{int(time.time())}")
    log_dir.mkdir(parents=True, exist_ok=True)
    sim = await spawn("sim", sim_spec(config), log_dir)
    spec = proxy_settings(config, sim.url, redis_server.url)
    children = [await spawn("proxy", spec, log_dir) for _ in range(PROCESSES)]
    balancer = Balancer()
    balancer.backends = [c.url for c in children]
    redis = Redis.from_url(redis_server.url)
    events: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        await asyncio.sleep(1.5)
        baseline = await key_families(redis)
        rss_start = {c.process.pid: rss_kb(c.process.pid) for c in children}
        async with balancer.serving() as url:
            chaos = asyncio.create_task(
                disrupt(load_s, redis_server, children, balancer, spec, log_dir, events)
            )
            world, runs = await run_all(config, sim_url=sim.url, proxy_url=url, redis_url=redis_server.url)
            await chaos
        run: StrategyRun = runs[0]
        rss_end = {c.process.pid: rss_kb(c.process.pid) for c in children}
        # Settle: the dead process's commits (seconds), then pending ones past the grace; then one pass.
        await asyncio.sleep(25)
        async with httpx.AsyncClient(base_url=children[0].url, timeout=120) as admin:
            answer = await admin.post(
                "/calproxy/v1/admin/reconcile", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            report = answer.json()["data"]
        async with httpx.AsyncClient(base_url=sim.url) as direct:
            truth = (await direct.get("/_sim/bookings")).json()["data"]
        settled = analyze(run.outcomes, truth, hosts=world.hosts, lengths=world.lengths)
        ledger_states = await ledger_counts(redis)
        left = budget_s - (time.monotonic() - started) - 5
        ttl_wait = max(0.0, min(70.0, left))
        await asyncio.sleep(ttl_wait)
        final = await key_families(redis)
        leaks = await without_ttl(redis)
    finally:
        for child in children:
            await child.stop()
        await sim.stop()
        await redis.aclose()
        redis_server.stop()
    wall_s = time.monotonic() - started
    return report_figures(args, config, world, run, settled, report, baseline, final, ttl_wait, leaks,
                          rss_start, rss_end, events, balancer, ledger_states, wall_s)  # fmt: skip


async def ledger_counts(redis: Redis) -> dict[str, int]:
    states: Counter[str] = Counter()
    async for key in redis.scan_iter(match="*:ledger:{*}", count=1000):
        for raw in (await redis.hgetall(key)).values():
            states[json.loads(raw)["state"]] += 1
    return dict(states)


def report_figures(
    args: argparse.Namespace, config: LoadConfig, world: World, run: StrategyRun, settled: Any,
    report: dict[str, Any], baseline: Counter[str], final: Counter[str], ttl_wait: float, leaks: Counter[str],
    rss_start: dict[int, int], rss_end: dict[int, int], events: list[dict[str, Any]], balancer: Balancer,
    ledger_states: dict[str, int], wall_s: float,
) -> int:  # fmt: skip
    fig = run.figures
    transient_over = {
        f: (baseline.get(f, 0), final.get(f, 0)) for f in TRANSIENT if final.get(f, 0) > baseline.get(f, 0)
    }
    checks = {
        "zero false confirmations": fig.false_confirmations == 0,
        "zero double bookings between callers": settled.double_bookings_between_callers == 0,
        "every upstream booking confirmed to a caller or cancelled": settled.unconfirmed_bookings == 0,
        "consistency ratio 100 %": report["consistencyRatio"] == 1.0 and not report["missing"],
        "transient Redis keys back to baseline": not transient_over,
        "every other non-durable key carries a TTL": not leaks,
    }
    doc = {
        "wallSeconds": round(wall_s),
        "callers": config.callers,
        "processes": PROCESSES,
        "faults": {"shift": 0.1, "error": 0.1, "timeout": 0.1},
        "events": events,
        "confirmed": fig.confirmed,
        "offered": fig.offered,
        "falseConfirmations": fig.false_confirmations,
        "doubleBookings": settled.double_bookings,
        "doubleBookingsBetweenCallers": settled.double_bookings_between_callers,
        "doubleBookingsWithOutside": settled.double_bookings_with_outside,
        "unconfirmedBookingsAtEndOfLoad": fig.unconfirmed_bookings,
        "unconfirmedBookingsAfterSettling": settled.unconfirmed_bookings,
        "hardErrors": fig.hard_errors_by_kind,
        "balancer502": balancer.failed,
        "upstreamRequests": run.upstream_requests,
        "upstream429": run.upstream_429,
        "reconciliation": {
            k: report[k]
            for k in (
                "consistencyRatio",
                "confirmed",
                "present",
                "missing",
                "ghostsCancelled",
                "orphansAdopted",
                "pages",
            )
        },  # fmt: skip
        "ledger": ledger_states,
        "redisKeys": {
            "baseline": dict(baseline),
            "final": dict(final),
            "waitedForTtlsS": round(ttl_wait),
            "transientAboveBaseline": transient_over,
            "withoutTtl": dict(leaks),
        },
        "notVisibleToKey": report.get("notVisible", []),
        "rssKb": {"start": rss_start, "end": rss_end},
        "checks": checks,
    }
    print(json.dumps(doc, indent=2, default=list))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2, default=list) + "\n")
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--logs", help="directory for the servers' logs")
    args = parser.parse_args()
    if not 1 <= args.minutes <= 10:
        raise SystemExit("--minutes must be within 1..10 (the run is bounded)")
    raise SystemExit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
