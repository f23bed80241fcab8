"""Hold engine benchmark on a real redis-server it starts itself: throughput, latency, memory, round trips.

Run: .venv/bin/python benchmarks/holds_bench.py   (about a minute; not a test, nothing is asserted)
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

# The server launcher is shared with the test suite; this script runs from a checkout, not an install.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from holds import HoldConflict, HoldStore, TtlPolicy
from holds.keys import resource_keys
from tests.redis_server import start_redis_server

POPULATIONS = (100, 10_000, 100_000)
RESOURCES = 1_000
HOUR = 3_600_000
POLICY = TtlPolicy(default_ms=1_800_000, min_ms=1_000, max_ms=3_600_000)
LATENCY_OPS = 3_000
THROUGHPUT_OPS = 10_000
CONCURRENCY = 32
GOAL_RATIO = 1.5
GOAL_BYTES = 1024


class CountingConnection(Connection):
    """A connection that counts the commands it sends; without pipelining, one command = one round trip."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


def resource(i: int) -> str:
    return f"event-type:{i % RESOURCES}"


async def load(client: aioredis.Redis, store: HoldStore, holds: int) -> None:
    """Place `holds` live holds spread over the resources, through the acquire script, pipelined."""
    script = store._scripts.acquire_hold  # the bulk loader reuses the real script, 1,000 per pipeline
    now = int(time.time() * 1000)
    for batch in range(0, holds, 1_000):
        async with client.pipeline(transaction=False) as pipe:
            for i in range(batch, min(holds, batch + 1_000)):
                slot = i // RESOURCES
                # Loaded holds take every other hour, so measured acquires meet both free and held hours.
                args = [now, f"L{i}", f"loader-{i}", 2 * slot * HOUR, (2 * slot + 1) * HOUR, 1_800_000, 3]
                await script(keys=resource_keys("bench", resource(i)).as_list(), args=args, client=pipe)
            await pipe.execute()


CONFLICTS = [0, 0]  # conflicts, attempts


async def timed_acquire(store: HoldStore, rng: random.Random, span: int) -> float:
    """One 1-hour acquire at a random quarter-hour inside the populated span; returns seconds taken."""
    start = rng.randrange(0, span, 15 * 60_000)
    began = time.perf_counter()
    CONFLICTS[1] += 1
    try:
        await store.acquire(resource(rng.randrange(RESOURCES)), start, start + HOUR, f"caller-{rng.random()}")
    except HoldConflict:
        CONFLICTS[0] += 1
    return time.perf_counter() - began


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if q < 100 else max(samples)


