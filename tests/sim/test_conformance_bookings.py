"""The simulator's booking behaviour against Cal.com's source (upstream dd7b6477, SOURCE-NOTES.md).

Paths: CAL = apps/api/v2/src/ee/bookings/2024-08-13, PT = packages/platform/types/bookings/2024-08-13.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from proxy.calcom.bookings import INVALID_EMAIL_RESPONSE, parse_create_booking
from proxy.calcom.errors import BadRequest, ZodBadRequest
from proxy.sim.calendar import HOST_BUSY, IN_THE_PAST, OUT_OF_BOUNDS, SINGLE_LENGTH
from proxy.sim.seed import Seed, parse_seed
from proxy.verification import is_slot_taken
from tests.sim.conftest import BOOK_V, Clock, Factory, booking_body, state_of

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "calcom"
SHORT_UUID = re.compile(r"^[1-9a-km-zA-HJ-NP-Z]{22}$")


def _multi_length_seed() -> Seed:
    data = json.loads(resources.files("proxy.sim").joinpath("default_seed.json").read_text(encoding="utf-8"))
    data["eventTypes"][0]["lengthOptions"] = [30, 60]
    return parse_seed(data)


async def _create(client: Any, start: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v2/bookings", json=booking_body(start, **extra), headers=BOOK_V)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]  # type: ignore[no-any-return]


async def _error(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["message"]


# 1. lengthInMinutes


async def test_length_in_minutes_on_a_single_length_event_type_is_refused(make_client: Factory) -> None:
    """CAL/services/input.service.ts:220-225: refused without multipleDuration, even equal to the length."""
    client = await make_client()
    for length in (30, 45):
        response = await client.post(
            "/v2/bookings", json=booking_body("2030-09-02T07:00:00Z", lengthInMinutes=length), headers=BOOK_V
        )
        assert await _error(response) == (400, SINGLE_LENGTH)
    assert state_of(client).bookings == {}


async def test_length_in_minutes_not_among_the_options_is_refused(make_client: Factory) -> None:
    """CAL/services/input.service.ts:226-235: the message quotes 'lengthInMinutes' and lists the options."""
    client = await make_client(seed=_multi_length_seed())
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T07:00:00Z", lengthInMinutes=45), headers=BOOK_V
    )
    assert await _error(response) == (
        400,
        "Provided 'lengthInMinutes' is not one of the possible lengths for the event type. "
        "The possible lengths are: 30, 60",
    )
    assert (await _create(client, "2030-09-02T07:00:00Z", lengthInMinutes=60))["duration"] == 60


# 2. Refusal texts


async def test_start_outside_working_hours_is_host_unavailable(make_client: Factory) -> None:
    """handleNewBooking/ensureAvailableUsers.ts:236-258 (no_available_users_found_error) and
    CAL/services/errors.service.ts:39-43: outside hours reads like a busy host."""
    client = await make_client()
    for start in ("2030-09-02T16:00:00Z", "2030-09-07T09:00:00Z"):
        response = await client.post("/v2/bookings", json=booking_body(start), headers=BOOK_V)
        assert await _error(response) == (400, HOST_BUSY)


async def test_start_in_the_past_is_refused_as_past(make_client: Factory, clock: Clock) -> None:
    """packages/lib/isOutOfBounds.tsx:9-21, handleNewBooking/validateBookingTimeIsNotOutOfBounds.ts:50-54,
    CAL/services/errors.service.ts:48-49; the minimum notice keeps the out-of-bounds text."""
    clock.current = datetime(2030, 9, 2, 9, 0, tzinfo=UTC)
    client = await make_client()
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T08:30:00Z"), headers=BOOK_V)
    assert await _error(response) == (400, IN_THE_PAST)
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T09:30:00Z"), headers=BOOK_V)
    assert await _error(response) == (400, OUT_OF_BOUNDS)


def test_slot_taken_classification_of_the_refusal_texts() -> None:
    """CAL/services/errors.service.ts:36-49: only the host-availability texts mean the slot is taken."""
    assert is_slot_taken(400, HOST_BUSY)
    assert is_slot_taken(400, "One of the hosts either already has booking at this time or is not available")
    assert not is_slot_taken(400, IN_THE_PAST)
    assert not is_slot_taken(400, OUT_OF_BOUNDS)


# 3. Duplicate-booking guard


async def test_duplicate_booking_guard_is_on_by_default(make_client: Factory) -> None:
    """prisma/extensions/booking-idempotency-key.ts, schema.prisma:838 (@unique idempotencyKey) and
    RegularBookingService.ts:2013-2018: the race loser of an identical booking gets a bare 409."""
    client = await make_client(race_window_ms=30)
    body = booking_body("2030-09-02T07:00:00Z")
    responses = await asyncio.gather(
        *(client.post("/v2/bookings", json=body, headers=BOOK_V) for _ in range(2))
    )
    assert sorted(r.status for r in responses) == [201, 409]
    loser = next(r for r in responses if r.status == 409)
    assert await loser.json() == {"statusCode": 409, "message": "booking_conflict_error"}


async def test_duplicate_booking_guard_can_be_switched_off_to_model_the_race(make_client: Factory) -> None:
    """Cal.com issue #13397 (check, then insert without a lock), modelled with the guard off."""
    client = await make_client(race_window_ms=30, idempotency_guard=False)
    body = booking_body("2030-09-02T07:00:00Z")
    responses = await asyncio.gather(
        *(client.post("/v2/bookings", json=body, headers=BOOK_V) for _ in range(2))
    )
    assert [r.status for r in responses] == [201, 201]


