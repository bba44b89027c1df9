#!/usr/bin/env bash
# Load benchmark of `citygate serve`: stateless decide and case creation (with its durable
# ledger event), on SQLite and on PostgreSQL, with wrk in another process on loopback.
# Prints start-to-ready time, requests/s, p50/p99 latency and the server's peak RSS.
#
#   bench/service/run.sh            # both stores (PostgreSQL skipped if unreachable)
#   DURATION=30s CONNECTIONS=64 bench/service/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/service
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PG_URL=${PG_URL:-postgres://root@127.0.0.1:5432/test}
PORT=${PORT:-18181}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  else
    echo "install wrk (apt-get install wrk) and run again" >&2; exit 1
  fi
fi
cargo build --release -q -p citygate
BIN=target/release/citygate
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }

# start NAME [DATABASE_URL SCHEMA]: starts the server, waits for /healthz, prints ready time.
start() {
  local name=$1 url=${2:-} schema=${3:-}
  local dir="$WORK/$name"
  mkdir -p "$dir"
  local t0; t0=$(now_ms)
  # The load comes from one address and one account: rate limits off (they are policy).
  DATABASE_URL=$url CITYGATE_DATABASE_SCHEMA=$schema RUST_LOG=warn \
    CITYGATE_RATE_PER_ADDRESS=0 CITYGATE_RATE_PER_ACCOUNT=0 \
    "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$dir/data" 2>"$dir/server.log" &
  SERVER_PID=$!
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir/server.log"; exit 1; }
    sleep 0.01
  done
  echo "  start to ready: $(( $(now_ms) - t0 )) ms (process start to first healthy answer)"
}

# token: creates the administrator and a desk account, prints an API token for the desk.
token() {
  local dir=$1 setup base="http://127.0.0.1:$PORT" jar="$1/jar" csrf id
  setup=$(grep -o 'token=[A-Za-z0-9_-]*' "$dir/server.log" | head -1 | cut -d= -f2)
  curl -sf -XPOST "$base/api/v1/setup" -H 'content-type: application/json' \
    -d "{\"token\":\"$setup\",\"username\":\"admin\",\"password\":\"benchmark password\"}" >/dev/null
  csrf=$(curl -sf -c "$jar" -XPOST "$base/api/v1/session" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"benchmark password"}' | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
  id=$(curl -sf -b "$jar" -XPOST "$base/api/v1/accounts" -H 'content-type: application/json' -H "x-csrf-token: $csrf" \
    -d '{"username":"desk","role":"desk","department":"police"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
  curl -sf -b "$jar" -XPOST "$base/api/v1/accounts/$id/tokens" -H 'content-type: application/json' -H "x-csrf-token: $csrf" \
    -d '{"label":"bench"}' | sed 's/.*"token":"\([^"]*\)".*/\1/'
}

load() {
  local what=$1 path=$2 body=$3 tok=${4:-}
  echo "  $what:"
  BODY_FILE=$HERE/$body TOKEN=$tok wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s "$HERE/post.lua" "http://127.0.0.1:$PORT$path" \
    | awk '/Requests\/sec/ {print "    requests/s: " $2} / 50%/ {print "    p50: " $2} / 99%/ {print "    p99: " $2} /Non-2xx/ {print "    NON-2XX: " $0} /Socket errors/ {print "    " $0}'
}

run() {
  local name=$1 url=${2:-} schema=${3:-}
  echo "== $name"
  start "$name" "$url" "$schema"
  local tok; tok=$(token "$WORK/$name")
  load "stateless decide (POST /api/v1/decide)" /api/v1/decide decide.json
  load "case creation (POST /api/v1/cases, ledger event + sealed personal data)" /api/v1/cases case.json "$tok"
  echo "  peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$SERVER_PID/status)"
  echo "  cases stored: $(curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/api/v1/cases?limit=500" | grep -o '"id"' | wc -l) (listing capped at 500)"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}

echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per run; $(nproc) cores"
run sqlite
if psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  schema="cg_bench_$$"
  run postgres "$PG_URL" "$schema"
  psql "$PG_URL" -qc "drop schema $schema cascade" >/dev/null 2>&1 || true
else
  echo "== postgres: not reachable at $PG_URL, skipped"
fi
