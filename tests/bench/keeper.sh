#!/usr/bin/env bash
# tests/bench/keeper.sh: `make bench` -- the engine and keeper benchmark (issue 4).
#
# One throwaway DURABLE PostgreSQL cluster (fsync and synchronous_commit on), one
# `tgxd serve --roles=all`, and `tgx-keeper run --dry-run` keepers (no chain: the transaction is
# built and signed, never sent), all on 127.0.0.1.  It prints:
#   1. due -> keeper latency: TGX_BENCH_KEEPER_SAMPLES one-shot jobs due 40 ms apart, two idle
#      keepers long-polling; per task, from the instant it is due (tasks.scheduled_for) to the
#      keeper's ack (tasks.started_at): p50 / p99 / max in ms.  Target p99 < 50 ms (the original
#      backend polls every 30 s).
#   2. end-to-end tasks/s: TGX_BENCH_KEEPER_TASKS tasks due at once, 8 keepers, each result attested
#      by the other keepers (setting attesters, default 3): from the instant they are due to the last
#      one succeeded; printed beside the SQL-only life cycle of the SQL core benchmark (sql_core,
#      batched, 8 connections, no attesters) measured on the same cluster in the same run.
#   3. keeper memory: the largest VmHWM and VmRSS of the keepers after part 2.  Target < 16 MB.
# A benchmark, not a test: it never fails on a figure; the exit status is non-zero only when
# something cannot be set up.
#
# Environment: TGXD (default build/tgxd), TGX_KEEPER (default build/tgx-keeper),
# TGX_BENCH_KEEPER_SAMPLES (default 300), TGX_BENCH_KEEPER_TASKS (default 2000),
# TGX_BENCH_KEEPERS (default 8), TGX_BENCH_KEEPER_SQL (1: also run the SQL-only figure; default 1).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
TGXD=${TGXD:-$top/build/tgxd}
KEEPER=${TGX_KEEPER:-$top/build/tgx-keeper}
SAMPLES=${TGX_BENCH_KEEPER_SAMPLES:-300}
TASKS=${TGX_BENCH_KEEPER_TASKS:-2000}
NKEEPERS=${TGX_BENCH_KEEPERS:-8}
SQL_FIGURE=${TGX_BENCH_KEEPER_SQL:-1}

die() { echo "bench keeper: $*" >&2; exit 1; }
[ -x "$TGXD" ] || die "$TGXD is missing (run make)"
[ -x "$KEEPER" ] || die "$KEEPER is missing (run make)"

# shellcheck source=../lib/pgtest.sh
. "$top/tests/lib/pgtest.sh"
PGTEST_DURABLE=1 pg_test_start || die "could not start the PostgreSQL cluster"

work=$(mktemp -d /tmp/tgx-bench-keeper.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$work"
  pg_test_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db=tgx_bench_keeper
url=$(pg_test_createdb "$db") || die "createdb failed"
"$TGXD" migrate --sql-dir "$top" --database-url "$url" >/dev/null || die "migration failed"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

port=$(free_port) || die "no free port"
api="http://127.0.0.1:$port"
setsid "$TGXD" serve --roles=all --listen "127.0.0.1:$port" --database-url "$url" --log-level warning \
  >"$work/tgxd.log" 2>&1 </dev/null &
pids+=($!)
wait_alive 30 "$!" http_ok "$port" || { tail -n 20 "$work/tgxd.log" >&2; die "tgxd serve did not start"; }

# keepers: key files, registered and whitelisted, room for every task
declare -a kpids=()
start_keeper() { # N
  local key="$work/keeper$1.key" addr
  addr=$("$KEEPER" keygen --key "$key") || die "tgx-keeper keygen failed"
  q "SELECT tgx.register_keeper('$addr', 'bench keeper $1');
     SELECT tgx.whitelist_keeper('$addr', 'bench');
     UPDATE tgx.keepers SET capacity = 10000 WHERE keeper_address = lower('$addr');" >/dev/null ||
    die "registering keeper $1 failed"
  setsid "$KEEPER" run --api "$api" --key "$key" --dry-run --concurrency 16 --log-level warning \
    >"$work/keeper$1.log" 2>&1 </dev/null &
  pids+=($!)
  kpids+=($!)
}
wait_sql() { # SECONDS SQL: until SQL returns t
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [ "$(q "$2")" = t ] && return 0
    sleep 0.1
  done
  return 1
}

q "INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('b', 40)) ON CONFLICT DO NOTHING" >/dev/null
# one-shot jobs due at DUE_SQL + i * STEP_MS for i in [0, N): job ids from FIRST
one_shots() { # FIRST N DUE_SQL STEP_MS
  q "INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                           target_chain_id, target_contract_address, target_function, arguments, created_at,
                           expiration_time)
     SELECT $1 + g, 'bench ' || g, 1, u.user_id, 3600, '31337', '31337', '0x' || repeat('8', 40),
            'increment(uint256)', '{1}', now(), now() + interval '1 hour'
       FROM generate_series(0, $2 - 1) g, tgx.users u WHERE u.user_address = '0x' || repeat('b', 40);
     INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_at, created_at)
     SELECT $1 + g, 'specific', $3 + g * interval '$4 milliseconds', now()
       FROM generate_series(0, $2 - 1) g;
     NOTIFY tgx_schedule;" >/dev/null || die "creating jobs failed"
}

