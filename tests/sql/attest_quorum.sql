-- attest_quorum.sql: tgx.submit_attestation: who may vote, once; the quorum both ways with N = 3
-- (2 agree -> succeeded, 2 disagree -> rejected); attester ids; points of performer and attesters.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(33);

SELECT pg_temp.keeper(1) AS p \gset
SELECT pg_temp.keeper(2) AS a1 \gset
SELECT pg_temp.keeper(3) AS a2 \gset
SELECT pg_temp.keeper(4) AS a3 \gset
UPDATE tgx.keepers SET rewards_booster = 1.5 WHERE keeper_id = :a1;
SELECT pg_temp.job(1) AS j \gset

-- task 1: two agree -> succeeded
SELECT pg_temp.task(:j, pg_temp.t(0)) AS t1 \gset
SELECT pg_temp.start(:t1, :p, pg_temp.t(1)) AS e1 \gset
SELECT is(tgx.submit_result(:t1, :p, :e1, '{"task_opx_cost": 2}', pg_temp.t(2)), 'attesting', 'the result waits for attesters');
SELECT is(pg_temp.attesters(:t1), ARRAY[:a1, :a2, :a3]::bigint[], 'the three peers are asked');
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, NULL)', :t1, :a1, :e1), '22023', 'verdict must not be null',
                 'a vote needs a verdict');
SELECT throws_ok(format('SELECT tgx.submit_attestation(-1, %s, %s, true)', :a1, :e1), 'P0002', 'task -1 does not exist',
                 'vote on an unknown task');
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, true)', :t1, :p, :e1), '55000',
                 format('keeper %s is not an attester of task %s', :p, :t1), 'the performer cannot vote');
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, true)', :t1, :a1, :e1 + 1), '55000',
                 format('stale lease epoch %s for task %s', :e1 + 1, :t1), 'a vote under another epoch is refused');
SELECT is(tgx.submit_attestation(:t1, :a1, :e1, true, '\x01'::bytea, NULL, pg_temp.t(3)), 'attesting', 'one vote of three is not enough');
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, false)', :t1, :a1, :e1), '55000',
                 format('keeper %s already attested task %s', :a1, :t1), 'an attester votes once');
SELECT is(tgx.submit_attestation(:t1, :a2, :e1, true, NULL, NULL, pg_temp.t(4)), 'succeeded', 'two of three agree: succeeded');
SELECT is((state, is_accepted, task_attester_ids, result->>'attestation', finished_at),
          ('succeeded'::tgx.task_state, true, ARRAY[:a1, :a2]::bigint[], 'quorum'::text, pg_temp.t(4)),
          'the attester ids are the keepers who voted')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is((verdict, signature, attested_at), (true, '\x01'::bytea, pg_temp.t(3)), 'the vote and its signature are kept')
  FROM tgx.attestations WHERE task_id = :t1 AND keeper_id = :a1;
SELECT is(superseded, true, 'the unanswered attestation is closed') FROM tgx.attestations WHERE task_id = :t1 AND keeper_id = :a3;
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, true)', :t1, :a3, :e1), '55000',
                 format('attestation of task %s by keeper %s is no longer open', :t1, :a3), 'a vote after the verdict is refused');
