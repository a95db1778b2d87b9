-- hot_path_work.sql: every step of the life cycle reads rows in proportion to its batch, not to
-- the tables.  With 400 jobs, schedules and pending tasks and a history of 4000 finished tasks,
-- all analyzed, one call of each step for one task (fire, dispatch, take, result, settle,
-- failure, lease expiry, attestation and its expiry) may read at most a handful of rows of any
-- table (20; tgx.keepers, a small fleet read whole by design, aside).  The counts are the
-- transaction's own (pg_stat_xact_user_tables: rows fetched by index scans and read by
-- sequential scans), so the test sees what the statements inside the stored functions did,
-- whatever plan the planner chose.  A plan that joins a batch to a whole table fails here:
-- keeper_take's generic plan, with statistics that show a keeper holding a large backlog,
-- joined its tasks to the jobs by a hash join over every job (O(jobs) per take).
BEGIN;
\ir queue_fixtures.psql
SELECT plan(16);

-- the plans depend on statistics, so they are the test's own: autovacuum, which skips a table
-- it cannot lock at once, must not analyze these tables (seeing none of the rows added here)
-- while the test runs
LOCK TABLE tgx.jobs, tgx.time_schedules, tgx.tasks, tgx.task_attempts, tgx.users, tgx.keepers,
           tgx.task_settlements IN SHARE UPDATE EXCLUSIVE MODE;

\ir reads_over.psql

-- 400 jobs of the fixture user, each with an interval schedule and a pending task due at t(0);
-- the keepers; statistics that know the tables' sizes
SELECT pg_temp.keeper(1, i_capacity => 1000) AS k \gset
SELECT pg_temp.keeper(2, i_capacity => 1000) AS k2 \gset
SELECT count(pg_temp.job(n)) FROM generate_series(1, 400) n;
INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy)
SELECT 303000 + n, 'interval', 60, 'fire_once' FROM generate_series(1, 400) n;
SET LOCAL session_replication_role = replica;   -- no trigger recomputes next_fire_at
UPDATE tgx.time_schedules SET next_fire_at = pg_temp.t(0) WHERE job_id BETWEEN 303001 AND 303400;
RESET session_replication_role;
SELECT count(pg_temp.task(303000 + n, pg_temp.t(0))) FROM generate_series(1, 400) n;
-- a history: 4000 finished tasks with their attempts, performed by the two keepers (a plan that
-- reads a whole table then reads thousands of rows, where the right one reads a few)
INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, attempt, keeper_id, lease_epoch,
                       result, task_performer_id, is_successful, is_accepted, created_at, updated_at, started_at,
                       finished_at)
SELECT 303001 + g % 400, 1, 'succeeded', pg_temp.t(-10000 + g), pg_temp.t(-10000 + g), 1, (ARRAY[:k, :k2])[1 + g % 2], 1, '{"success": true}',
       (ARRAY[:k, :k2])[1 + g % 2], true, true, pg_temp.t(-10000 + g), pg_temp.t(-9999 + g), pg_temp.t(-10000 + g), pg_temp.t(-9999 + g)
  FROM generate_series(1, 4000) g;
INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at, started_at, ended_at, outcome)
SELECT t.task_id, 1, t.keeper_id, 1, t.created_at, t.started_at, t.finished_at, 'result'
  FROM tgx.tasks t WHERE t.state = 'succeeded' AND t.job_id BETWEEN 303001 AND 303400;
SELECT tgx.set_setting('attesters', '0', 'hot path test: results are accepted at once');
ANALYZE tgx.jobs, tgx.time_schedules, tgx.tasks, tgx.task_attempts, tgx.users;
-- a sequential scan of these small tables may be the cheapest plan; at scale it is not: what
-- is looked for is a plan that reads a whole table through an index (a bad join order, a
-- hash join over a table) or by a sequential scan that has no other way (a missing index)
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;

SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.fire_due_schedules(1, pg_temp.t(1))')$$,
                'fire_due_schedules(1) reads a handful of rows of each table');
