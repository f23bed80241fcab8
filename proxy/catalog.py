"""Cal.com's catalogue as calproxy's own key sees it: the key's user (`/v2/me`) and event types
(`/v2/event-types/{id}`), cached per process.

One place asks, for everything that needs them: which calendar an event type books (proxy.sharing), which
event types' bookings the key can list (proxy.reach), which zone to show operators (proxy.zones). An answer is
kept an hour; a 404 (which is how Cal.com hides another user's event type) or a failure (Cal.com down, no
key) is remembered for a minute, so a caller's request never waits on a catalogue that keeps failing. At
most MAX_ENTRIES are kept. Background priority: the catalogue never takes what commits need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.localcache import TtlMemo
from proxy.upstream import CalcomClient

EVENT_TYPES_VERSION = "2024-06-14"
KNOWN_TTL_S = 3600.0
UNKNOWN_TTL_S = 60.0

Json = dict[str, Any]


# Entries kept per process: callers choose the event type ids they ask about, so the cache is bounded.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Lookup:
    """What Cal.com told the key about one resource: its data; or that the key cannot see it (404: the real
    Cal.com hides another user's event type exactly like an unknown one, golden catalogue); or nothing.
    Only data is kept an hour: a hidden or unknown id may be created, or shared, at any time."""

    data: Json | None
    hidden: bool = False


@dataclass
class OwnCatalog:
    """Per-process cache of the catalogue answers calproxy's own key gets."""

    upstream: CalcomClient
    clock: Callable[[], float] = time.monotonic
    _cache: TtlMemo[tuple[str, int | None], Lookup] = field(init=False)

    def __post_init__(self) -> None:
        self._cache = TtlMemo(KNOWN_TTL_S, max_entries=MAX_ENTRIES, clock=self.clock)

    async def me(self) -> Json | None:
        """The key's user, or None when it cannot be told."""
        return (await self._get("/v2/me", None)).data

    async def event_type(self, event_type_id: int) -> Json | None:
        """One event type (EventTypeOutput_2024_06_14), or None when the key does not get it."""
        return (await self.event_type_lookup(event_type_id)).data

    async def event_type_lookup(self, event_type_id: int) -> Lookup:
        """One event type, telling "hidden from this key" apart from "cannot be told now"."""
        return await self._get("/v2/event-types/{id}", int(event_type_id))

    async def _get(self, template: str, ident: int | None) -> Lookup:
        cached = self._cache.get((template, ident))
        if cached is not None:
            return cached
        found = await self._ask(template, ident)
        self._cache.put((template, ident), found, None if found.data else UNKNOWN_TTL_S)
        return found

    async def _ask(self, template: str, ident: int | None) -> Lookup:
        if not self.upstream.has_own_credentials:
            return Lookup(None)
        try:
            response = await self.upstream.get_own(template, EVENT_TYPES_VERSION, ident)
        except (UpstreamTimeout, UpstreamUnavailable):
            return Lookup(None)
        if response.status == 404:
            return Lookup(None, hidden=True)
        payload = response.json() if response.status == 200 else None
        data = payload.get("data") if isinstance(payload, dict) else None
        return Lookup(data if isinstance(data, dict) else None)
