-- steering_jobs.sql: tgx.pause_job, tgx.resume_job, tgx.run_job_now: effects, audit rows, refusals.
-- Fixture ids 41xxx; every time is explicit (2030), nothing depends on the wall clock.
BEGIN;
SELECT plan(58);

-- tgx._schedule_resume belongs to the schedules family; when it is not loaded, a
-- stand-in with the documented signature lets this file run on its own.
DO $$
BEGIN
    IF to_regprocedure('tgx._schedule_resume(tgx.uint256, timestamptz)') IS NULL THEN
        CREATE FUNCTION tgx._schedule_resume(i_job_id tgx.uint256, i_now timestamptz DEFAULT clock_timestamp())
        RETURNS timestamptz LANGUAGE sql
        AS 'UPDATE tgx.time_schedules SET next_fire_at = i_now WHERE job_id = i_job_id RETURNING next_fire_at';
    END IF;
END
$$;

-- fixture: one owner, one keeper, jobs 41001 (time, active), 41002 (deleted), 41003 (completed),
-- 41004 (paused, expires 2030-06-01), 41005 (condition, active)
INSERT INTO tgx.users (user_address) VALUES ('0x4100000000000000000000000000000000000001');
INSERT INTO tgx.keepers (keeper_address, online, whitelisted)
VALUES ('0x4100000000000000000000000000000000000abc', true, true);
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, status, max_attempts, created_at, expiration_time)
SELECT v.job_id, 'steering ' || v.job_id, v.tdid, u.user_id, 86400, '1', '1',
       '0x41000000000000000000000000000000000000ff', v.status::tgx.job_status, 4,
       '2030-01-01 00:00:00+00', v.expires::timestamptz
  FROM tgx.users u,
       (VALUES (41001, 1, 'pending', '2031-01-01 00:00:00+00'),
               (41002, 1, 'deleted', '2031-01-01 00:00:00+00'),
               (41003, 1, 'completed', '2031-01-01 00:00:00+00'),
               (41004, 1, 'paused', '2030-06-01 00:00:00+00'),
               (41005, 5, 'pending', '2031-01-01 00:00:00+00')) AS v (job_id, tdid, status, expires)
 WHERE u.user_address = '0x4100000000000000000000000000000000000001';
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
VALUES (41001, 'interval', 60, '2030-01-01 00:00:00+00');
INSERT INTO tgx.condition_triggers (job_id, condition_type, upper_limit, value_source_type, value_source_url,
                                    next_check_at)
VALUES (41005, 'greater_than', 10, 'api', 'https://example.org/price', '2030-02-01 00:00:05+00');
-- tasks of 41001: scheduled, pending, running (keeper), succeeded
INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, keeper_id, lease_until,
                       lease_epoch, attempt, started_at, finished_at, created_at)
SELECT 41001, 1, v.state::tgx.task_state, v.at::timestamptz, v.at::timestamptz,
       CASE WHEN v.state = 'running' THEN k.keeper_id END,
       CASE WHEN v.state = 'running' THEN '2030-02-01 00:05:00+00'::timestamptz END,
       CASE WHEN v.state IN ('running', 'succeeded') THEN 1 ELSE 0 END,
       CASE WHEN v.state IN ('running', 'succeeded') THEN 1 ELSE 0 END,
       CASE WHEN v.state IN ('running', 'succeeded') THEN v.at::timestamptz END,
       CASE WHEN v.state = 'succeeded' THEN v.at::timestamptz + interval '10 seconds' END,
       v.at::timestamptz
  FROM tgx.keepers k,
       (VALUES ('scheduled', '2030-02-01 00:02:00+00'), ('pending', '2030-02-01 00:00:00+00'),
               ('running', '2030-01-31 23:59:00+00'), ('succeeded', '2030-01-31 23:58:00+00')) AS v (state, at)
 WHERE k.keeper_address = '0x4100000000000000000000000000000000000abc';

------------------------------------------------------------------------------
-- pause_job
------------------------------------------------------------------------------

