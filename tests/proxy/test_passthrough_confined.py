"""The passthrough forwards only confined paths under /v1/ and /v2/ (issue 9, item 2; the 500s of item 6).

Requests are written byte for byte on a socket: every HTTP client (httpx included) normalises `..` itself,
which would hide exactly what these tests are about.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from proxy.calcom.errors import NotFound
from proxy.logs import configure_logging
from proxy.upstream_path import (
    FORWARDED_METHODS,
    MAX_PATH_BYTES,
    Refused,
    booking_uid_segment,
    check_segment,
    confine,
)
from tests.proxy.conftest import Stack, StackFactory, next_weekday

AUTH = {"Authorization": "Bearer cal_test_alpha"}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "TRACE"]

# Every encoding from the issue and then some: each would reach the upstream's root if decoded and re-parsed.
ESCAPES = [
    "/v2/../_sim/reset",
    "/v2/%2e%2e/_sim/reset",
    "/v2/%2E%2E/_sim/reset",
    "/v2/..%2f_sim/reset",
    "/v2/..%2F_sim/reset",
    "/v2/.%2e/_sim/reset",
    "/v2/%2e./_sim/reset",
    "/v2/%2E./_sim/reset",
    "/v2/x/%2f../_sim/reset",
    "/v1/%2e%2e/_sim/reset",
    "/v1/../_sim/reset",
    "/v2/%252e%252e/_sim/reset",
    "/v2/%25252e%25252e/_sim/reset",
    "/v2/a/../../_sim/reset",
    "/v2/./../_sim/reset",
    "/v2/%2e/me",
    "/v2//_sim/reset",
    "/v2/%5c..%5c_sim/reset",
    "/v2/%5C..%5C_sim/reset",
    "/v2/..\\_sim\\reset",
    "/v2/a%2f..%2f..%2f_sim%2freset",
    "/v2/me/..",
    "/v2/me/%2e%2e",
    "/v2/..",
]


# ---------------------------------------------------------------------------------------------------------
# The pure rule, as a table.


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        ("/v2/me", "/v2/me", None),
        ("/v1/slots?apiKey=cal_live_x&eventTypeId=1", "/v1/slots", "apiKey=cal_live_x&eventTypeId=1"),
        ("/v2/bookings?take=5&status=upcoming,past", "/v2/bookings", "take=5&status=upcoming,past"),
        ("/v2/me?", "/v2/me", ""),
        ("/v2/x?q=%00%0A&r=a+b", "/v2/x", "q=%00%0A&r=a+b"),  # the query is Cal.com's to read, as sent
        ("/v2/event-types/1001", "/v2/event-types/1001", None),
        ("/v2/me/", "/v2/me/", None),  # Express routes a trailing slash like none
        ("/v2/", "/v2/", None),
        ("/v2/a%20b", "/v2/a%20b", None),
        ("/v2/a b".replace(" ", "%20"), "/v2/a%20b", None),
        ("/v2/%61%62", "/v2/ab", None),  # re-encoded from the decoded segment
        ("/v2/caf%C3%A9", "/v2/caf%C3%A9", None),
        ("/v2/a;b=c,d", "/v2/a;b=c,d", None),
        ("/v2/a!$&'()*+,;=:@b", "/v2/a!$&'()*+,;=:@b", None),
        ("/v2/...", "/v2/...", None),  # not a dot segment (RFC 3986 §5.2.4)
        ("/v2/.well", "/v2/.well", None),
        ("/v2/100%25", "/v2/100%25", None),  # a lone percent sign is no escape
        ("/v2/%7Bid%7D", "/v2/%7Bid%7D", None),
    ],
)
def test_confined_targets(target: str, path: str, query: str | None) -> None:
    upstream = confine("GET", target)
    assert (upstream.path, upstream.query) == (path, query)
    assert upstream.relative_url == (path if query is None else f"{path}?{query}")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/v2/../_sim/reset", "dot_segment"),
        ("/v2/%2e%2e/_sim/reset", "dot_segment"),
        ("/v2/%2E%2E/_sim/reset", "dot_segment"),
        ("/v2/.%2e/_sim/reset", "dot_segment"),
        ("/v2/%2E./_sim/reset", "dot_segment"),
        ("/v2/./me", "dot_segment"),
        ("/v2/%2e/me", "dot_segment"),
        ("/v2/me/..", "dot_segment"),
        ("/v2/a/../../_sim/reset", "dot_segment"),
        ("/v1/%2e%2e/_sim/reset", "dot_segment"),
        ("/v2/..%2f_sim/reset", "slash_in_segment"),
        ("/v2/%2f../_sim", "slash_in_segment"),
        ("/v2/a%2Fb", "slash_in_segment"),
        ("/v2/%5c..%5c", "slash_in_segment"),
        ("/v2/a\\b", "slash_in_segment"),
        ("/v2/%252e%252e/_sim/reset", "double_encoding"),
        ("/v2/%252f", "double_encoding"),
        ("/v2/%2500", "double_encoding"),
        ("/v2/%25%32%65", "double_encoding"),  # %2e spelt with encoded digits
        ("/v2//_sim", "empty_segment"),
        ("/v2//", "empty_segment"),
        ("/v2/a//b", "empty_segment"),
        ("/v2/x%00", "control_character"),
        ('/v2/x%0A{"event":"forged"}', "control_character"),
        ("/v2/x%0D%0A", "control_character"),
        ("/v2/x%0d", "control_character"),
        ("/v2/x%1b[31m", "control_character"),
        ("/v2/x%7f", "control_character"),
        ("/v2/x%09", "control_character"),
        ("/v2/x%C2%85", "control_character"),  # NEL, a C1 control
        ("/v2/x%E2%80%A8", "control_character"),  # LINE SEPARATOR
        ("/v2/me?a b", "control_character"),
        ("/v2/me?a=\x01", "control_character"),
        ("/v2/%zz", "bad_escape"),
        ("/v2/%2", "bad_escape"),
        ("/v2/x%", "bad_escape"),
        ("/v2/%g0", "bad_escape"),
        ("/v2/%ff", "not_utf8"),
        ("/v2/%C3", "not_utf8"),
        ("/v2/%C0%AE%C0%AE", "not_utf8"),  # overlong UTF-8 for "..", refused by a strict decoder
        ("/v3/me", "prefix"),
        ("/_sim/reset", "prefix"),
        ("/%76%32/me", "prefix"),  # the prefix is matched as sent, never decoded
        ("/V2/me", "prefix"),
        ("/v2", "prefix"),
        ("/v2me", "prefix"),
        ("http://127.0.0.1:1/v2/me", "not_origin_form"),
        ("//evil.example/v2/me", "prefix"),
        ("*", "not_origin_form"),
        ("/v2/me#frag", "fragment"),
        ("/v2/" + "a" * MAX_PATH_BYTES, "too_long"),
    ],
)
def test_refused_targets(target: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        confine("GET", target)
    assert refused.value.reason == reason


def test_the_length_bound_counts_bytes_of_the_path_only() -> None:
    longest = "/v2/" + "a" * (MAX_PATH_BYTES - 4)
    assert confine("GET", longest + "?" + "q" * 5000).path == longest
    with pytest.raises(Refused):
        confine("GET", longest + "a")


@pytest.mark.parametrize("method", sorted(FORWARDED_METHODS))
def test_methods_calcom_serves_are_forwarded(method: str) -> None:
    assert confine(method, "/v2/me").path == "/v2/me"


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "CONNECT", "MKCOL", "get", "Get", "LINK", "QUERY"])
def test_other_methods_are_not(method: str) -> None:
    with pytest.raises(Refused) as refused:
        confine(method, "/v2/me")
    assert refused.value.reason == "method"


@pytest.mark.parametrize("target", ESCAPES)
def test_no_escape_survives_the_rule(target: str) -> None:
    with pytest.raises(Refused):
        confine("POST", target)


@pytest.mark.parametrize(
    "segment", ["%2e%2e", "..", ".", "%2e", "a%2fb", "%5c", "", "%00", "%252e", "%zz", "%ff", "\\"]
)
def test_check_segment_refuses(segment: str) -> None:
    with pytest.raises(Refused):
        check_segment(segment)


def test_check_segment_reencodes_what_it_decoded() -> None:
    assert check_segment("a%20b") == "a%20b"
    assert check_segment("%41") == "A"
    assert check_segment("caf\u00e9") == "caf%C3%A9"
    assert check_segment("a|b") == "a%7Cb"


# ---------------------------------------------------------------------------------------------------------
# Through a running proxy, on a socket.


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def send_raw(
    base_url: str, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> RawAnswer:
    """One HTTP/1.1 request with the request target exactly as given (no client-side normalisation)."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    answer_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split()[1]), answer_headers, rest)


