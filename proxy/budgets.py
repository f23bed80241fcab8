"""Hold budgets and quote rates (issue 9, item 3): nobody can hoard a calendar's slots.

Three budgets bound live holds (a refresh of one's own hold is free). The share is pre-checked on the
caller's view before acquiring; the tenant's counts are then checked atomically right after the acquire
(a Lua script adds the hold and takes it back out if a limit is exceeded, and the hold is released):
- per caller: `max_holds_per_owner` in the hold engine (the oldest of the caller's holds is evicted);
- per tenant: live holds across every resource, counted in a Redis zset per tenant scored by expiry;
- per resource share: on the UTC day of the slot asked for, a tenant may hold at most `share` of what
  it could hold there (its holds plus the slots still free to it), and never less than `floor`. With
  share 0.5 a tenant stops once its holds match the free slots it leaves, so any other tenant still finds
  at least as many free slots that day as the hoarder holds.
Quote and reservation *rates* are bounded per tenant and per source address with the `limits` library
(moving window) on the proxy's Redis, shared by all processes. Every refusal is Cal.com's ThrottlerException
429 with a `Retry-After` header (Cal.com itself sends none; a caller of calproxy gets told when to retry).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from holds import Hold, HoldError, HoldStore
from holds.errors import STORE_ERRORS
from proxy.availability import View
from proxy.calcom.errors import TooManyRequests
from proxy.keys import ProxyKeys
from proxy.localcache import TtlMemo
from proxy.logs import get_logger
from proxy.slotmath import DAY_MS

log = get_logger(__name__)


class Throttled(TooManyRequests):
    """Cal.com's 429 ThrottlerException, plus when to retry (rendered as `Retry-After`)."""

    def __init__(self, retry_after_s: int, message: str = TooManyRequests.MESSAGE) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


# ---- pure rules ----------------------------------------------------------------------------------


def share_cap(pool: int, share: float, floor: int) -> int:
    """Most holds a tenant may have in a window where `pool` slots are held by it or free to it."""
    return max(floor, math.floor(share * max(0, pool)))


def share_room(mine: int, free_to_tenant: int, share: float, floor: int) -> int:
    """How many more holds the tenant may take in this window (0 or more).

    `mine`: the tenant's live holds in the window; `free_to_tenant`: free slots it could still take
    there (its own caller's held slots excluded). The pool is both together.
    """
    return max(0, share_cap(mine + free_to_tenant, share, floor) - mine)


def retry_after_s(earliest_expiry_ms: int | None, now_ms: int, default_s: int = 1) -> int:
    """Seconds until the earliest of the blocking holds expires (at least 1)."""
    if earliest_expiry_ms is None:
        return default_s
    return max(1, math.ceil((earliest_expiry_ms - now_ms) / 1000))


def day_of(ms: int) -> int:
    """The UTC day number of an instant (the share rule's window)."""
    return ms // DAY_MS


def address_digest(address: str) -> str:
    """A short hash of a source address: rate-limit keys never hold the address itself."""
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def hold_ref(resource: str, start_ms: int, uid: str) -> str:
    """A tenant zset member: which hold (its start too, so a booked slot can be dropped without its uid)."""
    return f"{resource}|{start_ms}|{uid}"


# ---- per-tenant live holds -----------------------------------------------------------------------

# One script, read once: see its header for keys, arguments and reply.
RECORD_SOURCE = (resources.files("proxy") / "lua" / "tenant_holds_record.lua").read_text("utf-8")


