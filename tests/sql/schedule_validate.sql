-- schedule_validate.sql: the validation trigger of tgx.time_schedules (type-specific fields,
-- zones, interval vs time_frame, specific_schedule parsing, next_fire_at on insert and update)
-- and the previews (tgx.preview, tgx.preview_schedule).
BEGIN;
SELECT plan(45);

INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('7', 40));
CREATE FUNCTION pg_temp.job(i_id numeric, i_frame bigint, i_tdid smallint DEFAULT 1)
RETURNS numeric LANGUAGE sql AS $$
    INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                          target_chain_id, target_contract_address, created_at, expiration_time)
    SELECT i_id, 'validate test', i_tdid, u.user_id, i_frame, '1', '1', '0x' || repeat('8', 40), '2025-01-01 00:00Z',
           '2025-01-01 00:00Z'::timestamptz + i_frame * interval '1 second'
    FROM tgx.users u WHERE u.user_address = '0x' || repeat('7', 40)
    RETURNING job_id
$$;
SELECT pg_temp.job(930000 + g, 86400) FROM generate_series(1, 30) g;
SELECT pg_temp.job(930031, 3600);
SELECT pg_temp.job(930032, 86400, 3::smallint);
SELECT pg_temp.job(930033, 86400, 7::smallint);

-- Interval ------------------------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval) VALUES (930031, 'interval', 7200)$$,
                 '22023', 'time_interval 7200 is longer than the job''s time_frame 3600',
                 'an interval longer than the job''s time_frame is rejected');
SELECT lives_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
                  VALUES (930031, 'interval', 3600, '2025-01-01 00:00Z')$$,
                'an interval equal to the time_frame is accepted');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 930031), '2025-01-01 01:00Z'::timestamptz,
          'first run = created_at + time_interval');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type) VALUES (930001, 'interval')$$,
                 '22023', 'an interval schedule needs a positive time_interval', 'interval without time_interval');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, cron_expression)
                   VALUES (930001, 'interval', 60, '* * * * *')$$,
                 '22023', 'an interval schedule cannot have cron_expression, specific_schedule or specific_at',
                 'interval with a cron expression');
SELECT lives_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
                  VALUES (930033, 'interval', 60, '2025-01-01 00:00Z')$$,
                'custom script jobs (task definition 7) take interval schedules');

-- Jobs and zones ------------------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval) VALUES (930032, 'interval', 60)$$,
                 '22023', 'job 930032 is not a time job', 'an event job cannot have a time schedule');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval) VALUES (939999, 'interval', 60)$$,
                 'P0002', 'job 939999 does not exist', 'unknown job');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, timezone)
                   VALUES (930002, 'cron', '0 9 * * *', 'Mars/Base')$$,
                 '22023', 'unknown time zone "Mars/Base"', 'unknown zone rejected');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, timezone)
                   VALUES (930002, 'cron', '0 9 * * *', 'EST5')$$,
                 '22023', 'unknown time zone "EST5"', 'POSIX zone strings are not IANA zones');
INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, timezone, created_at)
VALUES (930002, 'cron', '0 9 * * *', 'america/new_york', '2025-01-01 00:00Z');
SELECT results_eq($$SELECT timezone, next_fire_at FROM tgx.time_schedules WHERE job_id = 930002$$,
                  $$VALUES ('America/New_York', '2025-01-01 14:00Z'::timestamptz)$$,
                  'zone stored in canonical spelling; cron runs in local time');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, dst_gap)
                   VALUES (930003, 'cron', '0 9 * * *', 'later')$$,
                 '22023', 'invalid dst_gap "later"', 'unknown DST policy rejected with 22023');

-- Cron --------------------------------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression)
                   VALUES (930003, 'cron', '0 0 * * 9')$$,
                 '22023', 'invalid cron expression "0 0 * * 9": day of week 9 is out of range 0-7',
                 'invalid cron expression rejected at insert');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression)
                   VALUES (930003, 'cron', '0 0 31 2 *')$$,
                 '22023', 'cron expression "0 0 31 2 *" can never fire: day 31 does not exist in February',
                 'cron that can never fire rejected at insert');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, created_at)
                   VALUES (930031, 'cron', '0 0 1 1 *', '2025-01-01 00:00Z')
                   ON CONFLICT (job_id) DO UPDATE SET schedule_type = 'cron', time_interval = NULL,
                                                      cron_expression = '0 0 1 1 *'$$,
                 '22023', 'schedule of job 930031 never fires before the job expires',
                 'a schedule whose first run is after the job''s expiry is rejected');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, time_interval)
                   VALUES (930003, 'cron', '* * * * *', 60)$$,
                 '22023', 'a cron schedule cannot have time_interval, specific_schedule or specific_at',
                 'cron with a time_interval');
INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, created_at)
VALUES (930004, 'cron', '*/10 * * * *', '2025-01-01 00:00Z');
UPDATE tgx.time_schedules SET cron_expression = '*/20 * * * *', updated_at = '2025-01-01 05:21Z' WHERE job_id = 930004;
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 930004), '2025-01-01 05:40Z'::timestamptz,
          'changing the expression recomputes next_fire_at from the new updated_at');
SELECT throws_ok($$UPDATE tgx.time_schedules SET cron_expression = '99 * * * *' WHERE job_id = 930004$$,
                 '22023', 'invalid cron expression "99 * * * *": minute 99 is out of range 0-59',
                 'invalid cron expression rejected at update');
UPDATE tgx.time_schedules SET misfire_policy = 'skip' WHERE job_id = 930004;
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 930004), '2025-01-01 05:40Z'::timestamptz,
          'changing the misfire policy leaves next_fire_at alone');
UPDATE tgx.time_schedules SET updated_at = '2025-01-01 07:05Z' WHERE job_id = 930004;
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 930004), '2025-01-01 07:20Z'::timestamptz,
          'a new updated_at alone reschedules from then');

-- Specific: parsing specific_schedule into specific_at ------------------------------------------------

CREATE FUNCTION pg_temp.specific(i_id numeric, i_text text, i_tz text DEFAULT 'UTC') RETURNS timestamptz
LANGUAGE sql AS $$
    INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_schedule, timezone, created_at)
    VALUES (i_id, 'specific', i_text, i_tz, '2025-01-01 00:00Z')
    RETURNING specific_at
$$;
SELECT is(pg_temp.specific(930011, '2025-01-01T12:00:00Z'), '2025-01-01 12:00Z'::timestamptz, 'RFC 3339 with Z');
SELECT is(pg_temp.specific(930012, '2025-01-01T12:00:00+05:30'), '2025-01-01 06:30Z'::timestamptz, 'RFC 3339 with offset');
SELECT is(pg_temp.specific(930013, '1735732800'), '2025-01-01 12:00Z'::timestamptz, 'unix seconds');
SELECT is(pg_temp.specific(930014, '2025-01-01 09:00', 'Europe/Paris'), '2025-01-01 08:00Z'::timestamptz,
          'no offset: local time in the schedule''s zone');
SELECT is(pg_temp.specific(930015, '2025-01-01T12:00:00.250-01:00'), '2025-01-01 13:00:00.25Z'::timestamptz,
          'fractional seconds and a negative offset');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 930011), '2025-01-01 12:00Z'::timestamptz,
          'next_fire_at of a specific schedule is its instant');
SELECT throws_ok($$SELECT pg_temp.specific(930016, 'tomorrow')$$, '22023', 'invalid specific_schedule "tomorrow"',
                 'unparsable specific_schedule');
SELECT throws_ok($$SELECT pg_temp.specific(930016, '2025-13-01T00:00:00Z')$$, '22023',
                 'invalid specific_schedule "2025-13-01T00:00:00Z"', 'out-of-range date');
SELECT throws_ok($$SELECT pg_temp.specific(930016, '2025-01-03T00:00:00Z')$$, '22023',
                 'schedule of job 930016 never fires before the job expires', 'specific instant after the expiry');
INSERT INTO tgx.time_schedules (job_id, schedule_type, specific_at, created_at)
VALUES (930017, 'specific', '2025-01-01 15:30Z', '2025-01-01 00:00Z');
SELECT is((SELECT specific_schedule FROM tgx.time_schedules WHERE job_id = 930017), '2025-01-01T15:30:00.000000Z',
          'specific_at alone: specific_schedule is filled in RFC 3339');
SELECT throws_ok($$INSERT INTO tgx.time_schedules (job_id, schedule_type) VALUES (930018, 'specific')$$,
                 '22023', 'a specific schedule needs specific_schedule or specific_at', 'specific without a time');

-- Preview of a job ------------------------------------------------------------------------------------------

