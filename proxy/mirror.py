"""Holds mirrored into Cal.com as slot reservations (issue 11, item 3; off unless CALPROXY_MIRROR_HOLDS=1).

A hold lives in calproxy's Redis, so Cal.com's own booking page keeps offering the slot a caller is holding.
A Cal.com reservation (`POST /v2/slots/reservations`) hides a slot from the booking page and from
`GET /v2/slots` for everyone (slots.service.ts passes no booker uid: every unexpired reservation of the
event's hosts is busy time) but is not enforced at booking. So every hold is also a reservation for the hold's
interval and time; it is replaced when the hold is refreshed past it, deleted when the hold is released,
booked or has expired, and it expires by itself in Cal.com (rounded up to whole minutes) if calproxy dies.

Never in the way:
- mirroring runs in background tasks after the answer; a failure is logged and counted, never raised;
- it draws from the shared upstream budget at the "mirror" priority (after commits and slot fetches, before
  background work) and never waits: a mirror the budget cannot take at once is skipped, the hold stays
  Redis-only ("degraded" in `calproxy_hold_mirrors_total` and the activity counters);
- calproxy's own snapshots add the starts of its own live reservations back (`reserved_starts`): Cal.com
  hides them from calproxy too, and a hold must not make its own slot disappear. Other event types' slots
  that overlap a mirrored reservation come back when the snapshot is next fetched (the day is dropped when a
  mirror is removed).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from holds import Hold, HoldStore
from holds.errors import STORE_ERRORS
from proxy.activity import Activity
from proxy.calcom.timefmt import format_ms
from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.identity import ResourceMap
from proxy.keys import ProxyKeys
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.periodic import stop_task
from proxy.slotmath import DAY_MS
from proxy.upstream import SLOTS_VERSION, VERSION_HEADER, CalcomClient, UpstreamResponse
from proxy.upstream_budget import is_budget_refusal

log = get_logger(__name__)

RESERVATIONS = "/v2/slots/reservations"
RESERVATION = "/v2/slots/reservations/{uid}"
# A refreshed hold is re-mirrored only when its reservation would end this much before the hold.
REFRESH_SLACK_MS = 15_000


@dataclass(frozen=True)
class Mirrored:
    """One hold's reservation in Cal.com."""

    reservation_uid: str
    event_type_id: int
    start_ms: int
    end_ms: int
    expires_ms: int  # the reservation's expiry in Cal.com (whole minutes after it was made)
    hold_expires_ms: int = 0  # the hold's (Redis's clock): only while it lives does the reservation hide it

    def encode(self) -> str:
        return json.dumps(
            {"r": self.reservation_uid, "et": self.event_type_id, "s": self.start_ms, "e": self.end_ms,
             "x": self.expires_ms, "h": self.hold_expires_ms}, separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def decode(cls, raw: bytes | str) -> Mirrored:
        d = json.loads(raw)
        return cls(str(d["r"]), int(d["et"]), int(d["s"]), int(d["e"]), int(d["x"]), int(d.get("h", 0)))


@dataclass
class HoldMirror:
    """Mirrors holds into Cal.com in the background; `enabled` False makes every call a no-op."""

    upstream: CalcomClient
    redis: Redis
    keys: ProxyKeys
    holds: HoldStore
    resources: ResourceMap
    metrics: Metrics
    activity: Activity
    enabled: bool
    clock: Callable[[], float] = time.time
    # Called with (event type, UTC days) when a mirror is removed: the cached day may lack overlapping slots.
    on_removed: Callable[[int, set[int]], Coroutine[Any, Any, None]] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    # One per mirrored hold, sleeping until it expires: not waited for by `drain`, cancelled by `aclose`.
    _watchers: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _single_length: set[int] = field(default_factory=set, init=False)

    def placed(self, hold: Hold, event_type_id: int) -> None:
        """A hold was taken or refreshed for this event type: mirror it (background)."""
        if self.enabled:
            self._spawn(self._place(hold, event_type_id))

    def gone(self, resource: str, hold_uid: str) -> None:
        """A hold was released or booked: delete its reservation (background)."""
        if self.enabled:
            self._spawn(self._remove(resource, hold_uid))

    async def drain(self) -> None:
        """Wait for the mirrors and removals under way (tests; shutdown via `aclose`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Finish the work under way and stop the expiry watchers (their reservations expire in Cal.com)."""
        await self.drain()
        for watcher in list(self._watchers):
            await stop_task(watcher)

    async def reserved_starts(
        self, event_type_id: int, days: Iterable[int]
    ) -> dict[int, list[tuple[int, int]]]:
        """Our reservations of this event type whose holds still live, by UTC day: (start, end) of each.

        Only a live hold's: after it, the reservation may linger in Cal.com a little, and a booking made
        meanwhile (a raw API client ignores reservations) must not be taken for our own hidden slot."""
        if not self.enabled:
            return {}
        wanted = set(days)
        now_ms = int(self.clock() * 1000)
        found: dict[int, list[tuple[int, int]]] = {}
        try:
            raw = await self.redis.hvals(self.keys.mirror(self.resources.resource_for(event_type_id)))
        except STORE_ERRORS:
            return {}
        for value in raw:
            m = Mirrored.decode(value)
            live = min(m.expires_ms, m.hold_expires_ms) > now_ms
            if m.event_type_id == event_type_id and live and m.start_ms // DAY_MS in wanted:
                found.setdefault(m.start_ms // DAY_MS, []).append((m.start_ms, m.end_ms))
        return found

    def _spawn(self, work: Coroutine[Any, Any, None], *, watcher: bool = False) -> None:
        tasks = self._watchers if watcher else self._tasks
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _place(self, hold: Hold, event_type_id: int) -> None:
        try:
            key = self.keys.mirror(hold.resource)
            raw = await self.redis.hget(key, hold.uid)
            current = Mirrored.decode(raw) if raw is not None else None
            if current is not None and current.expires_ms >= hold.expires_at_ms - REFRESH_SLACK_MS:
                return  # still covers the hold
            if current is not None:
                await self._delete(current, hold.resource, hold.uid)
            made = await self._reserve(hold, event_type_id)
            if made is None and await self._clear_lingering(hold):
                made = await self._reserve(hold, event_type_id)  # once more, the stale ones gone
            if made is None:
                return
            await self.redis.hset(key, hold.uid, made.encode())
            await self.redis.pexpire(key, max(1, made.expires_ms - int(self.clock() * 1000)) + 60_000)
            self._count("mirrored")
            self._spawn(self._end_with(hold, made), watcher=True)
        except (*STORE_ERRORS, OSError) as exc:
            self._count("failed")
            log.warning("hold_mirror_failed", error=type(exc).__name__)

    async def _reserve(self, hold: Hold, event_type_id: int) -> Mirrored | None:
        # The reservation lasts as long as the hold's TTL (whole minutes: Cal.com's unit).
        ttl_ms = max(1, hold.expires_at_ms - hold.created_ms)
        minutes = max(1, math.ceil(ttl_ms / 60_000))
        body: dict[str, Any] = {
            "eventTypeId": event_type_id,
            "slotStart": format_ms(hold.start_ms),
            "reservationDuration": minutes,
        }
        # Cal.com takes slotDuration only for variable-length event types ("You passed 'slotDuration' but
        # this event type is not a variable length event type."): sent until an event type refuses it.
        if event_type_id not in self._single_length:
            body["slotDuration"] = (hold.end_ms - hold.start_ms) // 60_000
        try:
            response = await self._post(body)
            if response.status == 400 and "not a variable length" in response.error_message():
                self._single_length.add(event_type_id)
                body.pop("slotDuration")
                response = await self._post(body)
        except (UpstreamTimeout, UpstreamUnavailable):
            self._count("failed")
            return None
        if is_budget_refusal(response):
            self._count("degraded")
            return None
        data = (response.json() or {}).get("data") if response.status in (200, 201) else None
        uid = data.get("reservationUid") if isinstance(data, dict) else None
        if not isinstance(uid, str):
            self._count("failed")
            log.warning("hold_mirror_refused", status=response.status, message=response.error_message())
            return None
        expires = int(self.clock() * 1000) + minutes * 60_000
        return Mirrored(uid, event_type_id, hold.start_ms, hold.end_ms, expires, hold.expires_at_ms)

    async def _clear_lingering(self, hold: Hold) -> bool:
        """Delete our own reservations over this hold's interval whose holds are over (released, booked or
        expired, their deletion not yet done): Cal.com refuses a reservation over them (422). True if any."""
        key = self.keys.mirror(hold.resource)
        cleared = False
        for uid, raw in (await self.redis.hgetall(key)).items():
            other = uid.decode() if isinstance(uid, bytes) else str(uid)
            m = Mirrored.decode(raw)
            overlaps = m.start_ms < hold.end_ms and hold.start_ms < m.end_ms
            if other != hold.uid and overlaps and await self.holds.get(hold.resource, other) is None:
                await self._delete(m, hold.resource, other)
                cleared = True
        return cleared

    async def _end_with(self, hold: Hold, made: Mirrored) -> None:
        """Delete the reservation as soon as the hold has expired unused: Cal.com keeps it up to a minute
        longer (whole minutes), and meanwhile it would hide the slot and refuse the next holder's mirror."""
        await asyncio.sleep(max(0.0, hold.expires_at_ms - hold.created_ms) / 1000 + 0.05)
        try:
            raw = await self.redis.hget(self.keys.mirror(hold.resource), hold.uid)
            if raw is None or Mirrored.decode(raw).reservation_uid != made.reservation_uid:
                return  # removed or replaced meanwhile
            if await self.holds.get(hold.resource, hold.uid) is None:
                await self._remove(hold.resource, hold.uid)
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("hold_mirror_expiry_failed", error=type(exc).__name__)

    async def _remove(self, resource: str, hold_uid: str) -> None:
        try:
            key = self.keys.mirror(resource)
            raw = await self.redis.hget(key, hold_uid)
            if raw is None:
                return
            mirrored = Mirrored.decode(raw)
            await self._delete(mirrored, resource, hold_uid)
            if self.on_removed is not None:
                await self.on_removed(mirrored.event_type_id, {mirrored.start_ms // DAY_MS})
        except (*STORE_ERRORS, OSError) as exc:
            self._count("failed")
            log.warning("hold_mirror_remove_failed", error=type(exc).__name__)

    async def _delete(self, mirrored: Mirrored, resource: str, hold_uid: str) -> None:
        await self.redis.hdel(self.keys.mirror(resource), hold_uid)
        path = f"{RESERVATIONS}/{mirrored.reservation_uid}"
        try:
            await self.upstream.request(
                "DELETE", path, headers=self._headers(), endpoint=RESERVATION, priority="mirror"
            )
            self._count("removed")
        except (UpstreamTimeout, UpstreamUnavailable):
            self._count("failed")  # it expires in Cal.com by itself

    async def _post(self, body: dict[str, Any]) -> UpstreamResponse:
        return await self.upstream.request(
            "POST", RESERVATIONS, headers=self._headers(), json_body=body, endpoint=RESERVATIONS,
            priority="mirror",
        )  # fmt: skip

    def _headers(self) -> dict[str, str]:
        return {VERSION_HEADER: SLOTS_VERSION, **self.upstream.own_credentials}

    def _count(self, result: str) -> None:
        self.metrics.hold_mirrors.labels(result=result).inc()
        self.activity.add(f"mirror:{result}")
