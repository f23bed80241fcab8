"""Slots through the proxy: byte-identical to Cal.com's (the simulator's), minus other callers' holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.proxy.conftest import SLOTS_V, Stack, next_weekday

MONDAY = next_weekday(21)
FRIDAY_BEFORE_BERLIN_DST = "2027-03-26"  # Europe/Berlin springs forward on Sunday 2027-03-28
MONDAY_AFTER_BERLIN_DST = "2027-03-29"
FRIDAY_BEFORE_NY_DST = "2027-03-12"  # America/New_York springs forward on Sunday 2027-03-14
MONDAY_AFTER_NY_DST = "2027-03-15"
FRIDAY_BEFORE_BERLIN_FALLBACK = "2027-10-29"  # back to +01:00 on Sunday 2027-10-31
MONDAY_AFTER_BERLIN_FALLBACK = "2027-11-01"

QUERIES = [
    {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY)},
    {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), "timeZone": "Europe/Berlin"},
    {
        "eventTypeId": "1002",
        "start": str(MONDAY),
        "end": str(MONDAY),
        "timeZone": "Asia/Kolkata",
        "format": "range",
    },
    {
        "eventTypeId": "2001",
        "start": str(MONDAY),
        "end": str(MONDAY + timedelta(days=1)),
        "timeZone": "Pacific/Auckland",
    },
    {
        "eventTypeId": "1001",
        "start": FRIDAY_BEFORE_BERLIN_DST,
        "end": MONDAY_AFTER_BERLIN_DST,
        "timeZone": "Europe/Berlin",
        "format": "range",
    },
    {
        "eventTypeId": "2001",
        "start": FRIDAY_BEFORE_NY_DST,
        "end": MONDAY_AFTER_NY_DST,
        "timeZone": "America/New_York",
    },
    {
        "eventTypeId": "1002",
        "start": FRIDAY_BEFORE_BERLIN_FALLBACK,
        "end": MONDAY_AFTER_BERLIN_FALLBACK,
        "timeZone": "Europe/London",
        "format": "range",
    },
    {
        "eventTypeId": "1001",
        "start": f"{MONDAY}T10:15:00Z",
        "end": f"{MONDAY}T13:00:00.000Z",
        "timeZone": "UTC",
    },
]


@pytest.mark.parametrize("query", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
async def test_slots_are_byte_identical_to_calcom(stack: Stack, query: dict[str, str]) -> None:
    direct = await stack.direct.get("/v2/slots", params=query, headers=SLOTS_V)
    proxied = await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    assert direct.status_code == proxied.status_code == 200
    assert proxied.content == direct.content
    assert proxied.headers["content-type"] == direct.headers["content-type"]
    assert direct.json()["data"], "the query should have slots, or the comparison proves little"


async def test_dst_days_carry_both_offsets(stack: Stack) -> None:
    query = QUERIES[4]
    body = (await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)).json()["data"]
    assert body[FRIDAY_BEFORE_BERLIN_DST][0] == {
        "start": "2027-03-26T09:00:00.000+01:00",
        "end": "2027-03-26T09:30:00.000+01:00",
    }
    assert body[MONDAY_AFTER_BERLIN_DST][0]["start"] == "2027-03-29T09:00:00.000+02:00"
    assert "2027-03-28" not in body  # Sunday: no working hours, the day is omitted


async def test_legacy_available_shape_matches(stack: Stack) -> None:
    query = {
        "eventTypeId": "1001",
        "startTime": f"{MONDAY}T00:00:00Z",
        "endTime": f"{MONDAY}T23:59:59Z",
        "timeZone": "America/New_York",
    }
    direct = await stack.direct.get("/v2/slots/available", params=query)
    proxied = await stack.proxy.get("/v2/slots/available", params=query)
    assert proxied.status_code == direct.status_code == 200
    assert proxied.content == direct.content
    assert "slots" in proxied.json()["data"]


async def test_snapshot_serves_repeat_queries_without_upstream(stack: Stack) -> None:
    query = QUERIES[1]
    for _ in range(20):
        assert (await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)).status_code == 200
    assert stack.services.snapshots.upstream_fetches == 1


@pytest.mark.parametrize(
    "query",
    [
        {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), "bogus": "1"},
        {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), "format": "list"},
        {"eventTypeId": "1001", "start": "2027-02-30", "end": str(MONDAY)},
        {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), "timeZone": "Mars/Olympus"},
        {"eventTypeId": "abc", "start": str(MONDAY), "end": str(MONDAY)},
        {"start": str(MONDAY), "end": str(MONDAY)},
        {"eventTypeId": "999999", "start": str(MONDAY), "end": str(MONDAY)},
    ],
    ids=[
        "unknown-param",
        "bad-format",
        "impossible-date",
        "bad-zone",
        "bad-id",
        "no-event",
        "404",
    ],
)
async def test_bad_queries_are_refused_as_calcom_refuses_them(stack: Stack, query: dict[str, str]) -> None:
    direct = await stack.direct.get("/v2/slots", params=query, headers=SLOTS_V)
    proxied = await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    assert 400 <= direct.status_code < 500
    assert proxied.status_code == direct.status_code
    d, p = direct.json(), proxied.json()
    assert p["error"]["code"] == d["error"]["code"]
    assert p["error"]["message"] == d["error"]["message"]
    assert p["path"] == d["path"]


async def test_a_reversed_range_is_answered_empty_as_calcom_answers_it(stack: Stack) -> None:
    """Golden slots-bad-input/end-before-start: 200 with empty data, through calproxy too."""
    query = {"eventTypeId": "1001", "start": str(MONDAY), "end": "2020-01-01"}
    direct = await stack.direct.get("/v2/slots", params=query, headers=SLOTS_V)
    proxied = await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    assert direct.status_code == proxied.status_code == 200
    assert direct.json() == proxied.json() == {"status": "success", "data": {}}


async def test_slots_without_version_header_behave_like_calcom(stack: Stack) -> None:
    query = QUERIES[0]
    direct = await stack.direct.get("/v2/slots", params=query)
    proxied = await stack.proxy.get("/v2/slots", params=query)
    assert proxied.status_code == direct.status_code
    assert proxied.json()["error"]["message"] == direct.json()["error"]["message"]