def sim_requests(stack: Stack) -> int:
    """Every request the simulator answered (Cal.com routes and /_sim control routes alike)."""
    stats = stack.sim.state.stats
    return sum(stats.requests.values()) + sum(stats.control.values())


async def seed_booking(stack: Stack) -> list[dict[str, Any]]:
    day = next_weekday(14)
    answer = await stack.direct.post(
        "/_sim/bookings", json={"eventTypeId": 1001, "start": f"{day}T10:00:00Z"}
    )
    assert answer.status_code == 201, answer.text
    truth = await stack.truth()
    assert truth
    return truth


def assert_calcom_not_found(answer: RawAnswer, method: str) -> None:
    assert answer.status == 404, (method, answer.status, answer.body[:300])
    if method == "HEAD":
        return
    body = answer.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "NotFoundException"
    assert body["error"]["message"].startswith(f"Cannot {method} /v")
    assert body["error"]["details"]["statusCode"] == 404


async def test_the_exact_request_from_the_issue_deletes_nothing(stack: Stack) -> None:
    before = await seed_booking(stack)
    answer = await send_raw(stack.proxy_url, "POST", "/v2/%2e%2e/_sim/reset")
    assert_calcom_not_found(answer, "POST")
    assert answer.json()["error"]["message"] == "Cannot POST /v2/%2e%2e/_sim/reset"
    assert answer.json()["path"] == "/v2/%2e%2e/_sim/reset"
    assert await stack.truth() == before


