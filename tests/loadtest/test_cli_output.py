"""`calproxy loadtest` into a pipe, as in CI: configuration first, plain progress lines, digest in JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from proxy.loadtest.config import LoadConfig
from proxy.loadtest.session import build_world, world_digest

pytestmark = pytest.mark.slow

ARGS = ["--callers", "12", "--seed", "5", "--time-scale", "0.003", "--days", "2", "--strategies", "proxy"]
PROGRESS = re.compile(r"^progress: proxy (\d+)/12 callers done, \d+ booked, elapsed \d+\.\d s$")


def test_a_piped_run_prints_the_configuration_then_progress_lines_and_no_ansi(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    # stderr joins stdout, as in a CI log: the order of the two streams is checked too.
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "loadtest", *ARGS, "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "\x1b" not in done.stdout and "\r" not in done.stdout
    lines = done.stdout.splitlines()
    start = lines.index("calproxy loadtest configuration:")
    progress = [i for i, line in enumerate(lines) if PROGRESS.match(line)]
    title = next(i for i, line in enumerate(lines) if line.startswith("calproxy loadtest: 12 callers"))
    assert start < progress[0] and progress[-1] < title
    assert lines[progress[-1]].startswith("progress: proxy 12/12 callers done")
    assert len(progress) <= 1 + 10 + 90 // 5

    expected = world_digest(build_world(LoadConfig(callers=12, seed=5, days=2)))
    block = "\n".join(lines[start : progress[0]])
    assert f"plan digest      {expected} " in block
    assert "(started by this run, redis fakeredis (in calproxy's process))" in block
    doc = json.loads(out.read_text())
    assert doc["planDigest"] == expected
    assert doc["effective"]["planDigest"] == expected
    assert doc["effective"]["callers"] == 12 and doc["effective"]["strategies"] == ["proxy"]
    assert doc["effective"]["servers"]["simulator"]["started"] is True
