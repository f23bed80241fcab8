from __future__ import annotations

from tests.sim.conftest import BOOK_V, Factory, booking_body, state_of


async def test_outside_channel_booking_bypasses_everything_and_blocks(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post(
        "/_sim/bookings", json={"eventTypeId": 1002, "start": "2030-09-07T10:00:00Z"}
    )
    assert response.status == 201  # a Saturday: the outside channel ignores working hours
    response = await client.post(
        "/_sim/bookings", json={"eventTypeId": 1001, "start": "2030-09-02T07:00:00Z"}
    )
    record = (await response.json())["data"]
    assert (record["source"], record["end"], record["status"]) == (
        "outside",
        "2030-09-02T07:30:00.000Z",
        "accepted",
    )
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T07:00:00Z", 1002), headers=BOOK_V
    )
    assert response.status == 400
    for bad in (
        {"eventTypeId": "x", "start": "2030-09-02"},
        {"eventTypeId": 1001, "start": "2030-02-30"},
        "x",
    ):
        assert (await client.post("/_sim/bookings", json=bad)).status == 400


async def test_ground_truth_and_reset(make_client: Factory) -> None:
    client = await make_client()
    body = booking_body("2030-09-02T07:00:00Z", metadata={"k": "v"})
    uid = (await (await client.post("/v2/bookings", json=body, headers=BOOK_V)).json())["data"]["uid"]
    truth = (await (await client.get("/_sim/bookings")).json())["data"]
    assert [(t["uid"], t["eventTypeId"], t["start"], t["status"], t["metadata"]) for t in truth] == [
        (uid, 1001, "2030-09-02T07:00:00.000Z", "accepted", {"k": "v"})
    ]
    assert truth[0]["attendee"]["email"] == "ada@example.com"
    await client.post("/_sim/faults", json={"error": 1.0})
    assert (await client.post("/_sim/reset")).status == 200
    state = state_of(client)
    assert state.bookings == {} and state.faults.error == 0.0
    stats = (await (await client.get("/_sim/stats")).json())["data"]
    # Counters restart at the reset; the reset request itself is the first control request counted.
    assert stats["requests"] == {} and stats["control"] == {"POST /_sim/reset": {"200": 1}}
