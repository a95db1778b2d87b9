# tests/roles/lib.bash: shared set-up of the engine-role script tests (source it; not a test).
#
# Given a running test cluster (PGHOST/PGPORT/PGUSER from tests/lib/pgtest.sh's pg_test_start,
# as tests/run.sh does) it uses it; run alone, it starts its own.  Environment:
#   TGXD         the tgxd binary (default build/tgxd)
#   TGX_MIGRATE  a command migrating the database named by its argument (default tests/lib/migrate_db.sh)
#   TGX_SERVE_WRAPPER  a command prefix for tgxd serve (e.g. "valgrind -q --error-exitcode=99")
#
# Provides: a fresh migrated database $db at $url, TAP helpers (ok, not_ok, is, done_testing),
# start_tgxd NAME ARGS... (pid in TGXD_PID[NAME], log in $work/NAME.log; every tgxd is killed on
# exit), stop_tgxd NAME SIGNAL, wait_until SECONDS 'SQL returning true' (polls, bounded), q SQL,
# and fixtures: interval_job ID SECONDS [POLICY], keeper N (registered, whitelisted, checked in),
# start_sinks (the local alert sinks: http_port, smtp_port).
# and tests/lib/net.bash's free_port, rpc_ok, http_ok, wait_for, ensure_anvil and start_anvil.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
export TGXD=${TGXD:-$top/build/tgxd}
TGX_MIGRATE=${TGX_MIGRATE:-$top/tests/lib/migrate_db.sh}
test_name=$(basename "$0" .sh)

n_tests=0
n_failed=0
echo "TAP version 13"

ok() { n_tests=$((n_tests + 1)); echo "ok $n_tests - $test_name: $*"; }
not_ok() {
  n_tests=$((n_tests + 1))
  n_failed=$((n_failed + 1))
  echo "not ok $n_tests - $test_name: $*"
}
# check COND_STATUS DESCRIPTION [DIAGNOSTIC...]: ok when COND_STATUS is 0
check() {
  local st=$1 desc=$2
  shift 2
  if [ "$st" -eq 0 ]; then ok "$desc"; else
    not_ok "$desc"
    local d
    for d in "$@"; do printf '%s\n' "$d" | sed -e 's/^/# /'; done
  fi
}
# is GOT WANT DESCRIPTION
is() {
  if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}
