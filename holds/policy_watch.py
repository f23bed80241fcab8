"""PolicyWatcher: an in-process copy of the shared TTL policy, refreshed by pub/sub.

Why not read the policy inside the acquire script: the policy key lives in another hash slot than a
resource's keys, and acquire must stay one round trip. So each HoldStore keeps a copy. The first
use loads it; a background task then subscribes to the change channel and reloads on every message,
and also every ``recheck_s`` seconds in case a message was lost (pub/sub is at-most-once, e.g.
across a reconnect). Subscribing happens before the reload, so a change cannot slip in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisClusterException, RedisError

from holds.errors import HoldStoreUnavailable
from holds.models import TtlPolicy
from holds.policy import PolicyStore

logger = logging.getLogger(__name__)


class PolicyWatcher:
    """Keep the latest policy of a PolicyStore in memory without a round trip per read."""

    def __init__(self, store: PolicyStore, *, recheck_s: float = 5.0, retry_s: float = 1.0) -> None:
        self._store = store
        self._recheck_s = recheck_s
        self._retry_s = retry_s
        self._policy: TtlPolicy | None = None
        self._task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False

    async def current(self) -> TtlPolicy:
        """The latest known policy; the first call loads it and starts listening for changes."""
        if self._policy is None:
            async with self._start_lock:
                if self._policy is None:
                    self._policy = await self._store.load()
                    self._task = asyncio.create_task(self._listen(), name="holds-policy-watch")
        return self._policy

    async def aclose(self) -> None:
        """Stop listening.

        One cancel is not enough on Python 3.11: a cancel that lands just as the ``asyncio.wait_for``
        inside redis-py's ``get_message`` completes is swallowed, and the loop would go on for ever
        (seen as a hanging shutdown). So the loops also check ``_closed`` and the cancel is repeated
        until the task has ended.
        """
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.1)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _listen(self) -> None:
        while not self._closed:
            try:
                await self._follow()
            except (RedisError, RedisClusterException, HoldStoreUnavailable) as exc:
                logger.warning("policy watch lost its connection, retrying: %s", exc)
                await asyncio.sleep(self._retry_s)

    async def _follow(self) -> None:
        pubsub = self._store.redis.pubsub()
        try:
            await pubsub.subscribe(self._store.channel)
            while not self._closed:
                self._policy = await self._store.load()
                # A message or the recheck timeout both lead to a reload; the payload is not trusted.
                await pubsub.get_message(ignore_subscribe_messages=True, timeout=self._recheck_s)
        finally:
            await pubsub.aclose()
