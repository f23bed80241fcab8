"""The `cal-api-version` header: known values and Cal.com's fallback rule."""

from __future__ import annotations

from collections.abc import Mapping

HEADER = "cal-api-version"
V2024_04_15 = "2024-04-15"
V2024_06_11 = "2024-06-11"
V2024_06_14 = "2024-06-14"
V2024_08_13 = "2024-08-13"
V2024_09_04 = "2024-09-04"
V2026_02_25 = "2026-02-25"
KNOWN_VERSIONS: frozenset[str] = frozenset(
    {V2024_04_15, V2024_06_11, V2024_06_14, V2024_08_13, V2024_09_04, V2026_02_25}
)
DEFAULT_VERSION = V2024_04_15
# Versions served by the older slots controller (GET /v2/slots/available, POST /v2/slots/reserve, ...).
LEGACY_SLOTS_VERSIONS: frozenset[str] = frozenset({V2024_04_15, V2024_06_11, V2024_06_14, V2024_08_13})
# Versions that take the 2024-08-13 booking body (2026-02-25 reuses the same input and output types).
BOOKING_VERSIONS: frozenset[str] = frozenset({V2024_08_13, V2026_02_25})


def resolve_version(value: str | None) -> str:
    """Return the version Cal.com selects: the header if known, else 2024-04-15 (missing or unknown)."""
    if value is not None and value.strip() in KNOWN_VERSIONS:
        return value.strip()
    return DEFAULT_VERSION


def request_version(headers: Mapping[str, str]) -> str:
    """Resolve the version from a request's headers (case-insensitive mapping)."""
    return resolve_version(headers.get(HEADER))
