"""The Dockerfile's properties, read from the file (there is no Docker engine here to build it).

Multi-stage; calproxy installed from uv.lock with --frozen and without the test or plot extras; the runtime
stage runs as a user that is not root, checks /readyz, listens on 0.0.0.0 and leaves the port to PORT or
CALPROXY_PORT.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a continuation line ends the file"
    return [Instruction(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
        else:
            assert instruction.keyword == "ARG", f"{instruction.keyword} before the first FROM"
    return found


def of(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in stage if i.keyword == keyword]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in of(stage, "ENV"):
        for word in shlex.split(args):
            key, _, value = word.partition("=")
            env[key] = value
    return env


def uv_version_of_setup() -> str:
    match = re.search(r"^UV_VERSION=(\S+)$", (ROOT / "scripts" / "setup.sh").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def test_multi_stage_with_named_stages() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    for stage in all_stages:
        assert re.search(r"\sAS\s+\w+$", stage[0].args, re.IGNORECASE), f"unnamed stage: FROM {stage[0].args}"
    default_image = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert default_image and default_image.group(1).startswith("python:3.11-slim")


def test_installs_from_the_lock_without_extras() -> None:
    build, runtime = stages()[0], stages()[-1]
    runs = of(build, "RUN")
    assert any(f"uv=={uv_version_of_setup()}" in run for run in runs), "not the uv that scripts/setup.sh pins"
    assert any("uv.lock" in copy.split() for copy in of(build, "COPY")), "uv.lock is not copied in"
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs
    for sync in syncs:
        words = sync.split()
        assert "--frozen" in words or "--locked" in words, sync
        assert "--no-dev" in words and "--no-editable" in words, sync
        assert not {"--extra", "--all-extras"} & set(words), f"test or plot extras in the image: {sync}"
    unlocked = [run for run in of(runtime, "RUN") if "pip install" in run or "uv " in run]
    assert not unlocked, "installs outside the lock"
    assert any(copy.startswith("--from=build") for copy in of(runtime, "COPY"))


def test_runtime_runs_as_a_user_that_is_not_root() -> None:
    runtime = stages()[-1]
    users = of(runtime, "USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any(f" {user}" in run and "useradd" in run for run in of(runtime, "RUN")), "user not created"
    # Nothing after USER may switch back.
    keywords = [i.keyword for i in runtime]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_healthcheck_asks_readyz_on_the_configured_port() -> None:
    (healthcheck,) = of(stages()[-1], "HEALTHCHECK")
    assert "/readyz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck, "the slim image has neither"
    # The same precedence as proxy/settings.py: CALPROXY_PORT, then PORT, then 8080.
    assert healthcheck.index("CALPROXY_PORT") < healthcheck.index("'PORT'")


def test_port_comes_from_the_environment_and_host_is_every_interface() -> None:
    runtime = stages()[-1]
    command = " ".join(of(runtime, "CMD") + of(runtime, "ENTRYPOINT"))
    assert "calproxy" in command and "serve" in command
    assert "--port" not in command and not re.search(r"\b\d{4,5}\b", command), "a port would override PORT"
    env = env_of(runtime)
    assert "PORT" not in env and "CALPROXY_PORT" not in env
    assert env.get("CALPROXY_HOST") == "0.0.0.0" or "--host 0.0.0.0" in command


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", ".git", ".venv", ".venv-tools"} <= ignored
    needed = {"pyproject.toml", "uv.lock", "README.md", "proxy", "holds"}
    assert not needed & ignored
