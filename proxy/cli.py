"""The `calproxy` command line: one argparse subcommand per registered module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from proxy import admin_cli
from proxy import serve as serve_cli
from proxy.loadtest import cli as loadtest_cli
from proxy.logs import configure_logging
from proxy.sim import cli as sim_cli

# Each subcommand module exposes `add_subparser(subparsers)` and `run(args) -> int`. Register new ones
# (e.g. `serve`, `loadtest`) by adding them here.
SUBCOMMANDS: list[tuple[str, ModuleType]] = [
    ("serve", serve_cli),
    ("sim", sim_cli),
    ("loadtest", loadtest_cli),
    ("admin", admin_cli),
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="calproxy", description="Cal.com API v2 compatible booking proxy")
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS:
        before = set(subparsers.choices)
        module.add_subparser(subparsers)
        for added in set(subparsers.choices) - before:
            subparsers.choices[added].set_defaults(_module=module)
        if name not in subparsers.choices:
            raise RuntimeError(f"subcommand module for {name!r} did not register it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `calproxy` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help(sys.stderr)
        return 2
    configure_logging(args.log_level)
    result = module.run(args)
    return int(result or 0)
