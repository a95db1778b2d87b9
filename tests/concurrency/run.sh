#!/usr/bin/env bash
# tests/concurrency/run.sh: proves, on a real cluster, that the scheduler, dispatchers and
# keepers can all run at once on the same data.  8 pgbench connections each loop over
#   tgx.fire_due_schedules -> tgx.dispatch_tasks -> tgx.keeper_take -> tgx.submit_results
#   -> votes on its keeper's open attestations (tgx.submit_attestation)
# while 4 keepers of capacity 6 are shared by the 8 connections (two per keeper, so two polls
# of one keeper race for its tasks).  Then one session drains what is left and SQL checks:
# every schedule fired exactly once, no task was taken twice, every task had exactly one
# assignment, no keeper was ever over capacity, every result was accepted once, and the
# accounting (user tasks, keeper executions) counts every task once, and the keeper load
# counters (tgx.keeper_load) agree with the tasks.
# CONC_MODE=quorum (default): 2 attesters per result, decided by quorum; CONC_MODE=direct
# (tests/concurrency/direct.sh): setting attesters = 0, so every result is accepted at once and
# its accounting is applied by tgx.settle_tasks, which every connection also calls: each result
# must be settled exactly once.
#
# Needs a running cluster (PGHOST/PGPORT/PGUSER) and TGX_MIGRATE, a command that migrates the
# database named by its argument (tests/lib/migrate_db.sh, or tests/lib/devload.sh while the C
# runner is missing).  Creates and drops its own database.  Prints TAP; exits non-zero on failure.
# Knobs: CONC_SCHEDULES (default 400), CONC_TRANSACTIONS per connection (default 60).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
: "${TGX_MIGRATE:?TGX_MIGRATE must name a command that migrates a database}"
pgbin=${PGBIN:-$(pg_config --bindir 2>/dev/null)}
[ -x "$pgbin/pgbench" ] || pgbin=/usr/lib/postgresql/15/bin
mode=${CONC_MODE:-quorum}
case "$mode" in quorum | direct) ;; *) echo "Bail out! CONC_MODE must be quorum or direct"; exit 1 ;; esac
schedules=${CONC_SCHEDULES:-400}
transactions=${CONC_TRANSACTIONS:-60}
db=tgx_concurrency_$$
work=$(mktemp -d /tmp/tgx_conc.XXXXXX)
chmod 755 "$work"
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1; [ -n "${CONC_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

bail() { echo "Bail out! $*"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

createdb "$db" || bail "could not create database $db"
$TGX_MIGRATE "$db" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; bail "could not migrate $db"; }
with_schedules=$(q -c "SELECT to_regprocedure('tgx.fire_due_schedules(integer,timestamptz)') IS NOT NULL")

# the data: 4 keepers of capacity 6, one user, $schedules jobs with a due schedule each
# (one-shot 'specific' runs in the past, and hourly intervals whose first run has just passed),
# or due pending tasks when tgx.fire_due_schedules is not installed
q -v n="$schedules" -v sched="$with_schedules" -v direct="$([ "$mode" = direct ] && echo t || echo f)" <<'SQL' >/dev/null || bail "could not set up the data"
CREATE TABLE public.conc_taken (task_id bigint NOT NULL, lease_epoch bigint NOT NULL, client integer NOT NULL,
                                submitted boolean NOT NULL DEFAULT false);
CREATE TABLE public.conc_overcap (keeper_id bigint, active bigint, capacity integer,
                                  seen_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE public.conc_submits (client integer, sent integer, applied integer);
CREATE FUNCTION public.conc_keeper(i_n integer) RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT keeper_id FROM tgx.keepers WHERE keeper_name = 'conc-' || i_n $$;
-- vote "valid" on the oldest open attestation of a keeper (one vote per transaction, as the
-- keeper gateway does); a vote that lost a race (the task was decided meanwhile, or the
-- keeper's other connection voted first) is refused with 55000 and not counted
CREATE FUNCTION public.conc_vote(i_keeper bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT a.task_id, a.lease_epoch FROM tgx.attestations a
              WHERE a.keeper_id = i_keeper AND a.verdict IS NULL AND NOT a.superseded
              ORDER BY a.task_id LIMIT 1 LOOP
        BEGIN
            PERFORM tgx.submit_attestation(r.task_id, i_keeper, r.lease_epoch, true);
            n := n + 1;
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            NULL;
        END;
    END LOOP;
    RETURN n;
END $$;

INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('c', 40));
SELECT tgx.register_keeper('0x' || lpad(to_hex(n), 40, 'c'), 'conc-' || n) FROM generate_series(1, 4) n;
UPDATE tgx.keepers SET whitelisted = true, capacity = 6;
\if :direct
UPDATE tgx.settings SET value = '0' WHERE name = 'attesters';
\endif
SELECT tgx.keeper_checkin(keeper_id) FROM tgx.keepers;
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id, target_chain_id,
                      target_contract_address, target_function, created_at, expiration_time)
SELECT 900000 + n, 'concurrency ' || n, 1, (SELECT user_id FROM tgx.users), 86400, '1', '1',
       '0x' || repeat('d', 40), 'ping()', now() - interval '2 hours', now() + interval '1 day'
  FROM generate_series(1, :n) n;
SELECT CASE WHEN :'sched' = 't' THEN 'schedules' ELSE 'tasks' END AS mode \gset
\if :sched
INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_at, created_at)
SELECT job_id, 'specific', now() - interval '1 second', now() - interval '1 minute'
  FROM tgx.jobs WHERE job_id % 4 <> 0;
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
SELECT job_id, 'interval', 3600, now() - interval '3600.5 seconds'
  FROM tgx.jobs WHERE job_id % 4 = 0;
\else
INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at)
SELECT job_id, 1, 'pending', now(), now() FROM tgx.jobs;
\endif
SQL

