"""The verified commit (CONTRACT §5): hold check, exact membership, upstream create, check, compensation.

Nothing in here answers "booked" unless Cal.com's own answer (or, after a timeout, the booking found by
its metadata tag) shows a booking at exactly the requested instant, event type and length.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from holds import CommitTicket, HoldConflict, HoldError, HoldNotFound, HoldNotOwned, HoldStore, StaleFence
from proxy.availability import Availability, View
from proxy.calcom.bookings import CreateBooking
from proxy.calcom.errors import BadRequest, CalcomError
from proxy.calcom.jsonwire import dumps
from proxy.calcom.timefmt import format_in_zone, format_utc
from proxy.errors import (
    BookingMismatch,
    NotASlot,
    SlotReserved,
    SlotTaken,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from proxy.identity import Caller, owner_in_tenant, parse_public_uid
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.metrics import Metrics
from proxy.opstats import OpsStats
from proxy.outcome import Outcome, OutcomeResolver
from proxy.slotmath import DAY_MS, Reason, blocking, nearest
from proxy.snapshot import SnapshotCache
from proxy.upstream import CalcomClient
from proxy.verification import COMMIT_TAG, Expected

logger = logging.getLogger(__name__)

METADATA_KEY_LIMIT = 50


@dataclass(frozen=True)
class CommitPolicy:
    """The commit's knobs, from Settings."""

    budget_ms: int
    booked_ttl_ms: int
    freshness_ms: int
    alternatives: int
    search_days: int


@dataclass(frozen=True)
class Committed:
    """A verified booking: Cal.com's answer, passed on unchanged."""

    status: int
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Request:
    """What is to be booked: event type, exact start, optional length, the attendee's zone."""

    event_type_id: int
    start_ms: int
    length_minutes: int | None
    zone: str


@dataclass(frozen=True)
class Plan:
    """Everything decided before going upstream."""

    view: View
    owner: str
    expected: Expected
    zone: str


def _iso(ms: int, zone: str | None) -> str:
    return format_in_zone(datetime.fromtimestamp(ms / 1000, tz=UTC), zone)


def _utc(ms: int) -> str:
    """Cal.com takes an offset-less start as UTC, so we always send UTC with Z (CONTRACT §3)."""
    return format_utc(datetime.fromtimestamp(ms / 1000, tz=UTC))


