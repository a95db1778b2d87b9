-- tests/bench/minimal/required/reset.sql: the same start for every cell (psql variables jobs, rows).
TRUNCATE bench_req_attempts, bench_req_tasks, bench_req_schedules, bench_req_jobs, bench_raw;
UPDATE bench_req_keepers SET executed = 0;
INSERT INTO bench_req_jobs (job_id) SELECT g FROM generate_series(1, :jobs) g;
INSERT INTO bench_req_schedules
SELECT g, now() - interval '1 hour' + g * interval '1 millisecond' FROM generate_series(1, :jobs) g;
INSERT INTO bench_raw (due_at, payload)
SELECT now() - interval '1 minute' + g * interval '1 microsecond', 'bench payload ' || g
  FROM generate_series(1, :rows) g;
VACUUM ANALYZE bench_req_keepers, bench_req_jobs, bench_req_schedules, bench_req_tasks, bench_req_attempts, bench_raw;
CHECKPOINT;