async def measure(client: aioredis.Redis, store: HoldStore, holds: int) -> dict[str, float]:
    await client.flushdb()
    base = (await client.info("memory"))["used_memory"]
    await load(client, store, holds)
    live = holds
    per_hold = ((await client.info("memory"))["used_memory"] - base) / live
    span = 2 * max(1, holds // RESOURCES) * HOUR
    rng = random.Random(holds)
    for _ in range(200):  # warm-up: connections open, scripts loaded
        await timed_acquire(store, rng, span)
    CountingConnection.sent = 0
    CONFLICTS[:] = [0, 0]
    latencies = [await timed_acquire(store, rng, span) for _ in range(LATENCY_OPS)]
    trips = CountingConnection.sent / LATENCY_OPS

    async def worker(n: int) -> None:
        for _ in range(n):
            await timed_acquire(store, rng, span)

    began = time.perf_counter()
    await asyncio.gather(*(worker(THROUGHPUT_OPS // CONCURRENCY) for _ in range(CONCURRENCY)))
    ops = (THROUGHPUT_OPS // CONCURRENCY) * CONCURRENCY / (time.perf_counter() - began)
    return {
        "holds": holds,
        "ops": ops,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "bytes": per_hold,
        "trips": trips,
        "conflicts": CONFLICTS[0] / CONFLICTS[1],
    }


async def trips_per_operation(store: HoldStore) -> dict[str, float]:
    """Round trips of each other operation, measured the same way (after a warm-up call of each)."""
    counts: dict[str, list[int]] = {}

    async def count(name: str, call: Any) -> Any:
        before = CountingConnection.sent
        result = await call
        counts.setdefault(name, []).append(CountingConnection.sent - before)
        return result

    for i in range(60):
        res, owner = f"rt:{i % 3}", f"o{i}"
        hold = await count("acquire", store.acquire(res, i * HOUR, (i + 1) * HOUR, owner))
        await count("extend", store.extend(res, hold.uid, owner))
        await count("get", store.get(res, hold.uid))
        await count("live", store.live(res, 0, 100 * HOUR))
        ticket = await count("begin_commit", store.begin_commit(res, hold.uid, owner, budget_ms=10_000))
        if i % 2:
            finish = store.finish_commit(res, hold.uid, owner, ticket.fence, booked_ttl_ms=5_000)
            await count("finish_commit", finish)
        else:
            await count("abort_commit", store.abort_commit(res, hold.uid, owner, ticket.fence))
            await count("release", store.release(res, hold.uid, owner))
        await count("mark_booked", store.mark_booked(res, (i + 200) * HOUR, (i + 201) * HOUR, ttl_ms=5_000))
    # The first call of each script pays EVALSHA -> NOSCRIPT -> SCRIPT LOAD -> EVALSHA once per process.
    return {name: statistics.mean(c[3:]) for name, c in counts.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(rows: Iterable[dict[str, float]]) -> None:
    head = ("live holds", "acquire ops/s", "p50 ms", "p99 ms", "bytes/hold", "RT/op", "conflicts")
    print("{:>10} {:>14} {:>8} {:>8} {:>11} {:>6} {:>10}".format(*head))
    for r in rows:
        print(
            f"{r['holds']:>10,.0f} {r['ops']:>14,.0f} {r['p50']:>8.3f} {r['p99']:>8.3f} "
            f"{r['bytes']:>11,.0f} {r['trips']:>6.2f} {r['conflicts']:>10.0%}"
        )


async def main() -> None:
    server = start_redis_server()
    try:
        pool = aioredis.ConnectionPool.from_url(server.url, connection_class=CountingConnection)
        client = aioredis.Redis(connection_pool=pool)
        version = (await client.info("server"))["redis_version"]
        print(
            f"redis-server {version} on 127.0.0.1:{server.port} (pid {server.pid}); {RESOURCES:,} resources"
        )
        print(
            f"latency: {LATENCY_OPS:,} sequential acquires; throughput: {THROUGHPUT_OPS:,} acquires, "
            f"{CONCURRENCY} concurrent; 1-hour intervals on a 15-min grid, random owners\n"
        )
        store = HoldStore(client, prefix="bench", policy=POLICY)
        rows = [await measure(client, store, n) for n in POPULATIONS]
        print_table(rows)
        await client.flushdb()
        per_op = await trips_per_operation(store)
        print("\nround trips per operation: " + ", ".join(f"{k} {v:g}" for k, v in per_op.items()))
        first, last = rows[0], rows[-1]
        ratio = last["p50"] / first["p50"]
        all_trips = [r["trips"] for r in rows] + list(per_op.values())
        print("\ngoal                                               measured      result")
        one_trip = max(all_trips) == 1 == min(all_trips)
        print(f"exactly 1 round trip per operation                 {max(all_trips):<13g} {verdict(one_trip)}")
        print(
            f"p50 at {last['holds']:,.0f} <= {GOAL_RATIO}x p50 at {first['holds']:,.0f}             "
            f"{ratio:<13.2f} {verdict(ratio <= GOAL_RATIO)}"
        )
        print(
            f"< {GOAL_BYTES} B Redis memory per live hold (at {last['holds']:,.0f})     "
            f"{last['bytes']:<13,.0f} {verdict(last['bytes'] < GOAL_BYTES)}"
        )
        await client.aclose()
    finally:
        server.stop()
        print(f"\nredis-server pid {server.pid} stopped")


if __name__ == "__main__":
    asyncio.run(main())
