"""The side-by-side table, the --json document, and the exit-status verdict."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from proxy.loadtest.config import LoadConfig
from proxy.loadtest.runner import StrategyRun
from proxy.loadtest.truth import Figures

Row = tuple[str, Callable[[StrategyRun], str]]


def _fig(name: str) -> Callable[[StrategyRun], str]:
    return lambda run: str(getattr(run.figures, name))


def _lat(op: str) -> Callable[[StrategyRun], str]:
    def cell(run: StrategyRun) -> str:
        s = run.latencies[op]
        if not s["n"]:
            return "-"
        return " / ".join(f"{float(s[q] or 0):.1f}" for q in ("p50", "p95", "p99"))

    return cell


def _pair(name: str, part: str) -> Callable[[StrategyRun], str]:
    return lambda run: f"{getattr(run.figures, name)} ({getattr(run.figures, part)})"


def _errors(run: StrategyRun) -> str:
    kinds = run.figures.hard_errors_by_kind
    detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    return f"{run.figures.hard_errors}" + (f" ({detail})" if detail else "")


ROWS: tuple[Row, ...] = (
    ("callers", _fig("callers")),
    ("offered a slot and said yes", _fig("offered")),
    ("nothing free to offer", _fig("no_offer")),
    ("told 'booked'", _fig("confirmed")),
    ("FALSE confirmations", _fig("false_confirmations")),
    ("DOUBLE bookings (overlapping, one host)", _fig("double_bookings")),
    ("  between two callers", _fig("double_bookings_between_callers")),
    ("  involving the outside channel", _fig("double_bookings_with_outside")),
    ("offered, said yes, then refused", _fig("offered_then_refused")),
    ("  lost to another caller", _fig("lost_to_caller")),
    ("  lost to the outside channel", _fig("lost_to_outside")),
    (
        "    to a person on Cal.com's page (while holding)",
        lambda r: f"{r.figures.lost_to_web} ({r.figures.lost_to_web_while_holding})",
    ),
    (
        "    to a raw API client (while holding)",
        lambda r: f"{r.figures.lost_to_api} ({r.figures.lost_to_api_while_holding})",
    ),
    ("  slot was free (fault, stale view)", _fig("lost_slot_free_when_refused")),
    ("lost to another caller WHILE HOLDING", _fig("lost_to_caller_while_holding")),
    ("hold expired before yes", _fig("hold_expired_before_yes")),
    ("hard errors reaching the caller", _errors),
    ("calendar bookings nobody was told of", _fig("unconfirmed_bookings")),
    ("outside-channel bookings in calendar", _fig("outside_bookings")),
    ("upstream requests (Cal.com)", lambda r: str(r.upstream_requests)),
    ("upstream 429s", lambda r: str(r.upstream_429)),
    ("ask ms p50 / p95 / p99", _lat("ask")),
    ("confirm ms p50 / p95 / p99", _lat("confirm")),
    ("wall time s", lambda r: f"{r.wall_s:.1f}"),
)


def table(runs: Sequence[StrategyRun], *, markdown: bool = False) -> Table:
    """One column per strategy, one row per figure."""
    t = Table(box=box.MARKDOWN if markdown else box.SIMPLE_HEAD, show_edge=not markdown)
    t.add_column("figure")
    for run in runs:
        t.add_column(run.name, justify="right")
    for label, cell in ROWS:
        t.add_row(label, *(cell(run) for run in runs))
    return t


def proxy_failures(runs: Sequence[StrategyRun]) -> list[str]:
    """Why the run fails: the proxy's false confirmations, double bookings, callers lost while holding."""
    failures: list[str] = []
    for run in runs:
        if run.name != "proxy":
            continue
        f: Figures = run.figures
        for label, value in (
            ("false confirmations", f.false_confirmations),
            ("double bookings", f.double_bookings),
            ("callers lost to another caller while holding", f.lost_to_caller_while_holding),
        ):
            if value:
                failures.append(f"proxy: {value} {label}")
    return failures


def document(
    config: LoadConfig, runs: Sequence[StrategyRun], extra: dict[str, Any], *, callers: bool = False
) -> dict[str, Any]:
    """Every figure of the run, for --json; with `callers`, also what each caller was told."""
    return {
        "config": config.as_json(),
        **extra,
        "strategies": {
            run.name: {
                "figures": asdict(run.figures),
                "latencyMs": run.latencies,
                "upstreamRequests": run.upstream_requests,
                "upstream429": run.upstream_429,
                "outside": asdict(run.outside),
                "simStats": run.sim_stats,
                "wallS": round(run.wall_s, 3),
                **({"callers": [o.as_json() for o in run.outcomes]} if callers else {}),
            }
            for run in runs
        },
        "failures": proxy_failures(runs),
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write the document, pretty-printed."""
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")


def print_table(console: Console, runs: Sequence[StrategyRun], *, markdown: bool = False) -> None:
    """The side-by-side table."""
    console.print(table(runs, markdown=markdown))
