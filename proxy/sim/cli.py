"""`calproxy sim`: run the Cal.com simulator as a server."""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from proxy.logs import get_logger
from proxy.sim.app import create_sim_app
from proxy.sim.config import DEFAULT_RATE_LIMIT, SimConfig
from proxy.sim.faults import parse_fault_spec
from proxy.sim.seed import load_seed

log = get_logger(__name__)


def _faults(value: str) -> Any:
    try:
        return parse_fault_spec(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_subparser(subparsers: Any) -> None:
    """Register `sim` and its options."""
    parser = subparsers.add_parser("sim", help="run the Cal.com API v2 simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5555)
    parser.add_argument(
        "--seed-file", default=None, help="JSON seed (same shape as proxy/sim/default_seed.json)"
    )
    parser.add_argument(
        "--race-window-ms", type=int, default=0, help="delay between availability check and insert"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every /v2 request")
    parser.add_argument(
        "--faults", type=_faults, default=None, help="shift=R,error=R,timeout=R with rates 0..1"
    )
    parser.add_argument(
        "--fault-seed", type=int, default=None, help="seed of the fault RNG (reproducible runs)"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=DEFAULT_RATE_LIMIT, help="requests per window; 0 = off"
    )
    parser.add_argument("--rate-limit-window-s", type=float, default=60.0)
    parser.add_argument(
        "--slots-cache-ms",
        type=int,
        default=0,
        help="keep each slots answer this long, as Cal.com does (its default: 2000); 0 = off",
    )


def build_config(args: argparse.Namespace) -> SimConfig:
    """Turn parsed CLI arguments into a SimConfig."""
    config = SimConfig(
        seed=load_seed(args.seed_file),
        race_window_ms=args.race_window_ms,
        latency_ms=args.latency_ms,
        fault_seed=args.fault_seed,
        rate_limit=args.rate_limit,
        rate_limit_window_s=args.rate_limit_window_s,
        slots_cache_ms=max(0, args.slots_cache_ms),
    )
    if args.faults is not None:
        config.faults = args.faults
    return config


def run(args: argparse.Namespace) -> int:
    """Serve the simulator until interrupted."""
    config = build_config(args)
    log.info(
        "sim_start",
        host=args.host,
        port=args.port,
        faults=config.faults.as_dict(),
        race_window_ms=config.race_window_ms,
        rate_limit=config.rate_limit,
    )
    web.run_app(
        create_sim_app(config),
        host=args.host,
        port=args.port,
        shutdown_timeout=1.0,
        print=None,
        access_log=None,
    )
    return 0
