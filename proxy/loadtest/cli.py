"""`calproxy loadtest`: options, configuration block, progress, table, --json, --plot and the exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from proxy.loadtest.config import STRATEGIES, Faults, LoadConfig
from proxy.loadtest.overview import render
from proxy.loadtest.plan import canonical_plan
from proxy.loadtest.progress import MODES, Reporter, heartbeat, reporter_for
from proxy.loadtest.report import document, print_table, proxy_failures, write_json
from proxy.loadtest.runner import StrategyRun
from proxy.loadtest.session import Setup, run_all


def add_subparser(subparsers: Any) -> None:
    """Register `loadtest` and its options."""
    p = subparsers.add_parser("loadtest", help="simulated phone callers: direct flows vs calproxy")
    d, f = LoadConfig(), Faults()
    p.add_argument("--callers", type=int, default=d.callers, help=f"number of callers (default {d.callers})")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed of the population and faults")
    p.add_argument("--time-scale", type=float, default=d.time_scale, help="wall seconds per simulated second")
    p.add_argument("--arrival-window", type=float, default=d.arrival_window_s, help="simulated s of arrivals")
    p.add_argument("--think-median", type=float, default=d.think_median_s, help="simulated s")
    p.add_argument("--think-max", type=float, default=d.think_max_s, help="simulated s (long-tail cap)")
    p.add_argument("--event-types", default=",".join(map(str, d.event_types)), help="comma-separated ids")
    p.add_argument("--days", type=int, default=d.days, help="weekdays callers choose from")
    p.add_argument(
        "--outside-per-min", type=float, default=d.outside_per_min, help="outside bookings/sim min"
    )
    p.add_argument(
        "--mirror-holds",
        action="store_true",
        help="calproxy mirrors its holds as Cal.com reservations (CALPROXY_MIRROR_HOLDS=1)",
    )
    p.add_argument(
        "--outside-web-share",
        type=float,
        default=d.outside_web_share,
        help="share of outside bookings made on Cal.com's page (the rest: raw API)",
    )
    p.add_argument("--hold-ttl", type=float, default=None, help="simulated s (default think max + 15)")
    p.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated subset")
    p.add_argument("--shift", type=float, default=f.shift, help="simulator shift-fault rate")
    p.add_argument("--error", type=float, default=f.error, help="simulator 500-fault rate")
    p.add_argument("--timeout", type=float, default=f.timeout, help="simulator hang-fault rate")
    p.add_argument("--latency-ms", type=int, default=f.latency_ms, help="simulator latency (real ms)")
    p.add_argument("--race-window-ms", type=int, default=f.race_window_ms, help="Cal.com check-insert gap")
    p.add_argument("--rate-limit", type=int, default=f.rate_limit, help="requests per window (0 = off)")
    p.add_argument("--rate-limit-window", type=float, default=f.rate_limit_window_s, help="simulated s")
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="max in-flight caller requests")
    p.add_argument("--sim-url", default=None, help="use this simulator instead of starting one")
    p.add_argument("--proxy-url", default=None, help="use this calproxy instead of starting one")
    p.add_argument("--redis-url", default=None, help="Redis for the started calproxy (default fakeredis)")
    p.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    p.add_argument("--json-callers", action="store_true", help="include every caller's outcome in --json")
    p.add_argument("--plot", type=Path, default=None, help="write latency and outcome plots (PNG)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument(
        "--progress",
        choices=MODES,
        default="auto",
        help="auto (default): rich's bar when stderr is a terminal, else plain lines every 5 s or 10%%",
    )
    p.add_argument("--no-progress", action="store_true", help="same as --progress none")


def config_from(args: argparse.Namespace) -> LoadConfig:
    """A LoadConfig from the parsed options."""
    faults = Faults(
        shift=args.shift,
        error=args.error,
        timeout=args.timeout,
        latency_ms=args.latency_ms,
        race_window_ms=args.race_window_ms,
        rate_limit=args.rate_limit,
        rate_limit_window_s=args.rate_limit_window,
    )
    return LoadConfig(
        callers=args.callers,
        seed=args.seed,
        time_scale=args.time_scale,
        arrival_window_s=args.arrival_window,
        think_median_s=args.think_median,
        think_max_s=args.think_max,
        event_types=tuple(int(x) for x in args.event_types.split(",") if x.strip()),
        days=args.days,
        outside_per_min=args.outside_per_min,
        outside_web_share=args.outside_web_share,
        mirror_holds=args.mirror_holds,
        hold_ttl_s=args.hold_ttl,
        faults=faults,
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        concurrency=args.concurrency,
    )


def print_setup(console: Console, setup: Setup) -> None:
    """The configuration block, flushed so it precedes the progress lines in a combined log."""
    for line in render(setup.effective()):
        # out(): no markup, wrapping or highlighting; the block must read the same in a file.
        console.out(line, highlight=False)
    console.file.flush()


async def _run(
    args: argparse.Namespace, config: LoadConfig, console: Console
) -> tuple[Setup, list[StrategyRun]]:
    """Every strategy, with the configuration printed once the servers are up and progress on stderr."""
    mode = "none" if args.no_progress else args.progress
    reporter: Reporter = reporter_for(mode, sys.stderr)
    setups: list[Setup] = []

    def on_ready(setup: Setup) -> None:
        setups.append(setup)
        print_setup(console, setup)

    with reporter:
        beat = asyncio.create_task(heartbeat(reporter))
        try:
            _, runs = await run_all(
                config,
                sim_url=args.sim_url,
                proxy_url=args.proxy_url,
                redis_url=args.redis_url,
                on_start=reporter.start,
                on_ready=on_ready,
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
    return setups[0], runs


def json_extra(setup: Setup, *, with_plan: bool) -> dict[str, Any]:
    """What --json adds to the figures: days, the digest, the effective configuration, maybe the plan."""
    world = setup.world
    extra: dict[str, Any] = {
        "days": [d.isoformat() for d in world.days],
        "planDigest": setup.digest,
        "effective": setup.effective(),
    }
    if with_plan:
        extra["plan"] = canonical_plan(world.population, world.days, world.outside_s)
    return extra


async def _main(args: argparse.Namespace, config: LoadConfig, console: Console) -> int:
    setup, runs = await _run(args, config, console)
    days = f"{setup.world.days[0]}..{setup.world.days[-1]}"
    title = (
        f"calproxy loadtest: {config.callers} callers, seed {config.seed} (plan {setup.digest}), "
        f"time scale {config.time_scale}, event types {','.join(map(str, config.event_types))}, days {days}"
    )
    console.out(title, highlight=False)
    print_table(console, runs, markdown=args.markdown)
    failures = proxy_failures(runs)
    if args.json is not None:
        extra = json_extra(setup, with_plan=args.json_callers)
        write_json(args.json, document(config, runs, extra, callers=args.json_callers))
        console.print(f"json: {args.json}")
    if args.plot is not None:
        from proxy.loadtest.plot import plot

        plot(runs, args.plot, title)
        console.print(f"plot: {args.plot}")
    for failure in failures:
        console.print(f"FAIL {failure}")
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    """Entry point of `calproxy loadtest`."""
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"calproxy loadtest: {exc}", file=sys.stderr)
        return 2
    console = Console(width=max(120, Console().width), highlight=False)
    return asyncio.run(_main(args, config, console))