fire=""
[ "$with_schedules" = t ] && fire="SELECT tgx.fire_due_schedules(8);"
cat >"$work/client.sql" <<EOF2
\set k :client_id % 4 + 1
$fire
SELECT tgx.dispatch_tasks(16);
INSERT INTO public.conc_overcap (keeper_id, active, capacity)
SELECT t.keeper_id, count(*), k.capacity FROM tgx.tasks t JOIN tgx.keepers k ON k.keeper_id = t.keeper_id
 WHERE t.state IN ('assigned', 'running') GROUP BY t.keeper_id, k.capacity HAVING count(*) > k.capacity;
INSERT INTO public.conc_taken (task_id, lease_epoch, client)
SELECT l.task_id, l.lease_epoch, :client_id FROM tgx.keeper_take(public.conc_keeper(:k), 3) l;
WITH s AS (UPDATE public.conc_taken SET submitted = true WHERE client = :client_id AND NOT submitted
           RETURNING task_id, lease_epoch)
INSERT INTO public.conc_submits (client, sent, applied)
SELECT :client_id, (SELECT count(*) FROM s),
       tgx.submit_results(public.conc_keeper(:k),
                          (SELECT coalesce(jsonb_agg(jsonb_build_object('task_id', s.task_id, 'lease_epoch', s.lease_epoch,
                                                                        'result', '{"task_opx_cost": 0.001}'::jsonb)),
                                           '[]'::jsonb) FROM s));
SELECT public.conc_vote(public.conc_keeper(:k));
SELECT public.conc_vote(public.conc_keeper(:k));
SELECT public.conc_vote(public.conc_keeper(:k));
SELECT tgx.settle_tasks(16);
EOF2

"$pgbin/pgbench" -n -c 8 -j 2 -t "$transactions" -f "$work/client.sql" "$db" >"$work/pgbench.log" 2>&1
bench_rc=$?

# drain what is left, one session
q -v sched="$with_schedules" <<'SQL' >/dev/null || bail "could not drain the queue"
DO $$
DECLARE
    i integer;
    k integer;
    n integer;
