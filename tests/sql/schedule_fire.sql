-- schedule_fire.sql: tgx.fire_due_schedules: task creation, exactly-once, misfire policies after a
-- simulated outage (skip, fire_once, fire_all and its cap, start_deadline), expiry, one-shot
-- schedules, linked followers, paused jobs, tgx.next_schedule_due.  Every call passes i_now.
BEGIN;
SELECT plan(59);

INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('5', 40));
CREATE FUNCTION pg_temp.job(i_id numeric, i_frame bigint, i_chain smallint DEFAULT 0, i_tdid smallint DEFAULT 1)
RETURNS numeric LANGUAGE sql AS $$
    INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                          target_chain_id, target_contract_address, chain_status, max_attempts, is_imua, trace_id,
                          created_at, expiration_time)
    SELECT i_id, 'fire test', i_tdid, u.user_id, i_frame, '1', '1', '0x' || repeat('6', 40), i_chain, 5, true,
           'trace-' || i_id, '2025-01-01 00:00Z', '2025-01-01 00:00Z'::timestamptz + i_frame * interval '1 second'
    FROM tgx.users u WHERE u.user_address = '0x' || repeat('5', 40)
    RETURNING job_id
$$;
CREATE FUNCTION pg_temp.interval_job(i_id numeric, i_every bigint, i_frame bigint, i_policy text DEFAULT 'fire_once',
                                     i_cap integer DEFAULT 100, i_deadline interval DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.job(i_id, i_frame);
    INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy, misfire_cap, start_deadline,
                                    created_at)
    VALUES (i_id, 'interval', i_every, i_policy, i_cap, i_deadline, '2025-01-01 00:00Z');
$$;
CREATE FUNCTION pg_temp.cron_job(i_id numeric, i_expr text, i_frame bigint, i_policy text DEFAULT 'fire_once',
                                 i_cap integer DEFAULT 100, i_deadline interval DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.job(i_id, i_frame);
    INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, misfire_policy, misfire_cap, start_deadline,
                                    created_at)
    VALUES (i_id, 'cron', i_expr, i_policy, i_cap, i_deadline, '2025-01-01 00:00Z');
$$;
CREATE FUNCTION pg_temp.fire(i_now timestamptz) RETURNS integer LANGUAGE sql AS $$
    SELECT tgx.fire_due_schedules(1000, i_now)
$$;
CREATE FUNCTION pg_temp.runs(i_id numeric) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(to_char(t.scheduled_for AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY t.scheduled_for), '')
    FROM tgx.tasks t WHERE t.job_id = i_id
$$;
CREATE FUNCTION pg_temp.misfire(i_id numeric) RETURNS jsonb LANGUAGE sql AS $$
    SELECT t.trigger_data -> 'misfire' FROM tgx.tasks t WHERE t.job_id = i_id ORDER BY t.scheduled_for DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.next(i_id numeric) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT s.next_fire_at FROM tgx.time_schedules s WHERE s.job_id = i_id
$$;

-- A normal interval run ------------------------------------------------------------------------

SELECT pg_temp.interval_job(910001, 60, 86400);
SELECT is(pg_temp.next(910001), '2025-01-01 00:01Z'::timestamptz, 'first run = creation + time_interval');
SELECT is(tgx.next_schedule_due(), '2025-01-01 00:01Z'::timestamptz, 'next_schedule_due is the earliest next_fire_at');
SELECT is(pg_temp.fire('2025-01-01 00:00:59Z'), 0, 'nothing is due before next_fire_at');
SELECT is(pg_temp.fire('2025-01-01 00:01:02Z'), 1, 'a due schedule creates one task');
SELECT is(pg_temp.fire('2025-01-01 00:01:02Z'), 0, 'exactly once: a second call with the same i_now creates none');
SELECT results_eq(
    $$SELECT state::text, due_at, scheduled_for, task_definition_id::integer, max_attempts, is_imua, trace_id,
             task_number, created_at
      FROM tgx.tasks WHERE job_id = 910001$$,
    $$VALUES ('pending', '2025-01-01 00:01:02Z'::timestamptz, '2025-01-01 00:01Z'::timestamptz, 1, 5, true,
              'trace-910001', 1::bigint, '2025-01-01 00:01:02Z'::timestamptz)$$,
    'the task: pending, due now, scheduled_for the instant, fields copied from the job');
