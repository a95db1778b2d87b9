-- schedule_steering.sql: tgx.set_schedule (audit row, refusals) and tgx._schedule_resume (the
-- recomputation tgx.resume_job calls after a pause).
BEGIN;
SELECT plan(37);

INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('9', 40));
CREATE FUNCTION pg_temp.job(i_id numeric, i_frame bigint, i_tdid smallint DEFAULT 1)
RETURNS numeric LANGUAGE sql AS $$
    INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                          target_chain_id, target_contract_address, created_at, expiration_time)
    SELECT i_id, 'steering test', i_tdid, u.user_id, i_frame, '1', '1', '0x' || repeat('a', 40), '2025-01-01 00:00Z',
           '2025-01-01 00:00Z'::timestamptz + i_frame * interval '1 second'
    FROM tgx.users u WHERE u.user_address = '0x' || repeat('9', 40)
    RETURNING job_id
$$;
CREATE FUNCTION pg_temp.interval_job(i_id numeric, i_every bigint, i_frame bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.job(i_id, i_frame);
    INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
    VALUES (i_id, 'interval', i_every, '2025-01-01 00:00Z');
$$;

-- set_schedule --------------------------------------------------------------------------------------

SELECT pg_temp.interval_job(950001, 600, 86400);
SELECT is(tgx.set_schedule(950001, 'cron', '*/5 * * * *', 'run every five minutes', i_now => '2025-01-01 00:03Z'),
          '2025-01-01 00:05Z'::timestamptz, 'set_schedule returns the new next_fire_at, computed from i_now');
SELECT results_eq($$SELECT schedule_type, time_interval, cron_expression, updated_at FROM tgx.time_schedules
                    WHERE job_id = 950001$$,
                  $$VALUES ('cron', NULL::bigint, '*/5 * * * *', '2025-01-01 00:03Z'::timestamptz)$$,
                  'the schedule row changed type and dropped the interval');
SELECT results_eq(
    $$SELECT actor = session_user, action, object_type, object_id, reason, old_value ->> 'schedule_type',
             old_value ->> 'time_interval',
             new_value ->> 'schedule_type', new_value ->> 'cron_expression', (new_value ->> 'next_fire_at')::timestamptz
      FROM tgx.audit_log WHERE object_id = '950001'$$,
    $$VALUES (true, 'set_schedule', 'job', '950001', 'run every five minutes', 'interval', '600', 'cron',
              '*/5 * * * *', '2025-01-01 00:05Z'::timestamptz)$$,
    'one audit row: actor, action, object, reason, old and new values');
SELECT is(tgx.set_schedule(950001, 'interval', '600', 'back to ten minutes', i_now => '2025-01-01 01:00Z'),
          '2025-01-01 01:10Z'::timestamptz, 'back to an interval: first run at i_now + seconds');
SELECT is(tgx.set_schedule(950001, 'interval', '600', 'same spec, new phase', i_now => '2025-01-01 02:02Z'),
          '2025-01-01 02:12Z'::timestamptz, 'an unchanged spec is rescheduled from i_now');
SELECT is(tgx.set_schedule(950001, 'cron', '0 9 * * *', 'Paris mornings', 'Europe/Paris', 'skip', 'both', 'fire_all',
                           '2025-01-01 02:00Z'),
          '2025-01-01 08:00Z'::timestamptz, 'zone and policies are applied');
SELECT results_eq($$SELECT timezone, dst_gap, dst_overlap, misfire_policy FROM tgx.time_schedules WHERE job_id = 950001$$,
                  $$VALUES ('Europe/Paris', 'skip', 'both', 'fire_all')$$, 'zone and policies are stored');
SELECT is(tgx.set_schedule(950001, 'cron', '0 10 * * *', 'keep the zone', i_now => '2025-01-01 02:00Z'),
          '2025-01-01 09:00Z'::timestamptz, 'NULL optional parameters keep the current zone');
SELECT is(tgx.set_schedule(950001, 'specific', '2025-01-01T12:00:00Z', 'one more run', i_now => '2025-01-01 02:00Z'),
          '2025-01-01 12:00Z'::timestamptz, 'a specific schedule');
SELECT is((SELECT specific_at FROM tgx.time_schedules WHERE job_id = 950001), '2025-01-01 12:00Z'::timestamptz,
          'specific_schedule was parsed');
SELECT pg_temp.job(950002, 86400);
SELECT is(tgx.set_schedule(950002, 'interval', '60', 'first schedule', i_now => '2025-01-01 00:00Z'),
          '2025-01-01 00:01Z'::timestamptz, 'a time job without schedule gets one');
SELECT is((SELECT old_value FROM tgx.audit_log WHERE object_id = '950002'), NULL::jsonb,
          'its audit row has no old value');
SELECT is((SELECT count(*)::integer FROM tgx.audit_log WHERE action = 'set_schedule'), 7,
          'one audit row per successful call');

-- set_schedule refusals ------------------------------------------------------------------------------

SELECT pg_temp.interval_job(950003, 600, 86400);
UPDATE tgx.jobs SET status = 'deleted' WHERE job_id = 950003;
SELECT pg_temp.interval_job(950004, 600, 86400);
UPDATE tgx.jobs SET status = 'completed' WHERE job_id = 950004;
SELECT throws_ok($$SELECT tgx.set_schedule(959999, 'interval', '60', 'no such job')$$, 'P0002',
                 'job 959999 does not exist', 'unknown job');
SELECT throws_ok($$SELECT tgx.set_schedule(950003, 'interval', '60', 'deleted job')$$, '55000',
                 'cannot set the schedule of job 950003: it is deleted', 'deleted job');
SELECT throws_ok($$SELECT tgx.set_schedule(950004, 'interval', '60', 'completed job')$$, '55000',
                 'cannot set the schedule of job 950004: it is completed', 'completed job');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'interval', '60', '  ')$$, '22023',
                 'a reason is required for set_schedule', 'empty reason');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'weekly', '60', 'bad type')$$, '22023',
                 'invalid schedule_type "weekly"', 'unknown schedule type');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'interval', 'ten', 'bad interval')$$, '22023',
                 'invalid time_interval "ten"', 'interval that is not whole seconds');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'interval', '100000', 'too long')$$, '22023',
                 'time_interval 100000 is longer than the job''s time_frame 86400', 'interval longer than time_frame');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'cron', '0 0 30 2 *', 'never')$$, '22023',
                 'cron expression "0 0 30 2 *" can never fire: day 30 does not exist in February', 'cron that never fires');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'cron', '0 9 * * *', 'zone', 'Mars/Base')$$, '22023',
                 'unknown time zone "Mars/Base"', 'unknown zone');
