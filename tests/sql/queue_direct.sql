-- queue_direct.sql: a result nobody can attest goes from running to succeeded in one statement of
-- tgx._task_accept (setting attesters = 0 while peers are online, or no peer online) and leaves
-- the task, its attempt, and (once tgx.settle_tasks() has applied the accounting queued in
-- tgx.task_settlements) the job, the user, the keeper and its load exactly as the two steps did
-- (running -> attesting, then the verdict none_available): every field is checked against the
-- same task taken through attesting with attesters wanted but nobody to ask.  Batches that span
-- several jobs and users, and the linked follower of a head task.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(30);

SELECT pg_temp.keeper(1) AS p \gset
SELECT pg_temp.keeper(2) AS q \gset
UPDATE tgx.keepers SET rewards_booster = 3.0 WHERE keeper_id = :p;
SELECT pg_temp.job(1) AS j1 \gset
SELECT pg_temp.job(3, i_chain_status => 1) AS f \gset
SELECT pg_temp.job(2, i_link => 3) AS j2 \gset
UPDATE tgx.jobs SET consecutive_failures = 2 WHERE job_id IN (:j1, :j2);
-- a second user owns job 2 (a batch then spans two jobs and two users)
INSERT INTO tgx.users (user_address) VALUES ('0x303' || repeat('1', 37));
UPDATE tgx.jobs SET user_id = (SELECT user_id FROM tgx.users WHERE user_address = '0x303' || repeat('1', 37))
 WHERE job_id = :j2;

-- the attesters setting is 0, and a peer (q) is online: nobody is asked
UPDATE tgx.settings SET value = '0' WHERE name = 'attesters';
SELECT pg_temp.task(:j1, pg_temp.t(0)) AS a1 \gset
SELECT pg_temp.start(:a1, :p, pg_temp.t(1)) AS ea1 \gset
SELECT is(tgx.submit_result(:a1, :p, :ea1, '{"task_opx_cost": 0.5, "gas_used": "21000"}', pg_temp.t(3)),
          'succeeded', 'attesters = 0 with a peer online: the result is accepted at once');
SELECT is((state, is_accepted, is_successful, task_attester_ids, result->>'attestation', finished_at, attest_deadline,
           lease_until, task_performer_id, gas_used),
          ('succeeded'::tgx.task_state, true, true, '{}'::bigint[], 'none_available'::text, pg_temp.t(3),
           pg_temp.t(63), NULL::timestamptz, :p::bigint, 21000::numeric),
          'succeeded, none_available, performer and result fields set, attest_deadline as the two steps left it')
  FROM tgx.tasks WHERE task_id = :a1;
SELECT is((outcome, ended_at), ('result'::text, pg_temp.t(3)), 'the attempt ends with a result')
  FROM tgx.task_attempts WHERE task_id = :a1;
SELECT is((SELECT (attempt, keeper_id, enqueued_at) FROM tgx.task_settlements WHERE task_id = :a1),
          (1, :p::bigint, pg_temp.t(3)), 'its accounting waits in tgx.task_settlements');
SELECT is((job_cost_actual, consecutive_failures), (0::float8, 2), 'the job is not accounted yet')
  FROM tgx.jobs WHERE job_id = :j1;
SELECT is(tgx.settle_tasks(100, pg_temp.t(4)), 1, 'tgx.settle_tasks applies it');
SELECT is(tgx.settle_tasks(100, pg_temp.t(4)), 0, 'and only once: the queue is empty');
SELECT is((last_executed_at, job_cost_actual, consecutive_failures), (pg_temp.t(3), 0.5::float8, 0),
          'job: last execution (the acceptance, without an execution_timestamp), cost, failure streak reset')
  FROM tgx.jobs WHERE job_id = :j1;
SELECT is((keeper_points, no_executed_tasks), (1.5::float8, 1::bigint), 'performer: rewards_booster x cost, one task')
  FROM tgx.keepers WHERE keeper_id = :p;
