-- steering_views.sql: the inspection views (job_overview, queue_status, stuck_tasks, keeper_status,
-- task_history, lateness, lateness_hourly): their content on a known fixture and that their usual
-- filters reach an index.  Fixture ids 44xxx.  The views measure ages against now(), the start of
-- this transaction, so the fixture is placed relative to now(): the results do not depend on
-- when the test runs.
BEGIN;
SELECT plan(45);

-- H: the start of an hour bin two to three hours ago; the finished tasks of the lateness tests live in it
CREATE TEMP TABLE h AS
SELECT date_bin('1 hour', now() - interval '2 hours', '2000-01-01 00:00:00+00') AS h;

INSERT INTO tgx.users (user_address) VALUES ('0x4400000000000000000000000000000000000001');
INSERT INTO tgx.keepers (keeper_address, keeper_name, online, whitelisted, draining, capacity, last_checked_in)
VALUES ('0x44000000000000000000000000000000000000aa', 'alpha', true, true, false, 4, now() - interval '30 seconds'),
       ('0x44000000000000000000000000000000000000bb', 'beta', false, true, true, 8, now() - interval '1 hour');
CREATE TEMP TABLE k AS
SELECT (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x44000000000000000000000000000000000000aa') AS a,
       (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x44000000000000000000000000000000000000bb') AS b;
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, created_at, expiration_time)
SELECT v.job_id, 'views ' || v.job_id, v.tdid, u.user_id, 86400, '1', '1',
       '0x44000000000000000000000000000000000000ff', now() - interval '7 days', now() + interval '30 days'
  FROM tgx.users u, (VALUES (44001, 1), (44002, 3), (44003, 5)) AS v (job_id, tdid)
 WHERE u.user_address = '0x4400000000000000000000000000000000000001';
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
VALUES (44001, 'interval', 60, now() - interval '7 days');
INSERT INTO tgx.event_triggers (job_id, trigger_chain_id, trigger_contract_address, trigger_event)
VALUES (44002, '1', '0x44000000000000000000000000000000000000ee', 'Transfer(address,address,uint256)');
INSERT INTO tgx.condition_triggers (job_id, condition_type, upper_limit, value_source_type, value_source_url)
VALUES (44003, 'greater_than', 10, 'api', 'https://example.org/price');

-- tasks of job 44001, by task_number:
--   1 pending, 10 min past due (stuck)        2 scheduled, due in an hour
--   3 assigned to a, ack deadline 1 min ago    4 running on a, lease ok
--   5 running on a, lease expired 30 s ago     6 attesting by a, deadline 10 s ago (1 of 2 attesters answered)
--   7, 8, 9 succeeded in hour H: started 1/2/3 s and finished 10/20/30 s after scheduled_for
--   10 cancelled in hour H (not counted by lateness)
--   11 pending, 10 s past due (not stuck yet)  12 succeeded three days ago
INSERT INTO tgx.tasks (job_id, task_definition_id, task_number, state, scheduled_for, due_at, keeper_id,
                       lease_until, lease_epoch, attempt, attest_deadline, started_at, finished_at, trace_id,
                       execution_tx_hash)
SELECT 44001, 1, v.n, v.state::tgx.task_state, v.sched, v.sched,
       CASE WHEN v.state IN ('assigned', 'running', 'attesting') THEN k.a END,
       v.lease, 1, CASE WHEN v.state IN ('scheduled', 'pending') THEN 0 ELSE 1 END,
       v.attest, v.sched + v.start_after, v.sched + v.finish_after, 'trace-' || v.n,
       CASE WHEN v.state = 'succeeded' THEN '0x' || repeat('44', 32) END
  FROM k, h,
       LATERAL (VALUES
           (1, 'pending', now() - interval '10 minutes', NULL::timestamptz, NULL::timestamptz,
            NULL::interval, NULL::interval),
           (2, 'scheduled', now() + interval '1 hour', NULL, NULL, NULL, NULL),
           (3, 'assigned', now() - interval '2 minutes', now() - interval '1 minute', NULL, NULL, NULL),
           (4, 'running', now() - interval '3 minutes', now() + interval '5 minutes', NULL, interval '1 second', NULL),
           (5, 'running', now() - interval '6 minutes', now() - interval '30 seconds', NULL, interval '1 second', NULL),
           (6, 'attesting', now() - interval '4 minutes', NULL, now() - interval '10 seconds', interval '1 second',
            NULL),
           (7, 'succeeded', h.h + interval '10 minutes', NULL, NULL, interval '1 second', interval '10 seconds'),
           (8, 'succeeded', h.h + interval '20 minutes', NULL, NULL, interval '2 seconds', interval '20 seconds'),
           (9, 'succeeded', h.h + interval '30 minutes', NULL, NULL, interval '3 seconds', interval '30 seconds'),
           (10, 'cancelled', h.h + interval '40 minutes', NULL, NULL, NULL, interval '5 minutes'),
           (11, 'pending', now() - interval '10 seconds', NULL, NULL, NULL, NULL),
           (12, 'succeeded', now() - interval '3 days', NULL, NULL, interval '5 seconds', interval '9 seconds'))
           AS v (n, state, sched, lease, attest, start_after, finish_after);
CREATE TEMP TABLE t AS SELECT task_number AS n, task_id AS id, scheduled_for AS s FROM tgx.tasks WHERE job_id = 44001;

-- attempts: 3 open on a; 4 running on a; 7 result; 8 transient then result; 12 result three days ago
INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at, started_at, ended_at, outcome,
                               error)
