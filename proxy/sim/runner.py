"""run_sim: serve the simulator in-process on a free port (for the proxy's embedded default and tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from proxy.sim.app import create_sim_app
from proxy.sim.appkeys import STATE
from proxy.sim.config import SimConfig
from proxy.sim.state import SimState


@dataclass(frozen=True)
class RunningSim:
    """A simulator listening at `url`, with direct access to its `state`."""

    url: str
    state: SimState
    app: web.Application


@asynccontextmanager
async def run_sim(
    config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSim]:
    """Serve the simulator until the block exits; requests stuck in the timeout fault are released."""
    app = create_sim_app(config)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        # With port 0 the OS picks the port; the runner knows which one.
        bound_port = int(runner.addresses[0][1])
        yield RunningSim(url=f"http://{host}:{bound_port}", state=app[STATE], app=app)
    finally:
        app[STATE].shutdown.set()
        await runner.cleanup()
