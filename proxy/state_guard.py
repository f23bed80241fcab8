"""Notices a Redis that lost its data, so the loss is logged, counted and repaired, never silent.

A sentinel key (random token, no TTL) is written once; every `every_s` each process reads it and Redis's
`run_id`. A sentinel that vanishes while a process runs means the data was lost (an empty restart, a flush,
a failover to an empty replica): holds, ledger and idempotency records may be gone, so the guard counts it,
drops the process's snapshot memo and asks for a reconciliation at once, which rebuilds the ledger from the
bookings in Cal.com that carry calproxy's tag. No sentinel at a process's first look is a new dataset (or
one lost while no process ran: the periodic reconciliation sweeps it). A changed `run_id` with the sentinel
intact is a restart that kept its data (AOF): logged only.

No decision waits for the guard: a commit is verified against Cal.com's own answer whatever Redis holds, so
a lost ledger can leave a booking unknown for a moment, never confirm one falsely.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from holds.errors import STORE_ERRORS
from proxy.keys import ProxyKeys
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.periodic import repeating, stop_task

log = get_logger(__name__)

CHECK_EVERY_S = 2.0


class StateChange(StrEnum):
    """What one check found."""

    UNCHANGED = "unchanged"
    INITIALISED = "initialised"  # no sentinel at this process's first look: a new (or already lost) dataset
    LOST = "lost"  # the sentinel this process saw is gone: the data was lost while we ran
    RESTARTED = "restarted"  # same data, new server process (run_id changed)
    UNREACHABLE = "unreachable"


@dataclass
class StateGuard:
    """One per process; `check` is cheap (GET + INFO server) and never raises."""

    redis: Redis
    keys: ProxyKeys
    metrics: Metrics
    on_loss: Callable[[], Coroutine[Any, Any, Any]]
    # Process-local caches resting on Redis state (the snapshot memo), dropped the moment a loss is seen.
    forget_local: Callable[[], None] = lambda: None
    _seen_sentinel: bool = field(default=False, init=False)
    _run_id: str | None = field(default=None, init=False)
    _repairs: set[asyncio.Task[Any]] = field(default_factory=set, init=False)
    # Two overlapping checks would each read "no sentinel" and the later one would call the earlier one's
    # fresh write a loss: one check at a time per process.
    _checking: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def check(self) -> StateChange:
        """Compare what Redis holds now with what this process saw before; repair a loss."""
        async with self._checking:
            return await self._check()

    async def _check(self) -> StateChange:
        try:
            present = await self.redis.get(self.keys.sentinel()) is not None
            run_id = await self._run_id_now()
            if not present:
                await self.redis.set(self.keys.sentinel(), secrets.token_hex(8), nx=True)
        except (*STORE_ERRORS, OSError):
            return StateChange.UNREACHABLE
        change = self._judge(present, run_id)
        self._seen_sentinel, self._run_id = True, run_id or self._run_id
        self._report(change)
        return change

    def _judge(self, present: bool, run_id: str | None) -> StateChange:
        if not present:
            return StateChange.LOST if self._seen_sentinel else StateChange.INITIALISED
        if self._run_id is not None and run_id is not None and run_id != self._run_id:
            return StateChange.RESTARTED
        return StateChange.UNCHANGED

    async def _run_id_now(self) -> str | None:
        # A cluster answers INFO per node, the embedded fakeredis not at all: there the sentinel alone tells.
        try:
            info = await self.redis.info("server")
        except ResponseError:
            return None
        run_id = info.get("run_id") if isinstance(info, dict) else None
        return run_id if isinstance(run_id, str) else None

    def _report(self, change: StateChange) -> None:
        if change is StateChange.UNCHANGED:
            return
        self.metrics.redis_state_changes.labels(change=change.value).inc()
        if change is StateChange.RESTARTED:
            log.warning("redis_restarted", note="data kept (the sentinel survived)")
            return
        if change is StateChange.INITIALISED:
            # Most often a fresh deployment; a loss while no process ran is swept by the periodic reconcile.
            log.info("redis_state_initialised", note="no sentinel yet: a new dataset, or one lost while down")
            return
        log.error("redis_state_lost", note="holds, ledger, idempotency records may be gone: rebuilding")
        self.forget_local()
        task: asyncio.Task[Any] = asyncio.create_task(self.on_loss())
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    @asynccontextmanager
    async def watching(self, every_s: float = CHECK_EVERY_S) -> AsyncIterator[None]:
        """Check now and then every `every_s` while the block runs; repairs still running are stopped."""
        try:
            async with repeating(self.check, every_s, now=True):
                yield
        finally:
            for running in list(self._repairs):
                await stop_task(running)
