"""Reconciliation reads only what calproxy's key can see (proxy.reach).

Cal.com lists the bookings of the key's own user only. Before: bookings of another user's event type (host 2's
2001 with host 1's key) were listed as an empty page and reported *missing* (a soak run showed a consistency
ratio of 0.68 on a complete calendar), and their open entries were closed as "no booking" while the booking
stood in the calendar.
"""

from __future__ import annotations

from dataclasses import replace

from proxy.ledger import CommitState
from proxy.reach import reaches
from tests.proxy.conftest import Stack
from tests.proxy.test_e2e_commit import booking, live


def test_an_event_type_is_reached_by_its_owner_or_a_host() -> None:
    assert reaches({"ownerId": 1}, 1)
    assert not reaches({"ownerId": 2, "users": ["other"]}, 1)
    assert reaches({"ownerId": None, "teamId": 7, "hosts": [{"userId": 3}, {"userId": 1}]}, 1)
    assert not reaches({"teamId": 7, "hosts": [{"userId": 3}]}, 1)
    assert not reaches({}, 1)


async def test_another_users_bookings_are_unknown_never_missing(stack: Stack) -> None:
    mine = await stack.book("A", booking("10:00"))
    theirs = await stack.book("B", booking("15:00", name="Bea", event_type_id=2001))
    assert mine.status_code == 201 and theirs.status_code == 201, (mine.text, theirs.text)
    report = await stack.services.reconciler.run()
    assert report.not_visible == [2001]
    assert report.missing == [], "a booking the key cannot list is not missing"
    assert report.confirmed == 2 and report.present == 1 and len(report.unknown) == 1
    assert report.consistency_ratio == 1.0


async def test_an_open_entry_of_an_unseen_event_type_is_left_open(stack: Stack) -> None:
    theirs = await stack.book("B", booking("16:00", name="Bea", event_type_id=2001))
    assert theirs.status_code == 201
    ledger = stack.services.ledger
    (entry,) = [e async for e in ledger.entries()]
    # As if the commit had never concluded: pending, past its grace.
    await ledger.write(replace(entry, state=CommitState.PENDING, booking_uid=None, updated_ms=0))
    stack.services.reconciler.pending_grace_ms = 0
    report = await stack.services.reconciler.run()
    assert report.unresolved == [entry.commit_id]
    assert report.closed_without_booking == [] and report.ghosts_cancelled == []
    (after,) = [e async for e in ledger.entries()]
    assert after.state is CommitState.PENDING, "not closed as 'no booking' while the booking stands"
    assert len(live(await stack.truth())) == 1
