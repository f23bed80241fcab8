"""Reschedule as a verified commit of the new time, and the bookkeeping after a cancel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from holds import HoldStore
from proxy.calcom.bookings import Reschedule
from proxy.calcom.timefmt import format_utc
from proxy.commit import CommitService, Committed, Request
from proxy.errors import UpstreamRefusal
from proxy.idempotency import Idempotency
from proxy.identity import Caller
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.logs import get_logger
from proxy.outcome import OutcomeResolver
from proxy.slotmath import DAY_MS
from proxy.snapshot import SnapshotCache
from proxy.upstream import CalcomClient
from proxy.verification import instant_ms

log = get_logger(__name__)


def _event_type_id(booking: dict[str, Any]) -> int | None:
    event_type = booking.get("eventType")
    value = event_type.get("id") if isinstance(event_type, dict) else booking.get("eventTypeId")
    return value if isinstance(value, int) else None


def _zone(booking: dict[str, Any]) -> str:
    attendees = booking.get("attendees")
    if isinstance(attendees, list) and attendees and isinstance(attendees[0], dict):
        zone = attendees[0].get("timeZone")
        if isinstance(zone, str):
            return zone
    return "UTC"


@dataclass
class Rescheduler:
    """Moves bookings with the same checks as a create."""

    commits: CommitService
    resolver: OutcomeResolver
    upstream: CalcomClient
    ledger: Ledger
    holds: HoldStore
    snapshots: SnapshotCache
    idempotency: Idempotency
    marker_ttl_ms: int

    async def reschedule(
        self,
        uid: str,
        body: dict[str, Any],
        parsed: Reschedule,
        caller: Caller,
        credentials: Mapping[str, str],
    ) -> Committed | None:
        """Verified reschedule; None means "not ours to check" and the caller forwards it unchanged."""
        current = await self.upstream.get_booking(uid, credentials)
        if current.status != 200:
            raise UpstreamRefusal.from_response(current, {})
        payload = current.json()
        booking = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(booking, dict) or booking.get("status") in ("cancelled", "rejected"):
            return None  # Recurring series, or a booking Cal.com will refuse to move: let it say so.
        event_type_id = _event_type_id(booking)
        if event_type_id is None:
            return None
        request = Request(
            event_type_id=event_type_id,
            start_ms=int(parsed.start.timestamp() * 1000),
            length_minutes=None,
            zone=_zone(booking),
            reschedule_uid=uid,
        )
        # The booking being moved must not block its own new time (e.g. 10:00-11:00 -> 10:15-11:15).
        previous = await self._lift_marker(uid)
        try:
            plan, ticket, entry = await self.commits.prepare(
                request, caller, credentials, None, origin_uid=uid
            )
            upstream_body = {**body, "start": format_utc(parsed.start)}
            outcome = await self.commits.settle(
                self.resolver.reschedule(uid, upstream_body, credentials, plan.expected)
            )
            committed = await self.commits.conclude(plan, ticket, entry, outcome)
        except BaseException:
            if previous is not None:  # Not moved: the old booking stands, so does its marker.
                await self.holds.mark_booked(
                    previous.resource, previous.start_ms, previous.end_ms, ttl_ms=self.marker_ttl_ms
                )
            raise
        await self.retire(uid, booking, CommitState.RESCHEDULED)
        return committed

    async def _lift_marker(self, uid: str) -> LedgerEntry | None:
        """Release the booked marker of a booking we confirmed, returning its entry to restore it later."""
        entry = await self.ledger.find_booking(uid)
        if entry is None or entry.state is not CommitState.CONFIRMED or not entry.hold_uid:
            return None
        await self.holds.force_release(entry.resource, entry.hold_uid)
        return entry

    async def retire(self, uid: str, booking: dict[str, Any] | None, state: CommitState) -> None:
        """A booking left the calendar: free its booked marker and cached day, and note it in the ledger."""
        entry = await self.ledger.find_booking(uid)
        if entry is not None:
            if entry.hold_uid:
                await self.holds.force_release(entry.resource, entry.hold_uid)
            if entry.replay_key:
                # A retry of the same request is a new booking now, never a replay of the retired one.
                await self.idempotency.abandon(entry.resource, entry.tenant, entry.replay_key)
            await self.ledger.write(entry.moved(state, int(self.commits.clock() * 1000)))
        event_type_id = entry.event_type_id if entry else (_event_type_id(booking) if booking else None)
        start = entry.start_ms if entry else (instant_ms(booking.get("start")) if booking else None)
        if event_type_id is not None and start is not None:
            await self.snapshots.invalidate(event_type_id, None, [start // DAY_MS])
        log.info("booking_retired", booking=uid, state=state.value)

    async def after_cancel(self, uid: str, answer: object) -> None:
        """Bookkeeping once Cal.com confirmed a cancel we forwarded (its answer holds the booking)."""
        booking = answer.get("data") if isinstance(answer, dict) else None
        await self.retire(uid, booking if isinstance(booking, dict) else None, CommitState.CANCELLED)
