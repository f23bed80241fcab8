"""A second `calproxy serve` on the same Redis and simulator as a test's own (see the `own_redis` fixture)."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.ops.support import clean_env, free_port
from tests.proxy.conftest import GROUPS


async def start_process(sim_url: str, redis_url: str) -> tuple[asyncio.subprocess.Process, str]:
    """A second calproxy process on the same Redis and simulator (started and killed by PID)."""
    port = free_port()
    env = clean_env(
        CALPROXY_UPSTREAM_URL=sim_url,
        REDIS_URL=redis_url,
        CALPROXY_UPSTREAM_API_KEY="cal_test_alpha",
        CALPROXY_RESOURCE_GROUPS=json.dumps({str(k): v for k, v in GROUPS.items()}),
        CALPROXY_RECONCILE_INTERVAL_S="0",
        CALPROXY_ADMIN_TOKEN="t" * 32,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    while b"listening on" not in (line := await asyncio.wait_for(process.stdout.readline(), timeout=20)):
        assert line, "the second process did not start"
    return process, f"http://127.0.0.1:{port}"
