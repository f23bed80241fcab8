"""Issue 11's booking behaviours, through the proxy: what Cal.com (the conformed simulator) answers reaches
the caller unchanged where calproxy passes Cal.com's answer on (a 201 body, a refusal it did not make
itself, a cancel it forwards)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from proxy.calcom.timefmt import parse_instant
from proxy.sim.calendar import SINGLE_LENGTH
from tests.proxy.conftest import BOOKINGS_V, Stack
from tests.proxy.test_e2e_commit import booking


def without_timestamp(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "timestamp"}


async def test_length_in_minutes_on_a_single_length_event_type_reaches_the_caller_as_cal_com_says(
    stack: Stack,
) -> None:
    """input.service.ts:221-224: Cal.com's 400, passed through with its own message."""
    through = await stack.book("A", booking("10:00", lengthInMinutes=30))
    direct = await stack.direct.post(
        "/v2/bookings", json=booking("11:00", lengthInMinutes=30), headers=BOOKINGS_V
    )
    assert direct.status_code == through.status_code == 400, through.text
    assert through.json()["error"]["message"] == direct.json()["error"]["message"] == SINGLE_LENGTH


async def test_the_booking_output_is_cal_coms_own(stack: Stack) -> None:
    """output.service.ts:104-150: location is the video-call URL, cancellation fields "", displayEmail on
    attendees and hosts, rating, no "rescheduled", a 22-character short-UUID uid: all unchanged."""
    answer = await stack.book("A", booking("12:00"))
    assert answer.status_code == 201, answer.text
    data = answer.json()["data"]
    assert data["location"].startswith("https://") and data["location"] == data["meetingUrl"]
    assert data["cancellationReason"] == "" and data["cancelledByEmail"] == ""
    assert "rescheduled" not in data and "rating" in data
    assert all("displayEmail" in person for person in (*data["attendees"], *data["hosts"]))
    assert len(data["uid"]) == 22
    stored = await stack.direct.get(f"/v2/bookings/{data['uid']}", headers=BOOKINGS_V)
    assert list(stored.json()["data"]) == list(data), "same keys in the same order"


async def test_cancel_of_an_unknown_uid_reaches_the_caller_as_cal_com_says(stack: Stack) -> None:
    """input.service.ts:756-759: "Booking with uid=X not found", through calproxy's forwarding."""
    body = {"cancellationReason": "no longer needed"}
    through = await stack.proxy.post("/v2/bookings/unknownuid123/cancel", json=body, headers=BOOKINGS_V)
    direct = await stack.direct.post("/v2/bookings/unknownuid123/cancel", json=body, headers=BOOKINGS_V)
    assert through.status_code == direct.status_code == 404
    assert without_timestamp(through.json()) == without_timestamp(direct.json())
    assert through.json()["error"]["message"] == "Booking with uid=unknownuid123 not found"


async def test_a_reschedule_through_calproxy_answers_as_cal_com(stack: Stack) -> None:
    """input.service.ts:667-668 (the event type's length) and bookingCreateBodySchema.ts:14
    (rescheduledBy must be an email, zod's shape): the same through calproxy's verified reschedule."""
    mine = await stack.book("A", booking("10:00"))
    theirs = await stack.direct.post("/v2/bookings", json=booking("13:00", name="Bo"), headers=BOOKINGS_V)
    uid, other = mine.json()["data"]["uid"], theirs.json()["data"]["uid"]
    bad = {"start": booking("11:00")["start"], "rescheduledBy": "nope"}
    through = await stack.proxy.post(f"/v2/bookings/{uid}/reschedule", json=bad, headers=BOOKINGS_V)
    bad_direct = {"start": booking("14:00")["start"], "rescheduledBy": "nope"}
    direct = await stack.direct.post(f"/v2/bookings/{other}/reschedule", json=bad_direct, headers=BOOKINGS_V)
    assert through.status_code == direct.status_code == 400, through.text
    # Cal.com's code and message; calproxy adds its alternatives under details (an extra field).
    sent, expected = through.json()["error"], direct.json()["error"]
    assert (sent["code"], sent["message"]) == (expected["code"], expected["message"])
    assert "details" not in expected and sent["details"]["alternatives"]
    good = {"start": booking("11:00")["start"], "rescheduledBy": "host1@example.com"}
    moved = await stack.proxy.post(f"/v2/bookings/{uid}/reschedule", json=good, headers=BOOKINGS_V)
    assert moved.status_code == 201, moved.text
    data = moved.json()["data"]
    assert data["duration"] == 30
    assert parse_instant(data["end"]) - parse_instant(data["start"]) == timedelta(minutes=30)
    assert parse_instant(data["start"]) == parse_instant(booking("11:00")["start"])
