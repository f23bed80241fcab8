from __future__ import annotations

from typing import Any

import pytest

from proxy.calcom.bookings import parse_cancel, parse_create_booking, parse_reschedule
from proxy.calcom.errors import BadRequest, Unauthorized
from proxy.calcom.reservations import (
    AUTH_ONLY_DURATION,
    parse_legacy_reserve,
    parse_reserve_slot,
    reservation_output,
    reserved_slot_output,
)

ATTENDEE = {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/Berlin"}


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"start": "2050-09-05T07:00:00Z", "eventTypeId": 1001, "attendee": dict(ATTENDEE)}
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "Body is required"),
        ([1, 2], "Body should be an object"),
        ("text", "Body should be an object"),
        (_body(foo=1), "foo property is wrong,property foo should not exist "),
        (
            _body(foo=1, bar=2),
            "foo property is wrong,property foo should not exist , "
            "bar property is wrong,property bar should not exist ",
        ),
        (
            _body(start="2026-02-30T10:00:00Z"),
            "start property is wrong,start must be a valid ISO 8601 date string ",
        ),
        (_body(start=None), "start property is wrong,start must be a valid ISO 8601 date string "),
        (_body(start=1234), "start property is wrong,start must be a valid ISO 8601 date string "),
        (_body(eventTypeId="1001"), "eventTypeId property is wrong,eventTypeId must be an integer number "),
        (
            _body(lengthInMinutes=30.5),
            "lengthInMinutes property is wrong,lengthInMinutes must be an integer number ",
        ),
        (
            _body(attendee={"name": "Ada", "email": "ada@example.com", "timeZone": "Mars/Base"}),
            "attendee property is wrong, timeZone property is wrong,timeZone must be a valid IANA time-zone ",
        ),
        (
            _body(attendee={**ATTENDEE, "age": 3}),
            "attendee property is wrong, age property is wrong,property age should not exist ",
        ),
        (
            _body(attendee={"name": "Ada", "timeZone": "Europe/Berlin"}),
            "attendee property is wrong, attendee email or phone property is wrong,"
            "Attendee must have at least one contact method (email or phone number) ",
        ),
        (
            _body(eventTypeId=None),
            "eventTypeId or eventTypeSlug + username property is wrong,"
            "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided ",
        ),
        (
            _body(eventTypeId=None, eventTypeSlug="x"),
            "eventTypeId or eventTypeSlug + username property is wrong,"
            "Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided ",
        ),
        (
            _body(metadata={f"k{i}": "v" for i in range(51)}),
            "metadata property is wrong,Metadata must have at most 50 keys, each key up to 40 characters, "
            "and string values up to 500 characters. ",
        ),
        (
            _body(metadata={"k" * 41: "v"}),
            "metadata property is wrong,Metadata must have at most 50 keys, each key up to 40 characters, "
            "and string values up to 500 characters. ",
        ),
        (
            _body(metadata={"k": "v" * 501}),
            "metadata property is wrong,Metadata must have at most 50 keys, each key up to 40 characters, "
            "and string values up to 500 characters. ",
        ),
        (_body(guests=[7]), "guests property is wrong,each value in guests must be a string "),
        (
            _body(guests="g@example.com"),
            "guests property is wrong,guests must be an array ",
        ),
    ],
)
def test_create_booking_messages(body: object, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_create_booking(body)
    assert info.value.message == message
    assert info.value.status == 400


def test_create_booking_accepts_offsetless_start_as_utc_and_limits() -> None:
    parsed = parse_create_booking(
        _body(
            start="2050-09-05T09:00:00", metadata={f"k{i}": "v" * 500 for i in range(50)}, lengthInMinutes=30
        )
    )
    assert parsed.start.isoformat() == "2050-09-05T09:00:00+00:00"
    assert parsed.attendee.language == "en"
    assert parsed.length_in_minutes == 30


def test_phone_only_attendee_is_enough() -> None:
    parsed = parse_create_booking(
        _body(attendee={"name": "Bo", "phoneNumber": "+4915112345678", "timeZone": "UTC"})
    )
    assert parsed.attendee.phone_number == "+4915112345678"
    assert parsed.attendee.email is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "Body is required"),
        ({}, "start property is wrong,start must be a valid ISO 8601 date string "),
        ({"start": "2050-09-05T07:00:00Z", "x": 1}, "x property is wrong,property x should not exist "),
    ],
)
def test_reschedule_messages(body: object, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_reschedule(body)
    assert info.value.message == message


def test_cancel_body_is_optional_but_strict() -> None:
    assert parse_cancel(None).cancellation_reason is None
    assert parse_cancel({"cancellationReason": "ill"}).cancellation_reason == "ill"
    with pytest.raises(BadRequest) as info:
        parse_cancel({"cancelSubsequentBookings": "yes"})
    assert info.value.message == (
        "cancelSubsequentBookings property is wrong,cancelSubsequentBookings must be a boolean value "
    )


def test_reservation_duration_needs_credentials() -> None:
    body = {"eventTypeId": 1001, "slotStart": "2050-09-05T07:00:00Z", "reservationDuration": 10}
    with pytest.raises(Unauthorized) as info:
        parse_reserve_slot(body, authenticated=False)
    assert info.value.message == AUTH_ONLY_DURATION
    assert parse_reserve_slot(body, authenticated=True).reservation_duration == 10


@pytest.mark.parametrize(
    ("body", "constraint"),
    [
        ({"slotStart": "2050-09-05T07:00:00Z"}, "eventTypeId must be an integer number"),
        ({"eventTypeId": 1, "slotStart": "nope"}, "slotStart must be a valid ISO 8601 date string"),
    ],
)
def test_reserve_slot_messages(body: dict[str, Any], constraint: str) -> None:
    # The global ValidationPipe (bootstrap.ts:58-70): "Bad Request Exception" with the ValidationErrors.
    with pytest.raises(BadRequest) as info:
        parse_reserve_slot(body, authenticated=False)
    assert info.value.message == "Bad Request Exception"
    [error] = info.value.details()["errors"]
    assert list(error["constraints"].values()) == [constraint]


def test_reserve_slot_strips_unknown_properties() -> None:
    # whitelist without forbidNonWhitelisted (bootstrap.ts:58-70): unknown keys are dropped, not refused.
    parsed = parse_reserve_slot({"eventTypeId": 1, "slotStart": "2050-09-05", "z": 0}, authenticated=False)
    assert parsed.event_type_id == 1


def test_legacy_reserve_parses() -> None:
    parsed = parse_legacy_reserve(
        {
            "eventTypeId": 1,
            "slotUtcStartDate": "2050-09-05T07:00:00Z",
            "slotUtcEndDate": "2050-09-05T07:30:00Z",
        }
    )
    assert (parsed.slot_end - parsed.slot_start).total_seconds() == 1800


def test_reservation_outputs_follow_the_wire() -> None:
    from datetime import UTC, datetime

    args: dict[str, Any] = {
        "event_type_id": 1001,
        "slot_start": datetime(2050, 9, 5, 7, tzinfo=UTC),
        "slot_end": datetime(2050, 9, 5, 7, 30, tzinfo=UTC),
        "slot_duration": 30,
        "uid": "u-1",
        "until": datetime(2050, 9, 5, 6, 5, tzinfo=UTC),
    }
    full = reservation_output(**args, reservation_duration=5)
    assert full == {
        "eventTypeId": 1001,
        "slotStart": "2050-09-05T07:00:00.000Z",
        "slotEnd": "2050-09-05T07:30:00.000Z",
        "slotDuration": 30,
        "reservationUid": "u-1",
        "reservationDuration": 5,
        "reservationUntil": "2050-09-05T06:05:00.000Z",
    }
    assert list(full)[-2:] == ["reservationDuration", "reservationUntil"]
    assert "reservationDuration" not in reserved_slot_output(**args)


@pytest.mark.parametrize("language", [{}, [], 7, "xx"])
def test_attendee_language_of_any_json_type_is_a_400_not_a_crash(language: object) -> None:
    # Found by schemathesis: an object or list was tested for membership in a set (TypeError, a 500).
    with pytest.raises(BadRequest) as info:
        parse_create_booking(_body(attendee={"name": "Bo", "timeZone": "UTC", "language": language}))
    assert "language must be one of the following values" in info.value.message
