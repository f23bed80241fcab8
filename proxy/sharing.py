"""Which event types share a calendar, learned from Cal.com (issue 11, item 2).

Two event types of one person book one calendar: a caller holding 11:00 on one must hide the overlapping
11:00-11:30 of the other from everyone else. Operators could say so (`CALPROXY_RESOURCE_GROUPS`, still an
override); without it, calproxy used to hold each event type alone and promised one hour of one person to two
callers. Now an event type's resource is its owner, `usr:<ownerId>` (Cal.com's `EventTypeOutput_2024_06_14
.ownerId`), learned before the first hold on it:
- `GET /v2/event-types/{id}` with calproxy's own key, else with the caller's credentials (Cal.com shows an
  event type to its owner's key);
- shared by every process through a Redis hash (`{p}:sharing:{sharing}`, one field per event type with its
  expiry, an hour), and kept in each process's `ResourceMap` so `resource_for` needs no I/O;
- a team event type (`teamId`, several `hosts`) stays its own resource (`et:<id>`): holding per host would
  need one hold per host in one step, which is not built (README, Known limits);
- when Cal.com cannot tell (down, 404, no key), the event type stays `et:<id>` and is asked again after a
  minute; the miss is logged and counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from holds.errors import STORE_ERRORS
from proxy.catalog import EVENT_TYPES_VERSION, OwnCatalog
from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.identity import ResourceMap
from proxy.keys import ProxyKeys
from proxy.localcache import TtlMemo
from proxy.logs import get_logger
from proxy.upstream import VERSION_HEADER, CalcomClient
from proxy.upstream_budget import upstream_priority

log = get_logger(__name__)

LEARNED_TTL_S = 3600.0
RETRY_S = 60.0
MAX_CHECKED = 4096


def calendar_of(event_type: Mapping[str, Any]) -> str | None:
    """The resource an event type's holds belong to, from Cal.com's event type output; None for a team
    event type or an answer without an owner."""
    if event_type.get("teamId") is not None:
        return None
    owner = event_type.get("ownerId")
    return f"usr:{owner}" if isinstance(owner, int) and not isinstance(owner, bool) else None


def fresh_entry(raw: bytes | str, now_ms: float) -> tuple[str, int] | None:
    """A shared entry `<resource>|<expires ms>` as (resource, expiry), or None when stale or malformed."""
    resource, _, expires = (raw.decode() if isinstance(raw, bytes) else raw).partition("|")
    if not expires.isdigit() or int(expires) <= now_ms:
        return None
    return resource, int(expires)


@dataclass
class Sharing:
    """Learns and shares event type -> calendar; fills `resources.learned`."""

    upstream: CalcomClient
    redis: Redis
    keys: ProxyKeys
    resources: ResourceMap
    catalog: OwnCatalog
    clock: Callable[[], float] = time.time
    ttl_s: float = LEARNED_TTL_S
    # Event types not to ask about again before their entry expires (learned, or asked a minute ago).
    _checked: TtlMemo[int, bool] = field(init=False)

    def __post_init__(self) -> None:
        # Callers choose the ids they ask about (unknown ones included): bounded; forgetting one only means
        # asking Cal.com again.
        self._checked = TtlMemo(RETRY_S, max_entries=MAX_CHECKED, clock=self.clock)

    async def learn(self, event_type_id: int, credentials: Mapping[str, str]) -> str:
        """The event type's resource, learned first when not known (or known too long ago)."""
        if event_type_id in self.resources.groups:
            return self.resources.resource_for(event_type_id)
        now = self.clock()
        if self._checked.get(event_type_id):
            return self.resources.resource_for(event_type_id)
        learned = await self._shared(event_type_id, now) or await self._ask(event_type_id, credentials, now)
        if learned is not None:
            self.resources.learned[event_type_id] = learned
        return self.resources.resource_for(event_type_id)

    async def calendars(self) -> set[str]:
        """Every resource learned and still fresh, by this process or any other (for operators' checks)."""
        now_ms = self.clock() * 1000
        found = set(self.resources.learned.values())
        try:
            shared = await self.redis.hgetall(self.keys.sharing())
        except STORE_ERRORS:
            return found
        for raw in shared.values():
            entry = fresh_entry(raw, now_ms)
            if entry is not None:
                found.add(entry[0])
        return found

    async def _shared(self, event_type_id: int, now: float) -> str | None:
        """What another process learned, while it is fresh."""
        try:
            raw = await self.redis.hget(self.keys.sharing(), str(event_type_id))
        except STORE_ERRORS:
            return None
        entry = None if raw is None else fresh_entry(raw, now * 1000)
        if entry is None:
            return None
        resource, expires_ms = entry
        self._checked.put(event_type_id, True, min(self.ttl_s, expires_ms / 1000 - now))
        return resource

    async def _ask(self, event_type_id: int, credentials: Mapping[str, str], now: float) -> str | None:
        for creds in (None, credentials):
            event_type = await self._event_type(event_type_id, creds)
            if event_type is None:
                continue
            learned = calendar_of(event_type) or f"et:{event_type_id}"
            self._checked.put(event_type_id, True, self.ttl_s)
            expires = int((now + self.ttl_s) * 1000)
            try:
                await self.redis.hset(self.keys.sharing(), str(event_type_id), f"{learned}|{expires}")
            except STORE_ERRORS as exc:  # this process knows it; the others will ask Cal.com themselves
                log.warning("sharing_not_stored", error=type(exc).__name__)
            log.info("calendar_learned", event_type=event_type_id, resource=learned)
            return learned
        self._checked.put(event_type_id, True)  # asked again after RETRY_S
        log.warning("calendar_not_learned", event_type=event_type_id)
        return None

    async def _event_type(
        self, event_type_id: int, credentials: Mapping[str, str] | None
    ) -> dict[str, Any] | None:
        """calproxy's own key's view (the shared catalogue), else the caller's credentials'."""
        with upstream_priority("slots"):  # on a caller's request path: not background
            if credentials is None:
                return await self.catalog.event_type(event_type_id)
            if not credentials:
                return None
            headers = {VERSION_HEADER: EVENT_TYPES_VERSION, **credentials}
            try:
                response = await self.upstream.request(
                    "GET", f"/v2/event-types/{int(event_type_id)}", headers=headers,
                    endpoint="/v2/event-types/{id}",
                )  # fmt: skip
            except (UpstreamTimeout, UpstreamUnavailable):
                return None
        payload = response.json() if response.status == 200 else None
        data = payload.get("data") if isinstance(payload, dict) else None
        return data if isinstance(data, dict) else None
