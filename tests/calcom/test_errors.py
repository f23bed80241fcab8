from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.calcom.errors import (
    BadRequest,
    BareHttpError,
    InternalError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    calcom_error_middleware,
)
from proxy.calcom.jsonwire import dumps


def test_envelope_shape_and_extra_details() -> None:
    body = BadRequest("nope", extra_details={"alternatives": ["x"]}).body("/v2/bookings?x=1")
    assert body["status"] == "error" and body["path"] == "/v2/bookings?x=1"
    assert body["error"] == {
        "code": "BadRequestException",
        "message": "nope",
        "details": {"message": "nope", "error": "Bad Request", "statusCode": 400, "alternatives": ["x"]},
    }
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 24


def test_other_shapes() -> None:
    assert Unauthorized("k").body("/")["error"]["details"]["error"] == "Unauthorized"
    assert NotFound("n").body("/")["error"]["code"] == "NotFoundException"
    throttled = TooManyRequests().body("/v2/slots")["error"]
    assert throttled == {
        "code": "ThrottlerException",
        "message": "CustomThrottlerGuard - Too many requests. Please try again later.",
        "details": "CustomThrottlerGuard - Too many requests. Please try again later.",
    }
    assert BareHttpError(409, "booking_conflict_error").body("/") == {
        "statusCode": 409,
        "message": "booking_conflict_error",
    }
    assert InternalError().body("/") == {"statusCode": 500, "message": "Internal server error"}


def test_dumps_is_compact_utf8() -> None:
    assert dumps({"a": [1, "ü"]}) == '{"a":[1,"ü"]}'


async def test_middleware_renders_everything(aiohttp_client: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    async def refuse(request: web.Request) -> web.Response:
        raise BadRequest("bad")

    async def big(request: web.Request) -> web.Response:
        await request.read()
        return web.Response()

    app = web.Application(middlewares=[calcom_error_middleware], client_max_size=100)
    app.router.add_get("/boom", boom)
    app.router.add_get("/refuse", refuse)
    app.router.add_post("/big", big)
    client = await aiohttp_client(app)

    response = await client.get("/boom")
    assert response.status == 500
    assert await response.json() == {"statusCode": 500, "message": "Internal server error"}
    assert "secret" not in await response.text()

    response = await client.get("/refuse?a=b")
    assert response.status == 400
    assert (await response.json())["path"] == "/refuse?a=b"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"

    response = await client.get("/v2/nope?q=1")
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Cannot GET /v2/nope?q=1"

    response = await client.delete("/refuse")
    assert response.status == 404
    assert (await response.json())["error"]["message"] == "Cannot DELETE /refuse"

    response = await client.post("/big", data=b"x" * 1000)
    assert response.status == 413
    assert await response.json() == {"statusCode": 413, "message": "request entity too large"}
