"""The two direct flows against Cal.com: the original (fuzzy, unchecked) and V85's re-check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from proxy.calcom.timefmt import local_date, parse_instant
from proxy.loadtest.client import Answer
from proxy.loadtest.population import CallerSpec
from proxy.loadtest.records import ASK, CONFIRM, CallerOutcome
from proxy.loadtest.strategies.base import (
    BOOKINGS_VERSION,
    REFUSAL_STATUSES,
    SLOTS_VERSION,
    CallerFlow,
    auth_headers,
    error_kind,
    message_of,
    utc,
)

# The original flow's fuzzy match (incident of 18 Oct, bug #1).
FUZZY_WINDOW = timedelta(minutes=15)


def slot_starts(body: Any) -> list[datetime]:
    """Every start in a 2024-09-04 slots answer, as UTC instants."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return []
    return sorted(parse_instant(e["start"]).astimezone(UTC) for entries in data.values() for e in entries)


def nearest(starts: list[datetime], wanted: datetime, count: int) -> list[datetime]:
    """The `count` starts closest to the wanted time, other than the wanted time itself."""
    others = [s for s in starts if s != wanted]
    return sorted(others, key=lambda s: (abs(s - wanted), s))[:count]


class DirectFlow(CallerFlow):
    """Shared parts: one day of slots straight from Cal.com, and the create call."""

    async def day_slots(self, spec: CallerSpec) -> Answer:
        """GET /v2/slots for the wanted local day, in the host's zone."""
        day = local_date(spec.wanted, spec.zone).isoformat()
        params = {"eventTypeId": str(spec.event_type_id), "start": day, "end": day, "timeZone": spec.zone}
        return await self.client.call(
            "GET", f"{self.endpoints.sim}/v2/slots", headers=auth_headers(SLOTS_VERSION), params=params
        )

    async def create(self, spec: CallerSpec, start: str) -> Answer:
        """POST /v2/bookings with the caller as attendee."""
        body = {
            "eventTypeId": spec.event_type_id,
            "start": start,
            "attendee": {"name": spec.name, "email": spec.email, "timeZone": spec.zone},
        }
        return await self.client.call(
            "POST", f"{self.endpoints.sim}/v2/bookings", headers=auth_headers(BOOKINGS_VERSION), body=body
        )

    def available(self, starts: list[datetime], wanted: datetime) -> bool:
        """Whether the flow tells the caller the wanted time is free."""
        return wanted in starts

    async def ask(self, spec: CallerSpec, outcome: CallerOutcome) -> bool:
        """Ask for the wanted time; pick the offer (wanted or the nearest alternative)."""
        answer = await self.day_slots(spec)
        outcome.timings_ms[ASK] = answer.elapsed_ms
        if answer.status != 200:
            outcome.error = error_kind(answer)
            return False
        starts = slot_starts(answer.body)
        if self.available(starts, spec.wanted):
            outcome.offered, outcome.offered_kind = utc(spec.wanted), "wanted"
            return True
        alternatives = nearest(starts, spec.wanted, self.config.alternatives)
        if alternatives:
            outcome.offered, outcome.offered_kind = utc(alternatives[0]), "alternative"
        return bool(alternatives)

    def settle(self, answer: Answer, outcome: CallerOutcome) -> None:
        """Classify a refused or failed create."""
        if answer.status in REFUSAL_STATUSES:
            outcome.refused, outcome.refusal = True, f"{answer.status}: {message_of(answer)}"[:160]
        else:
            outcome.error = error_kind(answer)


class NaiveFlow(DirectFlow):
    """Before the fixes: ±15 min counts as free, the booked time is never checked."""

    name = "direct-naive"

    def available(self, starts: list[datetime], wanted: datetime) -> bool:
        """Bug #1 of the 18 Oct incident: any slot within 15 minutes makes the wanted time 'free'."""
        return any(abs(s - wanted) <= FUZZY_WINDOW for s in starts)

    async def converse(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        """Ask, think, book; any 2xx is announced as booked at the offered time."""
        if not await self.ask(spec, outcome):
            return
        await self.think(spec, outcome)
        assert outcome.offered is not None
        answer = await self.create(spec, outcome.offered)
        outcome.timings_ms[CONFIRM] = answer.elapsed_ms
        if answer.status in (200, 201):
            outcome.told_booked, outcome.booked_start = True, outcome.offered
        else:
            self.settle(answer, outcome)


class RecheckFlow(DirectFlow):
    """V85: exact match, re-check right before booking, reject a booking at another time."""

    name = "direct-recheck"

    async def converse(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        """Ask, think, re-check, book, verify the booked start."""
        if not await self.ask(spec, outcome):
            return
        await self.think(spec, outcome)
        assert outcome.offered is not None
        offered = parse_instant(outcome.offered)
        recheck = await self.day_slots(spec_for(spec, offered))
        elapsed = recheck.elapsed_ms
        # V85 proceeds with the booking when the re-check itself fails ("better to attempt booking").
        if recheck.status == 200 and offered not in slot_starts(recheck.body):
            outcome.timings_ms[CONFIRM] = elapsed
            outcome.refused, outcome.refusal = True, "recheck: slot no longer available"
            return
        answer = await self.create(spec, outcome.offered)
        outcome.timings_ms[CONFIRM] = elapsed + answer.elapsed_ms
        if answer.status not in (200, 201):
            self.settle(answer, outcome)
            return
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        booked = parse_instant(data["start"]) if isinstance(data, dict) and "start" in data else None
        if booked is not None and booked == offered:
            outcome.told_booked, outcome.booked_start = True, outcome.offered
        else:
            # Fix #2 of 18 Oct: refuse a booking at another time (the booking is left in Cal.com).
            outcome.refused, outcome.refusal = (
                True,
                f"booked at another time: {utc(booked) if booked else '?'}",
            )


def spec_for(spec: CallerSpec, start: datetime) -> CallerSpec:
    """The same caller asking about the offered start's day."""
    return CallerSpec(spec.index, spec.arrival_s, spec.event_type_id, spec.zone, start, spec.think_s)
