from __future__ import annotations

from datetime import UTC, datetime

from proxy.sim.calendar import HOST_BUSY, IN_THE_PAST, OUT_OF_BOUNDS
from tests.sim.conftest import ALPHA, BETA, BOOK_V, Clock, Factory, booking_body, state_of


async def test_create_booking_output(make_client: Factory) -> None:
    client = await make_client()
    body = booking_body("2030-09-02T07:00:00Z", metadata={"commit": "c1"})
    response = await client.post("/v2/bookings", json=body, headers=BOOK_V)
    assert response.status == 201
    assert response.headers["X-Request-Id"]
    data = (await response.json())["data"]
    assert data["status"] == "accepted"
    assert (data["start"], data["end"], data["duration"]) == (
        "2030-09-02T07:00:00.000Z",
        "2030-09-02T07:30:00.000Z",
        30,
    )
    assert data["eventType"] == {"id": 1001, "slug": "consultation-30"} and data["eventTypeId"] == 1001
    assert data["hosts"][0]["timeZone"] == "Europe/Berlin"
    assert data["attendees"] == [
        {
            "name": "Ada",
            "email": "ada@example.com",
            "displayEmail": "ada@example.com",
            "timeZone": "Europe/Berlin",
            "language": "en",
            "absent": False,
        }
    ]
    assert data["metadata"] == {"commit": "c1"}
    truth = state_of(client).bookings[data["uid"]]
    assert truth.start == datetime(2030, 9, 2, 7, tzinfo=UTC)


async def test_off_grid_start_is_accepted(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T07:10:00Z"), headers=BOOK_V)
    assert response.status == 201
    assert (await response.json())["data"]["start"] == "2030-09-02T07:10:00.000Z"


async def test_offsetless_start_is_utc_and_offsets_are_honoured(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T09:00:00"), headers=BOOK_V)
    assert (await response.json())["data"]["start"] == "2030-09-02T09:00:00.000Z"  # 11:00 Berlin, not 09:00
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T13:00:00+02:00"), headers=BOOK_V
    )
    assert (await response.json())["data"]["start"] == "2030-09-02T11:00:00.000Z"


async def test_conflict_message_and_cross_event_type_overlap(make_client: Factory) -> None:
    client = await make_client()
    assert (
        await client.post("/v2/bookings", json=booking_body("2030-09-02T08:00:00Z"), headers=BOOK_V)
    ).status == 201
    for start, event_type in (("2030-09-02T08:00:00Z", 1001), ("2030-09-02T07:15:00Z", 1002)):
        response = await client.post("/v2/bookings", json=booking_body(start, event_type), headers=BOOK_V)
        assert response.status == 400
        body = await response.json()
        assert body["error"] == {
            "code": "BadRequestException",
            "message": HOST_BUSY,
            "details": {"message": HOST_BUSY, "error": "Bad Request", "statusCode": 400},
        }
        assert body["path"] == "/v2/bookings"
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T08:00:00Z", 2001), headers=BOOK_V
    )
    assert response.status == 400  # 10:00 Berlin is 04:00 New York: outside hours
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T14:00:00Z", 2001), headers=BOOK_V
    )
    assert response.status == 201


async def test_out_of_bounds_cases(make_client: Factory, clock: Clock) -> None:
    clock.current = datetime(2030, 9, 2, 9, 0, tzinfo=UTC)
    client = await make_client()
    for start, message in (
        ("2030-09-02T09:30:00Z", OUT_OF_BOUNDS),  # inside the minimum notice
        ("2030-08-30T09:00:00Z", IN_THE_PAST),
        ("2030-09-02T16:00:00Z", HOST_BUSY),  # 18:00 Berlin: outside working hours
        ("2030-09-07T09:00:00Z", HOST_BUSY),  # Saturday
        ("2030-09-02T14:45:00Z", HOST_BUSY),  # would end after 17:00 Berlin
    ):
        response = await client.post("/v2/bookings", json=booking_body(start), headers=BOOK_V)
        assert response.status == 400, start
        assert (await response.json())["error"]["message"] == message, start
    assert state_of(client).bookings == {}


async def test_reservations_do_not_block_booking(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/slots/reservations",
        json={"eventTypeId": 1001, "slotStart": "2030-09-02T07:00:00Z"},
        headers={"cal-api-version": "2024-09-04"},
    )
    assert response.status == 201
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
    assert response.status == 201


async def test_unknown_event_type_and_length(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T07:00:00Z", 4242), headers=BOOK_V
    )
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Event type with id 4242 not found."
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T07:00:00Z", lengthInMinutes=45), headers=BOOK_V
    )
    assert response.status == 400
    assert (await response.json())["error"]["message"].startswith("Can't specify 'lengthInMinutes'")


