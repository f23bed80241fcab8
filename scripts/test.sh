#!/usr/bin/env bash
# The one command that sets everything up and runs the whole test suite (lint, types, tests).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh || exit 1
bash scripts/setup.sh || exit 1

.venv/bin/ruff check proxy holds tests benchmarks || exit 1
.venv/bin/mypy proxy holds || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = "5" ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
