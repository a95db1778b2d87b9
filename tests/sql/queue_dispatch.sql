-- queue_dispatch.sql: tgx.dispatch_tasks: only online, whitelisted, non-draining keepers serving
-- the chain get work; none -> tasks wait; assignment fields and attempt rows; ack timeout
-- returns a task to dispatch and it goes to another keeper; exclusions; capacity; scoring
-- (performance, specialization, load) and spreading; tgx.next_queue_deadline.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(46);

SELECT throws_ok($$SELECT tgx.dispatch_tasks(0)$$, '22023', 'invalid batch 0', 'a batch below 1 is refused');

SELECT pg_temp.job(1, '1') AS j1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(0)) AS p1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(0), 'scheduled') AS s1 \gset
SELECT pg_temp.task(:j1, pg_temp.t(10000), 'scheduled') AS f1 \gset
SELECT is(tgx.next_queue_deadline(pg_temp.t(0.5)), pg_temp.t(10000), 'next deadline: the next task to fall due');

-- nobody eligible: tasks wait
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(1)), 0, 'no keeper at all: nothing assigned');
SELECT pg_temp.keeper(1, i_whitelisted => false) AS n \gset
SELECT pg_temp.keeper(2, i_online => false) AS o \gset
SELECT pg_temp.keeper(3) AS dr \gset
UPDATE tgx.keepers SET draining = true WHERE keeper_id = :dr;
SELECT pg_temp.keeper(4, i_chains => '{2}') AS k2 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(1)), 0,
          'not whitelisted, offline, draining, or serving another chain: nothing assigned');
SELECT results_eq(format('SELECT state, keeper_id FROM tgx.tasks WHERE task_id IN (%s, %s) ORDER BY task_id', :p1, :s1),
                  $$VALUES ('pending'::tgx.task_state, NULL::bigint), ('scheduled', NULL)$$, 'the tasks wait');

-- an eligible keeper
SELECT pg_temp.keeper(5, i_chains => '{1}') AS g \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(1)), 2, 'a keeper serving the chain gets both due tasks');
SELECT is((state, keeper_id, lease_epoch, lease_until, attempt),
          ('assigned'::tgx.task_state, :g::bigint, 1::bigint, pg_temp.t(31), 1),
          'assigned: keeper, lease_epoch + 1, ack deadline now + 30 s, attempt + 1')
  FROM tgx.tasks WHERE task_id = :p1;
SELECT is(state, 'assigned', 'a due scheduled task is dispatched too') FROM tgx.tasks WHERE task_id = :s1;
SELECT is(state, 'scheduled', 'a task not yet due is left alone') FROM tgx.tasks WHERE task_id = :f1;
SELECT is((keeper_id, lease_epoch, assigned_at, started_at, outcome), (:g::bigint, 1::bigint, pg_temp.t(1), NULL::timestamptz, NULL::text),
          'an open attempt row records keeper, epoch and time')
  FROM tgx.task_attempts WHERE task_id = :p1 AND attempt = 1;
SELECT is(tgx.next_queue_deadline(pg_temp.t(2)), pg_temp.t(31), 'next deadline: the ack deadline');
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(2)), 0, 'assigned tasks are not dispatched twice');

-- no ack in time: back to dispatch, on another keeper
SELECT is(tgx.expire_leases(100, pg_temp.t(30.9)), 0, 'before the ack deadline nothing expires');
SELECT is(tgx.expire_leases(100, pg_temp.t(31)), 2, 'at the ack deadline both assignments expire');
SELECT is((state, keeper_id, lease_until, excluded_keepers, attempt, uncounted_attempts, due_at),
          ('pending'::tgx.task_state, NULL::bigint, NULL::timestamptz, ARRAY[:g]::bigint[], 1, 1, pg_temp.t(0)),
          'pending again at once with its due time, the keeper excluded, the attempt not counted')
  FROM tgx.tasks WHERE task_id = :p1;
SELECT is((outcome, ended_at), ('ack_timeout'::text, pg_temp.t(31)), 'the attempt ends with ack_timeout')
  FROM tgx.task_attempts WHERE task_id = :p1 AND attempt = 1;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(32)), 0, 'the only keeper of the chain is excluded: the tasks wait');
SELECT pg_temp.keeper(6, i_chains => '{1}') AS g2 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(32)), 2, 'with another keeper they are dispatched');
SELECT is((keeper_id, lease_epoch, attempt), (:g2::bigint, 2::bigint, 2), 'to the other keeper, under a new epoch')
  FROM tgx.tasks WHERE task_id = :p1;