SELECT is(active, 0, 'the keeper''s load is back to 0') FROM tgx.keeper_load WHERE keeper_id = :p;
SELECT is((ok, failed, agree, disagree), (1::float8, 0::float8, 0::float8, 0::float8),
          'keeper_stats: one good result, no vote counted')
  FROM tgx.keeper_stats WHERE keeper_id = :p AND task_definition_id = 1;

-- the same task through attesting: attesters wanted and a peer online, but it serves another chain,
-- so tgx._attest_fill asks nobody and tgx._attest_tally decides none_available
UPDATE tgx.settings SET value = '3' WHERE name = 'attesters';
UPDATE tgx.keepers SET chain_ids = '{2}' WHERE keeper_id = :q;
SELECT pg_temp.task(:j1, pg_temp.t(0)) AS a2 \gset
SELECT pg_temp.start(:a2, :p, pg_temp.t(1)) AS ea2 \gset
SELECT is(tgx.submit_result(:a2, :p, :ea2, '{"task_opx_cost": 0.5, "gas_used": "21000"}', pg_temp.t(3)),
          'succeeded', 'no peer of the chain to ask: accepted through attesting');
SELECT is((SELECT (state, is_accepted, is_successful, task_attester_ids, result, finished_at, attest_deadline,
                   lease_until, task_performer_id, gas_used, task_opx_cost, updated_at)::text
             FROM tgx.tasks WHERE task_id = :a2),
          (SELECT (state, is_accepted, is_successful, task_attester_ids, result, finished_at, attest_deadline,
                   lease_until, task_performer_id, gas_used, task_opx_cost, updated_at)::text
             FROM tgx.tasks WHERE task_id = :a1),
          'both ways leave the same task');
UPDATE tgx.keepers SET chain_ids = '{}' WHERE keeper_id = :q;

-- a batch over two jobs of two users, one of them the head of a linked follower
UPDATE tgx.settings SET value = '0' WHERE name = 'attesters';
SELECT pg_temp.task(:j1, pg_temp.t(10)) AS b1 \gset
SELECT pg_temp.start(:b1, :p, pg_temp.t(11)) AS eb1 \gset
SELECT pg_temp.task(:j2, pg_temp.t(10)) AS b2 \gset
SELECT pg_temp.start(:b2, :p, pg_temp.t(11)) AS eb2 \gset
SELECT is(tgx.submit_results(:p, format('[{"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 1}},
                                          {"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 2}}]',
                                         :b1, :eb1, :b2, :eb2)::jsonb, pg_temp.t(12)),
          2, 'a batch of two results is applied');
SELECT is(array_agg(state ORDER BY task_id), '{succeeded,succeeded}'::tgx.task_state[], 'both succeeded at once')
  FROM tgx.tasks WHERE task_id IN (:b1, :b2);
SELECT is(tgx.settle_tasks(1, pg_temp.t(13)) + tgx.settle_tasks(100, pg_temp.t(13)), 2,
          'settled a batch at a time: one, then the other');
SELECT is(array_agg((job_cost_actual, consecutive_failures)::text ORDER BY job_id),
          ARRAY['(2,0)', '(2,0)'], 'each job gets its task''s cost (job 1: 0.5 + 0.5 + 1), failure streaks reset')
  FROM tgx.jobs WHERE job_id IN (:j1, :j2);
SELECT is(array_agg((total_tasks, user_points)::text ORDER BY u.user_address),
          ARRAY['(3,2)', '(1,2)'], 'each user counts its tasks and points')
  FROM tgx.users u WHERE u.user_address IN ('0x303' || repeat('0', 37), '0x303' || repeat('1', 37));
SELECT is((keeper_points, no_executed_tasks), (12.0::float8, 4::bigint), 'performer: 3 x (0.5 + 0.5 + 1 + 2), four tasks')
  FROM tgx.keepers WHERE keeper_id = :p;
SELECT is((SELECT count(*) FROM tgx.tasks WHERE job_id = :f AND state = 'pending'
              AND trigger_data->>'linked_from_task_id' = :b2::text), 1::bigint,
          'the linked follower of the head job gets its task');
SELECT is(active, 0, 'the keeper''s load is back to 0 after the batch') FROM tgx.keeper_load WHERE keeper_id = :p;

-- a failure counted against a job settles the job's waiting results first, in their order:
-- success (waiting), then dead -> one failure in a row, not the success's reset after it
SELECT pg_temp.task(:j1, pg_temp.t(20)) AS c1 \gset
SELECT pg_temp.start(:c1, :p, pg_temp.t(21)) AS ec1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(20)) AS c2 \gset
SELECT pg_temp.start(:c2, :p, pg_temp.t(21)) AS ec2 \gset
SELECT is(tgx.submit_result(:c1, :p, :ec1, '{"task_opx_cost": 1}', pg_temp.t(22)), 'succeeded', 'a success waits for settling');
SELECT is(tgx.fail_task(:c2, :p, :ec2, 'reverted', true, pg_temp.t(23)), 'dead', 'then a task of the same job dies');
SELECT is((job_cost_actual, consecutive_failures), (3::float8, 1),
          'the success was settled before the failure was counted: cost 2 + 1, one failure in a row')
  FROM tgx.jobs WHERE job_id = :j1;
