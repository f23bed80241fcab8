#!/usr/bin/env bash
# The one command that sets everything up and starts calproxy on its embedded default
# (in-process fakeredis + the built-in Cal.com simulator). Extra arguments go to `calproxy serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/calproxy serve "$@"
