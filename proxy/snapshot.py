"""The slot snapshot cache: one upstream GET /v2/slots per event type, length and UTC day, shared in Redis.

Concurrent misses are coalesced twice: inside a process by one future per day, and across processes by a
short per-day lock key (the loser polls the cache instead of calling Cal.com).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from redis.asyncio import Redis

from proxy.calcom.slots import slots_horizon
from proxy.calcom.timefmt import format_ms, from_ms, parse_instant
from proxy.keys import ProxyKeys
from proxy.localcache import TtlMemo
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.slotmath import DAY_MS, bookable_days
from proxy.upstream import CalcomClient, UpstreamResponse

log = get_logger(__name__)

POLL_INTERVAL_S = 0.02


class UpstreamRefused(Exception):
    """Cal.com answered a slots query with an error; the caller gets that answer unchanged."""

    def __init__(self, response: UpstreamResponse) -> None:
        super().__init__(f"upstream answered {response.status}")
        self.response = response


@dataclass(frozen=True)
class DaySlots:
    """Free slot starts of one UTC day as Cal.com reported them, and when."""

    day: int
    starts: tuple[int, ...]
    length_ms: int | None
    fetched_ms: int

    def encode(self) -> str:
        """Compact JSON for Redis."""
        return json.dumps(
            {"s": self.starts, "l": self.length_ms, "f": self.fetched_ms}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, day: int, raw: bytes | str) -> DaySlots:
        """Inverse of encode."""
        data = json.loads(raw)
        return cls(day=day, starts=tuple(data["s"]), length_ms=data["l"], fetched_ms=data["f"])


@dataclass(frozen=True)
class Snapshot:
    """Several days of one event type's slots."""

    days: Mapping[int, DaySlots]
    # Until when (monotonic clock) this process may reuse these days without asking Redis: the earliest
    # expiry of their local memo entries. An answer computed from them may be reused as long.
    fresh_until: float = field(default=0.0, compare=False)

    @cached_property
    def starts(self) -> list[int]:
        """Every start, in order."""
        return sorted(s for d in self.days.values() for s in d.starts)

    @cached_property
    def start_set(self) -> frozenset[int]:
        """Every start, for membership tests."""
        return frozenset(self.starts)

    @property
    def length_ms(self) -> int | None:
        """The slot length Cal.com reported (None when no day had a slot)."""
        return next((d.length_ms for d in self.days.values() if d.length_ms), None)

    @property
    def oldest_fetch_ms(self) -> int:
        """The fetch time of the stalest day."""
        return min((d.fetched_ms for d in self.days.values()), default=0)


def day_iso(day: int) -> str:
    """Midnight UTC of a day number, Cal.com style."""
    return format_ms(day * DAY_MS)


