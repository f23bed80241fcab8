"""An existing, unmodified Cal.com client library (the official @calcom/sdk from npm) through the proxy.

@calcom/sdk 1.0.1 speaks the legacy slot surface: GET /v2/slots/available, POST /v2/slots/reserve and
DELETE /v2/slots/delete. Its `bookings` handler has no methods in this version, so booking calls are
covered by the Cal.com-shaped tests in test_e2e_commit.py instead.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.proxy.conftest import Stack, next_weekday

CLIENTS = Path(__file__).resolve().parents[1] / "clients"
SDK = CLIENTS / "node_modules" / "@calcom" / "sdk"
DAY = next_weekday(21, weekday=2)

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


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
