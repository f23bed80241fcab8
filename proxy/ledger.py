"""The commit ledger: every booking the proxy sends upstream, and what became of it (CONTRACT §1.3, §6)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from proxy.keys import ProxyKeys
from proxy.logs import get_logger

log = get_logger(__name__)


class CommitState(StrEnum):
    """Where a commit stands; only CONFIRMED was ever answered "booked"."""

    PENDING = "pending"  # sent upstream, answer not yet handled
    CONFIRMED = "confirmed"  # verified and answered 201
    REFUSED = "refused"  # Cal.com refused; nothing was created
    COMPENSATED = "compensated"  # Cal.com created something else; we cancelled it
    COMPENSATION_FAILED = "compensation_failed"  # the cancel failed: reconciliation retries it
    UNKNOWN = "unknown"  # timeout/5xx and the lookup found nothing (yet)
    CANCELLED = "cancelled"  # a confirmed booking later cancelled by its owner
    RESCHEDULED = "rescheduled"  # a confirmed booking moved; the new commit has its own entry
    # A tagged booking whose entry Redis lost, rebuilt from the calendar and kept: its caller may have been
    # told "booked", so cancelling it could break the invariant (it is checked like a confirmed one).
    ADOPTED = "adopted"
    # A commit whose process died mid-flight and whose booking Cal.com did make: never answered "booked",
    # kept for a retry of the same request (CommitService.hand_off) until the pending grace ends, when
    # reconciliation cancels it like any ghost.
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class LedgerEntry:
    """One commit. Times are epoch ms; `booking_uid` is Cal.com's once known."""

    commit_id: str
    tenant: str
    event_type_id: int
    resource: str
    start_ms: int
    end_ms: int
    state: CommitState
    created_ms: int
    updated_ms: int
    booking_uid: str | None = None
    hold_uid: str | None = None
    detail: str = ""
    # The idempotency key that replays this commit's answer; forgotten when the booking leaves the calendar.
    replay_key: str | None = None
    # For a reschedule: the booking it moved (Cal.com's rescheduledFromUid of the new one).
    origin_uid: str | None = None
    # The process that ran the commit (proxy.liveness): when it has died, its open commit is settled at once.
    process: str | None = None

    def moved(self, state: CommitState, now_ms: int, **changes: Any) -> LedgerEntry:
        """A copy in a new state."""
        return replace(self, state=state, updated_ms=now_ms, **changes)

    def encode(self) -> str:
        """Compact JSON."""
        data = asdict(self)
        data["state"] = self.state.value
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | str) -> LedgerEntry:
        """Inverse of encode."""
        data = json.loads(raw)
        data["state"] = CommitState(data["state"])
        return cls(**data)


# A process re-adds a resource to the registry this often (it may have been lost with Redis's data).
REGISTER_EVERY_S = 60.0


