-- steering_tasks.sql: tgx.cancel_task, tgx.retry_task, tgx.requeue_dead: effects, audit rows, refusals.
-- Fixture ids 42xxx; every time is explicit (2030), nothing depends on the wall clock.
BEGIN;
SELECT plan(51);

-- fixture: owner, keepers 'a' (performer) and 'b' (attester), job 42001 (active, budget 3),
-- job 42002 (deleted), job 42003 (active)
INSERT INTO tgx.users (user_address) VALUES ('0x4200000000000000000000000000000000000001');
INSERT INTO tgx.keepers (keeper_address, online, whitelisted)
VALUES ('0x42000000000000000000000000000000000000aa', true, true),
       ('0x42000000000000000000000000000000000000bb', true, true);
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, status, max_attempts, created_at, expiration_time)
SELECT v.job_id, 'steering ' || v.job_id, 1, u.user_id, 86400, '1', '1',
       '0x42000000000000000000000000000000000000ff', v.status::tgx.job_status, 3,
       '2030-01-01 00:00:00+00', '2031-01-01 00:00:00+00'
  FROM tgx.users u, (VALUES (42001, 'pending'), (42002, 'deleted'), (42003, 'pending')) AS v (job_id, status)
 WHERE u.user_address = '0x4200000000000000000000000000000000000001';

CREATE TEMP TABLE k AS
SELECT (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x42000000000000000000000000000000000000aa') AS a,
       (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x42000000000000000000000000000000000000bb') AS b;

-- tasks, named by task_number so the tests can find them:
--   1 running on a (attempt 2 open), 2 attesting (open attestation by b), 3 succeeded,
--   4 dead (attempts exhausted), 5 rejected, 6 cancelled, 7 dead of deleted job 42002,
--   8..10 dead of 42003 (died 01:00, 02:00, 03:00), 11 pending
INSERT INTO tgx.tasks (job_id, task_definition_id, task_number, state, scheduled_for, due_at, keeper_id,
                       lease_until, lease_epoch, attempt, max_attempts, attest_deadline, started_at, finished_at,
                       task_error, excluded_keepers, result, execution_tx_hash, is_successful)
SELECT v.job_id, 1, v.n, v.state::tgx.task_state, '2030-02-01 00:00:00+00', '2030-02-01 00:00:00+00',
       CASE WHEN v.state IN ('running', 'attesting') THEN k.a END,
       CASE WHEN v.state = 'running' THEN '2030-02-01 00:10:00+00'::timestamptz END,
       v.epoch, v.attempt, 3,
       CASE WHEN v.state = 'attesting' THEN '2030-02-01 00:11:00+00'::timestamptz END,
       CASE WHEN v.attempt > 0 THEN '2030-02-01 00:00:01+00'::timestamptz END,
       v.finished::timestamptz, v.err, v.excluded,
       CASE WHEN v.state = 'rejected' THEN '{"ok": true}'::jsonb END,
       CASE WHEN v.state = 'rejected' THEN '0x' || repeat('ab', 32) END,
       CASE WHEN v.state = 'rejected' THEN true END
  FROM k,
       (VALUES (42001, 1, 'running', 2, 2, NULL, NULL, '{}'::bigint[]),
               (42001, 2, 'attesting', 1, 1, NULL, NULL, '{}'),
               (42001, 3, 'succeeded', 1, 1, '2030-02-01 00:01:00+00', NULL, '{}'),
               (42001, 4, 'dead', 3, 3, '2030-02-01 00:02:00+00', 'execution reverted', '{1,2}'),
               (42001, 5, 'rejected', 1, 1, '2030-02-01 00:03:00+00', NULL, '{}'),
               (42001, 6, 'cancelled', 0, 0, '2030-02-01 00:04:00+00', 'cancelled by dba', '{}'),
               (42002, 7, 'dead', 3, 3, '2030-02-01 00:05:00+00', 'execution reverted', '{}'),
               (42003, 8, 'dead', 3, 3, '2030-02-01 01:00:00+00', 'boom', '{}'),
               (42003, 9, 'dead', 3, 3, '2030-02-01 02:00:00+00', 'boom', '{}'),
               (42003, 10, 'dead', 3, 3, '2030-02-01 03:00:00+00', 'boom', '{}'),
               (42001, 11, 'pending', 0, 0, NULL, NULL, '{}'))
           AS v (job_id, n, state, epoch, attempt, finished, err, excluded);
CREATE TEMP TABLE t AS SELECT task_number AS n, task_id AS id FROM tgx.tasks WHERE job_id IN (42001, 42002, 42003);
INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at, started_at, ended_at, outcome)
SELECT (SELECT id FROM t WHERE n = 1), v.attempt, k.a, v.attempt, '2030-02-01 00:00:00+00',
       '2030-02-01 00:00:01+00', v.ended::timestamptz, v.outcome
  FROM k, (VALUES (1, '2030-02-01 00:00:30+00', 'transient'), (2, NULL, NULL)) AS v (attempt, ended, outcome);
INSERT INTO tgx.attestations (task_id, keeper_id, lease_epoch, requested_at, deadline)
SELECT (SELECT id FROM t WHERE n = 2), k.b, 1, '2030-02-01 00:10:00+00', '2030-02-01 00:11:00+00' FROM k;

------------------------------------------------------------------------------
-- cancel_task
------------------------------------------------------------------------------

SELECT lives_ok(format($$SELECT tgx.cancel_task(%s, 'wrong arguments', '2030-02-01 00:05:00+00')$$,
                       (SELECT id FROM t WHERE n = 1)),
                'cancel_task cancels a running task');
SELECT is((SELECT state::text || '|' || finished_at || '|' || lease_epoch FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 1)),
          'cancelled|2030-02-01 00:05:00+00|3', 'cancel_task: cancelled, finished at i_now, lease epoch bumped');
