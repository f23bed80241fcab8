"""create_sim_app: the simulator as an aiohttp application."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.errors import calcom_error_middleware
from proxy.sim.appkeys import STATE
from proxy.sim.config import SimConfig
from proxy.sim.middlewares import (
    guard_middleware,
    latency_middleware,
    request_id_middleware,
    stats_middleware,
)
from proxy.sim.routes import add_routes
from proxy.sim.state import SimState


async def _release_stuck(app: web.Application) -> None:
    # Requests hanging in the `timeout` fault wait on this event; shutdown must not wait for them.
    app[STATE].shutdown.set()


def create_sim_app(config: SimConfig | None = None) -> web.Application:
    """Build the simulator app; the state is at `app[STATE]`."""
    config = config or SimConfig()
    app = web.Application(
        client_max_size=config.max_body_bytes,
        # Outermost first: the guard sits outside the error middleware so 4xx/5xx carry rate-limit headers.
        middlewares=[
            request_id_middleware,
            stats_middleware,
            guard_middleware,
            calcom_error_middleware,
            latency_middleware,
        ],
    )
    app[STATE] = SimState(config)
    add_routes(app)
    app.on_shutdown.append(_release_stuck)
    return app
