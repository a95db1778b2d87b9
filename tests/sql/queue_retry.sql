-- queue_retry.sql: tgx.fail_task and tgx.expire_leases: backoff 1 s, 2 s, 4 s ... and keeper
-- exclusion; dead after max attempts; permanent failure dead at once with alerts; lease
-- expiry of a running task; the fencing epoch refusing a stale result so the task completes
-- exactly once.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(45);

SELECT pg_temp.keeper(1) AS k1 \gset
SELECT pg_temp.keeper(2) AS k2 \gset
SELECT pg_temp.keeper(3) AS k3 \gset
SELECT pg_temp.keeper(4) AS k4 \gset
UPDATE tgx.settings SET value = '0' WHERE name = 'attesters';   -- results are accepted at once in this file

-- backoff and exclusion (budget 5 attempts)
SELECT pg_temp.job(1, i_max_attempts => 5) AS j1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(0)) AS r \gset
SELECT pg_temp.start(:r, :k1, pg_temp.t(1)) AS e \gset
SELECT throws_ok(format('SELECT tgx.fail_task(%s, %s, %s, %L)', :r, :k1, :e, ' '), '22023', 'error must not be empty',
                 'a failure needs an error text');
SELECT throws_ok(format('SELECT tgx.fail_task(%s, %s, %s, %L)', :r, :k2, :e, 'boom'), '55000',
                 format('stale lease epoch %s for task %s', :e, :r), 'a failure from a keeper not holding the task is refused');
SELECT throws_ok(format('SELECT tgx.fail_task(-1, %s, %s, %L)', :k1, :e, 'boom'), 'P0002', 'task -1 does not exist',
                 'failure of an unknown task');
SELECT is(tgx.fail_task(:r, :k1, :e, 'rpc timeout', false, pg_temp.t(2)), 'scheduled', 'a transient failure schedules a retry');
SELECT is((due_at, excluded_keepers, task_error, keeper_id, lease_until),
          (pg_temp.t(3), ARRAY[:k1]::bigint[], 'rpc timeout'::text, NULL::bigint, NULL::timestamptz),
          'first retry after 1 s, never on the keeper that failed')
  FROM tgx.tasks WHERE task_id = :r;
SELECT is((outcome, error, ended_at), ('transient'::text, 'rpc timeout'::text, pg_temp.t(2)), 'the attempt is closed')
  FROM tgx.task_attempts WHERE task_id = :r AND attempt = 1;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(2.5)), 0, 'not before its backoff');
SELECT is(tgx.next_queue_deadline(pg_temp.t(2.5)), pg_temp.t(3), 'next deadline: the retry');
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(3)), 1, 'due again after 1 s');
SELECT ok(keeper_id <> :k1, 'on another keeper') FROM tgx.tasks WHERE task_id = :r;
SELECT keeper_id AS kb, lease_epoch AS e FROM tgx.tasks WHERE task_id = :r \gset
SELECT is(count(*), 1::bigint, 'taken') FROM tgx.keeper_take(:kb, 1, pg_temp.t(4));
SELECT is(tgx.fail_task(:r, :kb, :e, 'rpc timeout', false, pg_temp.t(5)), 'scheduled', 'second failure');
SELECT is((due_at, cardinality(excluded_keepers)), (pg_temp.t(7), 2), 'second retry after 2 s, two keepers excluded')
  FROM tgx.tasks WHERE task_id = :r;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(7)), 1, 'dispatched again');
SELECT keeper_id AS kc, lease_epoch AS e FROM tgx.tasks WHERE task_id = :r \gset
SELECT ok(:kc <> ALL (ARRAY[:k1, :kb]::bigint[]), 'on a third keeper');
SELECT is(count(*), 1::bigint, 'taken') FROM tgx.keeper_take(:kc, 1, pg_temp.t(8));
SELECT is(tgx.fail_task(:r, :kc, :e, 'rpc timeout', false, pg_temp.t(9)), 'scheduled', 'third failure');
SELECT is(due_at, pg_temp.t(13), 'third retry after 4 s') FROM tgx.tasks WHERE task_id = :r;
-- the lease of a running task expires: a retry too
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(13)), 1, 'dispatched to the last keeper');
SELECT keeper_id AS kd, lease_epoch AS e FROM tgx.tasks WHERE task_id = :r \gset
SELECT is(count(*), 1::bigint, 'taken') FROM tgx.keeper_take(:kd, 1, pg_temp.t(14));
SELECT is(tgx.expire_leases(100, pg_temp.t(313.9)), 0, 'the lease runs 5 minutes');
SELECT is(tgx.expire_leases(100, pg_temp.t(314)), 1, 'then it expires');
SELECT is((state, due_at, cardinality(excluded_keepers), task_error),
          ('scheduled'::tgx.task_state, pg_temp.t(322), 4, 'lease expired'::text),
          'an expired lease is a failure: fourth retry after 8 s, the keeper excluded')
  FROM tgx.tasks WHERE task_id = :r;
SELECT is(outcome, 'lease_expired', 'the attempt ends with lease_expired') FROM tgx.task_attempts WHERE task_id = :r AND attempt = 4;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(400)), 0, 'every keeper is excluded: the task waits');
SELECT is(state, 'scheduled', 'still scheduled') FROM tgx.tasks WHERE task_id = :r;