SELECT throws_ok($$SELECT tgx.set_schedule(950001, 'cron', '0 9 * * *', 'policy', i_dst_overlap => 'twice')$$, '22023',
                 'invalid dst_overlap "twice"', 'unknown DST policy');
SELECT is((SELECT count(*)::integer FROM tgx.audit_log WHERE action = 'set_schedule'), 7,
          'refused calls leave no audit row');
SELECT is((SELECT specific_at FROM tgx.time_schedules WHERE job_id = 950001), '2025-01-01 12:00Z'::timestamptz,
          'refused calls leave the schedule unchanged');

-- _schedule_resume ----------------------------------------------------------------------------------------

SELECT pg_temp.interval_job(950011, 600, 86400);
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id <> 950011;
UPDATE tgx.jobs SET status = 'paused' WHERE job_id = 950011;
SELECT is(tgx.fire_due_schedules(100, '2025-01-01 00:30Z'), 0, 'a paused job does not fire');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 950011), NULL::timestamptz,
          'its schedule is parked');
UPDATE tgx.jobs SET status = 'pending' WHERE job_id = 950011;
SELECT is(tgx._schedule_resume(950011, '2025-01-01 01:05Z'), '2025-01-01 01:10Z'::timestamptz,
          'resume: the first instant after now, phase kept, runs missed while paused not fired');
SELECT is(tgx.fire_due_schedules(100, '2025-01-01 01:06Z'), 0, 'nothing missed is fired after the resume');
SELECT pg_temp.interval_job(950015, 600, 86400);
SELECT is(tgx.set_schedule(950015, 'interval', '600', 'new phase', i_now => '2025-01-01 02:02Z'),
          '2025-01-01 02:12Z'::timestamptz, 'set_schedule starts a new phase at i_now');
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id = 950015;
SELECT is(tgx._schedule_resume(950015, '2025-01-01 03:00Z'), '2025-01-01 03:02Z'::timestamptz,
          'resume of a parked schedule keeps the phase set by set_schedule');
SELECT pg_temp.job(950012, 86400);
INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, created_at)
VALUES (950012, 'cron', '0 * * * *', '2025-01-01 00:00Z');
SELECT is(tgx._schedule_resume(950012, '2025-01-01 05:30Z'), '2025-01-01 06:00Z'::timestamptz,
          'resume a cron schedule: its first instant after now');
SELECT pg_temp.job(950013, 86400);
INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_schedule, created_at)
VALUES (950013, 'specific', '2025-01-01T03:00:00Z', '2025-01-01 00:00Z');
SELECT is(tgx._schedule_resume(950013, '2025-01-01 04:00Z'), NULL::timestamptz,
          'resume a specific schedule whose instant passed during the pause: no run');
SELECT is((SELECT status::text FROM tgx.jobs WHERE job_id = 950013), 'completed', '... and the job is completed');
SELECT pg_temp.interval_job(950014, 600, 3600);
SELECT is(tgx._schedule_resume(950014, '2025-01-01 01:05Z'), NULL::timestamptz, 'resume after the expiry: no run');
SELECT is((SELECT status::text FROM tgx.jobs WHERE job_id = 950014), 'completed', '... and the job is completed');
SELECT throws_ok($$SELECT tgx._schedule_resume(959999)$$, 'P0002', 'job 959999 does not exist',
                 'resume: unknown job');

SELECT * FROM finish();
ROLLBACK;
