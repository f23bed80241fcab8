"""Background loops stop for sure, even when a cancel is swallowed (as redis-py can on Python 3.11)."""

from __future__ import annotations

import asyncio

from proxy.periodic import repeating, stop_task


async def test_a_swallowed_cancel_does_not_hang_the_stop() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 2:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task), timeout=2)
    assert task.done() and swallowed == 3


async def test_repeating_runs_now_and_again_then_stops() -> None:
    calls = 0

    async def action() -> None:
        nonlocal calls
        calls += 1

    async with repeating(action, 0.01, now=True):
        await asyncio.sleep(0.05)
    seen = calls
    await asyncio.sleep(0.05)
    assert seen >= 2 and calls == seen  # nothing runs after the block
