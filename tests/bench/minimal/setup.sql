-- tests/bench/minimal/setup.sql: the tables of the minimal life cycle (tests/bench/minimal.sh).
-- One narrow task table with the three partial indexes the claims walk, and the schedules it
-- fires from; beside them the raw ceiling's table, as tests/bench/sql_core.c creates it.
DROP TABLE IF EXISTS bench_min_schedules, bench_min_tasks, bench_raw;
CREATE TABLE bench_min_schedules (job_id integer PRIMARY KEY, next_fire_at timestamptz NOT NULL);
CREATE INDEX bench_min_schedules_due ON bench_min_schedules (next_fire_at);
CREATE TABLE bench_min_tasks (
    task_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id integer NOT NULL,
    state smallint NOT NULL,              -- 0 pending, 1 assigned, 2 running, 3 succeeded
    keeper_id integer,
    epoch integer NOT NULL DEFAULT 0,     -- the fencing number
    created_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    lease_until timestamptz,
    finished_at timestamptz,
    result text);
CREATE INDEX bench_min_tasks_due ON bench_min_tasks (due_at, task_id) WHERE state = 0;
CREATE INDEX bench_min_tasks_assigned ON bench_min_tasks (keeper_id, task_id) WHERE state = 1;
CREATE INDEX bench_min_tasks_leased ON bench_min_tasks (lease_until) WHERE state = 2;
CREATE TABLE bench_raw (id bigserial PRIMARY KEY, due_at timestamptz NOT NULL,
    claimed_until timestamptz, payload text NOT NULL);
CREATE INDEX bench_raw_due ON bench_raw (due_at) WHERE claimed_until IS NULL;
