"""create_app: the proxy's aiohttp application (routes, middlewares, lifecycles); no logic here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import cast

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import BlockingConnectionPool, Redis

from proxy.appkeys import SERVICES, SETTINGS
from proxy.middlewares import proxy_middleware
from proxy.routes import setup_routes
from proxy.services import build_services
from proxy.settings import Settings

MAX_BODY_BYTES = 1024 * 1024


def embedded_redis() -> Redis:
    """An in-process Redis (fakeredis with Lua) for the embedded default and tests."""
    import fakeredis

    # fakeredis's default pool refuses a 101st concurrent command (MaxConnectionsError, a 503): a hundred
    # callers quoting at once, each with a background statistics write, reach that. Connections are free here.
    client: Redis = fakeredis.FakeAsyncRedis(max_connections=4096)
    return client


def connect_redis(url: str, max_connections: int = 256, *, cluster: bool = False) -> Redis:
    """A client whose pool makes bursts wait for a connection rather than fail with "Too many connections".

    `cluster`: `url` is one node of a Redis Cluster; redis-py's RedisCluster discovers the others, follows
    MOVED/ASK and re-reads the topology after a failover. Every command calproxy sends touches keys of
    one hash slot (ARCHITECTURE: Redis keys), so it runs there as it does on one server.
    """
    if cluster:
        return connect_cluster(url)
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=5)
    return Redis(connection_pool=pool)


def connect_cluster(url: str, max_connections_per_node: int = 1024) -> Redis:
    """A RedisCluster client that fails closed quickly while a master is down and recovers by itself.

    A few short retries (well under a second in all) ride out a MOVED after failover and a refused
    connection while the topology is re-read; past them the caller gets a Redis error, i.e. 503. The async
    cluster client has no blocking pool, so each node allows more connections than a burst can open.
    """
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    client = RedisCluster.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=3),
        max_connections=max_connections_per_node,
        socket_connect_timeout=1.0,
        socket_timeout=5.0,
        # Re-read the topology at most this often on errors (a failover moves a slot range at once).
        topology_refresh_min_interval=0.25,
    )
    # RedisCluster is not a subclass of Redis but answers every command calproxy sends (one slot each).
    return cast(Redis, client)


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
        # One layer: the access line sees the final status; Cal.com-shaped errors wrap everything;
        # internal errors are mapped inside them.
        middlewares=[proxy_middleware],
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
        url, cluster = settings.redis_url, settings.redis_cluster
        redis = injected or (connect_redis(url, cluster=cluster) if url else embedded_redis())
        assert settings.upstream_url is not None
        services = build_services(settings, redis, settings.upstream_url, clock=clock)
        app[SERVICES] = services
        try:
            async with (
                services.activity.flushing(),
                services.state_guard.watching(settings.state_check_s),
                services.liveness.beating(services.abandoned.settle),
            ):
                yield
        finally:
            await services.aclose()
            if owned:
                await redis.aclose()

    return ctx


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Periodic reconciliation on APScheduler (one job, never overlapping itself).

    Every process schedules it; the reconciliation lease and its "recent pass" marker make it one pass per
    interval across all of them (proxy.reconcile).
    """
    scheduler = AsyncIOScheduler()
    services = app[SERVICES]
    scheduler.add_job(
        services.reconciler.run_scheduled,
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
