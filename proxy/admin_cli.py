"""`calproxy admin`: the operators' command line against a running calproxy's admin API.

    calproxy admin [--url URL] [--token TOKEN] [--json] holds list [--resource R]
    calproxy admin holds release RESERVATION_UID
    calproxy admin ttl show
    calproxy admin ttl set [--default S] [--min S] [--max S] [--override RESOURCE=S ...]
                           [--remove-override RESOURCE ...]
    calproxy admin stats
    calproxy admin reconcile

The URL and token also come from CALPROXY_ADMIN_URL and CALPROXY_ADMIN_TOKEN (this client's own
variables: it does not load the server's settings). Tables by default, the API's `data` as JSON with
`--json`. Exit codes: 0 done, 1 the API refused or could not be reached (one line on stderr), 2 usage.
The token is sent in the Authorization header only; it is never printed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from proxy.settings import AdminClientSettings

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "CALPROXY_ADMIN_URL"
TOKEN_ENV = "CALPROXY_ADMIN_TOKEN"
API = "/calproxy/v1/admin"
# Wide enough for a group reservationUid and local times when output is piped (rich assumes 80).
PIPE_WIDTH = 200


class AdminError(Exception):
    """A refusal or a transport failure, as the one line shown to the operator."""


@dataclass(frozen=True)
class AdminClient:
    """A synchronous client of the admin API (one short-lived connection per command)."""

    base_url: str
    token: str
    timeout_s: float

    def call(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None) -> Any:
        """The answer's `data` (None when it has none); AdminError with the API's own message otherwise."""
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.timeout_s, headers=headers) as client:
                response = client.request(method, API + path, params=params, json=body)
        except httpx.ConnectError as exc:
            raise AdminError(f"cannot connect to calproxy at {self.base_url}: is it running?") from exc
        except httpx.TimeoutException as exc:
            raise AdminError(
                f"calproxy at {self.base_url} did not answer within {self.timeout_s:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise AdminError(f"request to calproxy at {self.base_url} failed: {type(exc).__name__}") from exc
        answer = _json_or_none(response)
        if response.status_code >= 400:
            raise AdminError(f"HTTP {response.status_code}: {_error_message(answer, response)}")
        return answer.get("data") if isinstance(answer, dict) else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(answer: Any, response: httpx.Response) -> str:
    """The message of either Cal.com error shape, on one line."""
    message: Any = None
    if isinstance(answer, dict):
        error = answer.get("error")
        message = error.get("message") if isinstance(error, dict) else answer.get("message")
    if not isinstance(message, str) or not message:
        message = response.reason_phrase or "error"
    return " ".join(message.split())


# ---------------------------------------------------------------------------------------------- parsing


def _seconds(text: str) -> float:
    """argparse type: a finite positive number of seconds (usage error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _override(text: str) -> tuple[str, float]:
    """argparse type: RESOURCE=SECONDS."""
    resource, sep, seconds = text.rpartition("=")
    if not sep or not resource:
        raise argparse.ArgumentTypeError(f"{text!r} must be RESOURCE=SECONDS, e.g. grp:host-1=90")
    return resource, _seconds(seconds)


def _with_json_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    # Accepted after the subcommand too; SUPPRESS keeps an earlier `admin --json` from being reset.
    parser.add_argument("--json", dest="as_json", action="store_true", default=argparse.SUPPRESS)
    return parser


def add_subparser(subparsers: Any) -> None:
    """Register `calproxy admin` and its commands."""
    parser = subparsers.add_parser(
        "admin",
        help="operate a running calproxy: holds, TTL policy, stats, reconciliation",
        description="Operate a running calproxy through its admin API.",
    )
    parser.add_argument("--url", default=None, help=f"calproxy base URL (${URL_ENV}, default {DEFAULT_URL})")
    parser.add_argument("--token", default=None, help=f"admin token (${TOKEN_ENV})")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the API's data as JSON")
    parser.add_argument("--timeout", type=_seconds, default=10.0, help="seconds per request (default 10)")
    commands = parser.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)

    holds = commands.add_parser("holds", help="list or force-release holds").add_subparsers(
        dest="holds_command", metavar="ACTION", required=True
    )
    listing = _with_json_flag(holds.add_parser("list", help="live holds, by resource then start"))
    listing.add_argument("--resource", help="only this resource, e.g. grp:host-1 or et:1001")
    release = _with_json_flag(holds.add_parser("release", help="force-release a hold by reservationUid"))
    release.add_argument("reservation_uid", metavar="RESERVATION_UID")

    ttl = commands.add_parser("ttl", help="show or change the TTL policy").add_subparsers(
        dest="ttl_command", metavar="ACTION", required=True
    )
    _with_json_flag(ttl.add_parser("show", help="the policy every process uses"))
    change = _with_json_flag(ttl.add_parser("set", help="change it (validated whole, applied atomically)"))
    change.add_argument("--default", type=_seconds, metavar="S", help="default TTL in seconds")
    change.add_argument("--min", type=_seconds, metavar="S", help="lower bound in seconds")
    change.add_argument("--max", type=_seconds, metavar="S", help="upper bound in seconds")
    change.add_argument(
        "--override",
        type=_override,
        action="append",
        default=[],
        metavar="RESOURCE=S",
        help="set an override",
    )
    change.add_argument(
        "--remove-override", action="append", default=[], metavar="RESOURCE", help="remove an override"
    )
    _with_json_flag(commands.add_parser("stats", help="quote-to-commit figures and the TTL advisor"))
    _with_json_flag(commands.add_parser("reconcile", help="run reconciliation now and show its report"))