async def test_no_encoding_with_any_method_reaches_the_upstream(stack: Stack) -> None:
    before = await seed_booking(stack)
    reached = sim_requests(stack)
    for target in ESCAPES:
        for method in METHODS:
            answer = await send_raw(stack.proxy_url, method, target, AUTH)
            assert_calcom_not_found(answer, method)
    assert sim_requests(stack) == reached
    assert await stack.truth() == before


async def test_methods_calcom_does_not_serve_never_go_upstream(stack: Stack) -> None:
    reached = sim_requests(stack)
    for method in ("PROPFIND", "TRACE", "MKCOL", "LINK"):
        answer = await send_raw(stack.proxy_url, method, "/v2/me", AUTH)
        assert_calcom_not_found(answer, method)
        assert answer.json()["error"]["message"] == f"Cannot {method} /v2/me"
    assert sim_requests(stack) == reached


@pytest.mark.parametrize(
    "target",
    [
        "/v2/x%00",
        "/v2/%00/me",
        "/v2/x%0A",
        "/v2/x%0D",
        "/v2/x%0d%0a",
        "/v2/x%1b",
        "/v2/x%7f",
        "/v2/x%09y",
        "/v2/%zz",
        "/v2/%ff",
        "/v2/%C0%AE",
        "/v2/x%C2%85",
        "/v1/%00?apiKey=cal_test_alpha",
        "/v2/" + "a" * (MAX_PATH_BYTES + 10),
        "/v2/" + "%2e%2e/" * 400,
    ],
)
async def test_hostile_bytes_are_a_4xx_never_a_5xx(stack: Stack, target: str) -> None:
    reached = sim_requests(stack)
    for method in ("GET", "POST", "DELETE"):
        answer = await send_raw(stack.proxy_url, method, target, AUTH)
        assert 400 <= answer.status < 500, (target, answer.status, answer.body[:200])
        assert_calcom_not_found(answer, method)
    assert sim_requests(stack) == reached


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line written while the test runs, as configured in production (JSON lines)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_a_path_cannot_forge_a_log_line(stack: Stack, log_lines: io.StringIO) -> None:
    forged = '{"event":"forged","level":"error"}'
    for target in (
        f"/v2/x%0A{forged}",
        f"/v2/x%0D%0A{forged}",
        f"/v2/x%0D{forged}",
        f"/v2/x%C2%85{forged}",
        f"/v2/x%E2%80%A8{forged}",
        f"/v2/x%00%0A{forged}",
        f"/v1/x%0A{forged}?apiKey=cal_test_alpha",
    ):
        answer = await send_raw(stack.proxy_url, "GET", target)
        assert answer.status == 404
    text = log_lines.getvalue()
    assert text, "nothing was logged"
    # splitlines() breaks on \r, NEL and U+2028 too: a reader that does the same sees no forged line either.
    for line in text.splitlines():
        event = json.loads(line)
        assert event.get("event") != "forged", line
    assert "cal_test_alpha" not in text


