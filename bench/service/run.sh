#!/usr/bin/env bash
# Load benchmark of `citygate serve`: stateless decide and case creation (with its durable
# ledger event), on SQLite and on PostgreSQL, with wrk in another process on loopback.
# Prints start-to-ready time, requests/s, p50/p99 latency and the server's peak RSS.
#
#   bench/service/run.sh            # both stores (PostgreSQL skipped if unreachable)
#   DURATION=30s CONNECTIONS=64 bench/service/run.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

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
machine_reference
run sqlite
if psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  schema="cg_bench_$$"
  run postgres "$PG_URL" "$schema"
  psql "$PG_URL" -qc "drop schema $schema cascade" >/dev/null 2>&1 || true
else
  echo "== postgres: not reachable at $PG_URL, skipped"
fi