@dataclass
class TenantHolds:
    """Counts a tenant's live holds, in all and per resource and UTC day, across every process."""

    redis: Redis
    keys: ProxyKeys
    budget: int
    # Tests only: expiries are on Redis's clock (the holds' one clock), so pruning must be too; None = TIME.
    clock: Callable[[], float] | None = None
    _record: AsyncScript = field(init=False)

    def __post_init__(self) -> None:
        self._record = self.redis.register_script(RECORD_SOURCE)

    def _now_arg(self) -> int | str:
        return "" if self.clock is None else int(self.clock() * 1000)

    async def record(self, tenant: str, hold: Hold, day_cap: int) -> int | None:
        """Count a hold just acquired; None when counted, else the earliest expiry that frees room."""
        keys = [
            self.keys.tenant_holds(tenant),
            self.keys.tenant_day_holds(tenant, hold.resource, day_of(hold.start_ms)),
        ]
        member = hold_ref(hold.resource, hold.start_ms, hold.uid)
        result = await self._record(
            keys=keys, args=[self._now_arg(), member, hold.expires_at_ms, self.budget, day_cap]
        )
        if int(result[0]) == 1:
            return None
        return max(0, int(result[1]))

    async def forget(self, tenant: str, hold: Hold) -> None:
        """A hold of the tenant ended (released): it no longer counts."""
        await self._drop(
            tenant, hold.resource, hold.start_ms, [hold_ref(hold.resource, hold.start_ms, hold.uid)]
        )

    async def forget_slot(self, tenant: str, resource: str, start_ms: int) -> None:
        """The tenant booked this slot: its hold there (now a booked marker) no longer counts."""
        day_key = self.keys.tenant_day_holds(tenant, resource, day_of(start_ms))
        prefix = f"{resource}|{start_ms}|"
        members = [
            m.decode() if isinstance(m, bytes) else str(m) for m in await self.redis.zrange(day_key, 0, -1)
        ]
        refs = [m for m in members if m.startswith(prefix)]
        if refs:
            await self._drop(tenant, resource, start_ms, refs)

    async def _drop(self, tenant: str, resource: str, start_ms: int, refs: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.tenant_holds(tenant), *refs)
            pipe.zrem(self.keys.tenant_day_holds(tenant, resource, day_of(start_ms)), *refs)
            await pipe.execute()


# ---- quote rates -----------------------------------------------------------------------------------


class SharedClusterStorage(RedisClusterStorage):
    """`limits`' Redis Cluster storage on the proxy's own RedisCluster client instead of one of its own.

    Its moving window is one key per limit and identifier (the identifier carries the hash tag), so each
    of its scripts runs on one slot.
    """

    def __init__(self, client: RedisCluster, key_prefix: str) -> None:
        self._client = client
        # The URI is only parsed: configure_bridge below hands the bridge our client instead.
        super().__init__("async+redis+cluster://127.0.0.1:1", implementation="redispy", key_prefix=key_prefix)

    def configure_bridge(self) -> None:
        bridge: Any = self.bridge
        bridge.storage = self._client
        bridge.connection_getter = lambda _readonly: self._client


def rate_storage(redis: Redis, keys: ProxyKeys) -> Storage:
    """`limits` storage on the proxy's own Redis connection pool (real Redis or the embedded fakeredis).

    Sharing the pool means the limiter sees exactly the Redis the holds live in; on Redis Cluster it uses
    the proxy's cluster client. A client with neither gets per-process memory storage, and a warning,
    rather than no limit.
    """
    client: object = redis  # connect_redis types a RedisCluster as Redis
    if isinstance(client, RedisCluster):
        return SharedClusterStorage(client, keys.rate_limit_prefix())
    pool = getattr(redis, "connection_pool", None)
    if pool is None:
        log.warning("rate_limits_in_memory", reason="redis client has no connection pool")
        return MemoryStorage()
    return RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=pool,
        key_prefix=keys.rate_limit_prefix(),
    )


