-- tests/bench/minimal/life_batch.sql: fire, dispatch, take and submit a batch (keeper :k)
\set k :client_id + 1
--@roles
WITH c AS (UPDATE bench_min_tasks t SET state = 2, lease_until = now() + interval '5 minutes' FROM (SELECT task_id FROM bench_min_tasks WHERE state = 1 AND keeper_id = :k ORDER BY keeper_id, task_id LIMIT :batch FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id RETURNING t.task_id, t.epoch) SELECT coalesce(array_agg(task_id), '{}') AS ids, coalesce(array_agg(epoch), '{}') AS epochs FROM c \gset
UPDATE bench_min_tasks t SET state = 3, result = 'ok', finished_at = now(), lease_until = NULL FROM unnest(:ids::bigint[], :epochs::integer[]) AS x(task_id, epoch) WHERE t.task_id = x.task_id AND t.state = 2 AND t.keeper_id = :k AND t.epoch = x.epoch;