SELECT t.id, v.attempt, k.a, v.attempt, t.s + v.assigned, t.s + v.started, t.s + v.ended, v.outcome, v.error
  FROM k, t,
       (VALUES (3, 1, interval '1 second', NULL::interval, NULL::interval, NULL, NULL),
               (4, 1, interval '500 milliseconds', interval '1 second', NULL, NULL, NULL),
               (7, 1, interval '500 milliseconds', interval '1 second', interval '9 seconds', 'result', NULL),
               (8, 1, interval '100 milliseconds', interval '200 milliseconds', interval '1 second', 'transient',
                'nonce too low'),
               (8, 2, interval '1 second', interval '2 seconds', interval '19 seconds', 'result', NULL),
               (12, 1, interval '1 second', interval '5 seconds', interval '8 seconds', 'result', NULL))
           AS v (n, attempt, assigned, started, ended, outcome, error)
 WHERE t.n = v.n;
INSERT INTO tgx.attestations (task_id, keeper_id, lease_epoch, requested_at, deadline, verdict, attested_at)
SELECT (SELECT id FROM t WHERE n = 6), v.keeper, 1, now() - interval '1 minute', now() - interval '10 seconds',
       v.verdict, CASE WHEN v.verdict IS NOT NULL THEN now() - interval '20 seconds' END
  FROM k, LATERAL (VALUES (k.b, NULL::boolean), (k.a, true)) AS v (keeper, verdict);

------------------------------------------------------------------------------
-- job_overview
------------------------------------------------------------------------------

SELECT is((SELECT owner_address::text || '|' || job_type || '|' || status || '|' || schedule
             FROM tgx.job_overview WHERE job_id = 44001),
          '0x4400000000000000000000000000000000000001|time|pending|every 60 seconds',
          'job_overview: owner, type, status and schedule of a time job');
SELECT is((SELECT ARRAY[scheduled_tasks, pending_tasks, assigned_tasks, running_tasks, attesting_tasks,
                        succeeded_tasks, rejected_tasks, dead_tasks, cancelled_tasks, total_tasks]
             FROM tgx.job_overview WHERE job_id = 44001),
          ARRAY[1, 2, 1, 2, 1, 4, 0, 0, 1, 12]::bigint[], 'job_overview: task counts by state');
