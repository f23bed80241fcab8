"""Reconciliation (CONTRACT §6; issue 10, item 2): proves calendar = what we confirmed, and settles what was
left open, at the cost of list pages rather than one request per booking.

One pass, by one process at a time (a fenced lease, `proxy/lua/reconcile_lease.lua`):
- it reads the ledger, then lists Cal.com's bookings per event type over the window that can still change
  (bookings starting at most `grace` ago, and every later one), oldest created first, in pages of up to 250
  (`GET /v2/bookings?eventTypeId&afterStart&sortCreated=asc&take&skip`). Bookings are never deleted and a
  new one sorts last, so every booking the ledger knew of when it was read is on some page;
- CONFIRMED entries in the window must be listed, live, at exactly the confirmed time (the consistency
  ratio). An event type whose pages could not all be read (429, 5xx, timeout, or the shared upstream budget
  said wait) makes its entries "unknown" for this pass, never "missing"; the ratio counts checked entries;
- PENDING (stale), UNKNOWN and COMPENSATION_FAILED entries were never answered "booked", so any booking
  carrying their tag is a ghost and is cancelled; when none exists the entry is closed as REFUSED. They are
  settled from the listed pages; an entry outside the window, or of an unreadable event type, is looked up
  on its own as before;
- a live listed booking carrying calproxy's tag (`metadata.calproxyCommit`) unknown to the ledger is an
  *orphan* (Redis lost the entry). Rule: once older than the pending grace (so an in-flight commit is never
  touched) it is *adopted*: written back to the ledger as ADOPTED and kept in the calendar. After a loss
  nobody can tell whether its caller heard "booked" (the answer went out before the data was lost), and
  cancelling a booking a caller was told about would break the invariant; a booking kept that its caller
  never heard of is visible in the ledger and the report (`orphansAdopted`) for an operator, and is not
  silent. Younger orphans wait a pass;
- terminal entries whose booking ended more than `retention` ago leave the live ledger (`Ledger.retire`:
  archived with a TTL of one retention).
Every action (ledger write, cancel, retire, the stored report) is preceded by a fence check: a process
whose lease expired (it stalled, another took over) stops before acting on what it read.
All upstream requests of a pass draw from the shared budget at "background" priority (proxy.upstream_budget).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from holds.errors import STORE_ERRORS
from proxy.calcom.timefmt import format_ms
from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.identity import ResourceMap
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.outcome import OutcomeResolver
from proxy.reach import KeyReach
from proxy.upstream import CalcomClient
from proxy.upstream_budget import upstream_priority
from proxy.verification import COMMIT_TAG, Expected, instant_ms, mismatches, tagged

log = get_logger(__name__)

OPEN_STATES = frozenset(
    {CommitState.PENDING, CommitState.UNKNOWN, CommitState.COMPENSATION_FAILED, CommitState.ABANDONED}
)
# Left alone for the pending grace after their last change: an in-flight commit, and an abandoned one's
# booking waiting for its caller's retry.
WAITING_STATES = frozenset({CommitState.PENDING, CommitState.ABANDONED})
MAX_PAGES = 400  # per event type: 100,000 bookings in the window at 250 a page
LEASE_SOURCE = (resources.files("proxy") / "lua" / "reconcile_lease.lua").read_text("utf-8")
LEASE_POLL_S = 0.2


class LeaseLost(Exception):
    """The pass's lease expired or was taken over: stop before acting."""


@dataclass
class ReconcileReport:
    """What one reconciliation run found and did."""

    confirmed: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    ghosts_cancelled: list[str] = field(default_factory=list)
    closed_without_booking: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    # Confirmed entries whose event type's pages could not all be read this pass (429, 5xx, timeout).
    unknown: list[str] = field(default_factory=list)
    # Tagged bookings unknown to the ledger, and those of them cancelled this pass.
    orphans: list[str] = field(default_factory=list)
    orphans_adopted: list[str] = field(default_factory=list)
    retired: int = 0
    pages: int = 0
    failed_pages: list[dict[str, Any]] = field(default_factory=list)
    fence: int | None = None
    # Why this process did not run a pass (another holds the lease, or one ran recently).
    skipped: str | None = None
    # Event types whose bookings calproxy's key cannot list (another user's): never read as missing.
    not_visible: list[int] = field(default_factory=list)

    @property
    def consistency_ratio(self) -> float:
        """Confirmed bookings present at the confirmed time / confirmed bookings checked (1.0 when none).

        Entries that could not be checked ("unknown") count in neither, so a 429 never lowers the ratio.
        """
        checked = self.confirmed - len(self.unknown)
        return 1.0 if checked <= 0 else self.present / checked

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "consistencyRatio": self.consistency_ratio,
            "confirmed": self.confirmed,
            "present": self.present,
            "missing": self.missing,
            "mismatched": self.mismatched,
            "unknown": self.unknown,
            "ghostsCancelled": self.ghosts_cancelled,
            "closedWithoutBooking": self.closed_without_booking,
            "unresolved": self.unresolved,
            "orphans": self.orphans,
            "orphansAdopted": self.orphans_adopted,
            "retired": self.retired,
            "pages": self.pages,
            "failedPages": self.failed_pages,
            "fence": self.fence,
            "skipped": self.skipped,
            "notVisible": self.not_visible,
        }


