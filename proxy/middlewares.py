"""The proxy's middlewares: request ids, access lines and timing, and the one mapping of internal errors."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisClusterException, RedisError

from holds import HoldError
from proxy.appkeys import SERVICES
from proxy.calcom.errors import CalcomError, in_calcom_shape
from proxy.errors import from_internal_error
from proxy.forwarding import response_headers
from proxy.identity import CALL_ID_HEADER, tenant_of
from proxy.logs import enter_request, get_logger, leave_request
from proxy.metrics import method_label
from proxy.snapshot import UpstreamRefused

log = get_logger(__name__)
access = get_logger("calproxy.access")
_access_stdlib = logging.getLogger("calproxy.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-Id"
# An incoming id is honoured only when it is short and plain: it is echoed, logged and sent upstream.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Unique per process start plus a counter: as unique as uuid4 for a request id, at a fraction of its cost.
_REQUEST_ID_PREFIX = secrets.token_hex(10)
_request_counter = itertools.count()


def request_id_of(request: web.Request) -> str:
    """The caller's X-Request-Id when it is well-formed, else a fresh one."""
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent is not None and _VALID_REQUEST_ID.match(sent):
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
async def proxy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The proxy's one middleware layer (each layer costs as much as a cached answer's lookup): the request
    id on every log line and echoed, the time and the access line; inside, every error in Cal.com's shape
    with internal ones mapped first."""
    request_id = request_id_of(request)
    started = time.perf_counter()
    status = 500
    token = enter_request(request_id)
    try:
        response = await in_calcom_shape(request, handler, internal_errors)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    finally:
        observe(request, status, time.perf_counter() - started)
        leave_request(token)


def observe(request: web.Request, status: int, elapsed: float) -> None:
    """The request's histogram sample and access line."""
    route = route_of(request)
    method = method_label(request.method)
    request.app[SERVICES].metrics.observe_http(route, method, status, elapsed)
    # Checked first: building the line (hashing the caller, structlog's processors) costs as much as a
    # cached slot answer itself, and a level above info drops it anyway.
    if _access_stdlib.isEnabledFor(logging.INFO):
        access.info(
            "access",
            method=method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            **who(request),
        )


def internal_errors(request: web.Request, exc: Exception) -> CalcomError | web.StreamResponse | None:
    """Hold-engine errors become Cal.com-shaped errors; an upstream refusal of a slots query passes as is."""
    if isinstance(exc, HoldError | RedisError | RedisClusterException):
        log.warning("store_error", route=route_of(request), error=type(exc).__name__)
        return from_internal_error(exc)
    if isinstance(exc, UpstreamRefused):
        body = refusal_body(exc.response.content, request.path_qs)
        response = web.Response(status=exc.response.status, body=body)
        for name, value in response_headers(exc.response.headers.multi_items()):
            response.headers.add(name, value)
        return response
    return None


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
