#!/usr/bin/env bash
# The one command that sets everything up and runs the whole test suite (lock check, lint, types, tests).
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/deploy -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
# uv (installed by scripts/setup.sh) uses the system Python and never downloads one.
export UV_PYTHON_DOWNLOADS=never
uv=.venv-tools/bin/uv

bash scripts/ensure-packages.sh
bash scripts/setup.sh
# CI fails when pyproject.toml changed without uv.lock (no network needed while the lock still matches).
if ! "$uv" lock --check --quiet; then
    echo "test.sh: uv.lock does not match pyproject.toml: run '$uv lock' and commit uv.lock" >&2
    exit 1
fi
# The unmodified Cal.com client from npm (@calcom/sdk) that tests/proxy/test_calcom_clients.py drives.
if command -v npm >/dev/null 2>&1 && [ ! -d tests/clients/node_modules/@calcom/sdk ]; then
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi
# A Cal.com client from PyPI, in its own virtualenv so its dependencies never mix with calproxy's
# (installed by uv, from PyPI like .venv).
clients=tests/clients/requirements.txt
if [ ! -f .venv-clients/.installed ] || [ "$clients" -nt .venv-clients/.installed ]; then
    "$uv" venv --quiet --allow-existing --python "${PYTHON:-python3}" .venv-clients
    "$uv" pip install --quiet --python .venv-clients/bin/python -r "$clients"
    touch .venv-clients/.installed
fi

# The committed Cal.com schema subset and calproxy's own OpenAPI document still match Cal.com's document,
# where ../shared is beside the clone.
if [ -f ../shared/calcom/openapi-v2.json ]; then
    .venv/bin/python scripts/calcom_schema_subset.py --check
    .venv/bin/python scripts/build_openapi.py --check
fi
.venv/bin/ruff check proxy holds tests benchmarks scripts
.venv/bin/mypy proxy holds
rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$rc" = "5" ]; then
    echo "test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
