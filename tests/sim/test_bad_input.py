from __future__ import annotations

from typing import Any

import pytest

from tests.sim.conftest import BOOK_V, SLOTS_V, Factory, booking_body, state_of

BOOKING_CASES: list[tuple[str, bytes, str]] = [
    ("malformed", b'{"start": ', "Unexpected end of JSON input"),
    ("garbage", b"{start}", "Unexpected token s in JSON at position 1"),
    ("nan", b'{"start": NaN}', "Unexpected token N in JSON at position 10"),
    ("empty", b"", "Body is required"),
    ("array", b"[1,2]", "Body should be an object"),
    ("string", b'"hi"', "Body should be an object"),
    ("null", b"null", "Body is required"),
    ("not utf8", b"\xff\xfe{}", "Body is not valid UTF-8 JSON"),
]


@pytest.mark.parametrize(("name", "raw", "message"), BOOKING_CASES, ids=[c[0] for c in BOOKING_CASES])
async def test_booking_bodies_get_400_envelopes(
    make_client: Factory, name: str, raw: bytes, message: str
) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/bookings", data=raw, headers={**BOOK_V, "Content-Type": "application/json"}
    )
    assert response.status == 400
    body = await response.json()
    assert (body["status"], body["error"]["code"], body["error"]["message"]) == (
        "error",
        "BadRequestException",
        message,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"start": "2030-02-30T10:00:00Z"},
        {"start": 17},
        {"eventTypeId": "1001"},
        {"eventTypeId": True},
        {"attendee": "Ada"},
        {"attendee": {"name": 1, "email": "a@b.co", "timeZone": "UTC"}},
        {"foo": "bar"},
        {"lengthInMinutes": "30"},
        {"metadata": []},
        {"guests": "a@b.co"},
        {"location": 5},
        {"start": "9999-12-31T23:50:00Z"},
        {"start": "0001-01-01T00:00:00Z"},
    ],
)
async def test_wrong_types_and_unknown_fields(make_client: Factory, changes: dict[str, Any]) -> None:
    client = await make_client()
    response = await client.post(
        "/v2/bookings", json={**booking_body("2030-09-02T07:00:00Z"), **changes}, headers=BOOK_V
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BadRequestException"
    assert state_of(client).bookings == {}


async def test_huge_body_is_413(make_client: Factory) -> None:
    client = await make_client(max_body_bytes=1024)
    response = await client.post("/v2/bookings", data=b"x" * 5000, headers=BOOK_V)
    assert response.status == 413
    assert await response.json() == {"statusCode": 413, "message": "request entity too large"}


@pytest.mark.parametrize(
    "query",
    [
        "start=x&end=2030-09-01&eventTypeId=1001",
        "start=2030-09-02&end=2030-09-03&eventTypeId=1001&timeZone=Bad/Zone",
        "start=2030-09-02&end=2030-09-03&eventTypeId=1001&format=xml",
        "start=2030-09-02&end=2030-09-03",
        "start=9999-12-31T23:59:59-12:00&end=2030-09-03&eventTypeId=1001",
    ],
)
async def test_bad_slot_queries_are_400(make_client: Factory, query: str) -> None:
    client = await make_client()
    response = await client.get(f"/v2/slots?{query}", headers=SLOTS_V)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BadRequestException"


async def test_huge_range_is_clamped_to_one_year_like_calcom(make_client: Factory) -> None:
    client = await make_client()  # the clock stands at 2030-09-01T12:00Z
    response = await client.get("/v2/slots?start=2030-09-02&end=2099-12-31&eventTypeId=2001", headers=SLOTS_V)
    assert response.status == 200
    days = list((await response.json())["data"])
    assert len(days) > 100
    assert max(days) <= "2031-09-01"  # end clamped to now + 1 year: 2031-09-01T12:00Z


async def test_dates_outside_the_window_are_400_naming_the_field(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get("/v2/slots?start=2030-09-02&end=9999-12-31&eventTypeId=2001", headers=SLOTS_V)
    assert response.status == 400
    assert (await response.json())["error"]["message"] == (
        "end property is wrong,maximal allowed date for end is 2100-01-01T00:00:00.000Z "
    )


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("post", "/v2/slots/reservations", b"{"),
        ("post", "/v2/slots/reserve", b"[]"),
        ("post", "/v2/bookings/x/cancel", b"{"),
        ("post", "/_sim/faults", b"{"),
        ("post", "/_sim/bookings", b"nope"),
    ],
)
async def test_other_bodies_never_500(make_client: Factory, method: str, path: str, raw: bytes) -> None:
    client = await make_client()
    response = await getattr(client, method)(
        path, data=raw, headers={**SLOTS_V, "Content-Type": "application/json"}
    )
    assert 400 <= response.status < 500
