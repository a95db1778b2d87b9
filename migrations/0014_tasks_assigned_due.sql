-- 0014_tasks_assigned_due.sql: tasks_assigned (0001_core.sql) on (keeper_id, due_at, task_id)
-- instead of (keeper_id, task_id).
--
-- Forward-only DDL.  tgx.keeper_take claims a keeper's next tasks in the order of this index.
-- On (keeper_id, task_id), the primary key gave the same order once keeper_id was fixed, and
-- with statistics taken while a backlog was assigned the planner walked the primary key instead,
-- filtering every task ever made: a claim cost grew with the ledger (6 ms after 20,000 tasks).
-- Ordered by due_at, task_id (the most overdue first), only this index gives the order, and the
-- claim (which plans with enable_sort off) always walks it.
DROP INDEX IF EXISTS tgx.tasks_assigned;
CREATE INDEX tasks_assigned ON tgx.tasks (keeper_id, due_at, task_id) WHERE state = 'assigned';
