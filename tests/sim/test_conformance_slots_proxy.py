"""calproxy answers GET /v2/slots from its snapshots exactly as Cal.com's source says Cal.com answers.

The proxy's stack fixtures live with the proxy tests; importing them here (`x as x`) makes pytest see them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.proxy.conftest import SLOTS_V, Stack, next_weekday
from tests.proxy.conftest import make_stack as make_stack
from tests.proxy.conftest import stack as stack

MONDAY = next_weekday(21)
TUESDAY = MONDAY + timedelta(days=1)
NOT_A_NUMBER = "must be a number conforming to the specified constraints"


def _berlin(hour: int) -> str:
    """MONDAY at `hour` in the Berlin host's zone, as a UTC instant (the test date may be in either DST)."""
    local = datetime.combine(MONDAY, time(hour), tzinfo=ZoneInfo("Europe/Berlin"))
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _same_answer(stack: Stack, query: dict[str, str]) -> bytes:
    direct = await stack.direct.get("/v2/slots", params=query, headers=SLOTS_V)
    proxied = await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    assert direct.status_code == proxied.status_code == 200
    assert proxied.content == direct.content
    return proxied.content


async def test_slots_ending_after_end_are_dropped(stack: Stack) -> None:
    """features/schedules/lib/date-ranges.ts:76-77 and slots.ts:178: a slot must end by `end`; the proxy's
    per-UTC-day snapshot holds every start of the day, so it applies the same rule when it answers."""
    query = {"eventTypeId": "1002", "start": _berlin(9), "end": _berlin(11), "timeZone": "Europe/Berlin"}
    body = await _same_answer(stack, query)
    # 60-minute slots every 15 minutes: 09:00 .. 10:00 end by 11:00; 10:15 would end after it.
    assert body.count(b'"start"') == 5 and b"T10:00:00.000+0" in body and b"T10:15:00" not in body


MIDNIGHTS = [f"{TUESDAY}T00:00:00Z", f"{TUESDAY}T00:00:00.000Z", f"{TUESDAY}T02:00:00+02:00"]


@pytest.mark.parametrize("end", MIDNIGHTS)
async def test_any_end_at_utc_midnight_means_the_end_of_that_day(stack: Stack, end: str) -> None:
    """slots-input.service.ts:175-179: any end at 00:00:00 UTC covers that whole day, via the proxy too."""
    bare = await _same_answer(stack, {"eventTypeId": "1001", "start": str(MONDAY), "end": str(TUESDAY)})
    assert await _same_answer(stack, {"eventTypeId": "1001", "start": str(MONDAY), "end": end}) == bare
    assert str(TUESDAY).encode() in bare


async def test_get_slots_input_pipe_lowercases_format(stack: Stack) -> None:
    """get-slots.input.ts:70-73: format=RANGE is accepted as range, by the proxy as by Cal.com."""
    query = {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), "format": "RANGE"}
    assert b'"end"' in await _same_answer(stack, query)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"format": "list"}, "format property is wrong,slotFormat must be either 'range' or 'time' "),
        ({"username": "berlin-host"}, "username property is wrong,property username should not exist "),
        ({"eventTypeId": "abc"}, f"eventTypeId property is wrong,eventTypeId {NOT_A_NUMBER} "),
        ({"duration": "abc"}, f"duration property is wrong,duration {NOT_A_NUMBER} "),
    ],
)
async def test_get_slots_input_pipe_refusals(
    stack: Stack,
    extra: dict[str, str],
    message: str,
) -> None:
    """get-slots-input.pipe.ts:35-131: the proxy refuses what the pipe refuses, with the same error."""
    query = {"eventTypeId": "1001", "start": str(MONDAY), "end": str(MONDAY), **extra}
    direct = await stack.direct.get("/v2/slots", params=query, headers=SLOTS_V)
    proxied = await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    assert direct.status_code == proxied.status_code == 400
    assert direct.json()["error"] == proxied.json()["error"]
    assert proxied.json()["error"]["message"] == message
