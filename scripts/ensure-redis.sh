#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (the tests start their own instances of it).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing redis-server from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq redis-server >/dev/null
else
    echo "setup: redis-server not found and cannot install it (not root); real-Redis tests will be skipped" >&2
fi