CREATE TEMP TABLE before_pause AS SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 41001;
SELECT is(tgx.pause_job(41001, 'chain maintenance', '2030-02-01 00:00:30+00'), 2,
          'pause_job returns the number of waiting tasks it cancelled');
SELECT is((SELECT status FROM tgx.jobs WHERE job_id = 41001), 'paused'::tgx.job_status,
          'pause_job: the job is paused');
SELECT is((SELECT array_agg(state::text ORDER BY scheduled_for) FROM tgx.tasks WHERE job_id = 41001),
          ARRAY['succeeded', 'running', 'cancelled', 'cancelled'],
          'pause_job: scheduled and pending tasks are cancelled, running and finished ones untouched');
SELECT is((SELECT count(*) FROM tgx.tasks
            WHERE job_id = 41001 AND state = 'cancelled' AND finished_at = '2030-02-01 00:00:30+00'
              AND task_error = 'cancelled: job paused'),
          2::bigint, 'pause_job: cancelled tasks are finished at i_now with a task_error');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 41001), NULL,
          'pause_job: the schedule has no next_fire_at while paused');
SELECT is((SELECT updated_at FROM tgx.jobs WHERE job_id = 41001), '2030-02-01 00:00:30+00'::timestamptz,
          'pause_job: updated_at = i_now');

-- its audit row
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE action = 'pause_job' AND object_id = '41001'), 1::bigint,
          'pause_job writes one audit row');
SELECT is((SELECT actor FROM tgx.audit_log WHERE action = 'pause_job' AND object_id = '41001'),
          session_user::text, 'pause_job audit: actor is the session user');
SELECT is((SELECT object_type || '|' || reason FROM tgx.audit_log WHERE action = 'pause_job' AND object_id = '41001'),
          'job|chain maintenance', 'pause_job audit: object type and reason');
SELECT is((SELECT old_value FROM tgx.audit_log WHERE action = 'pause_job' AND object_id = '41001'),
          jsonb_build_object('status', 'pending', 'next_check_at', NULL,
                             'next_fire_at', (SELECT next_fire_at FROM before_pause)),
          'pause_job audit: old value (status and next fire)');
SELECT is((SELECT new_value - 'cancelled_task_ids' FROM tgx.audit_log
            WHERE action = 'pause_job' AND object_id = '41001'),
          '{"status": "paused", "next_fire_at": null, "next_check_at": null}'::jsonb,
          'pause_job audit: new value');
SELECT is((SELECT new_value -> 'cancelled_task_ids' FROM tgx.audit_log
            WHERE action = 'pause_job' AND object_id = '41001'),
          (SELECT jsonb_agg(task_id ORDER BY task_id) FROM tgx.tasks WHERE job_id = 41001 AND state = 'cancelled'),
          'pause_job audit: the ids of the cancelled tasks');

-- condition jobs stop being checked
SELECT is(tgx.pause_job(41005, 'oracle down', '2030-02-01 00:00:30+00'), 0, 'pause_job of a job without tasks');
SELECT is((SELECT next_check_at FROM tgx.condition_triggers WHERE job_id = 41005), NULL,
          'pause_job: the condition is not checked while paused');

-- refusals
SELECT throws_ok($$SELECT tgx.pause_job(41001, 'again')$$, '55000',
                 'cannot pause job 41001: it is already paused', 'pause_job refuses a paused job');
SELECT throws_ok($$SELECT tgx.pause_job(41002, 'x')$$, '55000',
                 'cannot pause job 41002: it is deleted', 'pause_job refuses a deleted job');
SELECT throws_ok($$SELECT tgx.pause_job(41003, 'x')$$, '55000',
                 'cannot pause job 41003: it is completed', 'pause_job refuses a completed job');
SELECT throws_ok($$SELECT tgx.pause_job(41999, 'x')$$, 'P0002',
                 'job 41999 does not exist', 'pause_job refuses an unknown job');
