"""Cal.com's refusal of calproxy's own slots fetch reaches the client naming the client's request."""

from __future__ import annotations

import json
from datetime import timedelta

from proxy.middlewares import refusal_body
from proxy.sim.config import SimConfig
from tests.proxy.conftest import SLOTS_V, StackFactory, next_weekday


def test_refusal_body_rewrites_only_an_envelope_path() -> None:
    envelope = {"status": "error", "path": "/v2/slots?start=x&format=range", "error": {"code": "E"}}
    rewritten = json.loads(refusal_body(json.dumps(envelope).encode(), "/v2/slots?eventTypeId=1"))
    assert rewritten == {**envelope, "path": "/v2/slots?eventTypeId=1"}
    assert refusal_body(b"not json", "/x") == b"not json"
    assert refusal_body(b'{"statusCode":429,"message":"m"}', "/x") == b'{"statusCode":429,"message":"m"}'


async def test_a_throttled_snapshot_fetch_does_not_show_calproxys_internal_query(
    make_stack: StackFactory,
) -> None:
    stack = await make_stack(sim=SimConfig(rate_limit=2))
    key = {"Authorization": "Bearer cal_test_alpha", **SLOTS_V}
    statuses = []
    for week in range(6):
        day = next_weekday(14 + 7 * week)
        params = {"eventTypeId": "1001", "start": str(day), "end": str(day + timedelta(days=1))}
        response = await stack.proxy.get("/v2/slots", params=params, headers=key)
        statuses.append(response.status_code)
        if response.status_code == 429:
            body = response.json()
            assert body["path"].startswith("/v2/slots?eventTypeId=1001&start="), body
            assert "format=range" not in response.text and "T00:00:00" not in body["path"]
            return
    raise AssertionError(f"the simulator never throttled: {statuses}")