SELECT is((SELECT lease_until FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)), NULL,
          'cancel_task: the lease is cleared');
SELECT is((SELECT task_error FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)),
          'cancelled by ' || session_user || ': wrong arguments', 'cancel_task: task_error says who and why');
SELECT is((SELECT outcome || '|' || ended_at FROM tgx.task_attempts
            WHERE task_id = (SELECT id FROM t WHERE n = 1) AND attempt = 2),
          'cancelled|2030-02-01 00:05:00+00', 'cancel_task closes the open attempt with outcome cancelled');
SELECT is((SELECT outcome || '|' || ended_at FROM tgx.task_attempts
            WHERE task_id = (SELECT id FROM t WHERE n = 1) AND attempt = 1),
          'transient|2030-02-01 00:00:30+00', 'cancel_task leaves closed attempts alone');
SELECT is((SELECT actor || '|' || object_type || '|' || reason FROM tgx.audit_log
            WHERE action = 'cancel_task' AND object_id = (SELECT id FROM t WHERE n = 1)::text),
          session_user || '|task|wrong arguments', 'cancel_task audit: actor, object type, reason');
SELECT is((SELECT old_value FROM tgx.audit_log
            WHERE action = 'cancel_task' AND object_id = (SELECT id FROM t WHERE n = 1)::text),
          jsonb_build_object('state', 'running', 'keeper_id', (SELECT a FROM k), 'lease_epoch', 2, 'attempt', 2),
          'cancel_task audit: old value');
SELECT is((SELECT new_value FROM tgx.audit_log
            WHERE action = 'cancel_task' AND object_id = (SELECT id FROM t WHERE n = 1)::text),
          '{"state": "cancelled", "finished_at": "2030-02-01T00:05:00+00:00", "lease_epoch": 3}'::jsonb,
          'cancel_task audit: new value');

SELECT lives_ok(format($$SELECT tgx.cancel_task(%s, 'stuck attestation', '2030-02-01 00:05:00+00')$$,
                       (SELECT id FROM t WHERE n = 2)),
                'cancel_task cancels an attesting task');
SELECT is((SELECT superseded FROM tgx.attestations WHERE task_id = (SELECT id FROM t WHERE n = 2)), true,
          'cancel_task supersedes the open attestations');
SELECT is((SELECT attest_deadline FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 2)), NULL,
          'cancel_task clears the attestation deadline');

SELECT lives_ok(format($$SELECT tgx.cancel_task(%s, 'not needed')$$, (SELECT id FROM t WHERE n = 11)),
                'cancel_task cancels a pending task (default i_now)');

SELECT throws_ok(format($$SELECT tgx.cancel_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 3)), '55000',
                 format('cannot cancel task %s: it succeeded', (SELECT id FROM t WHERE n = 3)),
                 'cancel_task refuses a succeeded task');
