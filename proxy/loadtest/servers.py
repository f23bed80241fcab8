"""Child-process entry: serve the simulator or calproxy on a free loopback port until stdin closes.

`python -m proxy.loadtest.servers sim|proxy|bare|bare_hold|forward '<json>'` prints `READY <url>` once
listening.
Running the servers in their own processes keeps the load generator's event loop out of their latency figures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import signal
import sys
import threading
from contextlib import AsyncExitStack
from typing import Any

import httpx
import uvloop
from aiohttp import web
from redis.asyncio import Redis

from holds import HoldStore
from proxy.app import create_app
from proxy.serve import freeze_startup_heap
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from proxy.sim.runner import run_sim


def sim_config(spec: dict[str, Any]) -> SimConfig:
    """A SimConfig from the harness's JSON."""
    return SimConfig(
        race_window_ms=int(spec.get("raceWindowMs", 0)),
        latency_ms=int(spec.get("latencyMs", 0)),
        faults=FaultRates(
            shift=float(spec.get("shift", 0)),
            error=float(spec.get("error", 0)),
            timeout=float(spec.get("timeout", 0)),
        ),
        fault_seed=spec.get("faultSeed"),
        rate_limit=int(spec.get("rateLimit", 120)),
        rate_limit_window_s=float(spec.get("rateLimitWindowS", 60.0)),
    )


def _stop_on_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # A daemon thread: a blocked read must never keep the process alive at exit.
    def wait() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, daemon=True).start()


async def _bare(stack: AsyncExitStack, spec: dict[str, Any]) -> str:
    """A bare aiohttp JSON handler answering GET /v2/slots (and POST /calproxy/v1/quote) with fixed bytes:
    the benchmark's ceiling."""
    body = str(spec["body"]).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def post_handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/slots", handler)
    # The floor of any answer to a POST on this stack (the quote's), body read and a fixed answer.
    app.router.add_post("/calproxy/v1/quote", post_handler)
    return await listen_on_loopback(stack, app)


async def _forward(stack: AsyncExitStack, spec: dict[str, Any]) -> str:
    """A bare forwarder: POST /v2/bookings passed to the simulator with httpx, nothing else. The floor of
    any proxy built on aiohttp and httpx (one more HTTP hop), against which calproxy's own work is seen."""
    client = await stack.enter_async_context(httpx.AsyncClient(base_url=str(spec["upstream"])))

    async def handler(request: web.Request) -> web.Response:
        headers = {
            k: v for k, v in request.headers.items() if k.lower() in ("authorization", "cal-api-version")
        }
        answer = await client.post("/v2/bookings", content=await request.read(), headers=headers)
        return web.Response(status=answer.status_code, body=answer.content, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v2/bookings", handler)
    return await listen_on_loopback(stack, app)


async def _bare_hold(stack: AsyncExitStack, spec: dict[str, Any]) -> str:
    """A bare aiohttp handler that places one hold through the hold engine (one `acquire_hold` on a real
    Redis, through redis-py) and answers fixed bytes: the floor of any quote that holds its slot."""
    body = str(spec["body"]).encode()
    redis = Redis.from_url(str(spec["redis_url"]))
    stack.push_async_callback(redis.aclose)
    store = HoldStore(redis, prefix="barehold")
    starts = itertools.count(1_000_000_000_000, 3_600_000)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        start = next(starts)
        await store.acquire("bare:1", start, start + 1_800_000, f"caller{start}")
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/calproxy/v1/quote", handler)
    return await listen_on_loopback(stack, app)


async def listen_on_loopback(stack: AsyncExitStack, app: web.Application) -> str:
    """Serve `app` on a free 127.0.0.1 port until `stack` closes; its URL. (Also the test fixtures' and
    benchmarks' way to run an app in process.)"""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


async def serve(kind: str, spec: dict[str, Any]) -> None:
    """Start the requested server, announce its URL, wait for stdin EOF or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    _stop_on_eof(loop, stop)
    async with AsyncExitStack() as stack:
        if kind == "sim":
            sim = await stack.enter_async_context(run_sim(sim_config(spec), host="127.0.0.1", port=0))
            url = sim.url
        elif kind == "proxy":
            url = await listen_on_loopback(stack, create_app(Settings(**spec)))
            freeze_startup_heap()  # as `calproxy serve` does
        elif kind == "bare":
            url = await _bare(stack, spec)
        elif kind == "bare_hold":
            url = await _bare_hold(stack, spec)
        elif kind == "forward":
            url = await _forward(stack, spec)
        else:
            raise SystemExit(f"unknown server kind {kind!r}")
        print(f"READY {url}", flush=True)
        await stop.wait()


def main(argv: list[str]) -> int:
    """Entry point."""
    if len(argv) != 2:
        kinds = "sim|proxy|bare|bare_hold|forward"
        print(f"usage: python -m proxy.loadtest.servers {kinds} '<json>'", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The same event loop as `calproxy serve`, for every server kind, so the figures compare like with like.
    uvloop.run(serve(argv[0], json.loads(argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
