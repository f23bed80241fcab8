"""What every caller flow shares: endpoints, the HTTP client, thinking, and status classification."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from proxy.calcom.timefmt import format_utc
from proxy.loadtest.client import Answer, CallFailed, LoadClient
from proxy.loadtest.config import API_KEY, LoadConfig
from proxy.loadtest.population import CallerSpec
from proxy.loadtest.records import CallerOutcome

BOOKINGS_VERSION = "2024-08-13"
SLOTS_VERSION = "2024-09-04"
# Cal.com's answers that mean "this slot cannot be booked" rather than "something broke".
REFUSAL_STATUSES = frozenset({400, 409, 422})


@dataclass(frozen=True)
class Endpoints:
    """Where the simulator and (for the proxy strategy) calproxy listen."""

    sim: str
    proxy: str | None = None


def utc(dt: datetime) -> str:
    """The UTC form ground truth uses, so beliefs and truth compare as strings."""
    return format_utc(dt)


def auth_headers(version: str) -> dict[str, str]:
    """The API key and version header every Cal.com client sends."""
    return {"Authorization": f"Bearer {API_KEY}", "cal-api-version": version}


def error_kind(answer: Answer) -> str:
    """A short label for an answer that reached the caller as a hard error."""
    return "429" if answer.status == 429 else f"http_{answer.status}"


def message_of(answer: Answer) -> str:
    """Cal.com's error message from either error shape."""
    body = answer.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""


class CallerFlow(ABC):
    """One strategy's conversation: ask, hear an offer, think, say yes, book."""

    name = "abstract"

    def __init__(self, client: LoadClient, endpoints: Endpoints, config: LoadConfig) -> None:
        self.client = client
        self.endpoints = endpoints
        self.config = config

    async def think(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        """The caller's pause between hearing the offer and saying yes (scaled)."""
        outcome.asked_at = time.time()
        await asyncio.sleep(self.config.real(spec.think_s))

    async def run(self, spec: CallerSpec) -> CallerOutcome:
        """The whole call; transport failures become hard errors, never exceptions."""
        outcome = CallerOutcome(index=spec.index, event_type_id=spec.event_type_id, wanted=utc(spec.wanted))
        try:
            await self.converse(spec, outcome)
        except CallFailed as failure:
            outcome.error = failure.kind
        if outcome.offered is not None and outcome.answered_at is None and outcome.error is None:
            outcome.answered_at = time.time()
        return outcome

    @abstractmethod
    async def converse(self, spec: CallerSpec, outcome: CallerOutcome) -> None:
        """Fill `outcome` with what the caller was told."""
