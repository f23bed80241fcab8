"""The effective configuration shown before the run and stored in --json. Pure: no I/O, no secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from proxy.loadtest.config import Faults, LoadConfig

REDACTED = "***"
# Query parameters that carry credentials in Redis and HTTP URLs (e.g. redis://host?password=...).
SECRET_PARAMS = ("password", "token", "key", "secret")
FAKEREDIS = "fakeredis (in calproxy's process)"


@dataclass(frozen=True)
class Servers:
    """Where the run's servers listen, and whether this run started them or was given them."""

    sim_url: str
    sim_started: bool
    proxy_url: str | None = None
    proxy_started: bool = False
    redis_url: str | None = None


def redact_url(url: str) -> str:
    """The URL without its password or credential-like query values; the rest stays readable."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(
        [(k, REDACTED if any(s in k.lower() for s in SECRET_PARAMS) else v) for k, v in pairs], safe="*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def servers_json(servers: Servers) -> dict[str, Any]:
    """Each server's URL and origin; Redis only matters for a calproxy this run starts."""
    proxy: dict[str, Any] | None = None
    if servers.proxy_url is not None:
        proxy = {"url": redact_url(servers.proxy_url), "started": servers.proxy_started}
        if servers.proxy_started:
            proxy["redis"] = redact_url(servers.redis_url) if servers.redis_url else FAKEREDIS
    return {
        "simulator": {"url": redact_url(servers.sim_url), "started": servers.sim_started},
        "calproxy": proxy,
    }


def faults_json(f: Faults) -> dict[str, Any]:
    """The simulator's fault settings as configured (simulated seconds), in its control API's names."""
    return {
        "shift": f.shift,
        "error": f.error,
        "timeout": f.timeout,
        "latencyMs": f.latency_ms,
        "raceWindowMs": f.race_window_ms,
        "rateLimit": f.rate_limit,
        "rateLimitWindowS": f.rate_limit_window_s,
    }


def effective(
    config: LoadConfig, servers: Servers, days: Sequence[date], outside_arrivals: int, digest: str
) -> dict[str, Any]:
    """Every setting the run uses, defaults resolved (hold TTL, scaled durations); the JSON form."""
    return {
        "callers": config.callers,
        "seed": config.seed,
        "planDigest": digest,
        "timeScale": config.time_scale,
        "arrivalWindowS": config.arrival_window_s,
        "outsidePerMin": config.outside_per_min,
        "outsideWebShare": config.outside_web_share,
        "mirrorHolds": config.mirror_holds,
        "outsideArrivals": outside_arrivals,
        "thinkMedianS": config.think_median_s,
        "thinkMaxS": config.think_max_s,
        "holdTtlS": config.hold_ttl,
        "holdTtlRealS": round(config.real(config.hold_ttl), 3),
        "alternatives": config.alternatives,
        "eventTypes": list(config.event_types),
        "days": [d.isoformat() for d in days],
        "strategies": list(config.strategies),
        "faults": faults_json(config.faults),
        "concurrency": config.concurrency,
        "requestTimeoutRealS": config.request_timeout_real_s,
        "deadlineRealS": round(config.deadline_real_s, 3),
        "servers": servers_json(servers),
    }


def _server(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "not used"
    origin = "started by this run" if entry["started"] else "given"
    redis = f", redis {entry['redis']}" if "redis" in entry else ""
    return f"{entry['url']} ({origin}{redis})"


def _days(days: Sequence[str]) -> str:
    span = f"{days[0]}..{days[-1]}" if days else "none"
    return f"{len(days)} weekdays, {span}"


def _faults(f: dict[str, Any]) -> str:
    limit = f"{f['rateLimit']} per {f['rateLimitWindowS']:g} s" if f["rateLimit"] else "off"
    return (
        f"shift {f['shift']:g}, error {f['error']:g}, timeout {f['timeout']:g}, latency {f['latencyMs']} ms, "
        f"race window {f['raceWindowMs']} ms, rate limit {limit}"
    )


def rows(e: dict[str, Any]) -> list[tuple[str, str]]:
    """Label and text of each line of the block, in reading order."""
    return [
        ("callers", f"{e['callers']} (at most {e['concurrency']} requests in flight)"),
        ("seed", str(e["seed"])),
        ("plan digest", f"{e['planDigest']} (sha256 of the population and arrival schedule)"),
        ("time scale", f"{e['timeScale']:g} wall s per simulated s"),
        ("arrivals", f"over {e['arrivalWindowS']:g} simulated s"),
        (
            "outside channel",
            f"{e['outsidePerMin']:g} bookings/simulated min ({e['outsideArrivals']} scheduled)",
        ),
        ("think time", f"median {e['thinkMedianS']:g} s, max {e['thinkMaxS']:g} s (simulated)"),
        ("hold TTL", f"{e['holdTtlS']:g} simulated s ({e['holdTtlRealS']:g} wall s)"),
        ("alternatives", str(e["alternatives"])),
        ("event types", ", ".join(map(str, e["eventTypes"]))),
        ("days", _days(e["days"])),
        ("strategies", ", ".join(e["strategies"])),
        ("faults", _faults(e["faults"])),
        ("timeouts", f"{e['requestTimeoutRealS']:g} s per request, {e['deadlineRealS']:g} s per strategy"),
        ("simulator", _server(e["servers"]["simulator"])),
        ("calproxy", _server(e["servers"]["calproxy"])),
    ]


def render(e: dict[str, Any]) -> list[str]:
    """The human-readable block: a heading, then one aligned `label  value` line per setting."""
    table = rows(e)
    width = max(len(label) for label, _ in table)
    return ["calproxy loadtest configuration:"] + [f"  {label:<{width}}  {text}" for label, text in table]
