"""The verified commit against a misbehaving Cal.com: never a 2xx for a booking that is not exactly there."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from proxy.calcom.timefmt import parse_instant
from proxy.ledger import CommitState, LedgerEntry
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from tests.proxy.conftest import BOOKINGS_V, Stack, StackFactory, next_weekday

DAY = next_weekday(21, weekday=1)
BERLIN = "Europe/Berlin"


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def booking(hhmm: str, name: str = "Ann", event_type_id: int = 1001, **extra: Any) -> dict[str, Any]:
    attendee = {"name": name, "email": f"{name.lower()}@example.com", "timeZone": BERLIN}
    return {"eventTypeId": event_type_id, "start": berlin(hhmm), "attendee": attendee, **extra}


def live(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in truth if b["status"] != "cancelled"]


async def upstream_posts(stack: Stack) -> int:
    requests = (await stack.direct.get("/_sim/stats")).json()["data"]["requests"]
    return sum(requests.get("POST /v2/bookings", {}).values())


async def test_shift_fault_never_confirms_and_every_shifted_booking_is_cancelled(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, faults=FaultRates(shift=1.0)))
    for i, hhmm in enumerate(("09:00", "10:00", "11:30", "14:00", "15:30")):
        await stack.quote(f"c{i}", eventTypeId=1001, start=berlin(hhmm), timeZone=BERLIN)
        response = await stack.book(f"c{i}", booking(hhmm, name=f"Caller{i}"))
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["details"]["reason"] == "mismatch" and error["details"]["compensated"] is True
        assert error["details"]["alternatives"]
    truth = await stack.truth()
    assert len(truth) == 5, "the simulator did create the shifted bookings"
    assert live(truth) == [], "every shifted booking ended cancelled"
    entries = [e async for e in stack.services.ledger.entries()]
    assert {e.state for e in entries} == {CommitState.COMPENSATED}


async def test_off_grid_start_is_not_a_slot_with_alternatives(stack: Stack) -> None:
    quote = await stack.quote("A", eventTypeId=1001, start=berlin("13:10"), timeZone=BERLIN, alternatives=2)
    assert quote["available"] is False and quote["reason"] == "not_a_slot"
    assert [a["start"] for a in quote["alternatives"]] == [berlin("13:00"), berlin("13:30")]
    response = await stack.book("A", booking("13:10"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["reason"] == "not_a_slot"
    assert {berlin("13:00"), berlin("13:30")} <= set(error["details"]["alternatives"])
    assert await upstream_posts(stack) == 0, "Cal.com would have accepted 13:10: it must never see it"


async def test_race_window_cannot_confirm_two_proxy_callers(make_stack: StackFactory) -> None:
    # Identical concurrent bookings model issue #13397 only with Cal.com's duplicate guard off.
    stack = await make_stack(sim=SimConfig(rate_limit=0, race_window_ms=300, idempotency_guard=False))
    # First prove the window is real: straight at the simulator, concurrent bookings of one slot both land.
    direct = await asyncio.gather(
        *(
            stack.direct.post("/v2/bookings", json=booking("10:00", f"D{i}"), headers=BOOKINGS_V)
            for i in range(3)
        )
    )
    assert [r.status_code for r in direct].count(201) >= 2
    # Through the proxy, ten callers racing for another slot: exactly one is confirmed.
    through = await asyncio.gather(*(stack.book(f"p{i}", booking("12:00", f"P{i}")) for i in range(10)))
    codes = [r.status_code for r in through]
    assert codes.count(201) == 1, codes
    assert all(c == 409 for c in codes if c != 201)
    at_noon = [
        b for b in live(await stack.truth()) if parse_instant(b["start"]) == parse_instant(berlin("12:00"))
    ]
    assert len(at_noon) == 1


async def test_outside_channel_booking_is_passed_through_with_alternatives(stack: Stack) -> None:
    quote = await stack.quote("A", eventTypeId=1001, start=berlin("14:00"), timeZone=BERLIN)
    assert quote["available"]
    outside = await stack.direct.post("/_sim/bookings", json={"eventTypeId": 1001, "start": berlin("14:00")})
    assert outside.status_code == 201
    response = await stack.book("A", booking("14:00"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "User either already has booking at this time or is not available"
    assert error["code"] == "BadRequestException"
    assert error["details"]["alternatives"]
    assert len(live(await stack.truth())) == 1
    assert not await stack.services.holds.live("grp:host-1", 0, 2**62), "the useless hold was released"


async def test_error_fault_answers_502_and_books_nothing(make_stack: StackFactory) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, faults=FaultRates(error=1.0)))
    response = await stack.book("A", booking("09:30"))
    assert response.status_code == 502
    assert response.json()["error"]["details"]["alternatives"]
    assert await stack.truth() == []


async def test_timeout_fault_is_resolved_by_looking_the_booking_up(make_stack: StackFactory) -> None:
    stack = await make_stack(
        sim=SimConfig(rate_limit=0, faults=FaultRates(timeout=1.0)), settings={"upstream_timeout_s": 0.5}
    )
    response = await stack.book("A", booking("11:00"))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    truth = live(await stack.truth())
    assert [b["uid"] for b in truth] == [data["uid"]]
    assert parse_instant(truth[0]["start"]) == parse_instant(berlin("11:00"))


async def test_timeout_without_credentials_to_look_up_is_504_and_left_to_reconciliation(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(
        sim=SimConfig(rate_limit=0, faults=FaultRates(timeout=1.0)),
        settings={"upstream_timeout_s": 0.5, "upstream_api_key": None},
    )
    # The caller's key (another host's user) books event type 1001 but cannot list its bookings, and the
    # proxy has no key of its own: the outcome cannot be looked up.
    response = await stack.book("A", booking("11:00"), Authorization="Bearer cal_test_beta")
    assert response.status_code == 504
    entries = [e async for e in stack.services.ledger.entries()]
    assert [e.state for e in entries] == [CommitState.UNKNOWN]


async def test_commit_without_quote_books_a_free_slot_on_a_fresh_snapshot(stack: Stack) -> None:
    response = await stack.book("Z", booking("16:00"))
    assert response.status_code == 201
    assert parse_instant(response.json()["data"]["start"]) == parse_instant(berlin("16:00"))


async def test_idempotency_key_replays_and_guards(stack: Stack) -> None:
    body = booking("09:00")
    first = await stack.book("A", body, **{"Idempotency-Key": "k-1"})
    again = await stack.book("A", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    other = await stack.book("A", booking("09:30"), **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert len(await stack.truth()) == 1


@pytest.mark.parametrize(
    "raw",
    [
        b'{"eventTypeId":1001,"start":"2027-01-12T09:00:00Z","attendee":',
        b'{"eventTypeId":1001,"start":"2027-01-12T09:00:00Z","attendee":{"name":"A","timeZone":"UTC"},"x":1}',
        b'{"eventTypeId":"1001","start":"2027-01-12T09:00:00Z","attendee":{"name":"A","email":"a@b.co","timeZone":"UTC"}}',
        b'{"eventTypeId":1001,"start":"2027-02-30T09:00:00Z","attendee":{"name":"A","email":"a@b.co","timeZone":"UTC"}}',
        b'{"eventTypeId":1001,"start":"2027-01-12T09:00:00Z","attendee":{"name":"A","timeZone":"UTC"}}',
        b"[1,2,3]",
        b"",
    ],
    ids=["malformed", "unknown-field", "string-id", "impossible-date", "no-contact", "array", "empty"],
)
async def test_bad_bodies_are_refused_as_calcom_refuses_them(stack: Stack, raw: bytes) -> None:
    headers = {**BOOKINGS_V, "content-type": "application/json"}
    direct = await stack.direct.post("/v2/bookings", content=raw, headers=headers)
    proxied = await stack.proxy.post("/v2/bookings", content=raw, headers=headers)
    assert direct.status_code == 400
    assert proxied.status_code == direct.status_code
    assert proxied.json()["error"]["message"] == direct.json()["error"]["message"]
    assert await stack.truth() == []


async def test_huge_body_is_refused_not_crashed(stack: Stack) -> None:
    response = await stack.book("A", booking("09:00", metadata={"k": "x" * 2_000_000}))
    assert response.status_code == 413


async def test_redis_down_fails_closed(make_stack: StackFactory) -> None:
    server = fakeredis.FakeServer()
    stack = await make_stack(redis=fakeredis.FakeAsyncRedis(server=server))
    server.connected = False
    response = await stack.proxy.post(
        "/calproxy/v1/quote", json={"eventTypeId": 1001, "start": berlin("09:00"), "timeZone": BERLIN}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ServiceUnavailableException"
    assert (await stack.proxy.get("/readyz")).status_code == 503


async def test_reconciliation_proves_the_calendar_and_cancels_ghosts(stack: Stack) -> None:
    confirmed = await stack.book("A", booking("10:30"))
    assert confirmed.status_code == 201
    # A ghost: Cal.com holds a booking tagged with a commit that was never confirmed to anyone.
    now = int(datetime.now().timestamp() * 1000)
    ghost = LedgerEntry(
        commit_id="ghost-commit",
        tenant="public",
        event_type_id=1001,
        resource="grp:host-1",
        start_ms=int(parse_instant(berlin("15:00")).timestamp() * 1000),
        end_ms=int(parse_instant(berlin("15:30")).timestamp() * 1000),
        state=CommitState.UNKNOWN,
        created_ms=now,
        updated_ms=now,
    )
    await stack.services.ledger.write(ghost)
    made = await stack.direct.post(
        "/_sim/bookings",
        json={"eventTypeId": 1001, "start": berlin("15:00"), "metadata": {"calproxyCommit": "ghost-commit"}},
    )
    assert made.status_code == 201
    report = await stack.services.reconciler.run()
    assert report.consistency_ratio == 1.0 and report.confirmed == 1
    assert report.ghosts_cancelled == [made.json()["data"]["uid"]]
    assert [b["uid"] for b in live(await stack.truth())] == [confirmed.json()["data"]["uid"]]
    # Someone cancels the confirmed booking behind the proxy's back: the ratio says so.
    uid = confirmed.json()["data"]["uid"]
    await stack.direct.post(f"/v2/bookings/{uid}/cancel", json={}, headers=BOOKINGS_V)
    report = await stack.services.reconciler.run()
    assert report.consistency_ratio == 0.0 and report.mismatched


async def test_cancel_through_the_proxy_frees_the_slot(stack: Stack) -> None:
    made = await stack.book("A", booking("13:30"))
    uid = made.json()["data"]["uid"]
    blocked = await stack.quote("B", eventTypeId=1001, start=berlin("13:30"), timeZone=BERLIN)
    assert blocked["available"] is False
    cancelled = await stack.proxy.post(f"/v2/bookings/{uid}/cancel", json={}, headers=BOOKINGS_V)
    assert cancelled.status_code == 200
    freed = await stack.quote("B", eventTypeId=1001, start=berlin("13:30"), timeZone=BERLIN)
    assert freed["available"] is True


async def test_reschedule_is_a_verified_commit(stack: Stack) -> None:
    made = await stack.book("A", booking("09:00"))
    uid = made.json()["data"]["uid"]
    await stack.quote("B", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    held = await stack.proxy.post(
        f"/v2/bookings/{uid}/reschedule",
        json={"start": berlin("10:00")},
        headers={**BOOKINGS_V, "X-Call-Id": "A"},
    )
    assert held.status_code == 409, "B holds 10:00"
    moved = await stack.proxy.post(
        f"/v2/bookings/{uid}/reschedule",
        json={"start": berlin("11:00")},
        headers={**BOOKINGS_V, "X-Call-Id": "A"},
    )
    assert moved.status_code == 201, moved.text
    truth = live(await stack.truth())
    assert [parse_instant(b["start"]) for b in truth] == [parse_instant(berlin("11:00"))]


async def test_same_caller_same_slot_never_books_twice(make_stack: StackFactory) -> None:
    # A slow Cal.com and an impatient agent retrying: concurrent and later retries of one slot.
    stack = await make_stack(sim=SimConfig(rate_limit=0, latency_ms=200, race_window_ms=100))
    first, second = await asyncio.gather(stack.book("A", booking("10:00")), stack.book("A", booking("10:00")))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    later = await stack.book("A", booking("10:00"))
    winner = first if first.status_code == 201 else second
    assert later.status_code == 201 and later.content == winner.content, "the first outcome is replayed"
    # Another body under the same call id is not that caller's retry: never the first booking, never a second.
    changed = await stack.book("A", booking("10:00", name="Annie"))
    assert changed.status_code == 409 and changed.content != winner.content
    assert len(live(await stack.truth())) == 1


async def test_idempotency_key_in_flight_is_409(make_stack: StackFactory) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, latency_ms=200))
    body = booking("11:30")
    a, b = await asyncio.gather(
        stack.book("A", body, **{"Idempotency-Key": "same"}),
        stack.book("A", body, **{"Idempotency-Key": "same"}),
    )
    assert sorted([a.status_code, b.status_code]) == [201, 409]
    assert len(live(await stack.truth())) == 1


async def test_hold_lost_during_a_slow_commit_still_ends_in_a_booked_marker(make_stack: StackFactory) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, latency_ms=1000))
    await stack.quote("A", eventTypeId=1001, start=berlin("16:30"), timeZone=BERLIN)
    commit = asyncio.ensure_future(stack.book("A", booking("16:30")))
    for _ in range(100):  # wait (bounded) until the create is waiting on Cal.com
        (hold,) = await stack.services.holds.live("grp:host-1", 0, 2**62)
        if hold.state.value == "committing":
            break
        await asyncio.sleep(0.01)
    assert hold.state.value == "committing"
    assert await stack.services.holds.force_release("grp:host-1", hold.uid)
    response = await commit
    assert response.status_code == 201, "the booking was verified; losing our hold does not undo it"
    (marker,) = await stack.services.holds.live("grp:host-1", 0, 2**62)
    assert marker.state.value == "booked" and marker.uid != hold.uid
    (entry,) = [e async for e in stack.services.ledger.entries()]
    assert entry.state is CommitState.CONFIRMED and entry.hold_uid == marker.uid
    assert "calproxy_hold_expired_during_commit_total 1.0" in (await stack.proxy.get("/metrics")).text
