"""A background action repeated every few seconds for as long as a block runs, and stopped for sure.

Stopping by cancellation alone is not enough: on Python 3.11 a cancel can be swallowed inside redis-py's
connection handling, and the loop then goes back to sleep while shutdown waits for it forever. So the loop
also watches a stop event, and the stopper cancels again until the task has really ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

STOP_POLL_S = 0.05


@asynccontextmanager
async def repeating(
    action: Callable[[], Awaitable[object]], every_s: float, *, now: bool
) -> AsyncIterator[None]:
    """Run `action` every `every_s` (first at once when `now`) until the block ends."""
    stop = asyncio.Event()

    async def loop() -> None:
        if not now:
            await _pause(stop, every_s)
        while not stop.is_set():
            await action()
            await _pause(stop, every_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await stop_task(task)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def stop_task(task: asyncio.Task[object] | asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has ended, cancelling again if a cancel was swallowed."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=STOP_POLL_S)
    with suppress(asyncio.CancelledError, Exception):
        task.result()
