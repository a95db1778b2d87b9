-- tests/bench/minimal/roles.sql: the roles' steps, a batch each, for keeper :k: fire, then
-- dispatch, each its own transaction committed asynchronously as tgxd's roles commit.
-- tests/bench/minimal.sh puts it in place of the "--@roles" line of life_batch.sql and
-- life_one.sql (pgbench has no include).
BEGIN;
SET LOCAL synchronous_commit = off;
WITH d AS (SELECT job_id FROM bench_min_schedules WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT :batch FOR UPDATE SKIP LOCKED), u AS (UPDATE bench_min_schedules s SET next_fire_at = now() + interval '1 millisecond' FROM d WHERE s.job_id = d.job_id RETURNING s.job_id) INSERT INTO bench_min_tasks (job_id, state, due_at) SELECT u.job_id, 0, now() FROM u;
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
UPDATE bench_min_tasks t SET state = 1, keeper_id = :k, epoch = t.epoch + 1, lease_until = now() + interval '30 seconds' FROM (SELECT task_id FROM bench_min_tasks WHERE state = 0 AND due_at <= now() ORDER BY due_at, task_id LIMIT :batch FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id;
COMMIT;
