"""Which event types calproxy's own key can see the bookings of.

Cal.com lists only the bookings of the key's own user (`GET /v2/bookings` is scoped to the authenticated
user), so listing an event type of another user answers 200 with no bookings: read as "every confirmed booking
is missing", or "this ghost does not exist", it would be false. Reconciliation therefore lists only event
types the key reaches: owned by the key's user (`ownerId`) or hosted by it (a team event type's `hosts`).
The others are reported as not visible and their entries count as unknown, never missing; an operator fixes
that by giving calproxy a key of that host (README, "Operating calproxy").

Learned from Cal.com (`/v2/me`, `/v2/event-types/{id}`) with the proxy's own key through proxy.catalog. The
real Cal.com answers another user's event type with the 404 of an unknown one (golden catalogue): the key
cannot see it, so it is not visible. A look-up that fails otherwise leaves the event type undecided for this
pass (unknown again, never blind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from proxy.catalog import OwnCatalog
from proxy.logs import get_logger

log = get_logger(__name__)


def reaches(event_type: Mapping[str, Any], user_id: int) -> bool:
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
    """What the key can see, from the catalogue its own key gets (proxy.catalog, cached there)."""

    catalog: OwnCatalog

    async def of(self, event_type_ids: Iterable[int]) -> Reach:
        """Split the event types by what the key can see."""
        ids = sorted(set(event_type_ids))
        me = await self.catalog.me()
        user_id = me.get("id") if me else None
        if not isinstance(user_id, int):
            return Reach(frozenset(), frozenset(), frozenset(ids))
        visible: set[int] = set()
        blind: set[int] = set()
        undecided: set[int] = set()
        for event_type_id in ids:
            found = await self.catalog.event_type_lookup(event_type_id)
            if found.hidden:
                blind.add(event_type_id)  # Cal.com shows another user's event type to nobody but its owner
            elif found.data is None:
                undecided.add(event_type_id)
            else:
                (visible if reaches(found.data, user_id) else blind).add(event_type_id)
        if blind:
            log.warning("event_types_not_visible_to_key", event_types=sorted(blind))
        return Reach(frozenset(visible), frozenset(blind), frozenset(undecided))