-- (dispatch also counts the active tasks of every eligible keeper, at most their capacities:
-- here they have none yet)
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.dispatch_tasks(2, pg_temp.t(1))')$$,
                'dispatch_tasks(2) reads a handful of rows of each table');
-- a keeper's calls, planned while statistics say no task is assigned or running
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'CREATE TEMP TABLE taken AS SELECT * FROM tgx.keeper_take(%s, 1, pg_temp.t(2))')$$, :k),
                'keeper_take(1) reads a handful of rows of each table');
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.submit_result(task_id, %s, lease_epoch, ''{"success": true}'') FROM taken')$$, :k),
                'submit_result reads a handful of rows of each table (the task by key, not every task)');
CREATE TEMP TABLE upd_before AS
    SELECT s.relname, s.n_tup_upd, s.n_tup_hot_upd FROM pg_stat_xact_user_tables s
     WHERE s.schemaname = 'tgx' AND s.relname IN ('jobs', 'users');
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.settle_tasks(1, pg_temp.t(3))')$$,
                'settle_tasks(1) reads a handful of rows of each table');
-- the job's and the user's counters are updated in place (HOT): the pages of jobs and users
-- keep room for it (fillfactor, migration 0015)
SELECT is(string_agg(format('%s: %s updated, %s in place', s.relname, s.n_tup_upd - b.n_tup_upd,
                            s.n_tup_hot_upd - b.n_tup_hot_upd), '; ' ORDER BY s.relname),
          'jobs: 1 updated, 1 in place; users: 1 updated, 1 in place',
          'settle_tasks updates the job and its user once each, in place (HOT)')
  FROM pg_stat_xact_user_tables s JOIN upd_before b USING (relname)
 WHERE s.schemaname = 'tgx';

-- most tasks assigned, and statistics that know it: the generic plan of keeper_take's claim
-- then expects many rows
SELECT is(tgx.dispatch_tasks(300, pg_temp.t(1)), 300, 'setup: 300 more tasks are assigned');
ANALYZE tgx.tasks, tgx.task_attempts;
DROP TABLE taken;
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'CREATE TEMP TABLE taken AS SELECT * FROM tgx.keeper_take(%s, 1, pg_temp.t(4))')$$, :k),
                'keeper_take(1) with many tasks assigned reads a handful of rows (the job by key, not every job)');
SELECT is(count(*), 1::bigint, 'keeper_take took one task') FROM taken;
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.submit_result(task_id, %s, lease_epoch, ''{"success": true}'') FROM taken')$$, :k),
                'submit_result with many tasks running reads a handful of rows of each table');
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.fail_task(l.task_id, %s, l.lease_epoch, ''boom'', false, pg_temp.t(5))
                       FROM tgx.keeper_take(%s, 1, pg_temp.t(5)) l')$$, :k2, :k2),
                'keeper_take(1) and a transient fail_task read a handful of rows of each table');
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.expire_leases(1, pg_temp.t(1000))')$$,
                'expire_leases(1) reads a handful of rows of each table');

-- with attesters: the result goes to attesting and an attester is chosen; its verdict decides;
-- an attestation that does not arrive in time is replaced
SELECT tgx.set_setting('attesters', '1', 'hot path test: one attester');
DROP TABLE taken;
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'CREATE TEMP TABLE taken AS SELECT l.task_id, l.lease_epoch,
                            tgx.submit_result(l.task_id, %s, l.lease_epoch, ''{"success": true}'', pg_temp.t(6)) AS state
                       FROM tgx.keeper_take(%s, 2, pg_temp.t(6)) l', 40)$$, :k, :k),
                'keeper_take(2) and two results to attest read a handful of rows of each table per task');
SELECT is(array_agg(state ORDER BY task_id), '{attesting,attesting}', 'both results are being attested') FROM taken;
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.submit_attestation(task_id, %s, lease_epoch, true, NULL, NULL, pg_temp.t(7))
                       FROM taken ORDER BY task_id LIMIT 1')$$, :k2),
                'submit_attestation reads a handful of rows of each table');
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.expire_attestations(1, pg_temp.t(10000))')$$,
                'expire_attestations(1) reads a handful of rows of each table');
SELECT * FROM finish();
ROLLBACK;
