"""The `calproxy` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `calproxy` console script."""
    del argv
    print("calproxy: not yet implemented", file=sys.stderr)
    return 2
