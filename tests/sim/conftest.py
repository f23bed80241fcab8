"""Fixtures for simulator tests: an injectable clock and a client factory over create_sim_app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from proxy.sim.app import create_sim_app
from proxy.sim.appkeys import STATE
from proxy.sim.config import SimConfig
from proxy.sim.state import SimState

# Sunday 2030-09-01 12:00Z: the whole following work week is bookable under the 60-minute notice.
T0 = datetime(2030, 9, 1, 12, 0, tzinfo=UTC)
SLOTS_V = {"cal-api-version": "2024-09-04"}
BOOK_V = {"cal-api-version": "2024-08-13"}
ALPHA = {"Authorization": "Bearer cal_test_alpha"}
BETA = {"Authorization": "Bearer cal_test_beta"}


@dataclass
class Clock:
    """A settable wall clock and monotonic clock."""

    current: datetime = T0
    mono: float = 1000.0
    history: list[datetime] = field(default_factory=list)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.mono

    def advance(self, **kwargs: float) -> None:
        delta = timedelta(**kwargs)
        self.current += delta
        self.mono += delta.total_seconds()


@pytest.fixture
def clock() -> Clock:
    return Clock()


Factory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: Any, clock: Clock) -> Factory:
    async def factory(**overrides: Any) -> TestClient[Any, Any]:
        config = SimConfig(now=clock.now, monotonic=clock.monotonic, **overrides)
        return await aiohttp_client(create_sim_app(config))  # type: ignore[no-any-return]

    return factory


def state_of(client: TestClient[Any, Any]) -> SimState:
    return client.app[STATE]  # type: ignore[index]


def booking_body(start: str, event_type_id: int = 1001, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "start": start,
        "eventTypeId": event_type_id,
        "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/Berlin"},
    }
    body.update(extra)
    return body
