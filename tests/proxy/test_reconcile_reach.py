"""Reconciliation reads only what calproxy's key can see (proxy.reach).

Cal.com lists the bookings of the key's own user only. Before: bookings of another user's event type (host 2's
2001 with host 1's key) were listed as an empty page and reported *missing* (a soak run showed a consistency
ratio of 0.68 on a complete calendar), and their open entries were closed as "no booking" while the booking
stood in the calendar.
"""

from __future__ import annotations

from dataclasses import replace

from proxy.catalog import MAX_ENTRIES, UNKNOWN_TTL_S, Lookup, OwnCatalog
from proxy.ledger import CommitState
from proxy.reach import KeyReach, Reach, reaches
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


class FakeCatalog:
    """The key's user 1 and a fixed look-up per event type."""

    def __init__(self, lookups: dict[int, Lookup]) -> None:
        self.lookups = lookups

    async def me(self) -> dict[str, int]:
        return {"id": 1}

    async def event_type_lookup(self, event_type_id: int) -> Lookup:
        return self.lookups[event_type_id]


async def test_a_hidden_event_type_is_not_visible_and_a_failed_look_up_is_undecided() -> None:
    """The real Cal.com hides another user's event type behind the 404 of an unknown one (golden catalogue):
    that is an answer, not a failure."""
    catalog = FakeCatalog(
        {1001: Lookup({"ownerId": 1}), 2001: Lookup(None, hidden=True), 3001: Lookup(None), 4001: Lookup({})}
    )
    reach = await KeyReach(catalog).of([1001, 2001, 3001, 4001])  # type: ignore[arg-type]
    assert reach == Reach(frozenset({1001}), frozenset({2001, 4001}), frozenset({3001}))


class FakeUpstream:
    """Answers GET /v2/event-types/{id} with a fixed status, counting the calls."""

    has_own_credentials = True

    def __init__(self, status: int) -> None:
        self.status = status
        self.calls = 0

    async def get_own(self, template: str, version: str, ident: int | None = None) -> object:
        self.calls += 1
        status = self.status

        class Answer:
            def __init__(self) -> None:
                self.status = status

            def json(self) -> dict[str, object]:
                return {"status": "error"}

        return Answer()


async def test_the_catalogue_tells_a_404_from_a_failure_and_asks_again_about_both() -> None:
    """A hidden or unknown id may be created or shared at any time: only data is kept an hour."""
    now = [0.0]
    for status in (404, 503):
        upstream = FakeUpstream(status)
        catalog = OwnCatalog(upstream, clock=lambda: now[0])  # type: ignore[arg-type]
        now[0] = 0.0
        first = await catalog.event_type_lookup(2001)
        assert (first.hidden, first.data) == (status == 404, None)
        now[0] = UNKNOWN_TTL_S - 1
        await catalog.event_type_lookup(2001)
        assert upstream.calls == 1
        now[0] = UNKNOWN_TTL_S + 1
        await catalog.event_type_lookup(2001)
        assert upstream.calls == 2


async def test_the_catalogue_stays_bounded_whatever_ids_callers_send() -> None:
    upstream = FakeUpstream(404)
    catalog = OwnCatalog(upstream, clock=lambda: 0.0)  # type: ignore[arg-type]
    for event_type_id in range(MAX_ENTRIES + 500):
        await catalog.event_type_lookup(event_type_id)
    assert len(catalog._cache) <= MAX_ENTRIES
    assert catalog._cache.get(("/v2/event-types/{id}", MAX_ENTRIES + 499)), "the newest is kept"
