"""holds: interval slot holds on Redis, one atomic script per operation."""

from __future__ import annotations

__all__: list[str] = []
