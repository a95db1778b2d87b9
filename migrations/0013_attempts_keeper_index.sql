-- 0013_attempts_keeper_index.sql: task_attempts_keeper (0004_steering.sql) on (keeper_id,
-- assigned_at) instead of (keeper_id, ended_at).
--
-- Forward-only DDL.  An attempt row is written when the task is assigned, then its started_at,
-- ended_at and outcome are filled in.  With ended_at in an index, closing the attempt (every
-- result and failure) could never be a HOT update: a new row version, two index entries and
-- about 300 bytes of WAL more for each task.  assigned_at never changes, so the attempt's
-- updates are now HOT.  The index serves the same readers: tgx.task_history filtered by
-- keeper_id, and tgx.keeper_status's attempts of the last 24 hours (ended then, assigned at
-- most a day earlier: an attempt lasts an ack timeout plus a lease, minutes).
DROP INDEX IF EXISTS tgx.task_attempts_keeper;
CREATE INDEX task_attempts_keeper ON tgx.task_attempts (keeper_id, assigned_at);
