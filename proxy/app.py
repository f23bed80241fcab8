"""create_app: the proxy's aiohttp application (routes, middlewares, lifecycles); no logic here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import BlockingConnectionPool, Redis

from proxy.appkeys import SERVICES, SETTINGS
from proxy.calcom.errors import calcom_error_middleware
from proxy.middlewares import internal_errors_middleware, observe_middleware
from proxy.routes import setup_routes
from proxy.services import build_services
from proxy.settings import Settings

MAX_BODY_BYTES = 1024 * 1024


def embedded_redis() -> Redis:
    """An in-process Redis (fakeredis with Lua) for the embedded default and tests."""
    import fakeredis

    client: Redis = fakeredis.FakeAsyncRedis()
    return client


def connect_redis(url: str, max_connections: int = 256) -> Redis:
    """A client whose pool makes bursts wait for a connection rather than fail with "Too many connections"."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=5)
    return Redis(connection_pool=pool)


def create_app(
    settings: Settings, *, redis: Redis | None = None, clock: Callable[[], float] = time.time
) -> web.Application:
    """The proxy app. `redis` overrides settings.redis_url (tests); without either, fakeredis is used."""
    if not settings.upstream_url:
        raise ValueError(
            "create_app needs settings.upstream_url (calproxy serve starts the simulator for you)"
        )
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        # Outermost first: the access line sees the final status; Cal.com-shaped errors wrap everything;
        # internal errors are mapped inside them.
        middlewares=[observe_middleware, calcom_error_middleware, internal_errors_middleware],
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_ctx(redis, clock))
    if settings.reconcile_interval_s > 0:
        app.cleanup_ctx.append(_scheduler_ctx)
    setup_routes(app)
    return app


def _services_ctx(
    injected: Redis | None, clock: Callable[[], float]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        owned = injected is None
        redis = injected or (connect_redis(settings.redis_url) if settings.redis_url else embedded_redis())
        assert settings.upstream_url is not None
        services = build_services(settings, redis, settings.upstream_url, clock=clock)
        app[SERVICES] = services
        try:
            async with services.activity.flushing():
                yield
        finally:
            await services.aclose()
            if owned:
                await redis.aclose()

    return ctx


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Periodic reconciliation on APScheduler (one job, never overlapping itself)."""
    scheduler = AsyncIOScheduler()
    services = app[SERVICES]
    scheduler.add_job(
        services.reconciler.run,
        "interval",
        seconds=app[SETTINGS].reconcile_interval_s,
        max_instances=1,
        coalesce=True,
        id="reconcile",
    )
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
