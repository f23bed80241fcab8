"""Operator endpoints: auth, the shared TTL policy, holds, stats, metrics."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.proxy.conftest import Stack, StackFactory, next_weekday

DAY = next_weekday(21, weekday=3)
ADMIN = {"Authorization": "Bearer admin-secret"}


def berlin(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()


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
    assert stats["recommendedTtlSeconds"] >= 5
    metrics = (await stack.proxy.get("/metrics")).text
    assert 'calproxy_bookings_total{result="confirmed"} 1.0' in metrics
    assert 'calproxy_quotes_total{result="held"} 1.0' in metrics
    assert (await stack.proxy.get("/healthz")).json() == {"status": "ok"}
    assert (await stack.proxy.get("/readyz")).json()["redis"] == "up"
