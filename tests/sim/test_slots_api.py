from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from proxy.calcom.slots import parse_slots_query, slots_data
from tests.sim.conftest import BOOK_V, SLOTS_V, Clock, Factory, booking_body


def _expected_day(first_utc: datetime, count: int, step: int) -> list[str]:
    return [
        (first_utc + timedelta(minutes=step * k)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for k in range(count)
    ]


async def test_ordinary_day_in_utc(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001", headers=SLOTS_V)
    assert response.status == 200
    body = await response.json()
    # Monday, Berlin CEST: 09:00-17:00 local is 07:00-15:00Z, 30-minute slots on a 30-minute grid.
    assert [s["start"] for s in body["data"]["2030-09-02"]] == _expected_day(
        datetime(2030, 9, 2, 7, tzinfo=UTC), 16, 30
    )
    assert list(body["data"]) == ["2030-09-02"]


async def test_bytes_equal_the_shared_formatter(make_client: Factory) -> None:
    client = await make_client()
    params = "start=2030-09-02&end=2030-09-04&eventTypeId=1002&timeZone=Europe/Berlin&format=range"
    response = await client.get(f"/v2/slots?{params}", headers=SLOTS_V)
    text = await response.text()
    query = parse_slots_query(dict(p.split("=") for p in params.split("&")))
    starts = []
    for day in (2, 3, 4):
        first = datetime(2030, 9, day, 7, tzinfo=UTC)
        starts += [first + timedelta(minutes=15 * k) for k in range(29)]
    from proxy.calcom.jsonwire import dumps

    assert text == dumps({"status": "success", "data": slots_data(starts, query, 60)})
    assert (
        '"2030-09-02":[{"start":"2030-09-02T09:00:00.000+02:00","end":"2030-09-02T10:00:00.000+02:00"}'
        in text
    )


async def test_new_york_host_and_date_keys_in_requested_zone(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get(
        "/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=2001&timeZone=Asia/Tokyo", headers=SLOTS_V
    )
    data = (await response.json())["data"]
    # 09:00-17:00 New York (EDT) is 22:00 Mon - 06:00 Tue in Tokyo, but only starts up to 23:59:59Z count.
    first = data["2030-09-02"][0]["start"]
    assert first == "2030-09-02T22:00:00.000+09:00"
    assert set(data) == {"2030-09-02", "2030-09-03"}
    assert data["2030-09-03"][-1]["start"] == "2030-09-03T05:45:00.000+09:00"


async def test_empty_days_omitted_and_weekend_empty(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-06&end=2030-09-08&eventTypeId=1001", headers=SLOTS_V)
    assert list((await response.json())["data"]) == ["2030-09-06"]
    response = await client.get("/v2/slots?start=2030-09-07&end=2030-09-08&eventTypeId=1001", headers=SLOTS_V)
    assert await response.json() == {"status": "success", "data": {}}


async def test_minimum_notice(make_client: Factory, clock: Clock) -> None:
    clock.current = datetime(2030, 9, 2, 9, 10, tzinfo=UTC)  # 11:10 Berlin
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001", headers=SLOTS_V)
    starts = [s["start"] for s in (await response.json())["data"]["2030-09-02"]]
    assert starts[0] == "2030-09-02T10:30:00.000Z"  # first grid start at or after 10:10Z


async def test_bookings_of_one_event_type_block_the_hosts_other_types(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/bookings", json=booking_body("2030-09-02T08:00:00Z", 1001), headers=BOOK_V
    )
    assert response.status == 201
    response = await client.get(
        "/v2/slots?start=2030-09-02T07:00:00Z&end=2030-09-02T10:00:00Z&eventTypeId=1002", headers=SLOTS_V
    )
    starts = [s["start"] for s in (await response.json())["data"]["2030-09-02"]]
    # 60-minute slots overlapping 08:00-08:30Z are gone: 07:15..08:15; 07:00 ends exactly at 08:00; the
    # 09:00 slot ends at the window's end.
    assert starts == [
        "2030-09-02T07:00:00.000Z",
        "2030-09-02T08:30:00.000Z",
        "2030-09-02T08:45:00.000Z",
        "2030-09-02T09:00:00.000Z",
    ]
    # The other host is unaffected.
    response = await client.get(
        "/v2/slots?start=2030-09-02T13:00:00Z&end=2030-09-02T13:30:00Z&eventTypeId=2001", headers=SLOTS_V
    )
    assert len((await response.json())["data"]["2030-09-02"]) == 2


async def test_booking_uid_to_reschedule_frees_its_own_slot(make_client: Factory) -> None:
    client = await make_client()
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T08:00:00Z"), headers=BOOK_V)
    uid = (await response.json())["data"]["uid"]
    url = "/v2/slots?start=2030-09-02T08:00:00Z&end=2030-09-02T08:30:00Z&eventTypeId=1001"
    assert (await (await client.get(url, headers=SLOTS_V)).json())["data"] == {}
    response = await client.get(f"{url}&bookingUidToReschedule={uid}", headers=SLOTS_V)
    assert (await response.json())["data"] == {"2030-09-02": [{"start": "2030-09-02T08:00:00.000Z"}]}


async def test_slots_need_the_2024_09_04_header(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001")
    assert response.status == 404
    body = await response.json()
    assert body["error"]["message"] == "Cannot GET /v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001"


async def test_unknown_event_type_and_unknown_param(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=9", headers=SLOTS_V)
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Event Type not found"
    response = await client.get(
        "/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001&x=1", headers=SLOTS_V
    )
    assert response.status == 400
    assert (await response.json())["error"]["message"] == "x property is wrong,property x should not exist "


async def test_legacy_available_without_header(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get(
        "/v2/slots/available?startTime=2030-09-02T07:00:00Z&endTime=2030-09-02T08:30:00Z&eventTypeId=1001"
    )
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    assert body["data"] == {
        "slots": {
            "2030-09-02": [
                {"time": "2030-09-02T07:00:00.000Z"},
                {"time": "2030-09-02T07:30:00.000Z"},
                {"time": "2030-09-02T08:00:00.000Z"},
            ]
        }
    }
    response = await client.get(
        "/v2/slots/available?startTime=2030-09-02T07:00:00Z&endTime=2030-09-02T08:00:00Z&eventTypeId=1001",
        headers=SLOTS_V,
    )
    assert response.status == 404
