from __future__ import annotations

import asyncio
import random

import pytest

from proxy.sim.faults import FaultRates, choose_fault, parse_fault_spec
from tests.sim.conftest import BOOK_V, Factory, booking_body, state_of


def test_fault_spec_and_exact_rates() -> None:
    assert parse_fault_spec("shift=0.5,timeout=1") == FaultRates(shift=0.5, error=0.0, timeout=1.0)
    for bad in ("shift", "boom=1", "error=2", "error=x"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
    rng = random.Random(1)
    assert {choose_fault(FaultRates(error=1.0, shift=1.0), rng) for _ in range(50)} == {"error"}
    assert {choose_fault(FaultRates(), rng) for _ in range(50)} == {None}
    hits = [choose_fault(FaultRates(shift=0.3), random.Random(7)) for _ in range(1)]
    assert hits == [choose_fault(FaultRates(shift=0.3), random.Random(7))]  # seeded draws are reproducible


async def test_error_fault_is_bare_500_without_booking(make_client: Factory) -> None:
    client = await make_client(faults=FaultRates(error=1.0))
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
    assert response.status == 500
    assert await response.json() == {"statusCode": 500, "message": "Internal server error"}
    assert state_of(client).bookings == {}
    assert state_of(client).stats.faults["error"] == 1


async def test_shift_fault_books_the_next_free_slot(make_client: Factory) -> None:
    client = await make_client()
    # Occupy 07:30 so the next free 1001 grid slot after 07:00 is 08:00.
    assert (
        await client.post("/v2/bookings", json=booking_body("2030-09-02T07:30:00Z"), headers=BOOK_V)
    ).status == 201
    response = await client.post("/_sim/faults", json={"shift": 1.0})
    assert (await response.json())["data"]["shift"] == 1.0
    response = await client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
    assert response.status == 201
    data = (await response.json())["data"]
    assert data["start"] == "2030-09-02T08:00:00.000Z"
    truth = (await (await client.get("/_sim/bookings")).json())["data"]
    assert sorted(b["start"] for b in truth) == ["2030-09-02T07:30:00.000Z", "2030-09-02T08:00:00.000Z"]


async def test_timeout_fault_books_and_never_answers(make_client: Factory) -> None:
    client = await make_client(faults=FaultRates(timeout=1.0))
    state = state_of(client)
    task = asyncio.create_task(
        client.post("/v2/bookings", json=booking_body("2030-09-02T07:00:00Z"), headers=BOOK_V)
    )
    for _ in range(200):
        if state.stuck_requests:
            break
        await asyncio.sleep(0.005)
    assert state.stuck_requests == 1
    assert not task.done()
    assert [b.status for b in state.bookings.values()] == ["accepted"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_race_window_lets_concurrent_bookings_both_succeed(make_client: Factory) -> None:
    # Identical requests model issue #13397 only without Cal.com's idempotencyKey guard.
    client = await make_client(race_window_ms=30, idempotency_guard=False)
    body = booking_body("2030-09-02T07:00:00Z")
    responses = await asyncio.gather(
        *(client.post("/v2/bookings", json=body, headers=BOOK_V) for _ in range(2))
    )
    assert [r.status for r in responses] == [201, 201]
    assert len(state_of(client).bookings) == 2


async def test_without_race_window_the_second_loses(make_client: Factory) -> None:
    client = await make_client()
    body = booking_body("2030-09-02T07:00:00Z")
    responses = await asyncio.gather(
        *(client.post("/v2/bookings", json=body, headers=BOOK_V) for _ in range(2))
    )
    assert sorted(r.status for r in responses) == [201, 400]


async def test_idempotency_guard_gives_bare_409(make_client: Factory) -> None:
    client = await make_client(race_window_ms=30, idempotency_guard=True)
    body = booking_body("2030-09-02T07:00:00Z")
    responses = await asyncio.gather(
        *(client.post("/v2/bookings", json=body, headers=BOOK_V) for _ in range(2))
    )
    assert sorted(r.status for r in responses) == [201, 409]
    loser = next(r for r in responses if r.status == 409)
    assert await loser.json() == {"statusCode": 409, "message": "booking_conflict_error"}


async def test_fault_control_validation(make_client: Factory) -> None:
    client = await make_client()
    for bad in ({"shift": 2}, {"error": "x"}, {"latencyMs": -1}, {"nope": 1}, [1]):
        response = await client.post("/_sim/faults", json=bad)
        assert response.status == 400, bad
    response = await client.post(
        "/_sim/faults", json={"latencyMs": 0, "raceWindowMs": 5, "rateLimit": 7, "rngSeed": 3}
    )
    assert (await response.json())["data"] == {
        "shift": 0.0,
        "error": 0.0,
        "timeout": 0.0,
        "latencyMs": 0,
        "raceWindowMs": 5,
        "rateLimit": 7,
    }
    response = await client.get(
        "/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001",
        headers={"cal-api-version": "2024-09-04"},
    )
    assert response.headers["X-RateLimit-Limit-Default"] == "7"


async def test_latency_is_applied_to_v2_requests_only(
    make_client: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy.sim import middlewares

    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(middlewares, "sleep", fake_sleep)
    client = await make_client(latency_ms=250)
    await client.get("/v2/me")
    await client.get("/_sim/stats")
    assert delays == [0.25]
    await client.post("/_sim/faults", json={"latencyMs": 0})
    await client.get("/v2/me")
    assert delays == [0.25]