SELECT is((SELECT expired FROM tgx.job_overview WHERE job_id = 44001), false, 'job_overview: not expired');
SELECT is((SELECT job_type || '|' || schedule FROM tgx.job_overview WHERE job_id = 44002),
          'event|event Transfer(address,address,uint256) of 0x44000000000000000000000000000000000000ee on chain 1',
          'job_overview: schedule summary of an event job');
SELECT is((SELECT job_type || '|' || schedule FROM tgx.job_overview WHERE job_id = 44003),
          'condition|greater_than 10 of api https://example.org/price, checked every 00:00:01',
          'job_overview: schedule summary of a condition job');
SELECT is((SELECT total_tasks FROM tgx.job_overview WHERE job_id = 44002), 0::bigint,
          'job_overview: a job without tasks has zero counts');

------------------------------------------------------------------------------
-- queue_status
------------------------------------------------------------------------------

SELECT is((SELECT array_agg(state::text ORDER BY ord) FROM (SELECT q.state, row_number() OVER () AS ord
                                                          FROM tgx.queue_status q) x),
          ARRAY['scheduled', 'pending', 'assigned', 'running', 'attesting'],
          'queue_status: one row per non-terminal state, in life-cycle order');
SELECT is((SELECT tasks || '|' || due_now || '|' || oldest_due_age FROM tgx.queue_status WHERE state = 'pending'),
          '2|2|00:10:00', 'queue_status pending: count, due now, oldest due age');
SELECT is((SELECT tasks || '|' || due_now FROM tgx.queue_status WHERE state = 'scheduled'),
          '1|0', 'queue_status scheduled: a future task is not due');
SELECT is((SELECT tasks || '|' || past_deadline FROM tgx.queue_status WHERE state = 'running'),
          '2|1', 'queue_status running: one of two past its lease');
SELECT is((SELECT tasks || '|' || past_deadline || '|' || (now() - next_deadline)
             FROM tgx.queue_status WHERE state = 'assigned'),
          '1|1|00:01:00', 'queue_status assigned: past its ack deadline by a minute');
SELECT is((SELECT tasks || '|' || past_deadline FROM tgx.queue_status WHERE state = 'attesting'),
          '1|1', 'queue_status attesting: past its attestation deadline');

------------------------------------------------------------------------------
-- stuck_tasks
------------------------------------------------------------------------------

SELECT is((SELECT array_agg(t.n ORDER BY t.n) FROM tgx.stuck_tasks s JOIN t ON t.id = s.task_id),
          ARRAY[1, 3, 5, 6]::bigint[], 'stuck_tasks lists exactly the tasks past a deadline');
SELECT is((SELECT why FROM tgx.stuck_tasks WHERE task_id = (SELECT id FROM t WHERE n = 3)),
          format('ack deadline passed: keeper %s did not take the task', (SELECT a FROM k)),
          'stuck_tasks: why an assigned task is stuck');
SELECT is((SELECT overdue || '|' || keeper_address FROM tgx.stuck_tasks WHERE task_id = (SELECT id FROM t WHERE n = 3)),
          '00:01:00|0x44000000000000000000000000000000000000aa', 'stuck_tasks: overdue and the keeper''s address');
SELECT is((SELECT why FROM tgx.stuck_tasks WHERE task_id = (SELECT id FROM t WHERE n = 5)),
          format('lease expired: keeper %s did not report a result', (SELECT a FROM k)),
          'stuck_tasks: why a running task is stuck');
SELECT is((SELECT why FROM tgx.stuck_tasks WHERE task_id = (SELECT id FROM t WHERE n = 6)),
          'attestation deadline passed: 1 of 2 attesters answered', 'stuck_tasks: why an attesting task is stuck');
SELECT is((SELECT why || '|' || overdue FROM tgx.stuck_tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)),
          'pending past due: no online, whitelisted, non-draining keeper was assigned|00:09:00',
          'stuck_tasks: a pending task past due by more than stuck_after, overdue counted from due + stuck_after');

