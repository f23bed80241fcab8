from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from proxy.cli import build_parser, main
from proxy.sim.cli import build_config
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from proxy.sim.runner import run_sim
from tests.sim.conftest import BOOK_V, Clock, booking_body


async def test_run_sim_serves_and_shuts_down_with_a_stuck_request(clock: Clock) -> None:
    config = SimConfig(now=clock.now, faults=FaultRates(timeout=1.0))
    async with run_sim(config) as sim:
        assert sim.url.startswith("http://127.0.0.1:") and not sim.url.endswith(":0")
        async with httpx.AsyncClient(base_url=sim.url) as client:
            response = await client.get("/v2/me", headers={"Authorization": "Bearer cal_test_beta"})
            assert response.json()["data"]["timeZone"] == "America/New_York"
            stuck = asyncio.create_task(
                client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
            )
            for _ in range(200):
                if sim.state.stuck_requests:
                    break
                await asyncio.sleep(0.005)
            assert sim.state.stuck_requests == 1
            assert len(sim.state.bookings) == 1
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stuck
    assert sim.state.shutdown.is_set()


def test_cli_parses_sim_options(tmp_path: object) -> None:
    args = build_parser().parse_args(
        [
            "sim",
            "--port",
            "0",
            "--race-window-ms",
            "25",
            "--faults",
            "shift=0.5,error=0.1",
            "--rate-limit",
            "0",
            "--rate-limit-window-s",
            "0.5",
        ]
    )
    config = build_config(args)
    assert (config.race_window_ms, config.rate_limit, config.rate_limit_window_s) == (25, 0, 0.5)
    assert config.faults == FaultRates(shift=0.5, error=0.1, timeout=0.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim", "--faults", "boom=1"])


def test_cli_without_command_prints_help() -> None:
    assert main([]) == 2


def test_seed_file_is_loaded(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    from proxy.sim.seed import load_seed

    seed = {
        "users": [
            {
                "id": 7,
                "username": "u",
                "name": "U",
                "email": "u@example.com",
                "timeZone": "Asia/Tokyo",
                "weeklyHours": {"sat": [["10:00", "12:00"]]},
            }
        ],
        "eventTypes": [
            {"id": 70, "userId": 7, "slug": "s", "lengthInMinutes": 20, "lengthOptions": [20, 40]}
        ],
        "apiKeys": [{"key": "cal_x", "userId": 7}],
    }
    path = Path(str(tmp_path)) / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    loaded = load_seed(path)
    assert loaded.event_types[70].interval == 20 and loaded.event_types[70].length_options == (20, 40)
    assert loaded.user_for_key("cal_x") == 7 and loaded.user_for_key("cal_y") is None
    seed["eventTypes"][0]["userId"] = 8
    path.write_text(json.dumps(seed), encoding="utf-8")
    with pytest.raises(ValueError):
        load_seed(path)
