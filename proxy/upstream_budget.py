"""A shared upstream budget (issue 10, item 3): every process draws Cal.com requests from one budget per
credential in Redis, with priorities, and a Cal.com 429 pauses everyone with that credential.

- The budget is a sliding-window log per credential (`proxy/lua/upstream_budget_take.lua`, Redis's clock):
  at most `per_minute` requests in any 61 s (Cal.com counts a fixed 60 s window per key from the first hit;
  the extra second absorbs the time a request takes to reach it).
- Priorities share it: commits and their verification/compensation may use all of it, slot fetches and
  callers' other requests up to 90 %, background work (reconciliation, catalogue look-ups) up to 50 %, so
  background work never spends what commits need. A lower priority that finds its share used waits for room,
  up to a bound (commits 2 s, slots 1 s, background 20 s), and is then answered a Cal.com-shaped 429 without
  going upstream (reconciliation counts that page "unknown", never "missing").
- A Cal.com 429 stores a pause (`upstream_budget_pause.lua`) until Cal.com's reset (X-RateLimit-Reset-Default,
  X-RateLimit-Reset or Retry-After; 60 s when none says): every process answers 429 at once during it,
  except that a commit waits for a pause that ends within its 2 s bound.
- Credentials are keyed by an HMAC of the credential (never the credential); a request without one is
  Cal.com's per-IP tracker, one shared "anonymous" budget.
- If Redis cannot be asked, the request goes upstream (fail open: Cal.com's own limit still holds).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import httpx
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from holds.errors import STORE_ERRORS
from proxy.calcom.errors import TooManyRequests
from proxy.calcom.jsonwire import dumps
from proxy.keys import ProxyKeys
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.upstream import Admission, UpstreamResponse

log = get_logger(__name__)

Priority = Literal["commit", "slots", "mirror", "background"]
PRIORITIES: tuple[Priority, ...] = ("commit", "slots", "mirror", "background")
# "mirror": holds mirrored as Cal.com reservations (proxy.mirror) never wait: a mirror that cannot be sent at
# once is skipped (the hold stays Redis-only), so it never delays anything or piles up.
SHARES: dict[Priority, float] = {"commit": 1.0, "slots": 0.9, "mirror": 0.3, "background": 0.5}
MAX_WAIT_S: dict[Priority, float] = {"commit": 2.0, "slots": 1.0, "mirror": 0.0, "background": 20.0}
WINDOW_MS = 61_000
DEFAULT_PAUSE_S = 60.0
MAX_PAUSE_S = 300.0
BUDGET_HEADER = "X-Calproxy-Upstream-Budget"
TAKE_SOURCE = (resources.files("proxy") / "lua" / "upstream_budget_take.lua").read_text("utf-8")
PAUSE_SOURCE = (resources.files("proxy") / "lua" / "upstream_budget_pause.lua").read_text("utf-8")

# Commit-path endpoints: the create itself, its verification look-ups and its compensation.
COMMIT_ENDPOINTS = frozenset(
    {
        ("POST", "/v2/bookings"),
        ("GET", "/v2/bookings"),
        ("GET", "/v2/bookings/{uid}"),
        ("POST", "/v2/bookings/{uid}/cancel"),
        ("POST", "/v2/bookings/{uid}/reschedule"),
    }
)
# Caller-facing reads: slots, a caller's credential check, and passthrough requests.
SLOTS_ENDPOINTS = frozenset({"/v2/slots", "/v2/me", "passthrough"})

_current: ContextVar[Priority | None] = ContextVar("calproxy_upstream_priority", default=None)


@contextmanager
def upstream_priority(priority: Priority) -> Iterator[None]:
    """Every upstream request made inside this block (in this task) draws at `priority`."""
    token = _current.set(priority)
    try:
        yield
    finally:
        _current.reset(token)


def priority_for(method: str, endpoint: str, explicit: str | None = None) -> Priority:
    """The explicit priority, else the block's (`upstream_priority`), else the endpoint's default."""
    for chosen in (explicit, _current.get()):
        if chosen in PRIORITIES:
            return chosen
    if (method, endpoint) in COMMIT_ENDPOINTS:
        return "commit"
    if endpoint in SLOTS_ENDPOINTS:
        return "slots"
    return "background"  # catalogue look-ups (event types, schedules) for zones and operator views


def share_limit(per_minute: int, priority: Priority) -> int:
    """Requests this priority may see in the window before it waits (at least 1)."""
    return max(1, math.floor(per_minute * SHARES[priority]))


def tracker_of(headers: Mapping[str, str], secret: bytes) -> str:
    """Cal.com's rate-limit tracker of a request, as a keyed hash: API key / token, OAuth client, or none."""
    lowered = {name.lower(): value for name, value in headers.items()}
    auth = lowered.get("authorization", "").strip()
    if auth:
        material = "bearer:" + auth.removeprefix("Bearer ").strip()
    elif lowered.get("x-cal-client-id"):
        material = "client:" + lowered["x-cal-client-id"]
    else:
        return "anonymous"
    return hmac.new(secret, material.encode(), hashlib.sha256).hexdigest()[:32]


def reset_seconds(headers: httpx.Headers | Mapping[str, str], now_s: float) -> float:
    """How long Cal.com blocks after a 429, from its headers (seconds-until, or an epoch), else 60 s."""
    found: list[float] = []
    for name in ("X-RateLimit-Reset-Default", "X-RateLimit-Reset", "Retry-After"):
        raw = headers.get(name)
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        if value is None or value <= 0:
            continue
        # Third-party docs call the reset an epoch; Cal.com's code sends seconds. Accept both.
        found.append(value - now_s if value > 1_000_000_000 else value)
    chosen = max(found) if found else DEFAULT_PAUSE_S
    return min(MAX_PAUSE_S, max(1.0, chosen))


