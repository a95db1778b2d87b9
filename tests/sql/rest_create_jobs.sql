-- rest_create_jobs.sql: tgx.create_jobs (POST /api/jobs): every job type as the SDK sends it,
-- Safe mode, linked batches, user points per job, ownership, and field-named refusals that
-- leave nothing behind.  Job ids 6060xx; owner 0x606...; every time is explicit (2030).
BEGIN;
SELECT plan(65);

CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
AS $$ SELECT '2030-01-01 00:00:00+00'::timestamptz $$;

-- the SDK's time job (interval), with job_id and user_address overridable
CREATE FUNCTION pg_temp.job(i_id text, i_extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
SELECT jsonb_build_object(
    'job_id', i_id, 'user_address', '0x606000000000000000000000000000000000ABCD', 'ether_balance', 1000,
    'token_balance', 1000, 'job_title', 'rest test job', 'task_definition_id', 1, 'custom', false,
    'time_frame', 3600, 'recurring', false, 'job_cost_prediction', 0.004, 'timezone', 'UTC',
    'created_chain_id', '31337', 'schedule_type', 'interval', 'time_interval', 900, 'target_chain_id', '31337',
    'target_contract_address', '0x5FbDB2315678afecb367f032d93F642f64180aa3', 'target_function', 'increment',
    'abi', '[{"type":"function","name":"increment","inputs":[{"name":"x","type":"uint256"}],"outputs":[]}]',
    'arg_type', 1, 'arguments', jsonb_build_array('1'), 'is_imua', false, 'is_safe', false, 'safe_name', '',
    'safe_address', '', 'language', '') || i_extra
$$;

-- create one job; returns the response row as jsonb
CREATE FUNCTION pg_temp.create(i_jobs jsonb, i_owner text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
SELECT to_jsonb(c) FROM tgx.create_jobs(i_owner, i_jobs, 'trace-rest', pg_temp.now()) c
$$;

-- run a statement that must fail: 'SQLSTATE:COLUMN' of its error (COLUMN empty when none)
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

-- the refusal of one bad job (a change merged into the valid SDK job)
CREATE FUNCTION pg_temp.refuse(i_change jsonb, i_id text DEFAULT '606999') RETURNS text LANGUAGE sql AS $$
SELECT pg_temp.fails(format('SELECT tgx.create_jobs(NULL, %L::jsonb, NULL, %L)',
                            jsonb_build_array(pg_temp.job(i_id, i_change)), pg_temp.now()))
$$;

------------------------------------------------------------------------------
-- a time job, interval, as the SDK sends it
------------------------------------------------------------------------------

CREATE TEMP TABLE created AS
SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606001', '{"custom": true, "ether_balance": 123456789012345678901234567890}'))) AS r;
SELECT is((SELECT (r ->> 'user_id')::bigint FROM created),
          (SELECT user_id FROM tgx.users WHERE user_address = '0x606000000000000000000000000000000000abcd'),
          'the response names the new user');
SELECT is((SELECT r - 'user_id' FROM created),
          jsonb_build_object('account_balance', 123456789012345678901234567890::numeric, 'token_balance', 1000,
                             'job_ids', '["606001"]'::jsonb, 'task_definition_ids', '[1]'::jsonb,
                             'time_frames', '[3600]'::jsonb),
          'interval job: the CreateJobResponse, balances exact beyond 2^64');
SELECT is((SELECT (user_address, ether_balance, user_points, total_jobs)::text FROM tgx.users
            WHERE user_address = '0x606000000000000000000000000000000000abcd'),
          '(0x606000000000000000000000000000000000abcd,123456789012345678901234567890,20,1)',
          'the user is created lower-cased with the exact balance, +20 points for a custom job');
SELECT is((SELECT (status, chain_status, link_job_id, trace_id, expiration_time, target_contract_address,
                   arguments)::text FROM tgx.jobs WHERE job_id = 606001),
          '(pending,0,,trace-rest,"2030-01-01 01:00:00+00",0x5fbdb2315678afecb367f032d93f642f64180aa3,{1})',
          'the job: pending, alone in its chain, trace id stored, expires after time_frame, address lower-cased');
SELECT is((SELECT (schedule_type, time_interval, next_fire_at)::text FROM tgx.time_schedules WHERE job_id = 606001),
          '(interval,900,"2030-01-01 00:15:00+00")', 'its schedule: first run after time_interval');

------------------------------------------------------------------------------
-- cron, specific, event, condition, custom script
------------------------------------------------------------------------------

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606002',
    '{"schedule_type": "cron", "cron_expression": "0 9 * * *", "timezone": "europe/paris", "time_frame": 86400,
      "time_interval": null}')))$$, 'cron job accepted');
SELECT is((SELECT (schedule_type, cron_expression, timezone, next_fire_at)::text FROM tgx.time_schedules
            WHERE job_id = 606002),
          '(cron,"0 9 * * *",Europe/Paris,"2030-01-01 08:00:00+00")',
          'cron schedule in the job''s zone, spelled canonically: 09:00 Paris = 08:00 UTC');
SELECT is((SELECT timezone FROM tgx.jobs WHERE job_id = 606002), 'Europe/Paris', 'the job keeps the canonical zone');

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606003',
    '{"schedule_type": "specific", "specific_schedule": "2030-01-01T00:30:00Z", "time_interval": null}')))$$,
    'specific job accepted');
