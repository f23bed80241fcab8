"""Record golden exchanges with the real Cal.com API v2 (issue 13): every scenario of
tests/golden/scenarios.py, each in a fresh world, written to tests/golden/calcom/<scenario>.json.

    bash scripts/real-calcom/harness.sh build          # once (CALCOM_GITDIR set)
    .venv/bin/python scripts/real-calcom/record.py     # restarts the harness's world before each scenario

The normalisation rule is tests/golden/exchange.py's docstring. Each scenario starts from a freshly seeded
world (`harness.sh start`: a new database from the template, Redis flushed, so the throttler is empty too),
so a scenario never sees another's bookings, exactly like the replay, which starts a fresh simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.golden.exchange import Captures, Step, parsed_body, relevant_headers  # noqa: E402
from tests.golden.scenarios import Scenario, scenarios  # noqa: E402

HARNESS = ROOT / "scripts" / "real-calcom" / "harness.sh"
OUT = ROOT / "tests" / "golden" / "calcom"


def fresh_world() -> dict[str, str]:
    """`harness.sh start` with the simulator's location (Cal Video): the world as its shell lines."""
    env = {**os.environ, "CALCOM_SEED_LOCATION": "cal-video"}
    done = subprocess.run(
        ["bash", str(HARNESS), "start"], capture_output=True, text=True, env=env, check=True
    )
    world = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.isupper():
            world[name] = value.strip('"')
    # The seed's own requests count in Cal.com's throttler: empty it, as a fresh simulator's is.
    port = int(os.environ.get("CALCOM_REDIS_PORT", "63799"))
    client = redis.Redis(host="127.0.0.1", port=port)
    for key in client.scan_iter("*"):
        if not key.startswith(b"api-v2-license-key"):  # the race variant's licence cache stays
            client.delete(key)
    client.close()
    return world


async def send(client: httpx.AsyncClient, step: Step, captures: Captures) -> httpx.Response:
    return await client.request(
        step.method,
        captures.fill(step.path),
        params=captures.fill(step.query),
        json=captures.fill(step.body) if step.body is not None else None,
        headers=step.headers(),
    )


async def record(scenario: Scenario, url: str) -> dict[str, Any]:
    captures = Captures()
    recorded: list[dict[str, Any]] = []
    answered_at = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        steps = list(scenario.steps)
        while steps:
            group = [s for s in steps if steps[0].group is not None and s.group == steps[0].group] or steps[
                :1
            ]
            steps = [s for s in steps if s not in group]
            responses = await asyncio.gather(*(send(client, s, captures) for s in group))
            for step, response in zip(group, responses, strict=True):
                body = parsed_body(response.text)
                captures.take(step.capture, body)
                recorded.append({
                    "name": step.name,
                    "request": step.request(),
                    "capture": step.capture,
                    "response": {
                        "status": response.status_code,
                        "headers": relevant_headers(response.headers),
                        "body": captures.normalise(body),
                    },
                })  # fmt: skip
    return {"scenario": scenario.name, "recordedAt": answered_at.isoformat(), "steps": recorded}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="record only these scenarios")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    for scenario in scenarios(now):
        if args.only and scenario.name not in args.only:
            continue
        world = fresh_world()
        golden = asyncio.run(record(scenario, world["CALCOM_URL"]))
        golden["recordedAt"] = now.isoformat()  # the clock the scenario's dates were drawn from
        golden["calcom"] = os.environ.get("CALCOM_COMMIT", "dd7b6477")
        path = args.out / f"{scenario.name}.json"
        path.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
        statuses = " ".join(str(s["response"]["status"]) for s in golden["steps"])
        print(f"{scenario.name}: {len(golden['steps'])} steps ({statuses}) -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
