-- 0004_steering.sql: indexes for DBA steering and the inspection views.
--
-- Forward-only DDL.  Every index here is partial or on a table the queue only
-- appends to, so the hot work set pays (almost) nothing for it:
--  * tasks_dead: one entry per dead task version (state = 'dead' is terminal);
--    tgx.requeue_dead() walks it oldest first instead of the whole ledger.
--  * tasks_finished_hour: one entry per finished task version; tgx.lateness and
--    tgx.lateness_hourly filter on the same expression, so
--    `WHERE hour >= now() - interval '1 day'` reads one day of the ledger, not all of it.
--    date_bin(interval, timestamptz, timestamptz) is immutable, unlike date_trunc.
--  * task_attempts_keeper: tgx.keeper_status (attempts of the last 24 hours per
--    keeper) and tgx.task_history filtered by keeper_id.

CREATE INDEX IF NOT EXISTS tasks_dead
    ON tgx.tasks (finished_at, task_id)
    WHERE state = 'dead';

CREATE INDEX IF NOT EXISTS tasks_finished_hour
    ON tgx.tasks (date_bin('1 hour'::interval, scheduled_for, '2000-01-01 00:00:00+00'::timestamptz))
    WHERE finished_at IS NOT NULL;

CREATE INDEX IF NOT EXISTS task_attempts_keeper
    ON tgx.task_attempts (keeper_id, ended_at);
