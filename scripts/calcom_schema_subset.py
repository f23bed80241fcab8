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
        "components": {"schemas": generated_json.closure(spec["components"]["schemas"], ROOTS)},
    }


def main(argv: list[str] | None = None) -> int:
    return generated_json.main(__doc__, SOURCE, TARGET, subset, "x-calproxy-copied", argv)


if __name__ == "__main__":
    sys.exit(main())
