"""Operator statistics shared by every process: quote-to-commit observations for the TTL advisor.

Every quoted hold opens an observation (created, expiry) in Redis; a commit closes it as an event, a
release closes it as censored at release, and one whose expiry passed unused is censored at its lifetime,
lazily, by whichever script runs next. Each write is one script call (one round trip) and never fails
its caller: a stats write that fails is logged and ignored. The estimator itself is `proxy.advisor`.

Keys (one hash tag, so each script may touch all of them): `…:obs:open` hash id → "created|expires",
`…:obs:exp` zset id by expiry, `…:obs:done` zset "kind|duration_ms|id" by closing time, kind b/r/x.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from holds import Hold, TtlPolicy
from proxy.advisor import MIN_EVENTS, Advice, Bounds, Observation, Outcome, advise
from proxy.keys import ProxyKeys
from proxy.logs import get_logger

log = get_logger(__name__)

MAX_SAMPLES = 2000

MAX_OBSERVATIONS = 5000
WINDOW_S = 86_400.0
# A commit may convert a hold up to its budget after the hold's quoted expiry (begin_commit extends it);
# an observation is censored as expired only after this grace, so such a commit still counts as an event.
GRACE_MS = 60_000
# Expired observations swept per write: bounds a write's cost; reads sweep everything.
SWEEP_BATCH = 20

SCRIPT_NAMES = ("open", "release", "commit", "read")


def script_source(name: str) -> str:
    """One stats script as sent to Redis: the sweep batch, the shared prelude, then the script's file."""
    lua = resources.files("proxy") / "lua"
    prelude = (lua / "stats_prelude.lua").read_text("utf-8")
    return f"local SWEEP = {SWEEP_BATCH}\n{prelude}\n" + (lua / f"stats_{name}.lua").read_text("utf-8")


_KINDS = {"b": Outcome.BOOKED, "r": Outcome.RELEASED, "x": Outcome.EXPIRED}


def percentile(sorted_values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def parse_closed(member: str) -> Observation | None:
    """A closed observation "kind|duration_ms|id"; None for anything malformed."""
    kind, _, rest = member.partition("|")
    duration, _, _ = rest.partition("|")
    if kind not in _KINDS or not duration.isdigit():
        return None
    return Observation(int(duration) / 1000, _KINDS[kind])


def parse_open(value: str, now_ms: int) -> Observation | None:
    """A still-open observation, censored at its current age (or at its lifetime once expired)."""
    created, _, expires = value.partition("|")
    if not (created.isdigit() and expires.isdigit()):
        return None
    end = min(now_ms, int(expires))
    outcome = Outcome.OPEN if int(expires) > now_ms else Outcome.EXPIRED
    return Observation(max(0, end - int(created)) / 1000, outcome)


def observation_id(resource: str, uid: str) -> str:
    """One hold's observation id (a resource never contains '|')."""
    return f"{resource}|{uid}"


@dataclass(frozen=True)
class OpsStats:
    """Shared quote-to-commit observations (bounded in number and time) and the advisor over them."""

    redis: Redis
    keys: ProxyKeys
    clock: Callable[[], float] = time.time
    window_s: float = WINDOW_S
    max_observations: int = MAX_OBSERVATIONS
    grace_ms: int = GRACE_MS
    min_events: int = MIN_EVENTS
    _scripts: dict[str, AsyncScript] = field(init=False, repr=False, compare=False)
    # Writes started off a caller's path; held here so they are neither garbage-collected nor forgotten.
    _pending: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scripts = {name: self.redis.register_script(script_source(name)) for name in SCRIPT_NAMES}
        object.__setattr__(self, "_scripts", scripts)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _obs_keys(self) -> list[str]:
        return [self.keys.observations_open(), self.keys.observations_expiry(), self.keys.observations_done()]

    def _args(self, now_ms: int) -> list[int]:
        return [now_ms, int(self.window_s * 1000), self.max_observations, self.grace_ms]

    async def _call(self, name: str, *args: str | int, extra_keys: Sequence[str] = ()) -> Any:
        keys = [*self._obs_keys(), *extra_keys]
        return await self._scripts[name](keys=keys, args=[*self._args(self._now_ms()), *args])

    async def hold_quoted(self, hold: Hold) -> None:
        """A hold quoted or reserved for a caller: open its observation, or move the expiry of a refresh."""
        try:
            hold_id = observation_id(hold.resource, hold.uid)
            await self._call("open", hold_id, hold.created_ms, hold.expires_at_ms)
        except Exception as exc:  # a stats write never fails a quote
            log.warning("stats_write_failed", op="hold_quoted", error=type(exc).__name__)

    def note_quoted(self, hold: Hold) -> None:
        """`hold_quoted` without making the quote wait for it (a quote's latency is what callers feel)."""
        task = asyncio.create_task(self.hold_quoted(hold))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the writes this process started in the background (so its own reads see them)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def hold_released(self, resource: str, uid: str) -> None:
        """A caller released the hold: censored at release."""
        try:
            await self._call("release", observation_id(resource, uid))
        except Exception as exc:
            log.warning("stats_write_failed", op="hold_released", error=type(exc).__name__)

    async def record_commit(self, resource: str, uid: str, age_ms: int) -> None:
        """A commit converted the hold: an event (and the booked-only sample list, in the same round trip)."""
        samples = [self.keys.quote_to_commit_samples()]
        try:
            await self._call("commit", observation_id(resource, uid), age_ms, MAX_SAMPLES, extra_keys=samples)
        except Exception as exc:  # the booking is verified; its statistics are not essential
            log.warning("stats_write_failed", op="record_commit", error=type(exc).__name__)

    async def observations(self) -> tuple[int, list[Observation]]:
        """(now_ms, every observation of the window), expired ones converted first."""
        await self.drain()
        now = self._now_ms()
        closed, flat = await self._scripts["read"](keys=self._obs_keys(), args=self._args(now))
        found = [parse_closed(_text(m)) for m in closed]
        found += [parse_open(_text(v), now) for v in flat[1::2]]
        return now, [o for o in found if o is not None]

    async def advisor(self, policy: TtlPolicy) -> Advice:
        """The advisor's view of the window against the policy in force."""
        now, observed = await self.observations()
        bounds = Bounds(policy.default_ms / 1000, policy.min_ms / 1000, policy.max_ms / 1000)
        return advise(observed, now_ms=now, window_s=self.window_s, bounds=bounds, min_events=self.min_events)

    async def summary(self) -> dict[str, Any]:
        """Quote-to-commit times of booked holds only (biased short: see the advisor for the real tail)."""
        raw = await self.redis.lrange(self.keys.quote_to_commit_samples(), 0, -1)
        values = sorted(int(v) for v in raw)
        return {
            "quoteToCommitMs": {
                "samples": len(values),
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "p99": percentile(values, 99),
                "max": values[-1] if values else None,
            },
        }
