"""Operations endpoints: /metrics, /healthz, /readyz."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from proxy.calcom.jsonwire import json_response
from proxy.handlers.context import services


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format."""
    body = generate_latest(services(request).metrics.registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis answers (without it the proxy fails closed)."""
    try:
        await services(request).redis.ping()
    except (RedisError, OSError):
        return json_response({"status": "unavailable", "redis": "down"}, status=503)
    return json_response({"status": "ok", "redis": "up"})
