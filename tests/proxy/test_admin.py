"""Operator endpoints: auth, the shared TTL policy, holds, stats, metrics."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from holds import HoldStore, PolicyStore, TtlPolicy
from holds.logic import UID_PATTERN
from proxy import admin_views
from proxy.admin_views import change_policy
from proxy.calcom.errors import BadRequest
from proxy.handlers import admin
from proxy.identity import event_type_of, hold_uid_for, parse_public_uid, public_uid
from tests.proxy.conftest import Stack, StackFactory, next_weekday

DAY = next_weekday(21, weekday=3)
ADMIN = {"Authorization": "Bearer admin-secret"}


def berlin(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()


def new_york(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("America/New_York")).isoformat()


def utc_iso(local_iso: str) -> str:
    """`…T08:00:00.000Z` for an aware ISO instant."""
    return datetime.fromisoformat(local_iso).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_admin_needs_the_token(stack: Stack, make_stack: StackFactory) -> None:
    assert (await stack.proxy.get("/calproxy/v1/admin/ttl-policy")).status_code == 401
    wrong = await stack.proxy.get("/calproxy/v1/admin/ttl-policy", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UnauthorizedException"
    disabled = await make_stack(settings={"admin_token": None})
    assert (await disabled.proxy.get("/calproxy/v1/admin/ttl-policy", headers=ADMIN)).status_code == 403


async def test_ttl_policy_change_applies_to_the_next_hold(stack: Stack) -> None:
    policy = (await stack.proxy.get("/calproxy/v1/admin/ttl-policy", headers=ADMIN)).json()["data"]
    assert policy["defaultSeconds"] == 60.0
    changed = await stack.proxy.put(
        "/calproxy/v1/admin/ttl-policy",
        json={"defaultSeconds": 20, "overrides": {"grp:host-2": 90}},
        headers=ADMIN,
    )
    assert changed.status_code == 200
    assert changed.json()["data"]["overrides"] == {"grp:host-2": 90.0}
    quote = await stack.quote("A", eventTypeId=1001, start=berlin("09:00"), timeZone="Europe/Berlin")
    hold = (await stack.services.holds.live("grp:host-1", 0, 2**62))[0]
    assert hold.expires_at_ms - hold.created_ms == 20_000, quote
    bad = await stack.proxy.put("/calproxy/v1/admin/ttl-policy", json={"defaultSeconds": -1}, headers=ADMIN)
    assert bad.status_code == 400


async def test_holds_are_listed_and_force_released(stack: Stack) -> None:
    await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone="Europe/Berlin")
    listed = (await stack.proxy.get("/calproxy/v1/admin/holds", headers=ADMIN)).json()["data"]
    assert [(h["resource"], h["state"]) for h in listed] == [("grp:host-1", "held")]
    uid = listed[0]["uid"]
    released = await stack.proxy.delete(f"/calproxy/v1/admin/holds/grp:host-1/{uid}", headers=ADMIN)
    assert released.status_code == 200
    assert (
        await stack.proxy.delete(f"/calproxy/v1/admin/holds/grp:host-1/{uid}", headers=ADMIN)
    ).status_code == 404
    again = await stack.quote("B", eventTypeId=1001, start=berlin("10:00"), timeZone="Europe/Berlin")
    assert again["available"] is True


async def test_stats_and_metrics_report_contention_and_commits(stack: Stack) -> None:
    await stack.quote("A", eventTypeId=1001, start=berlin("11:00"), timeZone="Europe/Berlin")
    await stack.quote("B", eventTypeId=1001, start=berlin("11:00"), timeZone="Europe/Berlin")
    body = {
        "eventTypeId": 1001,
        "start": berlin("11:00"),
        "attendee": {"name": "A", "email": "a@x.io", "timeZone": "UTC"},
    }
    assert (await stack.book("A", body)).status_code == 201
    stats = (await stack.proxy.get("/calproxy/v1/admin/stats", headers=ADMIN)).json()["data"]
    assert stats["quoteToCommitMs"]["samples"] == 1
    assert stats["thisProcess"]["contention"] == 0.5
    advisor = stats["advisor"]
    # B's quote found the slot held, so B got no hold: one observation, A's, converted by the commit.
    assert (advisor["n"], advisor["events"], advisor["censored"]) == (1, 1, 0)
    assert stats["recommendedTtlSeconds"] is None and "not enough data" in advisor["reason"]
    metrics = (await stack.proxy.get("/metrics")).text
    assert 'calproxy_bookings_total{result="confirmed"} 1.0' in metrics
    assert 'calproxy_quotes_total{result="held"} 1.0' in metrics
    assert (await stack.proxy.get("/healthz")).json() == {"status": "ok"}
    assert (await stack.proxy.get("/readyz")).json()["redis"] == "up"


POLICY = "/calproxy/v1/admin/ttl-policy"
HOLDS = "/calproxy/v1/admin/holds"
START = {"defaultSeconds": 45, "minSeconds": 5, "maxSeconds": 600, "overrides": {"grp:host-2": 90}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # One bad override among good changes: nothing at all is applied.
        (
            {"defaultSeconds": 30, "overrides": {"grp:host-1": 20, "grp:host-2": -5}},
            "overrides.grp:host-2 must be more than 0",
        ),
        ({"defaultSeconds": 900}, "defaultSeconds 900 is above maxSeconds 600"),
        ({"defaultSeconds": 2}, "defaultSeconds 2 is below minSeconds 5"),
        ({"maxSeconds": 30}, "defaultSeconds 45 is above maxSeconds 30"),
        ({"minSeconds": 700}, "minSeconds 700 is above maxSeconds 600"),
        ({"minSeconds": 50, "maxSeconds": 10}, "minSeconds 50 is above maxSeconds 10"),
        ({"overrides": {"grp:host-1": 601}}, "overrides.grp:host-1 601 is above maxSeconds 600"),
        ({"minSeconds": 100, "defaultSeconds": 100}, "overrides.grp:host-2 90 is below minSeconds 100"),
        ({"overrides": {"grp:nope": 30}}, "unknown resource grp:nope"),
        (
            {"overrides": {"et:999": 30}},
            "unknown resource et:999: Cal.com shows no event type 999 to calproxy's key",
        ),
        (
            {"overrides": {"usr:99": 30}},
            "unknown resource usr:99: no event type calproxy serves is known to book",
        ),
        ({"overrides": {"et:1001": 30}}, "unknown resource et:1001: its holds live on grp:host-1"),
        ({"overrides": {"host-1": 30}}, "must be et:<eventTypeId>, usr:<userId> or grp:<group>"),
        ({"defaultSeconds": 1e308}, "defaultSeconds must be more than 0 and at most 86400 seconds"),
        ({"defaultSeconds": 10**400}, "defaultSeconds must be more than 0 and at most 86400 seconds"),
        ({"defaultSeconds": "30"}, "defaultSeconds must be a number of seconds"),
        ({"maxSeconds": True}, "maxSeconds must be a number of seconds"),
        ({"overrides": {"grp:host-1": False}}, "overrides.grp:host-1 must be a number of seconds"),
        ({"defaultSeconds": 0.0001}, "defaultSeconds must be at least 0.001 seconds"),
        ({"overrides": [1]}, "overrides must map a resource"),
        ({"defaultSeconds": 30, "ttl": 5}, "property ttl should not exist"),
        ([], "Body must be an object"),
    ],
)
async def test_a_bad_policy_change_is_refused_whole_and_changes_nothing(
    stack: Stack, body: Any, message: str
) -> None:
    assert (await stack.proxy.put(POLICY, json=START, headers=ADMIN)).status_code == 200
    before = await stack.services.redis.hgetall(stack.services.policy.key)
    refused = await stack.proxy.put(POLICY, json=body, headers=ADMIN)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "BadRequestException"
    assert message in error["message"]
    assert await stack.services.redis.hgetall(stack.services.policy.key) == before
    assert (await stack.proxy.get(POLICY, headers=ADMIN)).json()["data"] == {
        **START,
        "defaultSeconds": 45.0,
        "minSeconds": 5.0,
        "maxSeconds": 600.0,
        "overrides": {"grp:host-2": 90.0},
    }


@pytest.mark.parametrize(
    "raw",
    [
        '{"defaultSeconds": NaN}',
        '{"defaultSeconds": 1e400}',
        '{"maxSeconds": -Infinity}',
        '{"defaultSeconds": 1' + "0" * 5000 + "}",
    ],
)
async def test_non_finite_numbers_are_a_400_not_a_500(stack: Stack, raw: str) -> None:
    before = await stack.services.redis.hgetall(stack.services.policy.key)
    refused = await stack.proxy.put(
        POLICY, content=raw.encode(), headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert refused.status_code == 400, refused.text
    assert await stack.services.redis.hgetall(stack.services.policy.key) == before


async def test_change_policy_refuses_nan_and_infinity_passed_directly(stack: Stack) -> None:
    """The status page calls change_policy with parsed form values, not through read_json."""
    for value in (float("nan"), float("inf")):
        with pytest.raises(BadRequest, match="defaultSeconds must be a finite number of seconds"):
            await change_policy(stack.services, {"defaultSeconds": value})
    assert (await stack.services.policy.load_versioned())[1] == 0


async def test_every_error_of_a_body_is_reported_at_once(stack: Stack) -> None:
    body = {"defaultSeconds": "x", "minSeconds": -1, "overrides": {"nope": 3}}
    message = (await stack.proxy.put(POLICY, json=body, headers=ADMIN)).json()["error"]["message"]
    assert "defaultSeconds must be a number" in message
    assert "minSeconds must be more than 0" in message
    assert "'nope' must be et:<eventTypeId>, usr:<userId> or grp:<group>" in message


async def seen_by(store: HoldStore, want: TtlPolicy) -> TtlPolicy:
    """The other process's policy once it matches (pub/sub is asynchronous), or as it is after 5 s."""
    for _ in range(500):
        if await store.policy() == want:
            break
        await asyncio.sleep(0.01)
    return await store.policy()


