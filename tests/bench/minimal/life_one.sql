-- tests/bench/minimal/life_one.sql: keeper :k takes one task and submits it; with none
-- assigned, it runs the roles' steps (a batch each), as the workers of sql_core.c do
\set k :client_id + 1
WITH c AS (UPDATE bench_min_tasks t SET state = 2, lease_until = now() + interval '5 minutes' FROM (SELECT task_id FROM bench_min_tasks WHERE state = 1 AND keeper_id = :k ORDER BY keeper_id, task_id LIMIT 1 FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id RETURNING t.task_id, t.epoch) SELECT coalesce(max(task_id), 0) AS id, coalesce(max(epoch), 0) AS epoch FROM c \gset
\if :id = 0
-- the roles' steps, each its own transaction committed asynchronously as tgxd's roles commit
BEGIN;
SET LOCAL synchronous_commit = off;
WITH d AS (SELECT job_id FROM bench_min_schedules WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT :batch FOR UPDATE SKIP LOCKED), u AS (UPDATE bench_min_schedules s SET next_fire_at = now() + interval '1 millisecond' FROM d WHERE s.job_id = d.job_id RETURNING s.job_id) INSERT INTO bench_min_tasks (job_id, state, due_at) SELECT u.job_id, 0, now() FROM u;
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
UPDATE bench_min_tasks t SET state = 1, keeper_id = :k, epoch = t.epoch + 1, lease_until = now() + interval '30 seconds' FROM (SELECT task_id FROM bench_min_tasks WHERE state = 0 AND due_at <= now() ORDER BY due_at, task_id LIMIT :batch FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id;
COMMIT;
\else
UPDATE bench_min_tasks SET state = 3, result = 'ok', finished_at = now(), lease_until = NULL WHERE task_id = :id AND state = 2 AND keeper_id = :k AND epoch = :epoch;
\endif
