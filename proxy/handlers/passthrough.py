"""Every path the proxy does not intercept goes to Cal.com unchanged (CONTRACT §3, last row)."""

from __future__ import annotations

from aiohttp import web

from proxy.forwarding import request_headers, response_headers
from proxy.handlers.context import services


async def forward(request: web.Request) -> web.Response:
    """Forward method, path, query, body and headers; return status, headers and body unchanged."""
    svc = services(request)
    body = await request.read()
    upstream = await svc.upstream.request(
        request.method,
        request.path,
        params=list(request.query.items()),
        headers=dict(request_headers(request.headers.items())),
        content=body or None,
    )
    svc.metrics.upstream_requests.labels(endpoint="passthrough", status=str(upstream.status)).inc()
    response = web.Response(status=upstream.status, body=upstream.content)
    for name, value in response_headers(upstream.headers.multi_items()):
        response.headers.add(name, value)
    return response
