-- tests/bench/minimal/required/life_one.sql: ../life_one.sql with the bookkeeping: the submit
-- also closes the attempt and counts the task for its job and its keeper, in one statement
\set k :client_id + 1
WITH c AS (UPDATE bench_req_tasks t SET state = 2, lease_until = now() + interval '5 minutes' FROM (SELECT task_id FROM bench_req_tasks WHERE state = 1 AND keeper_id = :k ORDER BY keeper_id, task_id LIMIT 1 FOR UPDATE SKIP LOCKED) c WHERE t.task_id = c.task_id RETURNING t.task_id, t.epoch) SELECT coalesce(max(task_id), 0) AS id, coalesce(max(epoch), 0) AS epoch FROM c \gset
\if :id = 0
--@roles
\else
WITH u AS (UPDATE bench_req_tasks SET state = 3, result = 'ok', finished_at = now(), lease_until = NULL WHERE task_id = :id AND state = 2 AND keeper_id = :k AND epoch = :epoch RETURNING task_id, attempt, job_id), a AS (UPDATE bench_req_attempts a SET ended_at = now(), outcome = 'result' FROM u WHERE a.task_id = u.task_id AND a.attempt = u.attempt), j AS (UPDATE bench_req_jobs j SET executed = j.executed + 1, last_executed_at = now() FROM u WHERE j.job_id = u.job_id) UPDATE bench_req_keepers k SET executed = k.executed + 1 FROM u WHERE k.keeper_id = :k;
\endif
