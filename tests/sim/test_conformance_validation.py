"""Cal.com's global ValidationPipe as the simulator answers it (reservations, GET /v2/bookings, legacy)."""

from __future__ import annotations

from typing import Any

from tests.sim.conftest import ALPHA, BOOK_V, SLOTS_V, Factory

HOLD = {"eventTypeId": 1001, "slotStart": "2030-09-02T07:00:00Z"}
LEGACY_V = {"cal-api-version": "2024-04-15"}


def _pipe_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The class-validator errors of a global-pipe 400, after checking the envelope around them."""
    error = body["error"]
    assert (body["status"], error["code"], error["message"]) == (
        "error",
        "BadRequestException",
        "Bad Request Exception",
    )
    assert list(error["details"]) == ["errors"]
    return list(error["details"]["errors"])


async def test_global_pipe_strips_unknown_reservation_keys(make_client: Factory) -> None:
    """bootstrap.ts:58-70: whitelist true without forbidNonWhitelisted drops unknown body keys.

    reserve-slot.input.ts declares eventTypeId, slotStart, slotDuration, reservationDuration; anything else
    is deleted before validation, so POST and PATCH succeed (slots.controller.ts 2024-09-04 :273-321).
    """
    client = await make_client()
    response = await client.post("/v2/slots/reservations", json={**HOLD, "color": "red"}, headers=SLOTS_V)
    assert response.status == 201
    uid = (await response.json())["data"]["reservationUid"]
    moved = {**HOLD, "slotStart": "2030-09-02T09:00:00Z", "extra": [1]}
    response = await client.patch(f"/v2/slots/reservations/{uid}", json=moved, headers=SLOTS_V)
    assert response.status == 200


async def test_global_pipe_error_is_bad_request_exception_with_validation_errors(
    make_client: Factory,
) -> None:
    """bootstrap.ts:58-70 exceptionFactory -> new BadRequestException({errors}) with target and value kept.

    Nest names an object-bodied exception after its class ("Bad Request Exception") and getResponse() is
    {errors}; each class-validator ValidationError serialises as {target,value,property,children,
    constraints} (ValidationExecutor order; slots-2024-04-15 e2e :719 reads
    error.details.errors[0].constraints). The target is the whitelisted body; a missing value is omitted.
    """
    client = await make_client()
    body = {"slotStart": "nope", "slotDuration": "30", "junk": True}
    response = await client.post("/v2/slots/reservations", json=body, headers=SLOTS_V)
    assert response.status == 400
    target = {"slotStart": "nope", "slotDuration": "30"}
    assert _pipe_errors(await response.json()) == [
        {
            "target": target,
            "property": "eventTypeId",
            "children": [],
            "constraints": {"isInt": "eventTypeId must be an integer number"},
        },
        {
            "target": target,
            "value": "nope",
            "property": "slotStart",
            "children": [],
            "constraints": {"isDateString": "slotStart must be a valid ISO 8601 date string"},
        },
        {
            "target": target,
            "value": "30",
            "property": "slotDuration",
            "children": [],
            "constraints": {"isInt": "slotDuration must be an integer number"},
        },
    ]


async def test_global_pipe_on_patch_and_legacy_reserve(make_client: Factory) -> None:
    """The same pipe for PATCH (ReserveSlotInput_2024_09_04) and legacy POST /v2/slots/reserve
    (ReserveSlotInput_2024_04_15 in PT/slots/slots-2024-04-15/inputs/index.ts:242-269, _isDryRun allowed)."""
    client = await make_client()
    response = await client.patch("/v2/slots/reservations/x", json={"eventTypeId": "1"}, headers=SLOTS_V)
    assert [e["property"] for e in _pipe_errors(await response.json())] == ["eventTypeId", "slotStart"]
    legacy = {
        "eventTypeId": 1001,
        "slotUtcStartDate": "2030-09-02T07:00:00Z",
        "slotUtcEndDate": "2030-09-02T07:30:00Z",
        "unknown": 1,
    }
    response = await client.post("/v2/slots/reserve", json={**legacy, "_isDryRun": "yes"}, headers=LEGACY_V)
    errors = _pipe_errors(await response.json())
    assert [(e["property"], e["constraints"]) for e in errors] == [
        ("_isDryRun", {"isBoolean": "_isDryRun must be a boolean value"})
    ]
    assert "unknown" not in errors[0]["target"]
    response = await client.post("/v2/slots/reserve", json=legacy, headers=LEGACY_V)
    assert response.status == 201


async def test_bookings_query_strips_unknown_parameters(make_client: Factory) -> None:
    """GET /v2/bookings validates GetBookingsInput_2024_08_13 with the global pipe: unknown parameters
    are dropped, not refused (get-bookings.input.ts:32-285; bookings.controller.ts 2024-08-13 @Query)."""
    client = await make_client()
    response = await client.get("/v2/bookings?whatever=1&take=5", headers={**BOOK_V, **ALPHA})
    assert response.status == 200


async def test_bookings_query_date_messages(make_client: Factory) -> None:
    """get-bookings.input.ts:159-217: IsISO8601 strict with "fromDate/toDate must be a valid ISO 8601 date."
    (after* say fromDate, before* say toDate); strict refuses impossible dates such as February 30."""
    client = await make_client()
    query = "afterStart=2030-02-30&beforeEnd=x&afterCreatedAt=2030-09-01T10:00:00Z&beforeUpdatedAt=nope"
    response = await client.get(f"/v2/bookings?{query}", headers={**BOOK_V, **ALPHA})
    assert response.status == 400
    errors = _pipe_errors(await response.json())
    assert [(e["property"], e["value"], e["constraints"]) for e in errors] == [
        ("afterStart", "2030-02-30", {"isIso8601": "fromDate must be a valid ISO 8601 date."}),
        ("beforeEnd", "x", {"isIso8601": "toDate must be a valid ISO 8601 date."}),
        ("beforeUpdatedAt", "nope", {"isIso8601": "toDate must be a valid ISO 8601 date."}),
    ]


async def test_bookings_query_other_messages_and_transformed_target(make_client: Factory) -> None:
    """get-bookings.input.ts:34-54 (status split and trimmed, IsEnum each with its own message), :94-114
    (eventTypeIds parseInt each, IsNumber each), :219-268 (sort messages, sortUpdatedAt reusing
    SortCreated's), :270-284 (take: value && parseInt, then Max, Min, IsNumber applied bottom-up).
    The target is the object after class-transformer: NaN is written as null."""
    client = await make_client()
    query = "status=upcoming,%20nope&eventTypeIds=1,x&sortUpdatedAt=up&take=abc&skip=-1&zzz=1"
    response = await client.get(f"/v2/bookings?{query}", headers={**BOOK_V, **ALPHA})
    assert response.status == 400
    errors = _pipe_errors(await response.json())
    target = {
        "status": ["upcoming", "nope"],
        "eventTypeIds": [1, None],
        "sortUpdatedAt": "up",
        "take": None,
        "skip": -1,
    }
    assert all(e["target"] == target for e in errors)
    assert [(e["property"], e["constraints"]) for e in errors] == [
        (
            "status",
            {"isEnum": "Invalid status. Allowed are upcoming, recurring, past, cancelled, unconfirmed"},
        ),
        (
            "eventTypeIds",
            {
                "isNumber": "each value in eventTypeIds must be a number conforming to the specified "
                "constraints"
            },
        ),
        ("sortUpdatedAt", {"isEnum": 'SortCreated must be either "asc" or "desc".'}),
        (
            "take",
            {
                "max": "take must not be greater than 250",
                "min": "take must not be less than 1",
                "isNumber": "take must be a number conforming to the specified constraints",
            },
        ),
        ("skip", {"min": "skip must not be less than 0"}),
    ]
