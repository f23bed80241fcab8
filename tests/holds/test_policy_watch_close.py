"""Closing a store whose policy watcher has just started ends it (no lost cancellation, no hang)."""

from __future__ import annotations

import asyncio

import pytest

from holds import HoldStore, PolicyStore, TtlPolicy

DEFAULTS = TtlPolicy(default_ms=60_000, min_ms=1_000, max_ms=600_000)


@pytest.mark.parametrize("attempt", range(3))
async def test_aclose_right_after_the_first_acquire_returns(redis, attempt):
    store = HoldStore(redis, clock=lambda: 1_000.0, policy=PolicyStore(redis, defaults=DEFAULTS))
    await store.acquire("et:1", 0, 3_600_000, "a")
    closing = asyncio.create_task(store.aclose())
    done, _ = await asyncio.wait([closing], timeout=3)
    assert done, "aclose hung: the watcher's cancellation was lost"
    await store.aclose()  # idempotent
