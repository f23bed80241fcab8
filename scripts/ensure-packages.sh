#!/usr/bin/env bash
# Installs the Debian packages that the test command needs and a fresh machine lacks:
#   redis-server    the tests start their own instances of it
#   chromium        the status page test drives it headless (/usr/bin/chromium)
#   docker-compose  only to validate docker-compose.yml (`docker-compose config -q`); no engine is installed
#   faketime        runs a process with a skewed clock (tests/holds/test_one_clock.py: one clock for holds)
# Nothing is done when all are present, so a second run costs nothing and needs no network.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
if [ "${#missing[@]}" = 0 ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    # Not fatal: a developer without root still gets lint, types and every test that does not need them.
    echo "setup: cannot install ${missing[*]} (needs root and apt-get); tests needing them fail or skip" >&2
    exit 0
fi

echo "setup: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
for package in "${missing[@]}"; do
    if [ "$package" = docker-compose ]; then
        # Without its recommended docker.io it is 16 small python3 packages instead of a whole Docker engine.
        apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    else
        # chromium's recommended fonts are wanted: the browser test takes screenshots.
        apt-get install -y -qq "$package" >/dev/null
    fi
done
