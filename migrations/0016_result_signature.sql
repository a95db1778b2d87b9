-- 0016_result_signature.sql: tgx._task_accept takes the performer's signatures over the results,
-- so that tgx.keeper_result writes tasks.tp_signature in the same UPDATE as the result (it
-- updated the task row a second time, and the task feed reported the one result twice).
--
-- Forward-only DDL: the signature the reloaded sql/ files no longer define.
DROP FUNCTION IF EXISTS tgx._task_accept(bigint, bigint[], bigint[], jsonb[], timestamptz);
