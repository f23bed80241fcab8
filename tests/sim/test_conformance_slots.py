"""The simulator's GET /v2/slots against Cal.com's source (upstream dd7b6477)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sim.conftest import SLOTS_V, Factory

MONDAY = "2030-09-02"
NOT_A_NUMBER = "must be a number conforming to the specified constraints"


async def _slots(client: Any, query: str) -> tuple[int, Any]:
    response = await client.get(f"/v2/slots?{query}", headers=SLOTS_V)
    return response.status, await response.json()


def _starts(body: dict[str, Any]) -> list[str]:
    return [slot["start"] for day in body["data"].values() for slot in day]


async def test_slots_ending_after_end_are_dropped(make_client: Factory) -> None:
    """date-ranges.ts:76-77 clips the host's ranges at dateTo and slots.ts:178 keeps a slot only while
    `start + length - 1 s` is not after the range end (features/schedules/lib/): a 60-minute slot starting
    before `end` but ending after it is not offered."""
    client = await make_client()
    status, body = await _slots(client, f"start={MONDAY}T07:00:00Z&end={MONDAY}T09:00:00Z&eventTypeId=1002")
    assert status == 200
    assert _starts(body) == [f"{MONDAY}T{t}:00.000Z" for t in ("07:00", "07:15", "07:30", "07:45", "08:00")]
    # Same for the legacy endpoint: the same slot engine computes it.
    response = await client.get(
        f"/v2/slots/available?startTime={MONDAY}T07:00:00Z&endTime={MONDAY}T08:00:00Z&eventTypeId=1001"
    )
    times = [s["time"] for s in (await response.json())["data"]["slots"][MONDAY]]
    assert times == [f"{MONDAY}T07:00:00.000Z", f"{MONDAY}T07:30:00.000Z"]


@pytest.mark.parametrize(
    "end", ["2030-09-03T00:00:00Z", "2030-09-03T00:00:00.000Z", "2030-09-03T02:00:00%2B02:00"]
)
async def test_any_end_at_utc_midnight_means_the_end_of_that_day(make_client: Factory, end: str) -> None:
    """slots-input.service.ts:175-179: ANY end at 00:00:00 UTC is stretched to 23:59:59 of that day, so it
    answers exactly like the bare date."""
    client = await make_client()
    bare = await _slots(client, f"start={MONDAY}&end=2030-09-03&eventTypeId=1001")
    assert "2030-09-03" in bare[1]["data"]
    assert await _slots(client, f"start={MONDAY}&end={end}&eventTypeId=1001") == bare
    # One second past midnight is taken as it is: nothing of the 3rd fits.
    status, body = await _slots(client, f"start={MONDAY}&end=2030-09-03T00:00:01Z&eventTypeId=1001")
    assert status == 200 and list(body["data"]) == [MONDAY]


async def test_get_slots_input_pipe_lowercases_format(make_client: Factory) -> None:
    """get-slots.input.ts:70-73: `format=RANGE` is lowercased before validation, so it is accepted."""
    client = await make_client()
    query = f"start={MONDAY}&end={MONDAY}&eventTypeId=1001"
    upper = await _slots(client, f"{query}&format=RANGE")
    assert upper == await _slots(client, f"{query}&format=range")
    assert upper[0] == 200 and "end" in next(iter(upper[1]["data"].values()))[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("format=list", "format property is wrong,slotFormat must be either 'range' or 'time' "),
        ("username=berlin-host", "username property is wrong,property username should not exist "),
        ("duration=abc", f"duration property is wrong,duration {NOT_A_NUMBER} "),
    ],
)
async def test_get_slots_input_pipe_refusals(make_client: Factory, extra: str, message: str) -> None:
    """get-slots-input.pipe.ts:58-72,122-131: the pipe's own BadRequestException(formatErrors(errors)), so
    the message is the formatErrors text and details is Nest's {message, error, statusCode}."""
    client = await make_client()
    status, body = await _slots(client, f"start={MONDAY}&end={MONDAY}&eventTypeId=1001&{extra}")
    assert status == 400
    assert body["error"] == {
        "code": "BadRequestException",
        "message": message,
        "details": {"message": message, "error": "Bad Request", "statusCode": 400},
    }


async def test_get_slots_input_pipe_event_type_id_message(make_client: Factory) -> None:
    """get-slots.input.ts:119-120: `value && parseInt(value)` then IsNumber, with its default message."""
    client = await make_client()
    status, body = await _slots(client, f"start={MONDAY}&end={MONDAY}&eventTypeId=abc")
    assert status == 400
    assert body["error"]["message"] == f"eventTypeId property is wrong,eventTypeId {NOT_A_NUMBER} "


async def test_unknown_username_is_reported_as_a_user(make_client: Factory) -> None:
    """slots-input.service.ts:109-113: the username is looked up before the event type's slug."""
    client = await make_client()
    status, body = await _slots(client, f"start={MONDAY}&end={MONDAY}&eventTypeSlug=x&username=nobody")
    assert (status, body["error"]["message"]) == (404, "User with username nobody not found")
    status, body = await _slots(client, f"start={MONDAY}&end={MONDAY}&eventTypeSlug=x&username=berlin-host")
    assert (status, body["error"]["message"]) == (404, "Event Type not found")