SELECT throws_ok($$SELECT tgx.pause_job(NULL, 'x')$$, '22023',
                 'job_id must not be null', 'pause_job refuses a NULL job id');
SELECT throws_ok($$SELECT tgx.pause_job(41002, '  ')$$, '22023',
                 'a reason is required for pause_job', 'pause_job refuses a blank reason (before anything else)');
SELECT throws_ok($$SELECT tgx.pause_job(41001, NULL)$$, '22023',
                 'a reason is required for pause_job', 'pause_job refuses a NULL reason');
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE action = 'pause_job'), 2::bigint,
          'refused calls leave no audit row');

------------------------------------------------------------------------------
-- resume_job
------------------------------------------------------------------------------

SELECT isnt((SELECT next_fire_at FROM before_pause), NULL, 'the active schedule had a next_fire_at');
SELECT isnt(tgx.resume_job(41001, 'maintenance over', '2030-02-01 01:00:00+00'), NULL,
            'resume_job returns the recomputed next_fire_at of a time schedule');
SELECT is((SELECT status FROM tgx.jobs WHERE job_id = 41001), 'pending'::tgx.job_status,
          'resume_job: the job is active again');
SELECT ok((SELECT next_fire_at > '2030-02-01 01:00:00+00' FROM tgx.time_schedules WHERE job_id = 41001),
          'resume_job: the schedule has a next_fire_at again, after i_now');
SELECT is((SELECT count(*) FROM tgx.tasks WHERE job_id = 41001 AND state IN ('scheduled', 'pending')), 0::bigint,
          'resume_job does not resurrect the cancelled tasks');
SELECT is((SELECT actor || '|' || object_type || '|' || reason FROM tgx.audit_log
            WHERE action = 'resume_job' AND object_id = '41001'),
          session_user || '|job|maintenance over', 'resume_job audit: actor, object type and reason');
SELECT is((SELECT old_value FROM tgx.audit_log WHERE action = 'resume_job' AND object_id = '41001'),
          '{"status": "paused"}'::jsonb, 'resume_job audit: old value');
SELECT is((SELECT new_value FROM tgx.audit_log WHERE action = 'resume_job' AND object_id = '41001'),
          jsonb_build_object('status', 'pending', 'next_check_at', NULL,
                             'next_fire_at', (SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 41001)),
          'resume_job audit: new value has the recomputed next_fire_at');

SELECT is(tgx.resume_job(41005, 'oracle back', '2030-02-01 02:00:00+00'), NULL,
          'resume_job of a job without a time schedule returns NULL');
SELECT is((SELECT next_check_at FROM tgx.condition_triggers WHERE job_id = 41005),
          '2030-02-01 02:00:00+00'::timestamptz, 'resume_job: the condition is checked again at once');

SELECT throws_ok($$SELECT tgx.resume_job(41002, 'x')$$, '55000',
                 'cannot resume job 41002: it is deleted', 'resume_job refuses a deleted job');
SELECT throws_ok($$SELECT tgx.resume_job(41003, 'x')$$, '55000',
                 'cannot resume job 41003: it is completed', 'resume_job refuses a completed job');
SELECT throws_ok($$SELECT tgx.resume_job(41001, 'x')$$, '55000',
                 'cannot resume job 41001: it is not paused', 'resume_job refuses an active job');
SELECT throws_like($$SELECT tgx.resume_job(41004, 'x', '2030-07-01 00:00:00+00')$$,
                   'cannot resume job 41004: it expired at %', 'resume_job refuses an expired job');
SELECT throws_ok($$SELECT tgx.resume_job(41999, 'x')$$, 'P0002',
                 'job 41999 does not exist', 'resume_job refuses an unknown job');
SELECT throws_ok($$SELECT tgx.resume_job(41004, '')$$, '22023',
                 'a reason is required for resume_job', 'resume_job refuses an empty reason');
SELECT is((SELECT status FROM tgx.jobs WHERE job_id = 41004), 'paused'::tgx.job_status,
          'a refused resume leaves the job paused');

