"""Holds mirrored into Cal.com as reservations (issue 11, item 3; CALPROXY_MIRROR_HOLDS=1).

A hold lived only in calproxy's Redis, so Cal.com's own booking page (which honours Cal.com reservations:
slots.service.ts passes no booker uid, every unexpired reservation of the hosts is busy time) kept offering a
slot a caller was holding. Mirrored, the slot disappears from Cal.com's own slot list while the hold lives,
comes back when it is released, and calproxy's own view of the slot is unchanged.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from proxy.errors import UpstreamUnavailable
from proxy.mirror import RESERVATIONS
from proxy.slotmath import DAY_MS
from proxy.upstream import CalcomClient
from proxy.upstream_budget import tracker_of
from tests.proxy.conftest import Stack, StackFactory
from tests.proxy.fleet import AUTH
from tests.proxy.test_e2e_commit import BERLIN, berlin, booking

MIRRORED: dict[str, Any] = {"mirror_holds": True}


def live_reservations(stack: Stack) -> list[Any]:
    now = stack.sim.state.now()
    return [r for r in stack.sim.state.reservations.values() if r.release_at > now]


async def sim_starts(stack: Stack, day: str, event_type_id: int = 1001) -> list[str]:
    """What Cal.com's own booking page would offer (its slot list, asked directly)."""
    query = {"eventTypeId": str(event_type_id), "start": day, "end": day, "timeZone": BERLIN}
    answer = await stack.direct.get("/v2/slots", params=query, headers={"cal-api-version": "2024-09-04"})
    return [s["start"] for s in answer.json()["data"].get(day, [])]


async def proxy_starts(stack: Stack, day: str, call_id: str) -> list[str]:
    query = {"eventTypeId": "1001", "start": day, "end": day, "timeZone": BERLIN}
    headers = {"cal-api-version": "2024-09-04", "X-Call-Id": call_id}
    answer = await stack.proxy.get("/v2/slots", params=query, headers=headers)
    return [s["start"] for s in answer.json()["data"].get(day, [])]


def mirrors(stack: Stack, result: str) -> float:
    return stack.services.metrics.hold_mirrors.labels(result=result)._value.get()


async def test_a_held_slot_is_hidden_from_cal_coms_own_page_and_comes_back_on_release(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(settings=MIRRORED)
    day = berlin("11:00")[:10]
    assert berlin("11:00") in await sim_starts(stack, day)
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("11:00"), timeZone=BERLIN)
    assert quoted["available"] is True
    await stack.services.mirror.drain()
    assert [r.event_type_id for r in live_reservations(stack)] == [1001]
    assert berlin("11:00") not in await sim_starts(stack, day), "the booking page no longer offers it"
    # calproxy's own view is unchanged: A still sees its slot, B sees it held, even from a fresh snapshot
    # (Cal.com hides the reservation from calproxy too; calproxy adds its own back).
    services = stack.services
    start_ms = int(stack.sim.state.now().timestamp() * 1000)
    await services.snapshots.invalidate(1001, None, range(start_ms // DAY_MS, start_ms // DAY_MS + 60))
    assert berlin("11:00") in await proxy_starts(stack, day, "A")
    assert berlin("11:00") not in await proxy_starts(stack, day, "B")
    # Released through calproxy: the reservation goes, the page offers the slot again.
    released = await stack.proxy.delete(
        f"/v2/slots/reservations/{quoted['reservationUid']}",
        headers={"X-Call-Id": "A", "cal-api-version": "2024-09-04"},
    )
    assert released.status_code == 200, released.text
    await services.mirror.drain()
    assert live_reservations(stack) == []
    assert berlin("11:00") in await sim_starts(stack, day)
    assert mirrors(stack, "mirrored") == 1 and mirrors(stack, "removed") == 1


async def test_a_booked_hold_leaves_no_reservation_behind(make_stack: StackFactory) -> None:
    stack = await make_stack(settings=MIRRORED)
    await stack.quote("A", eventTypeId=1001, start=berlin("12:00"), timeZone=BERLIN)
    await stack.services.mirror.drain()
    assert len(live_reservations(stack)) == 1
    assert (await stack.book("A", booking("12:00"))).status_code == 201
    await stack.services.mirror.drain()
    assert live_reservations(stack) == []


async def test_a_mirror_failure_never_blocks_a_quote_or_a_commit(
    make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = await make_stack(settings=MIRRORED)
    real = CalcomClient.request

    async def failing(self: CalcomClient, method: str, path: str, **kwargs: Any) -> Any:
        if path.startswith(RESERVATIONS):
            raise UpstreamUnavailable()
        return await real(self, method, path, **kwargs)

    monkeypatch.setattr(CalcomClient, "request", failing)
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone=BERLIN)
    assert quoted["available"] is True
    await stack.services.mirror.drain()
    assert mirrors(stack, "failed") == 1 and live_reservations(stack) == []
    assert (await stack.book("A", booking("13:00"))).status_code == 201


async def test_a_short_upstream_budget_degrades_to_redis_only_holds(make_stack: StackFactory) -> None:
    """Mirrors draw at a lower priority than slot fetches and never wait: past their share, skipped."""
    stack = await make_stack(settings={**MIRRORED, "upstream_budget_per_minute": 20})
    services = stack.services
    # 14 of 20 places used this minute: slot fetches (90 %: 18) still go, mirrors (70 %: 14) do not.
    window = services.keys.upstream_window(tracker_of(AUTH, services.tenant_secret))
    now_ms = int(time.time() * 1000)
    await services.redis.zadd(window, {f"{now_ms}:{i}": now_ms for i in range(14)})
    first = await stack.quote("A", eventTypeId=1001, start=berlin("14:00"), timeZone=BERLIN)
    assert first["available"] is True
    await stack.services.mirror.drain()
    assert mirrors(stack, "degraded") >= 1
    assert live_reservations(stack) == []


async def test_off_by_default(stack: Stack) -> None:
    await stack.quote("A", eventTypeId=1001, start=berlin("15:00"), timeZone=BERLIN)
    await stack.services.mirror.drain()
    assert live_reservations(stack) == [] and mirrors(stack, "mirrored") == 0
