"""Pure proxy parts: identity, reservation uids, verification, forwarding rules, snapshots, quotes, stats."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.calcom.errors import BadRequest
from proxy.forwarding import credentials, request_headers, response_headers
from proxy.identity import (
    PUBLIC_TENANT,
    ResourceMap,
    caller_of,
    owner_in_tenant,
    parse_public_uid,
    public_uid,
    tenant_of,
)
from proxy.opstats import percentile
from proxy.quote import parse_quote
from proxy.slotmath import DAY_MS
from proxy.snapshot import DaySlots, contiguous_runs, parse_range_slots
from proxy.verification import Expected, booking_uids, is_slot_taken, mismatches, tagged

SECRET = b"s3cret"


def test_tenant_is_a_keyed_hash_never_the_credential() -> None:
    key = "Bearer cal_live_abcdef"
    tenant = tenant_of({"Authorization": key}, SECRET)
    assert tenant != PUBLIC_TENANT and "cal_live" not in tenant and "abcdef" not in tenant
    assert tenant == tenant_of({"Authorization": key}, SECRET)
    assert tenant != tenant_of({"Authorization": key}, b"other")
    assert tenant_of({}, SECRET) == PUBLIC_TENANT


def test_caller_owner_is_tenant_scoped() -> None:
    a = caller_of({"X-Call-Id": "call-1", "Authorization": "Bearer cal_a"}, SECRET)
    b = caller_of({"X-Call-Id": "call-1", "Authorization": "Bearer cal_b"}, SECRET)
    assert a.has_call_id and a.owner != b.owner, "the same call id in two tenants is two owners"
    assert owner_in_tenant(a.owner, a.tenant) and not owner_in_tenant(a.owner, b.tenant)
    assert "call-1" not in a.owner
    anonymous = caller_of({}, SECRET)
    assert not anonymous.has_call_id and anonymous.owner != caller_of({}, SECRET).owner


@given(
    st.text(alphabet="0123456789abcdef", min_size=8, max_size=32),
    st.integers(1, 2**31 - 1),
    st.one_of(st.none(), st.text(min_size=1, max_size=40)),
)
def test_public_uid_round_trips(hold_uid: str, event_type_id: int, group: str | None) -> None:
    resources = ResourceMap({event_type_id: group} if group else {})
    resource = resources.resource_for(event_type_id)
    parsed = parse_public_uid(public_uid(hold_uid, event_type_id, resource))
    assert parsed is not None
    assert (parsed.hold_uid, parsed.event_type_id, parsed.resource) == (hold_uid, event_type_id, resource)


@pytest.mark.parametrize("text", ["", "abc", "x-y", "abc-12-!!", "a b-12", "abc-" + "9" * 13, "abc-1-ZXQ6MQ"])
def test_foreign_uids_are_rejected(text: str) -> None:
    assert parse_public_uid(text) is None


def booked(**changes: Any) -> dict[str, Any]:
    base = {
        "uid": "u1",
        "start": "2030-01-01T09:00:00.000Z",
        "end": "2030-01-01T09:30:00.000Z",
        "eventTypeId": 1001,
        "eventType": {"id": 1001, "slug": "x"},
        "status": "accepted",
    }
    return {**base, **changes}


EXPECTED = Expected(1001, 1_893_488_400_000, 1_893_490_200_000)


def test_verification_accepts_the_exact_booking_in_any_offset() -> None:
    assert mismatches(booked(), EXPECTED) == []
    assert mismatches(booked(start="2030-01-01T10:00:00+01:00"), EXPECTED) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"start": "2030-01-01T09:30:00.000Z", "end": "2030-01-01T10:00:00.000Z"},  # shifted (18 Oct incident)
        {"end": "2030-01-01T10:00:00.000Z"},  # wrong length
        {"eventType": {"id": 1002}, "eventTypeId": 1002},
        {"status": "cancelled"},
        {"status": "rejected"},
        {"uid": None},
        {"start": "not a date"},
    ],
)
def test_verification_refuses_any_difference(changes: dict[str, Any]) -> None:
    assert mismatches(booked(**changes), EXPECTED)


def test_verification_refuses_lists_and_garbage() -> None:
    assert mismatches([booked()], EXPECTED)
    assert mismatches(None, EXPECTED)
    assert booking_uids([booked(), booked(uid="u2"), {"x": 1}]) == ["u1", "u2"]


def test_slot_taken_is_told_apart_by_message() -> None:
    assert is_slot_taken(400, "User either already has booking at this time or is not available")
    assert is_slot_taken(400, "One of the hosts either already has booking at this time or is not available")
    assert not is_slot_taken(400, "attendee property is wrong")
    assert not is_slot_taken(409, "User either already has booking at this time or is not available")
    assert tagged({"metadata": {"calproxyCommit": "c1"}}, "c1") and not tagged({"metadata": {}}, "c1")


def test_forwarding_drops_hop_by_hop_and_our_headers() -> None:
    incoming = [
        ("Host", "proxy"),
        ("Connection", "keep-alive, X-Secret-Hop"),
        ("X-Secret-Hop", "1"),
        ("Authorization", "Bearer cal_x"),
        ("X-Call-Id", "call"),
        ("Idempotency-Key", "k"),
        ("cal-api-version", "2024-08-13"),
        ("Content-Length", "12"),
    ]
    assert request_headers(incoming) == [("Authorization", "Bearer cal_x"), ("cal-api-version", "2024-08-13")]
    back = [
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("X-RateLimit-Limit-Default", "120"),
    ]
    assert response_headers(back) == [("X-RateLimit-Limit-Default", "120")]
    assert credentials({"Authorization": "a", "x-cal-client-id": "b", "Other": "c"}) == {
        "Authorization": "a",
        "x-cal-client-id": "b",
    }


def test_range_answers_split_into_utc_days() -> None:
    day = 1_893_456_000_000 // DAY_MS  # 2030-01-01
    body = {
        "status": "success",
        "data": {
            "2030-01-01": [
                {"start": "2030-01-01T23:30:00.000Z", "end": "2030-01-02T00:30:00.000Z"},
                {"start": "2030-01-01T09:00:00.000Z", "end": "2030-01-01T10:00:00.000Z"},
            ]
        },
    }
    parsed = parse_range_slots(body, [day, day + 1], fetched_ms=5)
    assert parsed[day].starts == (1_893_488_400_000, 1_893_540_600_000)
    assert parsed[day].length_ms == 3_600_000
    assert parsed[day + 1] == DaySlots(day + 1, (), None, 5)
    assert DaySlots.decode(day, parsed[day].encode()) == parsed[day]
    with pytest.raises(ValueError):
        parse_range_slots({"status": "success"}, [day], 0)


def test_contiguous_runs() -> None:
    assert contiguous_runs([9, 3, 4, 5, 5, 11, 10]) == [[3, 4, 5], [9, 10, 11]]
    assert contiguous_runs([]) == []


def test_quote_body_validation() -> None:
    ok = parse_quote(
        {"eventTypeId": 1001, "start": "2030-01-01T10:00:00+01:00", "timeZone": "Europe/Berlin"}, 3
    )
    assert ok.alternatives == 3 and not ok.hold_alternatives and ok.start.tzinfo is not None
    with pytest.raises(BadRequest) as bad:
        parse_quote({"eventTypeId": "1", "start": "2030-02-30", "timeZone": "Nowhere/Else", "extra": 1}, 3)
    message = bad.value.message
    for fragment in ("extra property is wrong", "eventTypeId", "start must be", "timeZone must be"):
        assert fragment in message
    with pytest.raises(BadRequest):
        parse_quote([1], 3)
    with pytest.raises(BadRequest):
        parse_quote({"eventTypeId": 1, "start": "2030-01-01", "timeZone": "UTC", "alternatives": 11}, 3)


def test_percentile_is_nearest_rank() -> None:
    samples = sorted([14_000] * 90 + [30_000] * 9 + [61_000])
    assert percentile(samples, 50) == 14_000 and percentile(samples, 99) == 30_000
    assert percentile([], 50) is None
