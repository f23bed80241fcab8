"""`calproxy loadtest`: simulated phone callers against the simulator, directly and through calproxy."""

from __future__ import annotations