# ---- 1. due -> keeper latency, two idle keepers
start_keeper 1
start_keeper 2
wait_sql 30 "SELECT count(*) = 2 FROM tgx.keepers WHERE online" || die "the keepers did not check in"
echo "bench keeper: latency, $SAMPLES tasks due 40 ms apart" >&2
one_shots 1000000 "$SAMPLES" "now() + interval '2 seconds'" 40
wait_sql $((SAMPLES / 10 + 60)) "SELECT count(*) = $SAMPLES FROM tgx.tasks WHERE job_id < 2000000 AND started_at IS NOT NULL" ||
  echo "bench keeper: not every latency task was taken" >&2
lat=$(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
                round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' ||
                round(max(ms)::numeric, 1) || ' ' || count(*)
           FROM (SELECT extract(epoch FROM t.started_at - t.scheduled_for) * 1000 AS ms
                   FROM tgx.tasks t WHERE t.job_id < 2000000 AND t.started_at IS NOT NULL) x")
read -r p50 p99 pmax nlat <<<"$lat"

# ---- 2. throughput, NKEEPERS keepers, attested
for n in $(seq 3 "$NKEEPERS"); do start_keeper "$n"; done
wait_sql 30 "SELECT count(*) = $NKEEPERS FROM tgx.keepers WHERE online" || die "the keepers did not check in"
echo "bench keeper: throughput, $TASKS tasks due at once, $NKEEPERS keepers" >&2
one_shots 2000000 "$TASKS" "date_trunc('second', now()) + interval '3 seconds'" 0
wait_sql $((TASKS / 5 + 120)) "SELECT count(*) = $TASKS FROM tgx.tasks WHERE job_id >= 2000000 AND state = 'succeeded'" ||
  echo "bench keeper: not every throughput task succeeded in time" >&2
thr=$(q "SELECT count(*) || ' ' ||
                round((count(*) / greatest(extract(epoch FROM max(finished_at) - min(scheduled_for)), 0.001))::numeric, 1)
                || ' ' || round(avg(cardinality(task_attester_ids))::numeric, 2)
           FROM tgx.tasks WHERE job_id >= 2000000 AND state = 'succeeded'")
read -r ndone tps attesters <<<"$thr"

# ---- 3. keeper memory
hwm=0
rss=0
for pid in "${kpids[@]}"; do
  h=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
  r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${h:-0}" -gt "$hwm" ] && hwm=$h
  [ "${r:-0}" -gt "$rss" ] && rss=$r
done

# ---- the SQL-only life cycle of the SQL core benchmark, same cluster
sqlfig="n/a"
if [ "$SQL_FIGURE" = 1 ] && [ -x build/tests/bench/sql_core ]; then
  echo "bench keeper: SQL-only life cycle (sql_core, batched, 8 connections)" >&2
  sdb=tgx_bench_keeper_sql
  surl=$(pg_test_createdb "$sdb") || die "createdb failed"
  "$TGXD" migrate --sql-dir "$top" --database-url "$surl" >/dev/null || die "migration failed"
  TGX_BENCH_PARTS=life TGX_BENCH_CONNS=8 build/tests/bench/sql_core --database-url "$surl" >"$work/sql_core.out" 2>/dev/null
  # the batched life-cycle row at 8 connections: its first number is tasks/s
  sqlfig=$(awk '/^1 life cycle, 100 per call/ { for (i = 1; i < NF; i++) if ($i == "tasks/s") { print $(i + 1); exit } }' \
    "$work/sql_core.out")
  [ -n "$sqlfig" ] || { sqlfig="n/a"; sed -e 's/^/# /' "$work/sql_core.out" >&2; }
fi

echo
echo "engine + keeper benchmark (tgxd serve --roles=all, tgx-keeper run --dry-run, durable PostgreSQL)"
printf '%-62s %12s   %s\n' "figure" "value" "target"
printf '%-62s %12s   %s\n' "due -> keeper ack, p50 (ms, $nlat tasks)" "$p50" ""
printf '%-62s %12s   %s\n' "due -> keeper ack, p99 (ms)" "$p99" "< 50 ms"
printf '%-62s %12s   %s\n' "due -> keeper ack, max (ms)" "$pmax" ""
printf '%-62s %12s   %s\n' "end to end tasks/s ($ndone tasks, $NKEEPERS keepers, ${attesters} attesters)" "$tps" ""
printf '%-62s %12s   %s\n' "SQL-only life cycle tasks/s (100 per call, 8 conns, no attesters)" "$sqlfig" ""
if [ "$sqlfig" != "n/a" ] && [ -n "$tps" ]; then
  printf '%-62s %11s%%   %s\n' "end to end / SQL-only" "$(awk -v a="$tps" -v b="$sqlfig" 'BEGIN { printf "%.1f", 100 * a / b }')" ""
fi
printf '%-62s %12s   %s\n' "keeper VmHWM (largest of $NKEEPERS, MB)" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')" "< 16 MB"
printf '%-62s %12s   %s\n' "keeper VmRSS (largest, MB)" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" ""