@dataclass(frozen=True)
class Ledger:
    """Per resource, a Redis hash commit id -> entry and one booking uid -> commit id.

    Layout (ARCHITECTURE, Redis keys): every key of a resource's ledger carries the resource's hash tag,
    like its holds, so on Redis Cluster they share its slot. Writing rules:
    - the registry of resources with a ledger (own slot) gets the resource before its first entry (once
      per process and minute, one SADD); `entries` iterates it, so no entry is ever invisible to it;
    - entry and per-resource booking index change together in one MULTI on the resource's slot: that is
      the record, and `write` raises only when it failed;
    - the booking uid -> resource locator (own slot) is written in its own command alongside, best
      effort: `find_booking` falls back to the per-resource indexes of every registered resource.
    Ledgers of the earlier single-hash layout (`{ledger}`) are not migrated (pre-production).
    """

    redis: Redis
    keys: ProxyKeys
    clock: Callable[[], float] = time.monotonic
    _registered: dict[str, float] = field(default_factory=dict, repr=False)

    async def register(self, resource: str) -> None:
        """Add the resource to the registry before its first entry (at most once per process and minute)."""
        now = self.clock()
        if now - self._registered.get(resource, -REGISTER_EVERY_S) < REGISTER_EVERY_S:
            return
        await self.redis.sadd(self.keys.ledger_resources(), resource)
        self._registered[resource] = now

    async def write(self, entry: LedgerEntry) -> None:
        """Create or replace one entry (and index it by Cal.com booking uid once known)."""
        await self.register(entry.resource)

        async def record() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.ledger(entry.resource), entry.commit_id, entry.encode())
                if entry.booking_uid:
                    pipe.hset(self.keys.ledger_by_booking(entry.resource), entry.booking_uid, entry.commit_id)
                await pipe.execute()

        if not entry.booking_uid:
            await record()
            return
        locate = self.locate(entry.booking_uid, entry.resource)
        recorded, located = await asyncio.gather(record(), locate, return_exceptions=True)
        if isinstance(recorded, BaseException):
            raise recorded
        if isinstance(located, BaseException):
            log.warning("ledger_locator_not_written", error=type(located).__name__)

    async def locate(self, booking_uid: str, resource: str) -> None:
        """The booking uid -> resource locator (its own slot; best effort, see the class docstring)."""
        await self.redis.hset(self.keys.ledger_locator(), booking_uid, resource)

    async def get(self, commit_id: str, resource: str | None = None) -> LedgerEntry | None:
        """One entry, if any (without its resource, every registered resource is asked)."""
        if resource is not None:
            raw = await self.redis.hget(self.keys.ledger(resource), commit_id)
            return None if raw is None else LedgerEntry.decode(raw)
        for found in await self._across(lambda r: self.keys.ledger(r), commit_id):
            return LedgerEntry.decode(found[1])
        return None

    async def find_booking(self, booking_uid: str) -> LedgerEntry | None:
        """The entry of a Cal.com booking uid, if the proxy made it."""
        resource = await self.redis.hget(self.keys.ledger_locator(), booking_uid)
        if resource is not None:
            resource = _text(resource)
            commit_id = await self.redis.hget(self.keys.ledger_by_booking(resource), booking_uid)
            if commit_id is not None:
                return await self.get(_text(commit_id), resource)
        # No locator (its write failed or was lost): ask every resource's own index.
        for found in await self._across(lambda r: self.keys.ledger_by_booking(r), booking_uid):
            return await self.get(_text(found[1]), found[0])
        return None

    async def resources(self) -> list[str]:
        """Every resource with a ledger."""
        return sorted(_text(m) for m in await self.redis.smembers(self.keys.ledger_resources()))

    async def retire(self, entry: LedgerEntry, archive_ttl_s: int) -> None:
        """Move an entry out of the live ledger: to its own archive key with a TTL, unindexed by booking."""
        archive = self.keys.ledger_archive(entry.resource, entry.commit_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(archive, entry.encode(), ex=max(1, archive_ttl_s))
            pipe.hdel(self.keys.ledger(entry.resource), entry.commit_id)
            if entry.booking_uid:
                pipe.hdel(self.keys.ledger_by_booking(entry.resource), entry.booking_uid)
            await pipe.execute()
        if entry.booking_uid:
            # The locator has its own slot: its own command, best effort (a stale one only costs a miss).
            await self.redis.hdel(self.keys.ledger_locator(), entry.booking_uid)

    async def open_for_replay(self, resource: str, replay_key: str) -> LedgerEntry | None:
        """The newest commit of this resource still open (pending or unknown) under this replay key.

        A crash-retry path only: it reads the resource's ledger in pages (HSCAN), never on a happy path.
        """
        found: LedgerEntry | None = None
        async for _field, raw in self.redis.hscan_iter(self.keys.ledger(resource)):
            entry = LedgerEntry.decode(raw)
            if entry.replay_key != replay_key or entry.origin_uid is not None:
                continue
            if entry.state in (CommitState.PENDING, CommitState.UNKNOWN, CommitState.ABANDONED):
                if found is None or entry.created_ms > found.created_ms:
                    found = entry
        return found

    async def entries(self) -> AsyncIterator[LedgerEntry]:
        """Every entry, resource by resource (HSCAN, so a large ledger is read in pages)."""
        for resource in await self.resources():
            async for _field, raw in self.redis.hscan_iter(self.keys.ledger(resource)):
                yield LedgerEntry.decode(raw)

    async def _across(self, key_of: Callable[[str], str], field_name: str) -> list[tuple[str, bytes]]:
        """HGET of one field in one key per registered resource (pipelined: one round trip per node)."""
        resources = await self.resources()
        if not resources:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for resource in resources:
                pipe.hget(key_of(resource), field_name)
            values = await pipe.execute()
        return [(r, v) for r, v in zip(resources, values, strict=True) if v is not None]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
