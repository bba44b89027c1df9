#!/usr/bin/env bash
# Case creation at a fixed offered rate (default 3,000/s, the issue's target), with oha
# correcting for coordinated omission: a stalled server is charged for the requests it
# delayed, which a closed-loop tool such as wrk hides. Prints p50/p99/p99.9 per run and the
# quarter-seconds in which some request took over 20 ms, so that a stall can be set beside
# the kernel's writeback or PostgreSQL's checkpoints. Runs are long enough (45 s) to cross
# the kernel's 30-s dirty-page expiry, which 15-s runs never reach.
#
#   bench/service/rate.sh [sqlite|postgres]         # default sqlite
#   RATE=5000 DURATION=60s RUNS=3 bench/service/rate.sh postgres
set -euo pipefail
RUN_FOR=${DURATION:-45s}
source "$(dirname "$0")/lib.sh"
STORE=${1:-sqlite}
RATE=${RATE:-3000}
RUNS=${RUNS:-2}
OHA=${OHA:-$(command -v oha || echo target/bench-tools/bin/oha)}
if [ ! -x "$OHA" ]; then
  echo "installing oha into target/bench-tools (once; a few minutes)" >&2
  cargo install -q oha --locked --root target/bench-tools
fi

start_store "$STORE"
# 480 requests with different facts (77 distinct engine answers), one per line, as a day's
# cases differ; run.sh's single body gives every case the same answer.
python3 "$HERE/mixed_cases.py" >"$WORK/cases.jsonl"
oha_cases() {
  "$OHA" --no-tui -c 64 -m POST -T application/json -H "Authorization: Bearer $TOK" \
    -Z "$WORK/cases.jsonl" "$@" "http://127.0.0.1:$PORT/api/v1/cases"
}
# PostgreSQL's WAL position, to print the WAL written per case (0/0 on SQLite).
wal_lsn() { [ "$STORE" = postgres ] && psql "$PG_URL" -Atc "select pg_current_wal_lsn()" || echo 0/0; }
oha_cases -z 3s >/dev/null # warm-up
for run in $(seq 1 "$RUNS"); do
  # Dirty pages left by earlier work would be written during the run and charged to it.
  sync
  rm -f "$WORK/requests.db"
  wal_from=$(wal_lsn)
  oha_cases -z "$RUN_FOR" -q "$RATE" --latency-correction --db-url "$WORK/requests.db" >"$WORK/oha.txt" 2>"$WORK/oha.err" || { cat "$WORK/oha.err"; exit 1; }
  echo "== $STORE, run $run: $RATE cases/s offered for $RUN_FOR"
  awk '/Requests\/sec/ {print "  served: " $2 " cases/s"}
    $1 == "50.00%" || $1 == "99.00%" || $1 == "99.90%" {print "  p" ($1 + 0) ": " $3 " " $4}
    /^ +\[[0-9]+\] [0-9]+ responses/ && !/\[201\]/ {print "  NOT 201:" $0}' "$WORK/oha.txt"
  wal_to=$(wal_lsn)
  python3 - "$WORK/requests.db" "$wal_from" "$wal_to" <<'PY'
import collections, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "select start, end, coalesce(start_latency_correction, start) from oha order by start").fetchall()
lsn = lambda s: (int(s.split("/")[0], 16) << 32) + int(s.split("/")[1], 16)
if sys.argv[3] != "0/0":
    print("  PostgreSQL WAL: %.0f bytes per case" % ((lsn(sys.argv[3]) - lsn(sys.argv[2])) / len(rows)))
t0 = rows[0][0]
quarters = collections.defaultdict(list)
for start, end, due in rows:
    quarters[int((start - t0) * 4)].append(end - due)
slow = [(q / 4, max(v) * 1000, sum(x > 0.02 for x in v)) for q, v in sorted(quarters.items()) if max(v) > 0.02]
print("  quarter-seconds with a request over 20 ms: %d of %d" % (len(slow), len(quarters)))
for at, worst, n in slow:
    if worst > 50:
        print("    at %5.2f s: worst %.0f ms, %d requests over 20 ms" % (at, worst, n))
PY
done
stop_store
