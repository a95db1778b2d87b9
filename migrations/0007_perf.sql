-- 0007_perf.sql: storage settings of the hot path (tgx.fire_due_schedules -> tgx.dispatch_tasks
-- -> tgx.keeper_take -> tgx.submit_result(s)).
--
-- Forward-only; table options only, no change to any row or constraint.
--  * tasks, task_attempts: every task version that leaves the hot work set leaves a dead entry
--    in the partial indexes the claims walk (tasks_due, tasks_assigned, tasks_leased,
--    tasks_attesting, tasks_keeper_active) and in the primary keys.  With the default scale
--    factors (20 % dead, 20 % inserted) a ledger of 5M tasks is vacuumed after 1M changes, and
--    claims walk that many dead entries meanwhile.  Vacuum them after 1 %/2 % instead, and
--    analyze after 2 %, so that the statistics follow the hot set.
--  * time_schedules: every firing moves next_fire_at (indexed: time_schedules_due), so every
--    fire leaves a dead index entry the next claim walks past.
--  * keepers, keeper_load, keeper_stats: a few rows updated by every call of the hot path (load
--    counters, points, outcome counters); a page of dead versions is cheap to vacuum and
--    otherwise grows with every call until opportunistic pruning catches up.  fillfactor leaves
--    room on the page for HOT updates (applies to pages written from now on).

ALTER TABLE tgx.tasks SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02);

ALTER TABLE tgx.task_attempts SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02);

ALTER TABLE tgx.time_schedules SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05);

ALTER TABLE tgx.keepers SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000);

ALTER TABLE tgx.keeper_load SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000);

ALTER TABLE tgx.keeper_stats SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000);
