"""docker-compose.yml and .env.example: what a deployment relies on.

Redis keeps its data (append-only, fsync every second, on a named volume); every service has a healthcheck and
`restart: unless-stopped`; two calproxy replicas share that Redis, wait for it to be healthy and take their
secrets from a .env file that git ignores. There is no Docker engine here: Debian's docker-compose
(installed by scripts/ensure-packages.sh) validates the file with `config`, which needs none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from proxy.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
TENANT_SECRET = "test-tenant-secret-0123456789abcdef"


def load() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def calproxy_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in document["services"].items() if s.get("image", "").startswith("calproxy")}


def test_redis_persists_to_a_named_volume() -> None:
    document = load()
    redis = document["services"]["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options.get("--save") != "", "RDB snapshots must not be switched off beside the AOF"
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data"
    assert volume in document["volumes"], "a named volume, not a path or an anonymous one"
    assert "ping" in " ".join(redis["healthcheck"]["test"])
    assert redis["restart"] == "unless-stopped"


def test_two_calproxy_replicas_on_one_redis() -> None:
    services = calproxy_services(load())
    assert len(services) == 2
    host_ports = set()
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}, name
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
        assert "/readyz" in " ".join(service["healthcheck"]["test"]), name
        assert "curl" not in " ".join(service["healthcheck"]["test"]), "the slim image has no curl"
        env_files = service["env_file"] if isinstance(service["env_file"], list) else [service["env_file"]]
        assert env_files == [".env"], name
        (port,) = service["ports"]
        address, host_port, container_port = port.split(":")
        assert address == "127.0.0.1", f"{name} must not publish on every interface"
        assert container_port == service["environment"]["CALPROXY_PORT"] == "8080"
        host_ports.add(host_port)
    assert len(host_ports) == 2


def test_no_default_secrets_and_dot_env_ignored() -> None:
    text = COMPOSE.read_text(encoding="utf-8") + ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "change-me" not in text.lower()
    for name, service in calproxy_services(load()).items():
        for variable in ("CALPROXY_ADMIN_TOKEN", "CALPROXY_TENANT_SECRET"):
            value = service["environment"][variable]
            assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", value), (
                f"{name}: {variable} must be required"
            )
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    kept = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT, check=False)
    assert kept.returncode == 1, ".env.example must be committed"


def setting_names() -> list[set[str]]:
    """Each setting's environment variables (several for settings such as the port: CALPROXY_PORT, PORT)."""
    names = []
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        names.append({str(choice) for choice in choices} if choices else {f"CALPROXY_{name.upper()}"})
    return names


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            listed[match.group(1)] = number
    settings = setting_names()
    assert not [names for names in settings if not names & set(listed)], "settings missing from .env.example"
    known = set().union(*settings)
    assert set(listed) <= known, f"variables calproxy does not read: {set(listed) - known}"
    for variable, number in listed.items():
        # The explanation stands above the variable, or above the group of variables it belongs to.
        above = number - 1
        while above in listed.values():
            above -= 1
        comment = lines[above]
        assert comment.startswith("# ") and not comment.startswith("# ---"), f"{variable}: no comment"
    # Only comments: an uncommented empty assignment would set a secret to "".
    assert all(line == "" or line.startswith("#") for line in lines)


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(
            "docker-compose is missing: scripts/ensure-packages.sh installs it (Debian docker-compose)"
        )
    return found


def compose_config(tmp_path: Path, env_file: str | None) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on a copy of the file, with `env_file` as its .env (no file when None)."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    # A clean environment: no variable of the test run may fill in what .env does not say.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [docker_compose(), "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    result = compose_config(
        tmp_path, f"CALPROXY_ADMIN_TOKEN={ADMIN_TOKEN}\nCALPROXY_TENANT_SECRET={TENANT_SECRET}\n"
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    for name in calproxy_services(load()):
        environment = resolved["services"][name]["environment"]
        assert environment["CALPROXY_ADMIN_TOKEN"] == ADMIN_TOKEN
        assert environment["CALPROXY_TENANT_SECRET"] == TENANT_SECRET


@pytest.mark.parametrize(
    ("env_file", "missing"),
    [
        (None, "CALPROXY_ADMIN_TOKEN"),
        ("", "CALPROXY_ADMIN_TOKEN"),
        (f"CALPROXY_TENANT_SECRET={TENANT_SECRET}\n", "CALPROXY_ADMIN_TOKEN"),
        (f"CALPROXY_ADMIN_TOKEN={ADMIN_TOKEN}\n", "CALPROXY_TENANT_SECRET"),
        (f"CALPROXY_ADMIN_TOKEN=\nCALPROXY_TENANT_SECRET={TENANT_SECRET}\n", "CALPROXY_ADMIN_TOKEN"),
    ],
    ids=["no-env-file", "empty-file", "no-admin-token", "no-tenant-secret", "empty-admin-token"],
)
def test_docker_compose_refuses_without_the_secrets(
    tmp_path: Path, env_file: str | None, missing: str
) -> None:
    result = compose_config(tmp_path, env_file)
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr, result.stderr
