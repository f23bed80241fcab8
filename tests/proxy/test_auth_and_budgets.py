"""Issue 9 item 3: verified credentials, hold budgets, quote rates, signed call ids, per-tenant slots."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import httpx
import pytest
import redis.asyncio as aioredis

from proxy.app import connect_redis
from proxy.auth import Verdict, verdict_of
from proxy.budgets import retry_after_s, share_cap, share_room
from proxy.calcom.errors import Unauthorized
from proxy.credentials import (
    INVALID_CALL_ID_SIGNATURE,
    NO_AUTH,
    UNSIGNED_CALL_ID,
    call_id_secret,
    checked_call_id,
    credential_of,
    sign_call_id,
)
from proxy.identity import tenant_of
from proxy.sim.requests import INVALID_CLIENT_SECRET, INVALID_KEY
from tests.proxy.conftest import BOOKINGS_V, SLOTS_V, Stack, StackFactory, next_weekday

DAY = next_weekday(21, weekday=2)
BERLIN = "Europe/Berlin"
ALPHA = {"Authorization": "Bearer cal_test_alpha"}
BETA = {"Authorization": "Bearer cal_test_beta"}
MADE_UP = {"Authorization": "Bearer cal_whatever"}
PLATFORM = {"x-cal-client-id": "clplatformalpha", "x-cal-secret-key": "platform-secret-alpha"}
WRONG_SECRET = {"x-cal-client-id": "clplatformalpha", "x-cal-secret-key": "guessed"}
SECRET = b"test-secret"


def berlin(hhmm: str, day: object = DAY) -> str:
    local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def booking(hhmm: str, name: str) -> dict[str, Any]:
    attendee = {"name": name, "email": f"{name.lower()}@example.com", "timeZone": BERLIN}
    return {"eventTypeId": 1001, "start": berlin(hhmm), "attendee": attendee}


def reservation(hhmm: str) -> dict[str, Any]:
    return {"eventTypeId": 1001, "slotStart": berlin(hhmm)}


async def quote(
    client: httpx.AsyncClient, call_id: str, hhmm: str, headers: dict[str, str], day: object = DAY
) -> httpx.Response:
    body = {"eventTypeId": 1001, "start": berlin(hhmm, day), "timeZone": BERLIN, "alternatives": 0}
    return await client.post("/calproxy/v1/quote", json=body, headers={**headers, "X-Call-Id": call_id})


async def upstream_count(stack: Stack, route: str) -> int:
    stats = (await stack.direct.get("/_sim/stats")).json()["data"]["requests"]
    return sum(stats.get(route, {}).values())


def assert_calcom_401(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["status"] == "error" and body["error"]["code"] == "UnauthorizedException"
    assert body["error"]["message"] == message
    assert body["error"]["details"] == {"message": message, "error": "Unauthorized", "statusCode": 401}


def assert_throttled(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "ThrottlerException"
    assert error["details"] == "CustomThrottlerGuard - Too many requests. Please try again later."
    retry = int(response.headers["Retry-After"])
    assert retry >= 1
    return retry


# ---- pure rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "share", "floor", "cap"),
    [
        (100, 0.5, 10, 50),
        (10, 0.5, 10, 10),
        (0, 0.5, 3, 3),
        (7, 0.5, 1, 3),
        (80, 1.0, 1, 80),
        (-4, 0.5, 2, 2),
    ],
)
def test_share_cap(pool: int, share: float, floor: int, cap: int) -> None:
    assert share_cap(pool, share, floor) == cap


@pytest.mark.parametrize(
    ("mine", "free", "room"),
    [(0, 100, 50), (49, 51, 1), (50, 50, 0), (60, 40, 0), (0, 4, 2), (3, 1, 0)],
)
def test_share_room_leaves_other_tenants_as_much_as_the_hoarder_holds(
    mine: int, free: int, room: int
) -> None:
    assert share_room(mine, free, 0.5, 2) == room
    # Whatever the tenant takes within its room, the slots left free are at least its holds.
    if room > 0 and mine + room > 2:
        assert free - room >= mine + room - 1


@pytest.mark.parametrize(
    ("earliest", "now", "expected"), [(None, 0, 1), (1_000, 5_000, 1), (5_001, 5_000, 1), (65_000, 5_000, 60)]
)
def test_retry_after(earliest: int | None, now: int, expected: int) -> None:
    assert retry_after_s(earliest, now) == expected


def test_platform_tenant_depends_on_the_secret_and_a_lone_client_id_is_no_credential() -> None:
    right, wrong = tenant_of(PLATFORM, SECRET), tenant_of(WRONG_SECRET, SECRET)
    assert right != wrong and "public" not in (right, wrong)
    assert tenant_of({"x-cal-client-id": "clplatformalpha"}, SECRET) == "public"
    # Cal.com tries client credentials before a Bearer token.
    both = credential_of({**PLATFORM, **ALPHA})
    assert both is not None and both.kind == "platform" and both.label == "client:clplatformalpha"
    key = credential_of(ALPHA)
    assert key is not None and key.label == "key:" + hashlib.sha256(b"cal_test_alpha").hexdigest()
    assert "cal_test_alpha" not in key.label and "secret" not in str(both.label)


@pytest.mark.parametrize(
    ("value", "secret", "required", "expected"),
    [
        ("call-1", None, False, "call-1"),
        ("call-1", "s", False, "call-1"),
        (sign_call_id("s", "call-1"), "s", False, "call-1"),
        (sign_call_id("s", "call-1"), "s", True, "call-1"),
        (sign_call_id("s", "a.b"), "s", True, "a.b"),
        (sign_call_id("other", "call-1"), "s", False, INVALID_CALL_ID_SIGNATURE),
        ("call-1", "s", True, UNSIGNED_CALL_ID),
        (sign_call_id("s", "call-1"), None, True, UNSIGNED_CALL_ID),
    ],
)
def test_checked_call_id(value: str, secret: str | None, required: bool, expected: str) -> None:
    if expected in (INVALID_CALL_ID_SIGNATURE, UNSIGNED_CALL_ID):
        with pytest.raises(Unauthorized) as raised:
            checked_call_id(value, secret, required=required)
        assert raised.value.message == expected
    else:
        assert checked_call_id(value, secret, required=required) == expected


def test_call_id_secret_by_label_then_default() -> None:
    key = credential_of(ALPHA)
    secrets = {"*": "fallback", "client:clplatformalpha": "platform"}
    assert call_id_secret(secrets, credential_of(PLATFORM)) == "platform"
    assert call_id_secret(secrets, key) == "fallback"
    assert call_id_secret({}, key) is None


# ---- verified credentials --------------------------------------------------------------------------


async def test_made_up_key_is_refused_like_calcom_on_every_hold_creating_request(stack: Stack) -> None:
    direct = await stack.direct.get("/v2/me", headers=MADE_UP)
    assert direct.status_code == 401 and direct.json()["error"]["message"] == INVALID_KEY
    responses = [
        await quote(stack.proxy, "x", "10:00", MADE_UP),
        await stack.proxy.post(
            "/v2/slots/reservations", json=reservation("10:00"), headers={**SLOTS_V, **MADE_UP}
        ),
        await stack.proxy.post(
            "/v2/bookings", json=booking("10:00", "Ann"), headers={**BOOKINGS_V, **MADE_UP}
        ),
        await stack.proxy.post(
            "/v2/slots/reserve",
            json={
                "eventTypeId": 1001,
                "slotUtcStartDate": berlin("10:00"),
                "slotUtcEndDate": berlin("10:30"),
            },
            headers={"cal-api-version": "2024-04-15", **MADE_UP},
        ),
    ]
    for response in responses:
        assert_calcom_401(response, INVALID_KEY)
    assert await stack.services.holds.live("grp:host-1", 0, 2**62) == []
    assert await stack.truth() == []


async def test_no_credential_holds_nothing(stack: Stack) -> None:
    assert_calcom_401(await quote(stack.anonymous, "x", "10:00", {}), NO_AUTH)
    created = await stack.anonymous.post("/v2/slots/reservations", json=reservation("10:00"), headers=SLOTS_V)
    assert_calcom_401(created, NO_AUTH)
    # Reads stay public, as in Cal.com.
    params = {"eventTypeId": "1001", "start": str(DAY), "end": str(DAY), "timeZone": BERLIN}
    assert (await stack.anonymous.get("/v2/slots", params=params, headers=SLOTS_V)).status_code == 200


async def test_verification_is_cached_across_requests(stack: Stack) -> None:
    for i, hhmm in enumerate(("09:00", "09:30", "10:00")):
        assert (await quote(stack.proxy, f"c{i}", hhmm, ALPHA)).status_code == 200
    assert await upstream_count(stack, "GET /v2/me") == 1
    # A refused credential is remembered too (briefly).
    for _ in range(3):
        assert (await quote(stack.proxy, "x", "11:00", MADE_UP)).status_code == 401
    assert await upstream_count(stack, "GET /v2/me") == 2
    # Nothing of the credential is in Redis: only keyed hashes.
    keys = [k.decode() if isinstance(k, bytes) else str(k) for k in await stack.services.redis.keys("*")]
    assert keys and not any("cal_test_alpha" in k or "cal_whatever" in k for k in keys)


async def test_platform_client_wrong_secret_is_refused_and_cannot_touch_the_platforms_reservation(
    stack: Stack,
) -> None:
    created = await stack.proxy.post(
        "/v2/slots/reservations", json=reservation("14:00"), headers={**SLOTS_V, **PLATFORM}
    )
    assert created.status_code == 201, created.text
    uid = created.json()["data"]["reservationUid"]
    refused = await stack.proxy.post(
        "/v2/slots/reservations", json=reservation("15:00"), headers={**SLOTS_V, **WRONG_SECRET}
    )
    assert_calcom_401(refused, INVALID_CLIENT_SECRET)
    path = f"/v2/slots/reservations/{uid}"
    seen = await stack.anonymous.get(path, headers={**SLOTS_V, **WRONG_SECRET})
    assert seen.status_code == 200 and seen.json()["data"] is None
    assert (await stack.anonymous.delete(path, headers={**SLOTS_V, **WRONG_SECRET})).status_code == 200
    still = await stack.anonymous.get(path, headers={**SLOTS_V, **PLATFORM})
    assert still.json()["data"]["reservationUid"] == uid, "the wrong secret released nothing"
    moved = await stack.anonymous.patch(path, json=reservation("15:30"), headers={**SLOTS_V, **WRONG_SECRET})
    assert_calcom_401(moved, INVALID_CLIENT_SECRET)


# ---- budgets and rates -----------------------------------------------------------------------------


async def test_tenant_budget_exhausted_is_429_with_retry_after(make_stack: StackFactory) -> None:
    stack = await make_stack(settings={"max_holds_per_tenant": 2, "resource_share_floor": 100})
    assert (await quote(stack.proxy, "a", "09:00", ALPHA)).json()["data"]["available"] is True
    assert (await quote(stack.proxy, "b", "09:30", ALPHA)).json()["data"]["available"] is True
    refused = await quote(stack.proxy, "c", "10:00", ALPHA)
    assert 1 <= assert_throttled(refused) <= 60
    # A refresh of one's own hold is not a new hold; another tenant has its own budget.
    assert (await quote(stack.proxy, "a", "09:00", ALPHA)).json()["data"]["available"] is True
    # A booked hold stops counting at once (not at its expiry).
    assert (await stack.book("a", booking("09:00", "Ann"))).status_code == 201
    assert (await quote(stack.proxy, "c", "10:00", ALPHA)).json()["data"]["available"] is True
    assert (await quote(stack.proxy, "d", "10:30", BETA)).json()["data"]["available"] is True
    # Releasing a reservation gives the budget back.
    reserved = await stack.proxy.post(
        "/v2/slots/reservations", json=reservation("11:00"), headers={**SLOTS_V, **BETA}
    )
    assert reserved.status_code == 201
    assert_throttled(
        await stack.proxy.post(
            "/v2/slots/reservations", json=reservation("11:30"), headers={**SLOTS_V, **BETA}
        )
    )
    uid = reserved.json()["data"]["reservationUid"]
    assert (
        await stack.proxy.delete(f"/v2/slots/reservations/{uid}", headers={**SLOTS_V, **BETA})
    ).status_code == 200
    again = await stack.proxy.post(
        "/v2/slots/reservations", json=reservation("11:30"), headers={**SLOTS_V, **BETA}
    )
    assert again.status_code == 201


async def free_slots(client: httpx.AsyncClient, headers: dict[str, str], days: int = 0) -> list[str]:
    end = DAY + timedelta(days=days)
    params = {"eventTypeId": "1001", "start": str(DAY), "end": str(end), "timeZone": BERLIN}
    response = await client.get("/v2/slots", params=params, headers={**SLOTS_V, **headers})
    assert response.status_code == 200
    return [s["start"] for day in response.json()["data"].values() for s in day]


async def test_one_tenant_hoarding_cannot_take_every_free_slot(make_stack: StackFactory) -> None:
    stack = await make_stack(settings={"resource_share_floor": 2})
    starts = await free_slots(stack.anonymous, {}, days=6)
    held, refused = 0, 0
    for i, start in enumerate(starts):
        response = await quote(stack.proxy, f"hoard-{i}", start[11:16], ALPHA, day=start[:10])
        if response.status_code == 429:
            assert_throttled(response)
            refused += 1
        elif response.json()["data"]["available"]:
            held += 1
    assert held > 0 and refused > 0, (held, refused)
    left = await free_slots(stack.anonymous, BETA, days=6)
    assert len(left) >= held // 2, (len(left), held)
    honest = await quote(stack.proxy, "honest", left[0][11:16], BETA, day=left[0][:10])
    assert honest.status_code == 200 and honest.json()["data"]["available"] is True


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real_redis)])
async def any_redis(request: pytest.FixtureRequest) -> AsyncIterator[aioredis.Redis | None]:
    """None (the app's own fakeredis) or a real server behind a production-like pool."""
    if request.param == "fake":
        yield None
        return
    client = connect_redis(request.getfixturevalue("redis_server").url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def test_quote_rate_per_tenant_is_429(
    make_stack: StackFactory, any_redis: aioredis.Redis | None
) -> None:
    # The limiter shares the app's Redis connection pool: the embedded fakeredis and a real server alike.
    stack = await make_stack(settings={"quote_rate_per_tenant": 3}, redis=any_redis)
    for i in range(3):
        assert (await quote(stack.proxy, f"r{i}", "09:00", ALPHA)).status_code == 200
    assert 1 <= assert_throttled(await quote(stack.proxy, "r9", "09:00", ALPHA)) <= 60
    assert (await quote(stack.proxy, "other", "10:00", BETA)).status_code == 200


async def test_quote_rate_per_source_address_is_429(make_stack: StackFactory) -> None:
    stack = await make_stack(settings={"quote_rate_per_tenant": 0, "quote_rate_per_address": 3})
    assert (await quote(stack.proxy, "a1", "09:00", ALPHA)).status_code == 200
    assert (await quote(stack.proxy, "b1", "10:00", BETA)).status_code == 200
    assert (await quote(stack.proxy, "p1", "11:00", PLATFORM)).status_code == 200
    assert_throttled(await quote(stack.proxy, "b2", "12:00", BETA))


# ---- caller identity -------------------------------------------------------------------------------


async def test_copied_call_id_with_another_body_never_gets_the_victims_booking(stack: Stack) -> None:
    assert (await quote(stack.proxy, "victim", "13:00", ALPHA)).json()["data"]["available"] is True
    # Within one tenant a call id proves nothing more than the tenant's credential: the intruder books.
    intruder = await stack.book("victim", booking("13:00", "Mallory"))
    assert intruder.status_code == 201
    victim = await stack.book("victim", booking("13:00", "Victor"))
    assert victim.status_code != 201 and b"Mallory" not in victim.content
    # The intruder's own retry (same body) is still replayed, and nothing was booked twice.
    replay = await stack.book("victim", booking("13:00", "Mallory"))
    assert replay.status_code == 201 and replay.content == intruder.content
    assert len([b for b in await stack.truth() if b.get("status") != "cancelled"]) == 1


async def test_signed_call_ids(make_stack: StackFactory) -> None:
    label = "key:" + hashlib.sha256(b"cal_test_alpha").hexdigest()
    stack = await make_stack(
        settings={"call_id_secrets": {label: "agent-secret"}, "require_signed_call_id": True}
    )
    signed = sign_call_id("agent-secret", "call-7")
    assert (await quote(stack.proxy, signed, "09:00", ALPHA)).json()["data"]["available"] is True
    assert_calcom_401(await quote(stack.proxy, "call-7", "09:30", ALPHA), UNSIGNED_CALL_ID)
    forged = sign_call_id("guessed", "call-7")
    assert_calcom_401(await quote(stack.proxy, forged, "09:30", ALPHA), INVALID_CALL_ID_SIGNATURE)
    # No secret for beta's key: with signatures required, its call ids are refused (fail closed).
    assert_calcom_401(await quote(stack.proxy, signed, "10:00", BETA), UNSIGNED_CALL_ID)
    # The signed id's caller books its own held slot; the slot read shows the holder its own hold.
    assert berlin("09:00") in await free_slots(stack.proxy, {**ALPHA, "X-Call-Id": signed})
    booked = await stack.book(signed, booking("09:00", "Ann"))
    assert booked.status_code == 201, booked.text


# ---- cached slots per tenant -----------------------------------------------------------------------


async def test_cached_slots_go_only_to_tenants_calcom_answered(stack: Stack) -> None:
    params = {"eventTypeId": "1001", "start": str(DAY), "end": str(DAY), "timeZone": BERLIN}
    assert (await stack.anonymous.get("/v2/slots", params=params, headers=SLOTS_V)).status_code == 200
    before = await upstream_count(stack, "GET /v2/slots")
    refused = await stack.anonymous.get("/v2/slots", params=params, headers={**SLOTS_V, **MADE_UP})
    direct = await stack.direct.get("/v2/slots", params=params, headers={**SLOTS_V, **MADE_UP})
    assert refused.status_code == direct.status_code == 401
    assert refused.json()["error"]["message"] == direct.json()["error"]["message"]
    # A tenant Cal.com answers is asked once, then served from the cache.
    for _ in range(3):
        assert (
            await stack.anonymous.get("/v2/slots", params=params, headers={**SLOTS_V, **BETA})
        ).status_code == 200
    # The made-up key: the proxy's probe and then the refusal forwarded for Cal.com's wording (2), the
    # direct request (1); beta: one probe, then the cache.
    assert await upstream_count(stack, "GET /v2/slots") == before + 3 + 1


async def test_simulator_checks_platform_clients_like_calcom(stack: Stack) -> None:
    me = await stack.direct.get("/v2/me", headers=PLATFORM)
    assert me.status_code == 200 and me.json()["data"]["id"] == 1
    assert_calcom_401(await stack.direct.get("/v2/me", headers=WRONG_SECRET), INVALID_CLIENT_SECRET)
    unknown = await stack.direct.get("/v2/me", headers={**WRONG_SECRET, "x-cal-client-id": "nope"})
    assert_calcom_401(unknown, "ApiAuthStrategy - oAuth client - Client with ID nope not found")
    # A lone client id is no credential; GET /v2/slots has no auth guard, so bad client credentials pass.
    assert_calcom_401(
        await stack.direct.get("/v2/me", headers={"x-cal-client-id": "clplatformalpha"}), NO_AUTH
    )
    params = {"eventTypeId": "1001", "start": str(DAY), "end": str(DAY), "timeZone": BERLIN}
    assert (
        await stack.direct.get("/v2/slots", params=params, headers={**SLOTS_V, **WRONG_SECRET})
    ).status_code == 200


@pytest.mark.parametrize(
    ("status", "message", "accepted"),
    [
        (200, "", True),
        (401, INVALID_KEY, False),
        (403, "Forbidden", False),
        (500, "boom", None),
        (429, "", None),
    ],
)
def test_verdict_of_calcoms_me_answer(status: int, message: str, accepted: bool | None) -> None:
    verdict = verdict_of(status, message)
    if accepted is None:
        assert verdict is None, "no verdict from a 5xx or a rate limit: nothing is cached"
    else:
        assert verdict is not None and verdict.accepted is accepted
        assert Verdict.decode(verdict.encode()) == verdict


async def test_verification_is_shared_by_every_process(make_stack: StackFactory) -> None:
    server = fakeredis.FakeServer()
    first = await make_stack(redis=fakeredis.FakeAsyncRedis(server=server))
    second = await make_stack(redis=fakeredis.FakeAsyncRedis(server=server))
    assert (await quote(first.proxy, "a", "09:00", ALPHA)).status_code == 200
    assert (await quote(second.proxy, "b", "09:30", ALPHA)).status_code == 200
    assert await upstream_count(first, "GET /v2/me") == 1
    assert await upstream_count(second, "GET /v2/me") == 0