async def test_reschedule_onto_its_own_time_is_not_a_duplicate(make_client: Factory) -> None:
    """handleNewBooking/createBooking.ts:175-186: the original is cancelled (key cleared) first."""
    client = await make_client()
    old = await _create(client, "2030-09-02T07:00:00Z")
    response = await client.post(
        f"/v2/bookings/{old['uid']}/reschedule", json={"start": "2030-09-02T07:00:00Z"}, headers=BOOK_V
    )
    assert response.status == 201


# 4. Booking output


async def _read(client: Any, uid: str) -> dict[str, Any]:
    response = await client.get(f"/v2/bookings/{uid}", headers=BOOK_V)
    assert response.status == 200, await response.text()
    return (await response.json())["data"]  # type: ignore[no-any-return]


async def test_booking_output_location_is_the_video_call_url(make_client: Factory) -> None:
    """CAL/services/output.service.ts:113,139-141 (metadata.videoCallUrl || location) and
    packages/lib/CalEventParser.ts:452-454 (Cal Video: `${WEBAPP_URL}/video/${uid}`)."""
    client = await make_client()
    data = await _create(client, "2030-09-02T07:00:00Z")
    expected = f"https://app.cal.com/video/{data['uid']}"
    assert (data["location"], data["meetingUrl"]) == (expected, expected)
    # The seed's event types offer Cal Video only, so a link is refused (golden
    # booking-extras/location-not-of-the-event-type); a booking of an event type that offers one answers it.
    refused = await client.post(
        "/v2/bookings",
        json=booking_body(
            "2030-09-02T08:00:00Z", location={"type": "link", "link": "https://meet.example.com/r"}
        ),
        headers=BOOK_V,
    )
    assert refused.status == 400
    link = "https://meet.example.com/room"
    state_of(client).bookings[data["uid"]].location = link
    data = await _read(client, data["uid"])
    assert (data["location"], data["meetingUrl"]) == (link, link)


async def test_booking_output_metadata_hides_the_video_call_url(make_client: Factory) -> None:
    """CAL/services/output.service.ts:204-211 getUserDefinedMetadata drops videoCallUrl."""
    client = await make_client()
    url = "https://video.example.com/r"
    data = await _create(client, "2030-09-02T07:00:00Z", metadata={"videoCallUrl": url, "k": "v"})
    assert data["metadata"] == {"k": "v"}
    # In person (an event type with an address; the seed offers none), the stored URL is the location.
    state_of(client).bookings[data["uid"]].location = "Main St 1"
    data = await _read(client, data["uid"])
    assert (data["location"], data["metadata"]) == (url, {"k": "v"})


