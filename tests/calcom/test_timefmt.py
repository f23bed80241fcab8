from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from proxy.calcom.timefmt import date_key, format_in_zone, format_utc, is_valid_zone, parse_instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2050-09-05", datetime(2050, 9, 5, tzinfo=UTC)),
        ("2050-09-05T09:00:00Z", datetime(2050, 9, 5, 9, tzinfo=UTC)),
        ("2050-09-05T09:00:00.000Z", datetime(2050, 9, 5, 9, tzinfo=UTC)),
        ("2050-09-05T09:00:00", datetime(2050, 9, 5, 9, tzinfo=UTC)),
        ("2050-09-05T09:00", datetime(2050, 9, 5, 9, tzinfo=UTC)),
        ("2050-09-05T09:00:00+02:00", datetime(2050, 9, 5, 7, tzinfo=UTC)),
        ("2050-09-05T09:00:00-0500", datetime(2050, 9, 5, 14, tzinfo=UTC)),
        ("2050-09-05T09:00:00.123456789Z", datetime(2050, 9, 5, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_instant_accepts(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2026-02-30",
        "2026-02-29T10:00:00Z",
        "2026-13-01",
        "2026-04-31T10:00:00Z",
        "2026-01-01T25:00:00Z",
        "2026-01-01T10:60:00Z",
        "2026-01-01T10:00:00+25:00",
        "2026-1-1",
        "20260101",
        "2026-01-01T10:00:00ZZ",
        "0000-01-01",
        "9999-12-31T23:00:00-05:00",
    ],
)
def test_parse_instant_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_format_utc_has_milliseconds_and_z() -> None:
    dt = datetime(2050, 9, 5, 9, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2)))
    assert format_utc(dt) == "2050-09-05T07:00:00.123Z"


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        (datetime(2050, 9, 5, 7, tzinfo=UTC), "Europe/Berlin", "2050-09-05T09:00:00.000+02:00"),
        (datetime(2050, 1, 5, 8, tzinfo=UTC), "Europe/Berlin", "2050-01-05T09:00:00.000+01:00"),
        (datetime(2050, 1, 5, 14, tzinfo=UTC), "America/New_York", "2050-01-05T09:00:00.000-05:00"),
        (datetime(2050, 1, 5, 9, tzinfo=UTC), "Asia/Kolkata", "2050-01-05T14:30:00.000+05:30"),
        # Luxon: an IANA zone prints its offset even when zero; only its fixed UTC zone prints Z.
        (datetime(2050, 1, 5, 9, tzinfo=UTC), "Europe/London", "2050-01-05T09:00:00.000+00:00"),
        (datetime(2050, 1, 5, 9, tzinfo=UTC), "Etc/UTC", "2050-01-05T09:00:00.000+00:00"),
        (datetime(2050, 1, 5, 9, tzinfo=UTC), "UTC", "2050-01-05T09:00:00.000Z"),
        (datetime(2050, 1, 5, 9, tzinfo=UTC), None, "2050-01-05T09:00:00.000Z"),
    ],
)
def test_format_in_zone_matches_luxon(instant: datetime, zone: str | None, expected: str) -> None:
    assert format_in_zone(instant, zone) == expected


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        (datetime(2050, 9, 5, 23, 30, tzinfo=UTC), None, "2050-09-05"),
        (datetime(2050, 9, 5, 23, 30, tzinfo=UTC), "Europe/Berlin", "2050-09-06"),
        (datetime(2050, 9, 6, 2, 0, tzinfo=UTC), "America/New_York", "2050-09-05"),
    ],
)
def test_date_key_uses_the_zone(instant: datetime, zone: str | None, expected: str) -> None:
    assert date_key(instant, zone) == expected


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Europe/Berlin", True),
        ("America/New_York", True),
        ("UTC", True),
        ("Etc/UTC", True),
        ("Mars/Olympus", False),
        ("../etc/passwd", False),
        ("", False),
        ("Europe/Berlin ", False),
    ],
)
def test_is_valid_zone(name: str, valid: bool) -> None:
    assert is_valid_zone(name) is valid