-- dead when the attempts are used up (budget 3), with an alert
SELECT pg_temp.job(2) AS j2 \gset
SELECT pg_temp.task(:j2, pg_temp.t(500)) AS d \gset
SELECT tgx.fail_task(:d, :k1, pg_temp.start(:d, :k1, pg_temp.t(501)), 'rpc timeout', false, pg_temp.t(502));
SELECT tgx.fail_task(:d, :k2, pg_temp.start(:d, :k2, pg_temp.t(503)), 'rpc timeout', false, pg_temp.t(504));
SELECT is(tgx.fail_task(:d, :k3, pg_temp.start(:d, :k3, pg_temp.t(507)), 'rpc timeout', false, pg_temp.t(508)), 'dead',
          'the third failure of three allowed attempts is final');
SELECT is((finished_at, is_successful, task_error), (pg_temp.t(508), false, 'rpc timeout'::text), 'dead: finished, not successful')
  FROM tgx.tasks WHERE task_id = :d;
SELECT is((kind, payload->>'task_id'), ('task_dead'::text, :d::text), 'a task_dead alert is queued')
  FROM tgx.alerts WHERE payload->>'task_id' = :d::text;
SELECT is(consecutive_failures, 1, 'the job counts a failure') FROM tgx.jobs WHERE job_id = :j2;

-- permanent failure: dead at once; the third dead task in a row raises job_failing
UPDATE tgx.jobs SET consecutive_failures = 1 WHERE job_id = :j2;
SELECT pg_temp.task(:j2, pg_temp.t(600)) AS pm \gset
SELECT is(tgx.fail_task(:pm, :k4, pg_temp.start(:pm, :k4, pg_temp.t(601)), 'execution reverted', true, pg_temp.t(602)), 'dead',
          'a permanent failure is dead at once');
SELECT is((attempt, task_error), (1, 'execution reverted'::text), 'after one attempt') FROM tgx.tasks WHERE task_id = :pm;
SELECT is(count(*), 0::bigint, 'no job_failing alert at 2 failures in a row') FROM tgx.alerts WHERE kind = 'job_failing';
SELECT pg_temp.task(:j2, pg_temp.t(700)) AS pm2 \gset
SELECT tgx.fail_task(:pm2, :k4, pg_temp.start(:pm2, :k4, pg_temp.t(701)), 'execution reverted', true, pg_temp.t(702));
SELECT is((count(*), min(payload->>'consecutive_failures')), (1::bigint, '3'::text),
          'job_failing when consecutive failures reach job_failing_alert (3)')
  FROM tgx.alerts WHERE kind = 'job_failing' AND payload->>'job_id' = :j2::text;
SELECT is(count(*), 3::bigint, 'each dead task has its alert') FROM tgx.alerts WHERE kind = 'task_dead';

-- terminal tasks are never touched
SELECT throws_ok(format('SELECT tgx.fail_task(%s, %s, %s, %L)', :d, :k3, 3, 'again'), '55000',
                 format('stale lease epoch 3 for task %s', :d), 'a dead task cannot fail again');
SELECT pg_temp.task(:j2, pg_temp.t(800)) AS cx \gset
SELECT pg_temp.start(:cx, :k1, pg_temp.t(801)) AS ecx \gset
UPDATE tgx.tasks SET state = 'cancelled', finished_at = pg_temp.t(802) WHERE task_id = :cx;   -- as steering would
SELECT is(tgx.expire_leases(100, pg_temp.t(5000)), 0, 'a cancelled task whose lease ran out is not expired');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, %s, %L)', :cx, :k1, :ecx, '{}'), '55000',
                 format('stale lease epoch %s for task %s', :ecx, :cx), 'nor can its keeper report a result');
SELECT is((state, finished_at), ('cancelled'::tgx.task_state, pg_temp.t(802)), 'it stays cancelled')
  FROM tgx.tasks WHERE task_id = :cx;

-- fencing: a's lease expires, the task goes to b, a's late result is refused, b's accepted
SELECT pg_temp.job(3) AS j3 \gset
SELECT pg_temp.task(:j3, pg_temp.t(1000)) AS x \gset
SELECT pg_temp.start(:x, :k1, pg_temp.t(1001)) AS ea \gset
SELECT tgx.expire_leases(100, pg_temp.t(1301));
SELECT pg_temp.start(:x, :k2, pg_temp.t(1302)) AS eb \gset
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, %s, %L, %L)', :x, :k1, :ea, '{"task_opx_cost": 1}', pg_temp.t(1303)),
                 '55000', format('stale lease epoch %s for task %s', :ea, :x), 'the late result of the expired lease is refused');
SELECT is(tgx.submit_result(:x, :k2, :eb, '{"task_opx_cost": 1}', pg_temp.t(1304)), 'succeeded', 'the current holder''s result is accepted');
SELECT throws_ok(format('SELECT tgx.fail_task(%s, %s, %s, %L)', :x, :k1, :ea, 'late'), '55000',
                 format('stale lease epoch %s for task %s', :ea, :x), 'a late failure report is refused too');
SELECT is(tgx.settle_tasks(100, pg_temp.t(1305)), 1, 'the accepted result is settled once');
SELECT is((task_performer_id, t.keeper_id, job_cost_actual, k1.no_executed_tasks, k2.no_executed_tasks),
          (:k2::bigint, :k2::bigint, 1::float8, 0::bigint, 1::bigint),
          'the task completed once: one performer, the cost counted once')
  FROM tgx.tasks t JOIN tgx.jobs j USING (job_id), tgx.keepers k1, tgx.keepers k2
 WHERE t.task_id = :x AND k1.keeper_id = :k1 AND k2.keeper_id = :k2;
SELECT results_eq(format('SELECT attempt, keeper_id, outcome FROM tgx.task_attempts WHERE task_id = %s ORDER BY attempt', :x),
                  format($$VALUES (1, %s::bigint, 'lease_expired'::text), (2, %s, 'result')$$, :k1, :k2),
                  'the attempts tell the story');

SELECT * FROM finish();
ROLLBACK;
