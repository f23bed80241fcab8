"""Reconciliation (CONTRACT §6): proves calendar = what we confirmed, and settles what was left open.

- CONFIRMED entries must exist in Cal.com, live, at exactly the confirmed time (the consistency ratio);
- PENDING (stale), UNKNOWN and COMPENSATION_FAILED entries were never answered "booked", so any booking
  carrying their tag is a ghost and is cancelled; when none exists the entry is closed as REFUSED.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.outcome import OutcomeResolver
from proxy.upstream import CalcomClient
from proxy.verification import Expected, mismatches, tagged

log = get_logger(__name__)

OPEN_STATES = frozenset({CommitState.PENDING, CommitState.UNKNOWN, CommitState.COMPENSATION_FAILED})


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

    @property
    def consistency_ratio(self) -> float:
        """Confirmed bookings present at the confirmed time / confirmed bookings (1.0 when none)."""
        return 1.0 if self.confirmed == 0 else self.present / self.confirmed

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "consistencyRatio": self.consistency_ratio,
            "confirmed": self.confirmed,
            "present": self.present,
            "missing": self.missing,
            "mismatched": self.mismatched,
            "ghostsCancelled": self.ghosts_cancelled,
            "closedWithoutBooking": self.closed_without_booking,
            "unresolved": self.unresolved,
        }


@dataclass
class Reconciler:
    """Compares the ledger with Cal.com."""

    ledger: Ledger
    upstream: CalcomClient
    resolver: OutcomeResolver
    metrics: Metrics
    clock: Callable[[], float]
    pending_grace_ms: int

    async def run(self) -> ReconcileReport:
        """One full pass over the ledger."""
        report = ReconcileReport()
        async for entry in self.ledger.entries():
            if entry.state is CommitState.CONFIRMED:
                await self._check_confirmed(entry, report)
            elif entry.state in OPEN_STATES and self._settled_enough(entry):
                await self._settle_open(entry, report)
        self.metrics.consistency.set(report.consistency_ratio)
        for kind in ("missing", "mismatched", "ghosts_cancelled", "unresolved"):
            self.metrics.reconcile_findings.labels(kind=kind).set(len(getattr(report, kind)))
        log.info(
            "reconciled",
            ratio=round(report.consistency_ratio, 4),
            confirmed=report.confirmed,
            missing=len(report.missing),
            mismatched=len(report.mismatched),
            ghosts=len(report.ghosts_cancelled),
            unresolved=len(report.unresolved),
        )
        await self._store(report)
        return report

    async def _store(self, report: ReconcileReport) -> None:
        # The ledger's client and keyspace, so that wiring stays as it is. Best effort: the run already did
        # its work, and a lost copy only hides it from the status page until the next run.
        ran_at = datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")
        try:
            await self.ledger.redis.set(
                self.ledger.keys.last_reconciliation(), json.dumps({**report.as_dict(), "ranAt": ran_at})
            )
        except (RedisError, OSError) as exc:
            log.warning("reconcile_report_not_stored", error=type(exc).__name__)

    async def last_report(self) -> dict[str, Any] | None:
        """The latest run's report with its `ranAt` (ISO, UTC), by any process; None if none or unreadable."""
        try:
            raw = await self.ledger.redis.get(self.ledger.keys.last_reconciliation())
            stored = json.loads(raw) if raw is not None else None
        except (RedisError, OSError, ValueError) as exc:
            log.warning("reconcile_report_not_read", error=type(exc).__name__)
            return None
        return stored if isinstance(stored, dict) else None

    def _settled_enough(self, entry: LedgerEntry) -> bool:
        # A PENDING entry may still be in flight; leave it to its commit for a while.
        return (
            entry.state is not CommitState.PENDING or self._now() - entry.updated_ms > self.pending_grace_ms
        )

    def _now(self) -> int:
        return int(self.clock() * 1000)

    async def _check_confirmed(self, entry: LedgerEntry, report: ReconcileReport) -> None:
        report.confirmed += 1
        assert entry.booking_uid is not None
        try:
            response = await self.upstream.get_booking(entry.booking_uid, {})
        except (UpstreamTimeout, UpstreamUnavailable):
            report.unresolved.append(entry.commit_id)
            return
        payload = response.json()
        booking = payload.get("data") if isinstance(payload, dict) else None
        if response.status == 404 or not isinstance(booking, dict):
            report.missing.append(entry.commit_id)
            return
        expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
        if booking.get("status") == "cancelled" or mismatches(booking, expected):
            report.mismatched.append(entry.commit_id)
            return
        report.present += 1

    async def _settle_open(self, entry: LedgerEntry, report: ReconcileReport) -> None:
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

        found = await self.resolver.find(expected, ours, {})
        if found is None:
            report.unresolved.append(entry.commit_id)
            return
        live = [b["uid"] for b in found if b.get("status") != "cancelled"]
        if not live:
            await self.ledger.write(
                entry.moved(CommitState.REFUSED, self._now(), detail="reconciled: no booking")
            )
            report.closed_without_booking.append(entry.commit_id)
            return
        outcome = await self.resolver.compensate(live, ["never confirmed to the caller"], {})
        state = CommitState.COMPENSATED if outcome.kind == "compensated" else CommitState.COMPENSATION_FAILED
        await self.ledger.write(
            entry.moved(state, self._now(), booking_uid=live[0], detail="reconciled ghost")
        )
        if state is CommitState.COMPENSATED:
            report.ghosts_cancelled.extend(live)
        else:
            report.unresolved.append(entry.commit_id)
