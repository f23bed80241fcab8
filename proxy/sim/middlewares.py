"""Simulator middlewares: request id, stats, Cal.com's throttler guard, and injected latency."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from proxy.calcom.errors import CalcomError, Handler, TooManyRequests, Unauthorized, error_response
from proxy.logs import get_logger
from proxy.sim.appkeys import STATE
from proxy.sim.requests import CURRENT_CALLER, identify

log = get_logger(__name__)
CONTROL_PREFIX = "/_sim/"
# Indirection so tests can observe injected latency without sleeping.
sleep = asyncio.sleep


def _is_calcom(request: web.Request) -> bool:
    return request.path == "/v2" or request.path.startswith("/v2/")


def _is_public(request: web.Request) -> bool:
    """Cal.com routes without an auth guard (GET slots): bad OAuth client credentials are not checked."""
    return request.method == "GET" and request.path in ("/v2/slots", "/v2/slots/available")


def endpoint_key(request: web.Request) -> str:
    """`METHOD /route/{template}` for stats (uids do not explode the table)."""
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else "<unmatched>"
    return f"{request.method} {template}"


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set `X-Request-Id` on every response, as Cal.com's interceptor does."""
    response = await handler(request)
    response.headers["X-Request-Id"] = str(uuid.uuid4())
    return response


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count requests by endpoint and status; control endpoints in their own table; log one line each."""
    state = request.app[STATE]
    response = await handler(request)
    key = endpoint_key(request)
    table = state.stats.control if request.path.startswith(CONTROL_PREFIX) else state.stats.requests
    table[(key, response.status)] += 1
    if response.status == 429:
        state.stats.rate_limited += 1
    log.info(
        "sim_request",
        method=request.method,
        route=key,
        status=response.status,
        # What the client sent, so a test can follow one request id from the caller through calproxy.
        client_request_id=request.headers.get("X-Request-Id"),
    )
    return response


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Cal.com's CustomThrottlerGuard for /v2: resolve the caller, count the hit, set X-RateLimit headers.

    Nest runs guards only for a matched route: Express answers an unknown path with its 404 first, so that
    request is neither counted nor given rate-limit headers.
    """
    if not _is_calcom(request) or request.match_info.http_exception is not None:
        return await handler(request)
    state = request.app[STATE]
    try:
        who = identify(request, state)
    except CalcomError as error:
        return error_response(error, request.path_qs)
    if who.auth_error is not None and not _is_public(request):
        return error_response(Unauthorized(who.auth_error), request.path_qs)
    CURRENT_CALLER.set(who)
    decision = state.limiter.hit(who.tracker)
    if decision is not None and not decision.allowed:
        response: web.StreamResponse = error_response(TooManyRequests(), request.path_qs)
    else:
        response = await handler(request)
    if decision is not None:
        response.headers.update(decision.headers())
    return response


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Delay every Cal.com request by the configured latency."""
    latency_ms = request.app[STATE].latency_ms
    if latency_ms > 0 and _is_calcom(request):
        # Cal.com has the whole request before it works on it: a client that goes away meanwhile (a crashed
        # proxy) does not stop the booking it asked for. aiohttp keeps the body read here for the handler.
        await request.read()
        await sleep(latency_ms / 1000)
    return await handler(request)
