-- 0001_core.sql: the core schema of TriggerX-PG.
--
-- Forward-only DDL.  Functions and views live in sql/ and are reloaded by every
-- `tgxd migrate`; this file holds only types, tables, sequences and indexes.
-- Schema tgx and tgx.schema_migrations are created by the migration runner
-- before this file runs.
--
-- Column names follow the TriggerX REST contract (job_id, task_definition_id,
-- target_contract_address, ...) wherever the REST API exposes them.

-- Roles are cluster-wide: create them once, grant from sql/grants.sql.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['tgx_owner', 'tgx_app', 'tgx_operator', 'tgx_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

REVOKE ALL ON SCHEMA tgx FROM PUBLIC;

------------------------------------------------------------------------------
-- Domains and enums
------------------------------------------------------------------------------

CREATE DOMAIN tgx.eth_address AS text
    CONSTRAINT eth_address_format CHECK (VALUE ~ '^0x[0-9a-f]{40}$');
COMMENT ON DOMAIN tgx.eth_address IS
    'An Ethereum address, 0x followed by 40 lower-case hex digits (callers lower-case checksummed input)';

CREATE DOMAIN tgx.uint256 AS numeric(78, 0)
    CONSTRAINT uint256_range CHECK (VALUE >= 0 AND VALUE < 115792089237316195423570985008687907853269984665640564039457584007913129639936);
COMMENT ON DOMAIN tgx.uint256 IS 'An unsigned 256-bit integer (on-chain job ids, wei amounts)';

CREATE DOMAIN tgx.tx_hash AS text
    CONSTRAINT tx_hash_format CHECK (VALUE ~ '^0x[0-9a-f]{64}$');
COMMENT ON DOMAIN tgx.tx_hash IS 'A transaction hash, 0x followed by 64 lower-case hex digits';

CREATE TYPE tgx.job_status AS ENUM ('pending', 'paused', 'completed', 'deleted');
COMMENT ON TYPE tgx.job_status IS
    'pending: active (the original backend''s name); paused: stopped by an operator, resumable; '
    'completed: expired or a one-shot that ran; deleted: soft-deleted by its owner (jobs are never removed)';

CREATE TYPE tgx.task_state AS ENUM (
    'scheduled',  -- waiting for due_at (retry backoff, or created ahead of time)
    'pending',    -- due, waiting for dispatch
    'assigned',   -- given to keeper_id, waiting for the keeper to take it (ack deadline lease_until)
    'running',    -- taken by keeper_id under lease_epoch, executing until lease_until
    'attesting',  -- result submitted, waiting for attesters
    'succeeded',  -- terminal: result accepted
    'rejected',   -- terminal: attesters said the result is invalid
    'dead',       -- terminal: permanent failure or attempts exhausted
    'cancelled'   -- terminal: cancelled by steering or job deletion
);
COMMENT ON TYPE tgx.task_state IS 'The task life cycle; see ARCHITECTURE.md "Task life cycle"';

------------------------------------------------------------------------------
-- Settings: tunables read by the stored functions
------------------------------------------------------------------------------

CREATE TABLE tgx.settings (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    value       text NOT NULL,
    value_type  text NOT NULL CHECK (value_type IN ('int', 'interval', 'numeric', 'text', 'bool')),
    description text NOT NULL
);
COMMENT ON TABLE tgx.settings IS 'Tunables of the SQL API; change with tgx.set_setting() so the change is audited';

------------------------------------------------------------------------------
-- Users, API keys, Safe wallets
------------------------------------------------------------------------------

CREATE TABLE tgx.users (
    user_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_address    tgx.eth_address NOT NULL UNIQUE,
    ether_balance   tgx.uint256 NOT NULL DEFAULT 0,
    token_balance   tgx.uint256 NOT NULL DEFAULT 0,
    user_points     double precision NOT NULL DEFAULT 0,
    total_jobs      bigint NOT NULL DEFAULT 0 CHECK (total_jobs >= 0),
    total_tasks     bigint NOT NULL DEFAULT 0 CHECK (total_tasks >= 0),
    email_id        text CHECK (email_id IS NULL OR email_id ~ '^[^@\s]+@[^@\s]+$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.users IS 'Job owners, keyed by their lower-case Ethereum address';

CREATE TABLE tgx.api_keys (
    key_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_hash      bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    key_hint      text NOT NULL,
    owner         text NOT NULL CHECK (char_length(owner) BETWEEN 1 AND 100),
    is_active     boolean NOT NULL DEFAULT true,
    is_admin      boolean NOT NULL DEFAULT false,
    is_keeper     boolean NOT NULL DEFAULT false,
    rate_limit    integer NOT NULL DEFAULT 60 CHECK (rate_limit BETWEEN 1 AND 1000000),
    success_count bigint NOT NULL DEFAULT 0,
    failed_count  bigint NOT NULL DEFAULT 0,
    last_used     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.api_keys IS
    'REST API keys: only the SHA-256 of the key is stored (key_hash); key_hint is the masked form shown in listings';
CREATE INDEX api_keys_owner ON tgx.api_keys (owner);

CREATE TABLE tgx.safe_addresses (
    user_address tgx.eth_address NOT NULL,
    safe_address tgx.eth_address NOT NULL,
    safe_name    text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_address, safe_address)
);
COMMENT ON TABLE tgx.safe_addresses IS 'Safe (Gnosis) wallets a user created jobs from';

------------------------------------------------------------------------------
-- Jobs and their triggers
------------------------------------------------------------------------------

CREATE TABLE tgx.jobs (
    job_id                       tgx.uint256 PRIMARY KEY,
    job_title                    text NOT NULL CHECK (char_length(job_title) BETWEEN 1 AND 100),
    task_definition_id           smallint NOT NULL CHECK (task_definition_id BETWEEN 1 AND 7),
    user_id                      bigint NOT NULL REFERENCES tgx.users,
    link_job_id                  tgx.uint256 REFERENCES tgx.jobs (job_id) DEFERRABLE INITIALLY DEFERRED,
    chain_status                 smallint NOT NULL DEFAULT 0 CHECK (chain_status IN (0, 1)),
    custom                       boolean NOT NULL DEFAULT false,
    time_frame                   bigint NOT NULL CHECK (time_frame > 0),
    recurring                    boolean NOT NULL DEFAULT false,
    status                       tgx.job_status NOT NULL DEFAULT 'pending',
    job_cost_prediction          double precision NOT NULL DEFAULT 0 CHECK (job_cost_prediction >= 0),
    job_cost_actual              double precision NOT NULL DEFAULT 0 CHECK (job_cost_actual >= 0),
    timezone                     text NOT NULL DEFAULT 'UTC',
    is_imua                      boolean NOT NULL DEFAULT false,
    created_chain_id             text NOT NULL CHECK (created_chain_id ~ '^[0-9]{1,20}$'),
    safe_address                 tgx.eth_address,
    -- what to execute (common to every job type)
    target_chain_id              text NOT NULL CHECK (target_chain_id ~ '^[0-9]{1,20}$'),
    target_contract_address      tgx.eth_address,
    target_function              text NOT NULL DEFAULT '',
    abi                          jsonb,
    arg_type                     smallint NOT NULL DEFAULT 1 CHECK (arg_type IN (1, 2)),
    arguments                    text[] NOT NULL DEFAULT '{}',
    dynamic_arguments_script_url text,
    -- life cycle
    max_attempts                 integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    consecutive_failures         integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    last_executed_at             timestamptz,
    expiration_time              timestamptz NOT NULL,
    trace_id                     text,
    CHECK (expiration_time > created_at),
    CHECK (link_job_id IS DISTINCT FROM job_id),
    CHECK (target_contract_address IS NOT NULL OR task_definition_id = 7),
    CHECK (arg_type = 1 OR dynamic_arguments_script_url IS NOT NULL)
);
COMMENT ON TABLE tgx.jobs IS
    'One row per on-chain job (job_id is the uint256 id from JobRegistry); never deleted, status says deleted. '
    'task_definition_id: 1/2 time, 3/4 event, 5/6 condition (odd static, even dynamic arguments), 7 custom script';
CREATE INDEX jobs_user ON tgx.jobs (user_id, created_at DESC);
CREATE INDEX jobs_link ON tgx.jobs (link_job_id) WHERE link_job_id IS NOT NULL;
CREATE INDEX jobs_safe ON tgx.jobs (safe_address) WHERE safe_address IS NOT NULL;

CREATE TABLE tgx.time_schedules (
    job_id            tgx.uint256 PRIMARY KEY REFERENCES tgx.jobs,
    schedule_type     text NOT NULL CHECK (schedule_type IN ('interval', 'cron', 'specific')),
    time_interval     bigint CHECK (time_interval > 0),
    cron_expression   text,
    specific_schedule text,
    specific_at       timestamptz,
    timezone          text NOT NULL DEFAULT 'UTC',
    dst_gap           text NOT NULL DEFAULT 'run_at_gap_end'
                      CHECK (dst_gap IN ('run_at_gap_end', 'shift', 'skip')),
    dst_overlap       text NOT NULL DEFAULT 'first' CHECK (dst_overlap IN ('first', 'both')),
    misfire_policy    text NOT NULL DEFAULT 'fire_once' CHECK (misfire_policy IN ('skip', 'fire_once', 'fire_all')),
    misfire_cap       integer NOT NULL DEFAULT 100 CHECK (misfire_cap BETWEEN 1 AND 10000),
    start_deadline    interval CHECK (start_deadline IS NULL OR start_deadline > interval '0'),
    next_fire_at      timestamptz,
    last_fired_at     timestamptz,
    fire_count        bigint NOT NULL DEFAULT 0 CHECK (fire_count >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (schedule_type <> 'interval' OR time_interval IS NOT NULL),
    CHECK (schedule_type <> 'cron' OR cron_expression IS NOT NULL),
    CHECK (schedule_type <> 'specific' OR specific_at IS NOT NULL)
);
COMMENT ON TABLE tgx.time_schedules IS
    'Time triggers (task_definition_id 1, 2 and 7): interval, cron or specific, with zone, DST and misfire policies; '
    'next_fire_at is NULL when the schedule has no future run';
CREATE INDEX time_schedules_due ON tgx.time_schedules (next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE tgx.event_triggers (
    job_id                   tgx.uint256 PRIMARY KEY REFERENCES tgx.jobs,
    trigger_chain_id         text NOT NULL CHECK (trigger_chain_id ~ '^[0-9]{1,20}$'),
    trigger_contract_address tgx.eth_address NOT NULL,
    trigger_event            text NOT NULL CHECK (trigger_event ~ '^[A-Za-z_][A-Za-z0-9_]*\(.*\)$'),
    event_filter_para_name   text,
    event_filter_value       text,
    last_block               bigint,
    fire_count               bigint NOT NULL DEFAULT 0,
    CHECK ((event_filter_para_name IS NULL) = (event_filter_value IS NULL))
);
COMMENT ON TABLE tgx.event_triggers IS 'Event triggers (task_definition_id 3, 4): a contract event on a chain';
CREATE INDEX event_triggers_chain ON tgx.event_triggers (trigger_chain_id);

CREATE TABLE tgx.condition_triggers (
    job_id             tgx.uint256 PRIMARY KEY REFERENCES tgx.jobs,
    condition_type     text NOT NULL CHECK (condition_type IN ('greater_than', 'less_than', 'between', 'equals',
                                                               'not_equals', 'greater_equal', 'less_equal')),
    upper_limit        double precision,
    lower_limit        double precision,
    value_source_type  text NOT NULL CHECK (value_source_type IN ('api', 'oracle', 'static', 'websocket')),
    value_source_url   text NOT NULL,
    selected_key_route text,
    check_interval     interval NOT NULL DEFAULT interval '1 second' CHECK (check_interval >= interval '100 milliseconds'),
    next_check_at      timestamptz,
    last_value         double precision,
    last_checked_at    timestamptz,
    last_satisfied     boolean,
    fire_count         bigint NOT NULL DEFAULT 0,
    CHECK (condition_type <> 'between' OR (lower_limit IS NOT NULL AND upper_limit IS NOT NULL AND lower_limit <= upper_limit))
);
COMMENT ON TABLE tgx.condition_triggers IS 'Condition triggers (task_definition_id 5, 6): a value source compared with limits';
CREATE INDEX condition_triggers_due ON tgx.condition_triggers (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE tgx.custom_scripts (
    job_id             tgx.uint256 PRIMARY KEY REFERENCES tgx.jobs,
    custom_script_url  text NOT NULL,
    script_language    text NOT NULL CHECK (script_language IN ('ts', 'go', 'python', 'javascript')),
    script_hash        text,
    max_execution_time integer NOT NULL DEFAULT 300 CHECK (max_execution_time BETWEEN 1 AND 3600),
    challenge_period   bigint NOT NULL DEFAULT 21600 CHECK (challenge_period >= 0)
);
COMMENT ON TABLE tgx.custom_scripts IS
    'Custom script jobs (task_definition_id 7); their timing lives in tgx.time_schedules (interval)';

CREATE TABLE tgx.script_storage (
    job_id        tgx.uint256 NOT NULL REFERENCES tgx.jobs,
    storage_key   text NOT NULL,
    storage_value text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, storage_key)
);
COMMENT ON TABLE tgx.script_storage IS 'Per-job key/value storage of custom scripts';

------------------------------------------------------------------------------
-- Keepers
------------------------------------------------------------------------------

CREATE TABLE tgx.keepers (
    keeper_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    keeper_address    tgx.eth_address NOT NULL UNIQUE,
    keeper_name       text NOT NULL DEFAULT '',
    consensus_address tgx.eth_address,
    registered_tx     text,
    operator_id       bigint,
    rewards_address   tgx.eth_address,
    rewards_booster   double precision NOT NULL DEFAULT 1.0 CHECK (rewards_booster >= 0),
    voting_power      bigint NOT NULL DEFAULT 0,
    keeper_points     double precision NOT NULL DEFAULT 0,
    connection_address text,
    peer_id           text,
    strategies        text[] NOT NULL DEFAULT '{}',
    whitelisted       boolean NOT NULL DEFAULT false,
    registered        boolean NOT NULL DEFAULT true,
    online            boolean NOT NULL DEFAULT false,
    draining          boolean NOT NULL DEFAULT false,
    version           text,
    capacity          integer NOT NULL DEFAULT 16 CHECK (capacity BETWEEN 1 AND 10000),
    chain_ids         text[] NOT NULL DEFAULT '{}',
    no_executed_tasks bigint NOT NULL DEFAULT 0,
    no_attested_tasks bigint NOT NULL DEFAULT 0,
    chat_id           bigint,
    email_id          text,
    last_checked_in   timestamptz,
    offline_since     timestamptz,
    offline_alerted   boolean NOT NULL DEFAULT false,
    on_imua           boolean NOT NULL DEFAULT false,
    uptime            bigint NOT NULL DEFAULT 0 CHECK (uptime >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.keepers IS
    'Keeper nodes; only online, whitelisted, non-draining keepers receive work. chain_ids empty = serves every chain';

CREATE TABLE tgx.keeper_checkins (
    keeper_id     bigint NOT NULL REFERENCES tgx.keepers,
    checked_in_at timestamptz NOT NULL DEFAULT now(),
    version       text,
    uptime        bigint,
    PRIMARY KEY (keeper_id, checked_in_at)
);
COMMENT ON TABLE tgx.keeper_checkins IS 'History of keeper check-ins';

------------------------------------------------------------------------------
-- Tasks: the run ledger and the hot work set
------------------------------------------------------------------------------

-- One row per task, one state machine, changed only by stored functions.  The hot
-- work set is the set of non-terminal rows, read only through the partial indexes
-- below, so claims stay as fast with tens of millions of finished rows.
CREATE TABLE tgx.tasks (
    task_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id                tgx.uint256 NOT NULL REFERENCES tgx.jobs,
    task_definition_id    smallint NOT NULL CHECK (task_definition_id BETWEEN 1 AND 7),
    task_number           bigint,
    state                 tgx.task_state NOT NULL DEFAULT 'pending',
    scheduled_for         timestamptz NOT NULL DEFAULT now(),
    due_at                timestamptz NOT NULL DEFAULT now(),
    attempt               integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts          integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    keeper_id             bigint REFERENCES tgx.keepers,
    lease_epoch           bigint NOT NULL DEFAULT 0 CHECK (lease_epoch >= 0),
    lease_until           timestamptz,
    excluded_keepers      bigint[] NOT NULL DEFAULT '{}',
    attest_deadline       timestamptz,
    trigger_data          jsonb,
    result                jsonb,
    execution_tx_hash     tgx.tx_hash,
    execution_timestamp   timestamptz,
    gas_used              numeric(78, 0),
    task_opx_cost         double precision NOT NULL DEFAULT 0,
    task_performer_id     bigint REFERENCES tgx.keepers,
    task_attester_ids     bigint[],
    proof_of_task         text,
    tp_signature          bytea,
    ta_signature          bytea,
    task_submission_tx_hash text,
    converted_arguments   text[],
    task_error            text,
    is_successful         boolean,
    is_accepted           boolean,
    is_imua               boolean NOT NULL DEFAULT false,
    trace_id              text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    started_at            timestamptz,
    finished_at           timestamptz,
    CHECK ((state IN ('assigned', 'running', 'attesting')) <= (keeper_id IS NOT NULL)),
    CHECK ((state IN ('assigned', 'running')) <= (lease_until IS NOT NULL)),
    CHECK ((state = 'attesting') <= (attest_deadline IS NOT NULL)),
    CHECK ((state IN ('succeeded', 'rejected', 'dead', 'cancelled')) = (finished_at IS NOT NULL))
);
COMMENT ON TABLE tgx.tasks IS
    'The run ledger: every task of every job, its state (tgx.task_state), current keeper and lease (lease_epoch is the '
    'fencing number), and its outcome. Attempts are in tgx.task_attempts';
CREATE INDEX tasks_job ON tgx.tasks (job_id, task_id DESC);
CREATE INDEX tasks_due ON tgx.tasks (due_at, task_id) WHERE state IN ('scheduled', 'pending');
CREATE INDEX tasks_assigned ON tgx.tasks (keeper_id, task_id) WHERE state = 'assigned';
CREATE INDEX tasks_leased ON tgx.tasks (lease_until) WHERE state IN ('assigned', 'running');
CREATE INDEX tasks_attesting ON tgx.tasks (attest_deadline) WHERE state = 'attesting';
CREATE INDEX tasks_keeper_active ON tgx.tasks (keeper_id) WHERE state IN ('assigned', 'running', 'attesting');

CREATE TABLE tgx.task_attempts (
    task_id     bigint NOT NULL REFERENCES tgx.tasks,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    keeper_id   bigint NOT NULL REFERENCES tgx.keepers,
    lease_epoch bigint NOT NULL,
    assigned_at timestamptz NOT NULL,
    started_at  timestamptz,
    ended_at    timestamptz,
    outcome     text CHECK (outcome IN ('result', 'transient', 'permanent', 'lease_expired', 'ack_timeout',
                                        'keeper_offline', 'cancelled')),
    error       text,
    PRIMARY KEY (task_id, attempt)
);
COMMENT ON TABLE tgx.task_attempts IS 'Every attempt of every task: which keeper, under which epoch, and how it ended';

CREATE TABLE tgx.attestations (
    task_id      bigint NOT NULL REFERENCES tgx.tasks,
    keeper_id    bigint NOT NULL REFERENCES tgx.keepers,
    lease_epoch  bigint NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    deadline     timestamptz NOT NULL,
    verdict      boolean,
    reason       text,
    signature    bytea,
    attested_at  timestamptz,
    superseded   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (task_id, keeper_id, lease_epoch),
    CHECK ((verdict IS NULL) = (attested_at IS NULL))
);
COMMENT ON TABLE tgx.attestations IS
    'Attesters chosen for a task result (lease_epoch of the result) and their verdicts; superseded rows were replaced '
    'after their deadline';
CREATE INDEX attestations_open ON tgx.attestations (keeper_id, deadline) WHERE verdict IS NULL AND NOT superseded;

------------------------------------------------------------------------------
-- Chains, alerts, audit
------------------------------------------------------------------------------

CREATE TABLE tgx.chain_cursors (
    chain_id   text PRIMARY KEY CHECK (chain_id ~ '^[0-9]{1,20}$'),
    last_block bigint NOT NULL CHECK (last_block >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.chain_cursors IS 'Per chain: the last block whose logs were processed for event triggers';

CREATE TABLE tgx.alerts (
    alert_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('keeper_offline', 'task_dead', 'job_failing', 'other')),
    subject       text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    dedup_key     text UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    next_try_at   timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    delivered_at  timestamptz,
    given_up_at   timestamptz,
    last_error    text
);
COMMENT ON TABLE tgx.alerts IS 'Outbox of alerts, delivered by the health role (webhook, Telegram-style HTTP, SMTP)';
CREATE INDEX alerts_undelivered ON tgx.alerts (next_try_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;

CREATE TABLE tgx.alert_deliveries (
    alert_id     bigint NOT NULL REFERENCES tgx.alerts,
    channel      text NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    ok           boolean NOT NULL,
    error        text
);
COMMENT ON TABLE tgx.alert_deliveries IS 'Every delivery attempt of every alert';
CREATE INDEX alert_deliveries_alert ON tgx.alert_deliveries (alert_id);

CREATE TABLE tgx.audit_log (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor       text NOT NULL DEFAULT session_user,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    reason      text NOT NULL CHECK (char_length(btrim(reason)) > 0),
    old_value   jsonb,
    new_value   jsonb
);
COMMENT ON TABLE tgx.audit_log IS 'Every steering action: who, when, why, and the values before and after';
CREATE INDEX audit_log_object ON tgx.audit_log (object_type, object_id, at);
