"""Instants as Cal.com parses and prints them (class-validator IsDateString, JS toISOString, Luxon toISO)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Calendar dates with an optional time of day, fraction and offset; the forms Cal.com's strict
# IsDateString accepts and that Luxon's fromISO reads the same way.
_ISO_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>[zZ]|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_ZONE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*$")
# Luxon turns these zone strings into its fixed UTC zone, the only case where toISO() prints "Z".
_LUXON_FIXED_UTC = frozenset({"utc", "gmt"})


def _offset(spec: str) -> timezone:
    if spec in ("z", "Z"):
        return UTC
    sign = -1 if spec[0] == "-" else 1
    digits = spec[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or "0")
    if hours > 23 or minutes > 59:
        raise ValueError(f"invalid offset: {spec!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_instant(value: str) -> datetime:
    """Parse a strict ISO-8601 instant; a date alone is 00:00Z, no offset means UTC; ValueError if invalid."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    match = _ISO_RE.match(value)
    if match is None:
        raise ValueError(f"not an ISO-8601 date: {value!r}")
    parts = match.groupdict()
    fraction = (parts["f"] or "0")[:6].ljust(6, "0")
    tz = _offset(parts["tz"]) if parts["tz"] else UTC
    # datetime() rejects impossible dates such as 2026-02-30 and hours such as 25.
    parsed = datetime(
        int(parts["y"]),
        int(parts["mo"]),
        int(parts["d"]),
        int(parts["h"] or 0),
        int(parts["mi"] or 0),
        int(parts["s"] or 0),
        int(fraction),
        tzinfo=tz,
    )
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"date out of range: {value!r}") from exc


def is_bare_date(value: str) -> bool:
    """True for a calendar date without a time of day (`2050-09-05`)."""
    return len(value) == 10 and _ISO_RE.match(value) is not None


def _millis(dt: datetime) -> str:
    return f"{dt.microsecond // 1000:03d}"


def from_ms(ms: int) -> datetime:
    """An epoch-millisecond instant as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def format_ms(ms: int, tz: str | None = None) -> str:
    """An epoch-millisecond instant formatted as Cal.com does in zone `tz` (None: UTC with `Z`)."""
    return format_in_zone(from_ms(ms), tz)


def format_utc(dt: datetime) -> str:
    """Format like JS Date.toISOString(): `2050-09-05T07:00:00.000Z`."""
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + _millis(utc) + "Z"


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_valid_zone(name: str) -> bool:
    """True if `name` is an IANA time zone this machine knows."""
    if not isinstance(name, str) or not _ZONE_NAME_RE.match(name):
        return False
    if name.lower() in _LUXON_FIXED_UTC:
        return True
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def format_in_zone(dt: datetime, tz: str | None) -> str:
    """Format like Luxon `DateTime.setZone(tz).toISO()`; None gives format_utc."""
    if tz is None:
        return format_utc(dt)
    if tz.lower() in _LUXON_FIXED_UTC:
        # Luxon's FixedOffsetZone.utcInstance is "universal", so toISO() ends in "Z".
        return format_utc(dt)
    local = dt.astimezone(_zone(tz))
    offset = local.utcoffset() or timedelta(0)
    # Luxon prints IANA zones with a numeric offset even when it is zero (Europe/London in winter: +00:00).
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + _millis(local) + f"{sign}{hours:02d}:{minutes:02d}"


def local_date(dt: datetime, tz: str | None) -> date:
    """The calendar date of `dt` in zone `tz` (None or a Luxon UTC name means UTC)."""
    if tz is None or tz.lower() in _LUXON_FIXED_UTC:
        return dt.astimezone(UTC).date()
    return dt.astimezone(_zone(tz)).date()


def date_key(dt: datetime, tz: str | None) -> str:
    """`YYYY-MM-DD` of `dt` in zone `tz`, as Intl.DateTimeFormat("fr-CA") prints it."""
    return local_date(dt, tz).isoformat()


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a name already checked with is_valid_zone."""
    return _zone(name)
