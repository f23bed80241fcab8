"""Read batching: concurrent identical reads share one Redis round trip, without ever reading stale.

A caller joins a batch only while the batch has not been sent yet; the batch is sent on the next turn of
the event loop. So every joiner's read starts after it arrived, and sees every hold acquired before it
arrived: exactly what a read of its own would see, at one round trip for the whole batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class ReadBatcher(Generic[K, T]):
    """One in-flight read per key among the callers that arrive before it is sent."""

    def __init__(self) -> None:
        self._open: dict[K, asyncio.Future[T]] = {}
        self.sent = 0

    async def read(self, key: K, fetch: Callable[[], Awaitable[T]]) -> T:
        """The result of `fetch()`, shared with every caller of the same key in this batch."""
        future = self._open.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._open[key] = future
            loop.call_soon(self._send, key, future, fetch)
        # shield: one caller giving up must not cancel the read the others wait for.
        return await asyncio.shield(future)

    def _send(self, key: K, future: asyncio.Future[T], fetch: Callable[[], Awaitable[T]]) -> None:
        del self._open[key]  # From now on, newcomers start a new batch.
        self.sent += 1
        task = asyncio.ensure_future(fetch())
        task.add_done_callback(lambda done: _settle(future, done))


def _settle(future: asyncio.Future[T], done: asyncio.Future[T]) -> None:
    if future.cancelled():
        return
    if done.cancelled():
        future.cancel()
    elif (error := done.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(done.result())