async def test_legitimate_calls_answer_byte_for_byte_as_cal_com(stack: Stack) -> None:
    v2 = {**AUTH, "cal-api-version": "2024-06-14"}
    for target, headers in (
        ("/v2/me", AUTH),
        ("/v2/event-types/1001", v2),
        ("/v2/event-types", v2),
        ("/v2/bookings?take=5", {**AUTH, "cal-api-version": "2024-08-13"}),
    ):
        direct = await send_raw(stack.sim.url, "GET", target, headers)
        proxied = await send_raw(stack.proxy_url, "GET", target, headers)
        assert proxied.status == direct.status == 200, (target, proxied.body[:200])
        assert proxied.body == direct.body
        assert proxied.headers["content-type"] == direct.headers["content-type"]


# ---------------------------------------------------------------------------------------------------------
# A recording upstream: the raw target that arrives, and upstreams that fail.

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve an aiohttp app on a free loopback port until the test ends; returns its base URL."""
    async with AsyncExitStack() as stack:

        async def start(app: web.Application) -> str:
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{runner.addresses[0][1]}"

        yield start


def recorder(seen: list[tuple[str, str]]) -> web.Application:
    async def record(request: web.Request) -> web.Response:
        seen.append((request.method, request.raw_path))
        return web.json_response({"status": "success", "data": {"raw": request.raw_path}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    return app


async def test_a_base_path_prefix_is_kept_and_cannot_be_left(make_stack: StackFactory, serve: Serve) -> None:
    seen: list[tuple[str, str]] = []
    upstream = await serve(recorder(seen))
    stack = await make_stack(settings={"upstream_url": f"{upstream}/calcom/api"})
    answer = await send_raw(stack.proxy_url, "GET", "/v2/me", AUTH)
    assert answer.status == 200 and answer.json()["data"]["raw"] == "/calcom/api/v2/me"
    assert seen == [("GET", "/calcom/api/v2/me")]
    seen.clear()
    for target in [*ESCAPES, "/v2/%2e%2e/%2e%2e/%2e%2e/admin", "/v2/../../../admin"]:
        answer = await send_raw(stack.proxy_url, "DELETE", target, AUTH)
        assert_calcom_not_found(answer, "DELETE")
    assert seen == []


async def test_the_query_arrives_exactly_as_sent_and_is_never_logged(
    make_stack: StackFactory, serve: Serve, log_lines: io.StringIO
) -> None:
    seen: list[tuple[str, str]] = []
    upstream = await serve(recorder(seen))
    stack = await make_stack(settings={"upstream_url": upstream})
    query = "apiKey=cal_live_s3cr3t&startTime=2027-01-01T00%3A00%3A00Z&usernameList=a%2Cb&x=a+b%20c"
    target = f"/v1/slots?{query}"
    answer = await send_raw(stack.proxy_url, "GET", target)
    assert answer.status == 200
    assert seen == [("GET", target)]
    assert "s3cr3t" not in log_lines.getvalue()


def assert_reveals_nothing(body: dict[str, Any], status: int, upstream: str) -> None:
    text = json.dumps(body)
    port = str(urlsplit(upstream).port)
    for leak in ("127.0.0.1", "localhost", port, "/_sim", "passthrough", "Error:", "Exception:"):
        assert leak not in text, (leak, text)
    for name in ("ConnectError", "ReadTimeout", "RemoteProtocolError", "httpx", "Traceback"):
        assert name not in text, (name, text)
    message = body["error"]["message"]
    assert not any(c.isdigit() for c in message), message  # no milliseconds, no ports, no ids
    assert body["error"]["details"] == {
        "message": message,
        "error": {502: "Bad Gateway", 504: "Gateway Timeout"}[status],
        "statusCode": status,
    }


async def test_an_unreachable_upstream_is_a_bare_502(make_stack: StackFactory) -> None:
    # A port nobody listens on: bind it, learn it, close it. The path prefix must not show either.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    stack = await make_stack(settings={"upstream_url": f"http://127.0.0.1:{port}/_sim"})
    for method, target in (("GET", "/v2/me"), ("POST", "/v2/webhooks"), ("GET", "/v1/slots?apiKey=k")):
        answer = await send_raw(stack.proxy_url, method, target, AUTH)
        assert answer.status == 502, answer.body[:300]
        body = answer.json()
        assert body["error"]["code"] == "BadGatewayException"
        assert_reveals_nothing(body, 502, f"http://127.0.0.1:{port}")


async def test_an_upstream_that_does_not_answer_is_a_bare_504(make_stack: StackFactory, serve: Serve) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    slow = web.Application()
    slow.router.add_route("*", "/{tail:.*}", hang)
    upstream = await serve(slow)
    stack = await make_stack(settings={"upstream_url": f"{upstream}/_sim", "upstream_timeout_s": 0.3})
    answer = await send_raw(stack.proxy_url, "GET", "/v2/me", AUTH)
    assert answer.status == 504, answer.body[:300]
    body = answer.json()
    assert body["error"]["code"] == "GatewayTimeoutException"
    assert_reveals_nothing(body, 504, upstream)


# ---------------------------------------------------------------------------------------------------------
# The proxy's own routes put a client's identifier into upstream paths: it stays one segment.

UID_ESCAPES = [
    "..%2f..%2f_sim%2freset%3f",
    "..%2F..%2Fv2%2Fme%3F",
    "%2e%2e",
    "..",
    "..%5c..%5c_sim%5creset",
    "x%3fy=1%23",
    "%252e%252e%252f",
]


@pytest.mark.parametrize(
    ("uid", "segment"),
    [
        ("abc-123_X.y~z", "abc-123_X.y~z"),
        ("3f0e9c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b", "3f0e9c1a-2b4d-4e6f-8a9b-0c1d2e3f4a5b"),
        ("x?y=1#", "x%3Fy=1%23"),
        ("a b", "a%20b"),
        ("100%", "100%25"),
        ("...", "..."),
        ("\u00b2", "%C2%B2"),
    ],
)
def test_a_booking_uid_is_one_segment(uid: str, segment: str) -> None:
    assert booking_uid_segment(uid) == segment
    assert confine("GET", f"/v2/bookings/{segment}").path == f"/v2/bookings/{segment}"


@pytest.mark.parametrize(
    "uid", ["", ".", "..", "../../_sim/reset?", "a/b", "a\\b", "a\nb", "x\x00", "%2e%2e", "\u2028"]
)
def test_a_uid_that_is_no_segment_names_no_booking(uid: str) -> None:
    with pytest.raises(NotFound) as missing:
        booking_uid_segment(uid)
    assert missing.value.message == f"Booking with uid={uid} was not found in the database"


async def test_uid_routes_never_leave_the_bookings_path(make_stack: StackFactory, serve: Serve) -> None:
    seen: list[tuple[str, str]] = []
    upstream = await serve(recorder(seen))
    stack = await make_stack(settings={"upstream_url": upstream})
    headers = {**AUTH, "cal-api-version": "2024-08-13", "Content-Type": "application/json"}
    reschedule = json.dumps({"start": f"{next_weekday(14)}T10:00:00Z"}).encode()
    cancel = b'{"cancellationReason":"x"}'
    for uid in UID_ESCAPES:
        await send_raw(stack.proxy_url, "POST", f"/v2/bookings/{uid}/reschedule", headers, reschedule)
        await send_raw(stack.proxy_url, "POST", f"/v2/bookings/{uid}/cancel", headers, cancel)
        for method in ("GET", "PATCH", "DELETE"):
            await send_raw(stack.proxy_url, method, f"/v2/slots/reservations/{uid}", headers, b"{}")
    assert seen, "the legitimate part of these requests reached Cal.com"
    for _method, raw in seen:
        path = raw.partition("?")[0]
        assert confine("GET", raw).path == path, raw  # the passthrough's rule holds: no escape left
        assert path in ("/v2/me", "/v2/slots") or path.startswith("/v2/bookings/"), raw
        assert path.count("/") <= 4, raw


async def test_uid_routes_cannot_reset_the_simulator(stack: Stack) -> None:
    before = await seed_booking(stack)
    control = dict(stack.sim.state.stats.control)
    headers = {**AUTH, "cal-api-version": "2024-08-13", "Content-Type": "application/json"}
    for uid in UID_ESCAPES:
        for action in ("reschedule", "cancel"):
            body = b'{"start":"2030-01-07T10:00:00Z","cancellationReason":"x"}'
            answer = await send_raw(stack.proxy_url, "POST", f"/v2/bookings/{uid}/{action}", headers, body)
            assert answer.status < 500, (uid, action, answer.body[:200])
    assert dict(stack.sim.state.stats.control) == control  # no /_sim route was reached
    assert await stack.truth() == before
