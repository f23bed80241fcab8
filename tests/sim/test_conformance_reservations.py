"""Slot reservations in the simulator, as Cal.com's SlotsService_2024_09_04 answers them."""

from __future__ import annotations

import json
from importlib import resources

from proxy.calcom.reservations import ALREADY_BOOKED, ALREADY_RESERVED, AUTH_ONLY_DURATION
from proxy.sim.seed import Seed, parse_seed
from tests.sim.conftest import ALPHA, BOOK_V, SLOTS_V, Clock, Factory, booking_body, state_of

HOLD = {"eventTypeId": 1001, "slotStart": "2030-09-02T07:00:00Z"}
RESERVATIONS = "/v2/slots/reservations"


def _variable_length_seed() -> Seed:
    data = json.loads(resources.files("proxy.sim").joinpath("default_seed.json").read_text(encoding="utf-8"))
    data["eventTypes"][0]["lengthOptions"] = [15, 30]
    return parse_seed(data)


async def _reserve(client: object, body: dict[str, object]) -> str:
    response = await client.post(RESERVATIONS, json=body, headers=SLOTS_V)  # type: ignore[attr-defined]
    assert response.status == 201
    return str((await response.json())["data"]["reservationUid"])


async def test_patch_over_own_unexpired_time_is_already_reserved(make_client: Factory) -> None:
    """slots.service.ts:321 runs checkSlotOverlap on update, and getOverlappingSlotReservation
    (slots.repository.ts:35-57) has no uid filter: the reservation being updated overlaps itself."""
    client = await make_client()
    uid = await _reserve(client, HOLD)
    for start in ("2030-09-02T07:00:00Z", "2030-09-02T07:15:00Z", "2030-09-02T06:45:00Z"):
        response = await client.patch(
            f"{RESERVATIONS}/{uid}", json={**HOLD, "slotStart": start}, headers=SLOTS_V
        )
        assert (response.status, (await response.json())["error"]["message"]) == (422, ALREADY_RESERVED)
    response = await client.patch(
        f"{RESERVATIONS}/{uid}", json={**HOLD, "slotStart": "2030-09-02T07:30:00Z"}, headers=SLOTS_V
    )
    assert response.status == 200


async def test_patch_after_expiry_updates_the_row(make_client: Factory, clock: Clock) -> None:
    """The overlap query only sees unexpired rows (slots.repository.ts:53) while getByUid sees all:
    once the reservation expired, PATCH over its own time succeeds (slots.service.ts:271-332)."""
    client = await make_client()
    uid = await _reserve(client, HOLD)
    clock.advance(minutes=6)
    response = await client.patch(f"{RESERVATIONS}/{uid}", json=HOLD, headers=SLOTS_V)
    assert response.status == 200
    assert (await response.json())["data"]["reservationUntil"] == "2030-09-01T12:11:00.000Z"


async def test_booked_check_comes_before_reservation_overlap(make_client: Factory) -> None:
    """reserveSlot: findActiveOverlappingBooking (slots.service.ts:133-157) before checkSlotOverlap (:168)."""
    client = await make_client()
    await _reserve(client, {**HOLD, "slotStart": "2030-09-02T08:00:00Z"})
    booked = await client.post("/v2/bookings", json=booking_body("2030-09-02T08:00:00Z"), headers=BOOK_V)
    assert booked.status == 201
    response = await client.post(
        RESERVATIONS, json={**HOLD, "slotStart": "2030-09-02T08:00:00Z"}, headers=SLOTS_V
    )
    assert (response.status, (await response.json())["error"]["message"]) == (422, ALREADY_BOOKED)


async def test_slot_duration_not_a_possible_length_message(make_client: Factory) -> None:
    """validateSlotDuration (slots.service.ts:216-231): the lengths joined by ", ", no trailing dot."""
    client = await make_client(seed=_variable_length_seed())
    variable = next(et for et in state_of(client).seed.event_types.values() if len(et.length_options) > 1)
    body = {"eventTypeId": variable.id, "slotStart": "2030-09-02T07:00:00Z", "slotDuration": 7}
    response = await client.post(RESERVATIONS, json=body, headers=SLOTS_V)
    assert (response.status, (await response.json())["error"]["message"]) == (
        400,
        "Provided 'slotDuration' is not one of the possible lengths for the event type. "
        "The possible lengths for this variable length event type are: 15, 30",
    )


async def test_reservation_duration_needs_credentials_only_on_post(make_client: Factory) -> None:
    """reserveSlot's 401 (slots.service.ts:96-100); updateReservedSlot (:271-332) has no such check."""
    client = await make_client()
    response = await client.post(RESERVATIONS, json={**HOLD, "reservationDuration": 10}, headers=SLOTS_V)
    assert (response.status, (await response.json())["error"]["message"]) == (401, AUTH_ONLY_DURATION)
    uid = await _reserve(client, HOLD)
    moved = {**HOLD, "slotStart": "2030-09-02T09:00:00Z", "reservationDuration": 10}
    response = await client.patch(f"{RESERVATIONS}/{uid}", json=moved, headers=SLOTS_V)
    assert response.status == 200
    assert (await response.json())["data"]["reservationDuration"] == 10
    response = await client.post(
        RESERVATIONS, json={**HOLD, "reservationDuration": 10}, headers={**SLOTS_V, **ALPHA}
    )
    assert response.status == 201  # authenticated: the same body passes


async def test_get_returns_expired_rows_with_reservation_uid_first(
    make_client: Factory, clock: Clock
) -> None:
    """getByUid has no expiry filter (slots.repository.ts:11-13); GetReservedSlotOutput_2024_09_04
    declares reservationUid first (get-reserved-slot.output.ts), which plainToClass(excludeAll) keeps."""
    client = await make_client()
    uid = await _reserve(client, HOLD)
    clock.advance(minutes=30)
    response = await client.get(f"{RESERVATIONS}/{uid}", headers=SLOTS_V)
    data = (await response.json())["data"]
    assert list(data) == [
        "reservationUid",
        "eventTypeId",
        "slotStart",
        "slotEnd",
        "slotDuration",
        "reservationUntil",
    ]
    assert data["reservationUntil"] == "2030-09-01T12:05:00.000Z"
