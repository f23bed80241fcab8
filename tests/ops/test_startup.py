"""Start-up that explains itself: one line and exit 2 for what a person must fix, warnings for the rest."""

from __future__ import annotations

import socket

import httpx
import pytest

from proxy.serve import startup_warnings
from proxy.settings import BUILT_IN_TENANT_SECRET, Settings
from tests.ops.support import clean_env, free_port, run_cli, serving, wait_ready

# (flags, environment, what the one line must name)
BAD_CONFIGURATIONS = [
    (["--port", "96646"], {}, "--port"),
    (["--port", "-1"], {}, "--port"),
    (["--port", "eighty"], {}, "--port"),
    ([], {"PORT": "70000"}, "PORT"),
    ([], {"CALPROXY_PORT": "65536"}, "CALPROXY_PORT"),
    (["--upstream", "api.cal.com"], {}, "--upstream"),
    ([], {"CALPROXY_UPSTREAM_URL": "ftp://api.cal.com"}, "CALPROXY_UPSTREAM_URL"),
    (["--redis", "localhost:6379"], {}, "--redis"),
    ([], {"CALPROXY_RESOURCE_GROUPS": "{1001: host"}, "CALPROXY_RESOURCE_GROUPS"),
    ([], {"CALPROXY_HOLD_TTL_MIN_S": "100", "CALPROXY_HOLD_TTL_MAX_S": "50"}, "CALPROXY_HOLD_TTL_MIN_S"),
    ([], {"CALPROXY_HOLD_TTL_DEFAULT_S": "900"}, "CALPROXY_HOLD_TTL_DEFAULT_S"),
    ([], {"CALPROXY_SNAPSHOT_TTL_S": "soon"}, "CALPROXY_SNAPSHOT_TTL_S"),
    ([], {"CALPROXY_RESOURCE_FILE": "/nonexistent/resources.json"}, "CALPROXY_RESOURCE_FILE"),
]


@pytest.mark.parametrize(("flags", "env", "names"), BAD_CONFIGURATIONS)
async def test_bad_configuration_is_one_line_and_exit_2(
    flags: list[str], env: dict[str, str], names: str
) -> None:
    code, out, err = await run_cli("serve", *flags, env=clean_env(**env))
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("calproxy: error: ") and names in lines[0], lines[0]
    assert "Traceback" not in err and "admin token" not in out  # nothing started before the refusal


async def test_the_message_names_values_in_seconds() -> None:
    _, _, err = await run_cli("serve", env=clean_env(CALPROXY_HOLD_TTL_DEFAULT_S="900"))
    assert "(900 s)" in err and "CALPROXY_HOLD_TTL_MAX_S (600 s)" in err


async def test_port_in_use_is_one_line_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = await run_cli("serve", "--port", str(port))
    assert code == 2
    assert err.strip() == f"calproxy: error: 127.0.0.1:{port} is in use (--port)"
    assert out == ""  # no admin token printed, no simulator started


async def test_unreachable_redis_and_refused_upstream_warn_and_readyz_names_them() -> None:
    dead = free_port()  # nothing listens there: connection refused
    env = clean_env(CALPROXY_ADMIN_TOKEN="x" * 32, CALPROXY_TENANT_SECRET="s" * 32)
    args = ("--redis", f"redis://127.0.0.1:{dead}/0", "--upstream", f"http://127.0.0.1:{dead}")
    async with serving(*args, env=env) as served:
        ready = await wait_ready(served.url, want=503)
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "redis": "down", "upstream": "down"}
        warnings = [line for line in served.stdout if line.startswith("calproxy: warning:")]
        assert any("Redis does not answer" in w for w in warnings), served.stdout
        assert any("Cal.com (the upstream) does not answer" in w for w in warnings), served.stdout


async def test_embedded_default_is_ready_without_warnings() -> None:
    async with serving() as served:
        ready = await wait_ready(served.url)
        assert ready.json() == {"status": "ok", "redis": "up", "upstream": "up"}
        assert not [line for line in served.stdout if "warning" in line], served.stdout


async def test_serve_keeps_what_start_up_built_out_of_full_garbage_collections() -> None:
    """`calproxy serve` freezes its start-up heap (a full pass over it stopped requests for about 50 ms under
    load); /metrics says how much it froze."""
    async with serving() as served, httpx.AsyncClient(base_url=served.url) as client:
        await wait_ready(served.url)
        text = (await client.get("/metrics")).text
    frozen = [line for line in text.splitlines() if line.startswith("calproxy_gc_frozen_objects ")]
    assert len(frozen) == 1, text[:500]
    assert float(frozen[0].split()[1]) > 10_000


def test_weak_secrets_in_front_of_a_real_upstream_are_warned() -> None:
    weak = Settings(upstream_url="https://api.cal.com", admin_token="short")
    messages = startup_warnings(weak, embedded_upstream=False)
    assert any("CALPROXY_TENANT_SECRET" in m for m in messages)
    assert any("CALPROXY_ADMIN_TOKEN is shorter than 24" in m for m in messages)
    strong = Settings(upstream_url="https://api.cal.com", admin_token="t" * 24, tenant_secret="s" * 32)
    assert startup_warnings(strong, embedded_upstream=False) == []
    # The built-in secret is fine for the embedded simulator, where nothing real is at stake.
    assert startup_warnings(Settings(), embedded_upstream=True) == []
    assert Settings().tenant_secret.get_secret_value() == BUILT_IN_TENANT_SECRET


def test_empty_secrets_are_unset_not_a_password() -> None:
    # An empty admin token must not match a request without Authorization: it means "no token".
    assert Settings(admin_token="", upstream_api_key="  ").admin_token is None
    assert Settings(upstream_api_key="  ").upstream_api_key is None


async def test_empty_tenant_secret_is_one_line_and_exit_2() -> None:
    code, _, err = await run_cli("serve", env=clean_env(CALPROXY_TENANT_SECRET=""))
    assert code == 2 and "CALPROXY_TENANT_SECRET: must not be empty" in err, err
