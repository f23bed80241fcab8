"""The Procfile works on a fresh clone after scripts/setup.sh: `honcho start` brings calproxy up on PORT.

honcho runs from the project root (as a person would), with an empty env file so that a .env is not read,
and with a clean environment: PORT set to a free loopback port, CALPROXY_HOST=127.0.0.1. It is stopped by PID
(SIGTERM, then its process group); the calproxy it started, which honcho puts in a session of its own, must be
gone afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.support import clean_env, free_port

ROOT = Path(__file__).resolve().parents[2]
HONCHO = ROOT / ".venv" / "bin" / "honcho"
READY_WITHIN_S = 30.0
STOP_WITHIN_S = 15.0


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def ready_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to honcho (it stops its children), then SIGKILL to its process group if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def honcho(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    assert HONCHO.exists(), f"{HONCHO} is missing: run scripts/setup.sh"
    port = free_port()
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(HONCHO), "--no-colour", "-e", str(empty_env_file), "start"],
            cwd=ROOT,
            env=clean_env(PORT=str(port), CALPROXY_HOST="127.0.0.1", PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port, log
    finally:
        stop(process)
        # honcho starts each Procfile process in a session of its own; none may outlive it.
        leftovers = [pid for pid in started_pids(log) if alive(pid)]
        for pid in leftovers:
            os.killpg(pid, signal.SIGKILL)
        assert not leftovers, f"processes left running after honcho stopped: {leftovers}"


def started_pids(log: Path) -> list[int]:
    return [int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", log.read_text(errors="replace"))]


def test_honcho_start_serves_readyz_on_port(honcho: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    process, port, log = honcho
    url = f"http://127.0.0.1:{port}/readyz"
    deadline = time.monotonic() + READY_WITHIN_S
    status = None
    while time.monotonic() < deadline and process.poll() is None:
        status = ready_status(url)
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, f"/readyz answered {status}; honcho said:\n{log.read_text(errors='replace')}"
    assert len(started_pids(log)) == 1

    stop(process)
    output = log.read_text(errors="replace")
    assert "web.1 stopped" in output, output
    assert ready_status(url) is None, "still listening after honcho stopped"
