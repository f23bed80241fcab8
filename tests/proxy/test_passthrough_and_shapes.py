"""What the proxy does not intercept is Cal.com's answer, unchanged; both Cal.com error shapes are read."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from proxy.errors import UpstreamRefusal
from proxy.upstream import UpstreamResponse
from tests.proxy.conftest import Stack, next_weekday

AUTH = {"Authorization": "Bearer cal_test_alpha"}
DAY = next_weekday(21, weekday=4)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v2/me", AUTH),
        ("GET", "/v2/me", {}),
        ("GET", "/v2/event-types", {**AUTH, "cal-api-version": "2024-06-14"}),
        ("GET", "/v2/event-types/1002", {**AUTH, "cal-api-version": "2024-06-14"}),
        ("GET", "/v2/bookings?take=5", {**AUTH, "cal-api-version": "2024-08-13"}),
        ("GET", "/v2/nope", {}),
        ("GET", "/v2/me", {"Authorization": "Bearer cal_unknown"}),
    ],
)
async def test_forwarded_paths_answer_like_calcom(
    stack: Stack, method: str, path: str, headers: dict[str, str]
) -> None:
    direct = await stack.direct.request(method, path, headers=headers)
    client = stack.proxy if "Authorization" in headers else stack.anonymous
    proxied = await client.request(method, path, headers=headers)
    assert proxied.status_code == direct.status_code
    d, p = direct.json(), proxied.json()
    if "timestamp" in d:  # error envelopes carry the time they were made
        d.pop("timestamp"), p.pop("timestamp")
    assert p == d
    for header in ("content-type", "x-ratelimit-limit-default"):
        assert proxied.headers.get(header) == direct.headers.get(header)


async def test_quote_can_hold_the_alternatives_too(stack: Stack) -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = datetime.fromisoformat(f"{DAY}T13:00:00").replace(tzinfo=zone).isoformat()
    await stack.quote("A", eventTypeId=1001, start=start, timeZone="Europe/Berlin")
    quote = await stack.quote(
        "B", eventTypeId=1001, start=start, timeZone="Europe/Berlin", alternatives=2, holdAlternatives=True
    )
    assert quote["reason"] == "held" and len(quote["alternatives"]) == 2
    assert all(a["reservationUid"] for a in quote["alternatives"])
    # Nobody else is offered B's alternatives now.
    third = await stack.quote(
        "C", eventTypeId=1001, start=quote["alternatives"][0]["start"], timeZone="Europe/Berlin"
    )
    assert third["available"] is False and third["reason"] == "held"


def response(status: int, body: bytes) -> UpstreamResponse:
    return UpstreamResponse(status, httpx.Headers({"content-type": "application/json"}), body)


def test_both_calcom_error_shapes_pass_through_with_our_details() -> None:
    envelope = response(
        400,
        b'{"status":"error","timestamp":"t","path":"/v2/bookings","error":{"code":"BadRequestException",'
        b'"message":"User either already has booking at this time or is not available",'
        b'"details":{"message":"m","error":"Bad Request","statusCode":400}}}',
    )
    refusal = UpstreamRefusal.from_response(envelope, {"alternatives": ["x"]})
    body = refusal.body("/v2/bookings")
    assert refusal.bare_status == 400 and body["error"]["code"] == "BadRequestException"
    assert body["error"]["message"].startswith("User either already has booking")
    assert body["error"]["details"]["alternatives"] == ["x"] and body["error"]["details"]["statusCode"] == 400
    bare = UpstreamRefusal.from_response(
        response(409, b'{"statusCode":409,"message":"booking_conflict_error"}'), {}
    )
    bare_body = bare.body("/v2/bookings")
    assert bare.bare_status == 409 and bare_body["error"]["code"] == "ConflictException"
    assert bare_body["error"]["message"] == "booking_conflict_error"
    throttled = UpstreamRefusal.from_response(
        response(
            429, b'{"status":"error","error":{"code":"ThrottlerException","message":"m","details":"m"}}'
        ),
        {"alternatives": []},
    )
    assert throttled.body("/")["error"]["details"] == {"message": "m", "statusCode": 429, "alternatives": []}
    garbage = UpstreamRefusal.from_response(response(400, b"<html>oops</html>"), {})
    assert garbage.body("/")["error"]["message"] == "<html>oops</html>"
