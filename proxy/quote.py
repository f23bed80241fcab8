"""POST /calproxy/v1/quote: exact-instant availability, a hold on success, reasons and alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from holds import Hold, HoldConflict, HoldStore
from proxy.availability import Availability, View
from proxy.budgets import HoldBudget
from proxy.calcom.bounds import MAX_LENGTH_MINUTES, instant_error
from proxy.calcom.timefmt import format_ms, is_valid_zone, parse_instant
from proxy.calcom.validation import FieldError, is_int, raise_if_errors, unknown_properties
from proxy.identity import Caller, hold_uid_for, public_uid
from proxy.mirror import HoldMirror
from proxy.opstats import OpsStats
from proxy.slotmath import DAY_MS, Reason, nearest

QUOTE_FIELDS = ("eventTypeId", "start", "timeZone", "lengthInMinutes", "alternatives", "holdAlternatives")
MAX_ALTERNATIVES = 10


@dataclass(frozen=True)
class QuoteRequest:
    """A validated quote body."""

    event_type_id: int
    start: datetime
    time_zone: str
    length_minutes: int | None
    alternatives: int
    hold_alternatives: bool


def _int_field(body: dict[str, Any], name: str, low: int, high: int, *, required: bool) -> list[FieldError]:
    value = body.get(name)
    if value is None:
        return [FieldError(name, (f"{name} should not be empty",))] if required else []
    if not is_int(value):
        return [FieldError(name, (f"{name} must be an integer number",))]
    if not low <= int(value) <= high:
        return [FieldError(name, (f"{name} must not be less than {low} or greater than {high}",))]
    return []


def _start_errors(body: dict[str, Any]) -> list[FieldError]:
    # The same window as every Cal.com endpoint: a 1970 or year-9999 start is refused before any hold math.
    error = instant_error("start", body.get("start"))
    return [] if error is None else [error]


def parse_quote(body: object, default_alternatives: int) -> QuoteRequest:
    """Validate a quote body with Cal.com's 400 messages."""
    if not isinstance(body, dict):
        raise_if_errors([FieldError("body", ("Body should be an object",))])
        raise AssertionError("unreachable")
    errors = unknown_properties(body, QUOTE_FIELDS)
    errors += _int_field(body, "eventTypeId", 1, 2**31 - 1, required=True)
    errors += _start_errors(body)
    zone = body.get("timeZone")
    if not isinstance(zone, str) or not is_valid_zone(zone):
        errors.append(FieldError("timeZone", ("timeZone must be a valid IANA time zone",)))
    errors += _int_field(body, "lengthInMinutes", 1, MAX_LENGTH_MINUTES, required=False)
    errors += _int_field(body, "alternatives", 0, MAX_ALTERNATIVES, required=False)
    hold_alts = body.get("holdAlternatives", False)
    if not isinstance(hold_alts, bool):
        errors.append(FieldError("holdAlternatives", ("holdAlternatives must be a boolean value",)))
    raise_if_errors(errors)
    alternatives = body.get("alternatives")
    length = body.get("lengthInMinutes")
    return QuoteRequest(
        event_type_id=int(body["eventTypeId"]),
        start=parse_instant(body["start"]),
        time_zone=str(zone),
        length_minutes=int(length) if length is not None else None,
        alternatives=default_alternatives if alternatives is None else int(alternatives),
        hold_alternatives=hold_alts,
    )


@dataclass(frozen=True)
class Alternative:
    """A free slot offered instead, possibly held for the caller too."""

    start_ms: int
    end_ms: int
    hold: Hold | None


@dataclass(frozen=True)
class QuoteResult:
    """The outcome of one quote."""

    available: bool
    reason: Reason | None
    start_ms: int
    end_ms: int | None
    hold: Hold | None
    alternatives: list[Alternative]
    blocked_until_ms: int | None = None


def quote_body(result: QuoteResult, zone: str, event_type_id: int) -> dict[str, Any]:
    """The quote response envelope, times in the caller's zone as Cal.com formats them."""

    def uid(hold: Hold) -> str:
        return public_uid(hold.uid, event_type_id, hold.resource)

    hold = result.hold
    slot = None
    if result.available and result.end_ms is not None:
        slot = {"start": format_ms(result.start_ms, zone), "end": format_ms(result.end_ms, zone)}
    alternatives: list[dict[str, Any]] = []
    for alt in result.alternatives:
        entry: dict[str, Any] = {"start": format_ms(alt.start_ms, zone), "end": format_ms(alt.end_ms, zone)}
        if alt.hold is not None:
            entry["reservationUid"] = uid(alt.hold)
            entry["reservationUntil"] = format_ms(alt.hold.expires_at_ms, zone)
        alternatives.append(entry)
    data = {
        "available": result.available,
        "reason": result.reason.value if result.reason else None,
        "slot": slot,
        "reservationUid": uid(hold) if hold else None,
        "reservationUntil": format_ms(hold.expires_at_ms, zone) if hold else None,
        "alternatives": alternatives,
    }
    return {"status": "success", "data": data}


