-- rest_jobs_change.sql: the REST changes of jobs and tasks: tgx.delete_job (every job type,
-- ownership, waiting tasks cancelled in the same transaction, idempotent), tgx.update_job (only
-- the fields sent; schedule changes validated), tgx.set_job_status, tgx.set_job_last_executed,
-- tgx.create_task, tgx.record_task_execution.  Job ids 6070xx; times explicit (2030).
BEGIN;
SELECT plan(48);

CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
AS $$ SELECT '2030-01-01 00:00:00+00'::timestamptz $$;
CREATE FUNCTION pg_temp.owner() RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT '0x6070000000000000000000000000000000000001' $$;

CREATE FUNCTION pg_temp.fails(i_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_col text;
BEGIN
    EXECUTE i_sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_col = COLUMN_NAME;
    RETURN v_state || ':' || coalesce(v_col, '');
END $$;

-- a job of type TDID created through tgx.create_jobs
CREATE FUNCTION pg_temp.job(i_id bigint, i_tdid integer, i_extra jsonb DEFAULT '{}') RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb := jsonb_build_object(
        'job_id', i_id::text, 'user_address', pg_temp.owner(), 'job_title', 'change test ' || i_id,
        'task_definition_id', i_tdid, 'time_frame', 86400, 'created_chain_id', '1', 'target_chain_id', '1',
        'target_contract_address', '0x607000000000000000000000000000000000ffff', 'target_function', 'ping',
        'abi', '[{"type":"function","name":"ping","inputs":[]}]', 'arguments', '[]'::jsonb);
BEGIN
    v := v || CASE i_tdid
        WHEN 1 THEN '{"schedule_type": "interval", "time_interval": 600}'::jsonb
        WHEN 3 THEN '{"trigger_contract_address": "0x607000000000000000000000000000000000eeee", "trigger_event": "Ping()"}'
        WHEN 5 THEN '{"condition_type": "less_than", "upper_limit": 5, "value_source_type": "static", "value_source_url": "3"}'
        WHEN 7 THEN '{"arg_type": 2, "time_interval": 600, "language": "go", "dynamic_arguments_script_url": "ipfs://s"}'
        ELSE '{}'::jsonb END || i_extra;
    PERFORM tgx.create_jobs(NULL, jsonb_build_array(v), 'trace-' || i_id, pg_temp.now());
    RETURN i_id;
END $$;

INSERT INTO tgx.keepers (keeper_address, online, whitelisted)
VALUES ('0x607000000000000000000000000000000000abcd', true, true);

SELECT pg_temp.job(607001, 1);
SELECT pg_temp.job(607003, 3);
SELECT pg_temp.job(607005, 5);
SELECT pg_temp.job(607007, 7);
SELECT pg_temp.job(607011, 1);

-- tasks of 607001 in every waiting and active state, one finished
INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, keeper_id, lease_until, lease_epoch,
                       attempt, started_at, finished_at, created_at)
SELECT 607001, 1, v.state::tgx.task_state, pg_temp.now(), pg_temp.now(),
       CASE WHEN v.state IN ('assigned', 'running') THEN k.keeper_id END,
       CASE WHEN v.state IN ('assigned', 'running') THEN pg_temp.now() + interval '5 minutes' END,
       v.epoch, v.epoch, CASE WHEN v.state IN ('running', 'succeeded') THEN pg_temp.now() END,
       CASE WHEN v.state = 'succeeded' THEN pg_temp.now() END, pg_temp.now()
  FROM tgx.keepers k,
       (VALUES ('scheduled', 0), ('pending', 0), ('assigned', 1), ('running', 1), ('succeeded', 1)) AS v (state, epoch)
 WHERE k.keeper_address = '0x607000000000000000000000000000000000abcd';
INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at)
SELECT t.task_id, 1, t.keeper_id, 1, pg_temp.now() FROM tgx.tasks t WHERE t.job_id = 607001 AND t.state = 'assigned';
-- a pending task of the condition job
INSERT INTO tgx.tasks (job_id, task_definition_id, state) VALUES (607005, 5, 'pending');

------------------------------------------------------------------------------
-- delete_job
------------------------------------------------------------------------------

SELECT is(pg_temp.fails($$SELECT tgx.delete_job('0x0000000000000000000000000000000000000bad', 607001, '2030-01-01 00:01')$$),
          '42501:', 'another owner cannot delete the job');
SELECT is((SELECT status::text FROM tgx.jobs WHERE job_id = 607001), 'pending', '... and it is untouched');
SELECT is(pg_temp.fails($$SELECT tgx.delete_job(NULL, 607999, now())$$), 'P0002:', 'unknown job: P0002');
SELECT is(tgx.delete_job(pg_temp.owner(), 607001, '2030-01-01 00:01'), 3,
          'the owner deletes the time job: three waiting tasks cancelled');
