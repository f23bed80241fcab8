"""Which event types calproxy's own key can see the bookings of.

Cal.com lists only the bookings of the key's own user (`GET /v2/bookings` is scoped to the authenticated
user), so listing an event type of another user answers 200 with no bookings: read as "every confirmed booking
is missing", or "this ghost does not exist", it would be false. Reconciliation therefore lists only event
types the key reaches: owned by the key's user (`ownerId`) or hosted by it (a team event type's `hosts`).
The others are reported as not visible and their entries count as unknown, never missing; an operator fixes
that by giving calproxy a key of that host (README, "Operating calproxy").

Learned from Cal.com (`/v2/me`, `/v2/event-types/{id}`) with the proxy's own key, cached per process for an
hour; a look-up that fails leaves the event type undecided for this pass (unknown again, never blind).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.logs import get_logger
from proxy.upstream import CalcomClient
from proxy.zones import EVENT_TYPES_VERSION

log = get_logger(__name__)

REACH_TTL_S = 3600.0


def reaches(event_type: dict[str, Any], user_id: int) -> bool:
    """Whether the key's user owns or hosts this event type (Cal.com's EventTypeOutput_2024_06_14)."""
    if event_type.get("ownerId") == user_id:
        return True
    hosts = event_type.get("hosts")
    return isinstance(hosts, list) and any(isinstance(h, dict) and h.get("userId") == user_id for h in hosts)


@dataclass(frozen=True)
class Reach:
    """One pass's answer: event types to list, those the key cannot see, those not decided."""

    visible: frozenset[int]
    blind: frozenset[int]
    undecided: frozenset[int]


@dataclass
class KeyReach:
    """Per-process cache of the key's user and each event type's reach."""

    upstream: CalcomClient
    clock: Callable[[], float] = time.monotonic
    _me: tuple[float, int] | None = field(default=None, init=False)
    _cache: dict[int, tuple[float, bool]] = field(default_factory=dict, init=False)

    async def of(self, event_type_ids: Iterable[int]) -> Reach:
        """Split the event types by what the key can see."""
        ids = sorted(set(event_type_ids))
        me = await self._user()
        if me is None:
            return Reach(frozenset(), frozenset(), frozenset(ids))
        visible: set[int] = set()
        blind: set[int] = set()
        undecided: set[int] = set()
        for event_type_id in ids:
            seen = await self._reaches(event_type_id, me)
            (undecided if seen is None else visible if seen else blind).add(event_type_id)
        if blind:
            log.warning("event_types_not_visible_to_key", event_types=sorted(blind))
        return Reach(frozenset(visible), frozenset(blind), frozenset(undecided))

    async def _user(self) -> int | None:
        now = self.clock()
        if self._me is not None and now - self._me[0] < REACH_TTL_S:
            return self._me[1]
        data = await self._get("/v2/me", None)
        user_id = data.get("id") if data else None
        if not isinstance(user_id, int):
            return None
        self._me = (now, user_id)
        return user_id

    async def _reaches(self, event_type_id: int, me: int) -> bool | None:
        now = self.clock()
        cached = self._cache.get(event_type_id)
        if cached is not None and now - cached[0] < REACH_TTL_S:
            return cached[1]
        data = await self._get("/v2/event-types/{id}", event_type_id)
        if data is None:
            return None
        seen = reaches(data, me)
        self._cache[event_type_id] = (now, seen)
        return seen

    async def _get(self, template: str, ident: int | None) -> dict[str, Any] | None:
        if not self.upstream.has_own_credentials:
            return None
        try:
            response = await self.upstream.get_own(template, EVENT_TYPES_VERSION, ident)
        except (UpstreamTimeout, UpstreamUnavailable):
            return None
        payload = response.json() if response.status == 200 else None
        data = payload.get("data") if isinstance(payload, dict) else None
        return data if isinstance(data, dict) else None