def policy_body(args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body of `ttl set`; only what was given, so the rest of the policy stays as it is."""
    body: dict[str, Any] = {
        name: value
        for name, value in (
            ("defaultSeconds", args.default),
            ("minSeconds", args.min),
            ("maxSeconds", args.max),
        )
        if value is not None
    }
    overrides: dict[str, float | None] = dict(args.override)
    overrides.update({resource: None for resource in args.remove_override})
    if overrides:
        body["overrides"] = overrides
    return body


# -------------------------------------------------------------------------------------------- rendering


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


def _clock(iso: str) -> str:
    """`2026-12-24T09:00:00.000+01:00` as `2026-12-24 09:00:00`; the zone is in its own column."""
    return iso[:19].replace("T", " ")


def render_holds(console: Console, holds: list[dict[str, Any]]) -> None:
    """Holds as a table, local times in the resource's zone."""
    if not holds:
        console.print("No live holds.")
        return
    table = Table(title=f"{len(holds)} live hold(s)", title_justify="left")
    for column in ("reservationUid", "resource", "state", "start", "end", "zone", "UTC start", "left s"):
        table.add_column(
            column,
            no_wrap=column in ("reservationUid", "start", "end", "UTC start"),
            justify="right" if column == "left s" else "left",
        )
    for hold in holds:
        zone = hold["timeZone"] + (" (fallback)" if hold.get("timeZoneSource") == "fallback" else "")
        table.add_row(
            hold.get("reservationUid") or f"({hold['uid']})",
            hold["resource"],
            hold["state"],
            _clock(hold["startLocal"]),
            _clock(hold["endLocal"]),
            zone,
            _clock(hold["start"]),
            f"{hold['remainingSeconds']:g}",
        )
    console.print(table)


def render_policy(console: Console, policy: dict[str, Any]) -> None:
    """The policy: default and bounds, then overrides."""
    table = Table(title="TTL policy (seconds)", title_justify="left")
    table.add_column("setting")
    table.add_column("seconds", justify="right")
    for label, key in (("default", "defaultSeconds"), ("min", "minSeconds"), ("max", "maxSeconds")):
        table.add_row(label, f"{policy[key]:g}")
    for resource, seconds in policy.get("overrides", {}).items():
        table.add_row(f"override {resource}", f"{seconds:g}")
    console.print(table)


def _fmt(value: Any, scale: float = 1.0, suffix: str = "") -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return f"{value / scale:g}{suffix}"
    return str(value)


def render_stats(console: Console, data: dict[str, Any]) -> None:
    """Quote-to-commit figures, this process's contention, and the advisor when the API has one."""
    table = Table(title="Quote to commit", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    q2c = data.get("quoteToCommitMs") or {}
    table.add_row("samples", _fmt(q2c.get("samples")))
    for key in ("p50", "p90", "p95", "p99", "max"):
        if key in q2c:
            table.add_row(key, _fmt(q2c[key], 1000, " s"))
    table.add_row("recommended TTL", _fmt(data.get("recommendedTtlSeconds"), suffix=" s"))
    process = data.get("thisProcess") or {}
    if "contention" in process:
        table.add_row("contention (this process)", f"{process['contention']:.1%}")
    if "holdsNotConverted" in process:
        table.add_row("holds not converted (this process)", _fmt(process["holdsNotConverted"]))
    console.print(table)
    advisor = data.get("advisor")
    if isinstance(advisor, dict):
        render_advisor(console, advisor)


def render_advisor(console: Console, advisor: dict[str, Any]) -> None:
    """The TTL advisor: its data, its recommendation and the trade-off per candidate TTL."""
    window = _fmt(advisor.get("windowSeconds"), 3600, " h")
    share = advisor.get("censoredShare")
    censored = f"{advisor.get('censored')} censored ({share:.0%})" if isinstance(share, int | float) else "-"
    console.print(
        f"TTL advisor: n={_fmt(advisor.get('n'))} over {window}, {_fmt(advisor.get('events'))} bookings, "
        f"{censored}"
    )
    percentiles = advisor.get("percentilesSeconds") or {}
    if percentiles:
        console.print("  " + ", ".join(f"{k} {_fmt(v, suffix=' s')}" for k, v in percentiles.items()))
    recommended = advisor.get("recommendedTtlSeconds")
    current = _fmt(advisor.get("currentTtlSeconds"), suffix=" s")
    verdict = (
        f"recommended {_fmt(recommended, suffix=' s')}" if recommended is not None else "no recommendation"
    )
    reason = advisor.get("reason")
    console.print(f"  {verdict} (current {current})" + (f": {reason}" if reason else ""))
    candidates = advisor.get("candidates") or []
    if not candidates:
        return
    table = Table(title="Trade-off per TTL", title_justify="left")
    for column in ("TTL s", "callers losing their hold", "idle slot-minutes", ""):
        table.add_column(column, justify="right" if column else "left")
    for row in candidates:
        loss = row.get("lossShare")
        table.add_row(
            _fmt(row.get("ttlSeconds")),
            f"{loss:.1%}" if isinstance(loss, int | float) else "-",
            _fmt(row.get("idleSlotMinutes")),
            "current" if row.get("current") else "",
        )
    console.print(table)


def render_reconcile(console: Console, report: dict[str, Any]) -> None:
    """The reconciliation report as figure/value rows."""
    table = Table(title="Reconciliation", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        table.add_row(key, _finding(value))
    console.print(table)


def _finding(value: Any) -> str:
    """A report value: a ratio to three places, a list as its count and first uids."""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:3]) + (", …" if len(value) > 3 else "")
        return f"{len(value)}" + (f" ({shown})" if value else "")
    return _fmt(value)


# ----------------------------------------------------------------------------------------------- running


Action = Callable[[AdminClient], tuple[Any, Callable[[Console, Any], None]]]


def _released(console: Console, data: Any) -> None:
    console.print(f"Released {data['released']}.")


def action_of(args: argparse.Namespace) -> Action:
    """What the parsed command asks for: the API call and how to render its answer."""
    command = args.admin_command
    if command == "holds" and args.holds_command == "list":
        params = {"resource": args.resource} if args.resource else None
        return lambda c: (c.call("GET", "/holds", params=params), render_holds)
    if command == "holds":
        uid = args.reservation_uid
        return lambda c: (c.call("DELETE", f"/holds/{uid}") or {"released": uid}, _released)
    if command == "ttl" and args.ttl_command == "show":
        return lambda c: (c.call("GET", "/ttl-policy"), render_policy)
    if command == "ttl":
        body = policy_body(args)
        return lambda c: (c.call("PUT", "/ttl-policy", body=body), render_policy)
    if command == "stats":
        return lambda c: (c.call("GET", "/stats"), render_stats)
    return lambda c: (c.call("POST", "/reconcile"), render_reconcile)


def _usage(message: str) -> int:
    print(f"calproxy admin: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run one admin command; 0 done, 1 refused or unreachable, 2 usage."""
    if args.admin_command == "ttl" and args.ttl_command == "set" and not policy_body(args):
        return _usage("ttl set needs --default, --min, --max, --override or --remove-override")
    env = AdminClientSettings()
    token = args.token or (env.token.get_secret_value() if env.token else None)
    if not token:
        return _usage(f"no admin token: pass --token or set {TOKEN_ENV}")
    url = (args.url or env.url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        return _usage(f"--url must start with http:// or https://, got {url!r}")
    client = AdminClient(url, token, args.timeout)
    try:
        data, render = action_of(args)(client)
    except AdminError as exc:
        print(f"calproxy admin: {exc}", file=sys.stderr)
        return 1
    if args.as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        render(_console(), data)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m proxy.admin_cli ...` without the top-level parser (same as `calproxy admin ...`)."""
    parser = argparse.ArgumentParser(prog="calproxy")
    add_subparser(parser.add_subparsers(dest="command"))
    return run(parser.parse_args(["admin", *(argv or sys.argv[1:])]))


if __name__ == "__main__":
    raise SystemExit(main())
