"""POST /calproxy/v1/quote: one call per conversational turn."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.handlers.context import answers_throttled, creds, holding_caller, services
from proxy.quote import parse_quote, quote_body


@answers_throttled
async def quote(request: web.Request) -> web.Response:
    """Exact-instant check; a hold when free; otherwise the reason and the nearest alternatives."""
    svc = services(request)
    who = await holding_caller(request)
    body = parse_quote(await read_json(request), svc.settings.alternatives_default)
    result = await svc.quotes.quote(body, who, creds(request))
    svc.metrics.quotes.labels(result=result.reason.value if result.reason else "available").inc()
    held = [h for h in [result.hold, *(a.hold for a in result.alternatives)] if h is not None]
    svc.metrics.holds_created.labels(outcome="quote").inc(len(held))
    return json_response(quote_body(result, body.time_zone, body.event_type_id))
