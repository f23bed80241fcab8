"""The edge bounds on instants, lengths and slot ranges, and the days Cal.com may offer slots on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proxy.calcom.bookings import parse_create_booking
from proxy.calcom.bounds import instant_error, length_error
from proxy.calcom.errors import BadRequest, ValidationFailed
from proxy.calcom.reservations import parse_legacy_reserve, parse_reserve_slot
from proxy.calcom.slots import parse_available_query, parse_slots_query, range_error, slots_horizon
from proxy.calcom.validation import FieldError, parse_int_param
from proxy.slotmath import DAY_MS, bookable_days
from proxy.snapshot import closed_days, open_days

INVALID = "must be a valid ISO 8601 date string"
TOO_EARLY = "minimal allowed date for start is 2000-01-01T00:00:00.000Z"
TOO_LATE = "maximal allowed date for start is 2100-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2000-01-01T00:00:00Z", None),
        ("2100-01-01T00:00:00Z", None),
        ("2050-09-05", None),
        ("2000-01-01T00:30:00+01:00", TOO_EARLY),  # 1999-12-31T23:30Z
        ("1999-12-31T23:59:59.999Z", TOO_EARLY),
        ("1970-01-01T00:00:00Z", TOO_EARLY),
        ("0001-01-01T00:00:00Z", TOO_EARLY),
        ("0000-01-01", "start " + INVALID),  # no year 0 in Python
        ("2100-01-01T00:00:00.001Z", TOO_LATE),
        ("9999-12-31T23:30:00Z", TOO_LATE),
        ("9999-12-31T23:59:59-12:00", "start " + INVALID),  # past datetime.max in UTC
        ("2030-02-30", "start " + INVALID),
        (17, "start " + INVALID),
        (None, "start " + INVALID),
    ],
)
def test_instant_window(value: object, message: str | None) -> None:
    error = instant_error("start", value)
    assert (error.constraints[0] if error else None) == message
    assert error is None or error.property == "start"


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (1, None),
        (1440, None),
        (0, "lengthInMinutes must not be less than 1"),
        (-5, "lengthInMinutes must not be less than 1"),
        (1441, "lengthInMinutes must not be greater than 1440"),
        (2**63, "lengthInMinutes must not be greater than 1440"),
        (int(1e308), "lengthInMinutes must not be greater than 1440"),
    ],
)
def test_length_bounds(minutes: int, expected: str | None) -> None:
    assert length_error("lengthInMinutes", minutes) == (
        None if expected is None else FieldError("lengthInMinutes", (expected,))
    )


def test_range_bound() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert range_error(start, datetime(2030, 2, 1, tzinfo=UTC), 31) is None
    assert range_error(start, datetime(2030, 2, 1, 0, 0, 1, tzinfo=UTC), 31) == (
        "Invalid time range given - 'start' and 'end' may be at most 31 days apart."
    )
    assert range_error(start, datetime(2030, 1, 3, tzinfo=UTC), 1) == (
        "Invalid time range given - 'start' and 'end' may be at most 1 day apart."
    )


@pytest.mark.parametrize(
    ("now", "horizon"),
    [
        (datetime(2026, 12, 4, 14, 0, tzinfo=UTC), datetime(2027, 12, 4, 14, 0, tzinfo=UTC)),
        (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), datetime(2029, 2, 28, 9, 0, tzinfo=UTC)),  # dayjs
    ],
)
def test_slots_horizon_is_one_year_as_dayjs_adds_it(now: datetime, horizon: datetime) -> None:
    assert slots_horizon(now) == horizon


def test_bookable_days_are_today_to_the_horizon() -> None:
    now_ms = 100 * DAY_MS + 5 * 3_600_000  # day 100, 05:00
    horizon_ms = 465 * DAY_MS + 5 * 3_600_000
    assert bookable_days([98, 99, 100, 101, 465, 466], now_ms, horizon_ms) == [100, 101, 465]


def test_open_and_closed_days_split_a_range_at_now_and_one_year() -> None:
    now = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    now_ms = int(now.timestamp() * 1000)
    today = now_ms // DAY_MS
    days = [today - 1, today, today + 365, today + 366]
    assert open_days(days, now_ms) == [today, today + 365]
    closed = closed_days(days, now_ms)
    assert sorted(closed) == [today - 1, today + 366]
    assert all(d.starts == () and d.length_ms is None for d in closed.values())


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("12abc", 12),
        ("²", None),
        ("1²", 1),
        ("9" * 309, int("9" * 309)),
        ("9" * 310, None),
    ],
)
def test_parse_int_param_stays_finite(raw: str, value: int | None) -> None:
    assert parse_int_param(raw) == value


def _message(call: Any) -> str:
    """The refusal's text: the message, or for the global ValidationPipe's shape (reservation bodies) every
    constraint of every ValidationError, joined."""
    with pytest.raises(BadRequest) as caught:
        call()
    error = caught.value
    if isinstance(error, ValidationFailed):
        return " ".join(v for e in error.errors for v in e["constraints"].values())
    return error.message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"eventTypeId": "1", "start": "2030-01-01", "end": "2030-01-01", "duration": "1441"},
            "duration property is wrong,duration must not be greater than 1440 ",
        ),
        (
            {"eventTypeId": "1", "start": "2030-01-01", "end": "2030-01-01", "duration": "-1"},
            "duration property is wrong,duration must not be less than 1 ",
        ),
        (
            {"eventTypeId": "1", "start": "1970-01-01", "end": "2030-01-01"},
            "start property is wrong,minimal allowed date for start is 2000-01-01T00:00:00.000Z ",
        ),
    ],
)
def test_slots_query_bounds(query: dict[str, str], message: str) -> None:
    assert _message(lambda: parse_slots_query(query)) == message


def test_slots_query_keeps_a_zero_duration_as_no_duration() -> None:
    query = parse_slots_query(
        {"eventTypeId": "1", "start": "2030-01-01", "end": "2030-01-01", "duration": "0"}
    )
    assert query.duration == 0


def test_legacy_slots_query_bounds() -> None:
    query = {"eventTypeId": "1", "startTime": "2030-01-01", "endTime": "9999-12-31T23:30:00Z"}
    assert _message(lambda: parse_available_query(query)) == (
        "endTime property is wrong,maximal allowed date for endTime is 2100-01-01T00:00:00.000Z "
    )


BOOKING = {
    "start": "2030-09-02T09:00:00Z",
    "eventTypeId": 1001,
    "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/Berlin"},
}
LOCATION = "location property is wrong,location must be one of the event type locations "


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"location": {"type": {}}}, LOCATION),
        ({"location": {"type": []}}, LOCATION),
        ({"location": {"type": 5}}, LOCATION),
        ({"location": {}}, LOCATION),
        ({"location": [1]}, LOCATION),
        ({"location": 5.5}, LOCATION),
        (
            {"lengthInMinutes": 2**63},
            "lengthInMinutes property is wrong,lengthInMinutes must not be greater than 1440 ",
        ),
        (
            {"lengthInMinutes": 1e308},
            "lengthInMinutes property is wrong,lengthInMinutes must not be greater than 1440 ",
        ),
        (
            {"lengthInMinutes": 0},
            "lengthInMinutes property is wrong,lengthInMinutes must not be less than 1 ",
        ),
        ({"start": "0001-01-01T00:00:00Z"}, "start property is wrong," + TOO_EARLY + " "),
        ({"start": "9999-12-31T23:30:00Z"}, "start property is wrong," + TOO_LATE + " "),
    ],
)
def test_booking_body_bounds(changes: dict[str, Any], message: str) -> None:
    assert _message(lambda: parse_create_booking({**BOOKING, **changes})) == message


def test_booking_accepts_a_known_location_type() -> None:
    assert parse_create_booking({**BOOKING, "location": {"type": "link"}}).location == {"type": "link"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slotStart": "9999-12-31T23:30:00Z"}, "maximal allowed date for slotStart"),
        ({"slotDuration": 2**63}, "slotDuration must not be greater than 1440"),
        ({"reservationDuration": 1e308}, "reservationDuration must not be greater than 527040"),
    ],
)
def test_reservation_body_bounds(changes: dict[str, Any], message: str) -> None:
    body = {"eventTypeId": 1001, "slotStart": "2030-09-02T09:00:00Z", **changes}
    assert message in _message(lambda: parse_reserve_slot(body, authenticated=True))


def test_legacy_reserve_bounds() -> None:
    body = {"eventTypeId": 1001, "slotUtcStartDate": "1970-01-01T00:00:00Z", "slotUtcEndDate": "9999-12-31"}
    assert _message(lambda: parse_legacy_reserve(body)) == (
        "minimal allowed date for slotUtcStartDate is 2000-01-01T00:00:00.000Z "
        "maximal allowed date for slotUtcEndDate is 2100-01-01T00:00:00.000Z"
    )
