-- 0010_settle.sql: the settlement queue of accepted results (sql/tgx.queue.sql).
--
-- Forward-only DDL.
--  * task_settlements: a result accepted with nobody to attest makes its task succeeded at
--    once, in the keeper's call, and leaves here the accounting that follows (job cost and
--    last run, user points and task count, linked follower jobs, the performer's points,
--    executed count and outcome counters).  tgx.settle_tasks() (the monitor role) applies it
--    in batches, shortly after.  A keeper's call then writes the task, its attempt and this
--    row only, instead of the task, the attempt, the job, the user, the keeper and its
--    statistics: one statement instead of a dozen, and the accounting of a whole batch of
--    tasks in a few set-based statements.  The row is written in the transaction that makes
--    the task succeeded and deleted in the one that applies its accounting: every accepted
--    result is accounted for exactly once.
--    No foreign key: the row lives for a fraction of a second, tasks are never deleted, and
--    only tgx._task_results() inserts here (a key check would cost the keeper's call a query).

CREATE TABLE tgx.task_settlements (
    task_id     bigint PRIMARY KEY,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    keeper_id   bigint NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.task_settlements IS
    'Accepted results whose accounting is still to be applied (job, user, performer keeper, linked follower jobs): '
    'written with the task''s succeeded state by tgx._task_results() when nobody can attest, applied and deleted by '
    'tgx.settle_tasks() (the monitor role) or, for one job, before a failure is counted against it';
COMMENT ON COLUMN tgx.task_settlements.attempt IS 'The attempt whose result was accepted';
COMMENT ON COLUMN tgx.task_settlements.keeper_id IS 'The performer: the keeper whose result was accepted';
COMMENT ON COLUMN tgx.task_settlements.enqueued_at IS 'When the result was accepted';
