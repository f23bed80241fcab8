"""Which calproxy processes are alive, so a commit a dead process left open is settled within seconds.

Every process writes a heartbeat key with a short TTL (`BEAT_TTL_S`) every `every_s` and announces itself in
a set of processes; a commit's ledger entry names its process. Every process also looks, on the same beat,
for announced processes whose heartbeat is gone: those died (SIGKILL, OOM, a lost host) without finishing
their commits, and one process at a time (a short lock) settles their open entries at once
(`Reconciler.settle_dead_process`) instead of waiting out the commit budget twice. A process that stops
cleanly deletes its heartbeat and leaves the set: it finished its requests first.

The heartbeat is Redis's own TTL, so the decision rests on Redis's clock, not on any process's. A process
paused for longer than the TTL (a stopped VM) is taken for dead: its commits are then settled by what
Cal.com holds, which is safe, because settling never confirms to a caller and a booking Cal.com made is
kept for the caller's retry (see the reconciler).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from holds.errors import STORE_ERRORS
from proxy.keys import ProxyKeys
from proxy.logs import get_logger
from proxy.periodic import repeating

log = get_logger(__name__)

BEAT_EVERY_S = 1.0
BEAT_TTL_S = 4.0
SWEEP_LOCK_S = 30.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Liveness:
    """This process's heartbeat, and the deaths of the others."""

    redis: Redis
    keys: ProxyKeys
    process_id: str = field(default_factory=lambda: secrets.token_hex(8))
    ttl_s: float = BEAT_TTL_S

    async def beat(self) -> None:
        """Refresh this process's heartbeat and announcement."""
        await self.redis.set(self.keys.process_alive(self.process_id), "1", px=int(self.ttl_s * 1000))
        await self.redis.sadd(self.keys.processes(), self.process_id)

    async def alive(self, process_id: str) -> bool:
        """Whether that process's heartbeat is current (this process always is)."""
        if process_id == self.process_id:
            return True
        return bool(await self.redis.exists(self.keys.process_alive(process_id)))

    async def dead(self) -> list[str]:
        """Announced processes without a heartbeat, that no other process is settling right now."""
        others = [_text(p) for p in await self.redis.smembers(self.keys.processes())]
        others = [p for p in others if p != self.process_id]
        if not others:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for process_id in others:
                pipe.exists(self.keys.process_alive(process_id))
            beating = await pipe.execute()
        return [p for p, alive in zip(others, beating, strict=True) if not alive]

    async def claim_sweep(self, process_id: str) -> bool:
        """Take the right to settle a dead process (SET NX with a TTL: a sweeper that dies lets go)."""
        key = self.keys.process_sweep(process_id)
        return bool(await self.redis.set(key, self.process_id, nx=True, px=int(SWEEP_LOCK_S * 1000)))

    async def forget(self, process_id: str) -> None:
        """A dead process whose open commits are all settled leaves the set."""
        await self.redis.srem(self.keys.processes(), process_id)
        await self.redis.delete(self.keys.process_sweep(process_id))

    @asynccontextmanager
    async def beating(
        self, on_death: Callable[[str], Awaitable[bool]], every_s: float = BEAT_EVERY_S
    ) -> AsyncIterator[None]:
        """Beat, and settle dead processes with `on_death` (True: all settled), while the block runs."""

        async def tick() -> None:
            try:
                await self.beat()
                for process_id in await self.dead():
                    if await self.claim_sweep(process_id):
                        log.warning("process_died", process=process_id)
                        if await on_death(process_id):
                            await self.forget(process_id)
            except Exception as exc:
                log.warning("liveness_check_failed", error=type(exc).__name__)

        async with repeating(tick, every_s, now=True):
            yield
        try:
            await self.redis.delete(self.keys.process_alive(self.process_id))
            await self.redis.srem(self.keys.processes(), self.process_id)
        except (*STORE_ERRORS, OSError) as exc:
            log.warning("liveness_not_cleared", error=type(exc).__name__)
