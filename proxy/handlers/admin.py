"""Operator endpoints under /calproxy/v1/admin/, behind the admin token (CONTRACT §4)."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from proxy.admin_views import (
    change_policy,
    force_release,
    hold_views,
    policy_json,
    release_by_reservation_uid,
)
from proxy.calcom.errors import BadRequest, Forbidden, NotFound, Unauthorized
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.handlers.context import services
from proxy.logs import audit


def require_admin(request: web.Request) -> None:
    """Admin endpoints need `Authorization: Bearer <CALPROXY_ADMIN_TOKEN>`; disabled without a token."""
    token = services(request).settings.admin_token
    if token is None:
        raise Forbidden("Admin endpoints are disabled: set CALPROXY_ADMIN_TOKEN.")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
        raise Unauthorized("Invalid admin token.")


async def get_policy(request: web.Request) -> web.Response:
    """The TTL policy every process uses."""
    require_admin(request)
    policy = await services(request).policy.load()
    return json_response({"status": "success", "data": policy_json(policy)})


async def put_policy(request: web.Request) -> web.Response:
    """Change default, bounds or overrides: validated whole, applied atomically, seen by every process."""
    require_admin(request)
    policy = await change_policy(services(request), await read_json(request))
    return json_response({"status": "success", "data": policy_json(policy)})


async def list_holds(request: web.Request) -> web.Response:
    """Live holds and booked markers, of one resource (?resource=) or of all."""
    require_admin(request)
    resource = request.query.get("resource")
    if resource is not None and not resource.strip():
        raise BadRequest("resource must not be empty")
    return json_response({"status": "success", "data": await hold_views(services(request), resource)})


async def release_reservation(request: web.Request) -> web.Response:
    """Force-release the hold behind the reservationUid a caller was given."""
    require_admin(request)
    uid = request.match_info["reservation_uid"]
    if not await release_by_reservation_uid(services(request), uid):
        raise NotFound(f"No live hold with reservationUid={uid}")
    return json_response({"status": "success"})


async def release_hold(request: web.Request) -> web.Response:
    """Force-release one hold by resource and internal uid."""
    require_admin(request)
    resource, uid = request.match_info["resource"], request.match_info["uid"]
    if not await force_release(services(request), resource, uid):
        raise NotFound("No such live hold")
    return json_response({"status": "success"})


async def stats(request: web.Request) -> web.Response:
    """The TTL advisor (censoring-aware quote-to-commit times and the TTL trade-off), contention."""
    require_admin(request)
    svc = services(request)
    policy = await svc.policy.load()
    summary = await svc.stats.summary()
    advice = (await svc.stats.advisor(policy)).as_dict()
    counters = {
        metric.name: {
            "/".join(s.labels.values()) or "total": s.value
            for s in metric.samples
            if s.name.endswith("_total")
        }
        for metric in svc.metrics.registry.collect()
        if metric.name in ("calproxy_quotes", "calproxy_bookings", "calproxy_holds_created")
    }
    data = {
        **summary,
        # The advisor's recommendation (null when it cannot make one); its reason is in `advisor`.
        "recommendedTtlSeconds": advice["recommendedTtlSeconds"],
        "advisor": advice,
        "thisProcess": derived(counters),
    }
    return json_response({"status": "success", "data": data})


def derived(counters: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Counters plus the ratios operators tune TTLs by: contention, holds that never became bookings."""
    quotes = sum(counters.get("calproxy_quotes", {}).values())
    held = counters.get("calproxy_quotes", {}).get("held", 0.0)
    holds = sum(counters.get("calproxy_holds_created", {}).values())
    confirmed = counters.get("calproxy_bookings", {}).get("confirmed", 0.0)
    return {
        **counters,
        # Share of quotes that found the slot held by another caller.
        "contention": held / quotes if quotes else 0.0,
        # Holds that were not (yet) converted into a booking: expired, released or superseded.
        "holdsNotConverted": max(0.0, holds - confirmed),
    }


async def reconcile(request: web.Request) -> web.Response:
    """Run reconciliation now and return its report."""
    require_admin(request)
    audit("reconcile_requested")
    report = await services(request).reconciler.run()
    return json_response({"status": "success", "data": report.as_dict()})