SELECT is((SELECT array_agg(state::text ORDER BY task_id) FROM tgx.tasks WHERE job_id = 607001),
          ARRAY['cancelled', 'cancelled', 'cancelled', 'running', 'succeeded'],
          'scheduled, pending and assigned are cancelled; running and succeeded are left alone');
SELECT is((SELECT (lease_epoch, lease_until, finished_at)::text FROM tgx.tasks WHERE job_id = 607001 AND attempt = 1
             AND task_error = 'cancelled: job deleted'),
          '(2,,"2030-01-01 00:01:00+00")', 'the assigned task is fenced (epoch bumped) and finished');
SELECT is((SELECT (outcome, ended_at)::text FROM tgx.task_attempts a JOIN tgx.tasks t USING (task_id)
            WHERE t.job_id = 607001 AND t.state = 'cancelled'),
          '(cancelled,"2030-01-01 00:01:00+00")', 'its open attempt is closed');
SELECT is((SELECT (j.status, s.next_fire_at)::text FROM tgx.jobs j JOIN tgx.time_schedules s USING (job_id)
            WHERE j.job_id = 607001),
          '(deleted,)', 'the job is deleted and its schedule stops');
SELECT is(tgx.delete_job(pg_temp.owner(), 607001, '2030-01-01 00:02'), 0, 'deleting again: 0, no error');
SELECT is(tgx.delete_job(NULL, 607003, '2030-01-01 00:01'), 0, 'an admin deletes the event job');
SELECT is(tgx.delete_job(pg_temp.owner(), 607005, '2030-01-01 00:01'), 1, 'the condition job: its pending task cancelled');
SELECT is((SELECT next_check_at FROM tgx.condition_triggers WHERE job_id = 607005), NULL,
          'the condition is no longer checked');
SELECT is(tgx.delete_job(pg_temp.owner(), 607007, '2030-01-01 00:01'), 0, 'the custom script job');
SELECT is((SELECT array_agg(status::text ORDER BY job_id) FROM tgx.jobs WHERE job_id IN (607001, 607003, 607005, 607007)),
          ARRAY['deleted', 'deleted', 'deleted', 'deleted'], 'every job type can be deleted');

------------------------------------------------------------------------------
-- update_job
------------------------------------------------------------------------------

CREATE TEMP TABLE before_update AS SELECT * FROM tgx.jobs WHERE job_id = 607011;
SELECT is((SELECT job_id FROM tgx.update_job(pg_temp.owner(), 607011, '{"job_title": "renamed"}', '2030-01-01 00:05')),
          '607011', 'update answers the job id');
SELECT is((SELECT job_title FROM tgx.jobs WHERE job_id = 607011), 'renamed', 'only job_title changed ...');
SELECT is((SELECT (j.time_frame, j.recurring, j.status, j.job_cost_prediction, j.updated_at)::text
             FROM tgx.jobs j WHERE j.job_id = 607011),
          (SELECT (b.time_frame, b.recurring, b.status, b.job_cost_prediction, '2030-01-01 00:05:00+00'::timestamptz)::text
             FROM before_update b),
          '... time_frame, recurring, status and the cost prediction stay; updated_at moves');
SELECT lives_ok($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"time_interval": 300}', '2030-01-01 00:06')$$,
                'a new time_interval');
SELECT is((SELECT (time_interval, next_fire_at)::text FROM tgx.time_schedules WHERE job_id = 607011),
          '(300,"2030-01-01 00:11:00+00")', 'the schedule is recomputed from the update');
SELECT lives_ok($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"cron_expression": "30 * * * *"}', '2030-01-01 00:07')$$,
                'a cron expression makes it a cron schedule');
SELECT is((SELECT (schedule_type, time_interval, next_fire_at)::text FROM tgx.time_schedules WHERE job_id = 607011),
          '(cron,,"2030-01-01 00:30:00+00")', 'cron schedule, first run after the update');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"cron_expression": "bad"}', now())$$),
          '22023:cron_expression', 'a bad cron expression names its field');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"time_interval": 999999}', now())$$),
          '22023:time_interval', 'an interval longer than time_frame');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"timezone": "Atlantis"}', now())$$),
          '22023:timezone', 'an unknown zone');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"job_id": "607012", "job_title": "x y z"}', now())$$),
          '22023:job_id', 'a body job_id other than the path''s');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"nothing": 1}', now())$$), '22023:',
          'no known field');
SELECT is(pg_temp.fails($$SELECT tgx.update_job('0x0000000000000000000000000000000000000bad', 607011, '{"job_title": "mine"}', now())$$),
          '42501:', 'another owner');
SELECT is(pg_temp.fails($$SELECT tgx.update_job(pg_temp.owner(), 607001, '{"job_title": "dead job"}', now())$$),
          '55000:', 'a deleted job cannot be updated');
