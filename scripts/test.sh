#!/usr/bin/env bash
# The one command that sets everything up and runs the whole test suite (lint, types, tests).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh || exit 1
bash scripts/setup.sh || exit 1
# The unmodified Cal.com client (@calcom/sdk from npm) that tests/proxy/test_calcom_sdk.py points at the proxy.
if command -v npm >/dev/null 2>&1 && [ ! -d tests/clients/node_modules/@calcom/sdk ]; then
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
# A Cal.com client from PyPI, in its own virtualenv so its dependencies never mix with calproxy's.
if [ ! -f .venv-clients/.installed ] || [ tests/clients/requirements.txt -nt .venv-clients/.installed ]; then
    python3 -m venv .venv-clients && .venv-clients/bin/python -m pip install -q -r tests/clients/requirements.txt \
        && touch .venv-clients/.installed || exit 1
fi

.venv/bin/ruff check proxy holds tests benchmarks || exit 1
.venv/bin/mypy proxy holds || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = "5" ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
