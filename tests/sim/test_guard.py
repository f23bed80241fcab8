from __future__ import annotations

from tests.sim.conftest import ALPHA, SLOTS_V, Clock, Factory, state_of

SLOTS = "/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001"


async def test_unknown_key_and_bad_bearer_are_401(make_client: Factory) -> None:
    client = await make_client()
    response = await client.get(SLOTS, headers={**SLOTS_V, "Authorization": "Bearer cal_nope"})
    assert response.status == 401
    body = await response.json()
    assert body["error"] == {
        "code": "UnauthorizedException",
        "message": "CustomThrottlerGuard - Invalid API Key",
        "details": {
            "message": "CustomThrottlerGuard - Invalid API Key",
            "error": "Unauthorized",
            "statusCode": 401,
        },
    }
    response = await client.get("/v2/me", headers={"Authorization": "Bearer not-a-key"})
    assert (response.status, (await response.json())["error"]["message"]) == (
        401,
        "ApiAuthStrategy - Invalid Bearer token",
    )
    response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    assert response.status == 200


async def test_rate_limit_headers_429_and_reset(make_client: Factory, clock: Clock) -> None:
    client = await make_client(rate_limit=3)
    remaining = []
    for _ in range(3):
        response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
        assert response.status == 200
        assert response.headers["X-RateLimit-Limit-Default"] == "3"
        assert response.headers["X-RateLimit-Reset-Default"] == "60"
        remaining.append(response.headers["X-RateLimit-Remaining-Default"])
    assert remaining == ["2", "1", "0"]
    response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    assert response.status == 429
    body = await response.json()
    message = "CustomThrottlerGuard - Too many requests. Please try again later."
    assert body["error"] == {"code": "ThrottlerException", "message": message, "details": message}
    assert "Retry-After" not in response.headers
    # Another tracker (no key: the client IP) has its own window.
    assert (await client.get(SLOTS, headers=SLOTS_V)).status == 200
    clock.advance(seconds=20)
    response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    assert (response.status, response.headers["X-RateLimit-Reset-Default"]) == (429, "40")
    clock.advance(seconds=40)
    assert (await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})).status == 200
    stats = (await (await client.get("/_sim/stats")).json())["data"]
    assert stats["rateLimited"] == 2
    assert stats["requests"]["GET /v2/slots"] == {"200": 5, "429": 2}
    assert stats["control"] == {}


async def test_errors_carry_rate_limit_headers_and_control_is_not_limited(make_client: Factory) -> None:
    client = await make_client(rate_limit=1)
    response = await client.get(SLOTS.replace("1001", "9"), headers=SLOTS_V)
    assert response.status == 404 and response.headers["X-RateLimit-Remaining-Default"] == "0"
    for _ in range(3):
        response = await client.get("/_sim/stats")
        assert response.status == 200 and "X-RateLimit-Limit-Default" not in response.headers
    assert state_of(client).stats.control[("GET /_sim/stats", 200)] == 3


async def test_rate_limit_zero_is_off(make_client: Factory) -> None:
    client = await make_client(rate_limit=0)
    for _ in range(5):
        response = await client.get(SLOTS, headers=SLOTS_V)
        assert response.status == 200 and "X-RateLimit-Limit-Default" not in response.headers