@dataclass
class QuoteService:
    """Answers quotes from the snapshot and the hold store."""

    availability: Availability
    holds: HoldStore
    search_days: int
    max_holds_per_owner: int = 3
    # Quote-to-commit observations for the TTL advisor (None: not recorded).
    stats: OpsStats | None = None
    # Tenant and per-resource-share hold budgets (None: unbudgeted).
    budget: HoldBudget | None = None
    # Mirrors holds as Cal.com reservations (None or disabled: Redis-only holds).
    mirror: HoldMirror | None = None

    async def quote(self, request: QuoteRequest, caller: Caller, credentials: dict[str, str]) -> QuoteResult:
        """Check the exact instant, hold it when free, otherwise explain and offer the nearest free slots."""
        start_ms = int(request.start.timestamp() * 1000)
        held = await self._hold_first(request, caller, credentials, start_ms)
        if held is not None:
            return held
        view = await self.availability.view(
            request.event_type_id,
            request.length_minutes,
            start_ms - DAY_MS,
            start_ms + self.search_days * DAY_MS,
            caller.owner,
            credentials,
        )
        length_ms = request.length_minutes * 60_000 if request.length_minutes else view.length_ms
        if length_ms is None:
            return QuoteResult(False, Reason.OUTSIDE_WINDOW, start_ms, None, None, [])
        verdict = view.verdict(start_ms, length_ms)
        hold: Hold | None = None
        reason, blocked_until = verdict.reason, verdict.blocked_until_ms
        if verdict.available:
            fresh = view.own_hold(start_ms, start_ms + length_ms) is None
            if self.budget is not None and fresh:
                # A new hold (not a refresh of the caller's own) must fit the tenant's budgets: 429 if not.
                self.budget.precheck(view, start_ms)
            try:
                hold = await self.holds.acquire(
                    view.resource,
                    start_ms,
                    start_ms + length_ms,
                    caller.owner,
                    uid=hold_uid_for(view.event_type_id, view.resource),
                )
            except HoldConflict as conflict:
                # Someone acquired it between our read of the holds and our acquire.
                reason = Reason.BOOKED if conflict.booked else Reason.HELD
                blocked_until = conflict.expires_at_ms
            if hold is not None and self.budget is not None:
                await self.budget.admit(view, caller.tenant, hold, required=True)
        if hold is not None:
            self._placed(hold, request.event_type_id)
        alternatives: list[Alternative] = []
        if hold is None:
            alternatives = await self._alternatives(view, request, caller, start_ms, length_ms)
        end_ms = start_ms + length_ms
        return QuoteResult(hold is not None, reason, start_ms, end_ms, hold, alternatives, blocked_until)

    async def _hold_first(
        self, request: QuoteRequest, caller: Caller, credentials: dict[str, str], start_ms: int
    ) -> QuoteResult | None:
        """The happy path in one round trip: a free slot by the day this process keeps and its live view of
        the holds goes straight to acquire. None sends the quote down the full path, which reads what it
        needs to explain a refusal and pick alternatives (the acquire decides in Redis either way)."""
        await self.availability.resource_of(request.event_type_id, credentials)
        view = self.availability.day_view(
            request.event_type_id, request.length_minutes, start_ms, caller.owner
        )
        if view is None:
            return None
        length_ms = request.length_minutes * 60_000 if request.length_minutes else view.length_ms
        if length_ms is None or not view.verdict(start_ms, length_ms).available:
            return None
        end_ms = start_ms + length_ms
        if self.budget is not None and view.own_hold(start_ms, end_ms) is None:
            self.budget.precheck(view, start_ms)
        uid = hold_uid_for(view.event_type_id, view.resource)
        try:
            hold = await self.holds.acquire(view.resource, start_ms, end_ms, caller.owner, uid=uid)
        except HoldConflict:
            return None  # taken since the view last heard: the full path explains and offers others
        if self.budget is not None:
            await self.budget.admit(view, caller.tenant, hold, required=True)
        self._placed(hold, request.event_type_id)
        return QuoteResult(True, None, start_ms, end_ms, hold, [])

    def _placed(self, hold: Hold, event_type_id: int) -> None:
        if self.stats is not None:
            # Only the quoted slot: an unchosen held alternative would read as a caller still deciding.
            self.stats.note_quoted(hold)
        if self.mirror is not None:
            self.mirror.placed(hold, event_type_id)

    async def _alternatives(
        self, view: View, request: QuoteRequest, caller: Caller, start_ms: int, length_ms: int
    ) -> list[Alternative]:
        free = view.free()
        if not request.hold_alternatives:
            picked = nearest(free, start_ms, request.alternatives, exclude=[start_ms])
            return [Alternative(s, s + length_ms, None) for s in picked]
        # Held alternatives: walk outwards from the request, skipping any that another caller just took.
        ranked = sorted((s for s in set(free) if s != start_ms), key=lambda s: (abs(s - start_ms), s))
        chosen: list[Alternative] = []
        await self._walk(view, request, caller, ranked, length_ms, chosen)
        return sorted(chosen, key=lambda a: a.start_ms)

    async def _walk(
        self,
        view: View,
        request: QuoteRequest,
        caller: Caller,
        ranked: list[int],
        length_ms: int,
        chosen: list[Alternative],
    ) -> None:
        allowed = self.max_holds_per_owner
        for s in ranked:
            if len(chosen) >= request.alternatives:
                break
            if sum(1 for a in chosen if a.hold) >= allowed:
                # Past the per-caller cap a new hold would evict one we just announced: offer it unheld.
                chosen.append(Alternative(s, s + length_ms, None))
                continue
            try:
                uid = hold_uid_for(view.event_type_id, view.resource)
                hold = await self.holds.acquire(view.resource, s, s + length_ms, caller.owner, uid=uid)
            except HoldConflict:
                continue
            if self.budget is not None and not await self.budget.admit(
                view, caller.tenant, hold, required=False
            ):
                # Past the tenant's budgets the alternatives are still offered, unheld.
                allowed = 0
                chosen.append(Alternative(s, s + length_ms, None))
                continue
            if self.mirror is not None:
                self.mirror.placed(hold, request.event_type_id)
            chosen.append(Alternative(s, s + length_ms, hold))
