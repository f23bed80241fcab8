"""Operations endpoints: /metrics, /healthz, /readyz."""

from __future__ import annotations

from collections import Counter

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from holds import HoldError, HoldState
from holds.errors import STORE_ERRORS
from proxy.calcom.jsonwire import json_response
from proxy.handlers.context import services
from proxy.services import Services

ALL_TIME_MS = 2**62


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; the live-holds gauge is read from Redis now, so every process agrees."""
    svc = services(request)
    await _count_live_holds(svc)
    svc.metrics.flush()
    body = generate_latest(svc.metrics.registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def _count_live_holds(svc: Services) -> None:
    counts = Counter({state.value: 0 for state in HoldState})
    try:
        async for resource in svc.holds.resources():
            counts.update(hold.state.value for hold in await svc.holds.live(resource, 0, ALL_TIME_MS))
    except (HoldError, *STORE_ERRORS, OSError):
        return  # the gauge keeps its last value; /readyz is where an unreachable Redis shows
    for state, n in counts.items():
        svc.metrics.live_holds.labels(state=state).set(n)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis and Cal.com answer; a 503 names the one that does not."""
    readiness = await services(request).readiness.check()
    return json_response(readiness.as_dict(), status=200 if readiness.ready else 503)
