"""SimConfig: everything that shapes one simulator instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from proxy.sim.faults import FaultRates
from proxy.sim.seed import Seed, load_seed

DEFAULT_RATE_LIMIT = 120
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimConfig:
    """Simulator settings; `now` and `monotonic` are injectable clocks for tests."""

    seed: Seed = field(default_factory=load_seed)
    race_window_ms: int = 0
    latency_ms: int = 0
    faults: FaultRates = field(default_factory=FaultRates)
    fault_seed: int | None = None
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_limit_window_s: float = 60.0
    # Cal.com's idempotencyKey guard, always on there: a unique key of start, end and organizer for ACCEPTED
    # bookings (prisma/extensions/booking-idempotency-key.ts, schema.prisma:838), so the race loser of an
    # exact duplicate gets a bare 409 booking_conflict_error (RegularBookingService.ts:2013-2018). Tests
    # that model issue #13397 with identical requests switch it off; overlapping-but-different bookings
    # still race past it with it on.
    idempotency_guard: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Cal.com keeps each slots answer in Redis for SLOTS_CACHE_TTL ms, 2000 by default, keyed by the query
    # (packages/trpc/server/routers/viewer/slots/util.ts:64,120-154): a booking or reservation shows in the
    # same query's answer only after that (the goldens: reservations/slots-after-move, bookings/
    # slots-after-cancel). 0 (the default here) answers every query afresh, as the tests before the goldens
    # assumed; the golden replay and `calproxy sim --slots-cache-ms 2000` model Cal.com's.
    slots_cache_ms: int = 0
    now: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
