"""The time zone an event type's times are shown in to operators, learned from Cal.com and cached.

Cal.com's event type output (2024-06-14) has no time zone field: its schedule has one, and so does its owner
(`/v2/me`, only when the owner is the key's own user). Whatever cannot be found is shown in UTC, labelled
"fallback", and asked again soon. Display only: no hold decision depends on a zone found here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proxy.calcom.timefmt import is_valid_zone
from proxy.catalog import OwnCatalog
from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.logs import get_logger
from proxy.upstream import CalcomClient

log = get_logger(__name__)

SCHEDULES_VERSION = "2024-06-11"
FALLBACK_ZONE = "UTC"
# A known zone rarely changes; a fallback (upstream down, no key) is retried soon.
ZONE_TTL_S = 3600.0
FALLBACK_TTL_S = 60.0


@dataclass(frozen=True)
class DisplayZone:
    """The time zone a resource's times are shown in, and where it came from."""

    name: str
    source: str  # "eventType", "schedule", "host" or "fallback"

    @property
    def is_fallback(self) -> bool:
        """True when the zone is not known and UTC stands in for it."""
        return self.source == "fallback"


FALLBACK = DisplayZone(FALLBACK_ZONE, "fallback")


def zone_named(value: object, source: str) -> DisplayZone | None:
    """A zone from a field of Cal.com's answer, when it is a valid IANA name."""
    return DisplayZone(value, source) if isinstance(value, str) and is_valid_zone(value) else None


@dataclass
class ZoneDirectory:
    """Per-process cache of event type → display zone."""

    upstream: CalcomClient
    catalog: OwnCatalog
    clock: Callable[[], float] = time.monotonic
    _cache: dict[int, tuple[float, DisplayZone]] = field(default_factory=dict, init=False)

    async def zone_of(self, event_type_id: int | None) -> DisplayZone:
        """The event type's zone; UTC (source "fallback") when it cannot be found."""
        if event_type_id is None:
            return FALLBACK
        cached = self._cache.get(event_type_id)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            found = await self._lookup(event_type_id)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            # A listing must not fail because Cal.com is down: the times are shown in UTC, labelled so.
            log.warning("zone_lookup_failed", event_type=event_type_id, error=type(exc).__name__)
            found = None
        zone = found or FALLBACK
        self._cache[event_type_id] = (self.clock() + (ZONE_TTL_S if found else FALLBACK_TTL_S), zone)
        return zone

    async def _data(self, template: str, version: str, ident: int | None = None) -> dict[str, Any] | None:
        response = await self.upstream.get_own(template, version, ident)
        body = response.json()
        data = body.get("data") if response.status == 200 and isinstance(body, dict) else None
        return data if isinstance(data, dict) else None

    async def _lookup(self, event_type_id: int) -> DisplayZone | None:
        event_type = await self.catalog.event_type(event_type_id)
        if event_type is None:
            return None
        found = zone_named(event_type.get("timeZone"), "eventType")
        schedule = event_type.get("scheduleId")
        if found is None and isinstance(schedule, int) and not isinstance(schedule, bool):
            data = await self._data("/v2/schedules/{id}", SCHEDULES_VERSION, schedule)
            found = zone_named((data or {}).get("timeZone"), "schedule")
        if found is None and event_type.get("ownerId") is not None:
            # Only the key's own user can be looked up: /v2/me. Another host's zone stays unknown.
            me = await self.catalog.me()
            if me is not None and me.get("id") == event_type.get("ownerId"):
                found = zone_named(me.get("timeZone"), "host")
        return found
