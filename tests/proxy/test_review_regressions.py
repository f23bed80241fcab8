"""Regressions found in review: each of these once broke the invariant or gave a wrong answer."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from proxy.commit_records import CommitRecords
from proxy.ledger import CommitState
from proxy.opstats import OpsStats
from proxy.sim.config import SimConfig
from tests.proxy.conftest import BOOKINGS_V, Stack, StackFactory
from tests.proxy.test_e2e_commit import BERLIN, berlin, booking, live


async def test_a_cancelled_booking_is_never_replayed_as_booked(stack: Stack) -> None:
    made = await stack.book("A", booking("13:30"))
    uid = made.json()["data"]["uid"]
    cancelled = await stack.proxy.post(
        f"/v2/bookings/{uid}/cancel", json={}, headers={**BOOKINGS_V, "X-Call-Id": "A"}
    )
    assert cancelled.status_code == 200
    again = await stack.book("A", booking("13:30"))
    assert again.status_code == 201
    assert again.json()["data"]["uid"] != uid, "a new booking, not the cancelled one replayed"
    assert [b["uid"] for b in live(await stack.truth())] == [again.json()["data"]["uid"]]


async def test_one_caller_with_two_keys_never_gets_two_bookings(make_stack: StackFactory) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, latency_ms=200, race_window_ms=300))
    a, b = await asyncio.gather(
        stack.book("A", booking("10:00", name="Ann"), **{"Idempotency-Key": "k1"}),
        stack.book("A", booking("10:00", name="Bob"), **{"Idempotency-Key": "k2"}),
    )
    assert sorted([a.status_code, b.status_code]) == [201, 409]
    assert len(live(await stack.truth())) == 1


async def test_a_failed_side_write_after_a_verified_booking_still_answers_booked(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def blip(self: OpsStats, *args: object) -> None:
        raise RedisConnectionError("blip")

    monkeypatch.setattr(OpsStats, "record_commit", blip)
    response = await stack.book("A", booking("14:00"))
    assert response.status_code == 201
    (entry,) = [e async for e in stack.services.ledger.entries()]
    assert entry.state is CommitState.CONFIRMED
    assert [b["uid"] for b in live(await stack.truth())] == [response.json()["data"]["uid"]]


async def test_an_unrecorded_booking_is_never_answered_booked(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CommitRecords.close

    async def fail_confirmed(self, ticket, owner, closing, guard):  # type: ignore[no-untyped-def]
        if closing.entry.state is CommitState.CONFIRMED:
            raise RedisConnectionError("blip")
        return await original(self, ticket, owner, closing, guard)

    monkeypatch.setattr(CommitRecords, "close", fail_confirmed)
    response = await stack.book("A", booking("14:30"))
    assert response.status_code == 503
    monkeypatch.undo()
    # The entry stayed pending, so reconciliation treats the booking as never confirmed and cancels it.
    (entry,) = [e async for e in stack.services.ledger.entries()]
    assert entry.state is CommitState.PENDING
    stack.services.reconciler.pending_grace_ms = 0
    report = await stack.services.reconciler.run()
    assert len(report.ghosts_cancelled) == 1 and live(await stack.truth()) == []


async def test_held_alternatives_never_exceed_what_stays_held(stack: Stack) -> None:
    await stack.quote("X", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    quote = await stack.quote(
        "B", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN, alternatives=5, holdAlternatives=True
    )
    announced = [a for a in quote["alternatives"] if a.get("reservationUid")]
    assert len(quote["alternatives"]) == 5 and len(announced) == 3  # the per-caller cap
    for alternative in announced:
        other = await stack.quote("C", eventTypeId=1001, start=alternative["start"], timeZone=BERLIN)
        assert other["available"] is False, "an alternative announced as held must really be held"


async def test_legacy_reserve_holds_one_slot_not_a_day(stack: Stack) -> None:
    day = berlin("09:00")[:10]
    whole_day = {
        "eventTypeId": 1001,
        "slotUtcStartDate": f"{day}T00:00:00Z",
        "slotUtcEndDate": f"{day}T23:59:00Z",
    }
    refused = await stack.proxy.post("/v2/slots/reserve", json=whole_day)
    assert refused.status_code == 400
    assert "slot length (30 minutes)" in refused.json()["error"]["message"]
    past = {
        "eventTypeId": 1001,
        "slotUtcStartDate": "2020-01-06T09:00:00Z",
        "slotUtcEndDate": "2020-01-06T09:30:00Z",
    }
    assert (await stack.proxy.post("/v2/slots/reserve", json=past)).status_code == 400


async def test_reschedule_may_overlap_the_booking_it_moves(stack: Stack) -> None:
    made = await stack.book("A", booking("10:00", event_type_id=1002))  # 60 minutes on a 15-minute grid
    assert made.status_code == 201
    uid = made.json()["data"]["uid"]
    moved = await stack.proxy.post(
        f"/v2/bookings/{uid}/reschedule",
        json={"start": berlin("10:15")},
        headers={**BOOKINGS_V, "X-Call-Id": "A"},
    )
    assert moved.status_code == 201, moved.text
    (booked,) = live(await stack.truth())
    assert booked["uid"] == moved.json()["data"]["uid"] and booked["start"].startswith(berlin("10:15")[:10])
    # The new time is protected at once: another caller is refused 10:30 (inside 10:15-11:15).
    other = await stack.quote("B", eventTypeId=1002, start=berlin("10:30"), timeZone=BERLIN)
    assert other["available"] is False


async def test_a_refused_reschedule_keeps_the_old_booking_protected(stack: Stack) -> None:
    made = await stack.book("A", booking("09:00"))
    uid = made.json()["data"]["uid"]
    refused = await stack.proxy.post(
        f"/v2/bookings/{uid}/reschedule",
        json={"start": berlin("09:10")},
        headers={**BOOKINGS_V, "X-Call-Id": "A"},
    )
    assert refused.status_code == 400  # not a slot
    again = await stack.quote("B", eventTypeId=1001, start=berlin("09:00"), timeZone=BERLIN)
    assert again["available"] is False and again["reason"] == "booked"
