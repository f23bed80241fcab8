"""The proxy's middlewares: request ids, request timing, and the one mapping of internal errors."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from holds import HoldError
from proxy.appkeys import SERVICES
from proxy.errors import from_internal_error
from proxy.forwarding import response_headers
from proxy.snapshot import UpstreamRefused

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# Unique per process start plus a counter: as unique as uuid4 for a request id, at a fraction of its cost.
_REQUEST_ID_PREFIX = secrets.token_hex(10)
_request_counter = itertools.count()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer carries an X-Request-Id, as Cal.com's do."""
    response = await handler(request)
    if "X-Request-Id" not in response.headers:
        response.headers["X-Request-Id"] = f"{_REQUEST_ID_PREFIX}{next(_request_counter):012x}"
    return response


@web.middleware
async def timing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency per route pattern (never per raw path: uids would explode the label set)."""
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[SERVICES].metrics.http_duration.labels(route=name).observe(time.perf_counter() - started)


@web.middleware
async def internal_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hold-engine errors become Cal.com-shaped errors; an upstream refusal of a slots query passes as is."""
    try:
        return await handler(request)
    except (HoldError, RedisError) as exc:
        logger.warning("event=store_error path=%s error=%s", request.path, type(exc).__name__)
        raise from_internal_error(exc) from exc
    except UpstreamRefused as exc:
        response = web.Response(status=exc.response.status, body=exc.response.content)
        for name, value in response_headers(exc.response.headers.multi_items()):
            response.headers.add(name, value)
        return response
