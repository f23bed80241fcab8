"""Operator endpoints under /calproxy/v1/admin/, behind the admin token (CONTRACT §4)."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from holds import Hold, TtlPolicy
from proxy.calcom.errors import BadRequest, Forbidden, NotFound, Unauthorized
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.handlers.context import services

ALL_TIME = (0, 2**62)


def require_admin(request: web.Request) -> None:
    """Admin endpoints need `Authorization: Bearer <CALPROXY_ADMIN_TOKEN>`; disabled without a token."""
    token = services(request).settings.admin_token
    if token is None:
        raise Forbidden("Admin endpoints are disabled: set CALPROXY_ADMIN_TOKEN.")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
        raise Unauthorized("Invalid admin token.")


def _policy_json(policy: TtlPolicy) -> dict[str, Any]:
    return {
        "defaultSeconds": policy.default_ms / 1000,
        "minSeconds": policy.min_ms / 1000,
        "maxSeconds": policy.max_ms / 1000,
        "overrides": {resource: ms / 1000 for resource, ms in sorted(policy.overrides.items())},
    }


def _hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "uid": hold.uid,
        "resource": hold.resource,
        "startMs": hold.start_ms,
        "endMs": hold.end_ms,
        "expiresAtMs": hold.expires_at_ms,
        "state": hold.state.value,
        # Owners are already tenant-scoped hashes; operators see them, callers never do.
        "owner": hold.owner,
    }


def _seconds(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadRequest(f"{name} must be a positive number of seconds")
    return int(value * 1000)


async def get_policy(request: web.Request) -> web.Response:
    """The TTL policy every process uses."""
    require_admin(request)
    policy = await services(request).policy.load()
    return json_response({"status": "success", "data": _policy_json(policy)})


async def put_policy(request: web.Request) -> web.Response:
    """Change default, bounds or per-resource overrides; every process sees it at once."""
    require_admin(request)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) - {"defaultSeconds", "minSeconds", "maxSeconds", "overrides"}:
        raise BadRequest("Body must be an object with defaultSeconds, minSeconds, maxSeconds or overrides")
    store = services(request).policy
    current = await store.load()
    default, low, high = (_seconds(body, n) for n in ("defaultSeconds", "minSeconds", "maxSeconds"))
    if low is not None or high is not None:
        await store.set_bounds(low or current.min_ms, high or current.max_ms)
    if default is not None:
        await store.set_default(default)
    overrides = body.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise BadRequest("overrides must map a resource to seconds (or null to remove)")
    for resource, seconds in overrides.items():
        ms = None if seconds is None else _seconds({"override": seconds}, "override")
        await store.set_override(str(resource), ms)
    return json_response({"status": "success", "data": _policy_json(await store.load())})


async def list_holds(request: web.Request) -> web.Response:
    """Live holds and booked markers, of one resource (?resource=) or of all."""
    require_admin(request)
    holds = services(request).holds
    wanted = request.query.get("resource")
    resources = [wanted] if wanted else [r async for r in holds.resources()]
    found = [h for r in resources for h in await holds.live(r, *ALL_TIME)]
    return json_response({"status": "success", "data": [_hold_json(h) for h in found]})


async def release_hold(request: web.Request) -> web.Response:
    """Force-release one hold."""
    require_admin(request)
    released = await services(request).holds.force_release(
        request.match_info["resource"], request.match_info["uid"]
    )
    if not released:
        raise NotFound("No such live hold")
    return json_response({"status": "success"})


async def stats(request: web.Request) -> web.Response:
    """Quote-to-commit distribution, contention and a recommended TTL."""
    require_admin(request)
    svc = services(request)
    policy = await svc.policy.load()
    summary = await svc.stats.summary(policy.min_ms / 1000, policy.max_ms / 1000, policy.default_ms / 1000)
    counters = {
        metric.name: {
            "/".join(s.labels.values()) or "total": s.value
            for s in metric.samples
            if s.name.endswith("_total")
        }
        for metric in svc.metrics.registry.collect()
        if metric.name in ("calproxy_quotes", "calproxy_bookings", "calproxy_holds_created")
    }
    return json_response({"status": "success", "data": {**summary, "thisProcess": derived(counters)}})


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
    report = await services(request).reconciler.run()
    return json_response({"status": "success", "data": report.as_dict()})
