-- tests/bench/minimal/reset.sql: the same start for every cell (psql variables jobs, rows).
TRUNCATE bench_min_schedules, bench_min_tasks, bench_raw;
INSERT INTO bench_min_schedules
SELECT g, now() - interval '1 hour' + g * interval '1 millisecond' FROM generate_series(1, :jobs) g;
INSERT INTO bench_raw (due_at, payload)
SELECT now() - interval '1 minute' + g * interval '1 microsecond', 'bench payload ' || g
  FROM generate_series(1, :rows) g;
VACUUM ANALYZE bench_min_schedules, bench_min_tasks, bench_raw;
CHECKPOINT;