SELECT is(count(*), 2::bigint, 'two attempt rows') FROM tgx.task_attempts WHERE task_id = :p1;
SELECT is(tgx.next_queue_deadline(pg_temp.t(33)), pg_temp.t(62), 'next deadline: the new ack deadline');

-- a task excluding every keeper of its chain waits
SELECT pg_temp.task(:j1, pg_temp.t(40)) AS w1 \gset
UPDATE tgx.tasks SET excluded_keepers = ARRAY[:g, :g2]::bigint[] WHERE task_id = :w1;
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(41)), 0, 'a task excluding every keeper of its chain is not assigned');
SELECT is((state, keeper_id), ('pending'::tgx.task_state, NULL::bigint), 'it waits') FROM tgx.tasks WHERE task_id = :w1;

-- capacity, and scheduled -> pending when claimed but not placed
SELECT pg_temp.keeper(7, i_capacity => 1, i_chains => '{5}') AS c5 \gset
SELECT pg_temp.job(5, '5') AS j5 \gset
SELECT pg_temp.task(:j5, pg_temp.t(50), 'scheduled') AS x1 \gset
SELECT pg_temp.task(:j5, pg_temp.t(50), 'scheduled') AS x2 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(51)), 1, 'a keeper of capacity 1 takes one task');
SELECT results_eq(format('SELECT state, keeper_id FROM tgx.tasks WHERE task_id IN (%s, %s) ORDER BY task_id', :x1, :x2),
                  format($$VALUES ('assigned'::tgx.task_state, %s::bigint), ('pending', NULL)$$, :c5),
                  'the older task is assigned; the other was due and is now pending');
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(52)), 0, 'a full keeper gets nothing more');
SELECT is(count(*), 1::bigint, 'capacity respected') FROM tgx.tasks WHERE keeper_id = :c5 AND state IN ('assigned', 'running');
SELECT is(count(*), 1::bigint, 'taking the task keeps it counted') FROM tgx.keeper_take(:c5, 5, pg_temp.t(53));
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(54)), 0, 'a running task still uses the capacity');
SELECT is(tgx.submit_result(:x1, :c5, 1, '{}', pg_temp.t(55)), 'succeeded', 'the result frees the place (no peer: accepted)');
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(56)), 1, 'and the waiting task gets it');

-- scoring: performance
SELECT pg_temp.keeper(8, i_chains => '{7}') AS good \gset
SELECT pg_temp.keeper(9, i_chains => '{7}') AS poor \gset
INSERT INTO tgx.keeper_stats (keeper_id, task_definition_id, ok, failed, decayed_at)
VALUES (:good, 1, 30, 0, pg_temp.t(0)), (:poor, 1, 0, 30, pg_temp.t(0));
SELECT ok(g.performance > 0.9 AND p.performance < 0.1, 'keeper_scores: performance from recent outcomes')
  FROM tgx.keeper_scores(pg_temp.t(60)) g, tgx.keeper_scores(pg_temp.t(60)) p
 WHERE g.keeper_id = :good AND p.keeper_id = :poor;
SELECT ok(abs(s.performance - (30 * 0.5 + 1) / (30 * 0.5 + 2)) < 1e-9, 'the counters decay with the half-life (1 hour)')
  FROM tgx.keeper_scores(pg_temp.t(3600)) s WHERE s.keeper_id = :good;
SELECT pg_temp.job(7, '7') AS j7 \gset
SELECT pg_temp.task(:j7, pg_temp.t(60)) AS y1 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(61)), 1, 'one task for two keepers');
SELECT is(keeper_id, :good::bigint, 'the better performing keeper gets it') FROM tgx.tasks WHERE task_id = :y1;

-- scoring: specialization by task definition
SELECT pg_temp.keeper(10, i_chains => '{8}') AS sp1 \gset
SELECT pg_temp.keeper(11, i_chains => '{8}') AS sp2 \gset
INSERT INTO tgx.keeper_stats (keeper_id, task_definition_id, ok, failed, decayed_at)
VALUES (:sp1, 2, 10, 0, pg_temp.t(0)), (:sp2, 1, 10, 0, pg_temp.t(0));
SELECT pg_temp.job(81, '8', i_definition => 1) AS j81 \gset
SELECT pg_temp.job(82, '8', i_definition => 2) AS j82 \gset
SELECT pg_temp.task(:j81, pg_temp.t(70)) AS z1 \gset
SELECT pg_temp.task(:j82, pg_temp.t(70)) AS z2 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(71)), 2, 'two tasks of different definitions');
SELECT results_eq(format('SELECT keeper_id FROM tgx.tasks WHERE task_id IN (%s, %s) ORDER BY task_id', :z1, :z2),
                  format('VALUES (%s::bigint), (%s)', :sp2, :sp1),
                  'each goes to the keeper specialised in its definition');

