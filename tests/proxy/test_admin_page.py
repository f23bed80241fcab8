"""The status page over HTTP (no browser): login, cookie, CSRF, escaping, rendering, and its pure parts."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

from proxy import adminsession
from proxy.admin_forms import PolicyForm, form_of_policy, policy_body
from proxy.admin_render import advisor_svg
from proxy.advisor_chart import advisor_chart
from proxy.calcom.errors import BadRequest
from proxy.handlers import admin_page
from tests.proxy.conftest import Stack, StackFactory, next_weekday

DAY = next_weekday(21, weekday=2)
ADMIN = {"Authorization": "Bearer admin-secret"}
PAGE = "/calproxy/v1/admin/"
LOGIN = "/calproxy/v1/admin/login"
EVIL = "<script>alert(1)</script>"


def berlin(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()


def audits(logs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The audit lines among captured log entries, without structlog's bookkeeping."""
    return [
        {k: v for k, v in line.items() if k not in ("event", "log_level")}
        for line in logs
        if line.get("event") == "audit"
    ]


async def log_in(stack: Stack, **headers: str) -> httpx.Response:
    """Log the stack's client in; its cookie jar then carries the session."""
    response = await stack.proxy.post(LOGIN, data={"token": "admin-secret"}, headers=headers)
    assert response.status_code == 303, response.text
    return response


async def csrf_of(stack: Stack) -> str:
    page = await stack.proxy.get(PAGE)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def policy(stack: Stack) -> dict[str, Any]:
    response = await stack.proxy.get("/calproxy/v1/admin/ttl-policy", headers=ADMIN)
    return dict(response.json()["data"])


def policy_form(csrf: str | None, default: str = "60", **extra: str) -> dict[str, str]:
    form = {"defaultSeconds": default, "minSeconds": "5", "maxSeconds": "600", **extra}
    return form if csrf is None else {**form, "csrf": csrf}


# --------------------------------------------------------------------------------------- login, cookie


async def test_logged_out_page_redirects_to_the_login_form(stack: Stack) -> None:
    response = await stack.proxy.get(PAGE)
    assert response.status_code == 303 and response.headers["Location"] == LOGIN
    bare = await stack.proxy.get("/calproxy/v1/admin")
    assert bare.status_code == 303 and bare.headers["Location"] == PAGE
    form = await stack.proxy.get(LOGIN)
    assert form.status_code == 200 and 'type="password"' in form.text and 'method="post"' in form.text
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]


async def test_a_wrong_token_shows_the_form_again_and_sets_no_cookie(stack: Stack) -> None:
    with capture_logs() as logs:
        response = await stack.proxy.post(LOGIN, data={"token": "admin-secreT"})
    assert response.status_code == 401
    assert "That is not the admin token." in response.text and 'type="password"' in response.text
    assert "set-cookie" not in response.headers and not stack.proxy.cookies
    assert audits(logs) == [{"action": "admin_login", "ok": False}]
    assert "admin-secre" not in str(logs)
    assert (await stack.proxy.get(PAGE)).status_code == 303


