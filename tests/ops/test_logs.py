"""JSON logs a machine can parse and a person can trust, and request ids followed end to end."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from proxy.logs import redact_text
from tests.ops.support import clean_env, serving
from tests.proxy.conftest import BOOKINGS_V, SLOTS_V

ADMIN_TOKEN = "ops-test-admin-token-0123456789"
API_KEY = "cal_test_alpha"
EMAIL = "ann.caller@example.com"


def monday_in(weeks: int) -> date:
    day = date.today() + timedelta(weeks=weeks)
    return day - timedelta(days=day.weekday())


def berlin(day: date, hhmm: str) -> str:
    local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))
    return local.isoformat(timespec="milliseconds")


async def booking_flow(client: httpx.AsyncClient, request_id: str) -> None:
    """Slots, quote, booking, an admin change and a passthrough, all under one incoming request id."""
    day = monday_in(3)
    caller = {"Authorization": f"Bearer {API_KEY}", "X-Call-Id": "call-42", "X-Request-Id": request_id}
    slots = await client.get(
        "/v2/slots",
        params={"eventTypeId": "1001", "start": str(day), "end": str(day), "timeZone": "Europe/Berlin"},
        headers={**SLOTS_V, **caller},
    )
    assert slots.status_code == 200 and slots.headers["X-Request-Id"] == request_id
    quote = await client.post(
        "/calproxy/v1/quote",
        json={"eventTypeId": 1001, "start": berlin(day, "10:00"), "timeZone": "Europe/Berlin"},
        headers=caller,
    )
    assert quote.json()["data"]["available"] is True
    body = {
        "eventTypeId": 1001,
        "start": berlin(day, "10:00"),
        "attendee": {"name": "Ann", "email": EMAIL, "timeZone": "Europe/Berlin"},
    }
    booked = await client.post("/v2/bookings", json=body, headers={**BOOKINGS_V, **caller})
    assert booked.status_code == 201, booked.text
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Request-Id": request_id}
    changed = await client.put("/calproxy/v1/admin/ttl-policy", json={"defaultSeconds": 45}, headers=admin)
    assert changed.status_code == 200, changed.text
    me = await client.get("/v2/me", headers=caller)
    assert me.headers["X-Request-Id"] == request_id


async def test_a_booking_flow_logs_json_lines_with_the_request_id_and_no_secret() -> None:
    env = clean_env(CALPROXY_ADMIN_TOKEN=ADMIN_TOKEN)
    async with serving(env=env) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            await booking_flow(client, "req-ops-7f3a")
            # An id that is not short and plain (quotes, spaces) is not honoured: a fresh one is echoed.
            forged_id = 'x" {"event": "forged"}'
            forged = await client.get("/healthz", headers={"X-Request-Id": forged_id})
            assert forged.headers["X-Request-Id"] != forged_id
            # A malformed Authorization header is never logged in any form.
            await client.get("/v2/slots", headers={"Authorization": "Bearer cal_live_leak\tvalue"})
        stderr = await served.stderr_after_stop()
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line parses, or this raises
    assert lines, "nothing was logged"
    ours = [line for line in lines if line.get("request_id") == "req-ops-7f3a"]
    access = [line for line in ours if line["event"] == "access"]
    assert {(a["method"], a["route"], a["status"]) for a in access} >= {
        ("GET", "/v2/slots", 200),
        ("POST", "/calproxy/v1/quote", 200),
        ("POST", "/v2/bookings", 201),
        ("PUT", "/calproxy/v1/admin/ttl-policy", 200),
    }
    assert all(
        len(a["tenant"]) == 8 and len(a["caller"]) == 8
        for a in access
        if a["route"] != "/calproxy/v1/admin/ttl-policy"
    )
    assert any(line["event"] == "audit" and line["action"] == "ttl_policy_changed" for line in ours), ours
    # The id went upstream too: the simulator logged what calproxy sent it.
    upstream = [line for line in lines if line["event"] == "sim_request"]
    assert any(line.get("client_request_id") == "req-ops-7f3a" for line in upstream), upstream
    assert not any(line["event"] == "forged" for line in lines)
    for secret in (API_KEY, ADMIN_TOKEN, EMAIL, "call-42", "cal_live_leak"):
        assert secret not in stderr, secret


async def test_malformed_credential_headers_are_never_logged() -> None:
    """aiohttp's parser quotes the offending header line in its error; calproxy logs one line without it."""
    async with serving() as served:
        port = int(served.url.rsplit(":", 1)[1])
        for header in (
            b"Authorization: Basic c2VjcmV0LXRva2Vu\x01x",
            b"Cookie: calproxy_admin=sessi\x7fon-value",
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /v2/me HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
            await writer.drain()
            assert (await reader.read(64)).startswith(b"HTTP/1.")
            writer.close()
            await writer.wait_closed()
        stderr = await served.stderr_after_stop()
    refused = [json.loads(line) for line in stderr.splitlines() if '"aiohttp.server"' in line]
    assert len(refused) == 2 and all(r["error"] == "BadHttpMessage" for r in refused), refused
    for secret in ("c2VjcmV0LXRva2Vu", "sessi", "calproxy_admin", "Authorization: Basic"):
        assert secret not in stderr, secret


def test_credential_headers_in_free_text_are_redacted() -> None:
    text = "b'Authorization: Basic abc' and x-cal-secret-key=shh and Cookie: a=b, mail ann@example.com"
    redacted = redact_text(text)
    for secret in ("Basic abc", "shh", "a=b", "ann@example.com"):
        assert secret not in redacted