-- spreading over equal keepers
SELECT pg_temp.keeper(12, i_chains => '{9}') AS l1 \gset
SELECT pg_temp.keeper(13, i_chains => '{9}') AS l2 \gset
SELECT pg_temp.job(9, '9') AS j9 \gset
SELECT pg_temp.task(:j9, pg_temp.t(80)) FROM generate_series(1, 10);
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(81)), 10, 'ten tasks for two equal keepers');
SELECT results_eq(format('SELECT keeper_id, count(*) FROM tgx.tasks WHERE job_id = %s GROUP BY 1 ORDER BY 1', :j9),
                  format('VALUES (%s::bigint, 5::bigint), (%s, 5)', :l1, :l2), 'are spread five and five');

-- load: the emptier keeper wins
SELECT pg_temp.keeper(14, i_capacity => 4, i_chains => '{10}') AS h \gset
SELECT pg_temp.keeper(15, i_capacity => 4, i_chains => '{10}') AS i \gset
SELECT pg_temp.job(10, '10') AS j10 \gset
UPDATE tgx.keepers SET draining = true WHERE keeper_id = :i;
SELECT pg_temp.task(:j10, pg_temp.t(90)) FROM generate_series(1, 3);
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(91)), 3, 'keeper h gets three tasks while i drains');
UPDATE tgx.keepers SET draining = false WHERE keeper_id = :i;
SELECT pg_temp.task(:j10, pg_temp.t(92)) AS v1 \gset
SELECT pg_temp.task(:j10, pg_temp.t(92)) AS v2 \gset
SELECT is(tgx.dispatch_tasks(100, pg_temp.t(93)), 2, 'two more tasks');
SELECT results_eq(format('SELECT keeper_id FROM tgx.tasks WHERE task_id IN (%s, %s) ORDER BY task_id', :v1, :v2),
                  format('VALUES (%s::bigint), (%s)', :i, :i),
                  'both go to the less loaded keeper (load 1 - 3/4 loses to 1 - 0/4 and 1 - 1/4)');

-- the load counters kept by the trigger match the tasks
SELECT is((SELECT count(*) FROM tgx.keepers k LEFT JOIN tgx.keeper_load l USING (keeper_id)
            WHERE coalesce(l.active, 0) <> (SELECT count(*) FROM tgx.tasks t
                                             WHERE t.keeper_id = k.keeper_id AND t.state IN ('assigned', 'running'))),
          0::bigint, 'tgx.keeper_load counts the assigned and running tasks of every keeper');

-- a keeper takes its most overdue task first (tasks_assigned on keeper_id, due_at, task_id), even
-- when a younger task fell due earlier
SELECT pg_temp.keeper(20) AS o \gset
SELECT pg_temp.task(:j1, pg_temp.t(-100)) AS late \gset
SELECT pg_temp.task(:j1, pg_temp.t(-200)) AS early \gset
SELECT pg_temp.dispatch_to(:late, :o, pg_temp.t(201));
SELECT pg_temp.dispatch_to(:early, :o, pg_temp.t(201));
SELECT is((SELECT jsonb_agg(e->'task_id') FROM jsonb_array_elements(tgx.keeper_assigned(:o, 2)) e),
          jsonb_build_array(:early, :late), 'keeper_assigned lists the most overdue first (due before any other)');
SELECT is((SELECT task_id FROM tgx.keeper_take(:o, 1, pg_temp.t(202))), :early::bigint,
          'keeper_take takes the most overdue first, not the oldest task id');

-- tgx.keeper_load counts through tasks_keeper_active only: without it, no other partial index
-- may serve the count (tasks_leased, on lease_until, would filter every active task per keeper)
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
DROP INDEX tgx.tasks_keeper_active;
\ir plan_of.psql
SELECT unalike(pg_temp.plan_of('SELECT * FROM tgx.keeper_load'), '%tasks_leased%',
               'tgx.keeper_load never walks tasks_leased');

SELECT * FROM finish();
ROLLBACK;
