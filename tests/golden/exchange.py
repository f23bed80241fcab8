"""Golden exchanges with Cal.com: the scenario format, how volatile values are normalised, how they compare.

A golden file (`tests/golden/calcom/<scenario>.json`) holds what Cal.com's own API v2 answered to one
scenario, recorded by `scripts/real-calcom/record.py` against the real thing:

    {"scenario": name, "recordedAt": ISO instant, "calcom": commit, "steps": [
        {"name", "request": {"method", "path", "query", "version", "key", "body"},
         "capture": {"<name>": "json.path"},
         "response": {"status", "headers": {...}, "body": <normalised JSON or text>}}]}

Normalisation rule (applied alike to Cal.com's and the simulator's answers, so both compare):
- Values a step captures (booking uids and ids, reservation uids: `capture`) are replaced wherever they occur,
  whole or inside a string (a path in an error envelope), by `<name>`; later requests name them `{name}`.
- Every value under a key in VOLATILE_KEYS (creation and update times, error timestamps, a reservation's
  expiry, which follow the clock to the millisecond) becomes `<volatile>`.
- Other ids a scenario does not capture are stable by construction: the world (users 1 and 2, event types
  1001, 1002, 2001, schedules 1 and 2, the two keys) is seeded identically on both sides.
- Headers: only RELEVANT_HEADERS are recorded and compared (names lower-cased); `x-ratelimit-reset-*` (seconds
  left in the window) becomes `<volatile>`; every other header (helmet's security headers, request ids, ETag,
  Date) is left out. The throttler starts each scenario empty on both sides (the recorder flushes Cal.com's
  Redis, the replay starts a fresh simulator), so `x-ratelimit-remaining-*` compares exactly.
- JSON bodies compare as parsed values (key order is not compared).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

VOLATILE_KEYS = frozenset(
    {"createdAt", "updatedAt", "timestamp", "reservationUntil", "cancelledAt", "rescheduledAt", "lastUpdated"}
)
RELEVANT_HEADERS = ("content-type",)
RATE_LIMIT_HEADER = re.compile(r"^x-ratelimit-(limit|remaining|reset)(-.*)?$")
VERSIONS = {"slots": "2024-09-04", "bookings": "2024-08-13", "event-types": "2024-06-14"}
KEYS = {"alpha": "cal_test_alpha", "beta": "cal_test_beta"}


@dataclass
class Step:
    """One request of a scenario (placeholders `{name}` refer to values captured by earlier steps)."""

    name: str
    method: str
    path: str
    query: dict[str, str] | None = None
    body: Any = None
    version: str | None = None
    key: str | None = "alpha"
    capture: dict[str, str] = field(default_factory=dict)
    # Steps with the same group are sent at once (a race); others one after another.
    group: str | None = None

    def headers(self) -> dict[str, str]:
        """The version header and the key's Authorization, as both sides receive them."""
        headers = {"cal-api-version": self.version} if self.version else {}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {KEYS[self.key]}"
        return headers

    def request(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "version": self.version,
            "key": self.key,
            "body": self.body,
            "group": self.group,
        }


@dataclass
class Captures:
    """Captured values of one run of a scenario: name -> value (as Cal.com or the simulator made it)."""

    values: dict[str, Any] = field(default_factory=dict)

    def take(self, capture: dict[str, str], body: Any) -> None:
        for name, path in capture.items():
            value = lookup(body, path)
            if value is not None:
                self.values[name] = value

    def fill(self, template: Any) -> Any:
        """A request with `{name}` replaced by this run's captured values."""
        if isinstance(template, str):
            for name, value in self.values.items():
                template = template.replace("{" + name + "}", str(value))
            return template
        if isinstance(template, list):
            return [self.fill(v) for v in template]
        if isinstance(template, dict):
            return {k: self.fill(v) for k, v in template.items()}
        return template

    def normalise(self, value: Any, key: str | None = None) -> Any:
        """The normalisation rule of the module docstring, applied to an answer's body."""
        if key in VOLATILE_KEYS and value is not None:
            return "<volatile>"
        if isinstance(value, dict):
            return {k: self.normalise(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalise(v) for v in value]
        for name, captured in self.values.items():
            if value == captured and not isinstance(value, bool):
                return f"<{name}>"
        if isinstance(value, str):
            for name, captured in self.values.items():
                if isinstance(captured, str) and len(captured) >= 8 and captured in value:
                    value = value.replace(captured, f"<{name}>")
        return value


def lookup(body: Any, path: str) -> Any:
    """`data.uid`, `data.0.id`: a value inside a JSON body, or None."""
    for part in path.split("."):
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body


def relevant_headers(headers: Any) -> dict[str, str]:
    """The compared headers of an answer (see the rule)."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in RELEVANT_HEADERS:
            kept[lower] = value
        elif (match := RATE_LIMIT_HEADER.match(lower)) is not None:
            kept[lower] = "<volatile>" if match.group(1) == "reset" else value
    return kept


def parsed_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """What differs between two normalised responses (status, headers, body), as readable lines."""
    found = []
    if expected["status"] != actual["status"]:
        found.append(f"status {expected['status']} != {actual['status']}")
    for name in sorted(set(expected["headers"]) | set(actual["headers"])):
        if expected["headers"].get(name) != actual["headers"].get(name):
            found.append(
                f"header {name}: {expected['headers'].get(name)!r} != {actual['headers'].get(name)!r}"
            )
    found.extend(_body_differences(expected["body"], actual["body"], "body"))
    return found


def _body_differences(expected: Any, actual: Any, where: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                found.append(f"{where}.{key} missing (Cal.com: {_short(expected[key])})")
            elif key not in expected:
                found.append(f"{where}.{key} extra ({_short(actual[key])})")
            else:
                found.extend(_body_differences(expected[key], actual[key], f"{where}.{key}"))
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _body_differences(e, a, f"{where}.{i}")
        ]
    if expected != actual:
        return [f"{where}: Cal.com {_short(expected)} != simulator {_short(actual)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."