async def test_booking_output_cancellation_fields_are_always_strings(make_client: Factory) -> None:
    """CAL/services/output.service.ts:124-125: cancellationReason || "", cancelledBy || ""."""
    client = await make_client()
    data = await _create(client, "2030-09-02T07:00:00Z")
    assert (data["cancellationReason"], data["cancelledByEmail"]) == ("", "")
    response = await client.post(f"/v2/bookings/{data['uid']}/cancel", headers=BOOK_V)
    cancelled = (await response.json())["data"]
    assert (cancelled["cancellationReason"], cancelled["cancelledByEmail"]) == ("", "")


async def test_booking_output_fields_and_order(make_client: Factory) -> None:
    """CAL/services/output.service.ts:96-98,116-150 and PT/outputs/booking.output.ts (@Expose order):
    displayEmail on hosts and attendees, rating null, no `rescheduled` key; the keys in the order the real
    Cal.com answered them (golden bookings/book: `rescheduledByEmail` null, no `guests` when there are
    none)."""
    client = await make_client()
    data = await _create(client, "2030-09-02T07:00:00Z")
    golden = json.loads((GOLDEN / "bookings.json").read_text())
    recorded = next(step for step in golden["steps"] if step["name"] == "book")["response"]["body"]["data"]
    assert list(data) == list(recorded)
    assert list(data["bookingFieldsResponses"]) == ["email", "name", "displayEmail"]
    assert data["rating"] is None
    assert data["hosts"] == [
        {
            "id": 1,
            "name": "Berlin Host",
            "email": "host1@example.com",
            "displayEmail": "host1@example.com",
            "username": "berlin-host",
            "timeZone": "Europe/Berlin",
        }
    ]
    assert list(data["attendees"][0]) == ["name", "email", "displayEmail", "timeZone", "language", "absent"]
    response = await client.post(
        f"/v2/bookings/{data['uid']}/reschedule", json={"start": "2030-09-02T09:00:00Z"}, headers=BOOK_V
    )
    assert response.status == 201
    old = (await (await client.get(f"/v2/bookings/{data['uid']}", headers=BOOK_V)).json())["data"]
    assert "rescheduled" not in old


async def test_display_email_drops_the_platform_suffix(make_client: Factory) -> None:
    """CAL/services/output.service.ts:96-98: email.replace(/\\+[a-zA-Z0-9]{25}/, "")."""
    client = await make_client()
    email = "ada+" + "a1" * 12 + "b@example.com"
    body = booking_body("2030-09-02T07:00:00Z")
    body["attendee"]["email"] = email
    response = await client.post("/v2/bookings", json=body, headers=BOOK_V)
    attendee = (await response.json())["data"]["attendees"][0]
    assert (attendee["email"], attendee["displayEmail"]) == (email, "ada@example.com")


async def test_booking_uid_is_a_short_uuid(make_client: Factory) -> None:
    """RegularBookingService.ts:138,1394-1395: short-uuid (flickrBase58, 22 characters) of a uuid."""
    client = await make_client()
    uids = {(await _create(client, f"2030-09-02T0{h}:00:00Z"))["uid"] for h in (7, 8, 9)}
    assert len(uids) == 3
    assert all(SHORT_UUID.match(uid) for uid in uids)


# 5. Validation texts


def _message(body: dict[str, Any]) -> str:
    try:
        parse_create_booking(body)
    except BadRequest as error:
        return error.message
    raise AssertionError("accepted")


def test_attendee_email_and_phone_messages() -> None:
    """An email is refused by the booking responses' zod schema, as the real Cal.com answered (golden
    bookings/book-bad-email: code BAD_REQUEST, no details; the attendee's @Validate(fn) never runs,
    class-validator #1750). The phone's @Validate(fn) never runs either: any string is booked (golden
    booking-attendee-contacts/bad-phone); a number, which crashes Cal.com, is refused as a non-string."""
    body = booking_body("2030-09-02T07:00:00Z")
    body["attendee"]["email"] = "nope"
    try:
        parse_create_booking(body)
    except ZodBadRequest as error:
        assert error.message == INVALID_EMAIL_RESPONSE
        assert "details" not in error.body("/v2/bookings")["error"]
    else:
        raise AssertionError("accepted")
    body["attendee"]["email"] = "ada@example.com"
    body["attendee"]["phoneNumber"] = "12345"
    assert parse_create_booking(body).attendee.phone_number == "12345"
    body["attendee"]["phoneNumber"] = 4915112345678
    expected = "attendee property is wrong, phoneNumber property is wrong,phoneNumber must be a string "
    assert _message(body) == expected


