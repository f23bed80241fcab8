"""The only place that knows the proxy's own Redis key formats (holds/ builds its own keys).

Every key carries a hash tag so that related keys land on one Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProxyKeys:
    """Builds keys under one prefix, so tests and environments get their own keyspace."""

    prefix: str

    def snapshot(self, event_type_id: int, duration: int, day: str) -> str:
        """Cached upstream slots of one event type, length and UTC day."""
        return f"{self.prefix}:snap:{{et:{event_type_id}}}:{duration}:{day}"

    def snapshot_lock(self, event_type_id: int, duration: int, day: str) -> str:
        """Single-flight lock across processes for refreshing one snapshot day."""
        return f"{self.prefix}:snaplock:{{et:{event_type_id}}}:{duration}:{day}"

    def idempotency(self, tenant: str, key_digest: str) -> str:
        """The stored outcome of one idempotent commit."""
        return f"{self.prefix}:idem:{{{tenant}}}:{key_digest}"

    def credential(self, tenant: str, credential_digest: str) -> str:
        """Cal.com's cached verdict on one credential (keyed hash only), per tenant."""
        return f"{self.prefix}:cred:{{t:{tenant}}}:{credential_digest}"

    def tenant_holds(self, tenant: str) -> str:
        """Zset of one tenant's live holds ("<resource>|<uid>") scored by expiry (ms), for its budget."""
        return f"{self.prefix}:thold:{{t:{tenant}}}"

    def tenant_day_holds(self, tenant: str, resource: str, day: int) -> str:
        """Zset of one tenant's live holds on one resource and UTC day (its share budget), by expiry."""
        return f"{self.prefix}:thold:{{t:{tenant}}}:{resource}:{day}"

    def slots_seen(self, event_type_id: int, tenant: str) -> str:
        """Marker: Cal.com answered this tenant's credentials for this event type's slots.

        Same hash tag as the event type's snapshot days, so it is read in the same MGET.
        """
        return f"{self.prefix}:seen:{{et:{event_type_id}}}:{tenant}"

    def slots_seen_lock(self, event_type_id: int, tenant: str) -> str:
        """Single-flight lock across processes for a tenant's first slots request of an event type."""
        return f"{self.prefix}:seenlock:{{et:{event_type_id}}}:{tenant}"

    def rate_limit_prefix(self) -> str:
        """Prefix of the `limits` library's rate-limit keys (their identifiers carry the hash tag)."""
        return f"{self.prefix}:rl"

    @staticmethod
    def rate_tenant(tenant: str) -> str:
        """Identifier of a tenant's quote-rate window inside the `limits` key."""
        return f"{{t:{tenant}}}"

    @staticmethod
    def rate_address(address_digest: str) -> str:
        """Identifier of a source address's quote-rate window (a hash of the address, never the address)."""
        return f"{{ip:{address_digest}}}"

    def ledger(self) -> str:
        """Hash commit id -> ledger entry (JSON) for every commit sent upstream."""
        return f"{self.prefix}:ledger:{{ledger}}"

    def ledger_by_booking(self) -> str:
        """Hash Cal.com booking uid -> commit id (same slot as the ledger, so both update atomically)."""
        return f"{self.prefix}:ledger:{{ledger}}:by-booking"

    def quote_to_commit_samples(self) -> str:
        """A capped list of quote-to-commit durations (ms), shared by every process."""
        return f"{self.prefix}:stats:{{stats}}:q2c"

    def last_reconciliation(self) -> str:
        """The report of the latest reconciliation run (JSON), for the operators' page."""
        return f"{self.prefix}:reconcile:{{reconcile}}:last"

    def activity(self, minute: int) -> str:
        """Per-minute activity counters (upstream requests, 429s, commits by outcome) of every process."""
        return f"{self.prefix}:activity:{{activity}}:{minute}"

    def observations_open(self) -> str:
        """Hash hold id -> "created_ms|expires_ms" of quoted holds not yet booked, released or expired."""
        return f"{self.prefix}:stats:{{stats}}:obs:open"

    def observations_expiry(self) -> str:
        """Zset of the open observations by hold expiry (ms), to censor expired ones lazily."""
        return f"{self.prefix}:stats:{{stats}}:obs:exp"

    def observations_done(self) -> str:
        """Zset of closed observations "kind|duration_ms|id" by closing time (ms), capped and windowed."""
        return f"{self.prefix}:stats:{{stats}}:obs:done"
