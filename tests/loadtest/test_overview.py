"""The configuration block printed before the run: every setting, the servers, the digest, no secret."""

from __future__ import annotations

import json
from datetime import date

from proxy.loadtest.config import API_KEY, Faults, LoadConfig
from proxy.loadtest.overview import FAKEREDIS, Servers, effective, redact_url, render
from proxy.loadtest.population import booking_days

CONFIG = LoadConfig(
    callers=42,
    seed=99,
    time_scale=0.05,
    event_types=(1001, 2001),
    days=3,
    outside_per_min=1.5,
    strategies=("direct-recheck", "proxy"),
    faults=Faults(shift=0.1, error=0.02, rate_limit=60),
)
DAYS = booking_days(date(2026, 11, 23), 3)
STARTED = Servers(
    sim_url="http://127.0.0.1:41001",
    sim_started=True,
    proxy_url="http://127.0.0.1:41002",
    proxy_started=True,
    redis_url="redis://admin:hunter2@127.0.0.1:6379/0?password=hunter3",
)


def _block(servers: Servers = STARTED) -> str:
    return "\n".join(render(effective(CONFIG, servers, DAYS, 17, "0123456789abcdef")))


def test_the_block_names_every_setting_with_its_value() -> None:
    block = _block()
    lines = block.splitlines()
    assert lines[0] == "calproxy loadtest configuration:"
    labels = [line.split("  ")[1].strip() for line in lines[1:]]
    assert labels == [
        "callers",
        "seed",
        "plan digest",
        "time scale",
        "arrivals",
        "outside channel",
        "think time",
        "hold TTL",
        "alternatives",
        "event types",
        "days",
        "strategies",
        "faults",
        "timeouts",
        "simulator",
        "calproxy",
    ]
    for expected in (
        "42 (at most 100 requests in flight)",
        "seed             99",
        "0123456789abcdef",
        "0.05 wall s per simulated s",
        "1.5 bookings/simulated min (17 scheduled)",
        "hold TTL         75 simulated s (3.75 wall s)",
        "1001, 2001",
        "3 weekdays, 2026-12-07..2026-12-09",
        "direct-recheck, proxy",
        "shift 0.1, error 0.02, timeout 0, latency 0 ms, race window 0 ms, rate limit 60 per 60 s",
        "http://127.0.0.1:41001 (started by this run)",
        "http://127.0.0.1:41002 (started by this run, redis redis://admin:***@127.0.0.1:6379/0?password=***)",
    ):
        assert expected in block, expected


def test_no_secret_reaches_the_block_or_the_json() -> None:
    block = _block()
    doc = json.dumps(effective(CONFIG, STARTED, DAYS, 17, "0123456789abcdef"))
    for secret in ("hunter2", "hunter3", API_KEY):
        assert secret not in block
        assert secret not in doc
    assert "\x1b" not in block


def test_given_servers_and_the_default_redis_are_said_so() -> None:
    given = Servers(sim_url="http://127.0.0.1:5555", sim_started=False, proxy_url=None)
    block = _block(given)
    assert "http://127.0.0.1:5555 (given)" in block
    assert "calproxy         not used" in block
    fake = Servers(
        sim_url="http://127.0.0.1:1", sim_started=True, proxy_url="http://127.0.0.1:2", proxy_started=True
    )
    assert f"(started by this run, redis {FAKEREDIS})" in _block(fake)


def test_the_json_form_resolves_defaults() -> None:
    e = effective(CONFIG, STARTED, DAYS, 17, "0123456789abcdef")
    assert e["planDigest"] == "0123456789abcdef"
    assert e["holdTtlS"] == 75.0 and e["holdTtlRealS"] == 3.75
    assert e["days"] == ["2026-12-07", "2026-12-08", "2026-12-09"]
    assert e["servers"]["calproxy"]["redis"].startswith("redis://admin:***@")
    assert json.loads(json.dumps(e)) == e


def test_redact_url_keeps_what_is_not_secret() -> None:
    assert redact_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://h/0?db=1&api_key=k") == "redis://h/0?db=1&api_key=***"
