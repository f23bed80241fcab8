"""Every path the proxy does not intercept goes to Cal.com unchanged (CONTRACT §3, last row), confined to
/v1/ and /v2/ by `proxy.upstream_path` (the rule is documented there)."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.errors import NotFound
from proxy.forwarding import request_headers, response_headers
from proxy.handlers.context import services
from proxy.logs import get_logger
from proxy.metrics import method_label
from proxy.upstream_path import Refused, confine

log = get_logger(__name__)


async def forward(request: web.Request) -> web.Response:
    """Forward method, confined path, query, body and headers; return status, headers and body unchanged."""
    try:
        # The raw target, as sent: aiohttp's decoded `request.path` is what let `%2e%2e` escape before.
        target = confine(request.method, request.raw_path)
    except Refused as refused:
        # Neither the path nor the query is logged: the query of a v1 call carries ?apiKey=.
        log.info("passthrough_refused", reason=refused.reason, method=method_label(request.method))
        # What Cal.com's router answers for a route it does not have (same text as calcom_error_middleware's).
        raise NotFound(f"Cannot {request.method} {request.path_qs}") from None
    svc = services(request)
    body = await request.read()
    upstream = await svc.upstream.request(
        request.method,
        target.relative_url,
        headers=dict(request_headers(request.headers.items())),
        content=body or None,
    )
    response = web.Response(status=upstream.status, body=upstream.content)
    for name, value in response_headers(upstream.headers.multi_items()):
        response.headers.add(name, value)
    return response
