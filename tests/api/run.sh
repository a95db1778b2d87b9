#!/usr/bin/env bash
# tests/api/run.sh: the REST API tests (tests/api/*.test.mjs, node's built-in test runner) against
# a real `tgxd serve --roles=api` on a throwaway database.  Prints TAP only; exits non-zero when a
# test fails or the server cannot be started.
#
# Given a running test cluster (PGHOST/PGPORT/PGUSER from tests/lib/pgtest.sh's pg_test_start,
# as tests/run.sh does) it uses it; run alone, it starts its own.  Environment:
#   TGXD         the tgxd binary (default build/tgxd)
#   TGX_MIGRATE  a command migrating the database named by its argument (default tests/lib/migrate_db.sh)
#   TGX_API_TESTS  test files to run (default tests/api/*.test.mjs)
#   TGX_SERVE_WRAPPER  a command prefix for the servers, e.g. "valgrind --error-exitcode=99 -q";
#                      a wrapper exit status 99 after SIGTERM is reported as a failed test
#
# What it sets up: database tgx_api_<pid>, migrated; an admin key (`tgxd keys create --admin`);
# TWO instances of `tgxd serve --roles=api` on free loopback ports (the second one for the rate
# limit across instances), both killed on exit whatever happens.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
export TGXD=${TGXD:-$top/build/tgxd}
TGX_MIGRATE=${TGX_MIGRATE:-$top/tests/lib/migrate_db.sh}

bail() {
  echo "TAP version 13"
  echo "1..1"
  echo "not ok 1 - tests/api setup: $*"
  for f in "${logs[@]:-}"; do
    [ -n "$f" ] && [ -s "$f" ] && sed -e 's/^/# /' "$f" | tail -n 30
  done
  exit 1
}

if [ ! -x "$TGXD" ]; then logs=(); bail "$TGXD is missing (run make)"; fi
if ! command -v node >/dev/null; then logs=(); bail "node is not installed"; fi

own_cluster=0
if [ -z "${PGPORT:-}" ] || ! pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "$PGPORT" 2>/dev/null; then
  # shellcheck source=../lib/pgtest.sh
  . "$top/tests/lib/pgtest.sh"
  pg_test_start >/dev/null || { logs=(); bail "could not start a PostgreSQL test cluster"; }
  own_cluster=1
fi

work=$(mktemp -d /tmp/tgx-api.XXXXXX)
logs=("$work/serve1.log" "$work/serve2.log")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
  [ -n "${db:-}" ] && dropdb --if-exists "$db" >/dev/null 2>&1
  rm -rf "$work"
}
if [ "$own_cluster" = 1 ]; then trap 'cleanup; pg_test_stop' EXIT; else trap 'cleanup' EXIT; fi
trap 'exit 130' INT TERM
# run a private copy of the binary: a `make` during the run cannot swap it under the servers,
# `tgxd keys create` and `tgxd routes`
cp "$TGXD" "$work/tgxd" || bail "cannot copy $TGXD"
export TGXD=$work/tgxd

db=tgx_api_$$
createdb "$db" || bail "createdb $db failed"
# shellcheck disable=SC2086 # a command with its arguments
$TGX_MIGRATE "$db" >"$work/migrate.log" 2>&1 || { logs=("$work/migrate.log"); bail "migrating $db failed"; }
url="postgresql://${PGUSER:-postgres}@127.0.0.1:$PGPORT/$db"

admin_owner=0x00000000000000000000000000000000000a0001
admin_key=$("$TGXD" keys create --owner "$admin_owner" --admin --rate-limit 1000000 --database-url "$url" 2>"$work/keys.log") ||
  { logs=("$work/keys.log"); bail "tgxd keys create --admin failed"; }
[[ $admin_key =~ ^TGRX-[0-9a-f-]{36}$ ]] || bail "tgxd keys create printed '$admin_key', not a key alone"

start_server() { # LOG INSTANCE -> sets SRV_PID SRV_PORT (a child of this shell, in its own session)
  local log=$1 inst=$2
  SRV_PORT=$(free_port) || return 1
  # shellcheck disable=SC2086 # the wrapper is a command prefix
  setsid ${TGX_SERVE_WRAPPER:-} "$TGXD" serve --roles=api --listen "127.0.0.1:$SRV_PORT" --database-url "$url" \
    --instance-id "$inst" >"$log" 2>&1 </dev/null &
  SRV_PID=$!
  pids+=("$SRV_PID")
}

start_server "$work/serve1.log" api-test-1 || bail "no free port"
pid1=$SRV_PID port1=$SRV_PORT
start_server "$work/serve2.log" api-test-2 || bail "no free port"
pid2=$SRV_PID port2=$SRV_PORT
wait_alive 30 "$pid1" http_ok "$port1" || bail "tgxd serve did not answer on 127.0.0.1:$port1 (log below)"
wait_alive 30 "$pid2" http_ok "$port2" || bail "the second tgxd serve did not answer on 127.0.0.1:$port2 (log below)"

export TGX_API_URL="http://127.0.0.1:$port1" TGX_API_URL2="http://127.0.0.1:$port2"
export TGX_API_DATABASE_URL=$url TGX_API_ADMIN_KEY=$admin_key TGX_API_ADMIN_OWNER=$admin_owner
export TGX_API_PIDS="$pid1 $pid2"  # zz_alive.test.mjs checks that both survived every test

# shellcheck disable=SC2206 # a list of files
files=(${TGX_API_TESTS:-$top/tests/api/*.test.mjs})
# one file at a time: several files count rows of shared tables and watch shared metrics
node --test --test-reporter=tap --test-concurrency=1 "${files[@]}" 2>"$work/node.stderr"
rc=$?
if [ -s "$work/node.stderr" ]; then sed -e 's/^/# stderr: /' "$work/node.stderr" | tail -n 40; fi

if [ -n "${TGX_SERVE_WRAPPER:-}" ]; then
  for pid in "$pid1" "$pid2"; do kill -TERM -- "-$pid" 2>/dev/null; done
  n=0
  for pid in "$pid1" "$pid2"; do
    n=$((n + 1))
    wait "$pid" 2>/dev/null
    st=$?
    # a second TAP stream of one test per instance
    echo "TAP version 13"
    echo "1..1"
    if [ "$st" -eq 99 ]; then
      echo "not ok 1 - ${TGX_SERVE_WRAPPER%% *} reported errors in tgxd serve instance $n"
      grep -E '==[0-9]+==' "$work/serve$n.log" | sed -e 's/^/# /' | head -n 60
      rc=1
    else
      echo "ok 1 - ${TGX_SERVE_WRAPPER%% *}: tgxd serve instance $n exited with status $st"
    fi
  done
  pids=()
fi
exit "$rc"