@dataclass
class CommitService:
    """Runs one verified commit per call."""

    availability: Availability
    holds: HoldStore
    snapshots: SnapshotCache
    upstream: CalcomClient
    ledger: Ledger
    resolver: OutcomeResolver
    metrics: Metrics
    stats: OpsStats
    policy: CommitPolicy
    clock: Callable[[], float]

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def commit(
        self,
        body: dict[str, Any],
        booking: CreateBooking,
        caller: Caller,
        credentials: Mapping[str, str],
        reserved_uid: str | None,
    ) -> Committed:
        """Book exactly what was asked, or raise a Cal.com-shaped refusal carrying alternatives."""
        if booking.event_type_id is None:
            raise BadRequest(
                "calproxy needs eventTypeId to hold and verify a booking; slug forms are unsupported."
            )
        metadata = body.get("metadata") or {}
        if len(metadata) >= METADATA_KEY_LIMIT:
            raise BadRequest(f"metadata may have at most {METADATA_KEY_LIMIT - 1} keys through calproxy.")
        request = Request(
            event_type_id=booking.event_type_id,
            start_ms=int(booking.start.timestamp() * 1000),
            length_minutes=booking.length_in_minutes,
            zone=booking.attendee.time_zone,
        )
        plan, ticket, entry = await self.prepare(request, caller, credentials, reserved_uid)
        upstream_body = {
            **body,
            "start": _utc(plan.expected.start_ms),
            "metadata": {**metadata, COMMIT_TAG: entry.commit_id},
        }
        outcome = await self.resolver.create(upstream_body, credentials, plan.expected, entry.commit_id)
        return await self.conclude(plan, ticket, entry, outcome)

    async def prepare(
        self, request: Request, caller: Caller, credentials: Mapping[str, str], reserved_uid: str | None
    ) -> tuple[Plan, CommitTicket, LedgerEntry]:
        """Everything before the upstream call: checks, the hold in committing state, the ledger entry."""
        plan = await self._plan(request, caller, credentials, reserved_uid)
        ticket, entry = await self._take_hold(plan, caller)
        return plan, ticket, entry

    async def _owner_for(self, resource: str, caller: Caller, reserved_uid: str | None) -> str:
        """Without a call id, possession of the reservation uid is the ownership proof (Cal.com style)."""
        where = parse_public_uid(reserved_uid) if reserved_uid and not caller.has_call_id else None
        if where is not None and where.resource == resource:
            hold = await self.holds.get(resource, where.hold_uid)
            if hold is not None and owner_in_tenant(hold.owner, caller.tenant):
                return hold.owner
        return caller.owner

    async def _plan(
        self, request: Request, caller: Caller, credentials: Mapping[str, str], reserved_uid: str | None
    ) -> Plan:
        start_ms, zone = request.start_ms, request.zone
        resource = self.availability.resources.resource_for(request.event_type_id)
        owner = await self._owner_for(resource, caller, reserved_uid)
        window = (start_ms - DAY_MS, start_ms + self.policy.search_days * DAY_MS)
        args = (request.event_type_id, request.length_minutes, *window, owner, credentials)
        view = await self.availability.view(*args)
        length_ms = request.length_minutes * 60_000 if request.length_minutes else view.length_ms
        if length_ms is None:
            raise SlotTaken(
                "There are no free slots for this event type around that time.", [], "outside_window"
            )
        end_ms = start_ms + length_ms
        grid = view.grid
        if grid is not None and not grid.contains(start_ms):
            self._refuse(view, start_ms, Reason.NOT_A_SLOT, zone)
        self._refuse_if_others_hold(view, start_ms, end_ms, zone)
        stale = self._now_ms() - view.snapshot.oldest_fetch_ms > self.policy.freshness_ms
        own = view.own_hold(start_ms, end_ms)
        if start_ms not in view.snapshot.starts or (own is None and stale):
            # Without our own live hold, only a fresh snapshot may say the slot is still free.
            view = await self.availability.view(*args, max_age_ms=self.policy.freshness_ms)
            self._refuse_if_others_hold(view, start_ms, end_ms, zone)
        verdict = view.verdict(start_ms, length_ms)
        if not verdict.available:
            self._refuse(view, start_ms, verdict.reason, zone)
        return Plan(view, owner, Expected(request.event_type_id, start_ms, end_ms), zone)

    def alternatives(self, view: View, start_ms: int, zone: str | None) -> list[str]:
        """The nearest free, unheld starts, Cal.com-formatted in the attendee's zone."""
        picked = nearest(view.free(), start_ms, self.policy.alternatives, exclude=[start_ms])
        return [_iso(s, zone) for s in picked]

    def _refuse_if_others_hold(self, view: View, start_ms: int, end_ms: int, zone: str) -> None:
        hits = blocking(view.busy, start_ms, end_ms)
        if not hits:
            return
        alternatives = self.alternatives(view, start_ms, zone)
        self.metrics.commits.labels(result="rejected_held").inc()
        if any(b.booked for b in hits):
            raise SlotTaken(
                "This time slot has just been booked. Please choose a different time.", alternatives
            )
        until = max(b.expires_at_ms for b in hits)
        seconds = max(0, -(-(until - self._now_ms()) // 1000))
        raise SlotReserved(
            f"This time slot is reserved by another caller. It will be freed up in {seconds} seconds "
            f"(at {_iso(until, zone)}) unless they book it.",
            alternatives,
            seconds,
        )

    def _refuse(self, view: View, start_ms: int, reason: Reason | None, zone: str) -> None:
        alternatives = self.alternatives(view, start_ms, zone)
        when = _iso(start_ms, zone)
        if reason is Reason.NOT_A_SLOT:
            self.metrics.commits.labels(result="rejected_not_a_slot").inc()
            raise NotASlot(f"{when} is not one of this event type's slots.", alternatives)
        self.metrics.commits.labels(result="rejected_unavailable").inc()
        if reason is Reason.OUTSIDE_WINDOW:
            raise SlotTaken(f"{when} is outside the bookable window.", alternatives, "outside_window")
        raise SlotTaken(f"{when} is no longer available.", alternatives)

    async def _take_hold(self, plan: Plan, caller: Caller) -> tuple[CommitTicket, LedgerEntry]:
        """Move our hold to committing (acquiring one first if we have none) and open the ledger entry.

        The ledger write and begin_commit are independent, so they share one round trip of latency.
        """
        resource, expected = plan.view.resource, plan.expected
        own = plan.view.own_hold(expected.start_ms, expected.end_ms)
        try:
            hold = own or await self.holds.acquire(resource, expected.start_ms, expected.end_ms, plan.owner)
            entry = self._entry(plan, caller, hold.uid)
            begun, _ = await asyncio.gather(self._begin(plan, hold.uid), self.ledger.write(entry))
            if begun is None:
                begun, entry = await self._retake(plan, entry)
            return begun, entry
        except HoldConflict as exc:
            alternatives = self.alternatives(plan.view, expected.start_ms, plan.zone)
            if exc.booked:
                raise SlotTaken("This time slot has just been booked.", alternatives) from exc
            seconds = max(0, -(-(exc.expires_at_ms - self._now_ms()) // 1000))
            raise SlotReserved(
                f"This time slot is reserved by another caller. It will be freed up in {seconds} seconds.",
                alternatives,
                seconds,
            ) from exc

    async def _retake(self, plan: Plan, entry: LedgerEntry) -> tuple[CommitTicket, LedgerEntry]:
        """Our hold expired between the plan and now; nothing has gone upstream, so take a fresh one."""
        expected = plan.expected
        try:
            hold = await self.holds.acquire(
                plan.view.resource, expected.start_ms, expected.end_ms, plan.owner
            )
            entry = replace(entry, hold_uid=hold.uid)
            begun, _ = await asyncio.gather(self._begin(plan, hold.uid), self.ledger.write(entry))
            if begun is None:
                raise HoldNotFound("hold vanished twice", resource=plan.view.resource, uid=hold.uid)
        except HoldError:
            await self.ledger.write(entry.moved(CommitState.REFUSED, self._now_ms(), detail="hold lost"))
            raise
        return begun, entry

    async def _begin(self, plan: Plan, uid: str) -> CommitTicket | None:
        try:
            return await self.holds.begin_commit(
                plan.view.resource, uid, plan.owner, budget_ms=self.policy.budget_ms
            )
        except (HoldNotFound, HoldNotOwned):
            return None

    def _entry(self, plan: Plan, caller: Caller, hold_uid: str) -> LedgerEntry:
        now = self._now_ms()
        return LedgerEntry(
            commit_id=uuid.uuid4().hex,
            tenant=caller.tenant,
            event_type_id=plan.expected.event_type_id,
            resource=plan.view.resource,
            start_ms=plan.expected.start_ms,
            end_ms=plan.expected.end_ms,
            state=CommitState.PENDING,
            created_ms=now,
            updated_ms=now,
            hold_uid=hold_uid,
        )

    async def conclude(
        self, plan: Plan, ticket: CommitTicket, entry: LedgerEntry, outcome: Outcome
    ) -> Committed:
        now = self._now_ms()
        self.metrics.commits.labels(result=outcome.kind).inc()
        if outcome.kind == "confirmed":
            confirmed = entry.moved(CommitState.CONFIRMED, now, booking_uid=outcome.booking_uid)
            age_ms = now - ticket.hold.created_ms
            # The booked marker hides the slot from every caller at once and outlives any snapshot taken
            # before the booking (Settings enforces marker TTL > snapshot TTL), so the cached day stays:
            # dropping it would only cost an upstream fetch. Independent writes: one round trip of latency.
            marker_uid, *_ = await asyncio.gather(
                self._mark_booked(plan, ticket),
                self.ledger.write(confirmed),
                self.stats.record_quote_to_commit(age_ms),
            )
            if marker_uid != ticket.hold.uid:
                await self.ledger.write(replace(confirmed, hold_uid=marker_uid))
            self.metrics.hold_age_at_commit.observe(age_ms / 1000)
            logger.info("event=commit_confirmed commit=%s booking=%s", entry.commit_id, outcome.booking_uid)
            assert outcome.response_status is not None and outcome.response_body is not None
            return Committed(outcome.response_status, outcome.response_body, outcome.passthrough_headers)
        await self._release_after_failure(plan, ticket, outcome)
        state = {
            "refused": CommitState.REFUSED,
            "compensated": CommitState.COMPENSATED,
            "compensation_failed": CommitState.COMPENSATION_FAILED,
        }.get(outcome.kind, CommitState.UNKNOWN)
        await self.ledger.write(
            entry.moved(state, now, booking_uid=outcome.booking_uid, detail=outcome.detail)
        )
        logger.warning("event=commit_not_confirmed commit=%s kind=%s", entry.commit_id, outcome.kind)
        raise self._refusal(plan, outcome)

    async def _mark_booked(self, plan: Plan, ticket: CommitTicket) -> str:
        """Turn our hold into a booked marker; returns the marker's uid."""
        resource, expected = plan.view.resource, plan.expected
        try:
            await self.holds.finish_commit(
                resource, ticket.hold.uid, plan.owner, ticket.fence, booked_ttl_ms=self.policy.booked_ttl_ms
            )
            return ticket.hold.uid
        except (StaleFence, HoldError):
            # Our hold lapsed during a slow commit; the booking is verified all the same, so still mark it.
            logger.warning("event=hold_lapsed_during_commit resource=%s", resource)
            self.metrics.hold_expired_during_commit.inc()
            marker = await self.holds.mark_booked(
                resource, expected.start_ms, expected.end_ms, ttl_ms=self.policy.booked_ttl_ms
            )
            return marker.uid

    async def _release_after_failure(self, plan: Plan, ticket: CommitTicket, outcome: Outcome) -> None:
        resource, uid = plan.view.resource, ticket.hold.uid
        try:
            if outcome.kind == "refused" and outcome.slot_taken:
                # Cal.com says the slot is taken: holding it helps nobody, and the snapshot is stale.
                await self.holds.release(resource, uid, plan.owner)
                days = {plan.expected.start_ms // DAY_MS}
                await self.snapshots.invalidate(plan.expected.event_type_id, None, days)
            elif outcome.kind in ("unknown",):
                pass  # A booking may exist: keep the slot blocked until the commit budget runs out.
            else:
                await self.holds.abort_commit(resource, uid, plan.owner, ticket.fence)
        except HoldError:
            logger.info("event=hold_gone_after_failed_commit resource=%s", resource)

    def _refusal(self, plan: Plan, outcome: Outcome) -> CalcomError:
        alternatives = self.alternatives(plan.view, plan.expected.start_ms, plan.zone)
        extra = {"alternatives": alternatives}
        if outcome.kind == "refused":
            return outcome.as_error(extra)
        if outcome.kind in ("compensated", "compensation_failed"):
            return BookingMismatch(outcome.detail, alternatives, compensated=outcome.kind == "compensated")
        if outcome.kind == "timeout":
            return UpstreamTimeout(outcome.detail, extra_details=extra)
        return UpstreamUnavailable(outcome.detail, extra_details=extra)


def refusal_body(error: CalcomError, path: str) -> bytes:
    """A refusal as bytes, for idempotent replay."""
    return dumps(error.body(path)).encode()
