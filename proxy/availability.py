"""What one caller may be offered: the slot snapshot minus other owners' holds and booked markers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from holds import Hold, HoldState, HoldStore
from holds.live_view import LiveHolds
from proxy.batching import ReadBatcher
from proxy.identity import ResourceMap, owner_in_tenant, tenant_of_owner
from proxy.sharing import Sharing
from proxy.slotmath import DAY_MS, Busy, Grid, Verdict, classify, free_starts, infer_grid, utc_days
from proxy.snapshot import Snapshot, SnapshotCache, open_days


def busy_for(holds: list[Hold], owner: str) -> list[Busy]:
    """The holds that hide slots from `owner`: everyone else's, and every booked marker."""
    return [
        Busy(
            start_ms=h.start_ms,
            end_ms=h.end_ms,
            expires_at_ms=h.expires_at_ms,
            booked=h.state is HoldState.BOOKED,
        )
        for h in holds
        if h.state is HoldState.BOOKED or h.owner != owner
    ]


@dataclass(frozen=True)
class View:
    """One caller's view of an event type over a window of UTC days."""

    event_type_id: int
    resource: str
    snapshot: Snapshot
    busy: list[Busy]
    own: list[Hold]
    now_ms: int
    # Live holds of the caller's whole tenant in the window (its own caller's included), for budgets.
    tenant_holds: tuple[Hold, ...] = ()
    # The live view's version of the resource the holds were read at (None: read from Redis).
    holds_version: int | None = None

    @property
    def length_ms(self) -> int | None:
        """Slot length as Cal.com reported it."""
        return self.snapshot.length_ms

    @property
    def grid(self) -> Grid | None:
        """The slot grid inferred from the snapshot."""
        return infer_grid(self.snapshot.starts)

    def free(self) -> list[int]:
        """Future snapshot starts this caller may be offered."""
        length = self.length_ms or 0
        return [s for s in free_starts(self.snapshot.starts, length, self.busy) if s > self.now_ms]

    def verdict(self, start_ms: int, length_ms: int) -> Verdict:
        """Exact-instant availability of one start for this caller."""
        return classify(
            start_ms,
            length_ms,
            snapshot_starts=self.snapshot.start_set,
            busy=self.busy,
            grid=self.grid,
            now_ms=self.now_ms,
        )

    def own_hold(self, start_ms: int, end_ms: int) -> Hold | None:
        """This caller's live hold on exactly this interval, if any."""
        return next((h for h in self.own if h.start_ms == start_ms and h.end_ms == end_ms), None)


@dataclass
class Availability:
    """Builds Views from the snapshot cache and the hold store."""

    snapshots: SnapshotCache
    holds: HoldStore
    resources: ResourceMap
    clock: Callable[[], float]
    reads: ReadBatcher[tuple[str, int, int], list[Hold]] = field(default_factory=ReadBatcher)
    # Learns which calendar an event type books before its first view (None: the configured map only).
    sharing: Sharing | None = None
    # This process's copy of the holds (None: every view reads them from Redis).
    live_view: LiveHolds | None = None

    async def resource_of(self, event_type_id: int, credentials: Mapping[str, str]) -> str:
        """The calendar an event type books (learned from Cal.com once, before its first view)."""
        if self.sharing is not None:
            await self.sharing.learn(event_type_id, credentials)
        return self.resources.resource_for(event_type_id)

    def day_view(self, event_type_id: int, duration: int | None, start_ms: int, owner: str) -> View | None:
        """One caller's view of one UTC day with no I/O: the day as this process keeps it and the holds of
        its live view; None when either is missing (the caller then builds a full view)."""
        day = start_ms // DAY_MS
        slots = self.snapshots.kept_day(event_type_id, duration, day, tenant_of_owner(owner))
        if slots is None:
            return None
        resource = self.resources.resource_for(event_type_id)
        remembered = self._remembered(resource, day * DAY_MS - DAY_MS, (day + 2) * DAY_MS)
        if remembered is None:
            return None
        live, version = remembered
        return self._view(event_type_id, resource, Snapshot(days={day: slots}), live, owner, version)

    def _remembered(
        self, resource: str, window_start_ms: int, window_end_ms: int
    ) -> tuple[list[Hold], int] | None:
        """The live view's holds over a window and the version they are at, or None when it cannot answer."""
        if self.live_view is None:
            return None
        found = self.live_view.holds(resource, window_start_ms, window_end_ms)
        version = self.live_view.version(resource)
        return None if found is None or version is None else (found, version)

    def within_window(self, window_start_ms: int, window_end_ms: int) -> bool:
        """Whether any day of the window may hold a slot now (else only Cal.com's own answer is right)."""
        now_ms = int(self.clock() * 1000)
        return bool(open_days(utc_days(window_start_ms, window_end_ms), now_ms))

    async def view(
        self,
        event_type_id: int,
        duration: int | None,
        window_start_ms: int,
        window_end_ms: int,
        owner: str,
        credentials: Mapping[str, str],
        *,
        max_age_ms: int | None = None,
    ) -> View:
        """Snapshot days covering the window plus the live holds over it (owner's own kept apart)."""
        days = utc_days(window_start_ms, window_end_ms)
        tenant = tenant_of_owner(owner)
        resource = await self.resource_of(event_type_id, credentials)
        snapshot = await self.snapshots.get(
            event_type_id, duration, days, credentials, max_age_ms=max_age_ms, tenant=tenant
        )
        # Holds may start before the window yet overlap its first slot, so look one day further back.
        window = (resource, days[0] * DAY_MS - DAY_MS, (days[-1] + 2) * DAY_MS)
        remembered = self._remembered(*window)
        if remembered is not None:
            found, version = remembered
            return self._view(event_type_id, resource, snapshot, found, owner, version)
        live = await self.reads.read(window, lambda: self.holds.live(*window))
        return self._view(event_type_id, resource, snapshot, live, owner)

    def _view(
        self,
        event_type_id: int,
        resource: str,
        snapshot: Snapshot,
        live: list[Hold],
        owner: str,
        version: int | None = None,
    ) -> View:
        tenant = tenant_of_owner(owner)
        return View(
            holds_version=version,
            event_type_id=event_type_id,
            resource=resource,
            snapshot=snapshot,
            busy=busy_for(live, owner),
            own=[h for h in live if h.owner == owner and h.state is not HoldState.BOOKED],
            now_ms=int(self.clock() * 1000),
            tenant_holds=tuple(
                h for h in live if h.state is not HoldState.BOOKED and owner_in_tenant(h.owner, tenant)
            ),
        )
