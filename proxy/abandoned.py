"""Commits a dead process left open, settled within seconds of its death (issue 10, item 5).

`proxy.liveness` tells which process died; this settles each of its PENDING ledger entries by what Cal.com
holds, found by the entry's metadata tag:
- a live tagged booking: Cal.com booked, the caller never heard it. The entry becomes ABANDONED (with the
  booking uid) and the slot gets a booked marker, so nobody else is offered it; a retry of the same request
  receives that booking (`CommitService.hand_off`), and reconciliation cancels it as a ghost once the pending
  grace has passed without one;
- no booking, once the create can no longer land (older than the upstream timeout): the entry becomes
  UNKNOWN (reconciliation still cancels a booking that shows up late), the hold is released and the
  caller's idempotency claim dropped, so the slot is free again and the caller's retry proceeds at once;
- Cal.com cannot be asked (no key, 429, 5xx): the entry is left for the next beat;
- an event type whose bookings calproxy's key cannot list (proxy.reach): absence cannot be told, so the
  entry becomes UNKNOWN and nothing is freed early: the hold ends with its commit budget, the claim with its
  TTL, and a retry hears 409 until then, as before.
Nothing here answers a caller, so nothing here can confirm falsely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from holds import HoldStore
from holds.errors import HoldError
from proxy.idempotency import Idempotency
from proxy.ledger import CommitState, Ledger, LedgerEntry
from proxy.logs import get_logger
from proxy.outcome import OutcomeResolver
from proxy.reach import KeyReach
from proxy.upstream_budget import upstream_priority
from proxy.verification import Expected, tagged

log = get_logger(__name__)


@dataclass
class AbandonedCommits:
    """Settles the open commits of one dead process."""

    ledger: Ledger
    resolver: OutcomeResolver
    holds: HoldStore
    idempotency: Idempotency
    booked_ttl_ms: int
    # A create sent this long ago can no longer be made by Cal.com (the upstream timeout, plus a margin).
    landing_ms: int
    clock: Callable[[], float]
    reach: KeyReach | None = None

    async def settle(self, process_id: str) -> bool:
        """Settle every open commit of `process_id`; True when none is left open."""
        done = True
        with upstream_priority("commit"):
            async for entry in self.ledger.entries():
                if entry.process == process_id and entry.state is CommitState.PENDING:
                    done = await self._settle(entry) and done
        return done

    async def _settle(self, entry: LedgerEntry) -> bool:
        if self.reach is not None:
            seen = await self.reach.of([entry.event_type_id])
            if entry.event_type_id in seen.undecided:
                return False
            if entry.event_type_id in seen.blind:
                detail = "its process died; calproxy's key cannot list this event type's bookings"
                await self.ledger.write(
                    entry.moved(CommitState.UNKNOWN, int(self.clock() * 1000), detail=detail)
                )
                return True
        expected = Expected(entry.event_type_id, entry.start_ms, entry.end_ms)
        found = await self.resolver.find(expected, lambda b: tagged(b, entry.commit_id), {})
        if found is None:
            return False
        live = [b["uid"] for b in found if b.get("status") != "cancelled" and isinstance(b.get("uid"), str)]
        now = int(self.clock() * 1000)
        if live:
            detail = "its process died after Cal.com booked; kept for a retry of the same request"
            marker = await self._block(entry)
            await self.ledger.write(
                entry.moved(CommitState.ABANDONED, now, booking_uid=live[0], hold_uid=marker, detail=detail)
            )
            log.warning("abandoned_commit_kept", commit=entry.commit_id, booking=live[0])
            return True
        if now - entry.created_ms < self.landing_ms:
            return False  # the create may still land: look again on a later beat
        detail = "its process died and Cal.com made no booking"
        await self.ledger.write(entry.moved(CommitState.UNKNOWN, now, detail=detail))
        await self._free(entry)
        log.warning("abandoned_commit_freed", commit=entry.commit_id)
        return True

    async def _block(self, entry: LedgerEntry) -> str | None:
        """A booked marker in place of the dead commit's hold; its uid (the hold's if it failed)."""
        # The marker first, then the dead commit's hold: the slot is never free in between.
        try:
            marker = await self.holds.mark_booked(
                entry.resource, entry.start_ms, entry.end_ms, ttl_ms=self.booked_ttl_ms
            )
            if entry.hold_uid:
                await self.holds.force_release(entry.resource, entry.hold_uid)
        except HoldError as exc:  # the ledger entry is what counts; the marker only hides the slot sooner
            log.warning("abandoned_marker_not_written", error=type(exc).__name__)
            return entry.hold_uid
        return marker.uid

    async def _free(self, entry: LedgerEntry) -> None:
        if entry.hold_uid:
            await self.holds.force_release(entry.resource, entry.hold_uid)
        if entry.replay_key:
            await self.idempotency.abandon(entry.resource, entry.tenant, entry.replay_key)