async def test_the_session_cookie_is_httponly_strict_scoped_and_bounded(stack: Stack) -> None:
    with capture_logs() as logs:
        response = await log_in(stack)
    assert response.headers["Location"] == PAGE
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{adminsession.COOKIE_NAME}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes and "secure" not in attributes
    assert "SameSite=Strict" in cookie and "Path=/calproxy/v1/admin;" in cookie + ";"
    assert f"Max-Age={8 * 3600}" in cookie
    assert audits(logs) == [{"action": "admin_login", "ok": True}]
    assert "admin-secret" not in str(logs)
    page = await stack.proxy.get(PAGE)
    assert page.status_code == 200 and "admin-secret" not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    # Behind a TLS-terminating proxy the cookie is Secure.
    again = await stack.proxy.post(
        LOGIN, data={"token": "admin-secret"}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" in again.headers["set-cookie"]


async def test_expired_tampered_and_foreign_cookies_are_refused(stack: Stack) -> None:
    key = adminsession.session_key("admin-secret")
    expired = adminsession.issue(key, time.time() - adminsession.LIFETIME_S - 5)
    good = adminsession.issue(key, time.time())
    version, expires, nonce, mac = good.split(".")
    tampered = [
        f"{version}.{int(expires) + 3600}.{nonce}.{mac}",  # a longer life
        f"{version}.{expires}.{nonce[:-1]}{'A' if nonce[-1] != 'A' else 'B'}.{mac}",
        f"{version}.{expires}.{nonce}.",
        good + ".x",
        "garbage",
    ]
    foreign = adminsession.issue(adminsession.session_key("another-token"), time.time())
    for value in [expired, *tampered, foreign]:
        response = await stack.proxy.get(PAGE, headers={"Cookie": f"{adminsession.COOKIE_NAME}={value}"})
        assert response.status_code == 303, value
    ok = await stack.proxy.get(PAGE, headers={"Cookie": f"{adminsession.COOKIE_NAME}={good}"})
    assert ok.status_code == 200


async def test_logout_needs_the_csrf_token_and_clears_the_cookie(stack: Stack) -> None:
    await log_in(stack)
    csrf = await csrf_of(stack)
    refused = await stack.proxy.post("/calproxy/v1/admin/logout", data={})
    assert refused.status_code == 403
    with capture_logs() as logs:
        response = await stack.proxy.post("/calproxy/v1/admin/logout", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["Location"] == LOGIN
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert audits(logs) == [{"action": "admin_logout"}]
    assert (await stack.proxy.get(PAGE)).status_code == 303


async def test_without_an_admin_token_the_page_is_disabled(make_stack: StackFactory) -> None:
    disabled = await make_stack(settings={"admin_token": None})
    page = await disabled.proxy.get(PAGE)
    assert page.status_code == 403 and "CALPROXY_ADMIN_TOKEN" in page.text and "<form" not in page.text
    assert (await disabled.proxy.post(LOGIN, data={"token": ""})).status_code == 403


# --------------------------------------------------------------------------------------------- CSRF


async def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(stack: Stack) -> None:
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("09:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    before = await policy(stack)
    # Not logged in at all.
    anonymous = await stack.proxy.post("/calproxy/v1/admin/page/ttl-policy", data=policy_form("x", "30"))
    assert anonymous.status_code == 403
    await log_in(stack)
    csrf = await csrf_of(stack)
    other = httpx.AsyncClient(base_url=stack.proxy_url)
    async with other:
        await other.post(LOGIN, data={"token": "admin-secret"})
        other_csrf = re.search(r'name="csrf" value="([^"]+)"', (await other.get(PAGE)).text)
    assert other_csrf is not None and other_csrf.group(1) != csrf
    for sent in (None, "", "forged", csrf[:-1], other_csrf.group(1)):
        changed = await stack.proxy.post("/calproxy/v1/admin/page/ttl-policy", data=policy_form(sent, "30"))
        assert changed.status_code == 403, sent
        body = changed.json()
        assert body["status"] == "error" and body["error"]["code"] == "ForbiddenException"
        released = await stack.proxy.post(
            "/calproxy/v1/admin/page/release",
            data={"reservationUid": uid, **({"csrf": sent} if sent else {})},
        )
        assert released.status_code == 403
        assert (await stack.proxy.post("/calproxy/v1/admin/page/reconcile", data={})).status_code == 403
    assert await policy(stack) == before
    assert await stack.services.reconciler.last_report() is None
    listed = (await stack.proxy.get("/calproxy/v1/admin/holds", headers=ADMIN)).json()["data"]
    assert [h["reservationUid"] for h in listed] == [uid]


# ------------------------------------------------------------------------------------ page and actions


async def test_the_page_shows_holds_and_its_actions_work(stack: Stack) -> None:
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    await log_in(stack)
    csrf = await csrf_of(stack)
    page = (await stack.proxy.get(PAGE)).text
    assert uid in page and "grp:host-1" in page and "Last hour" in page and "<svg" in page
    assert "No reconciliation has run yet." in page

    saved = await stack.proxy.post(
        "/calproxy/v1/admin/page/ttl-policy",
        data=policy_form(csrf, "45", overrideResource="grp:host-2", overrideSeconds="90"),
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"{PAGE}?done=policy"
    assert await policy(stack) == {
        "defaultSeconds": 45.0,
        "minSeconds": 5.0,
        "maxSeconds": 600.0,
        "overrides": {"grp:host-2": 90.0},
    }
    assert "TTL policy saved" in (await stack.proxy.get(saved.headers["Location"])).text

    released = await stack.proxy.post(
        "/calproxy/v1/admin/page/release", data={"reservationUid": uid, "csrf": csrf}
    )
    assert released.status_code == 303 and released.headers["Location"] == f"{PAGE}?done=released"
    assert (await stack.proxy.get("/calproxy/v1/admin/holds", headers=ADMIN)).json()["data"] == []
    again = await stack.proxy.post(
        "/calproxy/v1/admin/page/release", data={"reservationUid": uid, "csrf": csrf}
    )
    assert again.headers["Location"] == f"{PAGE}?done=gone"

    reconciled = await stack.proxy.post("/calproxy/v1/admin/page/reconcile", data={"csrf": csrf})
    assert reconciled.status_code == 303
    page = (await stack.proxy.get(reconciled.headers["Location"])).text
    assert "Reconciliation finished" in page and "No reconciliation has run yet." not in page
    assert "100%</strong> of 0 confirmed bookings" in page


async def test_a_refused_policy_shows_the_api_message_and_changes_nothing(stack: Stack) -> None:
    await log_in(stack)
    csrf = await csrf_of(stack)
    before = await policy(stack)
    refused = await stack.proxy.post("/calproxy/v1/admin/page/ttl-policy", data=policy_form(csrf, "700"))
    assert refused.status_code == 400
    assert "defaultSeconds 700 is above maxSeconds 600" in refused.text
    assert 'name="defaultSeconds" inputmode="decimal" value="700"' in refused.text  # as submitted
    unreadable = await stack.proxy.post("/calproxy/v1/admin/page/ttl-policy", data=policy_form(csrf, "soon"))
    assert unreadable.status_code == 400 and "defaultSeconds must be a number of seconds" in unreadable.text
    assert await policy(stack) == before


async def test_names_from_data_and_forms_are_escaped(make_stack: StackFactory) -> None:
    stack = await make_stack(settings={"resource_groups": {1001: EVIL, 2001: "host-2"}})
    resource = f"grp:{EVIL}"
    put = await stack.proxy.put(
        "/calproxy/v1/admin/ttl-policy", json={"overrides": {resource: 90}}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    await stack.quote("A", eventTypeId=1001, start=berlin("11:00"), timeZone="Europe/Berlin")
    await log_in(stack)
    csrf = await csrf_of(stack)
    page = (await stack.proxy.get(PAGE)).text
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 0
    refused = await stack.proxy.post(
        "/calproxy/v1/admin/page/ttl-policy",
        data=policy_form(csrf, overrideResource=f"grp:x{EVIL}", overrideSeconds="30"),
    )
    assert refused.status_code == 400 and "unknown resource" in refused.text
    assert "<script" not in refused.text and "&lt;script&gt;" in refused.text


async def test_a_failing_part_does_not_take_the_page_down(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> dict[str, Any]:
        raise RedisConnectionError("down")

    monkeypatch.setattr(stack.services.activity, "last_hour", broken)
    await log_in(stack)
    page = await stack.proxy.get(PAGE)
    assert page.status_code == 200 and "Unavailable right now (ConnectionError)" in page.text
    assert "TTL policy" in page.text


async def test_a_long_holds_list_is_cut_and_says_so(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_page, "HOLDS_SHOWN", 1)
    await stack.quote("A", eventTypeId=1001, start=berlin("13:00"), timeZone="Europe/Berlin")
    await stack.quote("B", eventTypeId=1001, start=berlin("14:00"), timeZone="Europe/Berlin")
    await log_in(stack)
    page = (await stack.proxy.get(PAGE)).text
    assert "Showing the first 1 of 2 holds" in page and page.count('name="reservationUid"') == 1


async def test_page_css_is_served(stack: Stack) -> None:
    response = await stack.proxy.get("/calproxy/v1/admin/page.css")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/css")
    assert ".advisor-chart" in response.text


# ---------------------------------------------------------------------------------- last reconciliation


async def test_reconciliation_stores_its_report_and_tolerates_a_failing_store(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconciler = stack.services.reconciler
    assert await reconciler.last_report() is None
    assert (await stack.proxy.post("/calproxy/v1/admin/reconcile", headers=ADMIN)).status_code == 200
    stored = await reconciler.last_report()
    assert stored is not None and stored["consistencyRatio"] == 1.0 and stored["missing"] == []
    assert datetime.fromisoformat(stored["ranAt"]).tzinfo is not None
    key = stack.services.keys.last_reconciliation()
    assert "{" in key and "}" in key

    async def down(*_args: object, **_kwargs: object) -> None:
        raise RedisConnectionError("down")

    monkeypatch.setattr(stack.services.redis, "set", down)
    monkeypatch.setattr(stack.services.redis, "get", down)
    report = await reconciler.run()  # the store failing does not fail the run
    assert report.consistency_ratio == 1.0
    assert await reconciler.last_report() is None


# ---------------------------------------------------------------------------------------- pure parts


def test_sessions_and_csrf_tokens() -> None:
    key = adminsession.session_key("admin-secret")
    assert key != adminsession.session_key("admin-secret2") and b"admin-secret" not in key
    now = 1_800_000_000.0
    value = adminsession.issue(key, now)
    session = adminsession.verify(key, value, now + 10)
    assert session is not None and session.expires_at == int(now) + adminsession.LIFETIME_S
    assert adminsession.verify(key, value, now + adminsession.LIFETIME_S) is None
    assert adminsession.verify(key, None, now) is None
    other = adminsession.verify(key, adminsession.issue(key, now), now)
    assert other is not None and other.nonce != session.nonce
    token = adminsession.csrf_token(key, session)
    assert adminsession.csrf_ok(key, session, token)
    assert not adminsession.csrf_ok(key, other, token)
    assert not adminsession.csrf_ok(key, session, None) and not adminsession.csrf_ok(key, session, "")
    # A session's MAC is not its CSRF token (domain separation).
    assert value.split(".")[3] != token
    assert adminsession.token_matches("admin-secret", "admin-secret")
    assert not adminsession.token_matches("admin-secre", "admin-secret")


def test_policy_form_sends_only_what_changed() -> None:
    current = {"defaultSeconds": 60.0, "minSeconds": 5.0, "maxSeconds": 600.0, "overrides": {"grp:a": 90.0}}
    shown = form_of_policy(current)
    assert shown.context()["overrides"] == [("grp:a", "90")] and shown.context()["defaultSeconds"] == "60"
    unchanged = policy_body(shown, current)
    assert unchanged == {"defaultSeconds": 60, "minSeconds": 5, "maxSeconds": 600}
    edited = PolicyForm(
        {"defaultSeconds": "7.5", "minSeconds": "", "maxSeconds": "600"},
        [("grp:a", ""), ("grp:b", "120")],
    )
    assert policy_body(edited, current) == {
        "defaultSeconds": 7.5,
        "maxSeconds": 600,
        "overrides": {"grp:a": None, "grp:b": 120},
    }
    with pytest.raises(BadRequest, match="Name the resource"):
        policy_body(PolicyForm({}, [("", "30")]), current)
    with pytest.raises(BadRequest, match="overrides.grp:a must be a number"):
        policy_body(PolicyForm({}, [("grp:a", "ninety")]), current)


ADVICE: dict[str, Any] = {
    "windowSeconds": 86400,
    "from": "2026-12-03T14:00:00.000Z",
    "to": "2026-12-04T14:00:00.000Z",
    "n": 240,
    "events": 180,
    "censored": 60,
    "censoredShare": 0.25,
    "minEvents": 30,
    "enough": True,
    "percentilesSeconds": {"p50": 21.0, "p90": 48.0, "p95": 61.0, "p99": None},
    "candidates": [
        {"ttlSeconds": 30, "lossShare": 0.31, "idleSlotMinutes": 12.0, "current": False},
        {"ttlSeconds": 45, "lossShare": 0.12, "idleSlotMinutes": 16.5, "current": False},
        {"ttlSeconds": 60, "lossShare": 0.05, "idleSlotMinutes": 21.0, "current": True},
        {"ttlSeconds": 90, "lossShare": None, "idleSlotMinutes": 30.0, "current": False},
        {"ttlSeconds": 120, "lossShare": 0.01, "idleSlotMinutes": 39.5, "current": False},
        {"ttlSeconds": 180, "lossShare": 0.0, "idleSlotMinutes": 58.0, "current": False},
    ],
    "currentTtlSeconds": 60,
    "recommendedTtlSeconds": 75,
    "reason": "p99 < 75 s & <script>",
}


def svg_of(advice: dict[str, Any]) -> ET.Element:
    """The rendered chart, parsed: it must be well-formed XML."""
    return ET.fromstring(str(advisor_svg(advice)))


def tags(root: ET.Element, name: str) -> list[ET.Element]:
    return root.findall(f".//{{http://www.w3.org/2000/svg}}{name}")


def test_advisor_chart_draws_both_series_and_both_marks() -> None:
    root = svg_of(ADVICE)
    # The unknown share at 90 s breaks the line in two; every known share has a point.
    assert len(tags(root, "polyline")) == 2 and len(tags(root, "circle")) == 5
    assert len([r for r in tags(root, "rect") if r.get("class") == "bar"]) == 6
    labels = [t.text for t in tags(root, "text")]
    assert "current 60 s" in labels and "recommended 75 s" in labels
    chart = advisor_chart(ADVICE)
    # Labels sit on the far sides of their rules, so close rules never overprint each other's label.
    assert [(m.kind, m.anchor) for m in chart.markers] == [("current", "end"), ("recommended", "start")]
    assert chart.markers[0].label_x < chart.markers[0].x < chart.markers[1].x < chart.markers[1].label_x
    edge = advisor_chart({**ADVICE, "currentTtlSeconds": 5, "recommendedTtlSeconds": 30}).markers
    assert edge[0].anchor == "start"  # no room on the left of a rule at 5 s
    assert [m.row for m in edge] == [0, 1]  # and so the two labels take a line each
    assert [m.row for m in chart.markers] == [0, 0]
    assert chart.share_ticks[-1].label == "50%"  # the largest share, 31%, rounded up


def test_advisor_chart_edge_cases() -> None:
    empty = svg_of({**ADVICE, "candidates": []})
    assert not tags(empty, "polyline") and not tags(empty, "circle")
    assert "No candidate TTLs to compare yet." in [t.text for t in tags(empty, "text")]
    assert advisor_chart({}).message is not None
    no_shares = [{**c, "lossShare": None} for c in ADVICE["candidates"]]
    unknown = svg_of({**ADVICE, "candidates": no_shares, "recommendedTtlSeconds": None})
    assert not tags(unknown, "polyline") and not tags(unknown, "circle")
    texts = [t.text or "" for t in tags(unknown, "text")]
    assert not any("recommended" in t for t in texts) and "current 60 s" in texts
    same = advisor_chart({**ADVICE, "recommendedTtlSeconds": 60})
    assert [(m.kind, m.label) for m in same.markers] == [("both", "current = recommended 60 s")]
    odd = advisor_chart(
        {
            "candidates": [
                {"ttlSeconds": "30", "lossShare": 0.1},
                {"ttlSeconds": True, "lossShare": 0.1},
                {"ttlSeconds": 60, "lossShare": float("nan"), "idleSlotMinutes": None},
                {"ttlSeconds": 90, "lossShare": 2.0, "idleSlotMinutes": 0},
                "junk",
            ],
            "currentTtlSeconds": None,
        }
    )
    assert [t.label for t in odd.x_ticks] == ["60", "90"] and not odd.markers
    assert all(odd.top <= p.y <= odd.bottom_edge for p in odd.points)
    assert [b.height for b in odd.bars] == [0.0]
