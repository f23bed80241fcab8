"""The simulator against Cal.com's own answers (issue 13): every golden exchange recorded from the real
Cal.com API v2 (tests/golden/calcom, scripts/real-calcom/record.py) is replayed against a fresh simulator on
the recording's clock (with Cal.com's two-second slots cache), and must give the same status, the same
normalised body and the same relevant headers (the rule: tests/golden/exchange.py). A known difference is
allowed only when tests/golden/allowlist.json names it with its reason; the test prints every allowed
difference it met, and fails on any other, and on an allow-list entry that no longer differs (so the list
never outlives a fix)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.sim.config import SimConfig
from proxy.sim.runner import run_sim
from tests.golden.exchange import Captures, Step, differences, parsed_body, relevant_headers

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
FILES = sorted((GOLDEN / "calcom").glob("*.json"))
ALLOWED: dict[str, dict[str, str]] = json.loads((GOLDEN / "allowlist.json").read_text())


def allows(pattern: str, line: str) -> bool:
    """An allow-list pattern is the start of a difference's line; `*` stands for one path segment (a list
    index: `body.data.*.location:` allows the location of every booking in a list)."""
    regex = r"[^.\s]+".join(re.escape(part) for part in pattern.split("*"))
    return re.match(regex, line) is not None


def step_of(recorded: dict[str, Any]) -> Step:
    r = recorded["request"]
    return Step(
        recorded["name"], r["method"], r["path"], query=r["query"], body=r["body"], version=r["version"],
        key=r["key"], capture=recorded["capture"], group=r["group"],
    )  # fmt: skip


async def replay(golden: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Cal.com's response, the simulator's) per step, both normalised."""
    recorded_at = datetime.fromisoformat(golden["recordedAt"])
    began = time.monotonic()

    def now() -> datetime:
        return recorded_at + timedelta(seconds=time.monotonic() - began)

    pairs = []
    captures = Captures()
    async with (
        run_sim(SimConfig(now=now, slots_cache_ms=2000)) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=30) as client,
    ):
        recorded_steps = list(golden["steps"])
        while recorded_steps:
            first = recorded_steps[0]
            group = first["request"]["group"]
            batch = [s for s in recorded_steps if group is not None and s["request"]["group"] == group] or [
                first
            ]
            recorded_steps = [s for s in recorded_steps if s not in batch]
            steps = [step_of(s) for s in batch]
            answers = await asyncio.gather(*(
                client.request(
                    s.method, captures.fill(s.path), params=captures.fill(s.query),
                    json=captures.fill(s.body) if s.body is not None else None, headers=s.headers(),
                )
                for s in steps
            ))  # fmt: skip
            actual = []
            for step, answer in zip(steps, answers, strict=True):
                body = parsed_body(answer.text)
                captures.take(step.capture, body)
                actual.append(
                    {"status": answer.status_code, "headers": relevant_headers(answer.headers), "body": body}
                )
            for recorded, response in zip(batch, actual, strict=True):
                response["body"] = captures.normalise(response["body"])
                pairs.append((recorded, response))
    return pairs


def race_outcome(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[list[int], list[int]]:
    """A race's winner is not the same request on both sides: its statuses compare as a multiset."""
    return sorted(r["response"]["status"] for r, _ in pairs), sorted(a["status"] for _, a in pairs)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_the_simulator_answers_as_calcom_recorded(path: Path) -> None:
    golden = json.loads(path.read_text())
    pairs = await replay(golden)
    scenario = golden["scenario"]
    unexpected, allowed_met = [], []
    raced = [p for p in pairs if p[0]["request"]["group"] is not None]
    if raced:
        expected, actual = race_outcome(raced)
        if expected != actual:
            unexpected.append(f"{scenario}/race: statuses {expected} != {actual}")
    for recorded, actual in pairs:
        if recorded["request"]["group"] is not None:
            continue
        name = f"{scenario}/{recorded['name']}"
        found = differences(recorded["response"], actual)
        reasons = ALLOWED.get(name, {})
        for line in found:
            reason = next((why for pattern, why in reasons.items() if allows(pattern, line)), None)
            if reason is None:
                unexpected.append(f"{name}: {line}")
            else:
                allowed_met.append(f"{name}: {line}\n    allowed: {reason}")
        stale = [p for p in reasons if not any(allows(p, line) for line in found)]
        unexpected.extend(f"{name}: allow-listed but no longer differs: {p}" for p in stale)
    if allowed_met:
        print(f"\n{scenario}: {len(allowed_met)} allowed difference(s)")
        print("\n".join(allowed_met))
    assert not unexpected, "\n" + "\n".join(unexpected)
