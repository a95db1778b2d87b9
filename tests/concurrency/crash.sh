#!/usr/bin/env bash
# tests/concurrency/crash.sh: proves that the roles' asynchronous commits lose nothing and double
# nothing when PostgreSQL crashes.  The scheduler, dispatcher and monitor commit with
# synchronous_commit = off (include/tgx/role_loop.h): a crash may lose their last transactions,
# which must then be lost whole, be redone by the next step, and never take with them anything a
# synchronous commit after them (a keeper's take or result) depended on.
#
# On its own durable cluster (fsync and synchronous_commit on; wal_writer_delay 10 s, so that
# asynchronous commits stay unflushed for a while), with CRASH_SCHEDULES interval jobs:
#   1. roles, asynchronous: fire every schedule at T1, dispatch the tasks;
#   2. a keeper, synchronous: takes one task and reports its result (attesters = 0: accepted at
#      once, its accounting queued in tgx.task_settlements);
#   3. roles, asynchronous: settle that result; fire every schedule again at T2;
#   4. crash (immediate stop: WAL not yet written is lost), restart (crash recovery).
# Then: everything before the keeper's commits survived; the settlement and the T2 firing are
# each there whole or not at all; running the steps again settles once and leaves exactly one
# task per schedule and instant.
# Prints TAP; exits non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
schedules=${CRASH_SCHEDULES:-300}
n=0
failed=0
ok() { # ok COND-RESULT DESCRIPTION: COND-RESULT is "t" for a pass
  n=$((n + 1))
  if [ "$1" = t ]; then echo "ok $n - $2"; else echo "not ok $n - $2 (got: $1)"; failed=$((failed + 1)); fi
}
bail() { echo "Bail out! $*"; exit 1; }

# shellcheck source=../lib/pgtest.sh
. "$top/tests/lib/pgtest.sh"
export PGTEST_EXTRA_OPTS="-c wal_writer_delay=10s -c autovacuum=off"
PGTEST_DURABLE=1 pg_test_start >/dev/null || bail "could not start a PostgreSQL test cluster"
db=tgx_crash
createdb "$db" || bail "could not create $db"
${TGX_MIGRATE:-$top/tests/lib/migrate_db.sh} "$db" >/dev/null || bail "could not migrate $db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
role() { PGOPTIONS="-c synchronous_commit=off" q -c "$1"; } # a role's connection: asynchronous commits

t0="2020-01-01 00:00:00+00"
t1="2020-01-01 00:00:01+00"
t2="2020-01-01 00:01:01+00"
# the instants fired (interval 60 s from t0): at T1 the one due at t0, at T2 the one due at t0 + 60 s
f1=$t0
f2="2020-01-01 00:01:00+00"
q -v n="$schedules" -v t0="$t0" >/dev/null <<'SQL' || bail "setup failed"
INSERT INTO tgx.users (user_address) SELECT '0x' || lpad(to_hex(g), 40, '0') FROM generate_series(1, :n) g;
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, recurring, created_chain_id,
                      target_chain_id, target_contract_address, target_function, created_at, expiration_time)
SELECT g, 'crash job ' || g, 1, u.user_id, 630720000, true, '1', '1', '0x000000000000000000000000000000000000beef',
       'ping()', :'t0', :'t0'::timestamptz + interval '20 years'
  FROM generate_series(1, :n) g JOIN tgx.users u ON u.user_address = '0x' || lpad(to_hex(g), 40, '0');
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy)
SELECT g, 'interval', 60, 'fire_once' FROM generate_series(1, :n) g;
SET session_replication_role = replica;   -- due at t0, without the insert-time validation
UPDATE tgx.time_schedules SET next_fire_at = :'t0';
RESET session_replication_role;
SELECT tgx.register_keeper('0x' || lpad(to_hex(1000 + g), 40, '0'), 'k' || g) FROM generate_series(1, 4) g;
UPDATE tgx.keepers SET whitelisted = true, capacity = 1000;
SELECT tgx.keeper_checkin(keeper_id) FROM tgx.keepers;
SELECT tgx.set_setting('attesters', '0', 'crash test: results are accepted at once');
SQL

