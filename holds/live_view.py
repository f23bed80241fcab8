"""LiveHolds: this process's copy of the holds of the resources it serves, kept current by their events.

Why: a cached slot answer used to read the resource's holds from Redis, one round trip per answer. Every
hold script announces each change of a live record on the resource's channel, numbered by the resource's
version (``announce`` in ``lua/_common.lua``). A view subscribes to a resource on its first use, then reads
it whole once (``live_holds``, read-only) and applies the announcements that follow, in order.

It answers only while it can show it is current, else ``holds()`` returns None and the caller reads Redis
as it would without a view, never a stale answer:
- subscribed and read since, each change following the last applied one (an announcement names the version
  it follows); one that does not, a reconnect or a failed read re-reads;
- an audit every ``audit_s`` compares each resource's version with Redis's: a message lost in transit or a
  connection that died without an error shows there and re-reads the resource.
Expiry is not announced: a record stops counting at its expiry by Redis's clock, estimated from the clock
values the scripts send (an estimate that can only run behind Redis's, so a hold counts slightly too long,
never too short). Acquire and commit never rely on a view: they decide in Redis, atomically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from holds import keys
from holds.errors import HoldError
from holds.models import Hold
from holds.records import decode_record
from holds.store import HoldStore

logger = logging.getLogger(__name__)

_REDIS_ERRORS = (RedisError, RedisClusterException, HoldError, OSError)
# Clock samples older than this are forgotten, so a clock step of this process heals by itself.
_CLOCK_WINDOW_MS = 10_000


@dataclass
class ViewStats:
    """Counters for metrics and tests."""

    syncs: int = 0  # whole-resource reads (first use, gaps, reconnects, audits)
    gaps: int = 0  # announcements that skipped a number
    audit_resyncs: int = 0  # re-reads the audit asked for (Redis's version ahead of or behind ours)
    reconnects: int = 0
    applied: int = 0
    served: int = 0  # answers given from memory
    missed: int = 0  # answers refused (not current): the caller read Redis


@dataclass
class _Resource:
    channel: str
    version: int = 0
    records: dict[str, Hold] = field(default_factory=dict)
    current: bool = False
    syncing: bool = False
    # Announcements received while a read is in flight: (version, previous, kind, uid, record).
    pending: list[tuple[int, int, str, str, str | None]] = field(default_factory=list)
    used_at: float = 0.0


@dataclass(frozen=True)
class Announcement:
    """One change as a script published it: ``version|previous|now|kind|uid[|record]``."""

    version: int
    previous: int  # the version it follows (0: the first change of a fresh sequence)
    now_ms: int
    kind: str  # "s" saved, "d" deleted while live
    uid: str
    record: str | None

    @classmethod
    def parse(cls, data: bytes | str) -> Announcement:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        parts = text.split("|", 5)
        if len(parts) < 5 or parts[3] not in ("s", "d") or (parts[3] == "s") != (len(parts) == 6):
            raise ValueError(f"malformed hold announcement {text[:80]!r}")
        record = parts[5] if len(parts) == 6 else None
        return cls(int(parts[0]), int(parts[1]), int(parts[2]), parts[3], parts[4], record)


class LiveHolds:
    """Serve a resource's live holds from memory while a subscription proves them current."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        store: HoldStore,
        *,
        prefix: str = "calproxy",
        clock: Callable[[], float] = time.time,
        audit_s: float = 1.0,
        retry_s: float = 0.5,
        poll_s: float = 0.05,
        idle_s: float = 600.0,
    ) -> None:
        keys.check_prefix(prefix)
        self._redis = redis
        self._store = store
        self._prefix = prefix
        self._clock = clock
        self._audit_s = audit_s
        self._retry_s = retry_s
        self._poll_s = poll_s
        self._idle_s = idle_s
        self._resources: dict[str, _Resource] = {}
        self._by_channel: dict[str, str] = {}
        # Recent clock samples (local ms, offset), decreasing offsets: the front is the largest.
        self._offsets: deque[tuple[int, int]] = deque()
        self._offset_ms = 0
        # Bumped whenever the subscription is lost: a read begun before it must not mark anything current.
        self._generation = 0
        self._auditing = False
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._pubsub: Any = None  # PubSub or ClusterPubSub while subscribed
        self.stats = ViewStats()

    # -- reading ------------------------------------------------------------------------------------

    def holds(self, resource: str, window_start_ms: int, window_end_ms: int) -> list[Hold] | None:
        """Live holds and markers overlapping the window, sorted as ``HoldStore.live`` sorts them; None
        when this view cannot show it is current (the first use of a resource starts following it)."""
        state = self._resources.get(resource)
        if state is None:
            self._follow(resource)
            self.stats.missed += 1
            return None
        state.used_at = self._clock()
        if not state.current:
            self.stats.missed += 1
            return None
        now = self.redis_now_ms()
        found = [
            h
            for h in state.records.values()
            if h.expires_at_ms > now and h.start_ms < window_end_ms and h.end_ms > window_start_ms
        ]
        self.stats.served += 1
        return sorted(found, key=lambda h: (h.start_ms, h.end_ms, h.uid))

    def size(self) -> tuple[int, int]:
        """(resources followed, records kept): for metrics."""
        return len(self._resources), sum(len(s.records) for s in self._resources.values())

    def version(self, resource: str) -> int | None:
        """The version of the resource's last applied change, or None while not current."""
        state = self._resources.get(resource)
        return state.version if state is not None and state.current else None

    def is_current(self, resource: str) -> bool:
        """Whether ``holds`` would answer from memory now."""
        state = self._resources.get(resource)
        return state is not None and state.current

    async def wait_current(self, resource: str, timeout_s: float = 5.0) -> bool:
        """Follow the resource and wait until the view is current (tests and warm-up)."""
        if resource not in self._resources:
            self._follow(resource)
        deadline = time.monotonic() + timeout_s
        while not self.is_current(resource):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def redis_now_ms(self, local_ms: int | None = None) -> int:
        """Redis's clock as this process estimates it (never ahead of it, up to clock drift), now or at
        `local_ms` of this view's clock."""
        return (int(self._clock() * 1000) if local_ms is None else local_ms) + self._offset_ms

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the listener (also started by the first use of a resource, and again should it have died)."""
        if (self._task is None or self._task.done()) and not self._closed:
            self._task = asyncio.create_task(self._listen(), name="holds-live-view")

    async def aclose(self) -> None:
        """Stop listening. The cancel is repeated until the task ends (see PolicyWatcher.aclose: one
        cancel can be swallowed by redis-py's wait inside get_message on Python 3.11)."""
        self._closed = True
        tasks = [t for t in (self._task, *self._tasks) if t is not None]
        self._task = None
        for task in tasks:
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
            with contextlib.suppress(asyncio.CancelledError, *_REDIS_ERRORS):
                await task
        self._lose_all()

    # -- following ----------------------------------------------------------------------------------

    def _follow(self, resource: str) -> None:
        channel = keys.events_channel(self._prefix, resource)
        self._resources[resource] = _Resource(channel=channel, used_at=self._clock())
        self._by_channel[channel] = resource
        self.start()

    async def _listen(self) -> None:
        while not self._closed:
            try:
                await self._subscription()
            except _REDIS_ERRORS as exc:
                logger.warning("live view lost its subscription, re-reading: %s", type(exc).__name__)
                self.stats.reconnects += 1
                await asyncio.sleep(self._retry_s)
            except Exception:
                # Never die silently: every view would stay "not current" (reads go to Redis) for good.
                logger.exception("live view listener failed, starting again")
                self.stats.reconnects += 1
                await asyncio.sleep(self._retry_s)

    async def _subscription(self) -> None:
        pubsub = self._redis.pubsub()
        self._pubsub = pubsub
        subscribed: set[str] = set()
        next_audit = time.monotonic() + self._audit_s
        try:
            while not self._closed:
                wanted = [r.channel for r in self._resources.values() if r.channel not in subscribed]
                if wanted:
                    await pubsub.ssubscribe(*wanted)
                    subscribed.update(wanted)
                if not subscribed:
                    # Nothing followed (all forgotten while idle): a pubsub never subscribed has no socket.
                    await asyncio.sleep(self._poll_s)
                    continue
                message = await pubsub.get_sharded_message(timeout=self._poll_s)
                while message is not None:
                    self._on_message(message)
                    message = await pubsub.get_sharded_message(timeout=0)
                if time.monotonic() >= next_audit and not self._auditing:
                    # One audit at a time: on a slow Redis they would otherwise pile up.
                    next_audit = time.monotonic() + self._audit_s
                    self._auditing = True
                    self._spawn(self._audit(subscribed))
        finally:
            self._pubsub = None
            self._lose_all()
            with contextlib.suppress(*_REDIS_ERRORS):
                await pubsub.aclose()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        name = channel.decode("utf-8") if isinstance(channel, bytes) else str(channel)
        resource = self._by_channel.get(name, "")
        state = self._resources.get(resource)
        if state is None:
            return
        if kind == "ssubscribe":
            # Subscribed: every change from now on reaches us, so a read now misses none.
            self._resync(resource)
        elif kind == "smessage":
            try:
                event = Announcement.parse(message["data"])
            except ValueError:
                logger.warning("live view ignored a malformed announcement on %s", name)
                self._resync(resource)
                return
            self._observe_clock(event.now_ms)
            self._receive(resource, state, event)

    def _receive(self, resource: str, state: _Resource, event: Announcement) -> None:
        change = (event.version, event.previous, event.kind, event.uid, event.record)
        if state.syncing:
            state.pending.append(change)
        elif not state.current or event.version <= state.version:
            return  # not following yet (a read is due), or a change our read already held
        elif event.previous == state.version:
            self._apply(resource, state, event.version, event.kind, event.uid, event.record)
        else:
            self.stats.gaps += 1
            self._resync(resource)
            state.pending.append(change)

    def _apply(
        self, resource: str, state: _Resource, version: int, kind: str, uid: str, record: str | None
    ) -> None:
        if kind == "s" and record is not None:
            state.records[uid] = decode_record(resource, uid, record)
        else:
            state.records.pop(uid, None)
        state.version = version
        self.stats.applied += 1

    def _resync(self, resource: str) -> None:
        state = self._resources.get(resource)
        if state is None or state.syncing:
            return
        state.current = False
        state.syncing = True
        state.pending = []
        self._spawn(self._read(resource, state))

    async def _read(self, resource: str, state: _Resource) -> None:
        self.stats.syncs += 1
        generation = self._generation
        try:
            read = await self._store.state(resource)
        except _REDIS_ERRORS as exc:
            # Not current until the next audit reads again: callers read Redis meanwhile.
            logger.warning("live view could not read %s: %s", resource, type(exc).__name__)
            state.syncing = False
            return
        if self._resources.get(resource) is not state or generation != self._generation:
            return  # forgotten (idle or closed), or the subscription was lost meanwhile
        self._observe_clock(read.now_ms)
        state.records = {h.uid: h for h in read.holds}
        state.version = read.version
        pending, state.pending = sorted(state.pending), []
        state.syncing = False
        for version, previous, kind, uid, record in pending:
            if version <= state.version:
                continue
            if previous != state.version:
                self.stats.gaps += 1
                self._resync(resource)
                return
            self._apply(resource, state, version, kind, uid, record)
        state.current = True

    async def _audit(self, subscribed: set[str]) -> None:
        try:
            await self._check_versions(subscribed)
        finally:
            self._auditing = False

    async def _check_versions(self, subscribed: set[str]) -> None:
        """Compare versions with Redis; re-read what differs, what failed to read, and forget idle ones."""
        self._prune_expired()
        now = self._clock()
        for resource, state in list(self._resources.items()):
            if now - state.used_at > self._idle_s:
                await self._forget(resource, state, subscribed)
        names = [r for r, s in self._resources.items() if s.channel in subscribed and not s.syncing]
        if not names:
            return
        try:
            versions = await self._versions(names)
        except _REDIS_ERRORS:
            return  # the subscription's own error handling re-reads when the connection is really gone
        ahead = []
        for resource, version in zip(names, versions, strict=True):
            found = self._resources.get(resource)
            if found is None or found.syncing:
                continue
            if not found.current or version < found.version:
                self.stats.audit_resyncs += 1
                self._resync(resource)
            elif version > found.version:
                ahead.append((resource, version))
        if ahead:
            # Announcements may be on their way: only a version still behind after a moment is a loss.
            await asyncio.sleep(0.05)
            for resource, version in ahead:
                behind = self._resources.get(resource)
                if behind is not None and behind.current and behind.version < version:
                    self.stats.audit_resyncs += 1
                    self._resync(resource)

    async def _versions(self, resources: list[str]) -> list[int]:
        pipe = self._redis.pipeline(transaction=False)
        for resource in resources:
            pipe.hget(keys.resource_keys(self._prefix, resource).meta, "v")
        return [int(v or 0) for v in await pipe.execute()]

    async def _forget(self, resource: str, state: _Resource, subscribed: set[str]) -> None:
        del self._resources[resource]
        self._by_channel.pop(state.channel, None)
        if state.channel in subscribed and self._pubsub is not None:
            subscribed.discard(state.channel)
            with contextlib.suppress(*_REDIS_ERRORS):
                await self._pubsub.sunsubscribe(state.channel)

    def _prune_expired(self) -> None:
        """Let go of records past their expiry: Redis never brings an expired record back (a write finds it
        gone), and the estimate of Redis's clock never runs ahead, so none of them can still be live."""
        now = self.redis_now_ms()
        for state in self._resources.values():
            expired = [uid for uid, hold in state.records.items() if hold.expires_at_ms <= now]
            for uid in expired:
                del state.records[uid]

    def _lose_all(self) -> None:
        self._generation += 1
        for state in self._resources.values():
            state.current = False
            state.syncing = False
            state.pending = []

    def _observe_clock(self, redis_now_ms: int) -> None:
        # Redis's clock when it sent, minus ours on arrival: never more than the true offset, so the
        # largest recent sample is the best estimate that still never runs ahead of Redis.
        local = int(self._clock() * 1000)
        sample = redis_now_ms - local
        # A sample no larger than a newer one can never be the maximum again: a monotonic queue.
        while self._offsets and self._offsets[-1][1] <= sample:
            self._offsets.pop()
        self._offsets.append((local, sample))
        while self._offsets[0][0] < local - _CLOCK_WINDOW_MS:
            self._offsets.popleft()
        self._offset_ms = self._offsets[0][1]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