SELECT is((SELECT trigger_data - 'misfire' FROM tgx.tasks WHERE job_id = 910001),
          jsonb_build_object('trigger_timestamp', '2025-01-01T00:01:00+00:00', 'schedule_type', 'interval',
                             'time_interval', 60, 'expiration_time', '2025-01-02T00:00:00+00:00',
                             'next_trigger_timestamp', '2025-01-01T00:02:00+00:00'),
          'trigger_data: trigger_timestamp, schedule_type, the spec, expiration and next trigger');
SELECT is(pg_temp.misfire(910001),
          '{"policy": "fire_once", "due": 1, "due_capped": false, "expired": 0, "fired": 1, "collapsed": 0}'::jsonb,
          'trigger_data.misfire of a normal run');
SELECT results_eq($$SELECT next_fire_at, last_fired_at, fire_count, missed_runs FROM tgx.time_schedules
                    WHERE job_id = 910001$$,
                  $$VALUES ('2025-01-01 00:02Z'::timestamptz, '2025-01-01 00:01Z'::timestamptz, 1::bigint, 0::bigint)$$,
                  'the schedule advanced by time_interval');
SELECT is(pg_temp.fire('2025-01-01 00:02:40Z'), 1, 'a late single run still fires');
SELECT is(pg_temp.next(910001), '2025-01-01 00:03Z'::timestamptz, 'the phase is kept after a late run');

-- Misfire after an outage: interval every 60 s, next run 00:01, scheduler back at 00:10:30 ------

SELECT pg_temp.interval_job(910011, 60, 86400, 'skip');
SELECT pg_temp.interval_job(910012, 60, 86400, 'fire_once');
SELECT pg_temp.interval_job(910013, 60, 86400, 'fire_all', 3);
SELECT pg_temp.interval_job(910014, 60, 86400, 'fire_all', 100, interval '3 minutes');
SELECT pg_temp.interval_job(910015, 60, 86400, 'fire_once', 100, interval '10 seconds');
SELECT pg_temp.interval_job(910016, 60, 86400, 'fire_all', 100);
UPDATE tgx.time_schedules SET next_fire_at = '2025-01-01 00:08:30Z' WHERE job_id = 910001;
SELECT is(pg_temp.fire('2025-01-01 00:10:30Z'), 0 + 1 + 3 + 3 + 0 + 10 + 1, 'tasks created after the outage');
SELECT is(pg_temp.runs(910011), '', 'skip: no task for missed runs');
SELECT is(pg_temp.runs(910012), '00:10', 'fire_once: one task, for the latest due instant');
SELECT is(pg_temp.misfire(910012),
          '{"policy": "fire_once", "due": 10, "due_capped": false, "expired": 0, "fired": 1, "collapsed": 9}'::jsonb,
          'fire_once: trigger_data records 10 due, 9 collapsed');
SELECT is(pg_temp.runs(910013), '00:08 00:09 00:10', 'fire_all with misfire_cap 3: the 3 most recent');
SELECT is(pg_temp.misfire(910013),
          '{"policy": "fire_all", "due": 10, "due_capped": false, "expired": 0, "fired": 3, "collapsed": 7}'::jsonb,
          'fire_all: trigger_data records the capped runs');
SELECT is(pg_temp.runs(910014), '00:08 00:09 00:10', 'start_deadline 3 min: older instants are never fired');
SELECT is(pg_temp.misfire(910014),
          '{"policy": "fire_all", "due": 10, "due_capped": false, "expired": 7, "fired": 3, "collapsed": 0}'::jsonb,
          'start_deadline: trigger_data records 7 expired');
SELECT is(pg_temp.runs(910015), '', 'start_deadline 10 s: even the latest instant (30 s old) is too old');
SELECT is(pg_temp.runs(910016), '00:01 00:02 00:03 00:04 00:05 00:06 00:07 00:08 00:09 00:10',
          'fire_all: one task per missed instant');
SELECT is((SELECT count(*)::integer FROM tgx.tasks WHERE job_id = 910001 AND scheduled_for > '2025-01-01 00:03Z'), 1,
          'two due instants (00:08:30, 00:09:30) under fire_once: one task');
