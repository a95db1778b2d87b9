-- tests/bench/minimal/required/setup.sql: the minimal life cycle's tables with the bookkeeping
-- the SQL core must keep in any design (tests/bench/minimal.sh, second reference table): keepers
-- and jobs for the foreign keys, CHECKs that make impossible task states impossible, an attempt
-- row per try, and the counters a succeeded task moves (its job, its keeper).  Its own tables
-- (bench_req_*); bench_raw comes from ../setup.sql.
DROP TABLE IF EXISTS bench_req_attempts, bench_req_tasks, bench_req_schedules, bench_req_jobs, bench_req_keepers;
CREATE TABLE bench_req_keepers (keeper_id integer PRIMARY KEY, executed bigint NOT NULL DEFAULT 0);
INSERT INTO bench_req_keepers (keeper_id) SELECT g FROM generate_series(1, 64) g;
CREATE TABLE bench_req_jobs (job_id integer PRIMARY KEY, executed bigint NOT NULL DEFAULT 0,
    last_executed_at timestamptz);
CREATE TABLE bench_req_schedules (job_id integer PRIMARY KEY REFERENCES bench_req_jobs,
    next_fire_at timestamptz NOT NULL);
CREATE INDEX bench_req_schedules_due ON bench_req_schedules (next_fire_at);
CREATE TABLE bench_req_tasks (
    task_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id integer NOT NULL REFERENCES bench_req_jobs,
    state smallint NOT NULL CHECK (state BETWEEN 0 AND 3),  -- 0 pending, 1 assigned, 2 running, 3 succeeded
    keeper_id integer REFERENCES bench_req_keepers,
    epoch integer NOT NULL DEFAULT 0 CHECK (epoch >= 0),    -- the fencing number
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    lease_until timestamptz,
    finished_at timestamptz,
    result text,
    CHECK ((state IN (1, 2)) <= (keeper_id IS NOT NULL)),
    CHECK ((state IN (1, 2)) <= (lease_until IS NOT NULL)),
    CHECK ((state = 3) = (finished_at IS NOT NULL)));
CREATE INDEX bench_req_tasks_due ON bench_req_tasks (due_at, task_id) WHERE state = 0;
CREATE INDEX bench_req_tasks_assigned ON bench_req_tasks (keeper_id, task_id) WHERE state = 1;
CREATE INDEX bench_req_tasks_leased ON bench_req_tasks (lease_until) WHERE state IN (1, 2);
CREATE INDEX bench_req_tasks_job ON bench_req_tasks (job_id, task_id);
CREATE TABLE bench_req_attempts (
    task_id bigint NOT NULL REFERENCES bench_req_tasks,
    attempt integer NOT NULL CHECK (attempt >= 1),
    keeper_id integer NOT NULL REFERENCES bench_req_keepers,
    assigned_at timestamptz NOT NULL,
    ended_at timestamptz,
    outcome text CHECK (outcome IN ('result', 'transient', 'permanent')),
    PRIMARY KEY (task_id, attempt));
