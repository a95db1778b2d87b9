-- 0011_keeper_load_count.sql: a keeper's load is counted from its tasks when dispatch needs it,
-- no longer kept in a table by triggers.
--
-- Forward-only DDL.
--  * keeper_load (0003_queue.sql) was kept by three statement-level triggers on tgx.tasks with
--    transition tables: every statement that changed tasks copied each changed row twice into
--    tuplestores and upserted one keeper_load row per keeper, which it then held locked until
--    its commit, so a keeper's own take and result calls and every dispatcher assigning to it
--    waited on one row.  Measured on the keeper's calls (take, then result): a tenth of their
--    CPU.  tgx.dispatch_tasks now counts the assigned and running tasks of each candidate
--    keeper through the partial index tasks_keeper_active (it holds the keeper's advisory
--    lock meanwhile, so concurrent dispatchers still never overfill a keeper), and
--    tgx.keeper_load becomes a view with the same columns (sql/tgx.keepers.sql).
DROP TRIGGER IF EXISTS tasks_keeper_load_insert ON tgx.tasks;
DROP TRIGGER IF EXISTS tasks_keeper_load_update ON tgx.tasks;
DROP TRIGGER IF EXISTS tasks_keeper_load_delete ON tgx.tasks;
DROP FUNCTION IF EXISTS tgx._tasks_keeper_load();
DROP FUNCTION IF EXISTS tgx._keeper_load_lock(bigint[]);
DROP TABLE tgx.keeper_load;
