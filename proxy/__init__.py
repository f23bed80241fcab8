"""calproxy: a Cal.com API v2 compatible proxy that holds quoted slots and verifies every booking."""

from __future__ import annotations

__all__: list[str] = []