async def test_a_good_change_is_applied_whole_and_seen_by_another_process(make_stack: StackFactory) -> None:
    server = fakeredis.FakeServer()
    stack = await make_stack(redis=fakeredis.FakeAsyncRedis(server=server), settings={"resource_groups": {}})
    other = fakeredis.FakeAsyncRedis(server=server)
    defaults = TtlPolicy(default_ms=60_000, min_ms=5_000, max_ms=600_000)
    async with HoldStore(other, policy=PolicyStore(other, defaults=defaults)) as elsewhere:
        assert (await elsewhere.policy()).default_ms == 60_000
        # In no group here, 1001's holds live on its owner's calendar, learned from Cal.com at first use:
        # that calendar may have an override, the event type itself may not (its holds are not on et:1001),
        # and another user's event type is not shown to calproxy's key at all.
        await stack.services.sharing.learn(1001, {})
        for resource, message in (
            ("et:1001", "unknown resource et:1001: its holds live on usr:1; override that"),
            (
                "et:2001",
                "Cal.com shows no event type 2001 to calproxy's key (there is none, or it is another",
            ),
        ):
            refused = await stack.proxy.put(POLICY, json={"overrides": {resource: 60}}, headers=ADMIN)
            assert message in refused.json()["error"]["message"], refused.text
        body = {"defaultSeconds": 12.5, "minSeconds": 2, "maxSeconds": 300, "overrides": {"usr:1": 90}}
        changed = await stack.proxy.put(POLICY, json=body, headers=ADMIN)
        assert changed.status_code == 200, changed.text
        assert changed.json()["data"] == {**body, "minSeconds": 2.0, "maxSeconds": 300.0}
        want = TtlPolicy(default_ms=12_500, min_ms=2_000, max_ms=300_000, overrides={"usr:1": 90_000})
        assert await seen_by(elsewhere, want) == want
        removed = await stack.proxy.put(POLICY, json={"overrides": {"usr:1": None}}, headers=ADMIN)
        assert removed.json()["data"]["overrides"] == {}
        unchanged = TtlPolicy(default_ms=12_500, min_ms=2_000, max_ms=300_000)
        assert await seen_by(elsewhere, unchanged) == unchanged
    await other.aclose()


