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

if [ ! -d "$here/node_modules/sdk-triggerx" ]; then
  logs=("$work/npm.log")
  (cd "$here" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) || bail "npm ci failed in tests/e2e"
fi
anvil=$here/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$anvil" ] || bail "$anvil is missing (npm ci in tests/e2e; linux-amd64 only)"

if [ -z "${PGPORT:-}" ] || ! pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "$PGPORT" 2>/dev/null; then
  # shellcheck source=../lib/pgtest.sh
  . "$top/tests/lib/pgtest.sh"
  pg_test_start >/dev/null || bail "could not start a PostgreSQL test cluster"
  # pg_test_start chained its stop onto the EXIT trap: keep ours first
  trap 'cleanup; pg_test_stop' EXIT
fi

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

rpc_ok() { # PORT: anvil answers eth_chainId with 31337 (0x7a69)
  local out
  out=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}"
    printf "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#body}" "$body" >&3
    cat <&3' "$1" 2>/dev/null)
  [[ $out == *'"result":"0x7a69"'* ]]
}

http_ok() { # PORT: GET /api/health answers
  local line
  line=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; head -n 1 <&3' "$1" 2>/dev/null)
  [[ $line == HTTP/1.* ]]
}

# anvil, in its own session
aport=$(free_port) || bail "no free port"
logs=("$work/anvil.log")
setsid "$anvil" --host 127.0.0.1 --port "$aport" --silent >"$work/anvil.log" 2>&1 </dev/null &
apid=$!
pids+=("$apid")
up=0
for _ in $(seq 1 200); do
  kill -0 "$apid" 2>/dev/null || break
  if rpc_ok "$aport"; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || bail "anvil did not answer eth_chainId 31337 on 127.0.0.1:$aport"

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
up=0
for _ in $(seq 1 300); do
  kill -0 "$spid" 2>/dev/null || break
  if http_ok "$port"; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || bail "tgxd serve did not answer on 127.0.0.1:$port"

export TGX_E2E_URL="http://127.0.0.1:$port" TGX_E2E_RPC="http://127.0.0.1:$aport" TGX_E2E_DATABASE_URL=$url
node --test --test-reporter=tap --test-concurrency=1 "$here"/*.test.mjs 2>"$work/node.stderr"
rc=$?
if [ -s "$work/node.stderr" ]; then sed -e 's/^/# stderr: /' "$work/node.stderr" | tail -n 40; fi
if [ "$rc" -ne 0 ]; then
  echo "# tgxd serve log (tail):"
  sed -e 's/^/# /' "$work/serve.log" | tail -n 20
fi
exit "$rc"