SELECT is((SELECT next_fire_at FROM tgx.time_schedules WHERE job_id = 606003), '2030-01-01 00:30:00+00'::timestamptz,
          'specific schedule: its one instant');

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606004',
    '{"task_definition_id": 3, "schedule_type": null, "time_interval": null, "recurring": true,
      "trigger_chain_id": "31337", "trigger_contract_address": "0x000000000000000000000000000000000000BEEF",
      "trigger_event": "Transfer(address,address,uint256)"}')))$$, 'event job accepted');
SELECT is((SELECT (trigger_chain_id, trigger_contract_address, trigger_event, event_filter_para_name)::text
             FROM tgx.event_triggers WHERE job_id = 606004),
          '(31337,0x000000000000000000000000000000000000beef,"Transfer(address,address,uint256)",)',
          'event trigger row, address lower-cased, no filter');
SELECT is((SELECT count(*) FROM tgx.time_schedules WHERE job_id = 606004), 0::bigint, 'an event job has no schedule');

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606005',
    '{"task_definition_id": 5, "schedule_type": null, "time_interval": null, "condition_type": "greater_than",
      "upper_limit": 3000.5, "lower_limit": 0, "value_source_type": "api",
      "value_source_url": "https://example.org/price"}')))$$, 'condition job accepted');
SELECT is((SELECT (condition_type, upper_limit, lower_limit, value_source_type, next_check_at)::text
             FROM tgx.condition_triggers WHERE job_id = 606005),
          '(greater_than,3000.5,0,api,"2030-01-01 00:00:00+00")', 'condition trigger row, checked from now');

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606006',
    '{"task_definition_id": 7, "arg_type": 2, "target_contract_address": "", "target_function": "", "abi": "",
      "arguments": null, "language": "ts", "time_interval": 600,
      "dynamic_arguments_script_url": "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"}')))$$,
    'custom script job accepted (empty target address, as the SDK sends it)');
SELECT is((SELECT (c.script_language, j.target_contract_address IS NULL, s.schedule_type, s.time_interval)::text
             FROM tgx.custom_scripts c JOIN tgx.jobs j USING (job_id) JOIN tgx.time_schedules s USING (job_id)
            WHERE c.job_id = 606006),
          '(ts,t,interval,600)', 'custom script row and its interval schedule');

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606007',
    '{"arg_type": 2, "task_definition_id": 2, "arguments": null,
      "dynamic_arguments_script_url": "https://gateway.example/ipfs/Qm123"}')))$$,
    'dynamic time job accepted without checking the ABI');

------------------------------------------------------------------------------
-- Safe mode: the SDK puts a bare number among the arguments
------------------------------------------------------------------------------

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606008', jsonb_build_object(
    'is_safe', true, 'safe_address', '0x0000000000000000000000000000000000005AFE', 'safe_name', 'my safe',
    'target_function', 'execJobFromHub',
    'abi', '[{"type":"function","name":"execJobFromHub","inputs":[{"name":"safeAddress","type":"address"},{"name":"actionTarget","type":"address"},{"name":"actionValue","type":"uint256"},{"name":"actionData","type":"bytes"},{"name":"operation","type":"uint8"},{"name":"userAddress","type":"address"}],"outputs":[{"type":"bool"}]}]',
    'arguments', '["0x0000000000000000000000000000000000005afe","0x5FbDB2315678afecb367f032d93F642f64180aa3","0","0xd09de08a",0,"0x606000000000000000000000000000000000ABCD"]'::jsonb))))$$,
    'Safe-mode job accepted with a bare JSON number among the arguments');
SELECT is((SELECT (safe_address, arguments[5])::text FROM tgx.jobs WHERE job_id = 606008),
          '(0x0000000000000000000000000000000000005afe,0)', 'the number is kept as its decimal text; safe lower-cased');