async def test_operator_actions_leave_audit_lines(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(admin_views, "audit", lambda action, **fields: lines.append((action, fields)))
    monkeypatch.setattr(admin, "audit", lambda action, **fields: lines.append((action, fields)))
    await stack.proxy.put(POLICY, json={"defaultSeconds": 30}, headers=ADMIN)
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("15:00"), timeZone="Europe/Berlin")
    await stack.proxy.delete(f"{HOLDS}/{quoted['reservationUid']}", headers=ADMIN)
    await stack.proxy.post("/calproxy/v1/admin/reconcile", headers=ADMIN)
    assert [action for action, _ in lines] == [
        "ttl_policy_changed",
        "hold_force_released",
        "reconcile_requested",
    ]
    changed, released = lines[0][1], lines[1][1]
    assert (changed["before"]["defaultSeconds"], changed["after"]["defaultSeconds"]) == (60.0, 30.0)
    assert released["resource"] == "grp:host-1"
    assert released["reservation_uid"] == quoted["reservationUid"]
    assert "admin-secret" not in json.dumps([fields for _, fields in lines])


async def test_holds_list_iso_times_zones_and_the_callers_reservation_uid(stack: Stack) -> None:
    berlin_quote = await stack.quote("A", eventTypeId=1001, start=berlin("09:00"), timeZone="Europe/Berlin")
    ny_quote = await stack.quote("B", eventTypeId=2001, start=new_york("10:00"), timeZone="America/New_York")
    listed = (await stack.proxy.get(HOLDS, headers=ADMIN)).json()["data"]
    assert [h["resource"] for h in listed] == ["grp:host-1", "grp:host-2"]
    first, second = listed
    assert first["reservationUid"] == berlin_quote["reservationUid"]
    assert second["reservationUid"] == ny_quote["reservationUid"]
    assert first["eventTypeId"] == 1001 and first["state"] == "held"
    assert first["start"] == utc_iso(berlin("09:00")) and first["end"] == utc_iso(berlin("09:30"))
    # The key's own user is the Berlin host: its zone is found; New York's is not, and says so.
    assert (first["timeZone"], first["timeZoneSource"]) == ("Europe/Berlin", "host")
    assert datetime.fromisoformat(first["startLocal"]) == datetime.fromisoformat(berlin("09:00"))
    assert first["startLocal"].endswith(datetime.fromisoformat(berlin("09:00")).strftime("%z")[:3] + ":00")
    assert (second["timeZone"], second["timeZoneSource"]) == ("UTC", "fallback")
    assert second["startLocal"] == second["start"] == utc_iso(new_york("10:00"))
    assert 0 < first["remainingSeconds"] <= 60
    # Quotes need a verified key now: the owner is that key's tenant (a keyed hash), never "public".
    assert first["owner"].startswith("t") and ":c:" in first["owner"]
    assert first["uid"] != first["reservationUid"]
    assert not any(key.endswith("Ms") for key in first)
    only = (await stack.proxy.get(HOLDS, params={"resource": "grp:host-2"}, headers=ADMIN)).json()["data"]
    assert only == [second]


