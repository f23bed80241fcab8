"""The proxy's middlewares: request ids, access lines and timing, and the one mapping of internal errors."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisClusterException, RedisError

from holds import HoldError
from proxy.appkeys import SERVICES
from proxy.errors import from_internal_error
from proxy.forwarding import response_headers
from proxy.identity import CALL_ID_HEADER, tenant_of
from proxy.logs import get_logger, request_context
from proxy.metrics import method_label
from proxy.snapshot import UpstreamRefused

log = get_logger(__name__)
access = get_logger("calproxy.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-Id"
# An incoming id is honoured only when it is short and plain: it is echoed, logged and sent upstream.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Unique per process start plus a counter: as unique as uuid4 for a request id, at a fraction of its cost.
_REQUEST_ID_PREFIX = secrets.token_hex(10)
_request_counter = itertools.count()


def request_id_of(request: web.Request) -> str:
    """The caller's X-Request-Id when it is well-formed, else a fresh one."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    if _VALID_REQUEST_ID.match(sent):
        return sent
    return f"{_REQUEST_ID_PREFIX}{next(_request_counter):012x}"


def route_of(request: web.Request) -> str:
    """The route template that matched (never the raw path: uids would explode labels and logs)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def short_hash(text: str) -> str:
    """Eight hex digits: enough to follow one caller through the logs, useless to recover the input."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def who(request: web.Request) -> dict[str, str]:
    """Tenant and caller as short hashes for the access line (never the credential or the call id)."""
    services = request.app[SERVICES]
    tenant = tenant_of(request.headers, services.tenant_secret)
    fields = {"tenant": tenant if tenant == "public" else short_hash(tenant)}
    call_id = request.headers.get(CALL_ID_HEADER, "").strip()
    if call_id:
        fields["caller"] = short_hash(f"{tenant}:{call_id}")
    return fields


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: binds the request id to every log line, echoes it, times the request, logs access."""
    request_id = request_id_of(request)
    started = time.perf_counter()
    status = 500
    with request_context(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(request)
            method = method_label(request.method)
            request.app[SERVICES].metrics.http_duration.labels(
                route=route, method=method, status=str(status)
            ).observe(elapsed)
            access.info(
                "access",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                **who(request),
            )


@web.middleware
async def internal_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hold-engine errors become Cal.com-shaped errors; an upstream refusal of a slots query passes as is."""
    try:
        return await handler(request)
    except (HoldError, RedisError, RedisClusterException) as exc:
        log.warning("store_error", route=route_of(request), error=type(exc).__name__)
        raise from_internal_error(exc) from exc
    except UpstreamRefused as exc:
        body = refusal_body(exc.response.content, request.path_qs)
        response = web.Response(status=exc.response.status, body=body)
        for name, value in response_headers(exc.response.headers.multi_items()):
            response.headers.add(name, value)
        return response


def refusal_body(content: bytes, client_path: str) -> bytes:
    """Cal.com's refusal of calproxy's own slots fetch, naming the client's request as Cal.com would.

    Cal.com's envelope carries the path it was asked (`path`); here that is calproxy's internal range query,
    which the client never sent and should not see. Any other body passes unchanged.
    """
    try:
        envelope = json.loads(content)
    except ValueError:
        return content
    if not isinstance(envelope, dict) or not isinstance(envelope.get("path"), str):
        return content
    envelope["path"] = client_path
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
