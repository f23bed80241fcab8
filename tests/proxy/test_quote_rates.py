"""Quote rates remember a refusal until the window frees (proxy.budgets.QuoteRates): a flood of refused
requests costs Redis nothing after the first, and counts in no window."""

from __future__ import annotations

import time
from typing import Any

import fakeredis
import pytest

from proxy.budgets import QuoteRates, Throttled, rate_storage
from proxy.keys import ProxyKeys


def rates(
    per_tenant: int, per_address: int, clock: Any = time.time, max_refused: int = 10_000
) -> tuple[QuoteRates, list[str]]:
    """Rates on a fresh fakeredis, and the identifiers the limiter was asked about, in order."""
    redis = fakeredis.FakeAsyncRedis()
    keys = ProxyKeys("calproxy")
    made = QuoteRates(rate_storage(redis, keys), keys, per_tenant, per_address, clock, max_refused)
    asked: list[str] = []
    hit = made._limiter.hit

    async def counted(item: Any, ident: str, *rest: str) -> bool:
        asked.append(ident)
        return await hit(item, ident, *rest)

    made._limiter.hit = counted  # type: ignore[method-assign]
    return made, asked


async def test_a_refusal_is_remembered_until_the_window_frees() -> None:
    limited, asked = rates(per_tenant=2, per_address=0)
    await limited.hit("t", "10.0.0.1")
    await limited.hit("t", "10.0.0.1")
    with pytest.raises(Throttled) as first:
        await limited.hit("t", "10.0.0.1")
    assert len(asked) == 3
    for _ in range(20):
        with pytest.raises(Throttled) as again:
            await limited.hit("t", "10.0.0.1")
        assert 1 <= again.value.retry_after_s <= first.value.retry_after_s <= 60
    assert len(asked) == 3, "refused from memory: no round trip"
    # Another tenant is not affected.
    await limited.hit("u", "10.0.0.1")
    assert len(asked) == 4


async def test_past_the_remembered_reset_redis_is_asked_again() -> None:
    offset = [0.0]
    limited, asked = rates(per_tenant=1, per_address=0, clock=lambda: time.time() + offset[0])
    await limited.hit("t", "a")
    with pytest.raises(Throttled):
        await limited.hit("t", "a")
    offset[0] = 61.0  # this process's clock past the reset it was told; Redis's window is still full
    with pytest.raises(Throttled):
        await limited.hit("t", "a")
    assert len(asked) == 3


async def test_a_request_refused_from_memory_counts_in_no_window() -> None:
    """A flood under one tenant does not use up the window of the address it shares with others."""
    limited, _ = rates(per_tenant=1, per_address=3)
    await limited.hit("flood", "shared")  # address window: 1
    with pytest.raises(Throttled):
        await limited.hit("flood", "shared")  # refused by its tenant window; address window: 2
    for _ in range(10):
        with pytest.raises(Throttled):
            await limited.hit("flood", "shared")  # from memory: the address window stays at 2
    await limited.hit("neighbour", "shared")  # address window: 3
    with pytest.raises(Throttled):
        await limited.hit("other", "shared")


def test_the_memory_is_bounded() -> None:
    limited, _ = rates(per_tenant=1, per_address=0, max_refused=3)
    now = time.time()
    for n in range(3):
        limited._remember(f"old{n}", now - 1)
    limited._remember("live", now + 30)
    memory = limited._refused_until
    assert len(memory) == 1 and memory.get("live") is not None
    for n in range(3):
        limited._remember(f"new{n}", now + 30)
    assert len(memory) <= 3
