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

from holds import CommitTicket, HoldCommitting, HoldConflict, HoldError, HoldStore
from proxy import refusals
from proxy.activity import Activity
from proxy.availability import Availability, View
from proxy.calcom.bookings import CreateBooking
from proxy.calcom.errors import BadRequest, CalcomError, Conflict, status_of
from proxy.calcom.jsonwire import dumps
from proxy.calcom.timefmt import format_ms
from proxy.commit_records import Closing, CommitRecords, HoldAction, ReplayAction, Replayed
from proxy.errors import (
    BookingMismatch,
    SlotTaken,
    StoreUnavailable,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from proxy.idempotency import Idempotency, ReplayGuard, StoredOutcome
from proxy.identity import Caller, hold_uid_for, owner_in_tenant, parse_public_uid
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.liveness import Liveness
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.mirror import HoldMirror
from proxy.opstats import OpsStats
from proxy.outcome import Outcome, OutcomeResolver
from proxy.sharing import Sharing
from proxy.slotmath import DAY_MS, Reason, utc_days
from proxy.snapshot import Snapshot, SnapshotCache
from proxy.upstream import Admission, CalcomClient
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
    # The commit took a hold of its own (no quote's hold to refresh): nobody comes back for it after a
    # refusal, so it is released rather than handed back.
    new_hold: bool = False


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
    records: CommitRecords
    idempotency: Idempotency
    liveness: Liveness
    sharing: Sharing
    # Mirrors holds as Cal.com reservations: a booked or released hold's reservation is deleted.
    mirror: HoldMirror | None = None

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
        guard: ReplayGuard | None = None,
        path: str = "/v2/bookings",
    ) -> Committed:
        """Book exactly what was asked, or raise a Cal.com-shaped refusal carrying alternatives.

        With a guard, a key that already has an answer gets it replayed (nothing runs); a refusal is stored
        for replays when the guard replays refusals (rendered for ``path``, as the error handler would).
        """
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
        # The create's place in the upstream budget is asked for while the commit prepares (one round trip
        # in parallel, not in sequence); a commit that never goes upstream gives it back.
        ahead = asyncio.ensure_future(self.upstream.admit_create(credentials))
        try:
            plan, ticket, entry = await self.prepare(request, caller, credentials, reserved_uid, guard, path)
        except Replayed as replayed:
            await self._give_back(ahead, credentials)
            return Committed(replayed.outcome.status, replayed.outcome.body, {})
        except BaseException:
            await self._give_back(ahead, credentials)
            raise
        admission = await ahead
        upstream_body = {
            **body,
            # Cal.com takes an offset-less start as UTC, so we always send UTC with Z (CONTRACT §3).
            "start": format_ms(plan.expected.start_ms),
            "metadata": {**metadata, COMMIT_TAG: entry.commit_id},
        }
        outcome = await self.settle(
            self.resolver.create(upstream_body, credentials, plan.expected, entry.commit_id, admission)
        )
        return await self.conclude(plan, ticket, entry, outcome, guard, path)

    async def _give_back(self, ahead: asyncio.Future[Admission], credentials: Mapping[str, str]) -> None:
        try:
            await self.upstream.refund(credentials, await ahead)
        except Exception as exc:  # best effort: at worst one request's place stays used for a minute
            log.warning("upstream_budget_refund_failed", error=type(exc).__name__)

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
        guard: ReplayGuard | None = None,
        path: str = "/v2/bookings",
        origin_uid: str | None = None,
    ) -> tuple[Plan, CommitTicket, LedgerEntry]:
        """Everything before the upstream call: checks, then one script (proxy/lua/commit_open.lua) that
        claims the key, takes or refreshes our hold, moves it to committing and records the pending entry.

        Raises Replayed when the guard's key already has an answer.
        """
        plan, snapshot = await self._plan(request, caller, credentials, reserved_uid, guard, path)
        # New or refreshed is told by the uid, not by comparing the hold's times (Redis's clock) with ours.
        new_uid = hold_uid_for(request.event_type_id, plan.resource)
        entry = self._entry(plan, caller, new_uid, guard, origin_uid)
        try:
            ticket = await self.records.open(entry, plan.owner, new_uid, self.policy.budget_ms, guard)
        except HoldConflict as conflict:
            self._count("rejected_held")
            view = await self._view(plan)
            error = refusals.from_conflict(
                view, plan.expected.start_ms, plan.request.zone, self.policy.alternatives, conflict
            )
            await self._remember_refusal(plan, error, guard, path)
            raise error from conflict
        except HoldCommitting as busy:
            # Another commit of this very hold is upstream (same caller, another Idempotency-Key).
            raise Conflict("A booking for this slot is already in progress for this caller.") from busy
        entry = replace(entry, hold_uid=ticket.hold.uid)
        plan = replace(plan, new_hold=ticket.hold.uid == new_uid)
        fresh_enough = self._now_ms() - snapshot.oldest_fetch_ms <= self.policy.freshness_ms
        if ticket.hold.uid == new_uid and not fresh_enough:
            # A new hold, not the quote's: only a fresh snapshot may say the slot is still free. The hold is
            # ours already, so nobody else can commit the slot while we look.
            await self._recheck(plan, ticket, entry, guard, path)
        return plan, ticket, entry

    async def _recheck(
        self, plan: Plan, ticket: CommitTicket, entry: LedgerEntry, guard: ReplayGuard | None, path: str
    ) -> None:
        """A fresh look at a start we took without a quote; nothing went upstream, so a refusal frees it."""
        error: BaseException | None = None
        try:
            snapshot = await self._snapshot(plan.request, plan.credentials, fresh=True, wide=False)
            if plan.expected.start_ms not in snapshot.start_set:
                error = await self._refusal_for(plan)
        except BaseException as exc:
            error = exc
        if error is None:
            return
        refused = entry.moved(CommitState.REFUSED, self._now_ms(), detail="not a slot on a fresh look")
        closing = await self._closing(plan, "release", refused, guard, error, path)
        await self.records.close(ticket, plan.owner, closing, guard)
        raise error

    async def _plan(
        self,
        request: Request,
        caller: Caller,
        credentials: Mapping[str, str],
        reserved_uid: str | None,
        guard: ReplayGuard | None,
        path: str,
    ) -> tuple[Plan, Snapshot]:
        """Check exact membership from the snapshot; a refusal here has claimed and written nothing.

        No read of the holds is needed on the happy path: the opening script's acquire is atomic, refreshes
        the caller's own hold of the same interval (the quote's), and refuses when another owner or a
        booking overlaps.
        """
        start_ms = request.start_ms
        # Which calendar the event type books, learned before any hold (proxy.sharing).
        resource = await self.sharing.learn(request.event_type_id, credentials)
        owner = await self._owner_for(resource, caller, reserved_uid)
        # The start's own day answers a commit of a free slot; the wide window only off the happy path.
        snapshot = await self._snapshot(request, credentials, wide=False)
        if start_ms not in snapshot.start_set or snapshot.length_ms is None:
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
                await self._replay_before_refusal(resource, guard)
                error = await self._refusal_for(plan)
                await self._remember_refusal(plan, error, guard, path)
                raise error
        return plan, snapshot

    async def _replay_before_refusal(self, resource: str, guard: ReplayGuard | None) -> None:
        """A retry of a finished commit finds its slot booked (by itself): its answer comes first."""
        if guard is None:
            return
        stored = await self.idempotency.replay(resource, guard)
        if stored is not None:
            raise Replayed(stored)

    async def _remember_refusal(
        self, plan: Plan, error: CalcomError, guard: ReplayGuard | None, path: str
    ) -> None:
        """A refusal before anything was claimed: stored for an Idempotency-Key (never over a claim)."""
        if guard is None or self._replay_action(error, guard) != "store":
            return
        answer = StoredOutcome(status_of(error), dumps(error.body(path)).encode())
        await self.idempotency.finish(plan.resource, guard, answer, only_new=True)

    @staticmethod
    def _replay_action(error: BaseException, guard: ReplayGuard | None) -> ReplayAction:
        """A definite refusal is replayed to an Idempotency-Key; anything else may be retried."""
        if guard is None:
            return ""
        definite = isinstance(error, CalcomError) and status_of(error) < 500
        return "store" if definite and guard.replay_refusals else "drop"

    async def _owner_for(self, resource: str, caller: Caller, reserved_uid: str | None) -> str:
        """Without a call id, possession of the reservation uid is the ownership proof (Cal.com style)."""
        where = parse_public_uid(reserved_uid) if reserved_uid and not caller.has_call_id else None
        if where is not None and where.resource == resource:
            hold = await self.holds.get(resource, where.hold_uid)
            if hold is not None and owner_in_tenant(hold.owner, caller.tenant):
                return hold.owner
        return caller.owner

    async def _snapshot(
        self, request: Request, credentials: Mapping[str, str], *, fresh: bool = False, wide: bool = True
    ) -> Snapshot:
        """The cached slots around the start; only the start's own UTC day unless `wide` (the search window
        of alternatives, which a refusal needs and a commit of a free slot does not)."""
        start_ms = request.start_ms
        end_ms = start_ms + self.policy.search_days * DAY_MS if wide else start_ms
        days = utc_days(start_ms - DAY_MS if wide else start_ms, end_ms)
        if request.reschedule_uid:
            return await self.snapshots.fetch_uncached(
                request.event_type_id, request.length_minutes, days, credentials, request.reschedule_uid
            )
        max_age = self.policy.freshness_ms if fresh else None
        return await self.snapshots.get(
            request.event_type_id, request.length_minutes, days, credentials, max_age_ms=max_age
        )

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

    def _entry(
        self, plan: Plan, caller: Caller, hold_uid: str, guard: ReplayGuard | None, origin_uid: str | None
    ) -> LedgerEntry:
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
            replay_key=guard.key if guard else None,
            origin_uid=origin_uid,
            process=self.liveness.process_id,
        )

    async def conclude(
        self,
        plan: Plan,
        ticket: CommitTicket,
        entry: LedgerEntry,
        outcome: Outcome,
        guard: ReplayGuard | None = None,
        path: str = "/v2/bookings",
    ) -> Committed:
        """Record the outcome in one script (lua/commit_close.lua); answer "booked" only once recorded."""
        now = self._now_ms()
        self._count(outcome.kind)
        if outcome.kind == "confirmed":
            return await self._confirm(plan, ticket, entry, outcome, guard, now)
        state = {
            "refused": CommitState.REFUSED,
            "compensated": CommitState.COMPENSATED,
            "compensation_failed": CommitState.COMPENSATION_FAILED,
        }.get(outcome.kind, CommitState.UNKNOWN)
        failed = entry.moved(state, now, booking_uid=outcome.booking_uid, detail=outcome.detail)
        try:
            error: BaseException = await self._refusal(plan, outcome)
        except Exception as exc:  # e.g. the alternatives' slot fetch met a 429: the commit still closes
            error = exc
        action = _after_failure(outcome)
        if action == "abort" and plan.new_hold:
            action = "release"  # a hold this commit made for itself: back to held, it would only block others
        closing = await self._closing(plan, action, failed, guard, error, path)
        side: list[Awaitable[None]] = []
        if action == "release":
            # The caller never got it: censored for the advisor.
            side.append(self.stats.hold_released(plan.resource, ticket.hold.uid))
        if outcome.slot_taken:
            # Cal.com says the slot is taken: the cached day is stale.
            days = {plan.expected.start_ms // DAY_MS}
            side.append(self.snapshots.invalidate(plan.expected.event_type_id, None, days))
        closed, *_ = await asyncio.gather(
            self.records.close(ticket, plan.owner, closing, guard), *side, return_exceptions=True
        )
        if isinstance(closed, BaseException):
            raise closed
        if action == "release" and self.mirror is not None:
            self.mirror.gone(plan.resource, ticket.hold.uid)
        log.warning("commit_not_confirmed", commit=entry.commit_id, kind=outcome.kind)
        raise error

    async def _confirm(
        self,
        plan: Plan,
        ticket: CommitTicket,
        entry: LedgerEntry,
        outcome: Outcome,
        guard: ReplayGuard | None,
        now: int,
    ) -> Committed:
        assert outcome.response_status is not None and outcome.response_body is not None
        committed = Committed(outcome.response_status, outcome.response_body, outcome.passthrough_headers)
        confirmed = entry.moved(CommitState.CONFIRMED, now, booking_uid=outcome.booking_uid)
        # The booked marker hides the slot from every caller at once and outlives any snapshot taken before
        # the booking (Settings enforces marker TTL > snapshot TTL), so the cached day stays: dropping it
        # would only cost an upstream fetch. The answer is stored for replays in the same script.
        closing = Closing(
            "finish",
            confirmed,
            ttl_ms=self.policy.booked_ttl_ms,
            replay="store",
            answer=StoredOutcome(committed.status, committed.body),
        )
        age_ms = now - ticket.hold.created_ms
        closed, _ = await asyncio.gather(
            self.records.close(ticket, plan.owner, closing, guard),
            self.stats.record_commit(plan.resource, ticket.hold.uid, age_ms),
            return_exceptions=True,
        )
        if isinstance(closed, BaseException):
            # Unrecorded, the entry stays pending and reconciliation settles the booking: so the caller must
            # not hear "booked".
            log.error("confirmed_but_unrecorded", commit=entry.commit_id, error=type(closed).__name__)
            raise StoreUnavailable("The booking could not be recorded and will be cancelled; please retry.")
        if closed != ticket.hold.uid:
            # Our hold lapsed during a slow commit; a fresh booked marker blocks the slot all the same.
            self.metrics.hold_expired_during_commit.inc()
        if self.mirror is not None:
            self.mirror.gone(plan.resource, ticket.hold.uid)  # the booking replaces the reservation
        self.metrics.hold_age_at_commit.observe(age_ms / 1000)
        log.info("commit_confirmed", commit=entry.commit_id, booking=outcome.booking_uid)
        return committed

    async def _closing(
        self,
        plan: Plan,
        action: HoldAction,
        entry: LedgerEntry,
        guard: ReplayGuard | None,
        error: BaseException,
        path: str,
    ) -> Closing:
        """How a commit that was not confirmed ends: its hold's fate, its entry, its key's record."""
        replay = self._replay_action(error, guard)
        answer = None
        if replay == "store" and isinstance(error, CalcomError):
            answer = StoredOutcome(status_of(error), dumps(error.body(path)).encode())
        ttl_ms = await self.holds.ttl_ms(plan.resource) if action == "abort" else 1
        return Closing(action, entry, ttl_ms=ttl_ms, replay=replay, answer=answer)

    async def hand_off(
        self, resource: str, replay_key: str, credentials: Mapping[str, str]
    ) -> Committed | None:
        """A retry of a commit still marked open: the booking that commit made, if its process died.

        While the first attempt's process is alive the commit is still running (it ends within its budget):
        None, and the retry hears 409 as the contract says. Once that process has died (SIGKILL mid-commit,
        proxy.liveness), the booking carrying its tag is the caller's, verified field by field, and handing
        it over is true. None also when Cal.com has no booking for it (yet).
        """
        entry = await self.ledger.open_for_replay(resource, replay_key)
        if entry is None or (entry.process is not None and await self.liveness.alive(entry.process)):
            return None
        expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
        outcome = await self.resolver.resolve(
            expected, lambda booking: tagged(booking, entry.commit_id), credentials, "unknown"
        )
        if outcome.kind != "confirmed" or outcome.response_body is None:
            return None
        marker_uid = entry.hold_uid
        try:
            marker = await self.holds.mark_booked(
                resource, entry.start_ms, entry.end_ms, ttl_ms=self.policy.booked_ttl_ms
            )
            if entry.hold_uid:  # the dead commit's hold, or the marker that kept its slot meanwhile
                await self.holds.force_release(resource, entry.hold_uid)
            marker_uid = marker.uid
        except HoldError as exc:  # best effort: the booking is verified and recorded
            log.warning("post_commit_write_failed", error=type(exc).__name__)
        detail = "handed to the retry of a commit that never concluded"
        now = self._now_ms()
        await self.ledger.write(
            entry.moved(
                CommitState.CONFIRMED,
                now,
                booking_uid=outcome.booking_uid,
                hold_uid=marker_uid,
                detail=detail,
            )
        )
        self._count("handed_off")
        log.info("commit_handed_off", commit=entry.commit_id, booking=outcome.booking_uid)
        return Committed(201, outcome.response_body, {})

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


def _after_failure(outcome: Outcome) -> HoldAction:
    """What becomes of the hold when the commit was not confirmed."""
    if outcome.kind == "refused" and outcome.slot_taken:
        return "release"  # Cal.com says the slot is taken: holding it helps nobody
    if outcome.kind == "timeout" or (outcome.kind == "unknown" and not outcome.nothing_created):
        # A booking may exist (or still be made by a request Cal.com is working on): keep the slot blocked
        # until the commit budget runs out; reconciliation settles the ledger entry.
        return "keep"
    return "abort"  # nothing was created: the hold goes back to its owner, whose retry proceeds at once
