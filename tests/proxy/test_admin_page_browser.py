"""The status page in Debian's headless Chromium (driven by Playwright; never a downloaded browser).

Logs in through the form, sees a hold placed through the API, changes the TTL through the form, releases
the hold with its button, and checks that a form without its CSRF token is refused and that the session
cookie is out of reach of scripts and other sites. Leaves a screenshot of the page in docs/admin-page.png.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from holds import Hold, HoldState
from tests.proxy.conftest import Stack, StackFactory, next_weekday

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The README's screenshot is refreshed on request only, so a test run never dirties the work tree.
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin-page.png"
DAY = next_weekday(28, weekday=1)
ADMIN = {"Authorization": "Bearer admin-secret"}
PAGE = "/calproxy/v1/admin/"
STEP_MS = 10_000  # any single browser step; the whole test is bounded by the timeout mark

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(90),
]


def berlin(hhmm: str) -> str:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, closed whatever the test does."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            await launched.close()


async def seed_advisor(stack: Stack, holds: int = 160) -> None:
    """Three hours of synthetic quote-to-commit observations, so the advisor has something to say.

    Written through OpsStats with a clock set to each moment, under a generous 180 s hold so the tail is
    observed; every sixth caller hangs up and releases its hold, censoring its observation as in real life.
    """
    rng = random.Random(8)
    start = time.time() - 3 * 3600
    now = [start]
    stats = dataclasses.replace(stack.services.stats, clock=lambda: now[0])
    for i in range(holds):
        created = start + i * 60
        hold = Hold(
            uid=f"seed{i}",
            resource="grp:host-2",
            owner="seed",
            start_ms=int(created * 1000) + 86_400_000,
            end_ms=int(created * 1000) + 88_200_000,
            expires_at_ms=int((created + 180) * 1000),
            state=HoldState.HELD,
            created_ms=int(created * 1000),
            fence=0,
        )
        now[0] = created
        await stats.hold_quoted(hold)
        gap = rng.lognormvariate(math.log(24), 0.55)
        if i % 6 == 0:
            now[0] = created + rng.uniform(5, 40)
            await stats.hold_released(hold.resource, hold.uid)
        elif gap < 180:
            now[0] = created + gap
            await stats.record_commit(hold.resource, hold.uid, int(gap * 1000))


async def seed_activity(stack: Stack) -> None:
    """A booking (a commit and its booked marker), another caller's hold, and a reconciliation."""
    await stack.quote("caller-b", eventTypeId=1001, start=berlin("11:00"), timeZone="Europe/Berlin")
    body = {
        "eventTypeId": 1001,
        "start": berlin("11:00"),
        "attendee": {"name": "B", "email": "b@example.com", "timeZone": "Europe/Berlin"},
    }
    assert (await stack.book("caller-b", body)).status_code == 201
    new_york = datetime.fromisoformat(f"{DAY}T10:00:00").replace(tzinfo=ZoneInfo("America/New_York"))
    await stack.quote("caller-c", eventTypeId=2001, start=new_york.isoformat(), timeZone="America/New_York")
    assert (await stack.proxy.post("/calproxy/v1/admin/reconcile", headers=ADMIN)).status_code == 200


async def log_in(page: Page, url: str) -> None:
    await page.goto(url + PAGE)
    assert page.url == url + "/calproxy/v1/admin/login"  # redirected: not logged in
    await page.fill("#token", "wrong-token")
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    await page.fill("#token", "admin-secret")
    await page.click("button[type=submit]")
    await page.wait_for_url(url + PAGE)


async def test_status_page_in_chromium(make_stack: StackFactory, browser: Browser, tmp_path: Path) -> None:
    stack = await make_stack()
    await seed_advisor(stack)
    await seed_activity(stack)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)

    await log_in(page, stack.proxy_url)
    [cookie] = await context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/calproxy/v1/admin" and cookie["secure"] is False
    assert 0 < cookie["expires"] - time.time() <= 8 * 3600
    assert await page.evaluate("document.cookie") == ""  # out of reach of any script

    # A hold placed through the API shows up with the reservationUid its caller was given.
    quoted = await stack.quote("caller-a", eventTypeId=1001, start=berlin("09:00"), timeZone="Europe/Berlin")
    uid = quoted["reservationUid"]
    await page.reload()
    row = page.locator("#holds tr", has_text=uid)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("held")

    # The default TTL, changed through the form.
    await page.fill("#policy input[name=defaultSeconds]", "75")
    await page.click("#policy button[type=submit]")
    await expect(page.get_by_role("status")).to_contain_text("TTL policy saved")
    policy = (await stack.proxy.get("/calproxy/v1/admin/ttl-policy", headers=ADMIN)).json()["data"]
    assert policy["defaultSeconds"] == 75.0
    await expect(page.locator("#advisor svg")).to_be_visible()
    shot = README_SCREENSHOT if os.environ.get("CALPROXY_UPDATE_SCREENSHOT") else tmp_path / "admin-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one

    # Force-released with its button; the API no longer lists it.
    await row.get_by_role("button", name=f"release {uid}").click()
    await expect(page.get_by_role("status")).to_have_text("Hold released.")
    listed = (await stack.proxy.get("/calproxy/v1/admin/holds", headers=ADMIN)).json()["data"]
    assert uid not in {h["reservationUid"] for h in listed}
    await expect(page.locator("#holds tr", has_text=uid)).to_have_count(0)

    # The same form without its CSRF token is refused and changes nothing.
    await page.locator("#policy input[name=csrf]").evaluate("input => input.remove()")
    await page.fill("#policy input[name=defaultSeconds]", "30")
    async with page.expect_response(lambda r: r.url.endswith("/page/ttl-policy")) as refused:
        await page.click("#policy button[type=submit]")
    assert (await refused.value).status == 403
    assert "ForbiddenException" in await page.content()
    policy = (await stack.proxy.get("/calproxy/v1/admin/ttl-policy", headers=ADMIN)).json()["data"]
    assert policy["defaultSeconds"] == 75.0
    await context.close()
