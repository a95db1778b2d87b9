-- queue_results.sql: tgx.keeper_take, tgx.submit_result, tgx.submit_results: only the assigned
-- keeper takes; the fencing rule; result fields; no peer -> succeeded at once; accounting
-- (points, costs, counters); linked follower task on head success; batches; attesters chosen.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(43);

SELECT pg_temp.keeper(1) AS p \gset
UPDATE tgx.keepers SET rewards_booster = 2.0 WHERE keeper_id = :p;
SELECT pg_temp.keeper(2, i_whitelisted => false) AS q \gset
SELECT pg_temp.job(2, i_chain_status => 1, i_definition => 2) AS f \gset
SELECT pg_temp.job(1, i_link => 2) AS h \gset
UPDATE tgx.jobs SET consecutive_failures = 2 WHERE job_id = :h;
SELECT pg_temp.task(:h, pg_temp.t(0)) AS t1 \gset

-- take
SELECT throws_ok($$SELECT * FROM tgx.keeper_take(-1)$$, 'P0002', 'keeper -1 does not exist', 'unknown keeper');
SELECT throws_ok(format('SELECT * FROM tgx.keeper_take(%s, 0)', :p), '22023', 'invalid limit 0', 'limit below 1');
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(1)), 1, 'the task is assigned to p');
SELECT is(count(*), 0::bigint, 'another keeper cannot take it') FROM tgx.keeper_take(:q, 10, pg_temp.t(2));
SELECT results_eq(
    format('SELECT task_id, job_id, keeper_id, lease_epoch, lease_until, attempt, task_definition_id, target_chain_id,
                   target_function, arguments, scheduled_for FROM tgx.keeper_take(%s, 10, %L)', :p, pg_temp.t(2)),
    format($$VALUES (%s::bigint, %s::numeric, %s::bigint, 1::bigint, %L::timestamptz, 1, 1::smallint, '1'::text,
                     'ping()'::text, '{}'::text[], %L::timestamptz)$$, :t1, :h, :p, pg_temp.t(302), pg_temp.t(0)),
    'the assigned keeper takes it: a lease of 5 minutes under epoch 1, with what to execute');
SELECT is((state, started_at, lease_until), ('running'::tgx.task_state, pg_temp.t(2), pg_temp.t(302)), 'the task runs')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is(started_at, pg_temp.t(2), 'the attempt row has started') FROM tgx.task_attempts WHERE task_id = :t1 AND attempt = 1;
SELECT is(count(*), 0::bigint, 'a second take gets nothing') FROM tgx.keeper_take(:p, 10, pg_temp.t(2));

-- refusals
SELECT throws_ok(format('SELECT tgx.submit_result(-1, %s, 1, %L)', :p, '{}'), 'P0002', 'task -1 does not exist',
                 'result for an unknown task');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, -1, 1, %L)', :t1, '{}'), 'P0002', 'keeper -1 does not exist',
                 'result from an unknown keeper');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 2, %L)', :t1, :p, '{}'), '55000',
                 format('stale lease epoch 2 for task %s', :t1), 'a result under another epoch is refused');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 1, %L)', :t1, :q, '{}'), '55000',
                 format('stale lease epoch 1 for task %s', :t1), 'a result from a keeper not holding the task is refused');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 1, %L)', :t1, :p, '{"execution_tx_hash": "0x12"}'), '22023',
                 format('invalid result for task %s: result.execution_tx_hash must be 0x followed by 64 hex digits', :t1),
                 'a malformed tx hash is refused');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 1, %L)', :t1, :p, '{"execution_timestamp": "yesterday-ish"}'),
                 '22023', 'invalid result: result.execution_timestamp is not a valid timestamp',
                 'a malformed timestamp is refused');
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 1, %L)', :t1, :p, '{"task_opx_cost": -1}'), '22023',
                 format('invalid result for task %s: result.task_opx_cost must be a non-negative number', :t1),
                 'a negative cost is refused');
SELECT is(state, 'running', 'refused results change nothing') FROM tgx.tasks WHERE task_id = :t1;

-- the result, no peer online: accepted at once
SELECT is(tgx.submit_result(:t1, :p, 1,
              jsonb_build_object('execution_tx_hash', '0x' || repeat('AB', 32), 'execution_timestamp', 1900000000,
                                 'gas_used', '21000', 'task_opx_cost', 0.5, 'converted_arguments', '["1", "abc"]'::jsonb,
                                 'output', 'fine'),
              pg_temp.t(3)),
          'succeeded', 'with no peer to attest the result is accepted at once');
SELECT is((state, is_accepted, is_successful, task_attester_ids, result->>'attestation', result->>'output', finished_at,
           task_performer_id),
          ('succeeded'::tgx.task_state, true, true, '{}'::bigint[], 'none_available'::text, 'fine'::text, pg_temp.t(3), :p::bigint),
          'succeeded with an empty attester list, saying so in the result')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is((execution_tx_hash::text, execution_timestamp, gas_used, task_opx_cost, converted_arguments),
          ('0x' || repeat('ab', 32), to_timestamp(1900000000), 21000::numeric, 0.5::float8, '{1,abc}'::text[]),
          'the result fields are copied into the task')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is((outcome, ended_at), ('result'::text, pg_temp.t(3)), 'the attempt ends with a result')
  FROM tgx.task_attempts WHERE task_id = :t1 AND attempt = 1;
SELECT is(tgx.settle_tasks(100, pg_temp.t(3)), 1, 'its accounting is settled (tgx.settle_tasks)');
SELECT is((last_executed_at, job_cost_actual, consecutive_failures), (to_timestamp(1900000000), 0.5::float8, 0),
          'job: last execution, cost, failure streak reset')
  FROM tgx.jobs WHERE job_id = :h;
