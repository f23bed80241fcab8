"""Ground truth joined to what callers were told. Pure: no I/O, everything passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from proxy.calcom.timefmt import parse_instant
from proxy.loadtest.population import caller_index, outside_channel_of
from proxy.loadtest.records import CallerOutcome

LIVE = frozenset({"accepted", "pending"})
# createdAt has millisecond resolution and the caller notes the time just after the answer arrives.
CLOCK_SLACK = timedelta(milliseconds=5)


@dataclass(frozen=True)
class LiveBooking:
    """A booking that blocks its host's time, attributed to a caller (or None: the outside channel)."""

    host_id: int
    event_type_id: int
    start: datetime
    end: datetime
    caller: int | None
    created_at: datetime | None = None
    # For an outside booking: "web" (Cal.com's booking page: only slots it shows) or "api" (any time).
    channel: str | None = None
    # For a web booking: when its page view was answered. The booker saw the slot free then, so a hold
    # could only have hidden it from them if it existed (and was mirrored) by that moment.
    viewed_at: datetime | None = None
    email: str | None = None


@dataclass
class Figures:
    """Every per-strategy figure the report shows."""

    callers: int = 0
    offered: int = 0
    no_offer: int = 0
    confirmed: int = 0
    false_confirmations: int = 0
    double_bookings: int = 0
    double_bookings_between_callers: int = 0
    double_bookings_with_outside: int = 0
    offered_then_refused: int = 0
    lost_to_caller: int = 0
    lost_to_outside: int = 0
    # The outside channel split: a person on Cal.com's booking page, and a raw API client.
    lost_to_web: int = 0
    lost_to_api: int = 0
    lost_to_web_while_holding: int = 0
    lost_to_api_while_holding: int = 0
    lost_slot_free_when_refused: int = 0
    lost_to_caller_while_holding: int = 0
    hold_expired_before_yes: int = 0
    hard_errors: int = 0
    hard_errors_by_kind: dict[str, int] = field(default_factory=dict)
    unconfirmed_bookings: int = 0
    outside_bookings: int = 0


def live_bookings(truth: Sequence[Mapping[str, Any]]) -> list[LiveBooking]:
    """Accepted or pending bookings from /_sim/bookings."""
    return [
        LiveBooking(
            host_id=int(b["hostId"]),
            event_type_id=int(b["eventTypeId"]),
            start=parse_instant(b["start"]),
            end=parse_instant(b["end"]),
            caller=caller_index((b.get("attendee") or {}).get("email")),
            created_at=parse_instant(b["createdAt"]) if b.get("createdAt") else None,
            channel=outside_channel_of((b.get("attendee") or {}).get("email")),
            email=(b.get("attendee") or {}).get("email"),
        )
        for b in truth
        if b.get("status") in LIVE
    ]


def overlapping_pairs(bookings: Sequence[LiveBooking]) -> list[tuple[LiveBooking, LiveBooking]]:
    """Pairs of live bookings of one host whose intervals intersect."""
    pairs: list[tuple[LiveBooking, LiveBooking]] = []
    by_host: dict[int, list[LiveBooking]] = {}
    for b in bookings:
        by_host.setdefault(b.host_id, []).append(b)
    for items in by_host.values():
        items.sort(key=lambda b: (b.start, b.end))
        for i, first in enumerate(items):
            for second in items[i + 1 :]:
                if second.start >= first.end:
                    break
                pairs.append((first, second))
    return pairs


def _seen_since(b: LiveBooking, after: datetime | None) -> bool:
    """Whether the booking's maker saw the slot free at or after `after`: a web booker's page view, else the
    booking's creation (unknown times count)."""
    seen = b.viewed_at or b.created_at
    return after is None or seen is None or seen >= after


