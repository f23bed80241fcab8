from __future__ import annotations

from proxy.calcom.reservations import (
    ALREADY_BOOKED,
    ALREADY_RESERVED,
    AUTH_ONLY_DURATION,
    NOT_VARIABLE_LENGTH,
)
from tests.sim.conftest import ALPHA, BOOK_V, SLOTS_V, Clock, Factory, booking_body

HOLD = {"eventTypeId": 1001, "slotStart": "2030-09-02T07:00:00Z"}


async def test_reserve_get_patch_delete(make_client: Factory, clock: Clock) -> None:
    client = await make_client()
    response = await client.post("/v2/slots/reservations", json=HOLD, headers=SLOTS_V)
    assert response.status == 201
    data = (await response.json())["data"]
    uid = data["reservationUid"]
    assert data == {
        "eventTypeId": 1001,
        "slotStart": "2030-09-02T07:00:00.000Z",
        "slotEnd": "2030-09-02T07:30:00.000Z",
        "slotDuration": 30,
        "reservationUid": uid,
        "reservationDuration": 5,
        "reservationUntil": "2030-09-01T12:05:00.000Z",
    }
    got = (await (await client.get(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)).json())["data"]
    assert got == {k: v for k, v in data.items() if k != "reservationDuration"}
    assert next(iter(got)) == "reservationUid"
    # Cal.com's update checks overlap with every live reservation, its own included: moving is the way.
    response = await client.patch(
        f"/v2/slots/reservations/{uid}", json={**HOLD, "reservationDuration": 10}, headers=SLOTS_V
    )
    assert (response.status, (await response.json())["error"]["message"]) == (422, ALREADY_RESERVED)
    response = await client.patch(
        f"/v2/slots/reservations/{uid}",
        json={**HOLD, "slotStart": "2030-09-02T08:00:00Z", "reservationDuration": 10},
        headers=SLOTS_V,
    )
    assert response.status == 200
    assert (await response.json())["data"]["reservationUntil"] == "2030-09-01T12:10:00.000Z"
    response = await client.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)
    assert await response.json() == {"status": "success"}
    assert await (await client.get(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)).json() == {
        "status": "success",
        "data": None,
    }
    response = await client.patch("/v2/slots/reservations/nope", json=HOLD, headers=SLOTS_V)
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Slot with uid=nope not found"


async def test_holds_hide_slots_of_all_host_event_types_until_expiry(
    make_client: Factory, clock: Clock
) -> None:
    client = await make_client()
    assert (await client.post("/v2/slots/reservations", json=HOLD, headers=SLOTS_V)).status == 201
    url = "/v2/slots?start=2030-09-02T07:00:00Z&end=2030-09-02T08:00:00Z&eventTypeId={}"
    assert (await (await client.get(url.format(1001), headers=SLOTS_V)).json())["data"] == {
        "2030-09-02": [{"start": "2030-09-02T07:30:00.000Z"}]
    }
    # 1002 is 60 minutes long: its 07:30 slot ends at 08:30, and Cal.com keeps slots that end by `end`.
    url_1002 = url.format(1002).replace("T08:00", "T08:30")
    starts_1002 = (await (await client.get(url_1002, headers=SLOTS_V)).json())["data"]["2030-09-02"]
    assert [s["start"] for s in starts_1002] == ["2030-09-02T07:30:00.000Z"]
    clock.advance(minutes=5)
    assert (
        len((await (await client.get(url.format(1001), headers=SLOTS_V)).json())["data"]["2030-09-02"]) == 2
    )


async def test_reservation_conflicts(make_client: Factory) -> None:
    client = await make_client()
    assert (await client.post("/v2/slots/reservations", json=HOLD, headers=SLOTS_V)).status == 201
    response = await client.post(
        "/v2/slots/reservations", json={**HOLD, "slotStart": "2030-09-02T07:15:00Z"}, headers=SLOTS_V
    )
    assert response.status == 422
    body = await response.json()
    assert body["error"]["code"] == "UnprocessableEntityException"
    assert body["error"]["message"] == ALREADY_RESERVED
    assert (
        await client.post("/v2/bookings", json=booking_body("2030-09-02T08:00:00Z"), headers=BOOK_V)
    ).status == 201
    response = await client.post(
        "/v2/slots/reservations", json={**HOLD, "slotStart": "2030-09-02T08:00:00Z"}, headers=SLOTS_V
    )
    assert (response.status, (await response.json())["error"]["message"]) == (422, ALREADY_BOOKED)


async def test_reservation_input_rules(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/slots/reservations", json={**HOLD, "reservationDuration": 30}, headers=SLOTS_V
    )
    assert (response.status, (await response.json())["error"]["message"]) == (401, AUTH_ONLY_DURATION)
    response = await client.post(
        "/v2/slots/reservations", json={**HOLD, "reservationDuration": 30}, headers={**SLOTS_V, **ALPHA}
    )
    assert response.status == 201
    response = await client.post(
        "/v2/slots/reservations",
        json={**HOLD, "slotStart": "2030-09-03T07:00:00Z", "slotDuration": 30},
        headers=SLOTS_V,
    )
    assert (response.status, (await response.json())["error"]["message"]) == (400, NOT_VARIABLE_LENGTH)
    response = await client.post("/v2/slots/reservations", json={**HOLD, "eventTypeId": 77}, headers=SLOTS_V)
    assert (response.status, (await response.json())["error"]["message"]) == (
        404,
        "Event Type with ID=77 not found",
    )


async def test_legacy_reserve_and_delete_without_header(make_client: Factory) -> None:
    client = await make_client()
    body = {
        "eventTypeId": 1001,
        "slotUtcStartDate": "2030-09-02T07:00:00Z",
        "slotUtcEndDate": "2030-09-02T07:30:00Z",
    }
    response = await client.post("/v2/slots/reserve", json=body)
    assert response.status == 201
    uid = (await response.json())["data"]
    assert isinstance(uid, str) and response.cookies["uid"].value == uid
    url = "/v2/slots?start=2030-09-02T07:00:00Z&end=2030-09-02T07:30:00Z&eventTypeId=1001"
    assert (await (await client.get(url, headers=SLOTS_V)).json())["data"] == {}
    for path in ("/v2/slots/selected-slot", "/v2/slots/delete"):
        response = await client.delete(f"{path}?uid={uid}")
        assert await response.json() == {"status": "success"}
    assert (await (await client.get(url, headers=SLOTS_V)).json())["data"] != {}