async def test_release_by_the_callers_reservation_uid(stack: Stack) -> None:
    quoted = await stack.quote("A", eventTypeId=1002, start=berlin("13:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    taken = await stack.quote("B", eventTypeId=1001, start=berlin("13:00"), timeZone="Europe/Berlin")
    assert taken["available"] is False
    released = await stack.proxy.delete(f"{HOLDS}/{uid}", headers=ADMIN)
    assert released.status_code == 200, released.text
    gone = await stack.proxy.delete(f"{HOLDS}/{uid}", headers=ADMIN)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NotFoundException"
    for bogus in ("not-a-uid", "abc", "x!y-12"):
        refused = await stack.proxy.delete(f"{HOLDS}/{bogus}", headers=ADMIN)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "BadRequestException"
    again = await stack.quote("B", eventTypeId=1001, start=berlin("13:00"), timeZone="Europe/Berlin")
    assert again["available"] is True
    assert (await stack.proxy.delete(f"{HOLDS}/{uid}")).status_code == 401


async def test_reservations_made_through_cal_com_paths_show_their_uid(stack: Stack) -> None:
    start = datetime.fromisoformat(berlin("14:00")).astimezone(ZoneInfo("UTC")).isoformat()
    made = await stack.proxy.post(
        "/v2/slots/reservations",
        json={"eventTypeId": 1002, "slotStart": start},
        headers={"cal-api-version": "2024-09-04", "X-Call-Id": "R"},
    )
    assert made.status_code == 201, made.text
    uid = made.json()["data"]["reservationUid"]
    listed = (await stack.proxy.get(HOLDS, headers=ADMIN)).json()["data"]
    assert [h["reservationUid"] for h in listed] == [uid]
    assert (await stack.proxy.delete(f"{HOLDS}/{uid}", headers=ADMIN)).status_code == 200


@pytest.mark.parametrize(
    ("event_type_id", "resource"), [(1001, "et:1001"), (1001, "grp:host-1"), (7, "grp:a-b_c")]
)
def test_a_hold_uid_records_the_event_type_and_its_public_uid_round_trips(
    event_type_id: int, resource: str
) -> None:
    uid = hold_uid_for(event_type_id, resource)
    assert UID_PATTERN.fullmatch(uid)
    assert event_type_of(uid, resource) == event_type_id
    parsed = parse_public_uid(public_uid(uid, event_type_id, resource))
    assert parsed is not None and (parsed.hold_uid, parsed.event_type_id, parsed.resource) == (
        uid,
        event_type_id,
        resource,
    )
    # Uids made before the event type was recorded (16 hex digits) say nothing about it.
    assert event_type_of("0123456789abcdef", "grp:host-1") is None


async def test_concurrent_changes_are_merged_not_lost(stack: Stack) -> None:
    bodies = [{"defaultSeconds": 30}, {"overrides": {"grp:host-2": 90}}, {"maxSeconds": 500}]
    answers = await asyncio.gather(*(change_policy(stack.services, body) for body in bodies))
    assert len(answers) == 3
    policy = await stack.services.policy.load()
    assert (policy.default_ms, policy.max_ms, dict(policy.overrides)) == (
        30_000,
        500_000,
        {"grp:host-2": 90_000},
    )