SELECT throws_ok(format($$SELECT tgx.cancel_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 4)), '55000',
                 format('cannot cancel task %s: it is dead', (SELECT id FROM t WHERE n = 4)),
                 'cancel_task refuses a dead task');
SELECT throws_ok(format($$SELECT tgx.cancel_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 1)), '55000',
                 format('cannot cancel task %s: it is already cancelled', (SELECT id FROM t WHERE n = 1)),
                 'cancel_task refuses a cancelled task');
SELECT throws_ok($$SELECT tgx.cancel_task(-1, 'x')$$, 'P0002', 'task -1 does not exist',
                 'cancel_task refuses an unknown task');
SELECT throws_ok($$SELECT tgx.cancel_task(NULL, 'x')$$, '22023', 'task_id must not be null',
                 'cancel_task refuses a NULL task id');
SELECT throws_ok(format($$SELECT tgx.cancel_task(%s, '')$$, (SELECT id FROM t WHERE n = 3)), '22023',
                 'a reason is required for cancel_task', 'cancel_task refuses an empty reason');

------------------------------------------------------------------------------
-- retry_task
------------------------------------------------------------------------------

SELECT lives_ok(format($$SELECT tgx.retry_task(%s, 'contract fixed', '2030-02-02 00:00:00+00')$$,
                       (SELECT id FROM t WHERE n = 4)),
                'retry_task retries a dead task');
SELECT is((SELECT state::text || '|' || due_at || '|' || scheduled_for FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 4)),
          'pending|2030-02-02 00:00:00+00|2030-02-01 00:00:00+00',
          'retry_task: pending, due at i_now, scheduled_for kept');
SELECT is((SELECT finished_at IS NULL AND task_error IS NULL AND started_at IS NULL FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 4)),
          true, 'retry_task: finished_at, started_at and task_error cleared');
SELECT is((SELECT attempt || '|' || uncounted_attempts || '|' || max_attempts FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 4)),
          '3|3|3', 'retry_task: fresh budget (uncounted_attempts = attempt, max_attempts = the job''s)');
SELECT is((SELECT excluded_keepers FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 4)), '{}'::bigint[],
          'retry_task: every keeper may take it again');
SELECT is((SELECT lease_epoch FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 4)), 4::bigint,
          'retry_task bumps the lease epoch');
SELECT is((SELECT actor || '|' || object_type || '|' || reason FROM tgx.audit_log
            WHERE action = 'retry_task' AND object_id = (SELECT id FROM t WHERE n = 4)::text),
          session_user || '|task|contract fixed', 'retry_task audit: actor, object type, reason');
SELECT is((SELECT old_value FROM tgx.audit_log
            WHERE action = 'retry_task' AND object_id = (SELECT id FROM t WHERE n = 4)::text),
          '{"state": "dead", "attempt": 3, "uncounted_attempts": 0, "max_attempts": 3,
            "due_at": "2030-02-01T00:00:00+00:00", "finished_at": "2030-02-01T00:02:00+00:00",
            "task_error": "execution reverted", "lease_epoch": 3}'::jsonb,
          'retry_task audit: old value');
SELECT is((SELECT new_value FROM tgx.audit_log
            WHERE action = 'retry_task' AND object_id = (SELECT id FROM t WHERE n = 4)::text),
          '{"state": "pending", "attempt": 3, "uncounted_attempts": 3, "max_attempts": 3,
            "due_at": "2030-02-02T00:00:00+00:00", "finished_at": null, "lease_epoch": 4}'::jsonb,
          'retry_task audit: new value');

SELECT lives_ok(format($$SELECT tgx.retry_task(%s, 'attesters were wrong', '2030-02-02 00:00:00+00')$$,
                       (SELECT id FROM t WHERE n = 5)),
                'retry_task retries a rejected task');
SELECT is((SELECT result IS NULL AND execution_tx_hash IS NULL AND is_successful IS NULL FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 5)),
          true, 'retry_task clears the rejected result');
SELECT lives_ok(format($$SELECT tgx.retry_task(%s, 'cancelled by mistake', '2030-02-02 00:00:00+00')$$,
                       (SELECT id FROM t WHERE n = 1)),
                'retry_task retries a cancelled task');