SELECT is((SELECT safe_name FROM tgx.safe_addresses WHERE safe_address = '0x0000000000000000000000000000000000005afe'),
          'my safe', 'the Safe wallet is recorded for the user');

------------------------------------------------------------------------------
-- ABI: full signatures, overloads, tuples
------------------------------------------------------------------------------

SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606009',
    '{"target_function": "increment(uint)"}')))$$, 'a full signature with the uint alias matches uint256');
SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606010', jsonb_build_object(
    'target_function', 'setPair', 'arguments', '["1", "2"]'::jsonb,
    'abi', '[{"type":"function","name":"setPair","inputs":[{"type":"uint256"}]},{"type":"function","name":"setPair","inputs":[{"type":"uint256"},{"type":"uint256"}]}]'))))$$,
    'a bare name matches the overload of the right arity');
SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606011', jsonb_build_object(
    'target_function', 'submit((address,uint256)[],bool)', 'arguments', '["[]", "true"]'::jsonb,
    'abi', '{"abi":[{"type":"function","name":"submit","inputs":[{"type":"tuple[]","components":[{"type":"address"},{"type":"uint256"}]},{"type":"bool"}]}]}'))))$$,
    'a tuple signature inside an artifact object');

------------------------------------------------------------------------------
-- a linked batch, points per job
------------------------------------------------------------------------------

SELECT is(pg_temp.create(jsonb_build_array(pg_temp.job('606021'), pg_temp.job('606022'), pg_temp.job('606023'))) -> 'job_ids',
          '["606021", "606022", "606023"]'::jsonb, 'a batch of three returns the ids in order');
SELECT is((SELECT array_agg((job_id, chain_status, link_job_id)::text ORDER BY job_id) FROM tgx.jobs
            WHERE job_id BETWEEN 606021 AND 606023),
          ARRAY['(606021,0,606022)', '(606022,1,606023)', '(606023,1,)'],
          'linked: the first has chain_status 0, the others 1; each links to the next');
SELECT is((SELECT (user_points, total_jobs)::text FROM tgx.users
            WHERE user_address = '0x606000000000000000000000000000000000abcd'),
          -- 20 (606001 custom) + 10 jobs x 10 + 30 for the batch (the original added 10 once per request)
          '(150,14)', 'user points are added per job, not once per request');

------------------------------------------------------------------------------
-- ownership and duplicates
------------------------------------------------------------------------------

SELECT is(pg_temp.fails($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606031')),
                                               '0x0000000000000000000000000000000000000bad')$$),
          '42501:user_address', 'another owner''s key: 42501 naming user_address');
SELECT lives_ok($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606032')),
                                        '0x606000000000000000000000000000000000abcd')$$,
                'the owner''s key creates its jobs');
