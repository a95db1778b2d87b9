-- tgx.attestation.sql: the attestation family of the SQL API: choosing attesters,
-- votes, the quorum, replacing attesters that did not answer, and the final verdict
-- with its accounting (points, costs, linked follower jobs).
--
-- The quorum, with N = attesters chosen for the result (replacements keep N):
--   succeeded  when at least ceil(2N/3) attesters agree      (agree * 3 >= 2N)
--   rejected   when more than N/3 disagree                    (disagree * 3 > N)
--   N = 0 (no peer available when the result came): succeeded at once,
--     result->>'attestation' = 'none_available', empty task_attester_ids.
-- When neither holds and nobody can answer any more (every open attestation is past its
-- deadline and no other keeper is left to ask), the task is decided on what arrived,
-- M = votes received: succeeded when agree * 3 >= 2M, otherwise rejected (M >= 1:
-- 'answered'); M = 0: succeeded with an empty attester list ('none_answered'), like
-- the no-peer case.  Lock order: see tgx.keepers.sql.

------------------------------------------------------------------------------
-- Choosing attesters
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._attest_fill(i_task_ids bigint[], i_gone bigint[], i_now timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._attest_fill(task_ids, gone, now)
--   Gives attesting tasks their attesters (the caller has locked the tasks):
--   * a task with no attestation row for its epoch yet gets up to setting attesters;
--   * an open attestation (no verdict, not superseded) past its deadline, or whose
--     keeper is no longer online, whitelisted and non-draining, or is in i_gone, is
--     replaced: superseded = true on the old row, a new row for a keeper not asked yet
--     for this task and epoch, while such keepers exist (rows that cannot be replaced
--     stay as they are).
--   Candidates: online, whitelisted, non-draining keepers serving the job's chain,
--   other than the performer and i_gone, not asked before for this epoch; they are
--   taken in a pseudo-random order per task (hash of task and keeper ids) so that
--   attestation work spreads over keepers.  New rows get deadline = now + setting
--   attestation_timeout.
-- Parameters:
--   i_gone  keepers to treat as offline (tgx.sweep_keepers: silent, not yet marked)
-- Returns: the number of attestation rows created.
-- Tables: tgx.attestations; reads tgx.tasks, tgx.jobs, tgx.keepers.
-- Notifies: tgx_attest, payload keeper_id, once per keeper asked.
DECLARE
    v_n integer := greatest(tgx.setting_int('attesters'), 0);
    v_timeout interval := tgx.setting_interval('attestation_timeout');
    v_gone bigint[] := coalesce(i_gone, '{}');
    v_pick_t bigint[];
    v_pick_k bigint[];
    v_pick_e bigint[];
    v_sup_t bigint[];
    v_sup_k bigint[];
    v_sup_e bigint[];
BEGIN
    -- no attesters wanted (setting attesters = 0) and none asked before: nothing to do
    IF v_n = 0 AND NOT EXISTS (SELECT 1 FROM tgx.attestations a WHERE a.task_id = ANY (i_task_ids)) THEN
        RETURN 0;
    END IF;
    -- who is asked, who is replaced (read only; small materialized steps keep the plan simple)
    WITH t AS MATERIALIZED (
        SELECT tk.task_id, tk.lease_epoch, tk.keeper_id AS performer, j.target_chain_id
          FROM tgx.tasks tk
          JOIN tgx.jobs j ON j.job_id = tk.job_id
         WHERE tk.task_id = ANY (i_task_ids) AND tk.state::text = 'attesting'
    ), asked AS MATERIALIZED (
        SELECT a.task_id, a.keeper_id, a.lease_epoch, a.deadline,
               (a.verdict IS NULL AND NOT a.superseded
                AND (a.deadline <= i_now OR NOT (k.online AND k.whitelisted AND NOT k.draining)
                     OR a.keeper_id = ANY (v_gone))) AS replace
          FROM t
          JOIN tgx.attestations a ON a.task_id = t.task_id AND a.lease_epoch = t.lease_epoch
          JOIN tgx.keepers k ON k.keeper_id = a.keeper_id
    ), need AS MATERIALIZED (
        SELECT t.task_id, t.lease_epoch, t.performer, t.target_chain_id,
               CASE WHEN count(asked.keeper_id) = 0 THEN v_n
                    ELSE count(*) FILTER (WHERE asked.replace)::integer END AS n,
               coalesce(array_agg(asked.keeper_id) FILTER (WHERE asked.keeper_id IS NOT NULL), '{}') AS asked_ids
          FROM t
          LEFT JOIN asked ON asked.task_id = t.task_id
         GROUP BY t.task_id, t.lease_epoch, t.performer, t.target_chain_id
    ), cand AS (
        SELECT need.task_id, need.lease_epoch, need.n, k.keeper_id,
               row_number() OVER (PARTITION BY need.task_id
                                  ORDER BY hashint8(need.task_id # k.keeper_id), k.keeper_id) AS rn
          FROM need
          JOIN tgx.keepers k
            ON k.online AND k.whitelisted AND NOT k.draining
           AND k.keeper_id <> need.performer AND k.keeper_id <> ALL (v_gone)
           AND k.keeper_id <> ALL (need.asked_ids)
           AND (cardinality(k.chain_ids) = 0 OR need.target_chain_id = ANY (k.chain_ids))
         WHERE need.n > 0
    ), pick AS MATERIALIZED (
        SELECT c.task_id, c.keeper_id, c.lease_epoch FROM cand c WHERE c.rn <= c.n
    ), old AS (
        SELECT asked.task_id, asked.keeper_id, asked.lease_epoch,
               row_number() OVER (PARTITION BY asked.task_id ORDER BY asked.deadline, asked.keeper_id) AS rn
          FROM asked
         WHERE asked.replace
    ), sup AS MATERIALIZED (
        SELECT old.task_id, old.keeper_id, old.lease_epoch
          FROM old
          JOIN (SELECT p.task_id, count(*) AS c FROM pick p GROUP BY p.task_id) cnt ON cnt.task_id = old.task_id
         WHERE old.rn <= cnt.c
    )
    SELECT (SELECT array_agg(p.task_id ORDER BY p.task_id, p.keeper_id) FROM pick p),
           (SELECT array_agg(p.keeper_id ORDER BY p.task_id, p.keeper_id) FROM pick p),
           (SELECT array_agg(p.lease_epoch ORDER BY p.task_id, p.keeper_id) FROM pick p),
           (SELECT array_agg(x.task_id ORDER BY x.task_id, x.keeper_id) FROM sup x),
           (SELECT array_agg(x.keeper_id ORDER BY x.task_id, x.keeper_id) FROM sup x),
           (SELECT array_agg(x.lease_epoch ORDER BY x.task_id, x.keeper_id) FROM sup x)
      INTO v_pick_t, v_pick_k, v_pick_e, v_sup_t, v_sup_k, v_sup_e;
    IF v_pick_t IS NULL THEN
        RETURN 0;
    END IF;

    INSERT INTO tgx.attestations (task_id, keeper_id, lease_epoch, requested_at, deadline)
    SELECT x.task_id, x.keeper_id, x.lease_epoch, i_now, i_now + v_timeout
      FROM unnest(v_pick_t, v_pick_k, v_pick_e) AS x(task_id, keeper_id, lease_epoch);
    IF v_sup_t IS NOT NULL THEN
        UPDATE tgx.attestations a
           SET superseded = true
          FROM unnest(v_sup_t, v_sup_k, v_sup_e) AS x(task_id, keeper_id, lease_epoch)
         WHERE a.task_id = x.task_id AND a.keeper_id = x.keeper_id AND a.lease_epoch = x.lease_epoch
           AND a.task_id = ANY (v_sup_t);
    END IF;
    PERFORM pg_notify('tgx_attest', x.keeper_id::text)
       FROM (SELECT DISTINCT k.keeper_id FROM unnest(v_pick_k) AS k(keeper_id) ORDER BY 1) x;
    RETURN cardinality(v_pick_t);
END
$$;
COMMENT ON FUNCTION tgx._attest_fill(bigint[], bigint[], timestamptz) IS
    'Internal: chooses the attesters of a new result (setting attesters) and replaces open attestations past their '
    'deadline or of keepers gone offline with keepers not asked yet (superseded = true on the old row); returns '
    'rows created';

------------------------------------------------------------------------------
-- The verdict
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._task_settle(i_done bigint[], i_jobs numeric[], i_now timestamptz,
                                             i_voted boolean DEFAULT true)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_settle(done, jobs, now, voted)
--   The accounting of tasks that were just decided (succeeded or rejected; the caller has
--   locked and updated them: tgx._task_decide; or tgx._settle, for results tgx._task_accept
--   accepted at once when nobody could attest):
--   * open attestations left unanswered become superseded;
--   * succeeded: jobs.last_executed_at (execution_timestamp, else finished_at), job_cost_actual
--     += task_opx_cost, consecutive_failures = 0; users.total_tasks + 1, user_points +=
--     cost; linked jobs: when the job's link_job_id names a job whose status is pending,
--     a task of that job is created, pending and due now (a follower fires only when its
--     head succeeds);
--   * keeper events: the performer (no_executed_tasks + 1; points rewards_booster * cost
--     when accepted, -0.1 * rewards_booster * cost when rejected; reputation agree or
--     disagree when attesters voted) and each voter (points rewards_booster * cost,
--     no_attested_tasks + 1, agree when its vote matched the verdict, disagree otherwise).
-- Parameters:
--   i_done   the decided tasks
--   i_jobs   the distinct job ids of the succeeded ones (NULL when none succeeded)
--   i_voted  false: the tasks were accepted without attesters (tgx._task_accept), so
--            there is nothing to supersede and no voter, and the caller accounts for the
--            performer itself: no keeper events are returned
-- Returns: keeper events for tgx._keeper_record (points are applied there).
-- Tables: tgx.attestations, tgx.jobs, tgx.users, tgx.tasks (insert of linked tasks).
-- Notifies: tgx_dispatch when linked tasks were created.
DECLARE
    v_users bigint[];
    v_user_tasks bigint[];
    v_user_cost double precision[];
    v_links numeric[];
    v_events tgx._keeper_event[];
    v_linked integer := 0;
BEGIN
    -- Every read of jobs and users below is a primary-key probe per row of a small driving
    -- set (the given tasks, the jobs just updated), never a scan of every job or user, and
    -- no "= ANY" condition on the probed side, which would rescan the whole array per row.

    -- attestations nobody needs any more
    IF i_voted THEN
        UPDATE tgx.attestations a
           SET superseded = true
         WHERE a.task_id = ANY (i_done) AND a.verdict IS NULL AND NOT a.superseded;
    END IF;

    -- jobs and users of the succeeded tasks, in key order: one update per job and one per
    -- user for the whole call (a busy user's row is locked once per call, not per task)
    IF i_jobs IS NOT NULL THEN
        IF cardinality(i_jobs) > 1 THEN   -- one row needs no ordered locking
            PERFORM 1 FROM tgx.jobs j
              WHERE j.job_id = ANY (i_jobs)
              ORDER BY j.job_id
                FOR NO KEY UPDATE;
        END IF;
        WITH uj AS (
            UPDATE tgx.jobs j
               SET last_executed_at = greatest(j.last_executed_at, s.executed_at),
                   job_cost_actual = j.job_cost_actual + s.cost,
                   consecutive_failures = 0
              FROM (SELECT t.job_id, max(coalesce(t.execution_timestamp, t.finished_at, i_now)) AS executed_at,
                           sum(greatest(t.task_opx_cost, 0)) AS cost, count(*) AS n
                      FROM tgx.tasks t
                     WHERE t.task_id = ANY (i_done) AND t.state::text = 'succeeded'
                     GROUP BY t.job_id) s
             WHERE j.job_id = s.job_id
            RETURNING j.user_id, j.link_job_id, s.n, s.cost
        ), pu AS (   -- per user, from the jobs just updated (no second join of tasks and jobs)
            SELECT uj.user_id, sum(uj.n)::bigint AS n, sum(uj.cost) AS cost FROM uj GROUP BY uj.user_id
        )
        SELECT array_agg(pu.user_id ORDER BY pu.user_id), array_agg(pu.n ORDER BY pu.user_id),
               array_agg(pu.cost ORDER BY pu.user_id),
               (SELECT array_agg(DISTINCT uj.link_job_id::numeric) FROM uj WHERE uj.link_job_id IS NOT NULL)
          INTO v_users, v_user_tasks, v_user_cost, v_links
          FROM pu;
        IF cardinality(v_users) > 1 THEN
            PERFORM 1 FROM tgx.users us
              WHERE us.user_id = ANY (v_users)
              ORDER BY us.user_id
                FOR NO KEY UPDATE;
        END IF;
        UPDATE tgx.users us
           SET total_tasks = us.total_tasks + s.n,
               user_points = us.user_points + s.cost,
               last_updated_at = i_now
          FROM unnest(v_users, v_user_tasks, v_user_cost) AS s(user_id, n, cost)
         WHERE us.user_id = s.user_id;
    END IF;

    -- linked follower jobs
    IF v_links IS NOT NULL THEN
        WITH ins AS (
            INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, max_attempts,
                                   trigger_data, is_imua, trace_id, created_at, updated_at)
            SELECT f.job_id, f.task_definition_id, 'pending', i_now, i_now, f.max_attempts,
                   jsonb_build_object('linked_from_job_id', h.job_id::text, 'linked_from_task_id', t.task_id),
                   f.is_imua, coalesce(t.trace_id, f.trace_id), i_now, i_now
              FROM tgx.tasks t
              JOIN tgx.jobs h ON h.job_id = t.job_id
              JOIN tgx.jobs f ON f.job_id = h.link_job_id
             WHERE t.task_id = ANY (i_done) AND t.state::text = 'succeeded' AND f.status = 'pending'
             ORDER BY t.task_id
            RETURNING 1)
        SELECT count(*) INTO v_linked FROM ins;
    END IF;

    IF v_linked > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    IF NOT i_voted THEN
        RETURN '{}'::tgx._keeper_event[];
    END IF;

    -- keeper accounting: the performer, then each voter
    SELECT array_agg(e) INTO v_events
      FROM (SELECT ROW(t.keeper_id, t.task_definition_id, 0, 0,
                       CASE WHEN cardinality(t.task_attester_ids) > 0 AND t.is_accepted THEN 1 ELSE 0 END,
                       CASE WHEN cardinality(t.task_attester_ids) > 0 AND NOT t.is_accepted THEN 1 ELSE 0 END,
                       CASE WHEN t.is_accepted THEN greatest(t.task_opx_cost, 0)
                            ELSE -0.1 * greatest(t.task_opx_cost, 0) END,
                       1, 0)::tgx._keeper_event AS e
              FROM tgx.tasks t
             WHERE t.task_id = ANY (i_done) AND t.keeper_id IS NOT NULL
            UNION ALL
            -- the votes by key (one scan of the given task ids), each probing its task by key
            SELECT ROW(a.keeper_id, t.task_definition_id, 0, 0,
                       CASE WHEN a.verdict = t.is_accepted THEN 1 ELSE 0 END,
                       CASE WHEN a.verdict = t.is_accepted THEN 0 ELSE 1 END,
                       greatest(t.task_opx_cost, 0), 0, 1)::tgx._keeper_event
              FROM tgx.attestations a
             CROSS JOIN LATERAL (SELECT tk.task_definition_id, tk.is_accepted, tk.task_opx_cost
                                   FROM tgx.tasks tk
                                  WHERE tk.task_id = a.task_id AND tk.lease_epoch = a.lease_epoch
                                 OFFSET 0) t
             WHERE a.task_id = ANY (i_done) AND a.verdict IS NOT NULL AND NOT a.superseded) x;
    RETURN coalesce(v_events, '{}'::tgx._keeper_event[]);
END
$$;
COMMENT ON FUNCTION tgx._task_settle(bigint[], numeric[], timestamptz, boolean) IS
    'Internal: accounting of just decided tasks (open attestations superseded, job cost and failures, user points '
    'and task count, linked follower task, performer and attester keeper events)';

CREATE OR REPLACE FUNCTION tgx._task_decide(
    i_task_ids bigint[], i_accepted boolean[], i_notes text[], i_now timestamptz)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_decide(task_ids, accepted, notes, now)
--   The transition attesting -> succeeded (accepted) or rejected, with its accounting
--   (the caller has locked the tasks; tasks not attesting are left alone):
--   * task: finished_at, is_accepted = is_successful = accepted, task_attester_ids =
--     the attesters who voted (in voting order, '{}' if none), result->'attestation' =
--     the note (quorum, answered, none_answered, none_available);
--   * then tgx._task_settle: open attestations left unanswered become superseded; for
--     succeeded tasks the job (last_executed_at, job_cost_actual, consecutive_failures
--     = 0), the user (total_tasks, user_points) and linked follower jobs; the keeper
--     events of the performer and of each voter (points: rewards_booster * cost, or
--     -0.1 * rewards_booster * cost for the performer of a rejected result; executed
--     and attested counters; reputation agree/disagree).
-- Parameters: three arrays of the same length, one entry per task.
-- Returns: keeper events for tgx._keeper_record (points are applied there).
-- Tables: tgx.tasks (update; insert of linked tasks), tgx.attestations, tgx.jobs,
--   tgx.users.
-- Notifies: tgx_task_changed; tgx_dispatch when linked tasks were created.
DECLARE
    v_done bigint[];
    v_jobs numeric[];
BEGIN
    -- i_accepted / i_notes are read by position (array_position) and the voters by a
    -- correlated primary-key probe of tgx.attestations: no join with an unnest, which the
    -- planner may run once per task (batch^2)
    WITH u AS (
        UPDATE tgx.tasks t
           SET state = CASE WHEN i_accepted[array_position(i_task_ids, t.task_id)]
                            THEN 'succeeded'::tgx.task_state ELSE 'rejected'::tgx.task_state END,
               finished_at = i_now,
               is_accepted = i_accepted[array_position(i_task_ids, t.task_id)],
               is_successful = i_accepted[array_position(i_task_ids, t.task_id)],
               task_attester_ids = coalesce((SELECT array_agg(a.keeper_id ORDER BY a.attested_at, a.keeper_id)
                                               FROM tgx.attestations a
                                              WHERE a.task_id = t.task_id AND a.lease_epoch = t.lease_epoch
                                                AND NOT a.superseded AND a.verdict IS NOT NULL), '{}'),
               result = coalesce(t.result, '{}'::jsonb)
                        || jsonb_build_object('attestation', i_notes[array_position(i_task_ids, t.task_id)]),
               updated_at = i_now
         WHERE t.task_id = ANY (i_task_ids) AND t.state::text = 'attesting'
        RETURNING t.task_id, t.job_id, t.is_accepted AS accepted
    )
    SELECT array_agg(u.task_id ORDER BY u.task_id),
           array_agg(DISTINCT u.job_id::numeric) FILTER (WHERE u.accepted)
      INTO v_done, v_jobs
      FROM u;
    IF v_done IS NULL THEN
        RETURN '{}'::tgx._keeper_event[];
    END IF;
    RETURN tgx._task_settle(v_done, v_jobs, i_now);
END
$$;
COMMENT ON FUNCTION tgx._task_decide(bigint[], boolean[], text[], timestamptz) IS
    'Internal: attesting -> succeeded / rejected with its accounting (job cost and failures, user points and task '
    'count, linked follower task, performer and attester points via returned keeper events)';

CREATE OR REPLACE FUNCTION tgx._attest_tally(i_task_ids bigint[], i_now timestamptz)
RETURNS tgx._keeper_event[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._attest_tally(task_ids, now)
--   Counts the votes of attesting tasks (the caller has locked them) and decides those
--   that can be decided (the rule is at the top of tgx.attestation.sql):
--   N = 0 -> succeeded (none_available); agree * 3 >= 2N -> succeeded (quorum);
--   disagree * 3 > N -> rejected (quorum); no open attestation left (all answered or
--   past their deadline) -> on what arrived: agree * 3 >= 2M succeeded, else rejected
--   (answered; none_answered when M = 0).  Undecided tasks get attest_deadline = the
--   earliest deadline of their open attestations.
-- Returns: keeper events of the decided tasks, for tgx._keeper_record.
-- Tables: tgx.tasks (attest_deadline), and see tgx._task_decide.
DECLARE
    v_ids bigint[];
    v_accepted boolean[];
    v_notes text[];
BEGIN
    WITH c AS (
        SELECT t.task_id,
               count(a.keeper_id) FILTER (WHERE NOT a.superseded) AS n,
               count(*) FILTER (WHERE NOT a.superseded AND a.verdict) AS agree,
               count(*) FILTER (WHERE NOT a.superseded AND NOT a.verdict) AS disagree,
               count(*) FILTER (WHERE NOT a.superseded AND a.verdict IS NULL AND a.deadline > i_now) AS open,
               min(a.deadline) FILTER (WHERE NOT a.superseded AND a.verdict IS NULL AND a.deadline > i_now) AS next_deadline
          FROM tgx.tasks t
          LEFT JOIN tgx.attestations a ON a.task_id = t.task_id AND a.lease_epoch = t.lease_epoch
         WHERE t.task_id = ANY (i_task_ids) AND t.state::text = 'attesting'
         GROUP BY t.task_id
    ), d AS (
        SELECT c.*,
               CASE WHEN c.n = 0 THEN true
                    WHEN c.agree * 3 >= 2 * c.n THEN true
                    WHEN c.disagree * 3 > c.n THEN false
                    WHEN c.open = 0 THEN c.agree * 3 >= 2 * (c.agree + c.disagree)
               END AS accepted,
               CASE WHEN c.n = 0 THEN 'none_available'
                    WHEN c.agree * 3 >= 2 * c.n OR c.disagree * 3 > c.n THEN 'quorum'
                    WHEN c.open = 0 AND c.agree + c.disagree = 0 THEN 'none_answered'
                    WHEN c.open = 0 THEN 'answered'
               END AS note
          FROM c
    ), w AS (
        UPDATE tgx.tasks t
           SET attest_deadline = d.next_deadline, updated_at = i_now
          FROM d
         WHERE t.task_id = d.task_id AND t.task_id = ANY (i_task_ids)
           AND d.accepted IS NULL AND t.attest_deadline IS DISTINCT FROM d.next_deadline
    )
    SELECT array_agg(d.task_id ORDER BY d.task_id) FILTER (WHERE d.accepted IS NOT NULL),
           array_agg(d.accepted ORDER BY d.task_id) FILTER (WHERE d.accepted IS NOT NULL),
           array_agg(d.note ORDER BY d.task_id) FILTER (WHERE d.accepted IS NOT NULL)
      INTO v_ids, v_accepted, v_notes
      FROM d;
    IF v_ids IS NULL THEN
        RETURN '{}'::tgx._keeper_event[];
    END IF;
    RETURN tgx._task_decide(v_ids, v_accepted, v_notes, i_now);
END
$$;
COMMENT ON FUNCTION tgx._attest_tally(bigint[], timestamptz) IS
    'Internal: applies the quorum rule to attesting tasks (succeeded at ceil(2N/3) agreeing, rejected when more than '
    'N/3 disagree, decided on the votes that arrived when nobody is left to answer) and moves attest_deadline of the '
    'others; returns keeper events';

------------------------------------------------------------------------------
-- Votes and expiry
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.submit_attestation(
    i_task_id bigint,
    i_keeper_id bigint,
    i_lease_epoch bigint,
    i_verdict boolean,
    i_signature bytea DEFAULT NULL,
    i_reason text DEFAULT NULL,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS tgx.task_state
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.submit_attestation(task_id, keeper_id, lease_epoch, verdict, signature, reason, now)
--   An attester's vote on a task's result: i_verdict true = the result is valid.  Only
--   a keeper chosen as attester of that task under that lease epoch may vote, once,
--   while its attestation is open (a vote after the deadline still counts until the
--   attestation has been replaced).  The quorum is applied at once (see the top of
--   tgx.attestation.sql): succeeded at ceil(2N/3) agreeing, rejected when more than N/3
--   disagree; points are credited when the task is decided.
-- Parameters:
--   i_signature  the attester's signature over its verdict (kept)
--   i_reason     why, mainly for a negative verdict
-- Returns: the task's state after the vote: attesting, succeeded or rejected.
-- Raises: 22023 NULL verdict; P0002 unknown task; 55000 stale lease epoch, keeper not
--   an attester of the task, vote already given, attestation no longer open.
-- Tables: tgx.attestations, and see tgx._attest_tally.
DECLARE
    v_task tgx.tasks;
    v_att tgx.attestations;
    v_events tgx._keeper_event[];
    v_state tgx.task_state;
BEGIN
    IF i_verdict IS NULL THEN
        RAISE EXCEPTION 'verdict must not be null'
            USING ERRCODE = '22023', HINT = 'Pass true when the result is valid, false when it is not.';
    END IF;
    SELECT * INTO v_task FROM tgx.tasks t WHERE t.task_id = i_task_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO v_att FROM tgx.attestations a
     WHERE a.task_id = i_task_id AND a.keeper_id = i_keeper_id AND a.lease_epoch = i_lease_epoch;
    IF NOT FOUND THEN
        IF i_lease_epoch IS DISTINCT FROM v_task.lease_epoch THEN
            PERFORM tgx._raise_stale_lease(i_task_id, i_keeper_id, i_lease_epoch,
                                           v_task.state, v_task.keeper_id, v_task.lease_epoch);
        END IF;
        RAISE EXCEPTION 'keeper % is not an attester of task %', i_keeper_id, i_task_id
            USING ERRCODE = '55000', DETAIL = format('The task is %s under epoch %s.', v_task.state, v_task.lease_epoch);
    END IF;
    IF v_att.verdict IS NOT NULL THEN
        RAISE EXCEPTION 'keeper % already attested task %', i_keeper_id, i_task_id
            USING ERRCODE = '55000', DETAIL = format('Its verdict %s was recorded at %s.', v_att.verdict, v_att.attested_at);
    END IF;
    IF v_att.superseded OR v_task.state <> 'attesting' THEN
        RAISE EXCEPTION 'attestation of task % by keeper % is no longer open', i_task_id, i_keeper_id
            USING ERRCODE = '55000',
                  DETAIL = CASE WHEN v_task.state <> 'attesting'
                                THEN format('The task was already decided: it is %s.', v_task.state)
                                ELSE 'It was given to another keeper after its deadline or while this keeper was offline.'
                           END;
    END IF;

    UPDATE tgx.attestations a
       SET verdict = i_verdict, reason = i_reason, signature = i_signature, attested_at = i_now
     WHERE a.task_id = i_task_id AND a.keeper_id = i_keeper_id AND a.lease_epoch = i_lease_epoch;
    v_events := tgx._attest_tally(ARRAY[i_task_id], i_now);
    PERFORM tgx._keeper_record(v_events, i_now);
    SELECT t.state INTO v_state FROM tgx.tasks t WHERE t.task_id = i_task_id;
    RETURN v_state;
END
$$;
COMMENT ON FUNCTION tgx.submit_attestation(bigint, bigint, bigint, boolean, bytea, text, timestamptz) IS
    'An attester''s vote (once, only by a chosen attester of that task and epoch, 55000 otherwise); succeeded at '
    'ceil(2N/3) agreeing, rejected when more than N/3 disagree; returns the task''s state';

CREATE OR REPLACE FUNCTION tgx.expire_attestations(
    i_batch integer DEFAULT 100,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.expire_attestations(batch, now)
--   The monitor role's step for attestations: attesting tasks whose attest_deadline
--   (earliest open deadline) has passed (index tasks_attesting, oldest first, SKIP
--   LOCKED).  Their attestations past deadline are replaced by online keepers not yet
--   asked (superseded = true on the old row, a new row with a fresh deadline) while
--   such keepers exist.  When nobody can answer any more (no open attestation within
--   its deadline), the task is decided on what arrived: M = votes received; succeeded
--   when agree * 3 >= 2M (M >= 1), rejected otherwise; M = 0: succeeded with an empty
--   attester list and result->>'attestation' = 'none_answered', like the no-peer case.
--   Every task handled is either decided or gets a later attest_deadline, so calling
--   again until 0 terminates.
-- Parameters:
--   i_batch  at most this many tasks (1..10000)
-- Returns: the number of tasks handled.
-- Raises: 22023 for a batch out of range.
-- Tables: tgx.attestations, and see tgx._attest_tally.
DECLARE
    v_ids bigint[];
    v_events tgx._keeper_event[];
BEGIN
    PERFORM tgx._check_batch(i_batch);
    SELECT array_agg(c.task_id ORDER BY c.task_id) INTO v_ids
      FROM (SELECT t.task_id FROM tgx.tasks t
             WHERE t.state = 'attesting' AND t.attest_deadline <= i_now
             ORDER BY t.attest_deadline
             LIMIT i_batch
               FOR UPDATE SKIP LOCKED) c;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM tgx._attest_fill(v_ids, '{}', i_now);
    v_events := tgx._attest_tally(v_ids, i_now);
    PERFORM tgx._keeper_record(v_events, i_now);
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION tgx.expire_attestations(integer, timestamptz) IS
    'Monitor step: replaces attestations past their deadline with keepers not yet asked; when nobody is left, '
    'decides on the votes that arrived (succeeded if agree*3 >= 2M of the M answers, else rejected; none answered: '
    'succeeded with an empty attester list, ''none_answered''); returns tasks handled';
