#!/usr/bin/env bash
# Where case creation spends its CPU: runs the case-creation load of run.sh (after a 3 s
# warm-up) and prints cases/s, p50/p99, and the CPU time per case of the service and of
# PostgreSQL's processes (from /proc/PID/stat), with PostgreSQL transactions per case.
#
#   bench/service/cpu.sh [sqlite|postgres]        # default postgres
#   BIN=/tmp/citygate-old bench/service/cpu.sh    # another build, for a before/after pair
set -euo pipefail
source "$(dirname "$0")/lib.sh"
STORE=${1:-postgres}

# CPU ticks (user + system) of the service, and of every postgres process.
service_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
postgres_ticks() {
  local sum=0 p
  for p in $(pgrep -x postgres); do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
commits() { psql "$PG_URL" -qAtc "select xact_commit from pg_stat_database where datname = current_database()"; }

start_store "$STORE"
run_load() {
  BODY_FILE=$HERE/case.json TOKEN=$TOK wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --latency \
    -s "$HERE/post.lua" "http://127.0.0.1:$PORT/api/v1/cases"
}
run_load 3s >/dev/null
s0=$(service_ticks) p0=$(postgres_ticks) c0=$(commits) t0=$(now_ms)
out=$(run_load "$DURATION")
s1=$(service_ticks) p1=$(postgres_ticks) c1=$(commits) t1=$(now_ms)
stop_store
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
echo "$out" | awk '/ 50%/ {p50=$2} / 99%/ {p99=$2} /Non-2xx|Socket errors/ {print "  " $0} END {print "  p50 " p50 ", p99 " p99}'
# Ticks are 10 ms; cases = rate x seconds.
awk -v rps="$rps" -v ms=$((t1 - t0)) -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v c=$((c1 - c0)) -v store="$STORE" 'BEGIN {
  n = rps * ms / 1000
  printf "  %s: %.0f cases/s; service %.2f cores, %.0f us/case", store, rps, s / ms * 10, s * 10000 / n
  if (store == "postgres") printf "; postgres %.2f cores, %.0f us/case, %.2f transactions/case", p / ms * 10, p * 10000 / n, c / n
  printf "\n"
}'