SELECT is(pg_temp.fails($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606001')))$$),
          '23505:job_id', 'an existing job_id: 23505');
SELECT is(pg_temp.fails($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606033'), pg_temp.job('606033')))$$),
          '22023:job_id', 'a job_id twice in one request');
SELECT is(pg_temp.fails($$SELECT pg_temp.create(jsonb_build_array(pg_temp.job('606034'),
              pg_temp.job('606035', '{"user_address": "0x0000000000000000000000000000000000000bad"}')))$$),
          '22023:user_address', 'two users in one request');

------------------------------------------------------------------------------
-- refusals, each naming its field
------------------------------------------------------------------------------

SELECT is(pg_temp.refuse('{"user_address": "0x123"}'), '22023:user_address', 'bad user_address');
SELECT is(pg_temp.refuse('{"target_contract_address": "0xZZ5FbDB2315678afecb367f032d93F642f64180a"}'),
          '22023:target_contract_address', 'bad target_contract_address');
SELECT is(pg_temp.refuse('{"timezone": "Mars/Olympus"}'), '22023:timezone', 'unknown zone');
SELECT is(pg_temp.refuse('{"schedule_type": "cron", "cron_expression": "61 * * * *", "time_interval": null}'),
          '22023:cron_expression', 'bad cron');
SELECT is(pg_temp.refuse('{"schedule_type": "cron", "cron_expression": "0 0 31 2 *", "time_interval": null}'),
          '22023:cron_expression', 'a cron that never fires');
SELECT is(pg_temp.refuse('{"time_interval": 7200}'), '22023:time_interval', 'interval > time_frame');
SELECT is(pg_temp.refuse('{"schedule_type": "weekly"}'), '22023:schedule_type', 'unknown schedule_type');
SELECT is(pg_temp.refuse('{"schedule_type": "specific", "specific_schedule": "soon", "time_interval": null}'),
          '22023:specific_schedule', 'bad specific_schedule');
SELECT is(pg_temp.refuse('{"abi": "[{not json"}'), '22023:abi', 'ABI that is not JSON');
SELECT is(pg_temp.refuse('{"abi": "{\"type\": \"function\"}"}'), '22023:abi', 'ABI that is not an array');
SELECT is(pg_temp.refuse('{"target_function": "decrement"}'), '22023:target_function', 'function not in the ABI');
SELECT is(pg_temp.refuse('{"target_function": "increment(address)"}'), '22023:target_function',
          'a signature the ABI does not have');
SELECT is(pg_temp.refuse('{"arguments": ["1", "2"]}'), '22023:arguments', 'wrong argument count');
SELECT is(pg_temp.refuse('{"arguments": [{"x": 1}]}'), '22023:arguments', 'an object among the arguments');
SELECT is(pg_temp.refuse('{"task_definition_id": 9}'), '22023:task_definition_id', 'task_definition_id 9');
SELECT is(pg_temp.refuse('{"time_frame": 0}'), '22023:time_frame', 'time_frame 0');
SELECT is(pg_temp.refuse('{"time_frame": 1.5}'), '22023:time_frame', 'time_frame not whole');
SELECT is(pg_temp.refuse('{"ether_balance": -1}'), '22023:ether_balance', 'negative balance');
SELECT is(pg_temp.refuse('{"ether_balance": 115792089237316195423570985008687907853269984665640564039457584007913129639936}'),
          '22023:ether_balance', 'balance of 2^256');
SELECT is(pg_temp.refuse('{"job_id": "12ab"}', '12ab'), '22023:job_id', 'job_id not decimal');
SELECT is(pg_temp.refuse('{"job_title": "ab"}'), '22023:job_title', 'job_title too short');
SELECT is(pg_temp.refuse('{"created_chain_id": "mainnet"}'), '22023:created_chain_id', 'created_chain_id not numeric');
SELECT is(pg_temp.refuse('{"is_safe": true, "safe_address": ""}'), '22023:safe_address',
          'is_safe without safe_address');
SELECT is(pg_temp.refuse('{"task_definition_id": 3, "trigger_contract_address": "0x000000000000000000000000000000000000beef", "trigger_event": "Transfer"}'),
          '22023:trigger_event', 'an event name without its signature');
SELECT is(pg_temp.refuse('{"task_definition_id": 5, "condition_type": "sideways", "value_source_type": "api", "value_source_url": "x"}'),
          '22023:condition_type', 'unknown condition_type');
SELECT is(pg_temp.refuse('{"task_definition_id": 5, "condition_type": "between", "lower_limit": 5, "upper_limit": 1, "value_source_type": "api", "value_source_url": "x"}'),
          '22023:lower_limit', 'between with lower > upper');
SELECT is(pg_temp.refuse('{"task_definition_id": 2, "arguments": null}'), '22023:dynamic_arguments_script_url',
          'a dynamic job without a script URL');
SELECT is(pg_temp.refuse('{"task_definition_id": 7, "arg_type": 2, "language": "cobol", "dynamic_arguments_script_url": "ipfs://x"}'),
          '22023:language', 'a custom script in an unknown language');
SELECT is(pg_temp.refuse('{"recurring": "yes"}'), '22023:recurring', 'recurring not a boolean');
SELECT is(pg_temp.fails($$SELECT tgx.create_jobs(NULL, '[]', NULL, '2030-01-01')$$), '22023:', 'an empty batch');
SELECT is(pg_temp.fails($$SELECT tgx.create_jobs(NULL, '{"job_id": "1"}', NULL, '2030-01-01')$$), '22023:',
          'a bare object instead of an array');

-- a bad second job of a batch leaves nothing: not the first job, not the user
SELECT is(pg_temp.fails(format('SELECT tgx.create_jobs(NULL, %L::jsonb, NULL, %L)',
              jsonb_build_array(pg_temp.job('606041', '{"user_address": "0x6060000000000000000000000000000000000041"}'),
                                pg_temp.job('606042', '{"user_address": "0x6060000000000000000000000000000000000041", "timezone": "Nowhere/Land"}')),
              pg_temp.now())), '22023:timezone', 'the second job of a batch is bad');
SELECT is((SELECT count(*) FROM tgx.jobs WHERE job_id IN (606041, 606042))
          + (SELECT count(*) FROM tgx.users WHERE user_address = '0x6060000000000000000000000000000000000041'),
          0::bigint, 'nothing of the refused batch was stored');

SELECT * FROM finish();
ROLLBACK;
