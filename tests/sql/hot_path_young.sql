-- hot_path_young.sql: a young ledger (no history) in which one keeper holds most of the tasks,
-- with statistics that know it.  keeper_take's generic plan then found a hash join of the
-- claimed task to every task (and of its attempt to every attempt) cheaper than probing their
-- primary keys: each take read the whole table, O(tasks) per call until the ledger grew.  Its
-- updates now probe the keys whatever the statistics say.  (hot_path_work.sql covers the other
-- steps, with a history.)
BEGIN;
\ir queue_fixtures.psql
SELECT plan(8);

-- the plans depend on statistics, so they are the test's own (see hot_path_work.sql)
LOCK TABLE tgx.jobs, tgx.tasks, tgx.task_attempts IN SHARE UPDATE EXCLUSIVE MODE;

\ir reads_over.psql

-- 400 jobs, each with a pending task; one keeper takes them all
SELECT pg_temp.keeper(1, i_capacity => 1000) AS k \gset
SELECT count(pg_temp.task(pg_temp.job(n), pg_temp.t(0))) FROM generate_series(1, 400) n;
SELECT tgx.set_setting('attesters', '0', 'hot path test: results are accepted at once');
SELECT is(tgx.dispatch_tasks(1000, pg_temp.t(1)), 400, 'setup: the keeper is assigned all 400 tasks');
ANALYZE tgx.jobs, tgx.tasks, tgx.task_attempts;

SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'CREATE TEMP TABLE taken AS SELECT * FROM tgx.keeper_take(%s, 1, pg_temp.t(2))')$$, :k),
                'keeper_take(1) of the keeper holding every task reads a handful of rows of each table');
SELECT is(count(*), 1::bigint, 'it took one task') FROM taken;
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.submit_result(task_id, %s, lease_epoch, ''{"success": true}'', pg_temp.t(3)) FROM taken')$$,
                       :k),
                'submit_result reads a handful of rows of each table');
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.settle_tasks(1, pg_temp.t(4))')$$,
                'settle_tasks(1) reads a handful of rows of each table');
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.fail_task(l.task_id, %s, l.lease_epoch, ''boom'', false, pg_temp.t(5))
                       FROM tgx.keeper_take(%s, 1, pg_temp.t(5)) l')$$, :k, :k),
                'keeper_take(1) and a transient fail_task read a handful of rows of each table');
SELECT is_empty(format($$SELECT * FROM pg_temp.reads_over(
                    'SELECT tgx.submit_results(%s, jsonb_agg(jsonb_build_object(''task_id'', l.task_id,
                                                ''lease_epoch'', l.lease_epoch, ''result'', ''{}''::jsonb)))
                       FROM tgx.keeper_take(%s, 1, pg_temp.t(6)) l')$$, :k, :k),
                'keeper_take(1) and submit_results read a handful of rows of each table');
SELECT is_empty($$SELECT * FROM pg_temp.reads_over('SELECT tgx.expire_leases(1, pg_temp.t(100000))')$$,
                'expire_leases(1) reads a handful of rows of each table');
SELECT * FROM finish();
ROLLBACK;
