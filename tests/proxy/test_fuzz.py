"""Schemathesis over every operation of calproxy's own OpenAPI document, against a running proxy.

The simulator and `calproxy serve` run as child processes on free loopback ports (fakeredis inside the proxy,
the simulator's rate limit off). Every generated request, valid or not, must be answered without a 5xx and
as the document says: a documented status code, content type and body schema.

Budget: CALPROXY_FUZZ_EXAMPLES generated cases per operation (default 50; the examples and coverage phases
come on top; half as many conversations), about 20 s for this file on two cores. The default run is
derandomized, so CI is repeatable; setting CALPROXY_FUZZ_EXAMPLES (a longer local run) draws fresh random
inputs each time and lifts the per-test timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proxy.openapi import document_bytes
from tests.ops.support import clean_env, free_port

LONG_RUN = os.environ.get("CALPROXY_FUZZ_EXAMPLES")
EXAMPLES = int(LONG_RUN or 50)

pytestmark = [pytest.mark.slow, *([pytest.mark.timeout(0)] if LONG_RUN else [])]

API_KEY = "cal_test_alpha"  # the simulator's seeded key (proxy/sim/default_seed.json)
ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef"
ADMIN_PREFIX = "/calproxy/v1/admin"
# Platform credentials would be checked with Cal.com instead of the API key: generated ones only earn 401s.
PLATFORM_HEADERS = ("x-cal-client-id", "x-cal-secret-key")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(json.loads(document_bytes()))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    database="none",
)
# The reproduction lines name the seeded test key and the test's admin token: nothing to hide.
schema.config.output.sanitization.update(enabled=False)


@dataclass
class Running:
    """The proxy under test and the child processes behind it."""

    url: str
    log: Path  # what the proxy writes (stdout and stderr), read when a test fails

    def log_size(self) -> int:
        return self.log.stat().st_size

    def print_errors_since(self, offset: int) -> None:
        """The proxy's error lines (with tracebacks) since `offset`: pytest shows them beside the failure."""
        with self.log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        for line in lines:
            if '"level": "error"' in line:
                entry = json.loads(line)
                print(f"proxy log: {entry.get('event')} {entry.get('method')} {entry.get('path')}")
                print(entry.get("exception", ""))


