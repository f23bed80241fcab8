"""A commit's Redis records in two round trips (issue 10, item 7): one script before Cal.com, one after.

- ``open`` (proxy/lua/commit_open.lua): the idempotency claim, our hold taken or refreshed and moved to
  committing with a new fence, and the ledger's pending entry; all or nothing.
- ``close`` (proxy/lua/commit_close.lua): the hold's fate (booked marker, back to held, released, or kept
  committing while the outcome is unknown), the ledger's outcome with its booking index, and the stored
  answer for replays; all or nothing.

Both run holds' own operations (``holds.scripts.library_source``) under the resource's hash tag, so on Redis
Cluster they touch one slot. The ledger's registry and booking locator live in other slots: they are written
alongside, best effort, as ``Ledger`` documents.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from redis.commands.core import AsyncScript

from holds import CommitTicket, HoldStore
from holds.scripts import CallContext, decode_reply, library_source
from holds.store import new_uid
from proxy.idempotency import (
    IN_FLIGHT_TTL_MS,
    Idempotency,
    ReplayGuard,
    StoredOutcome,
    done_record,
    in_flight_record,
    replay_of,
)
from proxy.ledger import Ledger, LedgerEntry
from proxy.logs import get_logger

log = get_logger(__name__)

HoldAction = Literal["finish", "abort", "release", "keep"]
# What happens to the idempotency record at close: the answer stored, the claim dropped, or left alone.
ReplayAction = Literal["store", "drop", ""]
REPLAYED = 10  # commit_open's reply code: the key already has a record


def _source(name: str, operations: tuple[str, ...]) -> str:
    own = (resources.files("proxy") / "lua" / f"{name}.lua").read_text("utf-8")
    return library_source(*operations) + "\n" + own


OPEN_SOURCE = _source("commit_open", ("acquire_hold", "begin_commit"))
CLOSE_SOURCE = _source("commit_close", ("finish_commit", "mark_booked", "abort_commit", "release_hold"))


class Replayed(Exception):
    """The commit's key already holds a finished answer: replay it, run nothing."""

    def __init__(self, outcome: StoredOutcome) -> None:
        super().__init__("replayed")
        self.outcome = outcome


@dataclass(frozen=True)
class Closing:
    """How a commit ends in Redis."""

    action: HoldAction
    entry: LedgerEntry
    ttl_ms: int = 1
    replay: ReplayAction = ""
    answer: StoredOutcome | None = None


@dataclass
class CommitRecords:
    """Runs the two scripts; the one place that knows their argument lists."""

    holds: HoldStore
    ledger: Ledger
    idempotency: Idempotency
    _open: AsyncScript = field(init=False, repr=False)
    _close: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._open = self.holds.register_composed(OPEN_SOURCE)
        self._close = self.holds.register_composed(CLOSE_SOURCE)

    async def open(
        self, entry: LedgerEntry, owner: str, uid: str, budget_ms: int, guard: ReplayGuard | None
    ) -> CommitTicket:
        """Claim, hold, begin and record the pending entry; raises Replayed when the key has an answer,
        IdempotencyInFlight/IdempotencyKeyReused for its other records, the hold errors otherwise."""
        resource = entry.resource
        await self.ledger.register(resource)
        ttl_ms = await self.holds.ttl_ms(resource)
        keys = [self.ledger.keys.ledger(resource)]
        args: list[Any] = [
            uid,
            owner,
            entry.start_ms,
            entry.end_ms,
            ttl_ms,
            self.holds.max_per_owner,
            budget_ms,
            entry.commit_id,
            entry.encode(),
        ]
        if guard is not None:
            keys.append(self.idempotency.key_of(resource, guard))
            args += [in_flight_record(guard), IN_FLIGHT_TTL_MS]
        reply = await self.holds.call_composed(self._open, resource, keys, args, op="commit_open")
        if int(reply[0]) == REPLAYED:
            assert guard is not None
            raise Replayed(replay_of(reply[1], guard))
        ctx = CallContext(resource, uid, start_ms=entry.start_ms, end_ms=entry.end_ms)
        hold = decode_reply(reply, ctx)[0]
        return CommitTicket(hold=hold, fence=hold.fence)

    async def close(
        self, ticket: CommitTicket, owner: str, closing: Closing, guard: ReplayGuard | None
    ) -> str:
        """Record how the commit ended; returns the uid now standing for it (a fresh booked marker's when
        the hold lapsed before 'finish'). The booking locator is written alongside, best effort."""
        entry = closing.entry
        resource = entry.resource
        keys = [self.ledger.keys.ledger(resource), self.ledger.keys.ledger_by_booking(resource)]
        record = ""
        if guard is not None:
            keys.append(self.idempotency.key_of(resource, guard))
            if closing.answer is not None:
                record = done_record(guard, closing.answer)
        args: list[Any] = [
            closing.action,
            ticket.hold.uid,
            owner,
            ticket.fence,
            closing.ttl_ms,
            entry.start_ms,
            entry.end_ms,
            new_uid(),
            entry.commit_id,
            entry.encode(),
            entry.booking_uid or "",
            closing.replay if guard is not None else "",
            record,
            guard.ttl_ms if guard is not None else 0,
        ]
        script = self.holds.call_composed(self._close, resource, keys, args, op="commit_close")
        if not entry.booking_uid:
            reply = await script
        else:
            located = self.ledger.locate(entry.booking_uid, resource)
            reply, where = await asyncio.gather(script, located, return_exceptions=True)
            if isinstance(reply, BaseException):
                raise reply
            if isinstance(where, BaseException):
                log.warning("ledger_locator_not_written", error=type(where).__name__)
        code, uid = int(reply[0]), reply[1]
        if code != 0 and closing.action == "finish":
            log.warning("hold_lapsed_during_commit", resource=resource)
        return uid.decode() if isinstance(uid, bytes) else str(uid)
