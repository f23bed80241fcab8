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

    def ledger(self) -> str:
        """Hash commit id -> ledger entry (JSON) for every commit sent upstream."""
        return f"{self.prefix}:ledger:{{ledger}}"

    def ledger_by_booking(self) -> str:
        """Hash Cal.com booking uid -> commit id (same slot as the ledger, so both update atomically)."""
        return f"{self.prefix}:ledger:{{ledger}}:by-booking"

    def quote_to_commit_samples(self) -> str:
        """A capped list of quote-to-commit durations (ms), shared by every process."""
        return f"{self.prefix}:stats:{{stats}}:q2c"