@dataclass
class QuoteRates:
    """Quotes and reservations per minute, per tenant and per source address (0 = no limit).

    A full window stays full until its oldest entry leaves it (`reset_time`), whatever any process does:
    a refused hit adds nothing to a moving window. So a refusal is remembered here until then, and a flood
    of refused requests costs Redis nothing after the first (it cost three round trips each). A request
    refused from memory is counted in neither window, so a flood under one tenant does not use up the
    window of the address it shares with others.
    """

    storage: Storage
    keys: ProxyKeys
    per_tenant: int
    per_address: int
    clock: Callable[[], float]
    # Bounded: identifiers refused at once are few; forgetting one only costs a round trip to learn it again.
    max_refused: int = 10_000
    _limiter: MovingWindowRateLimiter = field(init=False)
    # identifier -> the window's reset time, kept until then
    _refused_until: TtlMemo[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._refused_until = TtlMemo(0.0, max_entries=self.max_refused, clock=self.clock)

    async def hit(self, tenant: str, address: str) -> None:
        """Count one hold-creating request in both windows at once (one round trip of latency, not two);
        Throttled, with the longer wait, when either is full."""
        checks = [(self.per_tenant, self.keys.rate_tenant(tenant))]
        checks.append((self.per_address, self.keys.rate_address(address_digest(address))))
        checks = [(limit, ident) for limit, ident in checks if limit > 0]
        now = self.clock()
        known = [until for _, ident in checks if (until := self._refused_until.get(ident)) is not None]
        if known:
            raise Throttled(math.ceil(max(known) - now))
        waits = await asyncio.gather(*(self._hit(limit, ident) for limit, ident in checks))
        refused = [w for w in waits if w is not None]
        if refused:
            raise Throttled(max(refused))

    async def _hit(self, limit: int, ident: str) -> int | None:
        item = RateLimitItemPerMinute(limit)
        if await self._limiter.hit(item, ident, "quote"):
            return None
        stats = await self._limiter.get_window_stats(item, ident, "quote")
        log.info("quote_rate_limited", scope=ident.split(":")[0].lstrip("{"))
        self._remember(ident, stats.reset_time)
        return math.ceil(stats.reset_time - self.clock())

    def _remember(self, ident: str, until: float) -> None:
        self._refused_until.put(ident, until, until - self.clock())


# ---- the hold budget a quote or reservation asks -----------------------------------------------------


@dataclass
class HoldBudget:
    """The tenant and per-resource-share budgets, asked around creating a hold."""

    tenants: TenantHolds
    holds: HoldStore
    share: float
    floor: int
    # Writes started off a caller's path (see note_booked); held so they are not garbage-collected.
    _pending: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    def day_cap(self, view: View, at_ms: int) -> tuple[int, int, int]:
        """The share cap on the UTC day of `at_ms`, the tenant's holds and the free slots there (as seen).

        The share is counted per UTC day: a wider window would let a tenant take every slot of the next
        days while later days stay free, and callers want the near ones. The pool is the tenant's holds
        plus the slots still free to it that day (the caller's own holds show as free to it: not twice).
        """
        day = day_of(at_ms)
        mine = sum(1 for h in view.tenant_holds if day_of(h.start_ms) == day)
        own = {h.start_ms for h in view.own}
        free = sum(1 for s in view.free() if day_of(s) == day and s not in own)
        return share_cap(mine + free, self.share, self.floor), mine, free

    def precheck(self, view: View, at_ms: int) -> None:
        """Refuse before acquiring when the view already shows the day's share used up (no hold churn)."""
        _, mine, free = self.day_cap(view, at_ms)
        if share_room(mine, free, self.share, self.floor) <= 0:
            day = day_of(at_ms)
            earliest = min(
                (h.expires_at_ms for h in view.tenant_holds if day_of(h.start_ms) == day), default=None
            )
            raise Throttled(retry_after_s(earliest, view.now_ms))

    async def admit(self, view: View, tenant: str, hold: Hold, *, required: bool) -> bool:
        """Count a hold just acquired against both budgets; over either, release it (Throttled if required).

        Counting after the acquire means only holds that exist are counted: of many concurrent quotes of
        one slot, only the winner's hold counts, and the losers hear "held" as before.
        """
        cap, _, _ = self.day_cap(view, hold.start_ms)
        earliest = await self.tenants.record(tenant, hold, cap)
        if earliest is None:
            return True
        try:
            await self.holds.release(hold.resource, hold.uid, hold.owner)
        except HoldError:
            pass  # already gone (expired or evicted): nothing to give back
        if required:
            log.info("hold_budget_exhausted", resource=view.resource, cap=cap, budget=self.tenants.budget)
            raise Throttled(retry_after_s(earliest, view.now_ms))
        return False

    async def forget(self, tenant: str, hold: Hold) -> None:
        """A hold ended before its expiry."""
        await self.tenants.forget(tenant, hold)

    async def booked(self, tenant: str, resource: str, start_ms: int) -> None:
        """The tenant booked a slot: the hold it had there stops counting at once, not at its expiry."""
        await self.tenants.forget_slot(tenant, resource, start_ms)

    def note_booked(self, tenant: str, resource: str, start_ms: int) -> None:
        """`booked` without delaying, or failing, the answer of a verified booking: should the write fail,
        the hold only keeps counting until it expires."""
        task = asyncio.create_task(self._booked_quietly(tenant, resource, start_ms))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _booked_quietly(self, tenant: str, resource: str, start_ms: int) -> None:
        try:
            await self.booked(tenant, resource, start_ms)
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("budget_write_failed", op="booked", error=type(exc).__name__)
