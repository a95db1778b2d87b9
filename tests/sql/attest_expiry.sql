-- attest_expiry.sql: tgx.expire_attestations: attestations past their deadline are replaced by
-- keepers not asked yet; when nobody is left the task is decided on the votes that arrived
-- (agree * 3 >= 2M of the M answers; nobody answered: accepted, empty attester list).
BEGIN;
\ir queue_fixtures.psql
SELECT plan(33);

SELECT pg_temp.keeper(1) AS p \gset
SELECT pg_temp.keeper(2) AS a1 \gset
SELECT pg_temp.keeper(3) AS a2 \gset
SELECT pg_temp.keeper(4) AS a3 \gset
SELECT pg_temp.keeper(5) AS a4 \gset
SELECT pg_temp.job(1) AS j \gset
SELECT throws_ok($$SELECT tgx.expire_attestations(0)$$, '22023', 'invalid batch 0', 'a batch below 1 is refused');

-- task 1: four peers, three asked; two stay silent, one of them is replaced by the fourth peer
SELECT pg_temp.task(:j, pg_temp.t(0)) AS t1 \gset
SELECT pg_temp.start(:t1, :p, pg_temp.t(1)) AS e1 \gset
SELECT is(tgx.submit_result(:t1, :p, :e1, '{}', pg_temp.t(10)), 'attesting', 'result at 10 s');
SELECT (pg_temp.attesters(:t1))[1] AS x, (pg_temp.attesters(:t1))[2] AS y, (pg_temp.attesters(:t1))[3] AS z,
       (SELECT k FROM unnest(ARRAY[:a1, :a2, :a3, :a4]::bigint[]) k WHERE k <> ALL (pg_temp.attesters(:t1))) AS w \gset
SELECT is(cardinality(pg_temp.attesters(:t1)), 3, 'three of the four peers are asked');
SELECT is(tgx.submit_attestation(:t1, :x, :e1, true, NULL, NULL, pg_temp.t(30)), 'attesting', 'one votes');
SELECT is(tgx.expire_attestations(100, pg_temp.t(69)), 0, 'before the deadline (60 s) nothing expires');
SELECT is(tgx.expire_attestations(100, pg_temp.t(70)), 1, 'at the deadline the task is handled');
SELECT is(pg_temp.attesters(:t1), ARRAY[least(:z, :w), greatest(:z, :w)]::bigint[],
          'one silent attester is replaced by the keeper not asked yet; the other stays (nobody is left)');
SELECT is((superseded, verdict), (true, NULL::boolean), 'the replaced attestation is superseded')
  FROM tgx.attestations WHERE task_id = :t1 AND keeper_id = :y;
SELECT is((requested_at, deadline), (pg_temp.t(70), pg_temp.t(130)), 'the new attester gets a fresh deadline')
  FROM tgx.attestations WHERE task_id = :t1 AND keeper_id = :w;
SELECT is((state, attest_deadline), ('attesting'::tgx.task_state, pg_temp.t(130)), 'the task waits for the new attester')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is(tgx.expire_attestations(100, pg_temp.t(71)), 0, 'handled tasks are not handled again before their next deadline');
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, true)', :t1, :y, :e1), '55000',
                 format('attestation of task %s by keeper %s is no longer open', :t1, :y),
                 'the replaced attester cannot vote any more');
SELECT is(tgx.submit_attestation(:t1, :z, :e1, true, NULL, NULL, pg_temp.t(80)), 'succeeded',
          'a late vote of an attester not replaced still counts: two of three agree');
SELECT is(task_attester_ids, ARRAY[:x, :z]::bigint[], 'the voters') FROM tgx.tasks WHERE task_id = :t1;