------------------------------------------------------------------------------
-- keeper_status
------------------------------------------------------------------------------

SELECT is((SELECT ARRAY[assigned_tasks, running_tasks, attesting_tasks, active_tasks]
             FROM tgx.keeper_status WHERE keeper_id = (SELECT a FROM k)),
          ARRAY[1, 2, 1, 3]::bigint[], 'keeper_status: tasks of the keeper by state, active = assigned + running');
SELECT is((SELECT capacity || '|' || load_pct FROM tgx.keeper_status WHERE keeper_id = (SELECT a FROM k)),
          '4|75.0', 'keeper_status: active tasks against capacity');
SELECT is((SELECT attempts_24h || '|' || results_24h || '|' || success_ratio_24h
             FROM tgx.keeper_status WHERE keeper_id = (SELECT a FROM k)),
          '3|2|0.667', 'keeper_status: attempts ended in the last 24 hours and the share with a result');
SELECT is((SELECT checkin_age FROM tgx.keeper_status WHERE keeper_id = (SELECT a FROM k)), interval '30 seconds',
          'keeper_status: age of the last check-in');
SELECT is((SELECT eligible FROM tgx.keeper_status WHERE keeper_id = (SELECT a FROM k)), true,
          'keeper_status: an online, whitelisted keeper is eligible');
SELECT is((SELECT eligible::text || '|' || draining || '|' || online || '|' || open_attestations
             FROM tgx.keeper_status WHERE keeper_id = (SELECT b FROM k)),
          'false|true|false|1', 'keeper_status: a draining offline keeper, with its open attestation');
SELECT is((SELECT success_ratio_24h FROM tgx.keeper_status WHERE keeper_id = (SELECT b FROM k)), NULL,
          'keeper_status: no ratio without attempts');

------------------------------------------------------------------------------
-- task_history
------------------------------------------------------------------------------

SELECT is((SELECT count(*) FROM tgx.task_history WHERE job_id = 44001), 13::bigint,
          'task_history: one row per attempt, one row for a task never assigned');
SELECT is((SELECT array_agg(outcome || '|' || coalesce(attempt_error, '-') ORDER BY attempt)
             FROM tgx.task_history WHERE task_id = (SELECT id FROM t WHERE n = 8)),
          ARRAY['transient|nonce too low', 'result|-'], 'task_history: every attempt of a task with its outcome');
SELECT is((SELECT queue_wait || '|' || ack_time || '|' || run_time || '|' || turnaround
             FROM tgx.task_history WHERE task_id = (SELECT id FROM t WHERE n = 8) AND attempt = 2),
          '00:00:01|00:00:01|00:00:17|00:00:20', 'task_history: durations of an attempt');
SELECT is((SELECT keeper_address || '|' || trace_id || '|' || state || '|' || attempts
             FROM tgx.task_history WHERE task_id = (SELECT id FROM t WHERE n = 8) AND attempt = 2),
          '0x44000000000000000000000000000000000000aa|trace-8|succeeded|1',
          'task_history: keeper, trace id, task state');
SELECT is((SELECT attempt FROM tgx.task_history WHERE task_id = (SELECT id FROM t WHERE n = 1)), NULL,
          'task_history: a task never assigned has no attempt');
SELECT is((SELECT count(*) FROM tgx.task_history WHERE keeper_id = (SELECT a FROM k)), 6::bigint,
          'task_history filters by keeper');

------------------------------------------------------------------------------
-- lateness, lateness_hourly
------------------------------------------------------------------------------

SELECT is((SELECT tasks || '|' || started || '|' || succeeded FROM tgx.lateness
            WHERE job_id = 44001 AND hour = (SELECT h FROM h)),
          '3|3|3', 'lateness: finished tasks of the hour, cancelled ones left out');
