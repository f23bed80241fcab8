"""Control endpoints under /_sim: ground truth, outside-channel bookings, faults, reset and stats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from proxy.calcom.errors import BadRequest
from proxy.calcom.jsonwire import json_response
from proxy.calcom.requests import read_json
from proxy.calcom.timefmt import parse_instant
from proxy.calcom.validation import is_int
from proxy.sim.appkeys import STATE
from proxy.sim.calendar import event_type
from proxy.sim.commit import BookingRequest, insert_booking
from proxy.sim.faults import rates_from_json
from proxy.sim.output import ground_truth
from proxy.sim.state import SimState

FAULT_KEYS = frozenset({"shift", "error", "timeout", "latencyMs", "raceWindowMs", "rateLimit", "rngSeed"})


def _faults_json(state: SimState) -> dict[str, Any]:
    return {
        **state.faults.as_dict(),
        "latencyMs": state.latency_ms,
        "raceWindowMs": state.race_window_ms,
        "rateLimit": state.limiter.limit,
    }


def _non_negative_int(body: dict[str, Any], name: str) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if not is_int(value) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer")
    return int(value)


async def list_truth(request: web.Request) -> web.Response:
    """GET /_sim/bookings: every booking as it really is, in creation order."""
    state = request.app[STATE]
    return json_response({"status": "success", "data": [ground_truth(b) for b in state.bookings.values()]})


async def outside_booking(request: web.Request) -> web.Response:
    """POST /_sim/bookings `{eventTypeId, start}`: an outside channel books, bypassing every check."""
    state = request.app[STATE]
    body = await read_json(request)
    if (
        not isinstance(body, dict)
        or not is_int(body.get("eventTypeId"))
        or not isinstance(body.get("start"), str)
    ):
        raise BadRequest("Body must be an object with integer eventTypeId and string start")
    try:
        start = parse_instant(body["start"])
    except ValueError as exc:
        raise BadRequest("start must be a valid ISO 8601 date string") from exc
    et = event_type(state, int(body["eventTypeId"]))
    length = body.get("lengthInMinutes", et.length)
    if not is_int(length) or length <= 0:
        raise BadRequest("lengthInMinutes must be a positive integer")
    attendee = body.get("attendee") or {
        "name": "Outside Caller",
        "email": "outside@example.com",
        "timeZone": "UTC",
        "language": "en",
        "absent": False,
    }
    metadata = body.get("metadata") or {}
    if not isinstance(attendee, dict) or not isinstance(metadata, dict):
        raise BadRequest("attendee and metadata must be objects")
    req = BookingRequest(
        event_type=et, start=start, length_in_minutes=int(length), attendee=attendee, metadata=metadata
    )
    booking = insert_booking(state, req, start, start + timedelta(minutes=int(length)), source="outside")
    return json_response({"status": "success", "data": ground_truth(booking)}, status=201)


async def get_faults(request: web.Request) -> web.Response:
    """GET /_sim/faults: the current runtime fault settings."""
    return json_response({"status": "success", "data": _faults_json(request.app[STATE])})


async def set_faults(request: web.Request) -> web.Response:
    """POST /_sim/faults: change fault rates, latency, race window, rate limit or the fault RNG seed."""
    state = request.app[STATE]
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("Body should be an object")
    unknown = sorted(set(body) - FAULT_KEYS)
    if unknown:
        raise BadRequest(f"Unknown fault settings: {', '.join(unknown)}")
    try:
        rates = rates_from_json(state.faults, body)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    latency = _non_negative_int(body, "latencyMs")
    race = _non_negative_int(body, "raceWindowMs")
    limit = _non_negative_int(body, "rateLimit")
    seed = _non_negative_int(body, "rngSeed")
    state.faults = rates
    if latency is not None:
        state.latency_ms = latency
    if race is not None:
        state.race_window_ms = race
    if limit is not None:
        state.limiter.limit = limit
        state.limiter.reset()
    if seed is not None:
        state.rng.seed(seed)
    return json_response({"status": "success", "data": _faults_json(state)})


async def reset(request: web.Request) -> web.Response:
    """POST /_sim/reset: back to the seed with the configured faults."""
    request.app[STATE].reset()
    return json_response({"status": "success"})


async def stats(request: web.Request) -> web.Response:
    """GET /_sim/stats: Cal.com requests by endpoint and status, 429s, faults, control requests."""
    state = request.app[STATE]
    data = {**state.stats.as_json(), "stuckRequests": state.stuck_requests, "bookings": len(state.bookings)}
    return json_response({"status": "success", "data": data})
