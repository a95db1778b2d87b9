-- 0015_accounting_fillfactor.sql: room on the pages of tgx.jobs and tgx.users for HOT updates.
--
-- Forward-only; table options only, no change to any row or constraint.  Every task that ends
-- updates its job (last_executed_at, job_cost_actual, counters) and the job's owner
-- (user_points, total_tasks) in tgx.settle_tasks or tgx._task_decide: columns no index holds.
-- On a full page such an update cannot be HOT: the new version goes to another page (one WAL
-- record more to lock the old one meanwhile) and every index of the table (four on jobs, two on
-- users) gets an entry, a dead one after the next settlement, for vacuum to remove.  With a
-- fifth of each page free the update stays on its page and no index is touched (measured with
-- pg_waldump: 100 of 100 settlements updated job and user in place, against 14 and 15 of 100
-- before; settle_tasks(100) 5.4 -> 5.0 and 4.6 -> 4.2 ms in alternating runs).  As in
-- 0007_perf.sql for the keepers' rows.
-- Applies to pages written from now on (VACUUM FULL or pg_repack rewrite the others).

ALTER TABLE tgx.jobs SET (fillfactor = 80);
ALTER TABLE tgx.users SET (fillfactor = 80);