SELECT is((SELECT ARRAY[start_avg, start_p50, start_p95, start_max] FROM tgx.lateness
            WHERE job_id = 44001 AND hour = (SELECT h FROM h)),
          ARRAY[interval '2 seconds', interval '2 seconds', interval '2.9 seconds', interval '3 seconds'],
          'lateness: start lateness avg, p50, p95, max');
SELECT is((SELECT ARRAY[finish_avg, finish_p50, finish_p95, finish_max] FROM tgx.lateness
            WHERE job_id = 44001 AND hour = (SELECT h FROM h)),
          ARRAY[interval '20 seconds', interval '20 seconds', interval '29 seconds', interval '30 seconds'],
          'lateness: finish lateness avg, p50, p95, max');
SELECT is((SELECT count(*) FROM tgx.lateness WHERE job_id = 44001), 2::bigint,
          'lateness: one row per job and hour');
SELECT is((SELECT tasks || '|' || start_p50 || '|' || finish_max FROM tgx.lateness_hourly
            WHERE hour = (SELECT h FROM h)),
          '3|00:00:02|00:00:30', 'lateness_hourly: the same hour over all jobs');

------------------------------------------------------------------------------
-- the usual filters reach an index (with sequential scans discouraged, a plan without an index
-- path would still scan the table)
------------------------------------------------------------------------------

\ir plan_of.psql
-- plans from statistics, not from the page counts of whatever the tests above left behind (a
-- tiny table is planned at the margin between indexes; the ANALYZE is rolled back with the test)
ANALYZE tgx.tasks;
SET LOCAL enable_seqscan = off;

SELECT unalike(pg_temp.plan_of('SELECT * FROM tgx.queue_status'), '%Seq Scan on tasks%',
               'queue_status reads tasks only through indexes');
SELECT unalike(pg_temp.plan_of('SELECT * FROM tgx.stuck_tasks'), '%Seq Scan on tasks%',
               'stuck_tasks reads tasks only through indexes');
SELECT unalike(pg_temp.plan_of('SELECT * FROM tgx.keeper_status'), '%Seq Scan on task%',
               'keeper_status reads tasks and attempts only through indexes');
SELECT alike(pg_temp.plan_of('SELECT * FROM tgx.job_overview WHERE job_id = 44001'), '%tasks_job%',
             'job_overview WHERE job_id counts through tasks_job');
SELECT alike(pg_temp.plan_of('SELECT * FROM tgx.task_history WHERE job_id = 44001'), '%tasks_job%',
             'task_history WHERE job_id reaches tasks_job');
SELECT alike(pg_temp.plan_of('SELECT * FROM tgx.task_history WHERE keeper_id = 1'), '%task_attempts_keeper%',
             'task_history WHERE keeper_id reaches task_attempts_keeper');
SELECT alike(pg_temp.plan_of($q$SELECT * FROM tgx.lateness WHERE hour >= now() - interval '1 day'$q$),
             '%tasks_finished_hour%', 'lateness WHERE hour reaches tasks_finished_hour');
SELECT alike(pg_temp.plan_of($q$SELECT * FROM tgx.lateness_hourly WHERE hour >= now() - interval '1 day'$q$),
             '%tasks_finished_hour%', 'lateness_hourly WHERE hour reaches tasks_finished_hour');
-- lateness WHERE job_id: tasks_job or tasks_finished_hour, as the statistics say; the filter must be
-- pushed below the aggregate (a filter above it would read the whole ledger)
SELECT ok(pg_temp.plan_of('SELECT * FROM tgx.lateness WHERE job_id = 44001') !~ 'Subquery Scan'
          AND pg_temp.plan_of('SELECT * FROM tgx.lateness WHERE job_id = 44001')
              ~ '\(job_id\)::numeric = ''44001''::numeric',
          'lateness WHERE job_id filters the tasks before aggregating');

SELECT * FROM finish();
ROLLBACK;
