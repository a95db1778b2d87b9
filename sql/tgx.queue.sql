-- tgx.queue.sql: the queue family of the SQL API: dispatch, take, results, failures,
-- lease expiry, and the next deadline of the queue.
--
-- The task life cycle (ARCHITECTURE.md) and where each transition lives:
--   scheduled/pending -> assigned         tgx.dispatch_tasks (claimed due tasks; scheduled
--                                         tasks found due but left without a keeper -> pending)
--   assigned -> running                   tgx.keeper_take
--   assigned -> pending                   tgx._task_requeue (ack timeout, keeper offline)
--   running  -> attesting                 tgx._task_accept (submit_result, submit_results)
--   running  -> succeeded                 tgx._task_accept when nobody can attest (attesters
--                                         = 0 or no peer online): one update instead of
--                                         attesting followed by the verdict none_available;
--                                         its accounting follows in tgx.settle_tasks
--                                         (tgx.task_settlements)
--   running  -> scheduled (retry) / dead  tgx._task_fail (fail_task, lease expiry, keeper offline)
--   attesting -> succeeded / rejected     tgx._task_decide (tgx.attestation.sql)
-- Every helper changes only tasks in the state it expects, so terminal tasks (succeeded,
-- rejected, dead, cancelled) are never touched.  Lock order: see tgx.keepers.sql.
--
-- Plan stability: a query that fetches given task ids and then checks their state writes
-- the check as `t.state::text = '...'`.  The cast keeps the partial indexes on state
-- (tasks_due, tasks_keeper_active, tasks_attesting ...) out of reach, so the planner always
-- goes through the primary key, even when statistics say a state is (still) empty.
-- Queries meant to scan a state (claims, expiry) compare the enum and use those indexes.
-- The hot path (tgx.dispatch_tasks, tgx.keeper_take, tgx._task_accept and what they call,
-- triggers included) runs with enable_seqscan and enable_bitmapscan off: every statement there
-- touches a batch of rows found by key or by a partial index, and a plan chosen from stale
-- statistics (a sequential scan of a table analyzed while small, a bitmap scan that sorts a
-- whole keeper's index entries before LIMIT) costs O(table) per call.  They also run with jit
-- off: the cost penalty of a disabled scan (or a large estimate) would otherwise trigger JIT
-- compilation, hundreds of milliseconds for a statement that runs in a fraction of one.  And
-- they use generic plans (plan_cache_mode = force_generic_plan): their statements take arrays
-- of ids, for which the plan cache would otherwise re-plan every call (custom plans look cheaper
-- with the array's values known), and planning the larger statements costs more than running
-- them for one task; with the scans above disabled, the generic plans are the key lookups.
-- Two more rules keep a generic plan linear whatever it estimates (each broke once):
--   * a join of a batch (an unnest of arrays, or rows just updated) with a table probes the
--     table by key per row and carries no "= ANY (batch)" on the probed side: with it, a
--     generic plan put the table outside and rescanned the whole batch for every row; a batch
--     that comes from a claim (whose generic estimate is a tenth of the backlog, hundreds of
--     rows) reads the tables it only reads by a LATERAL subquery with LIMIT, which no plan
--     turns into a hash join over the whole table (tests/sql/hot_path_work.sql);
--   * a claim orders by something only its own index gives (tasks_assigned: keeper_id,
--     due_at, task_id), and a count is written so that only its index's predicate is implied
--     (tgx.keeper_load): otherwise another index that gives the same order or predicate
--     (the primary key, tasks_leased) may be walked, filtering every row it holds.

------------------------------------------------------------------------------
-- Dispatch
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.dispatch_tasks(
    i_batch integer DEFAULT 100,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx.dispatch_tasks(batch, now)
--   The dispatcher role's step.  Claims up to i_batch due tasks (state scheduled or
--   pending, due_at <= now, oldest first, FOR UPDATE SKIP LOCKED over the partial
--   index tasks_due) and assigns each to the best eligible keeper: online,
--   whitelisted, not draining, not in the task's excluded_keepers, serving the job's
--   target_chain_id (keepers.chain_ids empty = every chain), with spare capacity
--   (capacity - tasks assigned or running, counted as tgx.keeper_load does).
--   Each eligible keeper is locked for the call with a transaction advisory lock
--   (class 1952937985), taken in keeper_id order and waited for, so concurrent
--   dispatchers never overfill a keeper: a second dispatcher waits until the first
--   commits and then reads its assignments (a try-lock would make it skip every keeper
--   the first one holds and return 0 with due tasks left behind).  Scores are computed once per call
--   (tgx._keeper_scores); every keeper offers one slot per spare place, slot j worth
--     0.4 performance + 0.3 (1 - (active + j - 1) / capacity) + 0.2 reputation
--     + 0.1 specialization[task_definition_id]
--   so a keeper's later slots are worth less and the batch spreads over keepers as
--   they fill.  Tasks with the same placement constraints (chain, definition,
--   exclusions) form a group; groups are placed one after the other, the group with
--   the oldest task first, each taking its best free slots for its tasks in due order
--   (one set-based statement per group; a batch usually has a handful of groups).
--   On assignment: state assigned, keeper_id, lease_epoch + 1 (the fencing number),
--   lease_until = now + setting ack_timeout, attempt + 1, a tgx.task_attempts row.
--   Claimed scheduled tasks that found no keeper become pending.  Tasks whose chain no
--   eligible keeper serves, or that exclude every eligible keeper, are not claimed:
--   they wait.
-- Parameters:
--   i_batch  at most this many tasks (1..10000)
-- Returns: the number of tasks assigned (0 when no keeper is eligible).
-- Raises: 22023 for a batch out of range.
-- Tables: tgx.tasks, tgx.task_attempts; reads
--   tgx.keepers, tgx.keeper_stats, tgx.jobs.
-- Notifies: tgx_assigned (payload keeper_id, once per keeper), tgx_task_changed.
DECLARE
    c_lock_class CONSTANT integer := 1952937985;   -- 0x74677801, "tgx" + 1: keeper capacity
    v_ack interval;
    v_candidates bigint[];
    v_keepers tgx._keeper_score[];
    v_keeper_ids bigint[];
    v_all_chains boolean;
    v_chain_free boolean;
    v_chains text[];
    v_tasks tgx._dispatch_task[];
    v_asg_t bigint[] := '{}'::bigint[];
    v_asg_k bigint[] := '{}'::bigint[];
    v_group record;
    v_pick bigint[];
    v_waiting bigint[];
BEGIN
    PERFORM tgx._check_batch(i_batch);

    -- 1. eligible keepers, each locked for this call (in key order: no deadlock between
    --    dispatchers; nothing else takes these locks); the ack timeout with them
    SELECT array_agg(k.keeper_id ORDER BY k.keeper_id),
           (SELECT s.value::interval FROM tgx.settings s WHERE s.name = 'ack_timeout')
      INTO v_candidates, v_ack
      FROM tgx.keepers k
     WHERE k.online AND k.whitelisted AND NOT k.draining;
    IF v_candidates IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(c_lock_class, (c.keeper_id % 2147483647)::integer)
       FROM (SELECT x.keeper_id FROM unnest(v_candidates) AS x(keeper_id) ORDER BY x.keeper_id) c;

    -- 2. their scores, read after locking (so every committed assignment is counted)
    SELECT array_agg(s ORDER BY s.keeper_id), array_agg(s.keeper_id),
           bool_or(cardinality(s.chain_ids) = 0), bool_and(cardinality(s.chain_ids) = 0)
      INTO v_keepers, v_keeper_ids, v_all_chains, v_chain_free
      FROM tgx._keeper_scores(v_candidates, i_now) s
     WHERE s.eligible AND s.active < s.capacity;   -- still eligible after the wait
    IF v_keepers IS NULL THEN
        RETURN 0;
    END IF;
    IF NOT v_all_chains THEN
        SELECT array_agg(DISTINCT c.c) INTO v_chains
          FROM unnest(v_keepers) k CROSS JOIN LATERAL unnest(k.chain_ids) AS c(c);
    END IF;

    -- 3. claim due tasks some keeper can take (the job's chain is read only when some
    --    keeper is limited to some chains)
    SELECT array_agg(ROW(c.task_id, c.due_at, c.state, c.target_chain_id, c.task_definition_id,
                         c.excluded_keepers)::tgx._dispatch_task ORDER BY c.due_at, c.task_id)
      INTO v_tasks
      FROM (SELECT t.task_id, t.due_at, t.state, j.target_chain_id, t.task_definition_id, t.excluded_keepers
              FROM tgx.tasks t
              LEFT JOIN LATERAL (SELECT jb.target_chain_id FROM tgx.jobs jb
                                  WHERE jb.job_id = t.job_id AND NOT v_chain_free) j ON true
             WHERE t.state IN ('scheduled', 'pending')
               AND t.due_at <= i_now
               AND (v_all_chains OR j.target_chain_id = ANY (v_chains))
               AND NOT (v_keeper_ids <@ t.excluded_keepers)
             ORDER BY t.due_at, t.task_id
             LIMIT i_batch
               FOR UPDATE OF t SKIP LOCKED) c;
    IF v_tasks IS NULL THEN
        RETURN 0;
    END IF;

    -- 4. place them, one group of tasks with the same constraints (chain, definition,
    --    exclusions) at a time, the group with the oldest task first: the group's tasks,
    --    oldest first, take its best free slots; the keepers' loads then include them
    FOR v_group IN
        SELECT t.target_chain_id, t.task_definition_id, t.excluded_keepers,
               array_agg(t.task_id ORDER BY t.due_at, t.task_id) AS ids
          FROM unnest(v_tasks) t
         GROUP BY t.target_chain_id, t.task_definition_id, t.excluded_keepers
         ORDER BY min(t.due_at), min(t.task_id)
    LOOP
        WITH pick AS (
            SELECT k.keeper_id, j.j,
                   0.4 * k.performance + 0.2 * k.reputation
                   + 0.3 * (1 - (k.active + j.j - 1)::float8 / k.capacity)
                   + 0.1 * k.specialization[v_group.task_definition_id] AS score
              FROM unnest(v_keepers) k
             CROSS JOIN LATERAL generate_series(1, least(k.capacity - k.active, cardinality(v_group.ids))) AS j(j)
             WHERE (cardinality(k.chain_ids) = 0 OR v_group.target_chain_id = ANY (k.chain_ids))
               AND k.keeper_id <> ALL (v_group.excluded_keepers)
             ORDER BY 3 DESC, 1, 2
             LIMIT cardinality(v_group.ids)
        ), taken AS (
            SELECT p.keeper_id, count(*)::integer AS n FROM pick p GROUP BY p.keeper_id
        )
        SELECT (SELECT array_agg(p.keeper_id ORDER BY p.score DESC, p.keeper_id, p.j) FROM pick p),
               (SELECT array_agg(ROW(k.keeper_id, k.eligible, k.active + coalesce(tk.n, 0), k.capacity, k.chain_ids,
                                     k.performance, k.reputation, k.specialization)::tgx._keeper_score
                                 ORDER BY k.keeper_id)
                  FROM unnest(v_keepers) k LEFT JOIN taken tk ON tk.keeper_id = k.keeper_id)
          INTO v_pick, v_keepers;
        CONTINUE WHEN v_pick IS NULL;
        v_asg_t := v_asg_t || v_group.ids[1:cardinality(v_pick)];
        v_asg_k := v_asg_k || v_pick;
    END LOOP;

    -- 5. apply
    IF cardinality(v_asg_t) > 0 THEN
        WITH a AS (
            SELECT x.task_id, x.keeper_id FROM unnest(v_asg_t, v_asg_k) AS x(task_id, keeper_id)
        ), u AS (
            UPDATE tgx.tasks t
               SET state = 'assigned', keeper_id = a.keeper_id, lease_epoch = t.lease_epoch + 1,
                   lease_until = i_now + v_ack, attempt = t.attempt + 1, started_at = NULL, updated_at = i_now
              FROM a
             WHERE t.task_id = a.task_id AND t.task_id = ANY (v_asg_t)
            RETURNING t.task_id, t.attempt, t.keeper_id, t.lease_epoch)
        INSERT INTO tgx.task_attempts AS ta (task_id, attempt, keeper_id, lease_epoch, assigned_at)
        SELECT u.task_id, u.attempt, u.keeper_id, u.lease_epoch, i_now FROM u ORDER BY u.task_id
        ON CONFLICT (task_id, attempt) DO UPDATE   -- only if someone lowered tasks.attempt
           SET keeper_id = EXCLUDED.keeper_id, lease_epoch = EXCLUDED.lease_epoch,
               assigned_at = EXCLUDED.assigned_at, started_at = NULL, ended_at = NULL, outcome = NULL, error = NULL;
        PERFORM pg_notify('tgx_assigned', k.keeper_id::text)
           FROM (SELECT DISTINCT x.keeper_id FROM unnest(v_asg_k) AS x(keeper_id) ORDER BY 1) k;
    END IF;
    IF cardinality(v_asg_t) < cardinality(v_tasks) THEN   -- some claimed task found no keeper
        SELECT array_agg(c.task_id) INTO v_waiting
          FROM unnest(v_tasks) c
         WHERE c.state = 'scheduled' AND c.task_id <> ALL (v_asg_t);
    END IF;
    IF v_waiting IS NOT NULL THEN
        UPDATE tgx.tasks t SET state = 'pending', updated_at = i_now
         WHERE t.task_id = ANY (v_waiting) AND t.state::text = 'scheduled';
    END IF;
    RETURN cardinality(v_asg_t);
END
$$;
COMMENT ON FUNCTION tgx.dispatch_tasks(integer, timestamptz) IS
    'Dispatcher step: claims up to i_batch due tasks (SKIP LOCKED) and assigns them to online, whitelisted, '
    'non-draining keepers serving the chain, not excluded, with spare capacity, by score (performance 40 %, load '
    '30 %, reputation 20 %, specialization 10 %, see tgx.keeper_scores) spread over keepers as they fill; '
    'lease_epoch + 1, ack deadline, attempt row; returns tasks assigned (0 when no keeper is eligible)';

------------------------------------------------------------------------------
-- Take
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._keeper_must_exist(i_keeper_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._keeper_must_exist(keeper_id)
-- Raises: P0002 "keeper N does not exist" when there is no such keeper.
BEGIN
    PERFORM 1 FROM tgx.keepers k WHERE k.keeper_id = i_keeper_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'keeper % does not exist', i_keeper_id USING ERRCODE = 'P0002';
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._keeper_must_exist(bigint) IS 'Internal: P0002 for an unknown keeper';

CREATE OR REPLACE FUNCTION tgx.keeper_take(
    i_keeper_id bigint,
    i_limit integer DEFAULT 1,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS SETOF tgx.task_lease
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx.keeper_take(keeper_id, limit, now)
--   A keeper acknowledges and starts up to i_limit tasks assigned to it (index
--   tasks_assigned, the most overdue first, SKIP LOCKED so two polls of one keeper never
--   get the same task): state running, started_at = now, lease_until = now + setting
--   lease_duration.  Only tasks assigned to this keeper are taken.  An ack deadline
--   that passed is enforced by tgx.expire_leases(), not here: until the monitor has
--   taken the task back, its keeper may still take it.  Runs with enable_sort off besides
--   the settings of the hot path (file header): the claim must walk tasks_assigned in its
--   order and stop at i_limit, not sort every task of the keeper that another index finds.
--   Only tasks_assigned gives the order (due_at, task_id) for one keeper: the primary key,
--   which gives task_id order, is never walked instead (migration 0014).  Hash and merge
--   joins are off too: the claimed tasks and their attempts are probed by primary key.  (Where
--   one keeper held much of a young ledger, the generic plan found a hash join of the claim to
--   every task and attempt cheaper: each take read both tables whole.)
-- Parameters:
--   i_keeper_id  the keeper
--   i_limit      at most this many tasks (1..1000)
-- Returns: one tgx.task_lease per task taken (what to execute, and the lease epoch to
--   quote in tgx.submit_result / tgx.fail_task); no rows when there is nothing.
-- Raises: P0002 for an unknown keeper; 22023 for a limit out of range.
-- Tables: tgx.tasks, tgx.task_attempts; reads tgx.jobs, tgx.custom_scripts.
-- Notifies: tgx_task_changed.
BEGIN
    IF i_limit IS NULL OR i_limit < 1 OR i_limit > 1000 THEN
        RAISE EXCEPTION 'invalid limit %', i_limit
            USING ERRCODE = '22023', DETAIL = 'The limit must be between 1 and 1000.';
    END IF;

    -- One statement: the claim, the tasks, their attempts (by primary key: the claim reads
    -- each task's attempt number) and what to execute.
    RETURN QUERY
    WITH c AS (
        SELECT t.task_id FROM tgx.tasks t
         WHERE t.state = 'assigned' AND t.keeper_id = i_keeper_id
         ORDER BY t.keeper_id, t.due_at, t.task_id
         LIMIT i_limit
           FOR UPDATE SKIP LOCKED
    ), u AS (
        UPDATE tgx.tasks t
           SET state = 'running', started_at = i_now,
               lease_until = i_now + (SELECT s.value::interval FROM tgx.settings s WHERE s.name = 'lease_duration'),
               updated_at = i_now
          FROM c
         WHERE t.task_id = c.task_id
        RETURNING t.*
    ), a AS (
        UPDATE tgx.task_attempts ta SET started_at = i_now
          FROM u
         WHERE ta.task_id = u.task_id AND ta.attempt = u.attempt
    )
    SELECT u.task_id, j.job_id::numeric, u.keeper_id, u.lease_epoch, u.lease_until, u.attempt,
           u.task_definition_id, j.target_chain_id, j.target_contract_address::text, j.target_function,
           j.abi, j.arg_type, j.arguments, j.dynamic_arguments_script_url,
           cs.custom_script_url, cs.script_language, u.trigger_data, u.scheduled_for, u.trace_id
      FROM u
      -- the job and the custom script by a lateral probe of their primary keys (LIMIT: kept a
      -- subquery, so probed by key per task): a plain join may be planned as a hash join over
      -- the whole table, which costs O(jobs) per take
      CROSS JOIN LATERAL (SELECT jb.job_id, jb.target_chain_id, jb.target_contract_address, jb.target_function,
                                 jb.abi, jb.arg_type, jb.arguments, jb.dynamic_arguments_script_url
                            FROM tgx.jobs jb WHERE jb.job_id = u.job_id LIMIT 1) j
      LEFT JOIN LATERAL (SELECT x.custom_script_url, x.script_language FROM tgx.custom_scripts x
                          WHERE x.job_id = u.job_id
                          LIMIT 1) cs ON true
     ORDER BY u.task_id;
    IF NOT FOUND THEN
        -- nothing to take: an unknown keeper is an error (a known one simply has no work)
        PERFORM tgx._keeper_must_exist(i_keeper_id);
    END IF;
END
$$;
COMMENT ON FUNCTION tgx.keeper_take(bigint, integer, timestamptz) IS
    'Keeper acknowledges up to i_limit tasks assigned to it: running, lease_until = now + lease_duration; returns '
    'tgx.task_lease rows (quote lease_epoch back); P0002 for an unknown keeper';

------------------------------------------------------------------------------
-- Fencing
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._raise_stale_lease(
    i_task_id bigint, i_keeper_id bigint, i_lease_epoch bigint,
    i_state tgx.task_state, i_holder bigint, i_epoch bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._raise_stale_lease(task_id, keeper_id, lease_epoch, state, holder, epoch)
--   Raises the one error of the fencing rule: a keeper reported on a task it does not
--   hold under exactly the epoch it quoted (or the task is past that stage).
-- Raises: always 55000 "stale lease epoch N for task T".
BEGIN
    RAISE EXCEPTION 'stale lease epoch % for task %', i_lease_epoch, i_task_id
        USING ERRCODE = '55000',
              DETAIL = format('Keeper %s quoted epoch %s, but the task is %s under epoch %s%s.',
                              i_keeper_id, i_lease_epoch, i_state, i_epoch,
                              CASE WHEN i_holder IS NULL THEN '' ELSE ' held by keeper ' || i_holder END),
              HINT = 'The lease ended or moved to another keeper; this report is discarded.';
END
$$;
COMMENT ON FUNCTION tgx._raise_stale_lease(bigint, bigint, bigint, tgx.task_state, bigint, bigint) IS
    'Internal: raises 55000 "stale lease epoch" with the task''s current state, epoch and holder';

CREATE OR REPLACE FUNCTION tgx._task_fence(i_task_id bigint, i_keeper_id bigint, i_lease_epoch bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_fence(task_id, keeper_id, lease_epoch)
--   Locks the task and checks the fencing rule: it must be running on i_keeper_id under
--   exactly i_lease_epoch.
-- Raises: P0002 for an unknown task; 55000 stale lease epoch otherwise.
-- Tables: tgx.tasks (row lock).
DECLARE
    v tgx.tasks;
BEGIN
    SELECT * INTO v FROM tgx.tasks t WHERE t.task_id = i_task_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    IF v.state <> 'running' OR v.keeper_id IS DISTINCT FROM i_keeper_id OR v.lease_epoch IS DISTINCT FROM i_lease_epoch THEN
        PERFORM tgx._raise_stale_lease(i_task_id, i_keeper_id, i_lease_epoch, v.state, v.keeper_id, v.lease_epoch);
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._task_fence(bigint, bigint, bigint) IS
    'Internal: locks a task and checks it is running on the keeper under the quoted epoch (P0002, 55000)';

------------------------------------------------------------------------------
-- Results
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._result_problem(i_result jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
-- Function: tgx._result_problem(result)
--   What is wrong with a keeper's result object, in words (NULL: nothing; a NULL or JSON
--   null result is an empty one).  A plain SQL expression, inlined where it is called.
SELECT CASE
    WHEN coalesce(jsonb_typeof(i_result), 'null') NOT IN ('object', 'null')
        THEN 'result must be a JSON object'
    WHEN coalesce(jsonb_typeof(i_result->'execution_tx_hash'), 'null') <> 'null'
         AND coalesce(i_result->>'execution_tx_hash', '') !~ '^0x[0-9a-fA-F]{64}$'
        THEN 'result.execution_tx_hash must be 0x followed by 64 hex digits'
    WHEN coalesce(jsonb_typeof(i_result->'execution_timestamp'), 'null') NOT IN ('null', 'number', 'string')
        THEN 'result.execution_timestamp must be unix seconds or a timestamp string'
    WHEN coalesce(jsonb_typeof(i_result->'gas_used'), 'null') NOT IN ('null', 'number', 'string')
         OR (i_result->>'gas_used') !~ '^[0-9]{1,78}$'
        THEN 'result.gas_used must be a non-negative integer'
    WHEN coalesce(jsonb_typeof(i_result->'task_opx_cost'), 'null') NOT IN ('null', 'number', 'string')
         OR (i_result->>'task_opx_cost') !~ '^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$'
        THEN 'result.task_opx_cost must be a non-negative number'
    WHEN coalesce(jsonb_typeof(i_result->'converted_arguments'), 'null') NOT IN ('null', 'array')
        THEN 'result.converted_arguments must be an array'
    WHEN coalesce(jsonb_typeof(i_result->'proof_of_task'), 'null') NOT IN ('null', 'string')
        THEN 'result.proof_of_task must be a string'
    END
$$;
COMMENT ON FUNCTION tgx._result_problem(jsonb) IS
    'Internal: what is wrong with a keeper''s result object (NULL: nothing), for the 22023 of tgx.submit_result(s)';

CREATE OR REPLACE FUNCTION tgx._result_fields(i_result jsonb)
RETURNS TABLE (result jsonb, tx_hash text, executed_at timestamptz, gas_used numeric, cost double precision,
               converted text[], proof text)
LANGUAGE sql STABLE
AS $$
-- Function: tgx._result_fields(result)
--   The task fields a valid result object (tgx._result_problem) carries: one row, NULL
--   where the result says nothing; the result itself, '{}' for NULL.  Inlined where it is
--   called (a set-returning SQL function of one SELECT).
SELECT coalesce(nullif(i_result, 'null'::jsonb), '{}'::jsonb),
       lower(i_result->>'execution_tx_hash'),
       CASE jsonb_typeof(i_result->'execution_timestamp')
           WHEN 'string' THEN (i_result->>'execution_timestamp')::timestamptz
           WHEN 'number' THEN to_timestamp((i_result->>'execution_timestamp')::float8)
       END,
       (i_result->>'gas_used')::numeric,
       (i_result->>'task_opx_cost')::float8,
       CASE WHEN jsonb_typeof(i_result->'converted_arguments') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(i_result->'converted_arguments')) END,
       i_result->>'proof_of_task'
$$;
COMMENT ON FUNCTION tgx._result_fields(jsonb) IS
    'Internal: the task fields of a keeper''s result object (tx hash, execution time, gas, cost in ETH, converted '
    'arguments, proof), one row';

CREATE OR REPLACE FUNCTION tgx._result_timestamps_check(i_results jsonb[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._result_timestamps_check(results)
--   Parses the execution_timestamp of every result now, so that a bad one is a 22023
--   and not an error in the middle of the update.
-- Raises: 22023 "invalid result: result.execution_timestamp is not a valid timestamp".
BEGIN
    PERFORM f.executed_at FROM unnest(i_results) AS r(r) CROSS JOIN LATERAL tgx._result_fields(r.r) f;
EXCEPTION WHEN data_exception THEN
    RAISE EXCEPTION 'invalid result: result.execution_timestamp is not a valid timestamp'
        USING ERRCODE = '22023', DETAIL = SQLERRM;
END
$$;
COMMENT ON FUNCTION tgx._result_timestamps_check(jsonb[]) IS
    'Internal: 22023 when the execution_timestamp of a result is not a valid timestamp';

CREATE OR REPLACE FUNCTION tgx._task_accept(
    i_keeper_id bigint, i_task_ids bigint[], i_epochs bigint[], i_results jsonb[], i_signatures bytea[],
    i_now timestamptz, OUT o_applied bigint[], OUT o_direct boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx._task_accept(keeper_id, task_ids, epochs, results, signatures, now)
--   The one implementation of "a keeper reports results" (running -> attesting, or
--   straight to succeeded when nobody can attest: setting attesters = 0 or no other
--   keeper online, whitelisted and not draining), for distinct tasks with their quoted
--   epochs and valid results (tgx._result_problem; the caller has checked them, and has
--   locked several tasks in key order).  A task is changed only when it is running on
--   i_keeper_id under exactly its epoch (the fencing rule).  The result fields
--   (tgx._result_fields) and the performer's signature over the result (i_signatures, the
--   keeper gateway's; NULL or shorter than i_task_ids: none, tp_signature is kept) are copied
--   into the task and the attempt is closed with outcome result, in one statement with:
--   * nobody to attest: the task ends at once exactly as through attesting and the
--     verdict none_available (succeeded, accepted, no attesters), and its accounting (the
--     job, user and linked-job part of tgx._task_settle, and the performer's ok counter,
--     points and executed count) is queued in tgx.task_settlements for tgx.settle_tasks();
--   * otherwise attesting; then the keeper's ok counter grows, attesters are chosen
--     (tgx._attest_fill) and the task is decided at once if nobody can be asked
--     (tgx._attest_tally).
-- Returns: o_applied, the tasks changed (NULL: none); o_direct, whether nobody could attest.
-- Tables: tgx.tasks, tgx.task_attempts, tgx.task_settlements, tgx.attestations, and
--   through the helpers tgx.jobs, tgx.users, tgx.keepers, tgx.keeper_stats.
DECLARE
    v_timeout interval;
    v_events tgx._keeper_event[];
BEGIN
    SELECT max(s.value) FILTER (WHERE s.name = 'attestation_timeout')::interval,
           max(s.value) FILTER (WHERE s.name = 'attesters')::integer <= 0
           OR NOT EXISTS (SELECT 1 FROM tgx.keepers k
                           WHERE k.online AND k.whitelisted AND NOT k.draining AND k.keeper_id <> i_keeper_id)
      INTO v_timeout, o_direct
      FROM tgx.settings s
     WHERE s.name IN ('attestation_timeout', 'attesters');
    WITH f AS (
        SELECT x.task_id, x.epoch, x.signature, r.*
          FROM unnest(i_task_ids, i_epochs, i_results, i_signatures) AS x(task_id, epoch, result, signature)
         CROSS JOIN LATERAL tgx._result_fields(x.result) r
    ), u AS (
        UPDATE tgx.tasks t
           SET state = CASE WHEN o_direct THEN 'succeeded'::tgx.task_state ELSE 'attesting'::tgx.task_state END,
               attest_deadline = i_now + v_timeout,
               lease_until = NULL,
               result = CASE WHEN o_direct THEN f.result || jsonb_build_object('attestation', 'none_available')
                             ELSE f.result END,
               execution_tx_hash = coalesce(f.tx_hash, t.execution_tx_hash),
               execution_timestamp = coalesce(f.executed_at, t.execution_timestamp),
               gas_used = coalesce(f.gas_used, t.gas_used),
               task_opx_cost = coalesce(f.cost, t.task_opx_cost),
               converted_arguments = coalesce(f.converted, t.converted_arguments),
               proof_of_task = coalesce(f.proof, t.proof_of_task),
               tp_signature = coalesce(f.signature, t.tp_signature),
               task_performer_id = i_keeper_id,
               finished_at = CASE WHEN o_direct THEN i_now ELSE t.finished_at END,
               is_accepted = CASE WHEN o_direct THEN true ELSE t.is_accepted END,
               is_successful = CASE WHEN o_direct THEN true ELSE t.is_successful END,
               task_attester_ids = CASE WHEN o_direct THEN '{}'::bigint[] ELSE t.task_attester_ids END,
               updated_at = i_now
          FROM f
         -- a primary-key probe per entry; no "= ANY" on tasks, which made tasks the outer side
         -- and rescanned every entry for every task (quadratic in the batch)
         WHERE t.task_id = f.task_id
           AND t.state::text = 'running' AND t.keeper_id = i_keeper_id AND t.lease_epoch = f.epoch
        RETURNING t.task_id, t.attempt, t.task_definition_id
    ), a AS (   -- the attempts, by primary key
        UPDATE tgx.task_attempts ta
           SET ended_at = i_now, outcome = 'result', error = NULL
          FROM u
         WHERE ta.task_id = u.task_id AND ta.attempt = u.attempt
    ), q AS (   -- accepted at once: the accounting, for tgx.settle_tasks()
        INSERT INTO tgx.task_settlements (task_id, attempt, keeper_id, enqueued_at)
        SELECT u.task_id, u.attempt, i_keeper_id, i_now FROM u WHERE o_direct
    )
    SELECT array_agg(u.task_id ORDER BY u.task_id),
           -- the keeper's ok counters, for the attesting path (accepted at once: settle_tasks)
           array_agg(ROW(i_keeper_id, u.task_definition_id, 1, 0, 0, 0, 0, 0, 0)::tgx._keeper_event)
               FILTER (WHERE NOT o_direct)
      INTO o_applied, v_events
      FROM u;
    IF o_applied IS NOT NULL AND NOT o_direct THEN
        PERFORM tgx._attest_fill(o_applied, '{}', i_now);
        PERFORM tgx._keeper_record(v_events || tgx._attest_tally(o_applied, i_now), i_now);
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._task_accept(bigint, bigint[], bigint[], jsonb[], bytea[], timestamptz) IS
    'Internal: the core of tgx.submit_result(s) and tgx.keeper_result: fences, copies result fields and signature, '
    'closes the attempt, chooses attesters or accepts at once (its accounting queued for tgx.settle_tasks); returns the tasks '
    'changed';

CREATE OR REPLACE FUNCTION tgx.submit_results(
    i_keeper_id bigint,
    i_results jsonb,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.submit_results(keeper_id, results, now)
--   Batched tgx.submit_result: i_results is a JSON array of
--   {"task_id": N, "lease_epoch": N, "result": {...}}.  Entries under the right lease
--   are applied (tgx._task_accept); stale ones (the keeper does not hold the task under
--   that epoch, or it is not running any more) are refused and skipped, so one late
--   result does not hold back the others.  Use tgx.submit_result to get the 55000 for a
--   single task.  Duplicate task ids: the first entry counts.  The tasks are locked in
--   task_id order first, so two calls never deadlock.
-- Parameters:
--   i_keeper_id  the reporting keeper
--   i_results    the array (may be empty)
-- Returns: how many entries were applied.
-- Raises: 22023 for a malformed array or entry (nothing is applied; the message names the
--   task and the field); P0002 for an unknown keeper (when nothing was applied).
-- Tables: see tgx._task_accept.
DECLARE
    v_bad record;
    v_ids bigint[];
    v_epochs bigint[];
    v_results jsonb[];
    v_applied bigint[];
    v_direct boolean;
BEGIN
    IF i_results IS NULL OR jsonb_typeof(i_results) <> 'array' THEN
        RAISE EXCEPTION 'results must be a JSON array' USING ERRCODE = '22023';
    END IF;
    SELECT e.n, coalesce(e.v->>'task_id', '#' || e.n) AS task, p.problem INTO v_bad
      FROM jsonb_array_elements(i_results) WITH ORDINALITY AS e(v, n)
     CROSS JOIN LATERAL (SELECT CASE
            WHEN jsonb_typeof(e.v) <> 'object' THEN 'the entry must be a JSON object'
            WHEN jsonb_typeof(e.v->'task_id') IS DISTINCT FROM 'number' OR e.v->>'task_id' !~ '^-?[0-9]{1,18}$'
                THEN 'task_id must be an integer'
            WHEN jsonb_typeof(e.v->'lease_epoch') IS DISTINCT FROM 'number' OR e.v->>'lease_epoch' !~ '^-?[0-9]{1,18}$'
                THEN 'lease_epoch must be an integer'
            ELSE tgx._result_problem(e.v->'result')
            END AS problem) p
     WHERE p.problem IS NOT NULL
     ORDER BY e.n
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid result for task %: %', v_bad.task, v_bad.problem
            USING ERRCODE = '22023', DETAIL = format('Entry %s of the results is malformed.', v_bad.n);
    END IF;

    -- the distinct task ids (first entry wins), their quoted epochs and results
    SELECT array_agg(r.task_id ORDER BY r.task_id), array_agg(r.lease_epoch ORDER BY r.task_id),
           array_agg(r.result ORDER BY r.task_id)
      INTO v_ids, v_epochs, v_results
      FROM (SELECT DISTINCT ON ((e.v->>'task_id')::bigint)
                   (e.v->>'task_id')::bigint AS task_id, (e.v->>'lease_epoch')::bigint AS lease_epoch,
                   e.v->'result' AS result
              FROM jsonb_array_elements(i_results) WITH ORDINALITY AS e(v, n)
             ORDER BY (e.v->>'task_id')::bigint, e.n) r;
    IF v_ids IS NOT NULL THEN
        IF i_results @? '$[*].result.execution_timestamp' THEN
            PERFORM tgx._result_timestamps_check(v_results);
        END IF;
        PERFORM 1 FROM tgx.tasks t
          WHERE t.task_id = ANY (v_ids) AND t.state::text = 'running' AND t.keeper_id = i_keeper_id
          ORDER BY t.task_id
            FOR UPDATE;
        SELECT a.o_applied, a.o_direct INTO v_applied, v_direct
          FROM tgx._task_accept(i_keeper_id, v_ids, v_epochs, v_results, NULL, i_now) a;
    END IF;
    IF v_applied IS NULL THEN
        PERFORM tgx._keeper_must_exist(i_keeper_id);
    END IF;
    RETURN coalesce(cardinality(v_applied), 0);
END
$$;
COMMENT ON FUNCTION tgx.submit_results(bigint, jsonb, timestamptz) IS
    'Batched results [{"task_id","lease_epoch","result"}]: applies those under the right lease, skips stale ones, '
    'returns how many were applied; 22023 malformed input, P0002 unknown keeper';

CREATE OR REPLACE FUNCTION tgx._submit_result(
    i_task_id bigint,
    i_keeper_id bigint,
    i_lease_epoch bigint,
    i_result jsonb,
    i_signature bytea,
    i_now timestamptz)
RETURNS tgx.task_state
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._submit_result(task_id, keeper_id, lease_epoch, result, signature, now)
--   tgx.submit_result, and tgx.keeper_result with the performer's signature over the result
--   (i_signature, NULL: none), which tgx._task_accept writes into tasks.tp_signature with the
--   result, so that the task row changes once.
-- Returns: the task's new state: attesting or succeeded.
-- Raises: 55000 stale lease epoch; P0002 unknown task or keeper; 22023 malformed result.
-- Tables: see tgx._task_accept.
DECLARE
    v_problem text := tgx._result_problem(i_result);
    v_applied bigint[];
    v_direct boolean;
    v tgx.tasks;
BEGIN
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'invalid result for task %: %', i_task_id, v_problem USING ERRCODE = '22023';
    END IF;
    IF i_result ? 'execution_timestamp' THEN
        PERFORM tgx._result_timestamps_check(ARRAY[i_result]);
    END IF;
    SELECT a.o_applied, a.o_direct INTO v_applied, v_direct
      FROM tgx._task_accept(i_keeper_id, ARRAY[i_task_id], ARRAY[i_lease_epoch], ARRAY[i_result],
                            ARRAY[i_signature], i_now) a;
    IF v_applied IS NOT NULL AND v_direct THEN
        RETURN 'succeeded';
    END IF;
    SELECT * INTO v FROM tgx.tasks t WHERE t.task_id = i_task_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    ELSIF v_applied IS NULL THEN
        PERFORM tgx._keeper_must_exist(i_keeper_id);
        PERFORM tgx._raise_stale_lease(i_task_id, i_keeper_id, i_lease_epoch, v.state, v.keeper_id, v.lease_epoch);
    END IF;
    RETURN v.state;
END
$$;
COMMENT ON FUNCTION tgx._submit_result(bigint, bigint, bigint, jsonb, bytea, timestamptz) IS
    'Internal: the body of tgx.submit_result and tgx.keeper_result (with the performer''s signature, written with '
    'the result)';

CREATE OR REPLACE FUNCTION tgx.submit_result(
    i_task_id bigint,
    i_keeper_id bigint,
    i_lease_epoch bigint,
    i_result jsonb,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS tgx.task_state
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.submit_result(task_id, keeper_id, lease_epoch, result, now)
--   A keeper reports the result of a task it runs (tgx._task_accept).  Fencing rule:
--   accepted only from the keeper holding the task under exactly i_lease_epoch while it
--   is running, so a task completes exactly once even when executed twice.  The result
--   object may carry execution_tx_hash, execution_timestamp, gas_used, task_opx_cost
--   (ETH), converted_arguments, proof_of_task.  Then N attesters (setting attesters) are
--   chosen among other online, whitelisted, non-draining keepers serving the chain ->
--   attesting; with none available the result is accepted at once: succeeded with an
--   empty task_attester_ids and result->>'attestation' = 'none_available' (its
--   accounting follows in tgx.settle_tasks).
-- Parameters: i_result may be NULL (an empty result).
-- Returns: the task's new state: attesting or succeeded.
-- Raises: 55000 stale lease epoch; P0002 unknown task or keeper; 22023 malformed result.
-- Tables: see tgx._task_accept.
BEGIN
    RETURN tgx._submit_result(i_task_id, i_keeper_id, i_lease_epoch, i_result, NULL, i_now);
END
$$;
COMMENT ON FUNCTION tgx.submit_result(bigint, bigint, bigint, jsonb, timestamptz) IS
    'Keeper reports a result under its lease epoch (fencing: 55000 stale lease epoch otherwise); copies tx hash, '
    'timestamp, gas, cost, converted arguments; chooses attesters (attesting) or, with no peer, succeeds at once; '
    'returns the new state';

------------------------------------------------------------------------------
-- Settlement: the accounting of results accepted with nobody to attest
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._settle(i_task_ids bigint[], i_now timestamptz)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx._settle(task_ids, now)
--   The accounting of results that tgx._task_accept accepted at once (the caller has
--   deleted their tgx.task_settlements rows): the job, user and linked-job part of
--   tgx._task_settle, and the performer's keeper event (ok counter, points rewards_booster
--   * cost, executed count), as the attesting path would have recorded them.
-- Returns: the keeper events, for tgx._keeper_record (the caller applies them last).
-- Tables: through tgx._task_settle tgx.jobs, tgx.users, tgx.tasks (linked follower tasks).
DECLARE
    v_jobs numeric[];
    v_events tgx._keeper_event[];
BEGIN
    SELECT array_agg(DISTINCT t.job_id::numeric) FILTER (WHERE t.state::text = 'succeeded'),
           array_agg(ROW(t.task_performer_id, t.task_definition_id, 1, 0, 0, 0, greatest(t.task_opx_cost, 0), 1,
                         0)::tgx._keeper_event)
      INTO v_jobs, v_events
      FROM tgx.tasks t
     WHERE t.task_id = ANY (i_task_ids) AND t.task_performer_id IS NOT NULL;
    PERFORM tgx._task_settle(i_task_ids, v_jobs, i_now, false);
    RETURN coalesce(v_events, '{}'::tgx._keeper_event[]);
END
$$;
COMMENT ON FUNCTION tgx._settle(bigint[], timestamptz) IS
    'Internal: accounting of results accepted at once (job, user, linked jobs via tgx._task_settle); returns the '
    'performers'' keeper events';

CREATE OR REPLACE FUNCTION tgx.settle_tasks(
    i_batch integer DEFAULT 100,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx.settle_tasks(batch, now)
--   The monitor role's settling step: claims up to i_batch rows of tgx.task_settlements
--   (oldest task first, SKIP LOCKED, so several callers share the work) and applies the
--   accounting of those accepted results in one pass, a few set-based statements for the
--   whole batch: jobs.last_executed_at, job_cost_actual, consecutive_failures = 0;
--   users.total_tasks, user_points; linked follower jobs (a task, pending and due now);
--   the performers' points, executed counts and ok counters.  The rows are deleted in
--   the same transaction: each result is accounted for exactly once.  A job's pending
--   rows are also applied before a dead task is counted against it (tgx._task_fail).
-- Parameters:
--   i_batch  at most this many results (1..10000)
-- Returns: how many results were settled (0: nothing is waiting).
-- Raises: 22023 for a batch out of range.
-- Tables: tgx.task_settlements (delete), then as tgx._settle and tgx._keeper_record.
-- Notifies: tgx_dispatch when linked follower tasks were created.
DECLARE
    v_ids bigint[];
BEGIN
    PERFORM tgx._check_batch(i_batch);
    WITH c AS (
        SELECT s.task_id FROM tgx.task_settlements s
         ORDER BY s.task_id
         LIMIT i_batch
           FOR UPDATE SKIP LOCKED
    ), d AS (
        DELETE FROM tgx.task_settlements s USING c WHERE s.task_id = c.task_id
        RETURNING s.task_id
    )
    SELECT array_agg(d.task_id ORDER BY d.task_id) INTO v_ids FROM d;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM tgx._keeper_record(tgx._settle(v_ids, i_now), i_now);
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION tgx.settle_tasks(integer, timestamptz) IS
    'Monitor step: applies the accounting of up to i_batch results accepted with nobody to attest (job cost and last '
    'run, user points and count, linked follower jobs, performer points and counters), SKIP LOCKED; returns how many';

------------------------------------------------------------------------------
-- Failures, retries, lease expiry
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._task_requeue(
    i_task_ids bigint[], i_outcome text, i_exclude boolean, i_now timestamptz)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_requeue(task_ids, outcome, exclude, now)
--   The transition assigned -> pending (the keeper never took the task): back to
--   dispatch at once with the same due_at, the attempt closed with i_outcome
--   (ack_timeout or keeper_offline) and not counted against max_attempts
--   (uncounted_attempts + 1).  With i_exclude the keeper joins excluded_keepers, so the
--   task goes to another keeper.  Tasks not assigned are left alone.  The caller has
--   locked the tasks.
-- Returns: keeper events (a failed outcome for each keeper), for tgx._keeper_record.
-- Tables: tgx.tasks, tgx.task_attempts.
-- Notifies: tgx_dispatch, tgx_task_changed.
DECLARE
    v_events tgx._keeper_event[];
BEGIN
    WITH o AS (
        SELECT t.task_id, t.keeper_id, t.attempt, t.task_definition_id
          FROM tgx.tasks t
         WHERE t.task_id = ANY (i_task_ids) AND t.state::text = 'assigned'
    ), u AS (
        UPDATE tgx.tasks t
           SET state = 'pending', keeper_id = NULL, lease_until = NULL,
               uncounted_attempts = t.uncounted_attempts + 1,
               excluded_keepers = CASE WHEN i_exclude AND o.keeper_id <> ALL (t.excluded_keepers)
                                       THEN t.excluded_keepers || o.keeper_id ELSE t.excluded_keepers END,
               updated_at = i_now
          FROM o
         WHERE t.task_id = o.task_id AND t.task_id = ANY (i_task_ids)
        RETURNING o.task_id, o.keeper_id, o.attempt, o.task_definition_id
    ), a AS (
        UPDATE tgx.task_attempts ta
           SET ended_at = i_now, outcome = i_outcome
          FROM u
         WHERE ta.task_id = u.task_id AND ta.attempt = u.attempt AND ta.task_id = ANY (i_task_ids)
    )
    SELECT array_agg(ROW(u.keeper_id, u.task_definition_id, 0, 1, 0, 0, 0, 0, 0)::tgx._keeper_event)
      INTO v_events
      FROM u;
    IF v_events IS NOT NULL THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN coalesce(v_events, '{}'::tgx._keeper_event[]);
END
$$;
COMMENT ON FUNCTION tgx._task_requeue(bigint[], text, boolean, timestamptz) IS
    'Internal: assigned -> pending at once (ack timeout, keeper offline), attempt not counted, keeper optionally '
    'excluded; returns keeper events';

CREATE OR REPLACE FUNCTION tgx._task_fail(
    i_task_ids bigint[], i_outcome text, i_error text, i_now timestamptz)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_fail(task_ids, outcome, error, now)
--   The transition of a running task that failed (i_outcome transient, permanent,
--   lease_expired or keeper_offline).  The caller has locked the tasks; tasks not
--   running are left alone.
--   * permanent, or the attempts used (attempt - uncounted_attempts) reached
--     max_attempts: dead (finished_at, is_successful false), jobs.consecutive_failures
--     + 1, an alert task_dead, and an alert job_failing when consecutive_failures
--     reaches setting job_failing_alert;
--   * otherwise: scheduled, due_at = now + retry_backoff_base * 2^(used - 1) capped at
--     retry_backoff_cap (1 s, 2 s, 4 s ...), the failing keeper joins excluded_keepers.
--   task_error = i_error; the attempt is closed with the outcome and error.  Before a
--   dead task is counted against its job, the job's results still in
--   tgx.task_settlements are settled (tgx._settle), so the count follows the real order.
-- Returns: keeper events (failed, except for a permanent failure, which is the job's
--   fault, not the keeper's; and those of the results settled first), for
--   tgx._keeper_record.
-- Tables: tgx.tasks, tgx.task_attempts, tgx.task_settlements, tgx.jobs, tgx.alerts.
-- Notifies: tgx_dispatch (retries), tgx_alert, tgx_task_changed.
DECLARE
    v_base interval := tgx.setting_interval('retry_backoff_base');
    v_cap interval := tgx.setting_interval('retry_backoff_cap');
    v_threshold integer := tgx.setting_int('job_failing_alert');
    v_events tgx._keeper_event[];
    v_dead bigint[];
    v_settled bigint[];
    v_retried boolean;
    v_alerts integer;
BEGIN
    WITH o AS (
        SELECT t.task_id, t.keeper_id, t.attempt, t.task_definition_id,
               (i_outcome = 'permanent' OR t.attempt - t.uncounted_attempts >= t.max_attempts) AS dead,
               greatest(t.attempt - t.uncounted_attempts, 1) AS used
          FROM tgx.tasks t
         WHERE t.task_id = ANY (i_task_ids) AND t.state::text = 'running'
    ), u AS (
        UPDATE tgx.tasks t
           SET state = CASE WHEN o.dead THEN 'dead'::tgx.task_state ELSE 'scheduled'::tgx.task_state END,
               due_at = CASE WHEN o.dead THEN t.due_at
                             ELSE i_now + least(v_cap, v_base * power(2, least(o.used - 1, 40))) END,
               keeper_id = CASE WHEN o.dead THEN t.keeper_id END,
               lease_until = NULL,
               excluded_keepers = CASE WHEN NOT o.dead AND o.keeper_id <> ALL (t.excluded_keepers)
                                       THEN t.excluded_keepers || o.keeper_id ELSE t.excluded_keepers END,
               task_error = i_error,
               finished_at = CASE WHEN o.dead THEN i_now END,
               is_successful = CASE WHEN o.dead THEN false END,
               updated_at = i_now
          FROM o
         WHERE t.task_id = o.task_id AND t.task_id = ANY (i_task_ids)
        RETURNING o.task_id, o.keeper_id, o.attempt, o.task_definition_id, o.dead
    ), a AS (
        UPDATE tgx.task_attempts ta
           SET ended_at = i_now, outcome = i_outcome, error = i_error
          FROM u
         WHERE ta.task_id = u.task_id AND ta.attempt = u.attempt AND ta.task_id = ANY (i_task_ids)
    )
    SELECT array_agg(ROW(u.keeper_id, u.task_definition_id, 0, CASE WHEN i_outcome = 'permanent' THEN 0 ELSE 1 END,
                         0, 0, 0, 0, 0)::tgx._keeper_event),
           array_agg(u.task_id ORDER BY u.task_id) FILTER (WHERE u.dead),
           bool_or(NOT u.dead)
      INTO v_events, v_dead, v_retried
      FROM u;
    IF v_events IS NULL THEN
        RETURN '{}'::tgx._keeper_event[];
    END IF;

    IF v_dead IS NOT NULL THEN
        -- the job's accepted results still waiting for tgx.settle_tasks() first: their reset
        -- of consecutive_failures happened before this failure (a concurrent settle_tasks
        -- holding some of them is waited for, and they are gone when it commits)
        WITH s AS (
            DELETE FROM tgx.task_settlements s
             USING tgx.tasks t
             WHERE t.task_id = s.task_id
               AND t.job_id IN (SELECT x.job_id FROM tgx.tasks x WHERE x.task_id = ANY (v_dead))
            RETURNING s.task_id)
        SELECT array_agg(s.task_id ORDER BY s.task_id) INTO v_settled FROM s;
        IF v_settled IS NOT NULL THEN
            v_events := v_events || tgx._settle(v_settled, i_now);
        END IF;
        PERFORM 1 FROM tgx.jobs j
          WHERE j.job_id IN (SELECT t.job_id FROM tgx.tasks t WHERE t.task_id = ANY (v_dead))
          ORDER BY j.job_id
            FOR NO KEY UPDATE;
        WITH d AS (
            SELECT t.task_id, t.job_id, t.keeper_id, t.attempt, t.max_attempts, t.uncounted_attempts, t.trace_id
              FROM tgx.tasks t
             WHERE t.task_id = ANY (v_dead)
        ), j AS (
            UPDATE tgx.jobs j
               SET consecutive_failures = j.consecutive_failures + n.n
              FROM (SELECT d.job_id, count(*)::integer AS n, max(d.task_id) AS last_task FROM d GROUP BY d.job_id) n
             WHERE j.job_id = n.job_id
            RETURNING j.job_id, j.job_title, j.user_id, j.consecutive_failures, n.n, n.last_task
        ), alerts AS (
            SELECT 'task_dead' AS kind,
                   format('task %s of job %s is dead: %s', d.task_id, d.job_id, i_error) AS subject,
                   jsonb_build_object('task_id', d.task_id, 'job_id', d.job_id::text, 'keeper_id', d.keeper_id,
                                      'outcome', i_outcome, 'error', i_error,
                                      'attempts', d.attempt - d.uncounted_attempts, 'max_attempts', d.max_attempts,
                                      'trace_id', d.trace_id) AS payload,
                   format('task_dead:%s:%s', d.task_id, d.attempt) AS dedup_key
              FROM d
            UNION ALL
            SELECT 'job_failing',
                   format('job %s (%s) failed %s times in a row', j.job_id, j.job_title, j.consecutive_failures),
                   jsonb_build_object('job_id', j.job_id::text, 'user_id', j.user_id,
                                      'consecutive_failures', j.consecutive_failures, 'last_task_id', j.last_task),
                   format('job_failing:%s:%s', j.job_id, j.last_task)
              FROM j
             WHERE j.consecutive_failures >= v_threshold AND j.consecutive_failures - j.n < v_threshold
        ), ins AS (
            INSERT INTO tgx.alerts (kind, subject, payload, dedup_key, created_at, next_try_at)
            SELECT al.kind, al.subject, al.payload, al.dedup_key, i_now, i_now
              FROM alerts al ORDER BY al.dedup_key
            ON CONFLICT (dedup_key) DO NOTHING
            RETURNING 1)
        SELECT count(*) INTO v_alerts FROM ins;
        IF v_alerts > 0 THEN
            PERFORM pg_notify('tgx_alert', '');
        END IF;
    END IF;
    IF v_retried THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN v_events;
END
$$;
COMMENT ON FUNCTION tgx._task_fail(bigint[], text, text, timestamptz) IS
    'Internal: a running task failed: retry (scheduled with exponential backoff, keeper excluded) or dead '
    '(permanent or attempts used up: job failure count, task_dead / job_failing alerts); returns keeper events';

CREATE OR REPLACE FUNCTION tgx.fail_task(
    i_task_id bigint,
    i_keeper_id bigint,
    i_lease_epoch bigint,
    i_error text,
    i_permanent boolean DEFAULT false,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS tgx.task_state
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.fail_task(task_id, keeper_id, lease_epoch, error, permanent, now)
--   A keeper reports that a task it runs failed.  Same fencing rule as
--   tgx.submit_result.  Transient: retried after a backoff (retry_backoff_base *
--   2^(attempts used - 1), capped at retry_backoff_cap), never on this keeper again;
--   dead once max_attempts attempts are used.  Permanent (revert, bad arguments): dead
--   at once.  Dead tasks raise a task_dead alert (and job_failing, see tgx._task_fail).
-- Parameters:
--   i_error      what went wrong (kept in tasks.task_error and the attempt)
--   i_permanent  true when retrying cannot help
-- Returns: the new state: scheduled or dead.
-- Raises: 55000 stale lease epoch; P0002 unknown task; 22023 empty error.
-- Tables: see tgx._task_fail; tgx.keepers, tgx.keeper_stats.
DECLARE
    v_events tgx._keeper_event[];
    v_state tgx.task_state;
BEGIN
    IF i_error IS NULL OR btrim(i_error) = '' THEN
        RAISE EXCEPTION 'error must not be empty'
            USING ERRCODE = '22023', HINT = 'Say what went wrong; it is kept with the task.';
    END IF;
    PERFORM tgx._task_fence(i_task_id, i_keeper_id, i_lease_epoch);
    v_events := tgx._task_fail(ARRAY[i_task_id],
                               CASE WHEN coalesce(i_permanent, false) THEN 'permanent' ELSE 'transient' END,
                               i_error, i_now);
    PERFORM tgx._keeper_record(v_events, i_now);
    SELECT t.state INTO v_state FROM tgx.tasks t WHERE t.task_id = i_task_id;
    RETURN v_state;
END
$$;
COMMENT ON FUNCTION tgx.fail_task(bigint, bigint, bigint, text, boolean, timestamptz) IS
    'Keeper reports a failure under its lease epoch (55000 otherwise): transient -> scheduled with backoff 1 s, '
    '2 s, 4 s ... on another keeper, or dead when attempts are used up; permanent -> dead at once with an alert; '
    'returns the new state';

CREATE OR REPLACE FUNCTION tgx.expire_leases(
    i_batch integer DEFAULT 100,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.expire_leases(batch, now)
--   The monitor role's step for leases (index tasks_leased, oldest first, SKIP LOCKED):
--   * assigned with lease_until <= now (the keeper did not take it in ack_timeout):
--     back to pending at once, that keeper excluded, attempt outcome ack_timeout.  An
--     unacknowledged assignment does not use up an attempt: attempt still numbers it
--     (it keys tgx.task_attempts) but uncounted_attempts grows with it;
--   * running with lease_until <= now: like a transient failure, outcome
--     lease_expired: retried with backoff on another keeper, or dead when attempts are
--     used up.  A late result of that keeper is then refused by the fencing rule.
--   Call again until it returns 0.
-- Parameters:
--   i_batch  at most this many tasks (1..10000)
-- Returns: the number of tasks handled.
-- Raises: 22023 for a batch out of range.
-- Tables: see tgx._task_requeue and tgx._task_fail.
DECLARE
    v_assigned bigint[];
    v_running bigint[];
    v_events tgx._keeper_event[] := '{}'::tgx._keeper_event[];
BEGIN
    PERFORM tgx._check_batch(i_batch);
    SELECT array_agg(c.task_id) FILTER (WHERE c.state = 'assigned'),
           array_agg(c.task_id) FILTER (WHERE c.state = 'running')
      INTO v_assigned, v_running
      FROM (SELECT t.task_id, t.state
              FROM tgx.tasks t
             WHERE t.state IN ('assigned', 'running') AND t.lease_until <= i_now
             ORDER BY t.lease_until
             LIMIT i_batch
               FOR UPDATE SKIP LOCKED) c;
    IF v_assigned IS NOT NULL THEN
        v_events := v_events || tgx._task_requeue(v_assigned, 'ack_timeout', true, i_now);
    END IF;
    IF v_running IS NOT NULL THEN
        v_events := v_events || tgx._task_fail(v_running, 'lease_expired', 'lease expired', i_now);
    END IF;
    PERFORM tgx._keeper_record(v_events, i_now);
    RETURN coalesce(cardinality(v_assigned), 0) + coalesce(cardinality(v_running), 0);
END
$$;
COMMENT ON FUNCTION tgx.expire_leases(integer, timestamptz) IS
    'Monitor step: assigned past the ack deadline -> pending at once on another keeper (ack_timeout, not a used '
    'attempt); running past the lease -> retry with backoff or dead (lease_expired); returns tasks handled';

------------------------------------------------------------------------------
-- When to wake up
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.next_queue_deadline(i_now timestamptz DEFAULT clock_timestamp())
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.next_queue_deadline(now)
--   The earliest instant after now at which the queue needs someone: a task falls due
--   (due_at), an ack deadline or lease ends (lease_until), an attestation deadline
--   passes (attest_deadline).  The dispatcher and monitor roles sleep until then (or a
--   NOTIFY).  Each part is one read of a partial index.
-- Returns: that instant, or NULL when nothing is waiting for time.
-- Tables: reads tgx.tasks.
SELECT least(
    (SELECT min(t.due_at) FROM tgx.tasks t
      WHERE t.state IN ('scheduled', 'pending') AND t.due_at > i_now),
    (SELECT min(t.lease_until) FROM tgx.tasks t
      WHERE t.state IN ('assigned', 'running') AND t.lease_until > i_now),
    (SELECT min(t.attest_deadline) FROM tgx.tasks t
      WHERE t.state = 'attesting' AND t.attest_deadline > i_now))
$$;
COMMENT ON FUNCTION tgx.next_queue_deadline(timestamptz) IS
    'The earliest future due_at, lease_until or attestation deadline of the queue (NULL if none): when the '
    'dispatcher and monitor roles should wake';