------------------------------------------------------------------------------
-- run_job_now
------------------------------------------------------------------------------

CREATE TEMP TABLE manual_task AS
SELECT tgx.run_job_now(41001, 'customer asked for a run', '2030-02-01 03:00:00+00') AS task_id;
SELECT isnt((SELECT task_id FROM manual_task), NULL, 'run_job_now returns the new task id');
SELECT is((SELECT state FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)),
          'pending'::tgx.task_state, 'run_job_now: the task is pending');
SELECT is((SELECT scheduled_for || '|' || due_at FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)),
          '2030-02-01 03:00:00+00|2030-02-01 03:00:00+00', 'run_job_now: scheduled_for = due_at = i_now');
SELECT is((SELECT trigger_data -> 'manual' FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)),
          'true'::jsonb, 'run_job_now: trigger_data says manual');
SELECT is((SELECT trigger_data ->> 'reason' FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)),
          'customer asked for a run', 'run_job_now: trigger_data keeps the reason');
SELECT is((SELECT max_attempts || '|' || attempt || '|' || task_definition_id FROM tgx.tasks
            WHERE task_id = (SELECT task_id FROM manual_task)),
          '4|0|1', 'run_job_now: the job''s attempt budget and task definition, no attempt yet');
SELECT ok((SELECT trace_id ~ '^[0-9a-f]{32}$' FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)),
          'run_job_now: the task gets a trace id');
SELECT is((SELECT keeper_id FROM tgx.tasks WHERE task_id = (SELECT task_id FROM manual_task)), NULL,
          'run_job_now: no keeper yet');
SELECT is((SELECT new_value FROM tgx.audit_log WHERE action = 'run_job_now' AND object_id = '41001'),
          jsonb_build_object('status', 'pending', 'task_id', (SELECT task_id FROM manual_task),
                             'scheduled_for', '2030-02-01T03:00:00+00:00'),
          'run_job_now audit: new value names the task');
SELECT is((SELECT actor || '|' || reason || '|' || (old_value ->> 'status') FROM tgx.audit_log
            WHERE action = 'run_job_now' AND object_id = '41001'),
          session_user || '|customer asked for a run|pending', 'run_job_now audit: actor, reason, old value');

-- a paused job may be run once on purpose
SELECT isnt(tgx.run_job_now(41004, 'one run while paused', '2030-02-01 03:00:00+00'), NULL,
            'run_job_now works for a paused job');
SELECT is((SELECT status FROM tgx.jobs WHERE job_id = 41004), 'paused'::tgx.job_status,
          'run_job_now leaves a paused job paused');

SELECT throws_ok($$SELECT tgx.run_job_now(41002, 'x')$$, '55000',
                 'cannot run job 41002: it is deleted', 'run_job_now refuses a deleted job');
SELECT throws_ok($$SELECT tgx.run_job_now(41003, 'x')$$, '55000',
                 'cannot run job 41003: it is completed', 'run_job_now refuses a completed job');
SELECT throws_ok($$SELECT tgx.run_job_now(41999, 'x')$$, 'P0002',
                 'job 41999 does not exist', 'run_job_now refuses an unknown job');
SELECT throws_ok($$SELECT tgx.run_job_now(41001, NULL)$$, '22023',
                 'a reason is required for run_job_now', 'run_job_now refuses a NULL reason');
SELECT is((SELECT count(*) FROM tgx.tasks WHERE job_id IN (41002, 41003)), 0::bigint,
          'refused runs create no task');

-- every audit row of this file carries a reason and the acting session user
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE object_type = 'job' AND object_id LIKE '410%'
              AND (actor <> session_user OR btrim(reason) = '' OR old_value IS NULL OR new_value IS NULL)),
          0::bigint, 'every audit row has an actor, a reason, an old and a new value');
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE object_type = 'job' AND object_id LIKE '410%'), 6::bigint,
          'one audit row per successful steering call');

SELECT * FROM finish();
ROLLBACK;
