"""GET /v2/event-types, GET /v2/event-types/{id} (2024-06-14 shapes) and GET /v2/me."""

from __future__ import annotations

from aiohttp import web

from proxy.calcom.errors import BadRequest, NotFound
from proxy.calcom.jsonwire import json_response
from proxy.calcom.validation import parse_int_param, raise_if_errors, unknown_properties
from proxy.sim.appkeys import STATE
from proxy.sim.output import event_type_output, me_output
from proxy.sim.requests import require_permissions_credentials, require_user

EVENT_TYPE_PARAMS = ("username", "eventSlug", "usernames", "orgSlug", "orgId", "sortCreatedAt")


async def list_event_types(request: web.Request) -> web.Response:
    """GET /v2/event-types: the key owner's event types, or a user's by `username` without credentials."""
    state = request.app[STATE]
    raise_if_errors(unknown_properties(request.query, EVENT_TYPE_PARAMS))
    username = request.query.get("username")
    if username is not None:
        owners = [h.id for h in state.seed.hosts.values() if h.username == username]
    else:
        owners = [require_user(request)]
    slug = request.query.get("eventSlug")
    data = [
        event_type_output(et, state.seed.host_of(et))
        for et in state.seed.event_types.values()
        if et.host_id in owners and (slug is None or et.slug == slug)
    ]
    return json_response({"status": "success", "data": data})


async def get_event_type(request: web.Request) -> web.Response:
    """GET /v2/event-types/{id}: one of the key owner's event types (golden catalogue: another user's is the
    same 404 as an unknown id; no credential at all is the controller's PermissionsGuard 403)."""
    state = request.app[STATE]
    require_permissions_credentials(request)
    user_id = require_user(request)
    raw = request.match_info["id"]
    event_type_id = parse_int_param(raw)
    if event_type_id is None or not raw.isdigit():
        # Nest's ParseIntPipe (the real Cal.com crashes instead: 500, allow-listed in the goldens).
        raise BadRequest("Validation failed (numeric string is expected)")
    et = state.seed.event_types.get(event_type_id)
    if et is None or et.host_id != user_id:
        raise NotFound(f"Event type with id {event_type_id} not found")
    return json_response({"status": "success", "data": event_type_output(et, state.seed.host_of(et))})


async def get_me(request: web.Request) -> web.Response:
    """GET /v2/me: the API key's owner."""
    user_id = require_user(request)
    hosts = request.app[STATE].seed.hosts
    # Every Cal.com user has a default schedule; the real-Cal.com harness makes one per host in id order
    # (scripts/real-calcom/seed.py), so its id is the host's place in that order.
    schedule_id = sorted(hosts).index(user_id) + 1
    return json_response({"status": "success", "data": me_output(hosts[user_id], schedule_id)})
