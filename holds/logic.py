"""Pure hold logic: interval overlap, TTL clamping and argument validation; no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable

from holds.errors import InvalidHold

UID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether half-open intervals [a_start, a_end) and [b_start, b_end) share at least one instant."""
    return a_start < b_end and b_start < a_end


def clamp_ttl(ttl_ms: int, min_ms: int, max_ms: int) -> int:
    """Clamp a TTL into [min_ms, max_ms]."""
    return max(min_ms, min(max_ms, ttl_ms))


def now_ms(clock: Callable[[], float]) -> int:
    """Milliseconds since the epoch according to a clock that returns seconds (like time.time).

    Rounded, not truncated: 1000.001 s is 1000000.9999999999 ms in binary floating point.
    """
    return round(clock() * 1000)


def check_resource(resource: str) -> None:
    """Reject an empty resource name."""
    if not isinstance(resource, str) or not resource:
        raise InvalidHold("resource must be a non-empty string", resource=str(resource))


def check_owner(resource: str, owner: str) -> None:
    """Reject an empty owner or one containing NUL (NUL separates owner and uid in the owner index)."""
    if not isinstance(owner, str) or not owner or "\0" in owner:
        raise InvalidHold("owner must be a non-empty string without NUL", resource=resource)


def check_uid(resource: str, uid: str) -> None:
    """Reject a uid that is not 1-64 characters of [A-Za-z0-9_-]."""
    if not isinstance(uid, str) or not UID_PATTERN.fullmatch(uid):
        raise InvalidHold("uid must be 1-64 characters of [A-Za-z0-9_-]", resource=resource, uid=str(uid))


def check_interval(resource: str, start_ms: int, end_ms: int) -> None:
    """Reject a negative, empty or reversed interval."""
    if not (isinstance(start_ms, int) and isinstance(end_ms, int)) or start_ms < 0 or end_ms <= start_ms:
        raise InvalidHold(f"need 0 <= start_ms < end_ms, got [{start_ms}, {end_ms})", resource=resource)


def check_positive(resource: str, name: str, value: int) -> None:
    """Reject a duration that is not a positive integer of milliseconds."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidHold(
            f"{name} must be a positive integer of milliseconds, got {value!r}", resource=resource
        )