-- task 2: the replacement stays silent too: decided on what arrived (one agreeing vote of one)
SELECT pg_temp.task(:j, pg_temp.t(200)) AS t2 \gset
SELECT pg_temp.start(:t2, :p, pg_temp.t(201)) AS e2 \gset
SELECT is(tgx.submit_result(:t2, :p, :e2, '{}', pg_temp.t(202)), 'attesting', 'result at 202 s');
SELECT (pg_temp.attesters(:t2))[1] AS x2 \gset
SELECT is(tgx.submit_attestation(:t2, :x2, :e2, true, NULL, NULL, pg_temp.t(210)), 'attesting', 'one votes');
SELECT is(tgx.expire_attestations(100, pg_temp.t(262)), 1, 'deadline: the fourth peer replaces one silent attester');
SELECT is(tgx.expire_attestations(100, pg_temp.t(322)), 1, 'its deadline passes too, and nobody is left to ask');
SELECT is((state, task_attester_ids, result->>'attestation'),
          ('succeeded'::tgx.task_state, ARRAY[:x2]::bigint[], 'answered'::text),
          'decided on what arrived: 1 agreeing of M = 1 answer (1 * 3 >= 2 * 1) -> succeeded')
  FROM tgx.tasks WHERE task_id = :t2;
SELECT is(count(*), 0::bigint, 'no attestation of the decided task is left open')
  FROM tgx.attestations WHERE task_id = :t2 AND verdict IS NULL AND NOT superseded;
SELECT is(tgx.expire_attestations(100, pg_temp.t(400)), 0, 'nothing left to expire');

-- from here on only three peers: nobody can replace anybody
UPDATE tgx.keepers SET draining = true WHERE keeper_id = :a4;

-- task 3: one disagreeing answer of M = 1 -> rejected
SELECT pg_temp.task(:j, pg_temp.t(500)) AS t3 \gset
SELECT pg_temp.start(:t3, :p, pg_temp.t(501)) AS e3 \gset
SELECT is(tgx.submit_result(:t3, :p, :e3, '{}', pg_temp.t(502)), 'attesting', 'result at 502 s');
SELECT is(tgx.submit_attestation(:t3, :a1, :e3, false, NULL, NULL, pg_temp.t(503)), 'attesting',
          'one of three disagrees: not more than N/3');
SELECT is(tgx.expire_attestations(100, pg_temp.t(562)), 1, 'the others never answer');
SELECT is((state, task_attester_ids, result->>'attestation'), ('rejected'::tgx.task_state, ARRAY[:a1]::bigint[], 'answered'::text),
          'decided on what arrived: 0 agreeing of M = 1 -> rejected')
  FROM tgx.tasks WHERE task_id = :t3;

-- task 4: nobody answers -> accepted with an empty attester list
SELECT pg_temp.task(:j, pg_temp.t(600)) AS t4 \gset
SELECT pg_temp.start(:t4, :p, pg_temp.t(601)) AS e4 \gset
SELECT is(tgx.submit_result(:t4, :p, :e4, '{"task_opx_cost": 1}', pg_temp.t(602)), 'attesting', 'result at 602 s');
SELECT sum(no_attested_tasks) AS attested_before FROM tgx.keepers \gset
SELECT is(tgx.expire_attestations(100, pg_temp.t(662)), 1, 'nobody answers');
SELECT is((state, task_attester_ids, result->>'attestation'), ('succeeded'::tgx.task_state, '{}'::bigint[], 'none_answered'::text),
          'nobody answered (M = 0): accepted like the no-peer case, saying so')
  FROM tgx.tasks WHERE task_id = :t4;
SELECT is(sum(no_attested_tasks), :attested_before::numeric, 'silent attesters are not credited')
  FROM tgx.keepers;

-- task 5: one agrees, one disagrees, one is silent: M = 2, 1 * 3 < 2 * 2 -> rejected
SELECT pg_temp.task(:j, pg_temp.t(700)) AS t5 \gset
SELECT pg_temp.start(:t5, :p, pg_temp.t(701)) AS e5 \gset
SELECT is(tgx.submit_result(:t5, :p, :e5, '{}', pg_temp.t(702)), 'attesting', 'result at 702 s');
SELECT tgx.submit_attestation(:t5, :a1, :e5, true, NULL, NULL, pg_temp.t(703));
SELECT is(tgx.submit_attestation(:t5, :a2, :e5, false, NULL, NULL, pg_temp.t(704)), 'attesting', 'one for, one against');
SELECT is(tgx.expire_attestations(100, pg_temp.t(762)), 1, 'the third never answers');
SELECT is((state, result->>'attestation'), ('rejected'::tgx.task_state, 'answered'::text),
          'decided on what arrived: 1 agreeing of M = 2 is less than two thirds -> rejected')
  FROM tgx.tasks WHERE task_id = :t5;

SELECT * FROM finish();
ROLLBACK;
