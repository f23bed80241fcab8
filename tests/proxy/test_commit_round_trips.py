"""A commit's own Redis state moves in two round trips (issue 10, item 7): one script before Cal.com is asked,
one after. Counted at the client, on the quoted happy path, with and without an Idempotency-Key.

Before: the idempotency claim (SET), acquire, begin_commit and the pending entry (a MULTI), then
finish_commit, the ledger's outcome (a MULTI) and the stored answer (SET): eight round trips on the
resource's keys, five of them in sequence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from holds.scripts import SCRIPT_NAMES, script_source
from proxy.calcom.timefmt import parse_instant
from proxy.commit_records import CLOSE_SOURCE, OPEN_SOURCE
from proxy.ledger import CommitState
from tests.proxy.conftest import Stack
from tests.proxy.test_e2e_commit import BERLIN, berlin, booking

NAMES = {hashlib.sha1(script_source(n).encode()).hexdigest(): n for n in SCRIPT_NAMES}
NAMES[hashlib.sha1(OPEN_SOURCE.encode()).hexdigest()] = "commit_open"
NAMES[hashlib.sha1(CLOSE_SOURCE.encode()).hexdigest()] = "commit_close"


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, list[str]]]]:
    """(command, keys touched) per round trip: one per command, one per pipeline."""
    seen: list[tuple[str, list[str]]] = []
    command, execute = Redis.execute_command, Pipeline.execute

    async def counted_command(client: Redis, *args: Any, **options: Any) -> Any:
        name = str(args[0]).upper()
        if name in ("EVALSHA", "EVAL"):
            count = int(args[2])
            label = NAMES.get(str(args[1]), name) if name == "EVALSHA" else "EVAL"
            seen.append((label, [str(k) for k in args[3 : 3 + count]]))
        else:
            seen.append((name, [str(a) for a in args[1:2]]))
        return await command(client, *args, **options)

    async def counted_pipeline(pipe: Pipeline, raise_on_error: bool = True) -> Any:
        stack = pipe.command_stack
        seen.append(("PIPELINE", [str(c[0][1]) for c in stack if len(c[0]) > 1]))
        return await execute(pipe, raise_on_error)

    monkeypatch.setattr(Redis, "execute_command", counted_command)
    monkeypatch.setattr(Pipeline, "execute", counted_pipeline)
    yield seen


def on_commit_state(seen: list[tuple[str, list[str]]]) -> list[str]:
    """The round trips that touch a resource's holds, ledger or idempotency records."""
    kinds = (":hold:", ":ledger:{grp", ":idem:")
    return [name for name, keys in seen if any(kind in key for key in keys for kind in kinds)]


@pytest.mark.parametrize("key", [None, "k-1"])
async def test_a_quoted_commit_reads_and_writes_its_state_in_two_round_trips(
    stack: Stack, trips: list[tuple[str, list[str]]], key: str | None
) -> None:
    # A first commit loads the scripts (EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA): left out of the count.
    assert (await stack.book("W", booking("09:00", name="Wim"))).status_code == 201
    warm_ms = int(parse_instant(berlin("09:00")).timestamp() * 1000)
    await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    trips.clear()
    headers = {"Idempotency-Key": key} if key else {}
    response = await stack.book("A", booking("10:00"), **headers)
    assert response.status_code == 201, response.text
    assert on_commit_state(trips) == ["commit_open", "commit_close"], trips
    (entry,) = [e async for e in stack.services.ledger.entries() if e.start_ms != warm_ms]
    assert entry.state is CommitState.CONFIRMED and entry.booking_uid == response.json()["data"]["uid"]
    # The stored answer came from the closing script: the retry is a replay, and still two trips at most.
    trips.clear()
    again = await stack.book("A", booking("10:00"), **headers)
    assert again.status_code == 201 and again.json()["data"]["uid"] == entry.booking_uid
    assert on_commit_state(trips) == ["commit_open"], trips
