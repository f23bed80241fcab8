"""The simulator's in-memory ground truth: bookings, reservations, ids, runtime knobs and counters."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from proxy.sim.ratelimit import FixedWindowLimiter

ACTIVE_STATUSES = frozenset({"accepted", "pending"})
# short-uuid 4.2.0's default translator (flickrBase58, consistentLength): what Cal.com's booking uids are
# (RegularBookingService.ts:138,1394-1395 translator.fromUUID(uuidv5(...))).
FLICKR_BASE58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
SHORT_UUID_LENGTH = 22


def short_uuid(value: uuid.UUID) -> str:
    """short-uuid's fromUUID: the 128-bit number in flickrBase58, left-padded with '1' to 22 characters."""
    number = value.int
    digits: list[str] = []
    while number:
        number, digit = divmod(number, len(FLICKR_BASE58))
        digits.append(FLICKR_BASE58[digit])
    return "".join(reversed(digits)).rjust(SHORT_UUID_LENGTH, FLICKR_BASE58[0])


@dataclass
class Booking:
    """One booking as Cal.com stores it."""

    id: int
    uid: str
    event_type_id: int
    host_id: int
    start: datetime
    end: datetime
    status: str
    attendee: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    title: str = ""
    description: str = ""
    location: str = "integrations:daily"
    guests: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    booking_fields_responses: dict[str, Any] = field(default_factory=dict)
    location_named: bool = False
    cancellation_reason: str | None = None
    cancelled_by_email: str | None = None
    rescheduling_reason: str | None = None
    rescheduled_by_email: str | None = None
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None
    rescheduled: bool = False
    source: str = "api"
    # iCalUID: a reschedule keeps the original's, so calendars update the same event (golden
    # bookings/reschedule, the real Cal.com).
    ics_uid: str = ""

    @property
    def active(self) -> bool:
        """True while the booking blocks its host's time."""
        return self.status in ACTIVE_STATUSES


@dataclass
class Reservation:
    """A slot hold (Cal.com's SelectedSlots row)."""

    uid: str
    event_type_id: int
    host_id: int
    start: datetime
    end: datetime
    duration: int
    reservation_duration: int
    release_at: datetime


@dataclass
class Stats:
    """Request counters: Cal.com endpoints and control endpoints are kept apart."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    control: Counter[tuple[str, int]] = field(default_factory=Counter)
    rate_limited: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        """Counters grouped by endpoint, then status."""
        return {
            "requests": _nest(self.requests),
            "control": _nest(self.control),
            "rateLimited": self.rate_limited,
            "faults": dict(self.faults),
            "totalRequests": sum(self.requests.values()),
        }


def _nest(counter: Counter[tuple[str, int]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (endpoint, status), count in sorted(counter.items()):
        nested.setdefault(endpoint, {})[str(status)] = count
    return nested


class SimState:
    """Mutable state of one simulator instance; `reset()` returns it to the seed."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.seed = config.seed
        self.bookings: dict[str, Booking] = {}
        self.reservations: dict[str, Reservation] = {}
        self.stats = Stats()
        self.faults: FaultRates = config.faults
        self.latency_ms = config.latency_ms
        self.race_window_ms = config.race_window_ms
        self.rng = random.Random(config.fault_seed)
        self.limiter = FixedWindowLimiter(config.rate_limit, config.rate_limit_window_s, config.monotonic)
        self.stuck_requests = 0
        self.shutdown = asyncio.Event()
        self._next_id = 1
        # Cal.com's slots answer cache (SimConfig.slots_cache_ms): query key -> (expiry, starts).
        self._slots_cache: dict[Hashable, tuple[float, list[datetime]]] = {}

    def cached_starts(self, key: Hashable, compute: Callable[[], list[datetime]]) -> list[datetime]:
        """The starts of a slots query, from Cal.com's answer cache while it holds them."""
        ttl_s = self.config.slots_cache_ms / 1000
        if ttl_s <= 0:
            return compute()
        now = self.config.monotonic()
        found = self._slots_cache.get(key)
        if found is not None and found[0] > now:
            return found[1]
        starts = compute()
        self._slots_cache = {k: v for k, v in self._slots_cache.items() if v[0] > now}
        self._slots_cache[key] = (now + ttl_s, starts)
        return starts

    def now(self) -> datetime:
        """The simulator's current time (injectable)."""
        return self.config.now()

    def next_booking_id(self) -> int:
        """A fresh numeric booking id."""
        value = self._next_id
        self._next_id += 1
        return value

    def new_booking_uid(self) -> str:
        """A fresh booking uid in Cal.com's format.

        Cal.com seeds a uuidv5 with the organizer, the start and the wall-clock ms; a random uuid gives the
        same format without colliding under the simulator's frozen test clocks.
        """
        return short_uuid(uuid.uuid4())

    def reset(self) -> None:
        """Drop bookings, reservations, counters and runtime fault settings."""
        self.bookings.clear()
        self.reservations.clear()
        self.stats = Stats()
        self.faults = self.config.faults
        self.latency_ms = self.config.latency_ms
        self.race_window_ms = self.config.race_window_ms
        self.rng = random.Random(self.config.fault_seed)
        self.limiter = FixedWindowLimiter(
            self.config.rate_limit, self.config.rate_limit_window_s, self.config.monotonic
        )
        self._next_id = 1
        self._slots_cache.clear()

    def host_busy(self, host_id: int, *, exclude_uid: str | None = None) -> list[tuple[datetime, datetime]]:
        """Intervals blocked by the host's accepted or pending bookings."""
        return [
            (b.start, b.end)
            for b in self.bookings.values()
            if b.host_id == host_id and b.active and b.uid != exclude_uid
        ]

    def live_reservations(self, host_id: int) -> list[Reservation]:
        """Unexpired reservations on any of the host's event types (Cal.com filters holds by user)."""
        now = self.now()
        return [r for r in self.reservations.values() if r.host_id == host_id and r.release_at > now]