SELECT is((SELECT (job_title, time_frame)::text FROM tgx.jobs WHERE job_id = 607011), '(renamed,86400)',
          'refused updates changed nothing');
SELECT lives_ok($$SELECT tgx.update_job(pg_temp.owner(), 607011, '{"time_frame": 7200, "recurring": true}', '2030-01-01 00:08')$$,
                'time_frame and recurring');
SELECT is((SELECT (time_frame, recurring, expiration_time)::text FROM tgx.jobs WHERE job_id = 607011),
          '(7200,t,"2030-01-01 02:00:00+00")', 'expiration_time follows time_frame from created_at');

------------------------------------------------------------------------------
-- set_job_status
------------------------------------------------------------------------------

SELECT is((SELECT status FROM tgx.set_job_status(pg_temp.owner(), 607011, 'paused', '2030-01-01 00:09')), 'paused',
          'paused pauses the job');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 607011), NULL, 'its schedule is parked');
SELECT is((SELECT status FROM tgx.set_job_status(pg_temp.owner(), 607011, 'in-queue', '2030-01-01 00:10')), 'pending',
          'in-queue resumes it');
SELECT is((SELECT status FROM tgx.set_job_status(pg_temp.owner(), 607011, 'running', '2030-01-01 00:11')), 'pending',
          'running on an active job changes nothing');
SELECT is(pg_temp.fails($$SELECT tgx.set_job_status(pg_temp.owner(), 607011, 'sleeping', now())$$), '22023:status',
          'an unknown status names the field');
SELECT is(pg_temp.fails($$SELECT tgx.set_job_status(pg_temp.owner(), 607001, 'pending', now())$$), '55000:',
          'a deleted job''s status cannot change');

------------------------------------------------------------------------------
-- set_job_last_executed
------------------------------------------------------------------------------

SELECT is((SELECT (last_executed_at, updated_at)::text
             FROM tgx.set_job_last_executed(pg_temp.owner(), 607011, '2030-01-01 00:30', 0.0125, '2030-01-01 00:31')),
          '("2030-01-01 00:30:00+00","2030-01-01 00:31:00+00")', 'last execution recorded');
SELECT is((SELECT job_cost_actual FROM tgx.jobs WHERE job_id = 607011), 0.0125::float8, 'with the actual cost');
SELECT is(pg_temp.fails($$SELECT tgx.set_job_last_executed('0x0000000000000000000000000000000000000bad', 607011, now(), 1, now())$$),
          '42501:', 'another owner');
SELECT is(pg_temp.fails($$SELECT tgx.set_job_last_executed(NULL, 607011, now(), -1, now())$$), '22023:job_cost_actual',
          'a negative cost');

------------------------------------------------------------------------------
-- create_task and record_task_execution
------------------------------------------------------------------------------

CREATE TEMP TABLE new_task AS SELECT tgx.create_task(607011, 1, NULL, 'trace-task', '2030-01-01 00:40') AS id;
SELECT is((SELECT (state, due_at, trace_id, trigger_data)::text FROM tgx.tasks WHERE task_id = (SELECT id FROM new_task)),
          '(pending,"2030-01-01 00:40:00+00",trace-task,"{""source"": ""api""}")', 'a pending task due now');
SELECT is(pg_temp.fails($$SELECT tgx.create_task(607001, 1, NULL, NULL, now())$$), '55000:',
          'no task for a deleted job');
SELECT is(pg_temp.fails($$SELECT tgx.create_task(607011, 8, NULL, NULL, now())$$), '22023:task_definition_id',
          'task_definition_id 8');
SELECT lives_ok(format($$SELECT tgx.record_task_execution(%s, (SELECT keeper_id FROM tgx.keepers LIMIT 1),
                   '2030-01-01 00:41', '0x%s', 'proof', 0.002, '2030-01-01 00:42')$$,
                       (SELECT id FROM new_task), repeat('AB', 32)),
                'an execution report');
SELECT is((SELECT (state, execution_tx_hash, task_opx_cost, proof_of_task)::text FROM tgx.tasks
            WHERE task_id = (SELECT id FROM new_task)),
          '(pending,0x' || repeat('ab', 32) || ',0.002,proof)', 'recorded (hash lower-cased), the state unchanged');
SELECT is(pg_temp.fails(format($$SELECT tgx.record_task_execution(%s, NULL, now(), '0x12', NULL, NULL, now())$$,
                               (SELECT id FROM new_task))),
          '22023:execution_tx_hash', 'a malformed transaction hash');
SELECT is(pg_temp.fails($$SELECT tgx.record_task_execution(-1, NULL, now(), '0x' || repeat('00', 32), NULL, NULL, now())$$),
          'P0002:', 'an unknown task');

SELECT * FROM finish();
ROLLBACK;