SELECT results_eq(format('SELECT keeper_id, keeper_points, no_executed_tasks, no_attested_tasks FROM tgx.keepers
                           WHERE keeper_id IN (%s, %s, %s, %s) ORDER BY keeper_id', :p, :a1, :a2, :a3),
                  format($$VALUES (%s::bigint, 2::float8, 1::bigint, 0::bigint), (%s, 3, 0, 1), (%s, 2, 0, 1), (%s, 0, 0, 0)$$,
                         :p, :a1, :a2, :a3),
                  'points: performer and voters get rewards_booster x cost, the silent attester nothing');
SELECT is((total_tasks, user_points), (1::bigint, 2::float8), 'the user is credited once')
  FROM tgx.users u JOIN tgx.jobs j ON j.user_id = u.user_id WHERE j.job_id = :j;
SELECT results_eq(format('SELECT keeper_id, agree, disagree FROM tgx.keeper_stats
                           WHERE keeper_id IN (%s, %s, %s) ORDER BY keeper_id', :p, :a1, :a2),
                  format('VALUES (%s::bigint, 1::float8, 0::float8), (%s, 1, 0), (%s, 1, 0)', :p, :a1, :a2),
                  'reputation: the performer and both voters agreed with the verdict');

-- task 2: two disagree -> rejected
SELECT pg_temp.task(:j, pg_temp.t(10)) AS t2 \gset
SELECT pg_temp.start(:t2, :p, pg_temp.t(11)) AS e2 \gset
SELECT is(tgx.submit_result(:t2, :p, :e2, '{"task_opx_cost": 2}', pg_temp.t(12)), 'attesting', 'second result');
SELECT is(tgx.submit_attestation(:t2, :a1, :e2, false, NULL, 'wrong tx', pg_temp.t(13)), 'attesting', 'one disagrees: not yet');
SELECT is(tgx.submit_attestation(:t2, :a3, :e2, false, NULL, 'wrong tx', pg_temp.t(14)), 'rejected', 'two of three disagree: rejected');
SELECT is((state, is_accepted, is_successful, task_attester_ids, result->>'attestation'),
          ('rejected'::tgx.task_state, false, false, ARRAY[:a1, :a3]::bigint[], 'quorum'::text), 'rejected by the quorum')
  FROM tgx.tasks WHERE task_id = :t2;
SELECT is(reason, 'wrong tx', 'the reason is kept') FROM tgx.attestations WHERE task_id = :t2 AND keeper_id = :a1;
SELECT is((keeper_points, no_executed_tasks), (1.8::float8, 2::bigint), 'the performer loses 0.1 x rewards_booster x cost')
  FROM tgx.keepers WHERE keeper_id = :p;
SELECT results_eq(format('SELECT keeper_id, keeper_points, no_attested_tasks FROM tgx.keepers
                           WHERE keeper_id IN (%s, %s) ORDER BY keeper_id', :a1, :a3),
                  format('VALUES (%s::bigint, 6::float8, 2::bigint), (%s, 2, 1)', :a1, :a3),
                  'the voters of a rejection are rewarded too');
SELECT is((total_tasks, job_cost_actual), (1::bigint, 2::float8), 'a rejected task is not credited to the user or the job')
  FROM tgx.users u JOIN tgx.jobs j ON j.user_id = u.user_id WHERE j.job_id = :j;
SELECT is(disagree, 1::float8, 'reputation: the performer''s result was contradicted')
  FROM tgx.keeper_stats WHERE keeper_id = :p AND task_definition_id = 1;

-- task 3: split vote, the third decides
SELECT pg_temp.task(:j, pg_temp.t(20)) AS t3 \gset
SELECT pg_temp.start(:t3, :p, pg_temp.t(21)) AS e3 \gset
SELECT is(tgx.submit_result(:t3, :p, :e3, '{}', pg_temp.t(22)), 'attesting', 'third result');
SELECT is(tgx.submit_attestation(:t3, :a1, :e3, true, NULL, NULL, pg_temp.t(23)), 'attesting', 'one agrees');
SELECT is(tgx.submit_attestation(:t3, :a2, :e3, false, NULL, NULL, pg_temp.t(24)), 'attesting', 'one disagrees: undecided');
SELECT is(tgx.submit_attestation(:t3, :a3, :e3, true, NULL, NULL, pg_temp.t(25)), 'succeeded', 'the third agrees: succeeded');
SELECT is(disagree, 1::float8, 'reputation: the outvoted attester disagreed with the verdict')
  FROM tgx.keeper_stats WHERE keeper_id = :a2 AND task_definition_id = 1;

-- N = 1: one attester decides alone
UPDATE tgx.settings SET value = '1' WHERE name = 'attesters';
SELECT pg_temp.task(:j, pg_temp.t(30)) AS t4 \gset
SELECT pg_temp.start(:t4, :p, pg_temp.t(31)) AS e4 \gset
SELECT is(tgx.submit_result(:t4, :p, :e4, '{}', pg_temp.t(32)), 'attesting', 'fourth result');
SELECT is(cardinality(pg_temp.attesters(:t4)), 1, 'setting attesters = 1: one attester');
SELECT is(tgx.submit_attestation(:t4, (pg_temp.attesters(:t4))[1], :e4, false, NULL, NULL, pg_temp.t(33)), 'rejected',
          'its disagreement is more than N/3');

SELECT * FROM finish();
ROLLBACK;
