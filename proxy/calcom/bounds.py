"""The bounds calproxy puts on instants and lengths at the edge, before any work is done for a request.

Cal.com takes any date `IsDateString` accepts (years 0000..9999) and any JavaScript integer as a length.
Python's datetime stops at years 1..9999, hold intervals need positive epoch milliseconds, and the work a
request causes grows with the span it names; so every instant a caller sends (slots ranges, quote,
booking, reschedule, reservation, legacy reserve) must lie in one fixed window, and every length in
minutes in 1..MAX_LENGTH_MINUTES. The window is absolute, not relative to "now": the same rule holds in the
simulator and in the proxy, in tests with a fixed clock, and a caller can read the limit in the message.
Refusals use class-validator's own wording (IsDateString, MinDate, MaxDate, Min, Max) so they read like
Cal.com's other 400s and name the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from proxy.calcom.timefmt import format_utc, parse_instant
from proxy.calcom.validation import FieldError

# Far inside Python's and JavaScript's ranges, after the epoch (holds need start_ms >= 0), and wide enough
# for any booking anyone will make: Cal.com's own slots stop one year from now.
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)
# One day: the quote's bound on lengthInMinutes, now also the bound on a booking's lengthInMinutes and on a
# slots query's duration (a slot length that fits no working day offers nothing anyway).
MAX_LENGTH_MINUTES = 1440


def invalid_date(name: str) -> FieldError:
    """class-validator IsDateString's refusal."""
    return FieldError(name, (f"{name} must be a valid ISO 8601 date string",))


def instant_error(name: str, value: object) -> FieldError | None:
    """IsDateString(strict) plus the window [EARLIEST_INSTANT, LATEST_INSTANT]; None when `value` is fine."""
    if not isinstance(value, str):
        return invalid_date(name)
    try:
        instant = parse_instant(value)
    except ValueError:
        return invalid_date(name)
    return window_error(name, instant)


def window_error(name: str, instant: datetime) -> FieldError | None:
    """MinDate/MaxDate against the window, worded as class-validator words them (limits in UTC)."""
    if instant < EARLIEST_INSTANT:
        return FieldError(name, (f"minimal allowed date for {name} is {format_utc(EARLIEST_INSTANT)}",))
    if instant > LATEST_INSTANT:
        return FieldError(name, (f"maximal allowed date for {name} is {format_utc(LATEST_INSTANT)}",))
    return None


def length_error(
    name: str, minutes: int, *, low: int = 1, high: int = MAX_LENGTH_MINUTES
) -> FieldError | None:
    """Min/Max on an integer already known to be one (JSON may carry 2**63 or 1e308 as an "integer")."""
    if minutes < low:
        return FieldError(name, (f"{name} must not be less than {low}",))
    if minutes > high:
        return FieldError(name, (f"{name} must not be greater than {high}",))
    return None
