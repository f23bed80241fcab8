#!/usr/bin/env bash
# Creates .venv exactly as uv.lock says: calproxy (editable) with its test and plot extras.
# Idempotent, and quick when nothing changed (uv checks and installs nothing); used by serve.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# The one uv that reads and writes uv.lock ([tool.uv] required-version in pyproject.toml names its series).
UV_VERSION=0.13.9
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: calproxy needs Python 3.11 or newer as '$PY' (PYTHON=/path/to/python3 picks one)" >&2
    exit 1
fi

# uv lives in a venv of its own: it neither depends on the project environment nor is removed by syncing it.
installed=""
if [ -x .venv-tools/bin/uv ]; then
    read -r _ installed _ < <(.venv-tools/bin/uv --version)
fi
if [ "$installed" != "$UV_VERSION" ]; then
    "$PY" -m venv .venv-tools
    .venv-tools/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi

# uv reads no pip configuration, so packages come from PyPI as recorded in uv.lock. It uses the system Python
# and never downloads one; .venv is named explicitly so a caller's UV_PROJECT_ENVIRONMENT cannot redirect it.
export UV_PROJECT_ENVIRONMENT="$PWD/.venv"
export UV_PYTHON_DOWNLOADS=never
# --frozen installs the lock as it is, without resolving; scripts/test.sh checks it against pyproject.toml.
.venv-tools/bin/uv sync --quiet --frozen --python "$PY" --extra test --extra plot