def test_an_attendee_without_email_or_phone_names_the_class_level_check() -> None:
    """RequireEmailOrPhone's error, wrapped as the real Cal.com wraps it (golden
    booking-attendee-contacts/no-contact)."""
    body = booking_body("2030-09-02T07:00:00Z")
    del body["attendee"]["email"]
    assert _message(body) == (
        "attendee property is wrong, attendee email or phone property is wrong,"
        "Attendee must have at least one contact method (email or phone number) "
    )


async def test_a_phone_only_attendee_needs_the_email_the_default_booking_fields_require(
    make_client: Factory,
) -> None:
    """The simulator's event types keep Cal.com's default booking fields (golden
    booking-attendee-contacts/phone-only); the parser itself accepts a phone-only attendee, so calproxy
    leaves the decision to Cal.com."""
    client = await make_client()
    body = booking_body("2030-09-02T07:00:00Z")
    del body["attendee"]["email"]
    body["attendee"]["phoneNumber"] = "+4915112345679"
    assert parse_create_booking(body).attendee.email is None
    response = await client.post("/v2/bookings", json=body, headers=BOOK_V)
    assert response.status == 400
    assert (await response.json())["error"] == {
        "code": "BAD_REQUEST",
        "message": "responses - {email}error_required_field, ",
    }
    assert state_of(client).bookings == {}


def test_a_missing_attendee_is_not_null_or_undefined() -> None:
    """@IsDefined's text comes first (golden bookings/book-no-attendee)."""
    body = booking_body("2030-09-02T07:00:00Z")
    del body["attendee"]
    assert _message(body) == "attendee property is wrong,attendee should not be null or undefined "
    body["attendee"] = "ada"
    assert (
        _message(body)
        == "attendee property is wrong,nested property attendee must be either object or array "
    )


def test_guests_need_only_be_strings() -> None:
    """PT/inputs/create-booking.input.ts:313-316: @IsArray + @IsString({each: true}), no email check."""
    parsed = parse_create_booking(booking_body("2030-09-02T07:00:00Z", guests=["not-an-email"]))
    assert parsed.guests == ("not-an-email",)


def test_metadata_values_must_be_strings_in_the_end() -> None:
    """The input pipe takes numbers and booleans too (PT/inputs/validators/validate-metadata.ts:49-60), then
    handleNewBooking's schema takes strings only, naming each other value, the last key first (golden
    booking-extras/metadata-not-strings)."""
    metadata = {"s": "v" * 500, "k": "x"}
    assert parse_create_booking(booking_body("2030-09-02T07:00:00Z", metadata=metadata)).metadata == metadata
    with pytest.raises(ZodBadRequest) as refused:
        parse_create_booking(booking_body("2030-09-02T07:00:00Z", metadata={"a": 1, "b": "two", "c": True}))
    assert refused.value.message == (
        "metadata.c - Expected string, received boolean, metadata.a - Expected string, received number, "
    )
    for bad in (None, [1], {"x": 1}):
        message = _message(booking_body("2030-09-02T07:00:00Z", metadata={"k": bad}))
        assert message.startswith("metadata property is wrong,Metadata must have at most 50 keys")


