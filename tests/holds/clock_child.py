"""A second process for the one-clock tests, meant to run under ``faketime -f +120s``.

``python -m tests.holds.clock_child <redis url> <resource> <json steps>`` builds a HoldStore the way
production does (no clock), runs the steps in order and prints one JSON object: this process's
``time.time()`` (so the test can prove the skew) and one result per step. A step is
``["acquire", start_ms, end_ms, owner, ttl_ms]``, ``["extend", uid, owner, ttl_ms]``, ``["get", uid]`` or
``["live", lo, hi]``; a result is ``{"hold": {...}}``, ``{"conflict": {...}}``, ``{"none": true}`` or
``{"holds": [...]}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

import redis.asyncio as aioredis

from holds import Hold, HoldConflict, HoldStore, TtlPolicy

POLICY = TtlPolicy(default_ms=60_000, min_ms=1, max_ms=600_000)


def _hold(hold: Hold) -> dict[str, Any]:
    return {k: str(v) if k == "state" else v for k, v in dataclasses.asdict(hold).items()}


async def _step(store: HoldStore, resource: str, step: list[Any]) -> dict[str, Any]:
    op, *args = step
    try:
        if op == "acquire":
            start, end, owner, ttl = args
            return {"hold": _hold(await store.acquire(resource, start, end, owner, ttl_ms=ttl))}
        if op == "extend":
            uid, owner, ttl = args
            return {"hold": _hold(await store.extend(resource, uid, owner, ttl_ms=ttl))}
        if op == "get":
            found = await store.get(resource, args[0])
            return {"none": True} if found is None else {"hold": _hold(found)}
        if op == "live":
            return {"holds": [_hold(h) for h in await store.live(resource, args[0], args[1])]}
    except HoldConflict as conflict:
        # getattr: the child also runs against older code when checking that the tests catch the bug.
        now_ms = getattr(conflict, "now_ms", None)
        return {"conflict": {"expires_at_ms": conflict.expires_at_ms, "now_ms": now_ms}}
    raise ValueError(f"unknown step {op!r}")


async def main(url: str, resource: str, steps: list[list[Any]]) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url)
    try:
        store = HoldStore(client, policy=POLICY)  # production construction: no clock
        results = [await _step(store, resource, step) for step in steps]
    finally:
        await client.aclose()
    return {"process_time_s": time.time(), "results": results}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))))
