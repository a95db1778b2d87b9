-- tests/bench/minimal/required/roles.sql: ../roles.sql with the attempt row: fire a batch,
-- then dispatch a batch to keeper :k (epoch and attempt + 1, an attempt row each), each its own
-- transaction committed asynchronously.  Put in place of the "--@roles" line of this
-- directory's life_batch.sql and life_one.sql by tests/bench/minimal.sh.
BEGIN;
SET LOCAL synchronous_commit = off;
WITH d AS (SELECT job_id FROM bench_req_schedules WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT :batch FOR UPDATE SKIP LOCKED), u AS (UPDATE bench_req_schedules s SET next_fire_at = now() + interval '1 millisecond' FROM d WHERE s.job_id = d.job_id RETURNING s.job_id) INSERT INTO bench_req_tasks (job_id, state, due_at) SELECT u.job_id, 0, now() FROM u;
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
WITH u AS (UPDATE bench_req_tasks t SET state = 1, keeper_id = :k, epoch = t.epoch + 1, attempt = t.attempt + 1, lease_until = now() + interval '30 seconds' FROM (SELECT task_id FROM bench_req_tasks WHERE state = 0 AND due_at <= now() ORDER BY due_at, task_id LIMIT :batch FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id RETURNING t.task_id, t.attempt) INSERT INTO bench_req_attempts (task_id, attempt, keeper_id, assigned_at) SELECT u.task_id, u.attempt, :k, now() FROM u;
COMMIT;