@dataclass
class Lease:
    """A fenced Redis lease: SET NX PX with a token, the fence from a counter, renewed while held."""

    redis: Redis
    key: str
    fence_key: str
    ttl_ms: int
    value: str | None = None
    fence: int = 0
    lost: bool = False

    async def _call(self, op: str, arg: str) -> list[int]:
        script = self.redis.register_script(LEASE_SOURCE)
        result = await script(keys=[self.key, self.fence_key], args=[op, arg, self.ttl_ms])
        return [int(v) for v in result]

    async def acquire(self, wait_s: float = 0.0) -> bool:
        """Take the lease if free (or its holder died and it expired), polling up to `wait_s`."""
        token = secrets.token_hex(12)
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            taken, fence = await self._call("acquire", token)
            if taken:
                self.value, self.fence, self.lost = f"{token}|{fence}", fence, False
                return True
            if asyncio.get_running_loop().time() + LEASE_POLL_S > deadline:
                return False
            await asyncio.sleep(LEASE_POLL_S)

    async def renew(self) -> bool:
        """Extend the TTL; False (and `lost`) when the lease is no longer ours."""
        if self.value is None or self.lost:
            return False
        renewed, _ = await self._call("renew", self.value)
        self.lost = not renewed
        return bool(renewed)

    async def check(self) -> None:
        """Raise LeaseLost unless the lease is still ours (the fence check before acting)."""
        if self.lost or self.value is None or not (await self._call("check", self.value))[0]:
            self.lost = True
            raise LeaseLost()

    async def release(self) -> None:
        """Give the lease back if still ours."""
        if self.value is not None:
            with suppress(*STORE_ERRORS, OSError):
                await self._call("release", self.value)
            self.value = None

    @asynccontextmanager
    async def renewing(self) -> AsyncIterator[None]:
        """Renew at a third of the TTL while the block runs."""

        async def renew_forever() -> None:
            while not self.lost:
                await asyncio.sleep(self.ttl_ms / 3000)
                try:
                    if not await self.renew():
                        log.warning("reconcile_lease_lost", fence=self.fence)
                except (*STORE_ERRORS, OSError) as exc:
                    log.warning("reconcile_lease_not_renewed", error=type(exc).__name__)

        task = asyncio.create_task(renew_forever())
        try:
            yield
        finally:
            task.cancel()
            # asyncio.wait never swallows a cancellation of this task (suppressing CancelledError here could).
            await asyncio.wait([task])


