from __future__ import annotations


async def test_redis_fixture_answers_ping(redis):
    assert await redis.ping() is True
    await redis.set("k", "v")
    assert await redis.get("k") == b"v"


async def test_redis_fixture_starts_empty(redis):
    assert await redis.dbsize() == 0
    await redis.set("leftover", "1")
