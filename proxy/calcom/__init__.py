"""Cal.com API v2 wire format: pure parsing, validation and formatting for the proxy and the simulator."""

from __future__ import annotations
