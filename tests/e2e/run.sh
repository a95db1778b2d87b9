#!/usr/bin/env bash
# tests/e2e/run.sh: the SDK acceptance test (tests/e2e/*.test.mjs): the npm package
# sdk-triggerx@0.1.38, unmodified, against `tgxd serve --roles=api` on a throwaway database and an
# anvil chain (npm @foundry-rs/anvil-linux-amd64) with the stand-in contracts of tests/e2e/contracts.  Prints
# TAP only; exits non-zero when a test fails or something cannot be started.
#
# Given a running test cluster (PGHOST/PGPORT/PGUSER from tests/lib/pgtest.sh's pg_test_start) it
# uses it; run alone, it starts its own.  Environment: TGXD (default build/tgxd), TGX_MIGRATE
# (default tests/lib/migrate_db.sh).  Runs `npm ci` in tests/e2e when node_modules is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
export TGXD=${TGXD:-$top/build/tgxd}
TGX_MIGRATE=${TGX_MIGRATE:-$top/tests/lib/migrate_db.sh}
work=$(mktemp -d /tmp/tgx-e2e.XXXXXX)
logs=()

bail() {
  echo "TAP version 13"
  echo "1..1"
  echo "not ok 1 - tests/e2e setup: $*"
  local f
  for f in "${logs[@]:-}"; do
    [ -n "$f" ] && [ -s "$f" ] && sed -e 's/^/# /' "$f" | tail -n 30
  done
  exit 1
}

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
  [ -n "${db:-}" ] && dropdb --if-exists "$db" >/dev/null 2>&1
  rm -rf "$work"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

[ -x "$TGXD" ] || bail "$TGXD is missing (run make)"
command -v node >/dev/null && command -v npm >/dev/null || bail "node and npm are needed"
# a private copy of the binary: a `make` during the run cannot swap it under the server
cp "$TGXD" "$work/tgxd" || bail "cannot copy $TGXD"
export TGXD=$work/tgxd

logs=("$work/anvil.log")
ensure_anvil "$work/anvil.log" sdk-triggerx || bail "$net_error"

if [ -z "${PGPORT:-}" ] || ! pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "$PGPORT" 2>/dev/null; then
  # shellcheck source=../lib/pgtest.sh
  . "$top/tests/lib/pgtest.sh"
  pg_test_start >/dev/null || bail "could not start a PostgreSQL test cluster"
  # pg_test_start chained its stop onto the EXIT trap: keep ours first
  trap 'cleanup; pg_test_stop' EXIT
fi

# anvil, in its own session
start_anvil "$work/anvil.log" --silent || bail "$net_error"
pids+=("$anvil_pid")
aport=$anvil_port

# database, key-less server (the test makes its keys with tgxd keys create)
db=tgx_e2e_$$
createdb "$db" || bail "createdb $db failed"
logs=("$work/migrate.log")
# shellcheck disable=SC2086 # a command with its arguments
$TGX_MIGRATE "$db" >"$work/migrate.log" 2>&1 || bail "migrating $db failed"
url="postgresql://${PGUSER:-postgres}@127.0.0.1:$PGPORT/$db"

port=$(free_port) || bail "no free port"
logs=("$work/serve.log")
# fees are estimated on the anvil chain (--rpc), so the SDK's deposit follows eth_estimateGas
setsid "$TGXD" serve --roles=api --listen "127.0.0.1:$port" --database-url "$url" --rpc "31337=http://127.0.0.1:$aport" \
  >"$work/serve.log" 2>&1 </dev/null &
spid=$!
pids+=("$spid")
wait_alive 30 "$spid" http_ok "$port" || bail "tgxd serve did not answer on 127.0.0.1:$port"

export TGX_E2E_URL="http://127.0.0.1:$port" TGX_E2E_RPC="http://127.0.0.1:$aport" TGX_E2E_DATABASE_URL=$url
node --test --test-reporter=tap --test-concurrency=1 "$here"/*.test.mjs 2>"$work/node.stderr"
rc=$?
if [ -s "$work/node.stderr" ]; then sed -e 's/^/# stderr: /' "$work/node.stderr" | tail -n 40; fi
if [ "$rc" -ne 0 ]; then
  echo "# tgxd serve log (tail):"
  sed -e 's/^/# /' "$work/serve.log" | tail -n 20
fi
exit "$rc"
