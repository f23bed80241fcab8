"""Cal.com slot reservations served as holds: reserve, look up, move or extend, release by uid.

Cal.com's reservation paths carry only the uid, so the uid we hand out names its hold and resource
(`proxy.identity.public_uid`); possession of it is the ownership proof for callers without an X-Call-Id,
exactly as Cal.com's reservationUid works, and the tenant must match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holds import Hold, HoldConflict, HoldError, HoldStore
from proxy.availability import Availability
from proxy.budgets import HoldBudget
from proxy.calcom.bounds import MAX_LENGTH_MINUTES
from proxy.calcom.errors import BadRequest, NotFound, Unprocessable
from proxy.calcom.reservations import (
    ALREADY_BOOKED,
    ALREADY_RESERVED,
    reservation_output,
    reserved_slot_output,
)
from proxy.calcom.timefmt import from_ms
from proxy.identity import Caller, hold_uid_for, owner_in_tenant, parse_public_uid, public_uid
from proxy.mirror import HoldMirror
from proxy.opstats import OpsStats
from proxy.slotmath import Reason


@dataclass(frozen=True)
class Reservation:
    """A hold seen as a Cal.com reservation."""

    hold: Hold
    event_type_id: int

    @property
    def uid(self) -> str:
        """The reservationUid the caller sees."""
        return public_uid(self.hold.uid, self.event_type_id, self.hold.resource)

    @property
    def minutes(self) -> int:
        """Slot length in whole minutes."""
        return (self.hold.end_ms - self.hold.start_ms) // 60_000

    def output(self, *, with_duration: bool) -> dict[str, Any]:
        """ReserveSlotOutput_2024_09_04 (POST/PATCH) or GetReservedSlotOutput_2024_09_04 (GET)."""
        start, end, until = (
            from_ms(self.hold.start_ms),
            from_ms(self.hold.end_ms),
            from_ms(self.hold.expires_at_ms),
        )
        if not with_duration:
            return reserved_slot_output(
                event_type_id=self.event_type_id,
                slot_start=start,
                slot_end=end,
                slot_duration=self.minutes,
                uid=self.uid,
                until=until,
            )
        ttl_minutes = -(-(self.hold.expires_at_ms - self.hold.created_ms) // 60_000)
        return reservation_output(
            event_type_id=self.event_type_id,
            slot_start=start,
            slot_end=end,
            slot_duration=self.minutes,
            uid=self.uid,
            reservation_duration=max(1, ttl_minutes),
            until=until,
        )


@dataclass
class ReservationService:
    """Reservations over the hold store."""

    availability: Availability
    holds: HoldStore
    # Quote-to-commit observations for the TTL advisor (None: not recorded).
    stats: OpsStats | None = None
    # Tenant and per-resource-share hold budgets (None: unbudgeted).
    budget: HoldBudget | None = None
    # Mirrors holds as Cal.com reservations (None or disabled: Redis-only holds).
    mirror: HoldMirror | None = None

    async def reserve(
        self,
        event_type_id: int,
        start: datetime,
        end: datetime | None,
        ttl_ms: int | None,
        caller: Caller,
        credentials: dict[str, str],
    ) -> Reservation:
        """Hold a slot for this caller, refusing as Cal.com does when it is reserved or booked."""
        start_ms = int(start.timestamp() * 1000)
        view = await self.availability.view(
            event_type_id, None, start_ms, start_ms, caller.owner, credentials
        )
        length_ms = int((end - start).total_seconds() * 1000) if end else view.length_ms
        if length_ms is None or length_ms <= 0:
            raise Unprocessable(ALREADY_BOOKED)
        if length_ms > MAX_LENGTH_MINUTES * 60_000:
            # Days with no snapshot (beyond Cal.com's horizon) cannot check the slot length below.
            raise BadRequest(
                f"slotUtcEndDate must be at most {MAX_LENGTH_MINUTES} minutes after slotUtcStartDate"
            )
        if view.length_ms is not None and length_ms != view.length_ms:
            # Cal.com would hold any interval; a proxy guarding the calendar holds one slot, not a day.
            minutes = view.length_ms // 60_000
            raise BadRequest(
                f"slotUtcEndDate must be slotUtcStartDate plus the slot length ({minutes} minutes)"
            )
        verdict = view.verdict(start_ms, length_ms)
        if verdict.reason is Reason.OUTSIDE_WINDOW and start_ms <= view.now_ms:
            raise BadRequest("Can't reserve a slot in the past.")
        if verdict.reason is Reason.HELD:
            raise Unprocessable(ALREADY_RESERVED)
        if verdict.reason is Reason.BOOKED:
            raise Unprocessable(ALREADY_BOOKED)
        if self.budget is not None and view.own_hold(start_ms, start_ms + length_ms) is None:
            self.budget.precheck(view, start_ms)  # 429 before acquiring when the share is used up
        try:
            hold = await self.holds.acquire(
                view.resource,
                start_ms,
                start_ms + length_ms,
                caller.owner,
                ttl_ms=ttl_ms,
                uid=hold_uid_for(event_type_id, view.resource),
            )
        except HoldConflict as exc:
            raise Unprocessable(ALREADY_BOOKED if exc.booked else ALREADY_RESERVED) from exc
        if self.budget is not None:
            await self.budget.admit(view, caller.tenant, hold, required=True)
        if self.stats is not None:
            self.stats.note_quoted(hold)
        if self.mirror is not None:
            self.mirror.placed(hold, event_type_id)
        return Reservation(hold, event_type_id)

    async def find(self, uid: str, caller: Caller) -> Reservation | None:
        """A live reservation of this tenant, or None."""
        where = parse_public_uid(uid)
        if where is None:
            return None
        hold = await self.holds.get(where.resource, where.hold_uid)
        if hold is None or not owner_in_tenant(hold.owner, caller.tenant):
            return None
        return Reservation(hold, where.event_type_id)

    async def update(
        self,
        uid: str,
        event_type_id: int,
        start: datetime,
        ttl_ms: int | None,
        caller: Caller,
        creds: dict[str, str],
        *,
        refresh: bool = False,
    ) -> Reservation:
        """Move the reservation to another slot (a new hold, then the old freed), as Cal.com's PATCH does.

        Cal.com's update refuses any time overlapping a live reservation of the event type, its own
        included (slots.service.ts:321, no uid filter), so PATCH over one's own time is 422. `refresh`
        (calproxy's X-Calproxy-Refresh header) keeps calproxy's way to extend one's hold in place.
        """
        current = await self.find(uid, caller)
        if current is None:
            raise NotFound(f"Slot with uid={uid} not found")
        start_ms = int(start.timestamp() * 1000)
        hold = current.hold
        same_event_type = event_type_id == current.event_type_id
        if refresh and same_event_type and start_ms == hold.start_ms:
            return await self._extend(current, ttl_ms, caller)
        owner_caller = Caller(tenant=caller.tenant, owner=hold.owner, has_call_id=caller.has_call_id)
        if same_event_type:
            await self._refuse_own_overlap(current, start_ms, owner_caller, creds)
        moved = await self.reserve(event_type_id, start, None, ttl_ms, owner_caller, creds)
        await self.release(uid, caller)
        return moved

    async def _extend(self, current: Reservation, ttl_ms: int | None, caller: Caller) -> Reservation:
        hold = current.hold
        extended = await self.holds.extend(hold.resource, hold.uid, hold.owner, ttl_ms=ttl_ms)
        if self.budget is not None:
            # A hold already counted is always kept: this only moves its expiry.
            await self.budget.tenants.record(caller.tenant, extended, 0)
        if self.stats is not None:
            self.stats.note_quoted(extended)  # same observation, later expiry
        if self.mirror is not None:
            self.mirror.placed(extended, current.event_type_id)
        return Reservation(extended, current.event_type_id)

    async def _refuse_own_overlap(
        self, current: Reservation, start_ms: int, owner: Caller, creds: dict[str, str]
    ) -> None:
        """422 when the new time overlaps the reservation's own live hold; a booking is named first."""
        view = await self.availability.view(
            current.event_type_id, None, start_ms, start_ms, owner.owner, creds
        )
        length_ms = view.length_ms or (current.hold.end_ms - current.hold.start_ms)
        if not (start_ms < current.hold.end_ms and current.hold.start_ms < start_ms + length_ms):
            return
        if view.verdict(start_ms, length_ms).reason is Reason.BOOKED:
            raise Unprocessable(ALREADY_BOOKED)  # findActiveOverlappingBooking runs before the overlap check
        raise Unprocessable(ALREADY_RESERVED)

    async def release(self, uid: str, caller: Caller) -> bool:
        """Free a reservation; unknown uids are fine (Cal.com's deleteMany)."""
        found = await self.find(uid, caller)
        if found is None:
            return False
        try:
            await self.holds.release(found.hold.resource, found.hold.uid, found.hold.owner)
            if self.mirror is not None:
                self.mirror.gone(found.hold.resource, found.hold.uid)
        except HoldError:
            return False
        if self.budget is not None:
            await self.budget.forget(caller.tenant, found.hold)
        if self.stats is not None:
            await self.stats.hold_released(found.hold.resource, found.hold.uid)
        return True
