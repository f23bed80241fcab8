"""`python -m proxy`: the same command line as the `calproxy` script."""

from __future__ import annotations

import sys

from proxy.cli import main

if __name__ == "__main__":
    sys.exit(main())
