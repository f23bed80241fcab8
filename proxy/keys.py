"""The only place that knows the proxy's own Redis key formats (holds/ builds its own keys).

Every key carries a hash tag so that related keys land on one Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from holds.keys import escape_resource


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

    def idempotency(self, resource: str, tenant: str, key_digest: str) -> str:
        """The stored outcome of one idempotent commit: in the slot of the resource it books (its holds')."""
        return f"{self.prefix}:idem:{{{escape_resource(resource)}}}:{tenant}:{key_digest}"

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

    def ledger(self, resource: str) -> str:
        """Hash commit id -> ledger entry (JSON) of every commit on one resource (the resource's hash tag)."""
        return f"{self.prefix}:ledger:{{{escape_resource(resource)}}}"

    def ledger_by_booking(self, resource: str) -> str:
        """Hash Cal.com booking uid -> commit id of one resource (same slot: both update in one MULTI)."""
        return f"{self.prefix}:ledger:{{{escape_resource(resource)}}}:by-booking"

    def ledger_resources(self) -> str:
        """Set of the resources that have a ledger hash, so every entry can be iterated (own slot)."""
        return f"{self.prefix}:ledger:{{ledger}}:resources"

    def ledger_locator(self) -> str:
        """Hash Cal.com booking uid -> resource, for a cancel or reschedule that knows only the uid.

        Another slot than the resources': written in its own command, never inside a resource's MULTI.
        """
        return f"{self.prefix}:ledger:{{ledger}}:locator"

    def quote_to_commit_samples(self) -> str:
        """A capped list of quote-to-commit durations (ms), shared by every process."""
        return f"{self.prefix}:stats:{{stats}}:q2c"

    def last_reconciliation(self) -> str:
        """The report of the latest reconciliation run (JSON), for the operators' page."""
        return f"{self.prefix}:reconcile:{{reconcile}}:last"

    def reconcile_lease(self) -> str:
        """The reconciliation lease: "<token>|<fence>" of the one process reconciling, with a TTL."""
        return f"{self.prefix}:reconcile:{{reconcile}}:lease"

    def reconcile_fence(self) -> str:
        """Counter incremented at every lease grant: the fence of the current holder."""
        return f"{self.prefix}:reconcile:{{reconcile}}:fence"

    def reconcile_done(self) -> str:
        """Marker with a TTL of one interval: a scheduled pass finished recently (any process)."""
        return f"{self.prefix}:reconcile:{{reconcile}}:done"

    def ledger_archive(self, resource: str, commit_id: str) -> str:
        """A retired ledger entry (JSON, with a TTL); its resource's hash tag, so it moves atomically."""
        return f"{self.prefix}:ledger:{{{escape_resource(resource)}}}:archive:{commit_id}"

    def upstream_window(self, tracker: str) -> str:
        """Zset of one credential's recent Cal.com requests (a sliding log); `tracker`: a keyed hash."""
        return f"{self.prefix}:upstream:{{u:{tracker}}}:window"

    def upstream_pause(self, tracker: str) -> str:
        """Set after a Cal.com 429 for one credential, with a TTL up to Cal.com's reset: everyone waits."""
        return f"{self.prefix}:upstream:{{u:{tracker}}}:pause"

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

    def sentinel(self) -> str:
        """A token written once: its absence tells that Redis lost (or never had) calproxy's data."""
        return f"{self.prefix}:sentinel:{{sentinel}}"

    def process_alive(self, process_id: str) -> str:
        """A calproxy process's heartbeat (short TTL, refreshed while it runs); absent once it died."""
        return f"{self.prefix}:proc:{{proc}}:alive:{process_id}"

    def processes(self) -> str:
        """Set of the processes that announced themselves and have not been settled after their death."""
        return f"{self.prefix}:proc:{{proc}}:all"

    def process_sweep(self, process_id: str) -> str:
        """Lock: one process settles a dead process's open commits at a time."""
        return f"{self.prefix}:proc:{{proc}}:sweep:{process_id}"

    def mirror(self, resource: str) -> str:
        """Hash hold uid -> JSON of its Cal.com reservation (uid, event type, start, end, expiry)."""
        return f"{self.prefix}:mirror:{{{escape_resource(resource)}}}"

    def sharing(self) -> str:
        """Hash event type id -> "<resource>|<expires ms>": which calendar it books, learned from Cal.com."""
        return f"{self.prefix}:sharing:{{sharing}}"
