-- 0003_queue.sql: what the queue, keeper and attestation families of the SQL API need
-- beyond 0001_core.sql (sql/tgx.keepers.sql, sql/tgx.queue.sql, sql/tgx.attestation.sql).
--
-- Forward-only DDL.
--  * tasks.uncounted_attempts: assignments that did not use up the retry budget.
--  * keeper_stats: time-decayed outcome counters per keeper and task definition, the
--    data behind keeper scoring (tgx.keeper_scores).
--  * keeper_load: tasks assigned to or running on each keeper, kept by a statement-level
--    trigger on tgx.tasks (sql/tgx.keepers.sql), so dispatch reads one row per keeper
--    instead of counting the active set.
--  * attestations_open_deadline: expiry scans of open attestations by deadline.
--  * tgx.task_lease: what tgx.keeper_take() hands to a keeper.
--  * tgx._keeper_event, tgx._keeper_score, tgx._dispatch_task: internal row types of the
--    set-based cores (arrays of them are passed between the helpers).

------------------------------------------------------------------------------
-- Tasks: the retry budget
------------------------------------------------------------------------------

-- tasks.attempt numbers every assignment (it is the key of tgx.task_attempts and only
-- grows).  An assignment the keeper never acknowledged (ack timeout) or that was taken
-- back because the keeper went offline before taking it does not count against
-- max_attempts: it is counted here instead, and the budget used so far is
-- attempt - uncounted_attempts.
ALTER TABLE tgx.tasks
    ADD COLUMN uncounted_attempts integer NOT NULL DEFAULT 0 CHECK (uncounted_attempts >= 0);
COMMENT ON COLUMN tgx.tasks.uncounted_attempts IS
    'Assignments that did not use up the retry budget (ack timeouts, keeper offline before taking the task); '
    'attempts used = attempt - uncounted_attempts, compared with max_attempts. Steering may raise it to grant a '
    'fresh budget; attempt itself is never lowered (it keys tgx.task_attempts)';
COMMENT ON COLUMN tgx.tasks.lease_epoch IS
    'The fencing number: incremented on every assignment; a keeper must quote it to take part in the task, and a '
    'result or failure report under another epoch is refused (55000)';
COMMENT ON COLUMN tgx.tasks.attest_deadline IS
    'While attesting: the earliest deadline among the open attestations (tgx.expire_attestations() acts then)';
COMMENT ON COLUMN tgx.tasks.excluded_keepers IS
    'Keepers this task is never dispatched to again: each keeper that failed it, let its lease expire or did not '
    'acknowledge it';

------------------------------------------------------------------------------
-- Keeper statistics: the data behind keeper scoring
------------------------------------------------------------------------------

CREATE TABLE tgx.keeper_stats (
    keeper_id          bigint NOT NULL REFERENCES tgx.keepers,
    task_definition_id smallint NOT NULL CHECK (task_definition_id BETWEEN 1 AND 7),
    ok                 double precision NOT NULL DEFAULT 0 CHECK (ok >= 0),
    failed             double precision NOT NULL DEFAULT 0 CHECK (failed >= 0),
    agree              double precision NOT NULL DEFAULT 0 CHECK (agree >= 0),
    disagree           double precision NOT NULL DEFAULT 0 CHECK (disagree >= 0),
    decayed_at         timestamptz NOT NULL,
    PRIMARY KEY (keeper_id, task_definition_id)
);
COMMENT ON TABLE tgx.keeper_stats IS
    'Per keeper and task definition, exponentially decayed counters (half-life: setting keeper_stats_half_life; '
    'the values are as of decayed_at): ok = attempts that ended with a result, failed = attempts that ended in a '
    'transient failure, lease expiry, ack timeout or keeper offline (a permanent failure counts neither way), '
    'agree/disagree = results and attestation votes that matched / contradicted the final verdict. '
    'Written only by tgx._keeper_record(); read by tgx.keeper_scores()';

CREATE TABLE tgx.keeper_load (
    keeper_id bigint PRIMARY KEY REFERENCES tgx.keepers,
    active    integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE tgx.keeper_load IS
    'Per keeper: how many tasks are assigned to or running on it (its load against keepers.capacity). Kept by the '
    'statement-level triggers tasks_keeper_load_* on tgx.tasks, whoever changes the tasks; read by tgx.dispatch_tasks';
INSERT INTO tgx.keeper_load (keeper_id, active)
SELECT t.keeper_id, count(*)
  FROM tgx.tasks t
 WHERE t.state IN ('assigned', 'running') AND t.keeper_id IS NOT NULL
 GROUP BY t.keeper_id;

------------------------------------------------------------------------------
-- Attestations: expiry by deadline
------------------------------------------------------------------------------

CREATE INDEX attestations_open_deadline ON tgx.attestations (deadline)
    WHERE verdict IS NULL AND NOT superseded;
COMMENT ON COLUMN tgx.attestations.superseded IS
    'true when the row no longer takes part: replaced after its deadline or because its keeper went offline, or '
    'left unanswered when the task was decided';

------------------------------------------------------------------------------
-- Row types
------------------------------------------------------------------------------

CREATE TYPE tgx.task_lease AS (
    task_id                      bigint,
    job_id                       numeric,
    keeper_id                    bigint,
    lease_epoch                  bigint,
    lease_until                  timestamptz,
    attempt                      integer,
    task_definition_id           smallint,
    target_chain_id              text,
    target_contract_address      text,
    target_function              text,
    abi                          jsonb,
    arg_type                     smallint,
    arguments                    text[],
    dynamic_arguments_script_url text,
    custom_script_url            text,
    script_language              text,
    trigger_data                 jsonb,
    scheduled_for                timestamptz,
    trace_id                     text
);
COMMENT ON TYPE tgx.task_lease IS
    'A task handed to a keeper by tgx.keeper_take(): what to execute, and the lease (lease_epoch must be quoted '
    'back in tgx.submit_result / tgx.fail_task; the lease ends at lease_until)';

CREATE TYPE tgx._keeper_event AS (
    keeper_id          bigint,
    task_definition_id smallint,
    ok                 double precision,
    failed             double precision,
    agree              double precision,
    disagree           double precision,
    reward             double precision,
    executed           integer,
    attested           integer
);
COMMENT ON TYPE tgx._keeper_event IS
    'Internal: one accounting event of a keeper, collected by the task helpers and applied once per call by '
    'tgx._keeper_record(): stats deltas (ok, failed, agree, disagree), reward in cost units (multiplied by the '
    'keeper''s rewards_booster), executed/attested task counters';

CREATE TYPE tgx._keeper_score AS (
    keeper_id      bigint,
    eligible       boolean,
    active         integer,
    capacity       integer,
    chain_ids      text[],
    performance    double precision,
    reputation     double precision,
    specialization double precision[]
);
COMMENT ON TYPE tgx._keeper_score IS
    'Internal: the scoring inputs of one keeper (see tgx.keeper_scores); specialization is indexed by '
    'task_definition_id 1..7';

CREATE TYPE tgx._dispatch_task AS (
    task_id            bigint,
    due_at             timestamptz,
    state              tgx.task_state,
    target_chain_id    text,
    task_definition_id smallint,
    excluded_keepers   bigint[]
);
COMMENT ON TYPE tgx._dispatch_task IS 'Internal: a task claimed by tgx.dispatch_tasks() and what its placement depends on';
