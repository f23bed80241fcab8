"""The simulator's rate limit against Cal.com's source: CustomThrottlerGuard.incrementRateLimit
(apps/api/v2/src/lib/throttler-guard.ts:179-198, upstream dd7b6477) over @nest-lab/throttler-storage-redis
1.0.0, whose Lua script INCRs on every request and sets a block key once the hits pass the limit."""

from __future__ import annotations

from typing import Any

from proxy.upstream_budget import reset_seconds
from tests.sim.conftest import ALPHA, SLOTS_V, Clock, Factory, state_of

SLOTS = "/v2/slots?start=2030-09-02&end=2030-09-02&eventTypeId=1001"


async def _get(client: Any) -> tuple[int, str, str]:
    response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    headers = response.headers
    return response.status, headers["X-RateLimit-Remaining-Default"], headers["X-RateLimit-Reset-Default"]


async def test_past_the_limit_the_tracker_is_blocked_for_the_block_duration(
    make_client: Factory, clock: Clock
) -> None:
    """throttler-guard.ts:41,194-198: past the limit the key is blocked for
    RATE_LIMIT_DEFAULT_BLOCK_DURATION_MS (60 s) from the refused hit, with Remaining 0 and Reset the seconds
    left on the block."""
    client = await make_client(rate_limit=2)
    assert await _get(client) == (200, "1", "60")
    clock.advance(seconds=30)
    assert await _get(client) == (200, "0", "30")
    clock.advance(seconds=10)
    # The third hit (t=40) sets a 60 s block: it outlasts the hit counter's window (which ends at t=60).
    assert await _get(client) == (429, "0", "60")
    clock.advance(seconds=59.5)
    # t=99.5: the counter expired at t=60, so this refused hit starts a new one; the block has 0.5 s left.
    assert await _get(client) == (429, "0", "1")
    clock.advance(seconds=0.5)
    # t=100: block over, and this is the counter's 2nd hit: allowed, Reset is the counter's time left.
    assert await _get(client) == (200, "0", "60")


async def test_refused_requests_count_too(make_client: Factory, clock: Clock) -> None:
    """The storage script INCRs the hit key before it looks at the block key: a caller that keeps sending
    during a block is blocked again as soon as the block ends (a fixed window would let it through)."""
    client = await make_client(rate_limit=3)
    for _ in range(3):
        assert (await _get(client))[0] == 200
    clock.advance(seconds=30)
    assert await _get(client) == (429, "0", "60")  # blocked until t=90
    clock.advance(seconds=30)  # t=60: the hit counter starts over
    for _ in range(4):
        assert (await _get(client))[0] == 429
    clock.advance(seconds=30)  # t=90: block over, but this is the 5th hit of the counter that began at t=60
    assert await _get(client) == (429, "0", "60")
    stats = (await (await client.get("/_sim/stats")).json())["data"]
    assert stats["rateLimited"] == 6


async def test_block_duration_scales_with_the_rate_limit_window(make_client: Factory, clock: Clock) -> None:
    """RATE_LIMIT_DEFAULT_BLOCK_DURATION_MS equals RATE_LIMIT_DEFAULT_TTL_MS (throttler-guard.ts:34,41); the
    simulator's window stands for the TTL, so a compressed window compresses the block alike."""
    client = await make_client(rate_limit=1, rate_limit_window_s=6.0)
    assert await _get(client) == (200, "0", "6")
    assert await _get(client) == (429, "0", "6")
    assert state_of(client).limiter.block_s == 6.0
    clock.advance(seconds=6)
    assert await _get(client) == (200, "0", "6")


async def test_rate_limit_reset_during_a_block_drives_the_upstream_pause(make_client: Factory) -> None:
    """calproxy's shared budget (proxy/upstream_budget.py) pauses until X-RateLimit-Reset-Default: during a
    block that is the block's time left (throttler-guard.ts:198), not the counter window's."""
    client = await make_client(rate_limit=1)
    await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    response = await client.get(SLOTS, headers={**SLOTS_V, **ALPHA})
    assert response.status == 429
    assert reset_seconds(dict(response.headers), 0.0) == 60


async def test_unknown_routes_are_not_counted(make_client: Factory) -> None:
    """Nest runs the global CustomThrottlerGuard only for a matched route; Express answers an unknown path
    with its 404 before any guard, so it neither counts nor carries X-RateLimit headers."""
    client = await make_client(rate_limit=1)
    for _ in range(3):
        response = await client.get("/v2/nope", headers=ALPHA)
        assert response.status == 404 and "X-RateLimit-Limit-Default" not in response.headers
    assert await _get(client) == (200, "0", "60")