def _wait_until_up(url: str, path: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url}{path} did not answer within {timeout} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Simulator + `calproxy serve --upstream <simulator>`, both on free loopback ports."""
    sim_port, proxy_port = free_port(), free_port()
    sim_url, proxy_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{proxy_port}"
    logs = tmp_path_factory.mktemp("fuzz")
    env = clean_env(
        CALPROXY_ADMIN_TOKEN=ADMIN_TOKEN,
        CALPROXY_UPSTREAM_API_KEY=API_KEY,
        CALPROXY_RESOURCE_GROUPS=json.dumps({"1001": "host-1", "1002": "host-1", "2001": "host-2"}),
        CALPROXY_RECONCILE_INTERVAL_S="0",
        CALPROXY_UPSTREAM_TIMEOUT_S="5",
        PYTHONUNBUFFERED="1",  # log lines reach the file at once, for the failure report
    )
    python = [sys.executable, "-m", "proxy"]
    sim_log = (logs / "sim.log").open("wb")
    proxy_log = (logs / "proxy.log").open("wb")
    sim = subprocess.Popen(
        [*python, "sim", "--port", str(sim_port), "--rate-limit", "0"],
        stdout=sim_log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        _wait_until_up(sim_url, "/v2/me", sim)
        proxy = subprocess.Popen(
            [*python, "serve", "--port", str(proxy_port), "--upstream", sim_url],
            stdout=proxy_log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            _wait_until_up(proxy_url, "/readyz", proxy)
            yield Running(url=proxy_url, log=logs / "proxy.log")
        finally:
            _stop(proxy)
    finally:
        _stop(sim)
        sim_log.close()
        proxy_log.close()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _headers_for(case: schemathesis.Case[Any]) -> dict[str, str]:
    """The admin token for admin operations; the seeded API key (and no platform credential) elsewhere."""
    if case.headers:
        for name in list(case.headers):
            if name.lower() in PLATFORM_HEADERS:
                del case.headers[name]
    token = ADMIN_TOKEN if case.operation.path.startswith(ADMIN_PREFIX) else API_KEY
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=LONG_RUN is None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any], running: Running, session: requests.Session
) -> None:
    since = running.log_size()
    try:
        case.call_and_validate(
            base_url=running.url, session=session, headers=_headers_for(case), checks=CHECKS, timeout=15
        )
    except BaseException:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
        running.print_errors_since(since)
        raise


def test_the_served_document_is_the_shipped_one(running: Running) -> None:
    response = httpx.get(f"{running.url}/calproxy/v1/openapi.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == document_bytes()
    paths = set(response.json()["paths"])
    assert {"/v2/slots", "/v2/bookings", "/calproxy/v1/quote", "/calproxy/v1/admin/holds"} <= paths


# ------------------------------------------------------------------------------ realistic conversations
# Generated inputs rarely name a seeded event type and a slot on its grid, so the commit, hold and
# reschedule paths are reached by conversations below: real event types, starts on and off the grid in the
# coming weeks, a few callers competing for the same slots; every answer checked against the document.

EVENT_TYPES = (1001, 1002, 2001, 424242)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")
CALLERS = ("caller-a", "caller-b", "caller-c")
ACTIONS = ("quote", "reserve", "get", "move", "release", "book", "reschedule", "cancel", "slots", "legacy")


@dataclass
class Conversation:
    """What one caller was given so far: uids to refer back to."""

    call_id: str
    reservation: str | None = None
    reserved_event_type: int | None = None
    booking: str | None = None

    def reserved(self, response: requests.Response, event_type: int) -> None:
        uid = _uid_in(response, "reservationUid")
        if uid is not None:
            self.reservation, self.reserved_event_type = uid, event_type


def _start(day: int, quarter: int, seconds: int) -> str:
    base = datetime.combine(date.today() + timedelta(days=day), dtime(6), tzinfo=UTC)
    when = base + timedelta(minutes=15 * quarter, seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


starts = st.builds(
    _start, st.integers(1, 21), st.integers(0, 56), st.sampled_from((0, 0, 0, 1, 420))
)  # fmt: skip


def _call(
    running: Running, session: requests.Session, path: str, method: str, **parts: Any
) -> requests.Response:
    case = schema[path][method].Case(**parts)
    response = case.call_and_validate(
        base_url=running.url, session=session, headers={"Authorization": f"Bearer {API_KEY}"},
        checks=CHECKS, timeout=15,
    )  # fmt: skip
    return cast(requests.Response, response)


def _uid_in(response: requests.Response, *keys: str) -> str | None:
    if response.status_code >= 300:
        return None
    value: Any = response.json().get("data")
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def _step(running: Running, session: requests.Session, seen: Conversation, action: str, draw: Any) -> None:
    """One turn of a conversation: the request, then what it gave the caller to refer back to."""
    call_id = seen.call_id
    event_type, start = draw(st.sampled_from(EVENT_TYPES)), draw(starts)
    slots_v = {"cal-api-version": "2024-09-04", "X-Call-Id": call_id}
    booking_v = {"cal-api-version": "2024-08-13", "X-Call-Id": call_id}
    uid = seen.reservation or draw(st.sampled_from(("nope", "abc-²", "x1001-1001-Z3JwOmhvc3QtMQ")))
    if action == "quote":
        body = {
            "eventTypeId": event_type,
            "start": start,
            "timeZone": draw(st.sampled_from(ZONES)),
            "alternatives": draw(st.integers(0, 10)),
            "holdAlternatives": draw(st.booleans()),
        }
        if draw(st.booleans()):
            body["lengthInMinutes"] = draw(st.sampled_from((15, 30, 45, 60, 1440)))
        r = _call(running, session, "/calproxy/v1/quote", "POST", body=body, headers={"X-Call-Id": call_id})
        seen.reserved(r, event_type)
    elif action in ("reserve", "move"):
        if action == "move" and seen.reserved_event_type is not None:
            event_type = seen.reserved_event_type  # moving to another event type is refused (404)
        body = {"eventTypeId": event_type, "slotStart": start}
        if draw(st.booleans()):
            body["reservationDuration"] = draw(st.integers(1, 20))
        if action == "reserve":
            r = _call(running, session, "/v2/slots/reservations", "POST", body=body, headers=slots_v)
        else:
            params = {"uid": uid}
            r = _call(running, session, "/v2/slots/reservations/{uid}", "PATCH", body=body,
                      headers=slots_v, path_parameters=params)  # fmt: skip
        seen.reserved(r, event_type)
    elif action in ("get", "release"):
        method = "GET" if action == "get" else "DELETE"
        _call(running, session, "/v2/slots/reservations/{uid}", method, headers=slots_v,
              path_parameters={"uid": uid})  # fmt: skip
    elif action == "book":
        body = {
            "eventTypeId": event_type,
            "start": start,
            "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": draw(st.sampled_from(ZONES))},
        }
        if seen.reservation and draw(st.booleans()):
            body["reservedSlotUid"] = seen.reservation
        headers = {**booking_v, **({"Idempotency-Key": call_id + start} if draw(st.booleans()) else {})}
        r = _call(running, session, "/v2/bookings", "POST", body=body, headers=headers)
        seen.booking = _uid_in(r, "uid") or seen.booking
    elif action in ("reschedule", "cancel"):
        booking = seen.booking or "no-such-booking"
        path = f"/v2/bookings/{{bookingUid}}/{action}"
        body = {"start": start} if action == "reschedule" else {"cancellationReason": "changed plans"}
        r = _call(running, session, path, "POST", body=body, headers=booking_v,
                  path_parameters={"bookingUid": booking})  # fmt: skip
        seen.booking = _uid_in(r, "uid") or seen.booking
    elif action == "slots":
        query = {
            "eventTypeId": event_type,
            "start": start[:10],
            "end": _start(draw(st.integers(1, 30)), 0, 0),
        }
        _call(running, session, "/v2/slots", "GET", query=query, headers=slots_v)
    else:
        end = start[:11] + draw(st.sampled_from(("18:30:00Z", "23:59:59Z")))
        body = {"eventTypeId": event_type, "slotUtcStartDate": start, "slotUtcEndDate": end}
        _call(running, session, "/v2/slots/reserve", "POST", body=body, headers={"X-Call-Id": call_id})


@given(data=st.data())
@settings(
    max_examples=max(10, EXAMPLES // 2),
    deadline=None,
    derandomize=LONG_RUN is None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_realistic_conversations_answer_as_documented(
    running: Running, session: requests.Session, data: st.DataObject
) -> None:
    seen = Conversation(call_id=data.draw(st.sampled_from(CALLERS), label="caller"))
    since = running.log_size()
    try:
        for action in data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8), label="actions"):
            _step(running, session, seen, action, data.draw)
    except BaseException:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
        running.print_errors_since(since)
        raise
