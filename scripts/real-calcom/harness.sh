#!/usr/bin/env bash
# Build, start, seed and stop the REAL Cal.com API v2 (apps/api/v2 of the Cal.com monorepo) on this machine,
# beside calproxy, as a test peer. Based on shared/real-calcom/recipe.sh; see README.md beside this file.
#
#   CALCOM_GITDIR=<bare git dir of cal.com> bash scripts/real-calcom/harness.sh build|start|stop|all|status
#
# Env: CALCOM_GITDIR (build: required), CALCOM_COMMIT (dd7b6477), CALCOM_ROOT ($HOME/.cache/calproxy/real-calcom),
#      CALCOM_PORT (5555), CALCOM_PG_PORT (54329), CALCOM_REDIS_PORT (63799), CALCOM_RACES (0|1),
#      CALCOM_SEED_JSON (proxy/sim/default_seed.json), CALCOM_SEED_LOCATION (address|cal-video),
#      CALCOM_HEALTH_TIMEOUT (180 s).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${CALCOM_ROOT:-$HOME/.cache/calproxy/real-calcom}
COMMIT=${CALCOM_COMMIT:-dd7b6477}
PORT=${CALCOM_PORT:-5555}
PG_PORT=${CALCOM_PG_PORT:-54329}
REDIS_PORT=${CALCOM_REDIS_PORT:-63799}
RACES=${CALCOM_RACES:-0}
DB=calendso
TEMPLATE_DB=calcom_template
PGBIN=${CALCOM_PGBIN:-/usr/lib/postgresql/15/bin}
SRC=$ROOT/src
LOG=$ROOT/logs
RUN=$ROOT/run
STAMPS=$ROOT/stamps
PGDIR=$ROOT/pg
PGDATA=$PGDIR/data
for p in "$PORT" "$PG_PORT" "$REDIS_PORT"; do
  case $p in 5432|6379) echo "refusing to use the system default port $p" >&2; exit 2;; esac
done

export YARN_CACHE_FOLDER=${YARN_CACHE_FOLDER:-$ROOT/yarn-cache}
export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_PROGRESS_BARS=0 YARN_ENABLE_IMMUTABLE_INSTALLS=0 YARN_ENABLE_HARDENED_MODE=0
export YARN_ENABLE_GLOBAL_CACHE=0
export PRISMA_SCHEMA_ENGINE_BINARY=$ROOT/fake-schema-engine PRISMA_QUERY_ENGINE_LIBRARY=$ROOT/fake-libquery_engine.so.node
export PRISMA_SKIP_POSTINSTALL_GENERATE=1 PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING=1 PRISMA_HIDE_UPDATE_MESSAGE=1
export CHECKPOINT_DISABLE=1 HUSKY=0

