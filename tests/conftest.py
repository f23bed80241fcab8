"""Generic fixtures shared by every test package: Redis servers and clients.

- ``redis_server``: one real ``redis-server`` per session on a free loopback port, no persistence;
  the tests that use it are skipped when the binary is not installed.
- ``real_redis``: an async client to that server, database flushed before each test.
- ``redis``: parametrized ``fake`` (FakeAsyncRedis with Lua, a fresh FakeServer per test) and
  ``real`` (``real_redis``, marked ``real_redis``); ids are "fake" and "real".
- ``fake_server``: the FakeServer behind the ``fake`` client, e.g. to simulate an outage with
  ``fake_server.connected = False``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import fakeredis
import pytest
import redis.asyncio as aioredis

from tests.redis_server import RedisServer, redis_server_binary, start_redis_server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole session, stopped by PID at the end."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    server = start_redis_server()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def _flushed_client(server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(server.url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def real_redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client to the session server with an empty database."""
    async with _flushed_client(redis_server) as client:
        yield client


@pytest.fixture
def fake_server() -> fakeredis.FakeServer:
    """A fresh in-process fake Redis server."""
    return fakeredis.FakeServer()


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.real_redis)])
async def redis(
    request: pytest.FixtureRequest, fake_server: fakeredis.FakeServer
) -> AsyncIterator[aioredis.Redis]:
    """An async Redis client: fakeredis with Lua, or the real session server (flushed)."""
    if request.param == "fake":
        client = fakeredis.FakeAsyncRedis(server=fake_server)
        try:
            yield client
        finally:
            await client.aclose()
    else:
        # Only the real case may start (or skip for want of) the session server.
        async with _flushed_client(request.getfixturevalue("redis_server")) as client:
            yield client
