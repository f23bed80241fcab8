"""Read batching: joiners share one read, and no read starts before a joiner arrived."""

from __future__ import annotations

import asyncio

import pytest

from proxy.batching import ReadBatcher


async def test_concurrent_reads_of_one_key_share_one_fetch() -> None:
    batcher: ReadBatcher[str, int] = ReadBatcher()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return calls

    results = await asyncio.gather(
        *(batcher.read("k", fetch) for _ in range(20)), batcher.read("other", fetch)
    )
    assert results[:20] == [results[0]] * 20
    assert calls == 2 and batcher.sent == 2


async def test_a_reader_arriving_after_the_send_gets_a_fresh_read() -> None:
    batcher: ReadBatcher[str, int] = ReadBatcher()
    state = {"value": 0}
    release = asyncio.Event()

    async def fetch() -> int:
        seen = state["value"]
        await release.wait()
        return seen

    first = asyncio.ensure_future(batcher.read("k", fetch))
    await asyncio.sleep(0.01)  # the first batch is now in flight with value 0
    state["value"] = 1  # a write completes...
    second = asyncio.ensure_future(batcher.read("k", fetch))  # ...then a new reader arrives
    await asyncio.sleep(0.01)
    release.set()
    assert await first == 0
    assert await second == 1, "a batch sent before this reader arrived must not answer it"


async def test_errors_reach_every_joiner_and_cancelling_one_spares_the_rest() -> None:
    batcher: ReadBatcher[str, int] = ReadBatcher()

    async def boom() -> int:
        await asyncio.sleep(0)
        raise RuntimeError("redis down")

    results = await asyncio.gather(*(batcher.read("k", boom) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def slow() -> int:
        await asyncio.sleep(0.01)
        return 7

    a = asyncio.ensure_future(batcher.read("k", slow))
    b = asyncio.ensure_future(batcher.read("k", slow))
    await asyncio.sleep(0)
    a.cancel()
    assert await b == 7
    with pytest.raises(asyncio.CancelledError):
        await a
