"""Copies the Cal.com OpenAPI v2 schemas that the tests use, and all they refer to, into the repository.

    python3 scripts/calcom_schema_subset.py            # rewrite tests/fixtures/calcom/openapi-v2-subset.json
    python3 scripts/calcom_schema_subset.py --check    # exit 1 when the committed subset differs

Source: Cal.com's own OpenAPI v2 document (as of 2025-09-26), read from ../shared/calcom/openapi-v2.json.
Only `components.schemas` is kept: the roots below and their `$ref` closure, unchanged. Add a root here when a
test starts validating against another schema, then rerun.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import generated_json

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / ".." / "shared" / "calcom" / "openapi-v2.json"
TARGET = ROOT / "tests" / "fixtures" / "calcom" / "openapi-v2-subset.json"
SOURCE_DATE = "2025-09-26"

# The schemas that tests/sim/test_schemas.py names.
ROOTS = (
    "BookingOutput_2024_08_13",
    "EventTypeOutput_2024_06_14",
    "GetBookingOutput_2024_08_13",
    "GetMeOutput",
    "OutputIntegrationLocation_2024_06_14",
    "PaginationMetaDto",
    "ReserveSlotOutputResponse_2024_09_04",
    "ReserveSlotOutput_2024_09_04",
)
PREFIX = "#/components/schemas/"


def refs(node: Any) -> set[str]:
    """Names of the component schemas that `node` refers to directly."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(PREFIX):
                raise ValueError(f"unexpected $ref {ref!r}")
            found.add(ref.removeprefix(PREFIX))
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def closure(schemas: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    """The roots and every schema reachable from them through `$ref`, sorted by name."""
    keep: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(refs(schemas[name]) - keep)
    return {name: schemas[name] for name in sorted(keep)}


def subset(spec: dict[str, Any], copied_on: str) -> dict[str, Any]:
    return {
        "openapi": spec["openapi"],
        "info": {
            **spec["info"],
            "x-calproxy-subset": (
                "The component schemas that calproxy's tests use and their $ref closure, copied unchanged "
                "by scripts/calcom_schema_subset.py."
            ),
            "x-calproxy-source": "Cal.com's OpenAPI v2 document (../shared/calcom/openapi-v2.json)",
            "x-calproxy-source-date": SOURCE_DATE,
            "x-calproxy-copied": copied_on,
        },
        "paths": {},
        "components": {"schemas": closure(spec["components"]["schemas"], ROOTS)},
    }


def main(argv: list[str] | None = None) -> int:
    return generated_json.main(__doc__, SOURCE, TARGET, subset, "x-calproxy-copied", argv)


if __name__ == "__main__":
    sys.exit(main())
