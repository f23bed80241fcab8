"""The verified commit (CONTRACT §5): hold check, exact membership, upstream create, check, compensation.

Nothing in here answers "booked" unless Cal.com's own answer (or, after a timeout, the booking found by
its metadata tag) shows a booking at exactly the requested instant, event type and length.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from holds import (
    CommitTicket,
    Hold,
    HoldCommitting,
    HoldConflict,
    HoldError,
    HoldNotFound,
    HoldNotOwned,
    HoldStore,
    StaleFence,
)
from proxy import refusals
from proxy.activity import Activity
from proxy.availability import Availability, View
from proxy.calcom.bookings import CreateBooking
from proxy.calcom.errors import BadRequest, CalcomError, Conflict
from proxy.calcom.timefmt import format_ms
from proxy.errors import (
    BookingMismatch,
    SlotTaken,
    StoreUnavailable,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from proxy.identity import Caller, hold_uid_for, owner_in_tenant, parse_public_uid
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.opstats import OpsStats
from proxy.outcome import Outcome, OutcomeResolver
from proxy.slotmath import DAY_MS, Reason, utc_days
from proxy.snapshot import Snapshot, SnapshotCache
from proxy.upstream import CalcomClient
from proxy.verification import COMMIT_TAG, Expected, tagged

log = get_logger(__name__)

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


# Runs alongside the commit's final writes, before the answer goes out (e.g. storing it for replays).
ConfirmHook = Callable[["Committed"], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    """What is to be booked: event type, exact start, optional length, the attendee's zone."""

    event_type_id: int
    start_ms: int
    length_minutes: int | None
    zone: str
    # A reschedule's own booking must not count against its new time (Cal.com's bookingUidToReschedule).
    reschedule_uid: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything decided before going upstream."""

    request: Request
    resource: str
    owner: str
    expected: Expected
    credentials: Mapping[str, str]


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
    activity: Activity
    clock: Callable[[], float]

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _count(self, result: str) -> None:
        """One commit outcome: this process's counter and the shared last-hour activity."""
        self.metrics.commits.labels(result=result).inc()
        self.activity.commit(result)

    async def commit(
        self,
        body: dict[str, Any],
        booking: CreateBooking,
        caller: Caller,
        credentials: Mapping[str, str],
        reserved_uid: str | None,
        *,
        on_confirmed: ConfirmHook | None = None,
        replay_key: str | None = None,
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
        plan, ticket, entry = await self.prepare(request, caller, credentials, reserved_uid, replay_key)
        upstream_body = {
            **body,
            # Cal.com takes an offset-less start as UTC, so we always send UTC with Z (CONTRACT §3).
            "start": format_ms(plan.expected.start_ms),
            "metadata": {**metadata, COMMIT_TAG: entry.commit_id},
        }
        outcome = await self.settle(
            self.resolver.create(upstream_body, credentials, plan.expected, entry.commit_id)
        )
        return await self.conclude(plan, ticket, entry, outcome, on_confirmed)

    async def settle(self, upstream: Awaitable[Outcome]) -> Outcome:
        """Bound the whole upstream phase (create, look-up, compensation) by the commit budget.

        httpx times each phase of a request separately, so without this a commit could outlive its hold
        and the reconciler's grace period, and be settled twice.
        """
        try:
            async with asyncio.timeout(self.policy.budget_ms / 1000):
                return await upstream
        except TimeoutError:
            return Outcome(
                "timeout", detail="Cal.com did not settle within the commit budget; outcome unknown."
            )

    async def prepare(
        self,
        request: Request,
        caller: Caller,
        credentials: Mapping[str, str],
        reserved_uid: str | None,
        replay_key: str | None = None,
        origin_uid: str | None = None,
    ) -> tuple[Plan, CommitTicket, LedgerEntry]:
        """Everything before the upstream call: checks, our hold in committing state, the ledger entry."""
        plan, hold = await self._plan(request, caller, credentials, reserved_uid)
        entry = replace(self._entry(plan, caller, hold.uid, replay_key), origin_uid=origin_uid)
        # Independent writes: begin_commit and the pending ledger entry share one round trip of latency.
        begun, written = await asyncio.gather(
            self._begin(plan, hold.uid), self.ledger.write(entry), return_exceptions=True
        )
        if isinstance(written, BaseException):
            raise written
        if isinstance(begun, HoldCommitting):
            # Another commit of this very hold is upstream (same caller, another Idempotency-Key).
            await self.ledger.write(
                entry.moved(CommitState.REFUSED, self._now_ms(), detail="already committing")
            )
            raise Conflict("A booking for this slot is already in progress for this caller.") from begun
        if isinstance(begun, BaseException):
            raise begun
        if begun is None:
            begun, entry = await self._retake(plan, entry)
        return plan, begun, entry

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
    ) -> tuple[Plan, Hold]:
        """Check exact membership, then take (or refresh) our hold, which is also the check for others'.

        No read of the holds is needed on the happy path: acquire is atomic, refreshes the caller's own
        hold of the same interval (the quote's), and refuses when another owner or a booking overlaps.
        """
        start_ms = request.start_ms
        resource = self.availability.resources.resource_for(request.event_type_id)
        owner = await self._owner_for(resource, caller, reserved_uid)
        snapshot = await self._snapshot(request, credentials)
        length_ms = request.length_minutes * 60_000 if request.length_minutes else snapshot.length_ms
        if length_ms is None:
            raise SlotTaken(
                "There are no free slots for this event type around that time.", [], "outside_window"
            )
        expected = Expected(request.event_type_id, start_ms, start_ms + length_ms)
        plan = Plan(request, resource, owner, expected, credentials)
        # A start missing from the cached snapshot gets a fresh look before any refusal: it may have been
        # freed since, and only then is the reason (off-grid, booked, held, outside) worked out.
        if start_ms not in snapshot.start_set:
            snapshot = await self._snapshot(request, credentials, fresh=True)
            if start_ms not in snapshot.start_set:
                raise await self._refusal_for(plan)
        # New or refreshed is told by the uid, not by comparing the hold's times (Redis's clock) with ours.
        new_uid = hold_uid_for(request.event_type_id, resource)
        hold = await self._acquire(plan, new_uid)
        fresh_enough = self._now_ms() - snapshot.oldest_fetch_ms <= self.policy.freshness_ms
        if hold.uid == new_uid and not fresh_enough:
            # A new hold, not the quote's: only a fresh snapshot may say the slot is still free. The hold is
            # ours already, so nobody else can commit the slot while we look.
            try:
                snapshot = await self._snapshot(request, credentials, fresh=True)
                if start_ms not in snapshot.start_set:
                    raise await self._refusal_for(plan)
            except BaseException:
                await self.holds.release(resource, hold.uid, owner)  # nothing went upstream: free the slot
                raise
        return plan, hold

    async def _snapshot(
        self, request: Request, credentials: Mapping[str, str], *, fresh: bool = False
    ) -> Snapshot:
        start_ms = request.start_ms
        days = utc_days(start_ms - DAY_MS, start_ms + self.policy.search_days * DAY_MS)
        if request.reschedule_uid:
            return await self.snapshots.fetch_uncached(
                request.event_type_id, request.length_minutes, days, credentials, request.reschedule_uid
            )
        max_age = self.policy.freshness_ms if fresh else None
        return await self.snapshots.get(
            request.event_type_id, request.length_minutes, days, credentials, max_age_ms=max_age
        )

    async def _acquire(self, plan: Plan, uid: str | None = None) -> Hold:
        expected = plan.expected
        try:
            uid = uid or hold_uid_for(plan.request.event_type_id, plan.resource)
            return await self.holds.acquire(
                plan.resource, expected.start_ms, expected.end_ms, plan.owner, uid=uid
            )
        except HoldConflict as conflict:
            self._count("rejected_held")
            view = await self._view(plan)
            raise refusals.from_conflict(
                view, expected.start_ms, plan.request.zone, self.policy.alternatives, conflict
            ) from conflict

    async def _view(self, plan: Plan) -> View:
        """The caller's full view (snapshot and holds): for reasons and alternatives, off the happy path."""
        start_ms = plan.request.start_ms
        return await self.availability.view(
            plan.request.event_type_id,
            plan.request.length_minutes,
            start_ms - DAY_MS,
            start_ms + self.policy.search_days * DAY_MS,
            plan.owner,
            plan.credentials,
        )

    async def _refusal_for(self, plan: Plan, reason: Reason | None = None) -> CalcomError:
        """Why this start cannot be committed, with alternatives."""
        view = await self._view(plan)
        start_ms, zone, count = plan.expected.start_ms, plan.request.zone, self.policy.alternatives
        length_ms = plan.expected.end_ms - start_ms
        verdict = view.verdict(start_ms, length_ms)
        reason = reason or verdict.reason
        self._count(f"rejected_{reason.value if reason else 'unavailable'}")
        if reason is Reason.HELD and verdict.blocked_until_ms is not None:
            return refusals.held(view, start_ms, zone, count, verdict.blocked_until_ms)
        return refusals.from_reason(view, start_ms, zone, count, reason)

    async def _retake(self, plan: Plan, entry: LedgerEntry) -> tuple[CommitTicket, LedgerEntry]:
        """Our hold expired between the plan and now; nothing has gone upstream, so take a fresh one."""
        try:
            hold = await self._acquire(plan)
            entry = replace(entry, hold_uid=hold.uid)
            begun, _ = await asyncio.gather(self._begin(plan, hold.uid), self.ledger.write(entry))
            if begun is None:
                raise HoldNotFound("hold vanished twice", resource=plan.resource, uid=hold.uid)
        except (HoldError, CalcomError):
            await self.ledger.write(entry.moved(CommitState.REFUSED, self._now_ms(), detail="hold lost"))
            raise
        return begun, entry

    async def _begin(self, plan: Plan, uid: str) -> CommitTicket | None:
        budget = self.policy.budget_ms
        try:
            return await self.holds.begin_commit(plan.resource, uid, plan.owner, budget_ms=budget)
        except (HoldNotFound, HoldNotOwned):
            return None

    def _entry(self, plan: Plan, caller: Caller, hold_uid: str, replay_key: str | None) -> LedgerEntry:
        now = self._now_ms()
        return LedgerEntry(
            commit_id=uuid.uuid4().hex,
            tenant=caller.tenant,
            event_type_id=plan.expected.event_type_id,
            resource=plan.resource,
            start_ms=plan.expected.start_ms,
            end_ms=plan.expected.end_ms,
            state=CommitState.PENDING,
            created_ms=now,
            updated_ms=now,
            hold_uid=hold_uid,
            replay_key=replay_key,
        )

    async def conclude(
        self,
        plan: Plan,
        ticket: CommitTicket,
        entry: LedgerEntry,
        outcome: Outcome,
        on_confirmed: ConfirmHook | None = None,
    ) -> Committed:
        now = self._now_ms()
        self._count(outcome.kind)
        if outcome.kind == "confirmed":
            confirmed = entry.moved(CommitState.CONFIRMED, now, booking_uid=outcome.booking_uid)
            age_ms = now - ticket.hold.created_ms
            # The booked marker hides the slot from every caller at once and outlives any snapshot taken
            # before the booking (Settings enforces marker TTL > snapshot TTL), so the cached day stays:
            # dropping it would only cost an upstream fetch. Independent writes: one round trip of latency.
            assert outcome.response_status is not None and outcome.response_body is not None
            committed = Committed(outcome.response_status, outcome.response_body, outcome.passthrough_headers)
            hook = on_confirmed(committed) if on_confirmed else asyncio.sleep(0)
            marker, recorded, *extras = await asyncio.gather(
                self._mark_booked(plan, ticket),
                self.ledger.write(confirmed),
                self.stats.record_commit(plan.resource, ticket.hold.uid, age_ms),
                hook,
                return_exceptions=True,
            )
            if isinstance(recorded, BaseException):
                # Unrecorded, the entry stays pending and reconciliation cancels the booking as a ghost:
                # so the caller must not hear "booked" either.
                log.error("confirmed_but_unrecorded", commit=entry.commit_id)
                raise StoreUnavailable(
                    "The booking could not be recorded and will be cancelled; please retry."
                )
            for problem in (marker, *extras):
                if isinstance(problem, BaseException):
                    # Best effort: the booking is verified and recorded, these only speed up later answers.
                    log.warning("post_commit_write_failed", error=type(problem).__name__)
            if isinstance(marker, str) and marker != ticket.hold.uid:
                await self.ledger.write(replace(confirmed, hold_uid=marker))
            self.metrics.hold_age_at_commit.observe(age_ms / 1000)
            log.info("commit_confirmed", commit=entry.commit_id, booking=outcome.booking_uid)
            return committed
        await self._release_after_failure(plan, ticket, outcome)
        state = {
            "refused": CommitState.REFUSED,
            "compensated": CommitState.COMPENSATED,
            "compensation_failed": CommitState.COMPENSATION_FAILED,
        }.get(outcome.kind, CommitState.UNKNOWN)
        await self.ledger.write(
            entry.moved(state, now, booking_uid=outcome.booking_uid, detail=outcome.detail)
        )
        log.warning("commit_not_confirmed", commit=entry.commit_id, kind=outcome.kind)
        raise await self._refusal(plan, outcome)

    async def hand_off(
        self, resource: str, replay_key: str, credentials: Mapping[str, str]
    ) -> Committed | None:
        """A retry of a commit still marked in flight: the booking that commit made, if Cal.com has it.

        The first attempt's process may have died after Cal.com booked (SIGKILL mid-commit), or may still
        be finishing: either way the booking carrying its tag is the caller's, verified field by field, and
        handing it over is true. None when there is no open commit for the key or Cal.com has no booking
        for it (yet): the retry then hears 409 as before.
        """
        entry = await self.ledger.open_for_replay(resource, replay_key)
        if entry is None:
            return None
        expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
        outcome = await self.resolver.resolve(
            expected, lambda booking: tagged(booking, entry.commit_id), credentials, "unknown"
        )
        if outcome.kind != "confirmed" or outcome.response_body is None:
            return None
        now = self._now_ms()
        detail = "handed to the retry of a commit that never concluded"
        await self.ledger.write(
            entry.moved(CommitState.CONFIRMED, now, booking_uid=outcome.booking_uid, detail=detail)
        )
        try:
            await self.holds.mark_booked(
                resource, entry.start_ms, entry.end_ms, ttl_ms=self.policy.booked_ttl_ms
            )
        except HoldError as exc:  # best effort: the booking is verified and recorded
            log.warning("post_commit_write_failed", error=type(exc).__name__)
        self._count("handed_off")
        log.info("commit_handed_off", commit=entry.commit_id, booking=outcome.booking_uid)
        return Committed(201, outcome.response_body, {})

    async def _mark_booked(self, plan: Plan, ticket: CommitTicket) -> str:
        """Turn our hold into a booked marker; returns the marker's uid."""
        resource, expected = plan.resource, plan.expected
        try:
            await self.holds.finish_commit(
                resource, ticket.hold.uid, plan.owner, ticket.fence, booked_ttl_ms=self.policy.booked_ttl_ms
            )
            return ticket.hold.uid
        except (StaleFence, HoldError):
            # Our hold lapsed during a slow commit; the booking is verified all the same, so still mark it.
            log.warning("hold_lapsed_during_commit", resource=resource)
            self.metrics.hold_expired_during_commit.inc()
            marker = await self.holds.mark_booked(
                resource, expected.start_ms, expected.end_ms, ttl_ms=self.policy.booked_ttl_ms
            )
            return marker.uid

    async def _release_after_failure(self, plan: Plan, ticket: CommitTicket, outcome: Outcome) -> None:
        resource, uid = plan.resource, ticket.hold.uid
        try:
            if outcome.kind == "refused" and outcome.slot_taken:
                # Cal.com says the slot is taken: holding it helps nobody, and the snapshot is stale.
                await self.holds.release(resource, uid, plan.owner)
                await self.stats.hold_released(resource, uid)  # the caller never got it: censored here
                days = {plan.expected.start_ms // DAY_MS}
                await self.snapshots.invalidate(plan.expected.event_type_id, None, days)
            elif outcome.kind == "timeout" or (outcome.kind == "unknown" and not outcome.nothing_created):
                # A booking may exist (or still be made by a request Cal.com is working on): keep the slot
                # blocked until the commit budget runs out; reconciliation settles the ledger entry.
                pass
            else:
                await self.holds.abort_commit(resource, uid, plan.owner, ticket.fence)
        except HoldError:
            log.info("hold_gone_after_failed_commit", resource=resource)

    async def _refusal(self, plan: Plan, outcome: Outcome) -> CalcomError:
        view = await self._view(plan)
        options = refusals.alternatives(
            view, plan.expected.start_ms, plan.request.zone, self.policy.alternatives
        )
        extra = {"alternatives": options}
        if outcome.kind == "refused":
            return outcome.as_error(extra)
        if outcome.kind in ("compensated", "compensation_failed"):
            return BookingMismatch(outcome.detail, options, compensated=outcome.kind == "compensated")
        if outcome.kind == "timeout":
            return UpstreamTimeout(outcome.detail, extra_details=extra)
        return UpstreamUnavailable(outcome.detail, extra_details=extra)