SELECT is((SELECT string_agg(to_char(fire_at AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY n)
           FROM tgx.preview(930031, 10, '2025-01-01 00:00Z')), '01:00',
          'preview stops at the job''s expiration_time');
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, created_at)
VALUES (930021, 'interval', 900, '2025-01-01 00:00Z');
SELECT results_eq($$SELECT n, fire_at, utc_time, local_time, utc_offset, is_dst, dst_note
                    FROM tgx.preview(930021, 3, '2025-01-01 00:00Z')$$,
                  $$VALUES (1, '2025-01-01 00:15Z'::timestamptz, '2025-01-01 00:15'::timestamp,
                            '2025-01-01 00:15'::timestamp, interval '0', false, NULL::text),
                           (2, '2025-01-01 00:30Z', '2025-01-01 00:30', '2025-01-01 00:30', interval '0', false, NULL),
                           (3, '2025-01-01 00:45Z', '2025-01-01 00:45', '2025-01-01 00:45', interval '0', false, NULL)$$,
                  'preview of an interval job: next n runs with UTC and local time');
SELECT pg_temp.job(930034, 864000);
INSERT INTO tgx.time_schedules (job_id, schedule_type, cron_expression, timezone, created_at)
VALUES (930034, 'cron', '0 9 * * *', 'America/New_York', '2025-01-01 00:00Z');
SELECT is((SELECT string_agg(to_char(local_time, 'MM-DD HH24:MI'), ' ' ORDER BY n)
           FROM tgx.preview(930034, 3, '2025-01-01 00:00Z')), '01-01 09:00 01-02 09:00 01-03 09:00',
          'preview of a cron job in its local time');
UPDATE tgx.jobs SET status = 'paused' WHERE job_id = 930021;
UPDATE tgx.time_schedules SET next_fire_at = NULL, last_fired_at = '2025-01-01 00:15Z' WHERE job_id = 930021;
SELECT is((SELECT fire_at FROM tgx.preview(930021, 1, '2025-01-01 02:20Z')), '2025-01-01 02:30Z'::timestamptz,
          'preview of a parked schedule: the runs it would make if resumed now (phase kept)');
UPDATE tgx.jobs SET status = 'completed' WHERE job_id = 930021;
SELECT is((SELECT count(*)::integer FROM tgx.preview(930021, 5, '2025-01-01 00:00Z')), 0,
          'a completed job has no runs');
SELECT throws_ok($$SELECT * FROM tgx.preview(939999)$$, 'P0002', 'job 939999 does not exist', 'preview: unknown job');
SELECT throws_ok($$SELECT * FROM tgx.preview(930030)$$, 'P0002', 'job 930030 has no time schedule',
                 'preview: job without schedule');
SELECT throws_ok($$SELECT * FROM tgx.preview(930021, 0)$$, '22023',
                 'invalid number of runs 0: it must be between 1 and 1000', 'preview: bad n');

-- Preview of a schedule spec ---------------------------------------------------------------------------------

SELECT is((SELECT string_agg(to_char(fire_at AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY n)
           FROM tgx.preview_schedule('interval', '600', 3, i_now => '2025-01-01 00:00Z')), '00:10 00:20 00:30',
          'preview_schedule interval: now + k * seconds');
SELECT is((SELECT string_agg(to_char(fire_at AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY n)
           FROM tgx.preview_schedule('cron', '@hourly', 2, i_now => '2025-01-01 00:00Z')), '01:00 02:00',
          'preview_schedule cron');
SELECT results_eq($$SELECT n, fire_at FROM tgx.preview_schedule('specific', '1735732800', 5)$$,
                  $$VALUES (1, '2025-01-01 12:00Z'::timestamptz)$$, 'preview_schedule specific: one run');
SELECT throws_ok($$SELECT * FROM tgx.preview_schedule('hourly', '1')$$, '22023', 'invalid schedule_type "hourly"',
                 'preview_schedule: bad type');
SELECT throws_ok($$SELECT * FROM tgx.preview_schedule('interval', '-5')$$, '22023', 'invalid time_interval "-5"',
                 'preview_schedule: bad interval');
SELECT throws_ok($$SELECT * FROM tgx.preview_schedule('cron', '* * *')$$, '22023',
                 'invalid cron expression "* * *": expected 5 fields, found 3', 'preview_schedule: bad cron');

SELECT * FROM finish();
ROLLBACK;