SELECT results_eq(
    $$SELECT job_id::numeric, next_fire_at, missed_runs FROM tgx.time_schedules
      WHERE job_id BETWEEN 910011 AND 910016 ORDER BY job_id$$,
    $$VALUES (910011::numeric, '2025-01-01 00:11Z'::timestamptz, 10::bigint), (910012, '2025-01-01 00:11Z', 9),
             (910013, '2025-01-01 00:11Z', 7), (910014, '2025-01-01 00:11Z', 7), (910015, '2025-01-01 00:11Z', 10),
             (910016, '2025-01-01 00:11Z', 0)$$,
    'every policy resumes at the first instant after now and counts missed runs');
SELECT is((SELECT last_misfire - 'at' FROM tgx.time_schedules WHERE job_id = 910011),
          '{"policy": "skip", "due": 10, "due_capped": false, "expired": 0, "fired": 0,
            "from": "2025-01-01T00:01:00+00:00", "until": "2025-01-01T00:10:30+00:00"}'::jsonb,
          'skip: the schedule records the misfire in last_misfire');
SELECT is(pg_temp.fire('2025-01-01 00:11:00Z'), 6, 'after the outage every schedule runs normally again');

-- A single late run under start_deadline ------------------------------------------------------

SELECT pg_temp.interval_job(910021, 600, 86400, 'fire_once', 100, interval '1 minute');
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910021;
SELECT is(pg_temp.fire('2025-01-01 00:12:00Z'), 0,
          'one due instant older than start_deadline is not fired');
SELECT is(pg_temp.next(910021), '2025-01-01 00:20Z'::timestamptz, '... and the schedule moves on');

-- Cron misfires ------------------------------------------------------------------------------------

SELECT pg_temp.cron_job(910031, '*/5 * * * *', 86400, 'skip');
SELECT pg_temp.cron_job(910032, '*/5 * * * *', 86400, 'fire_once');
SELECT pg_temp.cron_job(910033, '*/5 * * * *', 86400, 'fire_all', 5);
SELECT pg_temp.cron_job(910034, '*/5 * * * *', 86400, 'fire_all', 100, interval '12 minutes');
SELECT is(pg_temp.next(910032), '2025-01-01 00:05Z'::timestamptz, 'cron first run: the first instant after creation');
DELETE FROM tgx.tasks;
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910031;
SELECT is(pg_temp.fire('2025-01-01 01:02Z'), 0 + 1 + 5 + 3, 'cron tasks after an outage of an hour');
SELECT is(pg_temp.runs(910031), '', 'cron skip: none');
SELECT is(pg_temp.runs(910032), '01:00', 'cron fire_once: the latest');
SELECT is(pg_temp.misfire(910032) ->> 'due', '12', 'cron fire_once: 12 due instants (00:05 .. 01:00)');
SELECT is(pg_temp.runs(910033), '00:40 00:45 00:50 00:55 01:00', 'cron fire_all capped at 5: the most recent');
SELECT is(pg_temp.runs(910034), '00:50 00:55 01:00', 'cron fire_all with start_deadline 12 min');
SELECT is(pg_temp.misfire(910034) ->> 'expired', '9', 'cron: 9 expired instants recorded');
SELECT is(pg_temp.next(910031), '2025-01-01 01:05Z'::timestamptz, 'cron resumes at the first instant after now');

-- Cron: an outage longer than the enumeration budget (1440 minutes due) --------------------------

SELECT pg_temp.cron_job(910041, '* * * * *', 864000, 'fire_once');
SELECT pg_temp.cron_job(910042, '* * * * *', 864000, 'fire_all', 4);
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910041;
SELECT is(pg_temp.fire('2025-01-02 00:00:30Z'), 5, 'a day of every-minute runs: fire_once 1 + fire_all 4');
SELECT is(pg_temp.runs(910041), '00:00', 'fire_once: the latest instant is found without enumerating all');
SELECT is(pg_temp.runs(910042), '23:57 23:58 23:59 00:00', 'fire_all: the 4 most recent');
SELECT ok((pg_temp.misfire(910041) ->> 'due_capped')::boolean AND (pg_temp.misfire(910041) ->> 'due')::integer > 100,
          'the due count is a lower bound, flagged due_capped');
