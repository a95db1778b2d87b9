-- 0012_results.sql: tgx._task_results (sql/tgx.queue.sql before this version) is replaced by
-- tgx._task_accept, which tgx.submit_result calls with its one task directly (no JSON array to
-- build and take apart again) and tgx.submit_results with the distinct entries of its batch.
--
-- Forward-only DDL: the function the reloaded sql/ files no longer define.
DROP FUNCTION IF EXISTS tgx._task_results(bigint, jsonb, timestamptz);