SELECT is((total_tasks, user_points), (1::bigint, 0.5::float8), 'user: one more task, cost as points')
  FROM tgx.users u JOIN tgx.jobs j ON j.user_id = u.user_id WHERE j.job_id = :h;
SELECT is((keeper_points, no_executed_tasks), (1.0::float8, 1::bigint), 'performer: rewards_booster x cost, one executed task')
  FROM tgx.keepers WHERE keeper_id = :p;
SELECT is(ok, 1::float8, 'performer statistics: one good outcome') FROM tgx.keeper_stats
 WHERE keeper_id = :p AND task_definition_id = 1;
SELECT throws_ok(format('SELECT tgx.submit_result(%s, %s, 1, %L, %L)', :t1, :p, '{}', pg_temp.t(4)), '55000',
                 format('stale lease epoch 1 for task %s', :t1), 'the task completes exactly once');

-- the linked follower
SELECT is((state, due_at, task_definition_id, trigger_data->>'linked_from_task_id'),
          ('pending'::tgx.task_state, pg_temp.t(3), 2::smallint, :t1::text),
          'the head''s success creates a pending task of the follower, due now')
  FROM tgx.tasks WHERE job_id = :f;
SELECT pg_temp.job(4, i_chain_status => 1) AS f2 \gset
UPDATE tgx.jobs SET status = 'paused' WHERE job_id = :f2;
SELECT pg_temp.job(3, i_link => 4) AS h2 \gset
SELECT pg_temp.task(:h2, pg_temp.t(10)) AS t2 \gset
SELECT pg_temp.start(:t2, :p, pg_temp.t(11)) AS e2 \gset
SELECT is(tgx.submit_result(:t2, :p, :e2, '{}', pg_temp.t(12)), 'succeeded', 'a head whose follower is paused succeeds');
SELECT is(tgx.settle_tasks(100, pg_temp.t(12)), 1, 'and is settled');
SELECT is(count(*), 0::bigint, 'a paused follower gets no task') FROM tgx.tasks WHERE job_id = :f2;

-- batches
SELECT pg_temp.job(5) AS j5 \gset
SELECT pg_temp.task(:j5, pg_temp.t(20)) AS b1 \gset
SELECT pg_temp.task(:j5, pg_temp.t(20)) AS b2 \gset
SELECT pg_temp.task(:j5, pg_temp.t(20)) AS b3 \gset
UPDATE tgx.tasks SET state = 'cancelled', finished_at = pg_temp.t(20) WHERE job_id = :f;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(21)), 3, 'three tasks for p');
SELECT is(count(*), 3::bigint, 'p takes all three') FROM tgx.keeper_take(:p, 10, pg_temp.t(22));
SELECT throws_ok(format('SELECT tgx.submit_results(%s, %L)', :p, '{"task_id": 1}'), '22023', 'results must be a JSON array',
                 'results must be an array');
SELECT throws_ok(format('SELECT tgx.submit_results(%s, %L)', :p, jsonb_build_array(jsonb_build_object('task_id', :b1))),
                 '22023', format('invalid result for task %s: lease_epoch must be an integer', :b1),
                 'an entry without lease_epoch is refused');
SELECT is(tgx.submit_results(:p, '[]', pg_temp.t(23)), 0, 'an empty batch applies nothing');
SELECT is(tgx.submit_results(:p, jsonb_build_array(
              jsonb_build_object('task_id', :b1, 'lease_epoch', 1, 'result', jsonb_build_object('task_opx_cost', 0.25)),
              jsonb_build_object('task_id', :b2, 'lease_epoch', 7, 'result', '{}'::jsonb),
              jsonb_build_object('task_id', :b3, 'lease_epoch', 1),
              jsonb_build_object('task_id', :b1, 'lease_epoch', 1, 'result', '{}'::jsonb)), pg_temp.t(24)),
          2, 'a batch applies the entries under the right lease and skips the stale one and the duplicate');
SELECT results_eq(format('SELECT state, task_opx_cost FROM tgx.tasks WHERE task_id IN (%s, %s, %s) ORDER BY task_id', :b1, :b2, :b3),
                  $$VALUES ('succeeded'::tgx.task_state, 0.25::float8), ('running', 0), ('succeeded', 0)$$,
                  'the stale entry''s task is still running; the first of two entries counts');
SELECT is(tgx.settle_tasks(100, pg_temp.t(24)), 2, 'the batch''s two results are settled');
SELECT is((keeper_points, no_executed_tasks), (1.5::float8, 4::bigint), 'performer points add up over the batch')
  FROM tgx.keepers WHERE keeper_id = :p;

-- with peers: attesters are chosen
SELECT pg_temp.keeper(11) AS a1 \gset
SELECT pg_temp.keeper(12) AS a2 \gset
SELECT pg_temp.keeper(13) AS a3 \gset
SELECT pg_temp.keeper(14, i_chains => '{99}') AS other_chain \gset
SELECT is(tgx.submit_result(:b2, :p, 1, '{}', pg_temp.t(25)), 'attesting', 'with peers online the result waits for attesters');
SELECT is(pg_temp.attesters(:b2), ARRAY[:a1, :a2, :a3]::bigint[],
          'three attesters: online, whitelisted peers serving the chain, not the performer');
SELECT is((state, attest_deadline, task_performer_id, finished_at), ('attesting'::tgx.task_state, pg_temp.t(85), :p::bigint, NULL::timestamptz),
          'attesting until the attestation deadline (60 s)')
  FROM tgx.tasks WHERE task_id = :b2;
SELECT is(tgx.next_queue_deadline(pg_temp.t(26)), pg_temp.t(85), 'next deadline: the attestation deadline');

SELECT * FROM finish();
ROLLBACK;