def occupant(
    bookings: Sequence[LiveBooking],
    host_id: int,
    start: datetime,
    end: datetime,
    me: int,
    before: datetime | None = None,
    after: datetime | None = None,
) -> str | None:
    """Who held [start, end) on the host at `before`: "caller" (another caller), the outside channel ("web"
    or "api"; "outside" when a booking names neither), or None."""
    # A booking made after the refusal did not cause it (e.g. a slot freed by a cancelled shift fault).
    found = [
        b
        for b in bookings
        if b.host_id == host_id
        and b.start < end
        and start < b.end
        and b.caller != me
        and (before is None or b.created_at is None or b.created_at <= before)
        and _seen_since(b, after)
    ]
    if any(b.caller is not None for b in found):
        return "caller"
    if not found:
        return None
    return found[0].channel or "outside"


def analyze(
    outcomes: Sequence[CallerOutcome],
    truth: Sequence[Mapping[str, Any]],
    *,
    hosts: Mapping[int, int],
    lengths: Mapping[int, int],
    viewed_at: Mapping[str, float] | None = None,
) -> Figures:
    """The figures of one strategy; `hosts` and `lengths` map event type ids to host id and minutes;
    `viewed_at`: web bookers' page-view times by attendee email (the outside channel's record)."""
    views = viewed_at or {}
    live = [
        replace(b, viewed_at=datetime.fromtimestamp(views[b.email], UTC))
        if b.email and b.email in views
        else b
        for b in live_bookings(truth)
    ]
    held_by_caller: set[tuple[int | None, int, datetime]] = {
        (b.caller, b.event_type_id, b.start) for b in live if b.caller is not None
    }
    fig = Figures(callers=len(outcomes), outside_bookings=sum(1 for b in live if b.caller is None))
    told: set[tuple[int, datetime]] = set()
    for o in outcomes:
        _count_caller(fig, o, live, held_by_caller, hosts, lengths)
        if o.told_booked and o.booked_start is not None:
            told.add((o.index, parse_instant(o.booked_start)))
    fig.unconfirmed_bookings = sum(
        1 for b in live if b.caller is not None and (b.caller, b.start) not in told
    )
    for first, second in overlapping_pairs(live):
        fig.double_bookings += 1
        if first.caller is None or second.caller is None:
            fig.double_bookings_with_outside += 1
        else:
            fig.double_bookings_between_callers += 1
    return fig


def _count_caller(
    fig: Figures,
    o: CallerOutcome,
    live: Sequence[LiveBooking],
    held_by_caller: set[tuple[int | None, int, datetime]],
    hosts: Mapping[int, int],
    lengths: Mapping[int, int],
) -> None:
    fig.offered += o.offered is not None
    fig.no_offer += o.no_offer
    fig.hold_expired_before_yes += o.hold_expired_before_yes
    if o.error is not None:
        fig.hard_errors += 1
        fig.hard_errors_by_kind[o.error] = fig.hard_errors_by_kind.get(o.error, 0) + 1
    if o.told_booked:
        fig.confirmed += 1
        start = parse_instant(o.booked_start) if o.booked_start else None
        if start is None or (o.index, o.event_type_id, start) not in held_by_caller:
            fig.false_confirmations += 1
    if not (o.refused and o.offered is not None):
        return
    fig.offered_then_refused += 1
    start = parse_instant(o.offered)
    end = start + timedelta(minutes=lengths[o.event_type_id])
    before = datetime.fromtimestamp(o.answered_at, UTC) + CLOCK_SLACK if o.answered_at else None
    who = occupant(live, hosts[o.event_type_id], start, end, o.index, before)
    # "While holding": the slot was taken after the caller was offered (and held) it. A booking made before
    # the offer means the offer itself was stale, which no hold (and no mirrored reservation) can prevent.
    offered_at = datetime.fromtimestamp(o.asked_at, UTC) - CLOCK_SLACK if o.asked_at else None
    held = o.held and not o.hold_expired_before_yes
    during = occupant(live, hosts[o.event_type_id], start, end, o.index, before, offered_at) if held else None
    if who == "caller":
        fig.lost_to_caller += 1
        fig.lost_to_caller_while_holding += during == "caller"
    elif who is not None:
        fig.lost_to_outside += 1
        if who == "web":
            fig.lost_to_web += 1
            fig.lost_to_web_while_holding += during == "web"
        elif who == "api":
            fig.lost_to_api += 1
            fig.lost_to_api_while_holding += during == "api"
    else:
        fig.lost_slot_free_when_refused += 1