@dataclass
class Reconciler:
    """Compares the ledger with Cal.com."""

    ledger: Ledger
    upstream: CalcomClient
    resolver: OutcomeResolver
    metrics: Metrics
    clock: Callable[[], float]
    pending_grace_ms: int
    grace_ms: int = 86_400_000
    retention_ms: int = 7 * 86_400_000
    page_size: int = 250
    lease_ms: int = 30_000
    interval_ms: int = 60_000
    # Event types always listed (configured ones), so orphans are found even when the ledger is empty.
    event_types: frozenset[int] = frozenset()
    resources: ResourceMap = field(default_factory=lambda: ResourceMap(groups={}))
    # Which event types the key can list (None: assume all, as tests with a bare resolver do).
    reach: KeyReach | None = None

    def _lease(self) -> Lease:
        keys = self.ledger.keys
        return Lease(self.ledger.redis, keys.reconcile_lease(), keys.reconcile_fence(), self.lease_ms)

    async def run(self, *, wait_s: float = 5.0) -> ReconcileReport:
        """One pass (an operator's or a test's): waits up to `wait_s` for a pass another process runs."""
        report = await self._run_leased(wait_s, scheduled=False)
        assert report is not None
        return report

    async def run_scheduled(self) -> ReconcileReport | None:
        """The periodic job of every process: at most one pass per interval across all of them.

        None when another process holds the lease or a pass finished less than 90% of an interval ago.
        """
        return await self._run_leased(0.0, scheduled=True)

    async def _run_leased(self, wait_s: float, *, scheduled: bool) -> ReconcileReport | None:
        lease = self._lease()
        try:
            if not await lease.acquire(wait_s):
                self.metrics.reconcile_passes.labels(result="lease_held").inc()
                return None if scheduled else ReconcileReport(skipped="another process is reconciling")
            # Checked under the lease, so two processes cannot both see "no recent pass".
            if scheduled and await self.ledger.redis.exists(self.ledger.keys.reconcile_done()):
                self.metrics.reconcile_passes.labels(result="recent").inc()
                return None
            try:
                async with lease.renewing():
                    with upstream_priority("background"):
                        report = await self._pass(lease)
            except LeaseLost:
                self.metrics.reconcile_passes.labels(result="lease_lost").inc()
                log.warning("reconcile_lease_lost_mid_pass", fence=lease.fence)
                lost = ReconcileReport(skipped="lease lost mid-pass", fence=lease.fence)
                return None if scheduled else lost
            self.metrics.reconcile_passes.labels(result="ran").inc()
            return report
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("reconcile_failed", error=type(exc).__name__)
            if scheduled:
                return None
            raise
        finally:
            await lease.release()

    async def _pass(self, lease: Lease) -> ReconcileReport:
        report = ReconcileReport(fence=lease.fence)
        now = self._now()
        window_start = now - self.grace_ms
        entries = [entry async for entry in self.ledger.entries()]
        known_commits = {e.commit_id for e in entries}
        known_uids = {e.booking_uid for e in entries if e.booking_uid is not None}
        # An adopted orphan is a booking someone may have been told about: it is checked like a confirmed one.
        booked = (CommitState.CONFIRMED, CommitState.ADOPTED)
        confirmed = [e for e in entries if e.state in booked and e.start_ms >= window_start]
        open_entries = [e for e in entries if e.state in OPEN_STATES and self._settled_enough(e)]
        # Only event types whose bookings the key can see are listed or settled; the others' entries stay
        # unknown (confirmed) or unresolved (open): an empty list from them would read as false absence.
        involved = set(self.event_types) | {e.event_type_id for e in (*confirmed, *open_entries)}
        cannot_tell: frozenset[int] = frozenset()
        if self.reach is not None:
            reach = await self.reach.of(involved)
            report.not_visible = sorted(reach.blind)
            cannot_tell = reach.blind | reach.undecided
            report.unresolved += [e.commit_id for e in open_entries if e.event_type_id in cannot_tell]
            open_entries = [e for e in open_entries if e.event_type_id not in cannot_tell]
        wanted = set(self.event_types) | {e.event_type_id for e in confirmed}
        wanted |= {e.event_type_id for e in open_entries if e.start_ms >= window_start}
        wanted -= cannot_tell
        listed: dict[int, list[dict[str, Any]]] = {}
        for event_type_id in sorted(wanted):
            found = await self._list(event_type_id, window_start, report)
            if found is not None:
                listed[event_type_id] = found
        self._check_confirmed(confirmed, listed, report)
        for entry in open_entries:
            pages = listed.get(entry.event_type_id) if entry.start_ms >= window_start else None
            await self._settle_open(entry, pages, report, lease)
        await self._settle_orphans(listed, known_commits, known_uids, report, lease, now)
        for entry in entries:
            if entry.state not in OPEN_STATES and entry.end_ms < now - self.retention_ms:
                await lease.check()
                await self.ledger.retire(entry, self.retention_ms // 1000)
                report.retired += 1
        self._publish(report)
        await lease.check()
        await self._store(report)
        if self.interval_ms > 0:
            try:
                await self.ledger.redis.set(
                    self.ledger.keys.reconcile_done(), str(lease.fence), px=max(1, self.interval_ms * 9 // 10)
                )
            except (*STORE_ERRORS, OSError) as exc:  # at worst the next process runs a pass early
                log.warning("reconcile_done_not_stored", error=type(exc).__name__)
        return report

    async def _list(
        self, event_type_id: int, window_start: int, report: ReconcileReport
    ) -> list[dict[str, Any]] | None:
        """Every booking of one event type in the window, page by page; None if any page failed."""
        found: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            params = {
                "eventTypeId": str(event_type_id),
                "afterStart": format_ms(window_start),
                "sortCreated": "asc",
                "take": str(self.page_size),
                "skip": str(page * self.page_size),
            }
            status: int | str
            try:
                response = await self.upstream.list_bookings(params)
                status = response.status
                payload = response.json()
            except UpstreamTimeout:
                status, payload = "timeout", None
            except UpstreamUnavailable:
                status, payload = "unavailable", None
            data = payload.get("data") if isinstance(payload, dict) else None
            if status != 200 or not isinstance(data, list):
                self.metrics.reconcile_pages.labels(result="failed").inc()
                report.failed_pages.append({"eventTypeId": event_type_id, "page": page, "status": status})
                log.warning("reconcile_page_failed", event_type=event_type_id, page=page, status=status)
                return None
            report.pages += 1
            self.metrics.reconcile_pages.labels(result="read").inc()
            found.extend(b for b in data if isinstance(b, dict))
            pagination = payload.get("pagination") if isinstance(payload, dict) else None
            more = pagination.get("hasNextPage") if isinstance(pagination, dict) else None
            if len(data) < self.page_size or more is False:
                return found
        report.failed_pages.append({"eventTypeId": event_type_id, "page": MAX_PAGES, "status": "too many"})
        return None

    def _check_confirmed(
        self, confirmed: list[LedgerEntry], listed: dict[int, list[dict[str, Any]]], report: ReconcileReport
    ) -> None:
        by_uid = {b.get("uid"): b for pages in listed.values() for b in pages}
        for entry in confirmed:
            report.confirmed += 1
            if entry.event_type_id not in listed:
                report.unknown.append(entry.commit_id)
                continue
            booking = by_uid.get(entry.booking_uid)
            if booking is None:
                report.missing.append(entry.commit_id)
                continue
            expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
            if booking.get("status") == "cancelled" or mismatches(booking, expected):
                report.mismatched.append(entry.commit_id)
                continue
            report.present += 1

    def _publish(self, report: ReconcileReport) -> None:
        self.metrics.consistency.set(report.consistency_ratio)
        kinds = ("missing", "mismatched", "unknown", "ghosts_cancelled", "unresolved", "orphans")
        for kind in kinds:
            self.metrics.reconcile_findings.labels(kind=kind).set(len(getattr(report, kind)))
        log.info(
            "reconciled",
            ratio=round(report.consistency_ratio, 4),
            confirmed=report.confirmed,
            missing=len(report.missing),
            mismatched=len(report.mismatched),
            unknown=len(report.unknown),
            ghosts=len(report.ghosts_cancelled),
            orphans=len(report.orphans),
            unresolved=len(report.unresolved),
            retired=report.retired,
            pages=report.pages,
            failed_pages=len(report.failed_pages),
            fence=report.fence,
        )

    async def _store(self, report: ReconcileReport) -> None:
        # The ledger's client and keyspace, so that wiring stays as it is. Best effort: the run already did
        # its work, and a lost copy only hides it from the status page until the next run.
        ran_at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        try:
            await self.ledger.redis.set(
                self.ledger.keys.last_reconciliation(), json.dumps({**report.as_dict(), "ranAt": ran_at})
            )
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("reconcile_report_not_stored", error=type(exc).__name__)

    async def last_report(self) -> dict[str, Any] | None:
        """The latest run's report with its `ranAt` (ISO, UTC), by any process; None if none or unreadable."""
        try:
            raw = await self.ledger.redis.get(self.ledger.keys.last_reconciliation())
            stored = json.loads(raw) if raw is not None else None
        except (*STORE_ERRORS, OSError, ValueError) as exc:
            log.warning("reconcile_report_not_read", error=type(exc).__name__)
            return None
        return stored if isinstance(stored, dict) else None

    def _settled_enough(self, entry: LedgerEntry) -> bool:
        return entry.state not in WAITING_STATES or self._now() - entry.updated_ms > self.pending_grace_ms

    def _now(self) -> int:
        return int(self.clock() * 1000)

    async def _settle_open(
        self,
        entry: LedgerEntry,
        pages: list[dict[str, Any]] | None,
        report: ReconcileReport,
        lease: Lease,
    ) -> None:
        expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
        origin = entry.origin_uid

        def ours(booking: object) -> bool:
            # A reschedule carries no tag (Cal.com takes no metadata there): it is known by its origin.
            moved = (
                origin is not None
                and isinstance(booking, dict)
                and booking.get("rescheduledFromUid") == origin
            )
            return tagged(booking, entry.commit_id) or moved

        # From the listed pages when they cover the entry; else its own look-up, as before.
        found = (
            [b for b in pages if ours(b)]
            if pages is not None
            else await self.resolver.find(expected, ours, {})
        )
        if found is None:
            report.unresolved.append(entry.commit_id)
            return
        live = [b["uid"] for b in found if b.get("status") != "cancelled" and isinstance(b.get("uid"), str)]
        await lease.check()
        if not live:
            await self.ledger.write(
                entry.moved(CommitState.REFUSED, self._now(), detail="reconciled: no booking")
            )
            report.closed_without_booking.append(entry.commit_id)
            return
        outcome = await self.resolver.compensate(live, ["never confirmed to the caller"], {})
        state = CommitState.COMPENSATED if outcome.kind == "compensated" else CommitState.COMPENSATION_FAILED
        await lease.check()
        await self.ledger.write(
            entry.moved(state, self._now(), booking_uid=live[0], detail="reconciled ghost")
        )
        if state is CommitState.COMPENSATED:
            report.ghosts_cancelled.extend(live)
        else:
            report.unresolved.append(entry.commit_id)

    async def _settle_orphans(
        self,
        listed: dict[int, list[dict[str, Any]]],
        known_commits: set[str],
        known_uids: set[str],
        report: ReconcileReport,
        lease: Lease,
        now: int,
    ) -> None:
        for event_type_id, pages in listed.items():
            for booking in pages:
                commit_id = _tag_of(booking)
                uid = booking.get("uid")
                if (
                    commit_id is None
                    or not isinstance(uid, str)
                    or commit_id in known_commits
                    or uid in known_uids
                    or booking.get("status") == "cancelled"
                ):
                    continue
                resource = self.resources.resource_for(event_type_id)
                if await self.ledger.redis.exists(self.ledger.keys.ledger_archive(resource, commit_id)):
                    continue  # retired meanwhile: known, not an orphan
                created = instant_ms(booking.get("createdAt"))
                if created is not None and now - created < self.pending_grace_ms:
                    report.orphans.append(uid)
                    continue  # possibly a commit still in flight: next pass
                if await self.ledger.get(commit_id, resource) is not None:
                    continue  # its commit wrote the entry after this pass read the ledger
                report.orphans.append(uid)
                await self._adopt_orphan(event_type_id, resource, commit_id, booking, uid, report, lease)

    async def _adopt_orphan(
        self,
        event_type_id: int,
        resource: str,
        commit_id: str,
        booking: dict[str, Any],
        uid: str,
        report: ReconcileReport,
        lease: Lease,
    ) -> None:
        start, end = instant_ms(booking.get("start")), instant_ms(booking.get("end"))
        if start is None or end is None:
            report.unresolved.append(commit_id)
            return
        now = self._now()
        # The calendar rebuilds what Redis lost: the orphan gets its ledger entry back, and stays booked.
        entry = LedgerEntry(
            commit_id=commit_id,
            tenant="unknown",
            event_type_id=event_type_id,
            resource=resource,
            start_ms=start,
            end_ms=end,
            state=CommitState.ADOPTED,
            created_ms=now,
            updated_ms=now,
            booking_uid=uid,
            detail="adopted orphan: a tagged booking the ledger had lost, kept",
        )
        await lease.check()
        await self.ledger.write(entry)
        log.warning("orphan_adopted", booking=uid, commit=commit_id)
        report.orphans_adopted.append(uid)


def _tag_of(booking: dict[str, Any]) -> str | None:
    metadata = booking.get("metadata")
    tag = metadata.get(COMMIT_TAG) if isinstance(metadata, dict) else None
    return tag if isinstance(tag, str) and tag else None


def event_types_of(groups: Iterable[int]) -> frozenset[int]:
    """The configured event types (resource groups' keys): always listed by reconciliation."""
    return frozenset(int(g) for g in groups)