SELECT is((SELECT state FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)), 'pending'::tgx.task_state,
          'retry_task: the cancelled task is pending again');

SELECT throws_ok(format($$SELECT tgx.retry_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 3)), '55000',
                 format('cannot retry task %s: it succeeded', (SELECT id FROM t WHERE n = 3)),
                 'retry_task refuses a succeeded task');
SELECT throws_ok(format($$SELECT tgx.retry_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 4)), '55000',
                 format('cannot retry task %s: it is still pending', (SELECT id FROM t WHERE n = 4)),
                 'retry_task refuses a task that has not finished');
SELECT throws_ok(format($$SELECT tgx.retry_task(%s, 'x')$$, (SELECT id FROM t WHERE n = 7)), '55000',
                 format('cannot retry task %s: job 42002 is deleted', (SELECT id FROM t WHERE n = 7)),
                 'retry_task refuses a task of a deleted job');
SELECT throws_ok($$SELECT tgx.retry_task(-1, 'x')$$, 'P0002', 'task -1 does not exist',
                 'retry_task refuses an unknown task');
SELECT throws_ok(format($$SELECT tgx.retry_task(%s, NULL)$$, (SELECT id FROM t WHERE n = 7)), '22023',
                 'a reason is required for retry_task', 'retry_task refuses a NULL reason');
SELECT is((SELECT state FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 3)), 'succeeded'::tgx.task_state,
          'a refused retry changes nothing');

------------------------------------------------------------------------------
-- requeue_dead
------------------------------------------------------------------------------

SELECT is(tgx.requeue_dead('oracle fixed', 42003, '2030-02-01 01:30:00+00', 1, '2030-02-02 00:00:00+00'), 1,
          'requeue_dead honours job, since and limit');
SELECT is((SELECT array_agg(n ORDER BY n) FROM t JOIN tgx.tasks x ON x.task_id = t.id WHERE x.state = 'pending'
             AND t.n BETWEEN 8 AND 10),
          ARRAY[9::bigint], 'requeue_dead takes the oldest dead task at or after i_since first');
SELECT is(tgx.requeue_dead('oracle fixed', i_job_id => 42003, i_now => '2030-02-02 00:00:00+00'), 2,
          'requeue_dead requeues the rest of the job''s dead tasks');
SELECT is((SELECT count(*) FROM tgx.tasks WHERE job_id = 42003 AND state = 'pending'
              AND due_at = '2030-02-02 00:00:00+00' AND uncounted_attempts = attempt AND finished_at IS NULL),
          3::bigint, 'requeued tasks are pending, due now, with a fresh budget');
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE action = 'requeue_dead' AND object_type = 'task'
              AND reason = 'oracle fixed' AND actor = session_user
              AND old_value ->> 'state' = 'dead' AND new_value ->> 'state' = 'pending'),
          3::bigint, 'requeue_dead writes one audit row per task');
SELECT is(tgx.requeue_dead('nothing left', 42003), 0, 'requeue_dead returns 0 when there is nothing to do');
SELECT is(tgx.requeue_dead('all jobs'), 0,
          'requeue_dead over all jobs skips the dead tasks of deleted jobs');
SELECT is((SELECT state FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 7)), 'dead'::tgx.task_state,
          'the dead task of the deleted job stays dead');

SELECT throws_ok($$SELECT tgx.requeue_dead('x', 42002)$$, '55000',
                 'cannot requeue the dead tasks of job 42002: it is deleted', 'requeue_dead refuses a deleted job');
SELECT throws_ok($$SELECT tgx.requeue_dead('x', 42999)$$, 'P0002', 'job 42999 does not exist',
                 'requeue_dead refuses an unknown job');
SELECT throws_ok($$SELECT tgx.requeue_dead('x', i_limit => 0)$$, '22023',
                 'limit must be between 1 and 100000, not 0', 'requeue_dead refuses a limit of 0');
SELECT throws_ok($$SELECT tgx.requeue_dead('x', i_limit => NULL)$$, '22023',
                 'limit must be between 1 and 100000, not null', 'requeue_dead refuses a NULL limit');
SELECT throws_ok($$SELECT tgx.requeue_dead(' ')$$, '22023', 'a reason is required for requeue_dead',
                 'requeue_dead refuses a blank reason');

SELECT * FROM finish();
ROLLBACK;
