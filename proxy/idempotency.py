"""Idempotent commits (CONTRACT §5.2): a retry returns the first outcome instead of booking twice.

A key is claimed with SET NX before anything goes upstream; a retry while it is claimed gets 409, a retry
with another body gets 422, a retry after it finished gets the stored status and body.

A record lives in the hash slot of the resource the request books (its holds' and ledger's), so a key's
scope is (resource, tenant, key): the same Idempotency-Key sent for an event type of another resource is
another key (its body differs anyway, so it would never be replayed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from proxy.errors import IdempotencyInFlight, IdempotencyKeyReused
from proxy.keys import ProxyKeys

IN_FLIGHT_TTL_MS = 120_000
DONE_TTL_MS = 24 * 3600 * 1000
# Same caller, same slot, no key: long enough for an agent's retries, not a day-long memory of a slot.
NATURAL_TTL_MS = 10 * 60 * 1000


def digest(text: str) -> str:
    """A short stable digest (keys and bodies are never stored in clear)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def body_digest(body: Any) -> str:
    """Digest of a JSON body, independent of key order and spacing."""
    return digest(json.dumps(body, sort_keys=True, separators=(",", ":")))


@dataclass(frozen=True)
class StoredOutcome:
    """A finished commit's answer."""

    status: int
    body: bytes


@dataclass(frozen=True)
class ReplayGuard:
    """The key that guards one commit, and which of its answers are replayed.

    ``key`` is the caller's Idempotency-Key, or the natural key (same caller, slot and body), which replays
    only success. ``digest`` is the request body's, so a key reused with another body is refused.
    """

    key: str
    tenant: str
    digest: str
    replay_refusals: bool
    ttl_ms: int = DONE_TTL_MS


def in_flight_record(guard: ReplayGuard) -> str:
    """The record that claims a key while its commit runs."""
    return json.dumps({"state": "in_flight", "body": guard.digest})


def done_record(guard: ReplayGuard, outcome: StoredOutcome) -> str:
    """The record that replays a finished commit's answer."""
    record = {
        "state": "done",
        "body": guard.digest,
        "status": outcome.status,
        "response": outcome.body.decode(),
    }
    return json.dumps(record)


def replay_of(raw: bytes | str, guard: ReplayGuard) -> StoredOutcome:
    """What an existing record means for a new request with the same key: the stored answer, or an error
    (another body: 422; the first request still running: 409)."""
    record = json.loads(raw)
    if record["body"] != guard.digest:
        raise IdempotencyKeyReused("Idempotency-Key was already used with a different request body.")
    if record["state"] == "in_flight":
        if guard.replay_refusals:
            raise IdempotencyInFlight("A request with this Idempotency-Key is still being processed.")
        # The natural key: the caller sent no Idempotency-Key, so the message must not speak of one.
        raise IdempotencyInFlight("A booking of this slot by this caller is still in progress.")
    return StoredOutcome(status=int(record["status"]), body=record["response"].encode())


@dataclass(frozen=True)
class Idempotency:
    """Reads, finishes and forgets idempotency records in Redis.

    A commit claims its key inside its own opening script (proxy/lua/commit_open.lua) and stores its answer
    in its closing one; these calls serve the paths off that: refusals, hand-offs, cancellations.
    """

    redis: Redis
    keys: ProxyKeys

    def key_of(self, resource: str, guard: ReplayGuard) -> str:
        """The Redis key of a guard's record (in the resource's hash slot)."""
        return self.keys.idempotency(resource, guard.tenant, digest(guard.key))

    async def replay(self, resource: str, guard: ReplayGuard) -> StoredOutcome | None:
        """The stored answer for this key, if its commit finished (errors as in ``replay_of``)."""
        raw = await self.redis.get(self.key_of(resource, guard))
        return None if raw is None else replay_of(raw, guard)

    async def finish(
        self, resource: str, guard: ReplayGuard, outcome: StoredOutcome, *, only_new: bool = False
    ) -> None:
        """Store the answer for replays; ``only_new`` never replaces a record (another request's claim)."""
        record = done_record(guard, outcome)
        await self.redis.set(self.key_of(resource, guard), record, px=guard.ttl_ms, nx=only_new)

    async def abandon(self, resource: str, tenant: str, key: str) -> None:
        """Forget a claim whose request ended without an answer worth replaying."""
        await self.redis.delete(self.keys.idempotency(resource, tenant, digest(key)))
