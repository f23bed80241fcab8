"""Readiness of calproxy's two dependencies, Redis and Cal.com: asked at start-up and by /readyz.

Redis is pinged on every check (without it calproxy fails closed). Cal.com is probed at most once per
`upstream_every_s`: every probe is a request against the deployment's rate limit, and any HTTP answer,
even a 401, proves it reachable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError

PROBE_PATH = "/v2/me"
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    """Which dependency answers."""

    redis: bool
    upstream: bool

    @property
    def ready(self) -> bool:
        """Both answer."""
        return self.redis and self.upstream

    def as_dict(self) -> dict[str, str]:
        """The /readyz body."""
        return {
            "status": "ok" if self.ready else "unavailable",
            "redis": "up" if self.redis else "down",
            "upstream": "up" if self.upstream else "down",
        }


@dataclass
class ReadinessProbe:
    """Pings Redis each time; probes Cal.com's base URL at most once per `upstream_every_s`."""

    redis: Redis
    http: httpx.AsyncClient
    upstream_every_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _upstream: tuple[float, bool] | None = field(default=None, init=False)

    async def check(self) -> Readiness:
        """Both dependencies, concurrently."""
        redis_up, upstream_up = await asyncio.gather(self._redis_up(), self._upstream_up())
        return Readiness(redis=redis_up, upstream=upstream_up)

    async def _redis_up(self) -> bool:
        try:
            await asyncio.wait_for(self.redis.ping(), timeout=PROBE_TIMEOUT_S)
        except (RedisError, RedisClusterException, OSError, TimeoutError):
            return False
        return True

    async def _upstream_up(self) -> bool:
        now = self.clock()
        if self._upstream is not None and now - self._upstream[0] < self.upstream_every_s:
            return self._upstream[1]
        try:
            await self.http.get(PROBE_PATH, timeout=PROBE_TIMEOUT_S)
            up = True
        except httpx.HTTPError:
            up = False
        self._upstream = (now, up)
        return up