SELECT is((SELECT count(*) FROM tgx.task_settlements WHERE task_id = :c1), 0::bigint,
          'its settlement is gone: tgx.settle_tasks will not count it again');
SELECT throws_ok('SELECT tgx.settle_tasks(0)', '22023', 'invalid batch 0', 'a batch out of range is refused');

-- one settling batch over two tasks of one job, a second job of the same user and a job of
-- another user: every job and every user gets the sum of its own tasks
SELECT pg_temp.job(4) AS j4 \gset
SELECT pg_temp.task(:j1, pg_temp.t(30)) AS d1 \gset
SELECT pg_temp.start(:d1, :p, pg_temp.t(31)) AS ed1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(30)) AS d2 \gset
SELECT pg_temp.start(:d2, :p, pg_temp.t(31)) AS ed2 \gset
SELECT pg_temp.task(:j4, pg_temp.t(30)) AS d3 \gset
SELECT pg_temp.start(:d3, :p, pg_temp.t(31)) AS ed3 \gset
SELECT pg_temp.task(:j2, pg_temp.t(30)) AS d4 \gset
SELECT pg_temp.start(:d4, :p, pg_temp.t(31)) AS ed4 \gset
SELECT is(tgx.submit_results(:p, format('[{"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 1}},
                                          {"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 2}},
                                          {"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 4}},
                                          {"task_id": %s, "lease_epoch": %s, "result": {"task_opx_cost": 8}}]',
                                         :d1, :ed1, :d2, :ed2, :d3, :ed3, :d4, :ed4)::jsonb, pg_temp.t(32)),
          4, 'four results over three jobs and two users');
SELECT is(tgx.settle_tasks(100, pg_temp.t(33)), 4, 'settled in one batch');
SELECT is(array_agg((job_cost_actual, consecutive_failures)::text ORDER BY job_id),
          ARRAY['(6,0)', '(10,0)', '(4,0)'], 'jobs: 3 + 1 + 2, 2 + 8, 4; failure streaks reset')
  FROM tgx.jobs WHERE job_id IN (:j1, :j2, :j4);
SELECT is(array_agg((total_tasks, user_points)::text ORDER BY u.user_address),
          ARRAY['(7,10)', '(2,10)'], 'users: 4 + 3 tasks and 3 + 7 points; 1 + 1 tasks and 2 + 8 points')
  FROM tgx.users u WHERE u.user_address IN ('0x303' || repeat('0', 37), '0x303' || repeat('1', 37));

SELECT * FROM finish();
ROLLBACK;