# 1. roles, asynchronous
fired1=$(role "SELECT tgx.fire_due_schedules(10000, '$t1')")
dispatched=$(role "SELECT tgx.dispatch_tasks(10000)")
ok "$([ "$fired1" = "$schedules" ] && [ "$dispatched" = "$schedules" ] && echo t || echo "$fired1 fired, $dispatched dispatched")" \
  "roles (asynchronous): $schedules tasks fired at T1 and dispatched"
# 2. a keeper, synchronous
read -r task keeper epoch < <(q -F ' ' -c "SELECT l.task_id, l.keeper_id, l.lease_epoch
  FROM tgx.keepers k CROSS JOIN LATERAL tgx.keeper_take(k.keeper_id, 1) l ORDER BY k.keeper_id LIMIT 1")
[ -n "${task:-}" ] || bail "no task taken"
state=$(q -c "SELECT tgx.submit_result($task, $keeper, $epoch, '{\"task_opx_cost\": 2}')")
ok "$([ "$state" = succeeded ] && echo t || echo "$state")" "keeper (synchronous): task $task taken and its result accepted"
# 3. roles, asynchronous
settled=$(role "SELECT tgx.settle_tasks(100)")
fired2=$(role "SELECT tgx.fire_due_schedules(10000, '$t2')")
ok "$([ "$settled" = 1 ] && [ "$fired2" = "$schedules" ] && echo t || echo "$settled settled, $fired2 fired")" \
  "roles (asynchronous): the result settled, $schedules tasks fired at T2"
# 4. crash
pg_test_crash || bail "the cluster did not come back after the crash"

ok "$(q -c "SELECT count(*) = $schedules AND count(*) FILTER (WHERE state IN ('assigned', 'running', 'succeeded')) = $schedules
             FROM tgx.tasks WHERE scheduled_for = '$f1'")" \
  "every T1 task and its dispatch survived: the keeper's synchronous commits flushed the WAL through them"
ok "$(q -c "SELECT state = 'succeeded' AND keeper_id = $keeper FROM tgx.tasks WHERE task_id = $task")" \
  "the keeper's result survived"
settlement_kept=$(q -c "SELECT count(*) FROM tgx.task_settlements WHERE task_id = $task")
ok "$(q -c "SELECT ($settlement_kept = 1) = (j.job_cost_actual = 0 AND u.total_tasks = 0)
             FROM tgx.tasks t JOIN tgx.jobs j ON j.job_id = t.job_id JOIN tgx.users u ON u.user_id = j.user_id
            WHERE t.task_id = $task")" \
  "the settling is there whole or not at all: its row is left exactly when the accounting is not applied"
t2_kept=$(q -c "SELECT count(*) FROM tgx.tasks WHERE scheduled_for = '$f2'")
ok "$(q -c "SELECT count(*) = 0 FROM tgx.time_schedules s
             WHERE (s.next_fire_at > '$f2') <> EXISTS (SELECT 1 FROM tgx.tasks t
                                                        WHERE t.job_id = s.job_id AND t.scheduled_for = '$f2')")" \
  "every T2 firing is there whole or not at all: a schedule moved on exactly when its task exists"
echo "# after the crash: $t2_kept of $schedules T2 tasks and $settlement_kept unsettled result left"

# the roles run again
role "SELECT tgx.settle_tasks(100)" >/dev/null
role "SELECT tgx.fire_due_schedules(10000, '$t2')" >/dev/null
ok "$(q -c "SELECT j.job_cost_actual = 2 AND u.total_tasks = 1 AND NOT EXISTS (SELECT 1 FROM tgx.task_settlements)
             FROM tgx.tasks t JOIN tgx.jobs j ON j.job_id = t.job_id JOIN tgx.users u ON u.user_id = j.user_id
            WHERE t.task_id = $task")" \
  "settling again accounts for the result exactly once"
ok "$(q -c "SELECT count(*) = 0 FROM tgx.time_schedules s
             WHERE (SELECT count(*) FROM tgx.tasks t WHERE t.job_id = s.job_id AND t.scheduled_for = '$f2') <> 1
                OR s.next_fire_at <= '$f2'")" \
  "firing again: exactly one T2 task per schedule, none lost, none doubled"
echo "1..$n"
[ "$failed" -eq 0 ]