SELECT is(pg_temp.next(910041), '2025-01-02 00:01Z'::timestamptz, 'and the schedule resumes at the next minute');

-- Expiry ---------------------------------------------------------------------------------------------

SELECT pg_temp.interval_job(910051, 600, 1800);
SELECT pg_temp.interval_job(910052, 600, 1800, 'fire_all');
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910051;
SELECT is(pg_temp.fire('2025-01-01 00:10Z') + pg_temp.fire('2025-01-01 00:20Z'), 4, 'two runs each before expiry');
SELECT is((SELECT status::text FROM tgx.jobs WHERE job_id = 910051), 'pending', 'still pending before the last run');
SELECT is(pg_temp.fire('2025-01-01 00:30Z'), 2, 'the run at the expiration instant fires');
SELECT results_eq($$SELECT j.status::text, s.next_fire_at FROM tgx.jobs j JOIN tgx.time_schedules s USING (job_id)
                    WHERE job_id = 910051$$,
                  $$VALUES ('completed', NULL::timestamptz)$$,
                  'then the job is completed and has no next run');
SELECT is(pg_temp.runs(910051), '00:10 00:20 00:30', 'runs = floor(time_frame / time_interval)');
SELECT pg_temp.interval_job(910053, 600, 1800, 'fire_all');
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910053;
SELECT is(pg_temp.fire('2025-01-01 05:00Z'), 3, 'an outage past expiry fires only instants up to the expiry');
SELECT is((SELECT status::text FROM tgx.jobs WHERE job_id = 910053), 'completed', '... and completes the job');
SELECT is(pg_temp.fire('2025-01-01 06:00Z'), 0, 'a completed job never fires again');

-- Specific: fires once, then the job completes ---------------------------------------------------

SELECT pg_temp.job(910061, 86400);
INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_schedule, created_at)
VALUES (910061, 'specific', '2025-01-01T06:00:00Z', '2025-01-01 00:00Z');
SELECT is(pg_temp.next(910061), '2025-01-01 06:00Z'::timestamptz, 'specific: next_fire_at is the instant');
SELECT is(pg_temp.fire('2025-01-01 05:59Z'), 0, 'specific: not before its instant');
SELECT is(pg_temp.fire('2025-01-01 06:00:01Z'), 1, 'specific: fires once');
SELECT results_eq($$SELECT j.status::text, s.next_fire_at, s.fire_count FROM tgx.jobs j
                    JOIN tgx.time_schedules s USING (job_id) WHERE job_id = 910061$$,
                  $$VALUES ('completed', NULL::timestamptz, 1::bigint)$$,
                  'specific: then the job is completed');

-- Linked followers and inactive jobs are not fired, their schedules are parked ------------------

SELECT pg_temp.job(910071, 86400, 1::smallint);
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
VALUES (910071, 'interval', 60, '2025-01-01 00:00Z');
SELECT pg_temp.interval_job(910072, 60, 86400);
UPDATE tgx.jobs SET status = 'paused' WHERE job_id = 910072;
UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id < 910071;
SELECT is(pg_temp.fire('2025-01-01 00:05Z'), 0, 'a linked follower (chain_status 1) and a paused job create no task');
SELECT is((SELECT count(*)::integer FROM tgx.tasks WHERE job_id IN (910071, 910072)), 0, 'no task for them');
SELECT is((SELECT count(*)::integer FROM tgx.time_schedules WHERE job_id IN (910071, 910072) AND next_fire_at IS NULL),
          2, 'their schedules are parked (next_fire_at NULL)');
SELECT is(tgx.next_schedule_due(), NULL::timestamptz, 'nothing left to schedule');

-- Bad input ---------------------------------------------------------------------------------------------

SELECT throws_ok($$SELECT tgx.fire_due_schedules(0, '2025-01-01 00:00Z')$$, '22023',
                 'invalid batch 0', 'batch size is checked');
SELECT throws_ok($$SELECT tgx.fire_due_schedules(10, NULL)$$, '22023', 'a finite current instant is required',
                 'i_now is checked');

SELECT * FROM finish();
ROLLBACK;
