"""Holds through the proxy: what one caller holds, no other caller is offered or may book."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from proxy.app import connect_redis
from proxy.calcom.timefmt import parse_instant
from tests.proxy.conftest import SLOTS_V, Stack, StackFactory, next_weekday

DAY = next_weekday(21)
BERLIN = "Europe/Berlin"


def berlin(hhmm: str) -> str:
    """A local Berlin wall time on the test day, with its offset (winter or summer)."""
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def attendee(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name.lower()}@example.com", "timeZone": BERLIN}


async def slot_starts(stack: Stack, event_type_id: int, call_id: str) -> list[str]:
    params = {"eventTypeId": str(event_type_id), "start": str(DAY), "end": str(DAY), "timeZone": BERLIN}
    response = await stack.proxy.get("/v2/slots", params=params, headers={**SLOTS_V, "X-Call-Id": call_id})
    assert response.status_code == 200
    return [s["start"] for s in response.json()["data"].get(str(DAY), [])]


async def test_held_slot_is_hidden_from_others_and_visible_to_its_holder(stack: Stack) -> None:
    quote = await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    assert quote["available"] is True
    assert quote["slot"] == {"start": berlin("13:00"), "end": berlin("13:30")}
    assert berlin("13:00") not in await slot_starts(stack, 1001, "B")
    assert berlin("13:00") in await slot_starts(stack, 1001, "A")
    assert berlin("13:30") in await slot_starts(stack, 1001, "B")


async def test_hold_hides_overlapping_slots_of_a_15_minute_grid(stack: Stack) -> None:
    quote = await stack.quote("A", eventTypeId=1002, start=berlin("13:00"), timeZone=BERLIN)
    assert quote["available"] is True
    seen_by_b = await slot_starts(stack, 1002, "B")
    for hidden in ("12:15", "12:30", "12:45", "13:00", "13:15", "13:30", "13:45"):
        assert berlin(hidden) not in seen_by_b, hidden
    for visible in ("12:00", "14:00"):
        assert berlin(visible) in seen_by_b, visible
    # 1001 shares host 1's calendar (one resource group), so its overlapping slots are hidden too.
    seen_1001 = await slot_starts(stack, 1001, "B")
    assert berlin("13:30") not in seen_1001 and berlin("14:00") in seen_1001


async def test_second_caller_is_told_held_with_alternatives(stack: Stack) -> None:
    await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    quote = await stack.quote("B", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN, alternatives=2)
    assert quote["available"] is False and quote["reason"] == "held"
    assert quote["reservationUid"] is None
    assert [a["start"] for a in quote["alternatives"]] == [berlin("12:30"), berlin("13:30")]


async def test_other_callers_booking_is_refused_without_touching_calcom(stack: Stack) -> None:
    await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    response = await stack.book(
        "B", {"eventTypeId": 1001, "start": berlin("13:00"), "attendee": attendee("Bea")}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ConflictException"
    assert "reserved by another caller" in error["message"]
    assert error["details"]["alternatives"]
    assert 0 < error["details"]["secondsUntilRelease"] <= 60
    assert await stack.truth() == []
    stats = (await stack.direct.get("/_sim/stats")).json()["data"]["requests"]
    assert "POST /v2/bookings" not in stats


async def test_holder_books_the_exact_instant(stack: Stack) -> None:
    quote = await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    response = await stack.book(
        "A", {"eventTypeId": 1001, "start": berlin("13:00"), "attendee": attendee("Ann")}
    )
    assert response.status_code == 201, response.text
    booking = response.json()["data"]
    truth = await stack.truth()
    assert [(b["uid"], b["start"], b["status"]) for b in truth] == [
        (booking["uid"], booking["start"], "accepted")
    ]
    assert parse_instant(booking["start"]) == parse_instant(quote["slot"]["start"])
    assert parse_instant(truth[0]["start"]) == parse_instant(berlin("13:00"))
    # The hold became a booked marker: nobody is offered the slot, even before the snapshot refreshes.
    again = await stack.quote("C", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    assert again["available"] is False and again["reason"] == "booked"


async def test_holder_without_call_id_books_with_reserved_slot_uid(stack: Stack) -> None:
    reserve = await stack.proxy.post(
        "/v2/slots/reservations",
        json={"eventTypeId": 1001, "slotStart": berlin("15:00")},
        headers=SLOTS_V,
    )
    assert reserve.status_code == 201, reserve.text
    uid = reserve.json()["data"]["reservationUid"]
    # A stranger without the uid is refused...
    stranger = await stack.book(
        None, {"eventTypeId": 1001, "start": berlin("15:00"), "attendee": attendee("Eve")}
    )
    assert stranger.status_code == 409
    # ...the holder, passing it back as reservedSlotUid, books it (and the field never reaches Cal.com).
    body = {
        "eventTypeId": 1001,
        "start": berlin("15:00"),
        "attendee": attendee("Ann"),
        "reservedSlotUid": uid,
    }
    response = await stack.book(None, body)
    assert response.status_code == 201, response.text
    assert len(await stack.truth()) == 1


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real_redis)])
async def any_redis(request: pytest.FixtureRequest) -> AsyncIterator[aioredis.Redis | None]:
    """None (the app's own fakeredis) or a real server behind a pool sized like production's."""
    if request.param == "fake":
        yield None
        return
    server = request.getfixturevalue("redis_server")
    client = connect_redis(server.url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def test_100_concurrent_quotes_of_one_slot_make_exactly_one_hold(
    make_stack: StackFactory, any_redis: aioredis.Redis | None
) -> None:
    stack = await make_stack(redis=any_redis)
    body: dict[str, Any] = {
        "eventTypeId": 1002,
        "start": berlin("10:00"),
        "timeZone": BERLIN,
        "alternatives": 0,
    }
    answers = await asyncio.gather(*(stack.quote(f"caller-{i}", **body) for i in range(100)))
    winners = [a for a in answers if a["available"]]
    assert len(winners) == 1
    assert {a["reason"] for a in answers if not a["available"]} == {"held"}
    holds = await stack.services.holds.live("grp:host-1", 0, 2**62)
    assert len(holds) == 1


async def test_reservation_endpoints_round_trip(stack: Stack) -> None:
    created = await stack.proxy.post(
        "/v2/slots/reservations", json={"eventTypeId": 1001, "slotStart": berlin("11:00")}, headers=SLOTS_V
    )
    assert created.status_code == 201
    data = created.json()["data"]
    assert set(data) == {
        "eventTypeId",
        "slotStart",
        "slotEnd",
        "slotDuration",
        "reservationUid",
        "reservationDuration",
        "reservationUntil",
    }
    assert data["slotDuration"] == 30 and data["slotEnd"].endswith("Z")
    uid = data["reservationUid"]
    fetched = (await stack.proxy.get(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)).json()
    assert fetched["data"]["reservationUid"] == uid and "reservationDuration" not in fetched["data"]
    conflict = await stack.proxy.post(
        "/v2/slots/reservations", json={"eventTypeId": 1002, "slotStart": berlin("10:45")}, headers=SLOTS_V
    )
    assert conflict.status_code == 422
    assert conflict.json()["error"]["message"] == (
        "This time slot is already reserved by another user. Please choose a different time."
    )
    deleted = await stack.proxy.delete(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)
    assert deleted.json() == {"status": "success"}
    gone = (await stack.proxy.get(f"/v2/slots/reservations/{uid}", headers=SLOTS_V)).json()
    assert gone == {"status": "success", "data": None}
    assert berlin("11:00") in await slot_starts(stack, 1001, "anyone")


async def test_legacy_reserve_and_delete(stack: Stack) -> None:
    body = {"eventTypeId": 1001, "slotUtcStartDate": berlin("16:00"), "slotUtcEndDate": berlin("16:30")}
    reserved = await stack.proxy.post("/v2/slots/reserve", json=body)
    assert reserved.status_code == 201
    uid = reserved.json()["data"]
    assert isinstance(uid, str) and reserved.cookies.get("uid") == uid
    assert berlin("16:00") not in await slot_starts(stack, 1001, "other")
    released = await stack.proxy.delete("/v2/slots/delete", params={"uid": uid})
    assert released.json() == {"status": "success"}
    assert berlin("16:00") in await slot_starts(stack, 1001, "other")
