"""Bookkeeping after a verified booking never delays or fails its answer."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from redis.exceptions import ConnectionError as RedisConnectionError

from tests.proxy.conftest import Stack, next_weekday

DAY = next_weekday(49, weekday=0)


async def test_a_failed_budget_write_after_a_booking_does_not_fail_the_booking(stack: Stack) -> None:
    calls = 0

    async def broken(*_args: object) -> None:
        nonlocal calls
        calls += 1
        raise RedisConnectionError("gone")

    stack.services.budget.tenants.forget_slot = broken  # type: ignore[method-assign]
    start = datetime.fromisoformat(f"{DAY}T10:00:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).isoformat()
    attendee = {"name": "Ann", "email": "ann@example.com", "timeZone": "UTC"}
    body = {"eventTypeId": 1001, "start": start, "attendee": attendee}
    response = await stack.book("A", body)
    assert response.status_code == 201, response.text
    await asyncio.sleep(0.05)
    assert calls == 1  # it was attempted, and its failure stayed off the caller's answer
