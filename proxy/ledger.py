"""The commit ledger: every booking the proxy sends upstream, and what became of it (CONTRACT §1.3, §6)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from proxy.keys import ProxyKeys


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


@dataclass(frozen=True)
class Ledger:
    """A Redis hash commit id -> entry."""

    redis: Redis
    keys: ProxyKeys

    async def write(self, entry: LedgerEntry) -> None:
        """Create or replace one entry (and index it by Cal.com booking uid once known)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.ledger(), entry.commit_id, entry.encode())
            if entry.booking_uid:
                pipe.hset(self.keys.ledger_by_booking(), entry.booking_uid, entry.commit_id)
            await pipe.execute()

    async def get(self, commit_id: str) -> LedgerEntry | None:
        """One entry, if any."""
        raw = await self.redis.hget(self.keys.ledger(), commit_id)
        return None if raw is None else LedgerEntry.decode(raw)

    async def find_booking(self, booking_uid: str) -> LedgerEntry | None:
        """The entry of a Cal.com booking uid, if the proxy made it."""
        commit_id = await self.redis.hget(self.keys.ledger_by_booking(), booking_uid)
        return (
            None
            if commit_id is None
            else await self.get(commit_id.decode() if isinstance(commit_id, bytes) else commit_id)
        )

    async def entries(self) -> AsyncIterator[LedgerEntry]:
        """Every entry (HSCAN, so a large ledger is read in pages)."""
        async for _field, raw in self.redis.hscan_iter(self.keys.ledger()):
            yield LedgerEntry.decode(raw)
