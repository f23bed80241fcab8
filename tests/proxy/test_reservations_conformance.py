"""The proxy's own reservation answers against Cal.com's (the simulator answers for Cal.com)."""

from __future__ import annotations

from typing import Any

import httpx

from proxy.calcom.reservations import ALREADY_RESERVED
from proxy.handlers.reservations import REFRESH_HEADER
from tests.proxy.conftest import SLOTS_V, Stack, next_weekday

DAY = next_weekday(21)
RESERVATIONS = "/v2/slots/reservations"


def _hold(hhmm: str) -> dict[str, Any]:
    return {"eventTypeId": 1001, "slotStart": f"{DAY}T{hhmm}:00Z"}


def _without_timestamp(response: httpx.Response) -> dict[str, Any]:
    body = dict(response.json())
    body.pop("timestamp", None)
    return body


async def _reserve(client: httpx.AsyncClient, hhmm: str) -> str:
    response = await client.post(RESERVATIONS, json=_hold(hhmm), headers=SLOTS_V)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["reservationUid"])


async def test_patch_over_own_unexpired_time_is_already_reserved(stack: Stack) -> None:
    """slots.service.ts:321 + slots.repository.ts:35-57: the overlap check on update has no uid filter, so
    PATCH over the reservation's own live time is 422 in Cal.com (the simulator) and in the proxy.
    calproxy's X-Calproxy-Refresh header keeps its way to extend a live hold in place."""
    for client in (stack.direct, stack.proxy):
        uid = await _reserve(client, "09:00")
        response = await client.patch(f"{RESERVATIONS}/{uid}", json=_hold("09:15"), headers=SLOTS_V)
        assert response.status_code == 422, (client.base_url, response.text)
        assert response.json()["error"]["message"] == ALREADY_RESERVED
        moved = await client.patch(f"{RESERVATIONS}/{uid}", json=_hold("10:00"), headers=SLOTS_V)
        assert moved.status_code == 200, moved.text
        await client.delete(f"{RESERVATIONS}/{moved.json()['data']['reservationUid']}", headers=SLOTS_V)
    uid = await _reserve(stack.proxy, "11:00")
    body = {**_hold("11:00"), "reservationDuration": 9}
    refreshed = await stack.proxy.patch(
        f"{RESERVATIONS}/{uid}", json=body, headers={**SLOTS_V, REFRESH_HEADER: "1"}
    )
    assert refreshed.status_code == 200 and refreshed.json()["data"]["reservationUid"] == uid


async def test_global_pipe_strips_unknown_keys_and_shapes_errors_like_calcom(stack: Stack) -> None:
    """bootstrap.ts:58-70 (whitelist, no forbidNonWhitelisted; BadRequestException({errors})): the proxy
    parses reservation bodies with the same pipe, so its 400 equals the simulator's but for timestamp."""
    response = await stack.proxy.post(RESERVATIONS, json={**_hold("12:00"), "x": 1}, headers=SLOTS_V)
    assert response.status_code == 201
    bad = {"eventTypeId": "1001", "slotStart": "soon", "x": 1}
    proxied = await stack.proxy.post(RESERVATIONS, json=bad, headers=SLOTS_V)
    direct = await stack.direct.post(RESERVATIONS, json=bad, headers=SLOTS_V)
    assert proxied.status_code == direct.status_code == 400
    assert _without_timestamp(proxied) == _without_timestamp(direct)
    assert proxied.json()["error"]["message"] == "Bad Request Exception"
    assert [e["property"] for e in proxied.json()["error"]["details"]["errors"]] == [
        "eventTypeId",
        "slotStart",
    ]


async def test_reservation_get_keys_start_with_reservation_uid(stack: Stack) -> None:
    """GetReservedSlotOutput_2024_09_04 declares reservationUid first (get-reserved-slot.output.ts)."""
    uid = await _reserve(stack.proxy, "16:00")
    got = (await stack.proxy.get(f"{RESERVATIONS}/{uid}", headers=SLOTS_V)).json()["data"]
    assert list(got) == [
        "reservationUid",
        "eventTypeId",
        "slotStart",
        "slotEnd",
        "slotDuration",
        "reservationUntil",
    ]
