"""The calproxy flow: quote (exact check + hold), think, commit through the verified booking."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from proxy.calcom.timefmt import format_in_zone, parse_instant
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


def call_id(spec: CallerSpec, seed: int) -> str:
    """The voice platform's call id: one per caller and run."""
    return f"load-{seed}-{spec.index}"


class ProxyFlow(CallerFlow):
    """Quote, hold, think, commit."""

    name = "proxy"

    def _headers(self, spec: CallerSpec, version: str | None = None) -> dict[str, str]:
        headers = auth_headers(version or BOOKINGS_VERSION)
        headers["X-Call-Id"] = call_id(spec, self.config.seed)
        return headers

    @property
    def _base(self) -> str:
        assert self.endpoints.proxy is not None, "the proxy strategy needs calproxy's URL"
        return self.endpoints.proxy

    async def converse(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        """Quote; take the free slot or the nearest held alternative; think; commit."""
        body = {
            "eventTypeId": spec.event_type_id,
            "start": format_in_zone(spec.wanted, spec.zone),
            "timeZone": spec.zone,
            "alternatives": self.config.alternatives,
            "holdAlternatives": True,
        }
        answer = await self.client.call(
            "POST", f"{self._base}/calproxy/v1/quote", headers=self._headers(spec), body=body
        )
        outcome.timings_ms[ASK] = answer.elapsed_ms
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if answer.status != 200 or not isinstance(data, dict):
            outcome.error = error_kind(answer)
            return
        until = self._take_offer(data, outcome)
        if outcome.offered is None:
            return
        chosen = 0 if outcome.offered_kind == "alternative" else None
        alternatives = data.get("alternatives") or []
        unused = [
            a["reservationUid"] for i, a in enumerate(alternatives) if i != chosen and "reservationUid" in a
        ]
        # The agent lets go of the alternatives the caller did not pick while the caller thinks.
        await asyncio.gather(self.think(spec, outcome), self._release(spec, unused))
        outcome.hold_expired_before_yes = outcome.held and until is not None and time.time() >= until
        await self._commit(spec, outcome)

    def _take_offer(self, data: dict[str, Any], outcome: CallerOutcome) -> float | None:
        """Record the offer; the hold's expiry as a unix time (None without a hold)."""
        alternatives = data.get("alternatives") or []
        if data.get("available") and isinstance(data.get("slot"), dict):
            chosen: dict[str, Any] = data["slot"]
            until_text = data.get("reservationUntil")
            outcome.offered_kind = "wanted"
        elif alternatives:
            chosen = alternatives[0]
            until_text = chosen.get("reservationUntil")
            outcome.offered_kind = "alternative"
        else:
            return None
        outcome.offered = utc(parse_instant(chosen["start"]))
        outcome.held = isinstance(until_text, str)
        return parse_instant(until_text).timestamp() if isinstance(until_text, str) else None

    async def _release(self, spec: CallerSpec, uids: list[str]) -> None:
        for uid in uids:
            await self.client.call(
                "DELETE",
                f"{self._base}/v2/slots/reservations/{uid}",
                headers=self._headers(spec, SLOTS_VERSION),
            )

    async def _commit(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        assert outcome.offered is not None
        body = {
            "eventTypeId": spec.event_type_id,
            "start": outcome.offered,
            "attendee": {"name": spec.name, "email": spec.email, "timeZone": spec.zone},
        }
        answer = await self.client.call(
            "POST", f"{self._base}/v2/bookings", headers=self._headers(spec), body=body
        )
        outcome.timings_ms[CONFIRM] = answer.elapsed_ms
        if answer.status in (200, 201):
            outcome.told_booked, outcome.booked_start = True, outcome.offered
        elif answer.status in REFUSAL_STATUSES:
            outcome.refused, outcome.refusal = True, f"{answer.status}: {message_of(answer)}"[:160]
        else:
            outcome.error = error_kind(answer)
