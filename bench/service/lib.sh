# Shared by run.sh, cpu.sh and rate.sh (sourced): settings, wrk, the release build, a
# scratch directory, `start` / `token` for one server, and `start_store` / `stop_store`.
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
# BIN=path/to/citygate compares another build; otherwise this checkout's, built here.
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p citygate
  BIN=target/release/citygate
fi
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }

# The machine's speed at the time of a run, from code we do not change: CPU seconds to
# SHA-256 256 MiB. The host's share of CPU varies several-fold over a day here, so a figure
# is comparable with another only beside this one.
machine_reference() {
  local TIMEFORMAT='%U'
  local secs; secs=$( { time head -c 268435456 /dev/zero | sha256sum >/dev/null; } 2>&1 )
  echo "machine reference: sha256sum of 256 MiB in ${secs} s of CPU (lower is faster)"
}

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

# start_store sqlite|postgres: the machine reference, then a server on that store (on
# PostgreSQL in a schema of its own, $SCHEMA) and a desk account's API token in $TOK.
start_store() {
  local store=$1 url=
  SCHEMA=
  if [ "$store" = postgres ]; then url=$PG_URL SCHEMA="cg_bench_$$"; fi
  machine_reference
  start "$store" "$url" "$SCHEMA"
  TOK=$(token "$WORK/$store")
}

# stop_store: stops the server and drops its PostgreSQL schema, if any.
stop_store() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
  if [ -n "$SCHEMA" ]; then psql "$PG_URL" -qc "drop schema $SCHEMA cascade" >/dev/null 2>&1 || true; fi
}