say() { echo "[real-calcom] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now() { date +%s; }
timing() { mkdir -p "$LOG"; echo "$(date -u +%FT%TZ) $*" >> "$LOG/timings.txt"; say "timing: $*"; }

# ---------------------------------------------------------------- stamps (content = full commit sha)
SHA=
resolve_sha() {
  if [ -n "${CALCOM_GITDIR:-}" ]; then
    SHA=$(git --git-dir="$CALCOM_GITDIR" rev-parse --verify "$COMMIT^{commit}") || die "commit $COMMIT not in $CALCOM_GITDIR"
  elif [ -f "$STAMPS/source" ]; then
    SHA=$(cat "$STAMPS/source")
  else
    die "no build in $ROOT; run: CALCOM_GITDIR=<bare git dir> $0 build"
  fi
}
stamped() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$SHA" ]; }
stamp() { mkdir -p "$STAMPS"; echo "$SHA" > "$STAMPS/$1"; }
# step NAME FUNC: run FUNC unless stamped, time it
step() {
  local name=$1 fn=$2 s
  if stamped "$name"; then say "$name: done already (stamp)"; return 0; fi
  say "$name: running"; s=$(now)
  "$fn"
  stamp "$name"; timing "build step $name: $(( $(now) - s ))s"
}

# ---------------------------------------------------------------- processes (PID files under $RUN)
# alive NAME PATTERN: the PID in $RUN/NAME.pid is alive and its command line contains PATTERN
alive() {
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f"); [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$2"
}
# stop_pid NAME PATTERN SIGNAL: signal our recorded PID (only if it is still the process we started), wait
stop_pid() {
  local name=$1 pat=$2 sig=$3 pid i
  if ! alive "$name" "$pat"; then rm -f "$RUN/$name.pid"; return 0; fi
  pid=$(cat "$RUN/$name.pid"); say "stopping $name (pid $pid)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "$name did not stop, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$RUN/$name.pid"
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- postgres (own cluster, loopback, own port)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PSQL() { PGOPTIONS='-c client_min_messages=warning' psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pg_reachable() {
  # as root, the server runs as user postgres, which must be able to traverse to $PGDIR
  [ "$(id -u)" = 0 ] || return 0
  local d=$ROOT
  while [ "$d" != / ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      say "granting search permission (o+x, no read) on $d so user postgres reaches $PGDIR"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}
PG_STARTED_HERE=0
pg_up() {
  if alive postgres "$PGDATA"; then return 0; fi
  port_busy "$PG_PORT" && die "port $PG_PORT is in use by a process this harness did not start"
  mkdir -p "$PGDIR" "$RUN" "$LOG"
  pg_reachable
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    say "initdb $PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 > "$LOG/initdb.log" 2>&1 \
      || { cat "$LOG/initdb.log"; die "initdb failed"; }
  fi
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/pg.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    > /dev/null || { tail -20 "$PGDIR/pg.log"; die "postgres did not start"; }
  head -1 "$PGDATA/postmaster.pid" > "$RUN/postgres.pid"
  PG_STARTED_HERE=1
  say "postgres up on 127.0.0.1:$PG_PORT (pid $(cat "$RUN/postgres.pid"))"
}
pg_down() { stop_pid postgres "$PGDATA" INT; }   # SIGINT = fast shutdown

# ---------------------------------------------------------------- redis (own port, no persistence)
redis_up() {
  if alive redis ":$REDIS_PORT"; then return 0; fi
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT is in use by a process this harness did not start"
  mkdir -p "$ROOT/redis" "$RUN" "$LOG"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$ROOT/redis" \
    --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" --save '' --appendonly no
  local i; for i in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$REDIS_PORT" ping >/dev/null || die "redis did not start"
  say "redis up on 127.0.0.1:$REDIS_PORT (pid $(cat "$RUN/redis.pid"))"
}
redis_down() { stop_pid redis ":$REDIS_PORT" TERM; }

# ---------------------------------------------------------------- build steps (from recipe.sh)
GITDIR=
do_source() {
  local tmp=$SRC.tmp idx=$ROOT/tmp-index missing=()
  rm -rf "$tmp" "$idx"; mkdir -p "$tmp"
  # `git archive -- . ':(exclude)p'` fails on this mirror (git 2.39 still reads the excluded missing blobs),
  # so check the commit out through a temporary index with the missing blobs removed from it.
  git -c core.quotePath=false --git-dir="$GITDIR" ls-tree -r "$SHA" > "$ROOT/tree.txt"
  mapfile -t missing < <(awk '$2=="blob"{print $3}' "$ROOT/tree.txt" | git --git-dir="$GITDIR" cat-file --batch-check \
    | awk '$2=="missing"{print $1}' | awk -F'\t' 'NR==FNR{m[$1]; next} {split($1,a," "); if (a[3] in m) print $2}' - "$ROOT/tree.txt")
  if [ ${#missing[@]} -gt 0 ]; then say "blobs missing from the mirror, left out: ${missing[*]}"; fi
  GIT_INDEX_FILE=$idx git --git-dir="$GITDIR" read-tree "$SHA"
  if [ ${#missing[@]} -gt 0 ]; then GIT_INDEX_FILE=$idx git --git-dir="$GITDIR" update-index --force-remove -- "${missing[@]}"; fi
  GIT_INDEX_FILE=$idx git --git-dir="$GITDIR" checkout-index -a -f --prefix="$tmp/"
  rm -f "$idx"
  # Stubs for npm packages the registry does not serve (see recipe.sh):
  mkdir -p "$tmp/stubs/lingo.dev" "$tmp/stubs/lingo-spec" "$tmp/stubs/http"
  cat > "$tmp/stubs/lingo.dev/package.json" <<'EOF'
{"name":"lingo.dev","version":"0.117.14","main":"index.js","types":"index.d.ts","exports":{".":"./index.js","./sdk":{"types":"./sdk.d.ts","import":"./sdk.mjs","default":"./sdk.js"}}}
EOF
  echo 'module.exports = {};' > "$tmp/stubs/lingo.dev/index.js"; echo 'export {};' > "$tmp/stubs/lingo.dev/index.d.ts"
  echo 'class LingoDotDevEngine { constructor(){} async localizeText(){ throw new Error("lingo.dev stubbed"); } } module.exports = { LingoDotDevEngine };' > "$tmp/stubs/lingo.dev/sdk.js"
  echo 'export class LingoDotDevEngine { constructor(_o) {} async localizeText() { throw new Error("lingo.dev stubbed"); } async localizeObject() { throw new Error("lingo.dev stubbed"); } async batchLocalizeText() { throw new Error("lingo.dev stubbed"); } }' > "$tmp/stubs/lingo.dev/sdk.mjs"
  echo 'export declare class LingoDotDevEngine { constructor(opts: any); [k: string]: any; }' > "$tmp/stubs/lingo.dev/sdk.d.ts"
  echo '{"name":"@lingo.dev/_spec","version":"0.44.4","main":"index.js","types":"index.d.ts","exports":{".":{"types":"./index.d.ts","import":"./index.mjs","default":"./index.js"}}}' > "$tmp/stubs/lingo-spec/package.json"
  echo 'module.exports = {};' > "$tmp/stubs/lingo-spec/index.js"; echo 'export {};' > "$tmp/stubs/lingo-spec/index.mjs"
  echo 'export type LocaleCode = string;' > "$tmp/stubs/lingo-spec/index.d.ts"
  echo '{"name":"http","version":"0.0.1-security","main":"index.js"}' > "$tmp/stubs/http/package.json"
  echo 'module.exports = require("node:http");' > "$tmp/stubs/http/index.js"
  python3 - "$tmp/package.json" <<'EOF'
import json, sys
f = sys.argv[1]; d = json.load(open(f))
d.setdefault('resolutions', {}).update({'lingo.dev': 'portal:./stubs/lingo.dev',
    '@lingo.dev/_spec': 'portal:./stubs/lingo-spec', 'http@0.0.1-security': 'portal:./stubs/http'})
json.dump(d, open(f, 'w'), indent=2)
EOF
  printf '#!/bin/sh\necho "schema-engine-cli 1c57fdcd7e44b29b9313256c76699e91c3ac3c43"\n' > "$ROOT/fake-schema-engine"
  chmod +x "$ROOT/fake-schema-engine"; : > "$ROOT/fake-libquery_engine.so.node"
  rm -rf "$SRC"; mv "$tmp" "$SRC"
}
yarn_cmd() {
  local rel; rel=$(ls "$SRC"/.yarn/releases/yarn-*.cjs | head -1)
  node "$rel" "$@"
}
do_install() {
  local reg; reg=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
  export YARN_NPM_REGISTRY_SERVER=${reg%/}
  (cd "$SRC" && yarn_cmd install --mode=skip-build > "$LOG/install.log" 2>&1) || { tail -30 "$LOG/install.log"; die "yarn install failed"; }
  mkdir -p "$SRC/node_modules/@lingo.dev"; ln -sfn ../../stubs/lingo-spec "$SRC/node_modules/@lingo.dev/_spec"
}
do_generate() {
  (cd "$SRC/packages/prisma" && DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB yarn_cmd prisma generate \
    > "$LOG/generate.log" 2>&1) || { tail -30 "$LOG/generate.log"; die "prisma generate failed"; }
}
BUILD_ENV() { env PATH="$SRC/node_modules/.bin:$PATH" NODE_OPTIONS=--max-old-space-size=8192 "$@"; }
do_platform_tsc() {
  local p
  for p in constants enums utils types; do
    (cd "$SRC/packages/platform/$p" && rm -rf dist && BUILD_ENV tsc --build --force tsconfig.json > "$LOG/build-$p.log" 2>&1) \
      || { tail -30 "$LOG/build-$p.log"; die "build of platform/$p failed"; }
  done
}
do_libraries() {
  (cd "$SRC/packages/platform/libraries" && BUILD_ENV vite build > "$LOG/build-libraries.log" 2>&1) \
    || { tail -30 "$LOG/build-libraries.log"; die "vite build of platform/libraries failed"; }
}
do_trpc() {
  (cd "$SRC/packages/trpc" && BUILD_ENV tsc --project tsconfig.server.json > "$LOG/build-trpc.log" 2>&1) \
    || { tail -30 "$LOG/build-trpc.log"; die "tsc of trpc server types failed"; }
}
do_api() {
  (cd "$SRC/apps/api/v2" && BUILD_ENV nest build > "$LOG/build-api.log" 2>&1) || { tail -30 "$LOG/build-api.log"; die "nest build failed"; }
  local main=$SRC/apps/api/v2/dist/apps/api/v2/src/main.js
  sed -i 's/await app.listen(port);/await app.listen(port, "127.0.0.1");/' "$main"   # loopback only
  grep -q 'app.listen(port, "127.0.0.1")' "$main" || die "could not patch $main to listen on 127.0.0.1"
}
template_exists() { PSQL -d postgres -tAc "select 1 from pg_database where datname='$TEMPLATE_DB'" | grep -q 1; }
do_template() {
  # the schema, once: every migration.sql in order, into a template database (each start copies it)
  local list=$ROOT/migrations.psql d
  PSQL -d postgres -qc "drop database if exists $TEMPLATE_DB" >/dev/null
  PSQL -d postgres -qc "create database $TEMPLATE_DB" >/dev/null
  : > "$list"
  for d in $(cd "$SRC/packages/prisma" && ls -d migrations/*/ | sort); do
    [ -f "$SRC/packages/prisma/$d/migration.sql" ] && echo "\\i '$SRC/packages/prisma/${d}migration.sql'" >> "$list"
  done
  PSQL -d "$TEMPLATE_DB" -q -v ON_ERROR_STOP=1 -f "$list" > "$LOG/migrations.log" 2>&1 \
    || { tail -20 "$LOG/migrations.log"; die "migrations failed"; }
  say "template database $TEMPLATE_DB: $(wc -l < "$list") migrations applied"
}
ensure_template() {
  # needs postgres up; (re)creates the template if its stamp is stale or the database is gone
  if stamped template && template_exists; then return 0; fi
  rm -f "$STAMPS/template"; step template do_template
}

cmd_build() {
  GITDIR=${CALCOM_GITDIR:?set CALCOM_GITDIR to a bare git dir of cal.com (e.g. /work/.mirror/mamisoa+cal.com/repo)}
  resolve_sha
  mkdir -p "$ROOT" "$LOG" "$RUN" "$STAMPS"
  local t0 first=0; t0=$(now)
  if ! stamped source; then
    first=1
    # a new commit (or none yet): everything below must be redone
    rm -f "$STAMPS"/*
  fi
  step source do_source
  step install do_install
  step generate do_generate
  step platform-tsc do_platform_tsc
  step platform-libraries do_libraries
  step trpc-types do_trpc
  step api do_api
  pg_up
  ensure_template
  if [ "$first" = 1 ]; then
    timing "first build (commit ${SHA:0:8}): $(( $(now) - t0 ))s"
    timing "cache size after first build: $(du -sh "$ROOT" 2>/dev/null | cut -f1) in $ROOT ($(du -sh "$SRC" 2>/dev/null | cut -f1) src, $(du -sh "$YARN_CACHE_FOLDER" 2>/dev/null | cut -f1) yarn cache)"
  else
    timing "build (from cache, commit ${SHA:0:8}): $(( $(now) - t0 ))s"
  fi
  echo "$SHA" > "$STAMPS/built"
  if [ "${BUILD_THEN_START:-0}" != 1 ] && [ "$PG_STARTED_HERE" = 1 ]; then pg_down; fi
  say "build done: $SRC"
}

# ---------------------------------------------------------------- API
write_env() {
  local e2e=true nodeenv=production license=
  if [ "$RACES" = 1 ]; then e2e=false; nodeenv=staging; license=offline-dummy; fi
  cat > "$ROOT/api.env" <<EOF
NODE_ENV=$nodeenv
API_PORT=$PORT
API_URL=http://127.0.0.1
DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB
DATABASE_DIRECT_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB
DATABASE_READ_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB
DATABASE_WRITE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$DB
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
NEXTAUTH_SECRET=realcal-nextauth-secret-0123456789abcdef
JWT_SECRET=realcal-jwt-secret-0123456789abcdef
CALENDSO_ENCRYPTION_KEY=0123456789abcdef0123456789abcdef
STRIPE_API_KEY=sk_test_dummy
STRIPE_WEBHOOK_SECRET=whsec_dummy
WEB_APP_URL=http://localhost:3000
NEXT_PUBLIC_WEBAPP_URL=http://localhost:3000
API_KEY_PREFIX=cal_
IS_E2E=$e2e
CALCOM_LICENSE_KEY=$license
LOG_LEVEL=info
REWRITE_API_V2_PREFIX=1
ENABLE_SLOTS_WORKERS=false
USE_POOL=true
EOF
}
api_up() {
  port_busy "$PORT" && die "port $PORT is in use by a process this harness did not start"
  write_env
  local dir=$SRC/apps/api/v2 main=dist/apps/api/v2/src/main.js
  [ -f "$dir/$main" ] || die "API not built ($dir/$main); run build"
  rm -f "$RUN/api.pid"
  # own session, so it survives the calling shell; the bash execs node, so the recorded PID is node's
  setsid bash -c 'echo $$ > "$1"; cd "$2" && set -a && . "$3" && set +a && exec node "$4"' \
    api "$RUN/api.pid" "$dir" "$ROOT/api.env" "$main" > "$LOG/api.log" 2>&1 < /dev/null &
  local i; for i in $(seq 1 50); do [ -s "$RUN/api.pid" ] && break; sleep 0.1; done
  say "API starting (pid $(cat "$RUN/api.pid"), variant $([ "$RACES" = 1 ] && echo races || echo e2e), log $LOG/api.log)"
}
api_down() { stop_pid api "api/v2/src/main.js" TERM; }
wait_health() {
  local i limit=${CALCOM_HEALTH_TIMEOUT:-180}
  for i in $(seq 1 $(( limit * 4 ))); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0
    alive api "api/v2/src/main.js" || { tail -40 "$LOG/api.log"; die "API exited during start"; }
    sleep 0.25
  done
  tail -40 "$LOG/api.log"; die "API not healthy after ${limit}s"
}

cmd_start() {
  resolve_sha
  stamped built || die "no finished build for ${SHA:0:8} in $ROOT; run build first"
  local t0; t0=$(now)
  mkdir -p "$RUN" "$LOG"
  api_down                           # a restart gives a fresh world
  pg_up
  ensure_template
  redis_up
  redis-cli -p "$REDIS_PORT" flushall > /dev/null
  if [ "$RACES" = 1 ]; then
    redis-cli -p "$REDIS_PORT" set api-v2-license-key-goblin-url-offline-dummy '{"status":true}' > /dev/null
  fi
  PSQL -d postgres -qc "drop database if exists $DB with (force)" > /dev/null
  PSQL -d postgres -qc "create database $DB template $TEMPLATE_DB" > /dev/null
  api_up
  wait_health
  local t1; t1=$(now)
  CALCOM_URL="http://127.0.0.1:$PORT" PG_PORT="$PG_PORT" DB="$DB" \
    CALCOM_VARIANT=$([ "$RACES" = 1 ] && echo races || echo e2e) \
    python3 "$HERE/seed.py" > "$ROOT/world.env.tmp" 2> "$LOG/seed.log" \
    || { cat "$LOG/seed.log" >&2; die "seed failed"; }
  mv "$ROOT/world.env.tmp" "$ROOT/world.env"
  timing "start (variant $([ "$RACES" = 1 ] && echo races || echo e2e)): $(( $(now) - t0 ))s, of which seed $(( $(now) - t1 ))s"
  cat "$ROOT/world.env"
}

cmd_stop() {
  api_down
  redis_down
  pg_down
  say "stopped"
}

cmd_status() {
  local n pat
  for n in api redis postgres; do
    case $n in api) pat="api/v2/src/main.js";; redis) pat=":$REDIS_PORT";; postgres) pat=$PGDATA;; esac
    if alive "$n" "$pat"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"; else echo "$n: stopped"; fi
  done
  [ -f "$ROOT/world.env" ] && cat "$ROOT/world.env" || true
}

case "${1:-}" in
  build) cmd_build;;
  start) cmd_start;;
  stop) cmd_stop;;
  all) BUILD_THEN_START=1 cmd_build; cmd_start;;
  status) cmd_status;;
  *) echo "usage: $0 build|start|stop|all|status" >&2; exit 2;;
esac