def refusal(path: str, priority: Priority, kind: str, retry_after_ms: int, limit: int) -> UpstreamResponse:
    """Cal.com's own 429 (ThrottlerException) for a request the budget kept from going upstream."""
    retry_s = max(1, math.ceil(retry_after_ms / 1000))
    body = TooManyRequests().body(path)
    headers = httpx.Headers(
        {
            "content-type": "application/json; charset=utf-8",
            "Retry-After": str(retry_s),
            "X-RateLimit-Limit-Default": str(limit),
            "X-RateLimit-Remaining-Default": "0",
            "X-RateLimit-Reset-Default": str(retry_s),
            BUDGET_HEADER: f"{kind}; priority={priority}",
        }
    )
    return UpstreamResponse(429, headers, dumps(body).encode())


def is_budget_refusal(response: UpstreamResponse) -> bool:
    """Whether a 429 came from the shared budget rather than from Cal.com."""
    return BUDGET_HEADER in response.headers


@dataclass
class UpstreamBudget:
    """The shared budget; plugged into CalcomClient as its gate."""

    redis: Redis
    keys: ProxyKeys
    per_minute: int
    secret: bytes
    metrics: Metrics
    # None: Redis's own clock (production); tests pass one to control time.
    clock_ms: Callable[[], int] | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    window_ms: int = WINDOW_MS
    _take: AsyncScript = field(init=False, repr=False)
    _pause: AsyncScript = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._take = self.redis.register_script(TAKE_SOURCE)
        self._pause = self.redis.register_script(PAUSE_SOURCE)

    @property
    def enabled(self) -> bool:
        """0 per minute turns the budget off."""
        return self.per_minute > 0

    async def admit(
        self, method: str, endpoint: str, path: str, headers: Mapping[str, str], priority: str | None
    ) -> UpstreamResponse | None:
        """None: send the request. Else the 429 to answer instead (the budget or a pause said no)."""
        return (await self.admit_ahead(method, endpoint, path, headers, priority)).refusal

    async def admit_ahead(
        self, method: str, endpoint: str, path: str, headers: Mapping[str, str], priority: str | None
    ) -> Admission:
        """The refusal, or a grant naming the request's place in the window (for `refund`)."""
        if not self.enabled:
            return Admission()
        chosen = priority_for(method, endpoint, priority)
        tracker = tracker_of(headers, self.secret)
        limit = share_limit(self.per_minute, chosen)
        started = time.monotonic()
        waited = False
        while True:
            try:
                taken, wait_ms, kind, member = await self._ask(tracker, limit)
            except (*STORE_ERRORS, OSError) as exc:
                log.warning("upstream_budget_unavailable", error=type(exc).__name__)
                self.metrics.upstream_budget.labels(priority=chosen, result="error").inc()
                return Admission()
            elapsed = time.monotonic() - started
            if taken:
                result = "waited" if waited else "granted"
                self.metrics.upstream_budget.labels(priority=chosen, result=result).inc()
                if waited:
                    self.metrics.upstream_budget_wait.labels(priority=chosen).observe(elapsed)
                return Admission(grant=member)
            left = MAX_WAIT_S[chosen] - elapsed
            # A pause is Cal.com's block: only a commit waits, and only for one that ends within its bound.
            may_wait = wait_ms / 1000 <= left and (kind == 2 or chosen == "commit")
            if not may_wait:
                self.metrics.upstream_budget.labels(priority=chosen, result="refused").inc()
                label = "paused" if kind == 1 else "exhausted"
                log.info("upstream_budget_refused", priority=chosen, kind=label, retry_after_ms=wait_ms)
                return Admission(refusal=refusal(path, chosen, label, wait_ms, self.per_minute))
            waited = True
            await self.sleep(wait_ms / 1000 + 0.005)

    async def refund(self, headers: Mapping[str, str], admission: Admission) -> None:
        """Remove a granted request that was never sent from its window (best effort)."""
        if not self.enabled or not isinstance(admission.grant, str):
            return
        tracker = tracker_of(headers, self.secret)
        try:
            await self.redis.zrem(self.keys.upstream_window(tracker), admission.grant)
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("upstream_budget_refund_failed", error=type(exc).__name__)

    async def throttled(self, headers: Mapping[str, str], response_headers: httpx.Headers) -> None:
        """Cal.com answered 429: pause every process's requests with this credential until its reset."""
        if not self.enabled:
            return
        tracker = tracker_of(headers, self.secret)
        pause_s = reset_seconds(response_headers, time.time())
        self.metrics.upstream_pauses.inc()
        log.warning("upstream_paused", pause_s=round(pause_s, 1))
        try:
            await self._pause(keys=[self.keys.upstream_pause(tracker)], args=[int(pause_s * 1000)])
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("upstream_pause_not_stored", error=type(exc).__name__)

    async def _ask(self, tracker: str, limit: int) -> tuple[bool, int, int, str | None]:
        now = "" if self.clock_ms is None else str(self.clock_ms())
        keys = [self.keys.upstream_window(tracker), self.keys.upstream_pause(tracker)]
        args: list[str | int] = [now, self.window_ms, limit, secrets.token_hex(6)]
        result = await self._take(keys=keys, args=args)
        taken, wait_ms, kind = (int(v) for v in result[:3])
        member = result[3] if len(result) > 3 else None
        text = member.decode() if isinstance(member, bytes) else member
        return taken == 1, wait_ms, kind, text
