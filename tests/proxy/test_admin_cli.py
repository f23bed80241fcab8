"""`calproxy admin`: the operators' CLI against a running proxy (tables, --json, exit codes)."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from typing import Any

import pytest
from rich.console import Console

from proxy import admin_cli
from proxy.cli import build_parser
from proxy.cli import main as calproxy_main
from tests.proxy.conftest import Stack
from tests.proxy.test_admin import berlin

TOKEN = "admin-secret"


async def cli(*argv: str) -> int:
    """Run `calproxy admin ARGV` in a thread: the sync httpx client must not block the proxy's loop."""

    def run() -> int:
        try:
            return admin_cli.run(build_parser().parse_args(["admin", *argv]))
        except SystemExit as exc:  # argparse usage errors
            return int(exc.code or 0)

    return await asyncio.to_thread(run)


def against(stack: Stack, *argv: str) -> list[str]:
    return ["--url", stack.proxy_url, "--token", TOKEN, *argv]


async def test_holds_list_table_and_json(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("09:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    assert await cli(*against(stack, "holds", "list")) == 0
    table = capsys.readouterr().out
    assert "1 live hold(s)" in table
    assert uid in table and "grp:host-1" in table and "Europe/Berlin" in table
    assert f"{berlin('09:00')[:10]} 09:00:00" in table  # local time of the slot
    assert await cli(*against(stack, "--json", "holds", "list")) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [h["reservationUid"] for h in listed] == [uid]
    # --json is accepted after the command too, and --resource filters.
    assert await cli(*against(stack, "holds", "list", "--resource", "grp:host-2", "--json")) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert await cli(*against(stack, "holds", "list", "--resource", "grp:host-2")) == 0
    assert "No live holds." in capsys.readouterr().out


async def test_holds_release_by_reservation_uid(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    quoted = await stack.quote("A", eventTypeId=1002, start=berlin("10:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    assert await cli(*against(stack, "holds", "release", uid)) == 0
    assert f"Released {uid}." in capsys.readouterr().out
    assert await cli(*against(stack, "holds", "release", uid)) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"calproxy admin: HTTP 404: No live hold with reservationUid={uid}"
    assert await cli(*against(stack, "--json", "holds", "release", "nonsense")) == 1
    assert "HTTP 400" in capsys.readouterr().err
    again = await stack.quote("B", eventTypeId=1001, start=berlin("10:00"), timeZone="Europe/Berlin")
    assert again["available"] is True


async def test_ttl_show_and_set(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(*against(stack, "ttl", "show")) == 0
    shown = capsys.readouterr().out
    assert "TTL policy (seconds)" in shown and "default" in shown and "600" in shown
    argv = ["ttl", "set", "--default", "30.5", "--override", "grp:host-2=90", "--json"]
    assert await cli(*against(stack, *argv)) == 0
    changed = json.loads(capsys.readouterr().out)
    assert changed == {
        "defaultSeconds": 30.5,
        "minSeconds": 5.0,
        "maxSeconds": 600.0,
        "overrides": {"grp:host-2": 90.0},
    }
    assert await cli(*against(stack, "ttl", "set", "--remove-override", "grp:host-2")) == 0
    assert "override grp:host-2" not in capsys.readouterr().out
    assert (await stack.services.policy.load()).overrides == {}


async def test_a_refused_ttl_change_is_one_line_and_exit_1(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await stack.services.policy.load_versioned()
    argv = ["ttl", "set", "--default", "30", "--override", "grp:nope=20"]
    assert await cli(*against(stack, *argv)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 400: unknown resource grp:nope" in err
    assert await cli(*against(stack, "ttl", "set", "--default", "900")) == 1
    assert "defaultSeconds 900 is above maxSeconds 600" in capsys.readouterr().err
    assert await stack.services.policy.load_versioned() == before


@pytest.mark.parametrize(
    "argv",
    [
        ["ttl", "set"],
        ["ttl", "set", "--default", "nan"],
        ["ttl", "set", "--default", "-3"],
        ["ttl", "set", "--override", "grp:host-1"],
        ["holds"],
        ["holds", "release"],
        ["frobnicate"],
    ],
)
async def test_usage_errors_exit_2(stack: Stack, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(*against(stack, *argv)) == 2
    assert capsys.readouterr().err


async def test_usage_error_through_the_calproxy_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        calproxy_main(["admin", "ttl"])
    assert exited.value.code == 2


async def test_bad_token_and_unreachable_exit_1(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("--url", stack.proxy_url, "--token", "wrong-token", "ttl", "show") == 1
    err = capsys.readouterr().err
    assert err.strip() == "calproxy admin: HTTP 401: Invalid admin token." and "wrong-token" not in err
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        assert await cli("--url", f"http://127.0.0.1:{port}", "--token", TOKEN, "stats") == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"calproxy admin: cannot connect to calproxy at http://127.0.0.1:{port}: is it running?"
    )


async def test_url_and_token_from_the_environment(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALPROXY_ADMIN_URL", stack.proxy_url + "/")
    monkeypatch.setenv("CALPROXY_ADMIN_TOKEN", TOKEN)
    assert await cli("--json", "ttl", "show") == 0
    assert json.loads(capsys.readouterr().out)["defaultSeconds"] == 60.0
    monkeypatch.delenv("CALPROXY_ADMIN_TOKEN")
    assert await cli("ttl", "show") == 2
    assert "no admin token" in capsys.readouterr().err


async def test_stats_and_reconcile(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(*against(stack, "stats")) == 0
    out = capsys.readouterr().out
    assert "Quote to commit" in out and "samples" in out
    assert await cli(*against(stack, "--json", "stats")) == 0
    assert "quoteToCommitMs" in json.loads(capsys.readouterr().out)
    assert await cli(*against(stack, "reconcile")) == 0
    assert "consistencyRatio" in capsys.readouterr().out
    assert await cli(*against(stack, "reconcile", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["consistencyRatio"] == 1.0


ADVISOR: dict[str, Any] = {
    "windowSeconds": 86_400,
    "n": 240,
    "events": 180,
    "censored": 60,
    "censoredShare": 0.25,
    "enough": True,
    "percentilesSeconds": {"p50": 21.0, "p90": 48.0, "p95": 57.5, "p99": 88.0},
    "candidates": [
        {"ttlSeconds": 30, "lossShare": 0.31, "idleSlotMinutes": 30.0, "current": False},
        {"ttlSeconds": 60, "lossShare": 0.042, "idleSlotMinutes": 60.0, "current": True},
        {"ttlSeconds": 90, "lossShare": 0.008, "idleSlotMinutes": 90.0, "current": False},
    ],
    "currentTtlSeconds": 60,
    "recommendedTtlSeconds": 90,
    "reason": "p99 of quote-to-commit is 88 s",
}


def rendered(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    admin_cli.render_stats(Console(file=buffer, width=200), data)
    return buffer.getvalue()


def test_stats_render_the_advisor_when_present() -> None:
    base = {"quoteToCommitMs": {"samples": 3, "p50": 12_000, "p90": 20_000, "p99": 30_000, "max": 31_000}}
    without = rendered(base)
    assert "p50" in without and "12 s" in without and "TTL advisor" not in without
    text = rendered({**base, "advisor": ADVISOR})
    assert "n=240 over 24 h, 180 bookings, 60 censored (25%)" in text
    assert "p95 57.5 s" in text
    assert "recommended 90 s (current 60 s): p99 of quote-to-commit is 88 s" in text
    row = next(line for line in text.splitlines() if "4.2%" in line)
    assert "60" in row and "current" in row