BEGIN
    FOR i IN 1 .. 200 LOOP
        n := 0;
        IF to_regprocedure('tgx.fire_due_schedules(integer,timestamptz)') IS NOT NULL THEN
            EXECUTE 'SELECT tgx.fire_due_schedules(100)' INTO n;
        END IF;
        n := n + tgx.dispatch_tasks(100);
        FOR k IN 1 .. 4 LOOP
            WITH l AS (SELECT * FROM tgx.keeper_take(public.conc_keeper(k), 100))
            INSERT INTO public.conc_taken (task_id, lease_epoch, client, submitted)
            SELECT l.task_id, l.lease_epoch, -k, true FROM l;
            n := n + tgx.submit_results(public.conc_keeper(k),
                     (SELECT coalesce(jsonb_agg(jsonb_build_object('task_id', t.task_id, 'lease_epoch', t.lease_epoch,
                                                                   'result', '{"task_opx_cost": 0.001}'::jsonb)), '[]')
                        FROM tgx.tasks t WHERE t.state = 'running' AND t.keeper_id = public.conc_keeper(k)));
            n := n + public.conc_vote(public.conc_keeper(k));
        END LOOP;
        n := n + tgx.settle_tasks(100);
        EXIT WHEN n = 0;
    END LOOP;
END $$;
SQL

n=0
failures=0
check() { # check "description" "SQL returning true when the invariant holds" [skip reason]
  n=$((n + 1))
  if [ -n "${3:-}" ]; then echo "ok $n - $1 # SKIP $3"; return; fi
  if [ "$(q -c "$2")" = t ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failures=$((failures + 1)); fi
}
echo "1..10"
n=$((n + 1))
if [ "$bench_rc" -eq 0 ] && grep -q 'number of failed transactions: 0 ' "$work/pgbench.log"; then
  echo "ok $n - 8 concurrent connections ran $transactions loops each without an error"
else
  echo "not ok $n - 8 concurrent connections ran $transactions loops each without an error"
  sed 's/^/# /' "$work/pgbench.log" | tail -n 20
  failures=$((failures + 1))
fi
if [ "$with_schedules" = t ]; then
  check "every schedule fired exactly once" \
    "SELECT count(*) = $schedules AND bool_and(s.fire_count = 1 AND (SELECT count(*) FROM tgx.tasks t WHERE t.job_id = s.job_id) = 1)
       FROM tgx.time_schedules s"
else
  check "every schedule fired exactly once" "" "tgx.fire_due_schedules is not installed; tasks were inserted directly"
fi
check "no task was taken twice" "SELECT count(*) = count(DISTINCT task_id) FROM public.conc_taken"
check "every task was taken, under its one assignment" \
  "SELECT (SELECT count(*) FROM tgx.tasks) = $schedules
      AND (SELECT count(DISTINCT task_id) FROM public.conc_taken) = $schedules
      AND NOT EXISTS (SELECT 1 FROM tgx.tasks t WHERE t.attempt <> 1 OR t.lease_epoch <> 1)
      AND (SELECT count(*) FROM tgx.task_attempts) = $schedules"
check "no keeper was ever seen over capacity" "SELECT NOT EXISTS (SELECT 1 FROM public.conc_overcap)"
check "every result sent under its lease was applied" \
  "SELECT coalesce(sum(sent), 0) = coalesce(sum(applied), 0) AND coalesce(sum(sent), 0) > 0 FROM public.conc_submits"
if [ "$mode" = direct ]; then
  check "every task was accepted at once, nobody asked to attest" \
    "SELECT bool_and(state = 'succeeded' AND result->>'attestation' = 'none_available' AND task_attester_ids = '{}')
         AND NOT EXISTS (SELECT 1 FROM tgx.attestations) FROM tgx.tasks"
else
  check "every task was decided once by its attesters" \
    "SELECT bool_and(state = 'succeeded' AND result->>'attestation' = 'quorum' AND cardinality(task_attester_ids) >= 2)
         FROM tgx.tasks"
fi
check "every accepted result was settled: no settlement is left" "SELECT NOT EXISTS (SELECT 1 FROM tgx.task_settlements)"
check "accounting counts every task once" \
  "SELECT (SELECT total_tasks FROM tgx.users) = $schedules
      AND (SELECT sum(no_executed_tasks) FROM tgx.keepers) = $schedules
      AND (SELECT sum(no_attested_tasks) FROM tgx.keepers) = (SELECT sum(cardinality(task_attester_ids)) FROM tgx.tasks)"
check "the load counters match the tasks (all keepers idle)" \
  "SELECT NOT EXISTS (SELECT 1 FROM tgx.keeper_load WHERE active <> 0)"
[ "$failures" -eq 0 ]
