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
class Idempotency:
    """Claims, finishes and replays idempotency keys in Redis."""

    redis: Redis
    keys: ProxyKeys

    async def claim(self, resource: str, tenant: str, key: str, request_digest: str) -> StoredOutcome | None:
        """Claim `key` for this request; return the stored outcome when it already finished."""
        redis_key = self.keys.idempotency(resource, tenant, digest(key))
        claimed = await self.redis.set(
            redis_key,
            json.dumps({"state": "in_flight", "body": request_digest}),
            nx=True,
            px=IN_FLIGHT_TTL_MS,
        )
        if claimed:
            return None
        raw = await self.redis.get(redis_key)
        if raw is None:  # Expired between SET and GET: claim again.
            return await self.claim(resource, tenant, key, request_digest)
        record = json.loads(raw)
        if record["body"] != request_digest:
            raise IdempotencyKeyReused("Idempotency-Key was already used with a different request body.")
        if record["state"] == "in_flight":
            raise IdempotencyInFlight("A request with this Idempotency-Key is still being processed.")
        return StoredOutcome(status=int(record["status"]), body=record["response"].encode())

    async def finish(
        self,
        resource: str,
        tenant: str,
        key: str,
        request_digest: str,
        outcome: StoredOutcome,
        *,
        ttl_ms: int = DONE_TTL_MS,
    ) -> None:
        """Store the answer for replays."""
        record = {
            "state": "done",
            "body": request_digest,
            "status": outcome.status,
            "response": outcome.body.decode(),
        }
        redis_key = self.keys.idempotency(resource, tenant, digest(key))
        await self.redis.set(redis_key, json.dumps(record), px=ttl_ms)

    async def abandon(self, resource: str, tenant: str, key: str) -> None:
        """Forget a claim whose request ended without an answer worth replaying."""
        await self.redis.delete(self.keys.idempotency(resource, tenant, digest(key)))
