"""Ground truth joined to beliefs: every failure class is detected, and only where it happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from proxy.loadtest.population import outside_channel_of, outside_email
from proxy.loadtest.records import CallerOutcome, latency_summary, percentile
from proxy.loadtest.truth import analyze, live_bookings, overlapping_pairs

HOSTS = {1001: 1, 1002: 1, 2001: 2}
LENGTHS = {1001: 30, 1002: 60, 2001: 15}
T0 = 1_900_000_000.0  # answered_at of every caller below, long after the bookings were created


def booking(
    caller: int | None, start: str, end: str, *, et: int = 1001, status: str = "accepted", created: str = ""
) -> dict[str, Any]:
    email = f"caller-{caller}@load.test" if caller is not None else "outside-1@outside.test"
    return {
        "eventTypeId": et,
        "hostId": HOSTS[et],
        "start": start,
        "end": end,
        "status": status,
        "attendee": {"email": email},
        "createdAt": created or "2026-11-21T10:00:00.000Z",
    }


def told(index: int, start: str, **kw: Any) -> CallerOutcome:
    o = CallerOutcome(index=index, event_type_id=kw.pop("et", 1001), wanted=start, offered=start)
    o.told_booked, o.booked_start, o.answered_at = True, start, T0
    for key, value in kw.items():
        setattr(o, key, value)
    return o


def refused(index: int, start: str, **kw: Any) -> CallerOutcome:
    o = CallerOutcome(
        index=index, event_type_id=1001, wanted=start, offered=start, refused=True, answered_at=T0
    )
    for key, value in kw.items():
        setattr(o, key, value)
    return o


def figures(outcomes: list[CallerOutcome], truth: list[dict[str, Any]]) -> Any:
    return analyze(outcomes, truth, hosts=HOSTS, lengths=LENGTHS)


def test_a_truthful_confirmation_counts_once_and_nothing_else() -> None:
    f = figures(
        [told(1, "2026-12-01T09:00:00.000Z")],
        [booking(1, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z")],
    )
    assert (f.confirmed, f.false_confirmations, f.double_bookings, f.unconfirmed_bookings) == (1, 0, 0, 0)


def test_shifted_booking_is_a_false_confirmation_and_an_unconfirmed_booking() -> None:
    truth = [booking(1, "2026-12-01T09:30:00.000Z", "2026-12-01T10:00:00.000Z")]
    f = figures([told(1, "2026-12-01T09:00:00.000Z")], truth)
    assert f.false_confirmations == 1
    assert f.unconfirmed_bookings == 1


def test_cancelled_or_someone_elses_booking_does_not_make_a_confirmation_true() -> None:
    truth = [
        booking(1, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z", status="cancelled"),
        booking(2, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z"),
    ]
    f = figures([told(1, "2026-12-01T09:00:00.000Z")], truth)
    assert f.false_confirmations == 1


def test_overlaps_on_one_host_are_double_bookings_split_by_who() -> None:
    truth = [
        booking(1, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z"),
        booking(2, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z"),
        # Event type 1002 shares host 1: an hour overlapping caller 1's slot from another event type.
        booking(None, "2026-12-01T09:15:00.000Z", "2026-12-01T10:15:00.000Z", et=1002),
        # Adjacent is not overlapping; another host is independent.
        booking(3, "2026-12-01T10:15:00.000Z", "2026-12-01T10:45:00.000Z"),
        booking(4, "2026-12-01T09:00:00.000Z", "2026-12-01T09:15:00.000Z", et=2001),
    ]
    f = figures([], truth)
    assert f.double_bookings == 3
    assert f.double_bookings_between_callers == 1
    assert f.double_bookings_with_outside == 2
    assert len(overlapping_pairs(live_bookings(truth))) == 3


def test_refusals_are_attributed_to_whoever_held_the_slot_at_the_time() -> None:
    truth = [
        booking(2, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z"),
        booking(None, "2026-12-01T10:00:00.000Z", "2026-12-01T10:30:00.000Z"),
        # Booked by caller 5 long after caller 3 was refused: not the cause.
        booking(
            5, "2026-12-01T11:00:00.000Z", "2026-12-01T11:30:00.000Z", created="2035-01-01T00:00:00.000Z"
        ),
    ]
    outcomes = [
        refused(1, "2026-12-01T09:00:00.000Z", held=True),
        refused(4, "2026-12-01T09:00:00.000Z", held=True, hold_expired_before_yes=True),
        refused(2, "2026-12-01T10:00:00.000Z"),
        refused(3, "2026-12-01T11:00:00.000Z"),
    ]
    f = figures(outcomes, truth)
    assert f.offered_then_refused == 4
    assert f.lost_to_caller == 2
    assert f.lost_to_caller_while_holding == 1
    assert f.hold_expired_before_yes == 1
    assert f.lost_to_outside == 1
    assert f.lost_slot_free_when_refused == 1


def test_errors_and_no_offers_are_counted_by_kind() -> None:
    err = CallerOutcome(index=1, event_type_id=1001, wanted="x", error="429")
    none = CallerOutcome(index=2, event_type_id=1001, wanted="x")
    f = figures([err, none], [])
    assert (f.hard_errors, f.hard_errors_by_kind, f.no_offer, f.offered) == (1, {"429": 1}, 1, 0)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) is None
    o = CallerOutcome(index=1, event_type_id=1001, wanted="x", timings_ms={"ask": 3.0})
    summary = latency_summary([o])
    assert summary["ask"]["n"] == 1 and summary["confirm"]["n"] == 0


def test_outside_losses_are_split_between_the_booking_page_and_raw_api_clients() -> None:
    """Issue 11, item 4: a person on Cal.com's page and a raw API client are told apart by their booking."""
    web = booking(None, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z")
    web["attendee"]["email"] = outside_email("web", 1)
    api = booking(None, "2026-12-01T10:00:00.000Z", "2026-12-01T10:30:00.000Z")
    api["attendee"]["email"] = outside_email("api", 2)
    outcomes = [
        refused(1, "2026-12-01T09:00:00.000Z", held=True),
        refused(2, "2026-12-01T10:00:00.000Z", held=True),
        refused(3, "2026-12-01T10:00:00.000Z"),
    ]
    f = figures(outcomes, [web, api])
    assert f.lost_to_outside == 3
    assert (f.lost_to_web, f.lost_to_web_while_holding) == (1, 1)
    assert (f.lost_to_api, f.lost_to_api_while_holding) == (2, 1)
    assert outside_channel_of(outside_email("web", 7)) == "web"
    assert outside_channel_of("outside-1@outside.test") is None
    assert outside_channel_of("caller-1@load.test") is None


def test_a_booking_made_before_the_offer_is_a_stale_offer_not_a_loss_while_holding() -> None:
    """The caller was offered a slot already booked (a stale snapshot): lost to that channel, but not while
    holding, since no hold or mirrored reservation could have kept it."""
    before = booking(
        None, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z", created="2026-11-21T10:00:00.000Z"
    )
    before["attendee"]["email"] = outside_email("web", 1)
    during = booking(
        None, "2026-12-01T10:00:00.000Z", "2026-12-01T10:30:00.000Z", created="2026-11-21T10:05:00.000Z"
    )
    during["attendee"]["email"] = outside_email("web", 2)
    offered_at = datetime(2026, 11, 21, 10, 1, tzinfo=UTC).timestamp()
    outcomes = [
        refused(1, "2026-12-01T09:00:00.000Z", held=True, asked_at=offered_at),
        refused(2, "2026-12-01T10:00:00.000Z", held=True, asked_at=offered_at),
    ]
    f = figures(outcomes, [before, during])
    assert f.lost_to_web == 2
    assert f.lost_to_web_while_holding == 1


def test_a_page_booker_who_looked_before_the_offer_did_not_take_it_while_held() -> None:
    """A person on Cal.com's page sees what GET /v2/slots showed when the page was answered: one who looked
    before the caller was offered (and held) the slot could book it whatever the hold; one who looked after
    saw a held slot, which a mirrored reservation exists to hide."""
    early = booking(
        None, "2026-12-01T09:00:00.000Z", "2026-12-01T09:30:00.000Z", created="2026-11-21T10:05:00.000Z"
    )
    early["attendee"]["email"] = outside_email("web", 1)
    late = booking(
        None, "2026-12-01T10:00:00.000Z", "2026-12-01T10:30:00.000Z", created="2026-11-21T10:05:00.000Z"
    )
    late["attendee"]["email"] = outside_email("web", 2)
    offered_at = datetime(2026, 11, 21, 10, 1, tzinfo=UTC).timestamp()
    views = {outside_email("web", 1): offered_at - 1.0, outside_email("web", 2): offered_at + 1.0}
    outcomes = [
        refused(1, "2026-12-01T09:00:00.000Z", held=True, asked_at=offered_at),
        refused(2, "2026-12-01T10:00:00.000Z", held=True, asked_at=offered_at),
    ]
    f = analyze(outcomes, [early, late], hosts=HOSTS, lengths=LENGTHS, viewed_at=views)
    assert (f.lost_to_web, f.lost_to_web_while_holding) == (2, 1)
