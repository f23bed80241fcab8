"""`calproxy serve`: run the proxy; with no upstream it starts the built-in simulator in-process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
from contextlib import AsyncExitStack
from typing import Any

import uvloop
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.settings import Settings
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from proxy.sim.seed import Seed

logger = logging.getLogger(__name__)

EMBEDDED_API_KEY = "cal_test_alpha"


def add_subparser(subparsers: Any) -> None:
    """Register `serve` and its options."""
    parser = subparsers.add_parser("serve", help="run calproxy (embedded simulator + fakeredis by default)")
    parser.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="listen port (default 8080)")
    parser.add_argument("--upstream", default=None, help="Cal.com base URL; none = built-in simulator")
    parser.add_argument("--redis", default=None, help="redis:// URL; none = in-process fakeredis")


def host_groups(seed: Seed) -> dict[int, str]:
    """Event types of one simulated host share a calendar, so they share holds."""
    return {et.id: f"host-{et.host_id}" for et in seed.event_types.values()}


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment settings with the command line on top."""
    overrides: dict[str, Any] = {}
    for name, value in (("host", args.host), ("port", args.port), ("upstream_url", args.upstream)):
        if value is not None:
            overrides[name] = value
    if args.redis is not None:
        overrides["redis_url"] = args.redis
    base = Settings()
    return base.model_copy(update=overrides) if overrides else base


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    async with AsyncExitStack() as stack:
        if not settings.upstream_url:
            sim = await stack.enter_async_context(run_sim(SimConfig(), host="127.0.0.1", port=0))
            update: dict[str, Any] = {
                "upstream_url": sim.url,
                "resource_groups": {**host_groups(sim.state.seed), **settings.resource_groups},
            }
            if settings.upstream_api_key is None:
                update["upstream_api_key"] = SecretStr(EMBEDDED_API_KEY)
            settings = settings.model_copy(update=update)
            logger.info(
                "event=embedded_simulator url=%s note='no upstream configured: built-in Cal.com simulator'",
                sim.url,
            )
        if not settings.redis_url:
            logger.info(
                "event=embedded_redis note='no REDIS_URL: in-process fakeredis, holds live in this process'"
            )
        if settings.admin_token is None:
            token = secrets.token_urlsafe(24)
            settings = settings.model_copy(update={"admin_token": SecretStr(token)})
            # Printed once on purpose: it is generated for this run and needed to reach the admin endpoints.
            print(f"calproxy: admin token for this run: {token}", flush=True)
        runner = web.AppRunner(create_app(settings), access_log=None, handle_signals=False)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, settings.host, settings.port).start()
        where = f"http://{settings.host}:{settings.port}"
        print(f"calproxy: listening on {where} (upstream {settings.upstream_url})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    """Entry point of `calproxy serve`."""
    # uvloop roughly doubles aiohttp's request rate on this workload (benchmarks/proxy_bench.py).
    uvloop.run(serve(settings_from(args)))
    return 0
