"""`calproxy serve` on its embedded default, and the settings rules it enforces."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx
import pytest
from pydantic import ValidationError

from proxy.settings import Settings
from tests.proxy.conftest import SLOTS_V, next_weekday


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_runs_on_the_embedded_default_and_stops_cleanly() -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALPROXY_") and k not in ("REDIS_URL", "PORT")
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stderr is not None
        lines = []
        while not any("listening on" in line for line in lines):
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
            assert line, "serve exited before listening"
            lines.append(line)
        assert any("admin token for this run" in line for line in lines)
        day = next_weekday(14)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            params = {"eventTypeId": "1001", "start": str(day), "end": str(day), "timeZone": "Europe/Berlin"}
            slots = await client.get("/v2/slots", params=params, headers=SLOTS_V)
            assert slots.status_code == 200 and slots.json()["data"][str(day)]
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
        logs = (await process.stderr.read()).decode()
        assert "embedded_simulator" in logs and "embedded_redis" in logs
        assert "cal_test_alpha" not in logs, "the embedded API key must never be logged"
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_settings_refuse_markers_that_do_not_outlive_snapshots() -> None:
    with pytest.raises(ValidationError, match="booked_marker_ttl_s"):
        Settings(snapshot_ttl_s=600, booked_marker_ttl_s=300)
    with pytest.raises(ValidationError, match="hold_ttl_min_s"):
        Settings(hold_ttl_min_s=60, hold_ttl_max_s=30)
    ok = Settings(snapshot_ttl_s=10, booked_marker_ttl_s=30, upstream_timeout_s=5)
    assert ok.commit_budget_ms == 15_000


def test_settings_read_platform_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("REDIS_URL", "redis://example:6379/0")
    monkeypatch.setenv("CALPROXY_RESOURCE_GROUPS", '{"1001": "host-1"}')
    settings = Settings()
    assert settings.port == 9999 and settings.redis_url == "redis://example:6379/0"
    assert settings.resources().resource_groups == {1001: "host-1"}