async def test_booking_without_version_header_is_refused(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"))
    assert response.status == 400
    assert "2024-08-13" in (await response.json())["error"]["message"]
    assert state_of(client).bookings == {}


async def test_get_cancel_and_cancel_again(make_client: Factory) -> None:
    client = await make_client()
    uid = (
        await (
            await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
        ).json()
    )["data"]["uid"]
    response = await client.get(f"/v2/bookings/{uid}", headers=BOOK_V)
    assert response.status == 200 and (await response.json())["data"]["uid"] == uid
    response = await client.post(
        f"/v2/bookings/{uid}/cancel", json={"cancellationReason": "ill"}, headers=BOOK_V
    )
    assert response.status == 200
    data = (await response.json())["data"]
    assert (data["status"], data["cancellationReason"], data["cancelledByEmail"]) == ("cancelled", "ill", "")
    response = await client.post(f"/v2/bookings/{uid}/cancel", headers=BOOK_V)
    assert response.status == 400
    assert (await response.json())["error"]["message"] == (
        f"Can't cancel booking with uid={uid} because it has been cancelled already. "
        "Please provide uid of a booking that is not cancelled."
    )
    # The slot is free again.
    assert (
        await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
    ).status == 201
    response = await client.get("/v2/bookings/nope", headers=BOOK_V)
    assert response.status == 404
    assert (await response.json())["error"][
        "message"
    ] == "Booking with uid=nope was not found in the database"


async def test_reschedule(make_client: Factory) -> None:
    client = await make_client()
    old = (
        await (
            await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
        ).json()
    )["data"]["uid"]
    # Overlapping its own old time is fine: the old booking does not block its reschedule.
    response = await client.post(
        f"/v2/bookings/{old}/reschedule",
        json={"start": "2030-09-02T07:15:00Z", "reschedulingReason": "later"},
        headers=BOOK_V,
    )
    assert response.status == 201
    new = (await response.json())["data"]
    assert (
        new["uid"] != old and new["rescheduledFromUid"] == old and new["start"] == "2030-09-02T07:15:00.000Z"
    )
    previous = (await (await client.get(f"/v2/bookings/{old}", headers=BOOK_V)).json())["data"]
    assert (previous["status"], previous["rescheduledToUid"]) == ("cancelled", new["uid"])
    assert "rescheduled" not in previous
    response = await client.post(
        f"/v2/bookings/{old}/reschedule", json={"start": "2030-09-02T09:00:00Z"}, headers=BOOK_V
    )
    assert response.status == 400
    assert (await response.json())["error"]["message"] == (
        f"Can't reschedule booking with uid={old} because it has been cancelled and rescheduled already to "
        f"booking with uid={new['uid']}. You probably want to reschedule {new['uid']} instead by passing it "
        "within the request URL."
    )


async def test_list_requires_auth_and_filters(make_client: Factory) -> None:
    client = await make_client()
    for start, et in (
        ("2030-09-02T07:00:00Z", 1001),
        ("2030-09-03T07:00:00Z", 1002),
        ("2030-09-02T14:00:00Z", 2001),
    ):
        assert (await client.post("/v2/bookings", json=booking_body(start, et), headers=BOOK_V)).status == 201
    # The controller's PermissionsGuard answers first (golden booking-list/no-key).
    response = await client.get("/v2/bookings", headers=BOOK_V)
    assert response.status == 403
    assert (await response.json())["error"]["message"].startswith(
        "PermissionsGuard - no authentication provided"
    )
    response = await client.get("/v2/bookings", headers={**BOOK_V, **ALPHA})
    body = await response.json()
    assert [b["eventTypeId"] for b in body["data"]] == [1001, 1002]  # only host 1's, by start
    response = await client.get("/v2/bookings?eventTypeIds=1002&take=1", headers={**BOOK_V, **ALPHA})
    body = await response.json()
    assert [b["eventTypeId"] for b in body["data"]] == [1002]
    response = await client.get("/v2/bookings?take=1&skip=1&sortStart=desc", headers={**BOOK_V, **ALPHA})
    body = await response.json()
    assert body["data"][0]["eventTypeId"] == 1001
    assert body["pagination"] == {
        "totalItems": 2,
        "remainingItems": 0,
        "returnedItems": 1,
        "itemsPerPage": 1,
        "currentPage": 2,
        "totalPages": 2,
        "hasNextPage": False,
        "hasPreviousPage": True,
    }
    response = await client.get("/v2/bookings?status=cancelled", headers={**BOOK_V, **ALPHA})
    assert (await response.json())["data"] == []
    response = await client.get("/v2/bookings?take=251", headers={**BOOK_V, **ALPHA})
    assert response.status == 400
    response = await client.get("/v2/bookings?afterStart=2030-09-03", headers={**BOOK_V, **ALPHA})
    assert [b["eventTypeId"] for b in (await response.json())["data"]] == [1002]


async def test_event_types_and_me(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/me", headers=ALPHA)
    assert (await response.json())["data"]["timeZone"] == "Europe/Berlin"
    assert (await client.get("/v2/me")).status == 401
    response = await client.get("/v2/event-types", headers=ALPHA)
    assert [e["id"] for e in (await response.json())["data"]] == [1001, 1002]
    response = await client.get("/v2/event-types/1002", headers=ALPHA)
    assert (await response.json())["data"]["lengthInMinutes"] == 60
    # Another user's event type is hidden from the key, like an unknown one (golden catalogue).
    response = await client.get("/v2/event-types/2001", headers=ALPHA)
    assert (response.status, (await response.json())["error"]["message"]) == (
        404,
        "Event type with id 2001 not found",
    )
    response = await client.get("/v2/event-types/2001", headers=BETA)
    assert (await response.json())["data"]["ownerId"] == 2
    assert (await client.get("/v2/event-types/9999", headers=ALPHA)).status == 404
    assert (await client.get("/v2/event-types/abc", headers=ALPHA)).status == 400
