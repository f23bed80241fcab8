"""`calproxy serve`: run the proxy; with no upstream it starts the built-in simulator in-process.

Start-up explains itself: the whole configuration (flags and environment) is validated and the listening
socket bound before anything starts, so a mistake is one line and exit 2, never a traceback after an admin
token was printed. Dependencies that do not answer are warnings, not errors: /readyz reports them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import signal
import socket
import sys
from contextlib import AsyncExitStack
from typing import Any

import uvloop
from aiohttp import web
from pydantic import SecretStr

from proxy.app import create_app
from proxy.appkeys import SERVICES
from proxy.logs import get_logger
from proxy.settings import (
    BUILT_IN_TENANT_SECRET,
    MIN_ADMIN_TOKEN_LENGTH,
    ConfigError,
    Settings,
    describe_source,
    load_settings,
)
from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from proxy.sim.seed import Seed

log = get_logger(__name__)

EMBEDDED_API_KEY = "cal_test_alpha"


def add_subparser(subparsers: Any) -> None:
    """Register `serve` and its options."""
    parser = subparsers.add_parser("serve", help="run calproxy (embedded simulator + fakeredis by default)")
    parser.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", default=None, help="listen port (default 8080; also CALPROXY_PORT, PORT)")
    parser.add_argument("--upstream", default=None, help="Cal.com base URL; none = built-in simulator")
    parser.add_argument("--redis", default=None, help="redis:// URL; none = in-process fakeredis")


def host_groups(seed: Seed) -> dict[int, str]:
    """Event types of one simulated host share a calendar, so they share holds."""
    return {et.id: f"host-{et.host_id}" for et in seed.event_types.values()}


def flags_of(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (validated with the environment, not instead of it)."""
    given = {"host": args.host, "port": args.port, "upstream_url": args.upstream, "redis_url": args.redis}
    return {name: value for name, value in given.items() if value is not None}


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment settings with the command line on top; ConfigError when they do not validate."""
    return load_settings(flags_of(args))


def bind(settings: Settings, flags: dict[str, Any]) -> socket.socket:
    """The listening socket, bound before anything else starts (a port in use is a one-line error)."""
    try:
        return socket.create_server((settings.host, settings.port), reuse_port=False, backlog=1024)
    except OSError as exc:
        source = describe_source("port", flags, os.environ)
        reason = "is in use" if exc.errno in (98, 48) else f"cannot be bound ({exc.strerror})"
        raise ConfigError(f"{settings.host}:{settings.port} {reason} ({source})") from None


def startup_warnings(settings: Settings, *, embedded_upstream: bool) -> list[str]:
    """What is allowed but unwise, said once at start-up. Pure."""
    warnings = []
    if not embedded_upstream and settings.tenant_secret.get_secret_value() == BUILT_IN_TENANT_SECRET:
        warnings.append(
            "CALPROXY_TENANT_SECRET is the built-in value: tenant hashes are guessable; set a random secret"
            " shared by every process"
        )
    token = settings.admin_token
    if token is not None and len(token.get_secret_value()) < MIN_ADMIN_TOKEN_LENGTH:
        warnings.append(f"CALPROXY_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LENGTH} characters")
    return warnings


def warn(message: str) -> None:
    """A warning for the person at the terminal (stdout, beside the other human lines) and for the logs."""
    print(f"calproxy: warning: {message}", flush=True)
    log.warning("startup_warning", message=message)


async def check_dependencies(app: web.Application) -> None:
    """Contact Redis and Cal.com once; whatever does not answer is a warning (/readyz says 503)."""
    readiness = await app[SERVICES].readiness.check()
    if not readiness.redis:
        warn("Redis does not answer: every request fails closed with 503 until it does (see /readyz)")
    if not readiness.upstream:
        warn("Cal.com (the upstream) does not answer: /readyz answers 503 until it does")


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, settings, services, schemas: about 90,000 objects that live as long
    as the process) out of the cyclic garbage collector's full passes. Under load such a pass stopped every
    request for about 50 ms (the slots benchmark's p99); after the freeze a full pass walks only what
    requests made since. Collected first, so nothing already garbage is kept."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, sock: socket.socket) -> None:
    """Run until SIGINT/SIGTERM."""
    async with AsyncExitStack() as stack:
        embedded_upstream = not settings.upstream_url
        if embedded_upstream:
            sim = await stack.enter_async_context(run_sim(SimConfig(), host="127.0.0.1", port=0))
            update: dict[str, Any] = {
                "upstream_url": sim.url,
                "resource_groups": {**host_groups(sim.state.seed), **settings.resource_groups},
            }
            if settings.upstream_api_key is None:
                update["upstream_api_key"] = SecretStr(EMBEDDED_API_KEY)
            settings = settings.model_copy(update=update)
            log.info(
                "embedded_simulator", url=sim.url, note="no upstream configured: built-in Cal.com simulator"
            )
        if not settings.redis_url:
            log.info("embedded_redis", note="no REDIS_URL: in-process fakeredis, holds live in this process")
        for message in startup_warnings(settings, embedded_upstream=embedded_upstream):
            warn(message)
        if settings.admin_token is None:
            token = secrets.token_urlsafe(24)
            settings = settings.model_copy(update={"admin_token": SecretStr(token)})
            # Printed once on purpose: it is generated for this run and needed to reach the admin endpoints.
            print(f"calproxy: admin token for this run: {token}", flush=True)
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.SockSite(runner, sock).start()
        await check_dependencies(app)
        freeze_startup_heap()
        host, port = sock.getsockname()[:2]
        print(f"calproxy: listening on http://{host}:{port} (upstream {settings.upstream_url})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    """Entry point of `calproxy serve`: exit 2 with one line for anything a person must fix."""
    flags = flags_of(args)
    try:
        settings = load_settings(flags)
        sock = bind(settings, flags)
    except ConfigError as exc:
        print(f"calproxy: error: {exc}", file=sys.stderr, flush=True)
        return 2
    # uvloop roughly doubles aiohttp's request rate on this workload (benchmarks/proxy_bench.py).
    uvloop.run(serve(settings, sock))
    return 0