show_logs() {
  local f
  for f in "$work"/*.log; do
    [ -s "$f" ] || continue
    echo "# --- $(basename "$f") (last 25 lines)"
    tail -n 25 "$f" | sed -e 's/^/# /'
  done
}
done_testing() {
  [ "$n_failed" -gt 0 ] && show_logs
  echo "1..$n_tests"
  [ "$n_failed" -eq 0 ]
  exit $?
}
bail() {
  echo "not ok $((n_tests + 1)) - $test_name setup: $*"
  show_logs 2>/dev/null
  echo "1..$((n_tests + 1))"
  exit 1
}

[ -x "$TGXD" ] || { work=/nonexistent; bail "$TGXD is missing (run make)"; }

own_cluster=0
if [ -z "${PGPORT:-}" ] || ! pg_isready -q -h "${PGHOST:-127.0.0.1}" -p "$PGPORT" 2>/dev/null; then
  # shellcheck source=../lib/pgtest.sh
  . "$top/tests/lib/pgtest.sh"
  pg_test_start >/dev/null || { work=/nonexistent; bail "could not start a PostgreSQL test cluster"; }
  own_cluster=1
fi

work=$(mktemp -d /tmp/tgx-roles.XXXXXX)
declare -A TGXD_PID=()
extra_pids=()
cleanup() {
  local name pid
  for name in "${!TGXD_PID[@]}"; do
    pid=${TGXD_PID[$name]}
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${extra_pids[@]:-}"; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${db:-}" ] && dropdb --if-exists --force "$db" >/dev/null 2>&1
  rm -rf "$work"
}
if [ "$own_cluster" = 1 ]; then trap 'cleanup; pg_test_stop' EXIT; else trap 'cleanup' EXIT; fi
trap 'exit 130' INT TERM
# a private copy of the binary: a `make` during the run cannot swap it
cp "$TGXD" "$work/tgxd" || bail "cannot copy $TGXD"
export TGXD=$work/tgxd

db=tgx_roles_${test_name}_$$
createdb "$db" || bail "createdb $db failed"
# shellcheck disable=SC2086 # a command with its arguments
$TGX_MIGRATE "$db" >"$work/migrate.log" 2>&1 || bail "migrating $db failed"
url="postgresql://${PGUSER:-postgres}@127.0.0.1:$PGPORT/$db"

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# start_tgxd NAME ARGS...: tgxd serve on $db in the background
start_tgxd() {
  local name=$1
  shift
  # shellcheck disable=SC2086 # the wrapper is a command with its arguments
  ${TGX_SERVE_WRAPPER:-} "$TGXD" serve --database-url "$url" "$@" >>"$work/$name.log" 2>&1 &
  TGXD_PID[$name]=$!
}
# stop_tgxd NAME SIGNAL [SECONDS]: send SIGNAL and wait (bounded) for the exit; sets stop_rc
# (the exit status, 124 when it did not exit in time) and stop_ms (how long it took)
stop_tgxd() {
  local name=$1 sig=$2 limit=${3:-10} pid=${TGXD_PID[$1]} t0 t1 i
  t0=$(date +%s%N)
  kill "-$sig" "$pid" 2>/dev/null
  stop_rc=124
  for ((i = 0; i < limit * 20; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  t1=$(date +%s%N)
  stop_ms=$(((t1 - t0) / 1000000))
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  else
    wait "$pid"
    stop_rc=$?
  fi
  TGXD_PID[$name]=
}
# kill9_tgxd NAME...: kill -9, reaped quietly
kill9_tgxd() {
  local name
  for name in "$@"; do
    {
      kill -KILL "${TGXD_PID[$name]}"
      wait "${TGXD_PID[$name]}"
    } 2>/dev/null
    TGXD_PID[$name]=
  done
}
# wait_until SECONDS SQL: poll SQL (returning t/f) every 0.1 s until true or SECONDS pass
wait_until() {
  local limit=$1 sql=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    [ "$(q "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  return 1
}

# interval_job ID SECONDS [POLICY]: an active interval job firing every SECONDS from now, for an hour
interval_job() {
  local id=$1 every=$2 policy=${3:-fire_all}
  q "INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('7', 40)) ON CONFLICT DO NOTHING;
     INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                           target_chain_id, target_contract_address, target_function, max_attempts, created_at,
                           expiration_time)
     SELECT $id, 'roles test $id', 1, u.user_id, 3600, '1', '1', '0x' || repeat('8', 40), 'ping()', 3, now(),
            now() + interval '1 hour'
       FROM tgx.users u WHERE u.user_address = '0x' || repeat('7', 40);
     INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy, misfire_cap, created_at)
     VALUES ($id, 'interval', $every, '$policy', 10000, now());" >/dev/null
}
# keeper N: a registered, whitelisted keeper with room for 10000 tasks, checked in now; prints its id
keeper() {
  local n=$1 id
  id=$(q "SELECT tgx.register_keeper('0x9' || lpad('$n', 39, '0'), 'roles keeper $n')") || return 1
  q "UPDATE tgx.keepers SET whitelisted = true, capacity = 10000 WHERE keeper_id = $id;
     SELECT tgx.keeper_checkin($id, 'test', 0);" >/dev/null || return 1
  echo "$id"
}
# no_gaps_no_doubles JOB: 't' when the job's tasks cover its instants once each, every SECONDS apart
firings_report() {
  q "SELECT count(*) || ' tasks, ' || count(DISTINCT scheduled_for) || ' instants, '
            || coalesce(sum(CASE WHEN gap <> s.time_interval * interval '1 second' THEN 1 ELSE 0 END), 0) || ' gaps'
       FROM (SELECT t.scheduled_for, t.scheduled_for - lag(t.scheduled_for) OVER (ORDER BY t.scheduled_for) AS gap
               FROM tgx.tasks t WHERE t.job_id = $1) x,
            tgx.time_schedules s WHERE s.job_id = $1"
}
# start_sinks: the local alert sinks of tests/roles/sinks.mjs (HTTP and SMTP) in the background;
# sets http_port and smtp_port; bails when they do not start
start_sinks() {
  node "$top/tests/roles/sinks.mjs" "$work" >"$work/sinks.log" 2>&1 &
  extra_pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/ports.json" ] && break; sleep 0.05; done
  [ -s "$work/ports.json" ] || bail "the alert sinks did not start"
  http_port=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$work/ports.json')).http)")
  smtp_port=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$work/ports.json')).smtp)")
}