async def test_event_type_slug_and_username_not_found(make_client: Factory) -> None:
    """CAL/services/bookings.service.ts:200-207 and CAL/services/errors.service.ts:10-14."""
    client = await make_client()
    base = booking_body("2030-09-02T07:00:00Z")
    del base["eventTypeId"]
    response = await client.post(
        "/v2/bookings", json={**base, "eventTypeSlug": "nope", "username": "berlin-host"}, headers=BOOK_V
    )
    assert await _error(response) == (
        404,
        "Event type with slug nope belonging to user berlin-host not found.",
    )
    response = await client.post(
        "/v2/bookings", json={**base, "eventTypeSlug": "consultation-30", "username": "ghost"}, headers=BOOK_V
    )
    assert await _error(response) == (404, "User with username ghost not found")
    response = await client.post(
        "/v2/bookings",
        json={**base, "eventTypeSlug": "consultation-30", "username": "berlin-host"},
        headers=BOOK_V,
    )
    assert response.status == 201


async def test_cancel_of_an_unknown_uid(make_client: Factory) -> None:
    """CAL/services/input.service.ts:756-759; the pipe validates the body before the lookup."""
    client = await make_client()
    response = await client.post("/v2/bookings/nope/cancel", json={}, headers=BOOK_V)
    assert await _error(response) == (404, "Booking with uid=nope not found")
    response = await client.post("/v2/bookings/nope/cancel", json={"x": 1}, headers=BOOK_V)
    assert await _error(response) == (400, "x property is wrong,property x should not exist ")


# 6. Reschedule


async def test_reschedule_takes_the_event_type_length(make_client: Factory) -> None:
    """CAL/services/input.service.ts:667-668: end = start + eventType.length, not the old booking's length."""
    client = await make_client(seed=_multi_length_seed())
    old = await _create(client, "2030-09-02T07:00:00Z", lengthInMinutes=60)
    response = await client.post(
        f"/v2/bookings/{old['uid']}/reschedule", json={"start": "2030-09-02T09:00:00Z"}, headers=BOOK_V
    )
    new = (await response.json())["data"]
    assert (new["start"], new["end"], new["duration"]) == (
        "2030-09-02T09:00:00.000Z",
        "2030-09-02T09:30:00.000Z",
        30,
    )


async def test_rescheduled_by_must_be_an_email(make_client: Factory) -> None:
    """handleNewBooking's bookingCreateBodySchema.ts:14 (z.string().email()), rendered by
    apps/api/v2/src/filters/zod-exception.filter.ts:35-45 (the pipe's @Validate(fn) checks nothing)."""
    client = await make_client()
    old = await _create(client, "2030-09-02T07:00:00Z")
    url = f"/v2/bookings/{old['uid']}/reschedule"
    for value, message in (
        ("nope", "rescheduledBy - Invalid email, "),
        (5, "rescheduledBy - Expected string, received number, "),
    ):
        response = await client.post(
            url, json={"start": "2030-09-02T09:00:00Z", "rescheduledBy": value}, headers=BOOK_V
        )
        assert response.status == 400
        body = await response.json()
        assert body["error"] == {"code": "BAD_REQUEST", "message": message}
    response = await client.post(
        url, json={"start": "2030-09-02T09:00:00Z", "rescheduledBy": "host1@example.com"}, headers=BOOK_V
    )
    new = (await response.json())["data"]
    assert new["rescheduledByEmail"] == "host1@example.com"
    previous = (await (await client.get(url.rsplit("/", 1)[0], headers=BOOK_V)).json())["data"]
    assert previous["rescheduledByEmail"] == "host1@example.com"  # output.service.ts:190-201


async def test_reschedule_of_a_rescheduled_booking_message(make_client: Factory) -> None:
    """CAL/services/bookings.service.ts:807-812."""
    client = await make_client()
    old = (await _create(client, "2030-09-02T07:00:00Z"))["uid"]
    response = await client.post(
        f"/v2/bookings/{old}/reschedule", json={"start": "2030-09-02T09:00:00Z"}, headers=BOOK_V
    )
    new = (await response.json())["data"]["uid"]
    response = await client.post(
        f"/v2/bookings/{old}/reschedule", json={"start": "2030-09-02T10:00:00Z"}, headers=BOOK_V
    )
    assert await _error(response) == (
        400,
        f"Can't reschedule booking with uid={old} because it has been cancelled and rescheduled already to "
        f"booking with uid={new}. You probably want to reschedule {new} instead by passing it within the "
        "request URL.",
    )