def parse_range_slots(body: object, days: Sequence[int], fetched_ms: int) -> dict[int, DaySlots]:
    """Split a `format=range` UTC slots answer into per-day snapshots (days without slots stay empty)."""
    starts: dict[int, list[int]] = {d: [] for d in days}
    length: int | None = None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ValueError("slots answer without a data object")
    for entries in data.values():
        for entry in entries:
            start = int(parse_instant(entry["start"]).timestamp() * 1000)
            end = int(parse_instant(entry["end"]).timestamp() * 1000)
            length = end - start
            starts.setdefault(start // DAY_MS, []).append(start)
    return {
        d: DaySlots(day=d, starts=tuple(sorted(s)), length_ms=length if s else None, fetched_ms=fetched_ms)
        for d, s in starts.items()
        if d in days
    }


def open_days(days: Iterable[int], now_ms: int) -> list[int]:
    """The days Cal.com may offer slots on at `now_ms`: from today up to its one-year horizon."""
    horizon_ms = int(slots_horizon(from_ms(now_ms)).timestamp() * 1000)
    return bookable_days(days, now_ms, horizon_ms)


def closed_days(days: Iterable[int], now_ms: int) -> dict[int, DaySlots]:
    """Days outside Cal.com's window, known empty without asking it (so never fetched nor written)."""
    days = list(days)
    inside = set(open_days(days, now_ms))
    return {d: DaySlots(day=d, starts=(), length_ms=None, fetched_ms=now_ms) for d in days if d not in inside}


def contiguous_runs(days: Iterable[int]) -> list[list[int]]:
    """[3, 4, 5, 9] -> [[3, 4, 5], [9]]: each run is one upstream request."""
    runs: list[list[int]] = []
    for d in sorted(set(days)):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def with_own_reservations(
    days: dict[int, DaySlots], reserved: Mapping[int, Sequence[tuple[int, int]]]
) -> dict[int, DaySlots]:
    """Each day with the starts of calproxy's own reservations added back, when they are slots of the day's
    length (a reservation of another length is no slot of this duration)."""
    out = dict(days)
    for day, intervals in reserved.items():
        slots = out.get(day)
        if slots is None:
            continue
        length = slots.length_ms
        extra = {s for s, e in intervals if length is None or e - s == length}
        if not extra:
            continue
        if length is None:
            length = next(e - s for s, e in intervals if s in extra)
            extra = {s for s, e in intervals if e - s == length}
        starts = tuple(sorted(set(slots.starts) | extra))
        out[day] = replace(slots, starts=starts, length_ms=length)
    return out


@dataclass
class SnapshotCache:
    """Reads days from Redis, fetches missing or stale ones from Cal.com once, writes them back."""

    redis: Redis
    keys: ProxyKeys
    upstream: CalcomClient
    ttl_ms: int
    lock_ms: int
    clock: Callable[[], float]
    # Seconds a process reuses a day without asking Redis; booked markers cover the staleness it allows.
    local_ttl_s: float = 1.0
    # How long Cal.com's answer to one tenant for one event type lets it read the shared cache.
    seen_ttl_ms: int = 600_000
    upstream_fetches: int = 0
    metrics: Metrics | None = None
    # calproxy's own Cal.com reservations (proxy.mirror) by UTC day: Cal.com hides their slots from everyone,
    # calproxy included, so their starts are added back to what it fetched.
    own_reservations: Callable[[int, list[int]], Awaitable[dict[int, list[tuple[int, int]]]]] | None = None
    _inflight: dict[tuple[int, int, int], asyncio.Future[DaySlots]] = field(default_factory=dict)
    # The days as this process last read or fetched them, for the snapshot's whole life: reused without
    # asking Redis for `local_ttl_s`, and for a quote's first try for as long as they live (`kept_day`).
    _days: TtlMemo[tuple[int, int, int], DaySlots] = field(init=False)

    def __post_init__(self) -> None:
        self._days = TtlMemo(self.ttl_ms / 1000)
        # Cal.com answered this tenant for the event type: trusted for `local_ttl_s` before asking Redis
        # again, and for a quote's first try for half the marker's life.
        self._seen: TtlMemo[tuple[int, str], bool] = TtlMemo(self.seen_ttl_ms / 2000)
        self._generations: dict[int, int] = {}
        self._probing: dict[tuple[int, str], asyncio.Future[None]] = {}

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def kept_day(
        self, event_type_id: int, duration: int | None, day: int, tenant: str | None
    ) -> DaySlots | None:
        """The day as this process last saw it, if younger than the snapshot TTL and the tenant was seen.

        No I/O: a quote tries its hold with it first. A day this old is what Redis would serve anyway; a slot
        it offers that Cal.com has since booked costs a refused commit (with alternatives), never a false
        confirmation, and calproxy's own bookings are refused by their markers at the hold.
        """
        if tenant is not None and not self._seen.get((event_type_id, tenant)):
            return None
        slots = self._days.get((event_type_id, duration or 0, day))
        if slots is None or self._now_ms() - slots.fetched_ms > self.ttl_ms:
            return None
        return slots

    def generation(self, event_type_id: int) -> int:
        """Bumped whenever this process takes in, drops or forgets a day of the event type: an answer built
        on an older generation may rest on days that are gone."""
        return self._generations.get(event_type_id, 0)

    def _bump(self, event_type_id: int) -> None:
        self._generations[event_type_id] = self._generations.get(event_type_id, 0) + 1

    def _remember(self, key: tuple[int, int, int], slots: DaySlots) -> None:
        self._days.put(key, slots)
        self._bump(key[0])

    def _note_seen(self, key: tuple[int, str]) -> None:
        self._seen.put(key, True)

    async def get(
        self,
        event_type_id: int,
        duration: int | None,
        days: Sequence[int],
        credentials: Mapping[str, str],
        *,
        max_age_ms: int | None = None,
        tenant: str | None = None,
    ) -> Snapshot:
        """The snapshot of these days, fetching what is missing or older than max_age_ms.

        With a `tenant`, cached days are served only once Cal.com has answered that tenant's credentials
        for this event type (recently): the shared cache never shows a tenant what Cal.com would refuse it.
        """
        dur = duration or 0
        now = self._now_ms()
        # Past days and days beyond Cal.com's horizon cost nothing, whatever range the caller named: they are
        # known empty, so neither fetched nor written (nor proof that Cal.com answered this tenant).
        closed = closed_days(days, now)
        days = [d for d in days if d not in closed]
        if tenant is not None and days and not self._seen.get((event_type_id, tenant), self.local_ttl_s):
            probed = await self._ensure_seen(event_type_id, dur, list(days), credentials, tenant)
            if probed is not None:
                self._count(miss=len(days))
                return Snapshot(days={**closed, **probed})

        def usable(slots: DaySlots | None) -> bool:
            return slots is not None and (max_age_ms is None or now - slots.fetched_ms <= max_age_ms)

        found: dict[int, DaySlots] = dict(closed)
        for day in days:
            local = self._days.get((event_type_id, dur, day), self.local_ttl_s)
            if local is not None and usable(local):
                found[day] = local
        unread = [d for d in days if d not in found]
        if unread:
            cached = await self.redis.mget([self.keys.snapshot(event_type_id, dur, str(d)) for d in unread])
            for day, raw in zip(unread, cached, strict=True):
                slots = DaySlots.decode(day, raw) if raw is not None else None
                if slots is not None and usable(slots):
                    found[day] = slots
                    self._remember((event_type_id, dur, day), slots)
        missing = [d for d in days if d not in found]
        self._count(local=len(days) - len(unread), redis=len(unread) - len(missing), miss=len(missing))
        if missing:
            found.update(
                await self._fill(event_type_id, dur, missing, credentials, fresh=max_age_ms is not None)
            )
        stored = (self._days.stored_at((event_type_id, dur, d)) for d in days)
        fresh_until = min(((t or 0.0) + self.local_ttl_s for t in stored), default=math.inf)
        return Snapshot(days=found, fresh_until=fresh_until)

    async def _ensure_seen(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str], tenant: str
    ) -> dict[int, DaySlots] | None:
        """Make sure Cal.com answered this tenant for this event type; the days if this call asked it.

        One probe per tenant and event type at a time: in a process by a future, across processes by a
        lock key (a loser waits for the winner's marker). Other tenants' fetches never count: each tenant's
        first request goes upstream with its own credentials, and Cal.com's refusal reaches it unchanged.
        """
        key = (event_type_id, tenant)
        running = self._probing.get(key)
        if running is not None:
            await asyncio.shield(running)
            return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probing[key] = future
        try:
            probed = await self._probe(event_type_id, dur, days, credentials, tenant)
            future.set_result(None)
            return probed
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            self._probing.pop(key, None)

    async def _probe(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str], tenant: str
    ) -> dict[int, DaySlots] | None:
        seen_key = self.keys.slots_seen(event_type_id, tenant)
        lock_key = self.keys.slots_seen_lock(event_type_id, tenant)
        if await self.redis.exists(seen_key):
            self._note_seen((event_type_id, tenant))
            return None
        won = await self.redis.set(lock_key, "1", nx=True, px=self.lock_ms)
        if not won:
            deadline = self._now_ms() + self.lock_ms
            while self._now_ms() < deadline:
                await asyncio.sleep(POLL_INTERVAL_S)
                if await self.redis.exists(seen_key):
                    self._note_seen((event_type_id, tenant))
                    return None
                if not await self.redis.exists(lock_key):
                    break  # the other probe failed: ask Cal.com ourselves, and hear its answer
        try:
            fetched = await self._fill(event_type_id, dur, days, credentials, fresh=True)
            await self.redis.set(seen_key, "1", px=self.seen_ttl_ms)
            self._note_seen((event_type_id, tenant))
            return fetched
        finally:
            if won:
                await self.redis.delete(lock_key)

    def _count(self, **by_result: int) -> None:
        if self.metrics is None:
            return
        for result, n in by_result.items():
            if n:
                self.metrics.count_snapshot(result, n)

    async def _fill(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str], *, fresh: bool
    ) -> dict[int, DaySlots]:
        result: dict[int, DaySlots] = {}
        waiting: dict[int, asyncio.Future[DaySlots]] = {}
        mine: list[int] = []
        for d in days:
            fut = self._inflight.get((event_type_id, dur, d))
            if fut is not None and not fresh:
                waiting[d] = fut
            else:
                mine.append(d)
        loop = asyncio.get_running_loop()
        futures = {d: loop.create_future() for d in mine}
        for d, fut in futures.items():
            self._inflight[(event_type_id, dur, d)] = fut
        try:
            fetched = (
                await self._fetch_locked(event_type_id, dur, mine, credentials, fresh=fresh) if mine else {}
            )
            for d, fut in futures.items():
                fut.set_result(fetched[d])
            result.update(fetched)
        except BaseException as exc:
            for fut in futures.values():
                if not fut.done():
                    fut.set_exception(exc)
                    fut.exception()  # Mark retrieved: waiters re-raise it themselves.
            raise
        finally:
            for d, fut in futures.items():
                if self._inflight.get((event_type_id, dur, d)) is fut:
                    del self._inflight[(event_type_id, dur, d)]
        for d, fut in waiting.items():
            result[d] = await fut
        return result

    async def _fetch_locked(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str], *, fresh: bool
    ) -> dict[int, DaySlots]:
        """Fetch the days whose lock we won; wait for the cache on days another process is fetching."""
        lock_keys = [self.keys.snapshot_lock(event_type_id, dur, str(d)) for d in days]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in lock_keys:
                pipe.set(key, "1", nx=True, px=self.lock_ms)
            won = await pipe.execute()
        locked = [d for d, ok in zip(days, won, strict=True) if ok]
        # A fresh read (commit path) never waits for someone else's fetch, which may predate a booking.
        ours = days if fresh else locked
        theirs = [d for d in days if d not in ours]
        result: dict[int, DaySlots] = {}
        try:
            if ours:
                result.update(await self._fetch(event_type_id, dur, ours, credentials))
        finally:
            if locked:  # Only the locks we took: another process's lock is its own to release.
                await self.redis.delete(
                    *(self.keys.snapshot_lock(event_type_id, dur, str(d)) for d in locked)
                )
        if theirs:
            result.update(await self._await_others(event_type_id, dur, theirs, credentials))
        return result

    async def _await_others(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str]
    ) -> dict[int, DaySlots]:
        deadline = self._now_ms() + self.lock_ms
        keys = [self.keys.snapshot(event_type_id, dur, str(d)) for d in days]
        locks = [self.keys.snapshot_lock(event_type_id, dur, str(d)) for d in days]
        while self._now_ms() < deadline:
            raws = await self.redis.mget([*keys, *locks])
            cached, locked = raws[: len(days)], raws[len(days) :]
            present = [r for r in cached if r is not None]
            if len(present) == len(days):
                return {d: DaySlots.decode(d, r) for d, r in zip(days, present, strict=True)}
            # A day whose fetch is over (lock released) but not cached was dropped meanwhile (a booking, a
            # cancel, a mirrored reservation removed): waiting for it would last until the lock's expiry.
            if any(r is None and lock is None for r, lock in zip(cached, locked, strict=True)):
                break
            await asyncio.sleep(POLL_INTERVAL_S)
        # The other process died, is slow, or its day was dropped: fetch ourselves, never fail the caller.
        return await self._fetch(event_type_id, dur, days, credentials)

    async def fetch_uncached(
        self,
        event_type_id: int,
        duration: int | None,
        days: Sequence[int],
        credentials: Mapping[str, str],
        reschedule_uid: str,
    ) -> Snapshot:
        """Days as Cal.com sees them when rescheduling one booking (its own slot is free); not cached."""
        closed = closed_days(days, self._now_ms())
        wanted = [d for d in days if d not in closed]
        fetched = (
            await self._from_upstream(event_type_id, duration or 0, wanted, credentials, reschedule_uid)
            if wanted
            else {}
        )
        return Snapshot(days={**closed, **fetched})

    async def _from_upstream(
        self,
        event_type_id: int,
        dur: int,
        days: list[int],
        credentials: Mapping[str, str],
        reschedule_uid: str | None = None,
    ) -> dict[int, DaySlots]:
        result: dict[int, DaySlots] = {}
        for run in contiguous_runs(days):
            start = day_iso(run[0])
            # One day further: Cal.com drops slots that end after `end`, so a slot starting on the run's
            # last day and ending after midnight needs the next day in the window (its starts are dropped
            # again when parsed: only the run's days are kept).
            end = format_ms((run[-1] + 2) * DAY_MS - 1)
            self.upstream_fetches += 1
            response = await self.upstream.get_slots(
                event_type_id, start, end, dur or None, credentials, reschedule_uid=reschedule_uid
            )
            if response.status != 200:
                raise UpstreamRefused(response)
            result.update(parse_range_slots(response.json(), run, self._now_ms()))
        if self.own_reservations is not None:
            result = with_own_reservations(result, await self.own_reservations(event_type_id, days))
        return result

    async def _fetch(
        self, event_type_id: int, dur: int, days: list[int], credentials: Mapping[str, str]
    ) -> dict[int, DaySlots]:
        result = await self._from_upstream(event_type_id, dur, days, credentials)
        async with self.redis.pipeline(transaction=False) as pipe:
            for d, slots in result.items():
                pipe.set(self.keys.snapshot(event_type_id, dur, str(d)), slots.encode(), px=self.ttl_ms)
                self._remember((event_type_id, dur, d), slots)
            await pipe.execute()
        log.info("snapshot_fetched", event_type=event_type_id, days=len(result))
        return result

    def forget_local(self) -> None:
        """Drop this process's snapshot memo: after Redis lost its data, the booked markers that hid slots
        in those days are gone too, so a remembered day could offer a booked slot."""
        self._days.clear()
        self._generations = {et: n + 1 for et, n in self._generations.items()}

    async def invalidate(self, event_type_id: int, duration: int | None, days: Iterable[int]) -> None:
        """Drop cached days (after a booking, cancel or reschedule changed them)."""
        dur = duration or 0
        self._bump(event_type_id)
        for d in set(days):
            self._days.drop((event_type_id, dur, d))
        keys = [self.keys.snapshot(event_type_id, dur, str(d)) for d in set(days)]
        if keys:
            await self.redis.delete(*keys)
