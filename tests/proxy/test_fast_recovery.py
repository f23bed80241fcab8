"""Fast, honest recovery: a Cal.com 5xx that created nothing ends the commit at once (issue 10, item 5).

Before: the hold stayed `committing` for the whole commit budget (25 s by default), so the caller's retry
got 409 "already in progress" and everyone else saw the slot held. Now a 5xx whose look-up by tag finds no
booking gives the hold back to its owner as `held`: the retry books at once. A timeout (Cal.com may still
be making the booking) keeps the slot blocked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from holds import HoldState
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from tests.proxy.conftest import StackFactory, next_weekday

DAY = next_weekday(42, weekday=3)
BERLIN = "Europe/Berlin"


def berlin(hhmm: str) -> str:
    local = datetime.fromisoformat(f"{DAY}T{hhmm}:00").replace(tzinfo=ZoneInfo(BERLIN))
    return local.isoformat(timespec="milliseconds")


def booking(hhmm: str) -> dict[str, Any]:
    attendee = {"name": "Ann", "email": "ann@example.com", "timeZone": BERLIN}
    return {"eventTypeId": 1001, "start": berlin(hhmm), "attendee": attendee}


async def test_retry_after_an_upstream_500_that_created_nothing_books_at_once(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=0, faults=FaultRates(error=1.0)))
    quoted = await stack.quote("A", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    assert quoted["available"] is True
    failed = await stack.book("A", booking("10:00"))
    assert failed.status_code == 502, failed.text

    holds = await stack.services.holds.live("grp:host-1", 0, 2**62)
    assert [h.state for h in holds] == [HoldState.HELD], "the hold went back to its owner as held"
    other = await stack.quote("B", eventTypeId=1001, start=berlin("10:00"), timeZone=BERLIN)
    assert other["available"] is False and other["reason"] == "held"  # still A's, not lost to others

    assert (await stack.direct.post("/_sim/faults", json={"error": 0})).status_code == 200
    retried = await stack.book("A", booking("10:00"))
    assert retried.status_code == 201, retried.text
    assert len([b for b in await stack.truth() if b["status"] != "cancelled"]) == 1


async def test_a_timeout_keeps_the_slot_blocked(make_stack: StackFactory) -> None:
    stack = await make_stack(
        sim=SimConfig(rate_limit=0, faults=FaultRates(timeout=1.0)),
        settings={"upstream_timeout_s": 0.3, "upstream_api_key": None},
    )
    # The caller's key (another host's user) cannot list 1001's bookings and the proxy has no key of its
    # own: the outcome stays unknown.
    failed = await stack.book("A", booking("11:00"), Authorization="Bearer cal_test_beta")
    assert failed.status_code == 504, failed.text
    holds = await stack.services.holds.live("grp:host-1", 0, 2**62)
    assert [h.state for h in holds] == [HoldState.COMMITTING], "a booking may still be made: stay blocked"


async def test_a_hold_a_refused_commit_made_for_itself_is_released_not_left_to_block(
    make_stack: StackFactory,
) -> None:
    """A commit with no quote before it takes its own hold; when Cal.com refuses (here a 400 that is not
    'slot taken'), nobody comes back for that hold. It used to go back to 'held' for its TTL, and a caller
    without a call id (a new owner on every request) then found the slot 'reserved by another caller'."""
    stack = await make_stack(sim=SimConfig(rate_limit=0))
    refused = await stack.book(None, {**booking("10:00"), "lengthInMinutes": 30})
    assert refused.status_code == 400, refused.text
    assert not [
        h for h in await stack.services.holds.live("grp:host-1", 0, 2**62) if h.state is HoldState.HELD
    ]
    again = await stack.book(None, booking("10:00"))  # a new owner: it would have met the left-over hold
    assert again.status_code == 201, again.text
