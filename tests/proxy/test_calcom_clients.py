"""Existing, unmodified Cal.com client libraries pointed at the proxy.

- The official @calcom/sdk (npm) speaks the legacy slot surface: GET /v2/slots/available, POST
  /v2/slots/reserve and DELETE /v2/slots/delete. Its `bookings` handler has no methods in 1.0.1.
- calcom-mcp-for-customers (PyPI) makes the v2 booking calls: POST /v2/bookings and GET /v2/bookings
  (2024-08-13). Its base URL is the module attribute CALCOM_API_BASE_URL. It lives in its own virtualenv
  (.venv-clients, made by scripts/test.sh) so its dependencies never mix with calproxy's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.proxy.conftest import API_KEY, Stack, next_weekday

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
SDK = CLIENTS / "node_modules" / "@calcom" / "sdk"
DAY = next_weekday(21, weekday=2)

CLIENTS_PYTHON = Path(__file__).resolve().parents[2] / ".venv-clients" / "bin" / "python"


async def run_node(*args: str) -> dict[str, object]:
    # Async subprocess: the proxy under test runs on this same event loop and must keep serving.
    process = await asyncio.create_subprocess_exec(
        "node", str(CLIENTS / "calcom_sdk_flow.cjs"), *args, cwd=CLIENTS, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    result = json.loads(out or b"{}")
    assert process.returncode == 0, result
    return dict(result)


def local(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_calcom_sdk_slot_calls_work_through_the_proxy(stack: Stack) -> None:
    assert SDK.exists(), "run `npm ci` in tests/clients (scripts/test.sh does it)"
    start, end = local("10:00"), local("10:30")
    result = await run_node(
        stack.proxy_url,
        "1001",
        f"{DAY}T00:00:00Z",
        f"{DAY}T23:59:59Z",
        "Europe/Berlin",
        start.isoformat(),
        end.isoformat(),
        API_KEY,
    )
    wanted = start.isoformat(timespec="milliseconds")

    def times(data: object) -> list[str]:
        # The SDK unwraps Cal.com's envelope and returns `data`.
        assert isinstance(data, dict)
        return [slot["time"] for slot in data["slots"][str(DAY)]]

    direct = await stack.direct.get(
        "/v2/slots/available",
        params={
            "eventTypeId": "1001",
            "startTime": f"{DAY}T00:00:00Z",
            "endTime": f"{DAY}T23:59:59Z",
            "timeZone": "Europe/Berlin",
        },
    )
    assert result["before"] == direct.json()["data"], "the SDK sees exactly what Cal.com would answer"
    assert wanted in times(result["before"])
    assert isinstance(result["uid"], str) and result["uid"]
    assert wanted not in times(result["during"]), "the SDK's reservation is a hold in the proxy"
    assert result["removed"] == "success"
    assert wanted in times(result["after"])
    assert await stack.truth() == []


@pytest.mark.skipif(not CLIENTS_PYTHON.exists(), reason="run scripts/test.sh to build .venv-clients")
async def test_pypi_client_booking_calls_work_through_the_proxy(stack: Stack) -> None:
    start = local("14:00").astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    process = await asyncio.create_subprocess_exec(
        str(CLIENTS_PYTHON),
        str(CLIENTS / "mcp_booking_flow.py"),
        stack.proxy_url,
        "cal_test_alpha",
        "1001",
        start,
        f"{DAY}T00:00:00Z",
        f"{DAY}T23:59:59Z",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    line = next(x for x in out.decode().splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    created = result["created"]
    assert created["status"] == "success", created
    assert created["data"]["start"] == start.replace("Z", ".000Z")
    listed = result["listed"]
    assert [b["id"] for b in listed["bookings"]] == [created["data"]["id"]]
    # The second caller asks for the taken slot: the library sees Cal.com's refusal, never a booking.
    assert result["duplicate"]["status_code"] == 409
    assert "just been booked" in json.dumps(result["duplicate"]["response_text"])
    truth = await stack.truth()
    assert [b["uid"] for b in truth] == [created["data"]["uid"]]
