-- tests/bench/minimal/life_one.sql: keeper :k takes one task and submits it; with none
-- assigned, it runs the roles' steps (a batch each), as the workers of sql_core.c do
\set k :client_id + 1
WITH c AS (UPDATE bench_min_tasks t SET state = 2, lease_until = now() + interval '5 minutes' FROM (SELECT task_id FROM bench_min_tasks WHERE state = 1 AND keeper_id = :k ORDER BY keeper_id, task_id LIMIT 1 FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id RETURNING t.task_id, t.epoch) SELECT coalesce(max(task_id), 0) AS id, coalesce(max(epoch), 0) AS epoch FROM c \gset
\if :id = 0
--@roles
\else
UPDATE bench_min_tasks SET state = 3, result = 'ok', finished_at = now(), lease_until = NULL WHERE task_id = :id AND state = 2 AND keeper_id = :k AND epoch = :epoch;
\endif
