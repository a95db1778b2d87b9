-- tgx.keepers.sql: the keepers family of the SQL API: registration, check-in, the
-- offline sweep, keeper scoring and keeper accounting (points, statistics).
--
-- Lock order of the whole queue family (every function takes the rows it changes in
-- this order, so two calls never wait on each other in a cycle):
--   tasks -> attestations -> task_attempts -> task_settlements -> jobs -> users -> alerts
--   -> keepers -> keeper_stats
-- Rows of one table are locked in key order.  Keeper rows are therefore changed once, at
-- the end of a call, by tgx._keeper_record(): the task helpers return tgx._keeper_event
-- arrays instead of updating keepers themselves.  tgx.sweep_keepers() reads keepers
-- first but locks tasks with SKIP LOCKED, so it never waits on a task.

INSERT INTO tgx.settings (name, value, value_type, description) VALUES
    ('keeper_stats_half_life', '1 hour', 'interval',
     'Half-life of the outcome counters behind keeper scoring (tgx.keeper_stats): what "recent" means')
ON CONFLICT (name) DO NOTHING;

------------------------------------------------------------------------------
-- Registration and check-in
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.register_keeper(
    i_keeper_address text,
    i_keeper_name text DEFAULT '',
    i_email_id text DEFAULT NULL,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.register_keeper(keeper_address, keeper_name, email_id, now)
--   Registers a keeper node, or finds it again: idempotent on the lower-cased
--   address.  A new keeper is not whitelisted (a DBA whitelists it) and offline
--   until its first check-in.  Registering again updates a non-empty name and a
--   non-NULL e-mail address.
-- Parameters:
--   i_keeper_address  0x + 40 hex digits, any case
--   i_keeper_name     display name ('' keeps the current one)
--   i_email_id        contact address for alerts (NULL keeps the current one)
-- Returns: the keeper_id.
-- Raises: 22023 for a malformed address or e-mail.
-- Tables: tgx.keepers (insert or update).
DECLARE
    v_address text := lower(btrim(i_keeper_address));
    v_id bigint;
BEGIN
    IF v_address IS NULL OR v_address !~ '^0x[0-9a-f]{40}$' THEN
        RAISE EXCEPTION 'invalid keeper_address "%"', i_keeper_address
            USING ERRCODE = '22023', HINT = 'A keeper address is 0x followed by 40 hex digits.';
    END IF;
    IF i_email_id IS NOT NULL AND i_email_id !~ '^[^@\s]+@[^@\s]+$' THEN
        RAISE EXCEPTION 'invalid email_id "%"', i_email_id USING ERRCODE = '22023';
    END IF;
    INSERT INTO tgx.keepers AS k (keeper_address, keeper_name, email_id, created_at)
    VALUES (v_address, coalesce(i_keeper_name, ''), i_email_id, i_now)
    ON CONFLICT (keeper_address) DO UPDATE
        SET keeper_name = CASE WHEN EXCLUDED.keeper_name <> '' THEN EXCLUDED.keeper_name ELSE k.keeper_name END,
            email_id = coalesce(EXCLUDED.email_id, k.email_id)
    RETURNING k.keeper_id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION tgx.register_keeper(text, text, text, timestamptz) IS
    'Registers a keeper (idempotent on the lower-cased address) and returns its keeper_id; new keepers are not '
    'whitelisted and are offline until they check in. 22023 for a malformed address';

CREATE OR REPLACE FUNCTION tgx.keeper_checkin(
    i_keeper_id bigint,
    i_version text DEFAULT NULL,
    i_uptime bigint DEFAULT NULL,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_checkin(keeper_id, version, uptime, now)
--   A keeper's heartbeat (every 60 s).  Marks it online, clears offline_since and
--   the offline alert flag, records the version and a tgx.keeper_checkins row.
--   Uptime accumulates as in the original health service: when the keeper was
--   already online, keepers.uptime grows by the whole seconds since its previous
--   check-in; after an offline period it does not.
-- Parameters:
--   i_keeper_id  the keeper
--   i_version    keeper software version (NULL keeps the stored one)
--   i_uptime     uptime in seconds reported by the keeper itself (kept in the history)
-- Returns: nothing.
-- Raises: P0002 for an unknown keeper; 22023 for a negative uptime.
-- Tables: tgx.keepers (update), tgx.keeper_checkins (insert).
-- Notifies: tgx_dispatch when the keeper comes back online (waiting tasks may now go to it).
DECLARE
    v_was_online boolean;
BEGIN
    IF i_uptime < 0 THEN
        RAISE EXCEPTION 'invalid uptime %', i_uptime
            USING ERRCODE = '22023', DETAIL = 'The uptime is a number of seconds and cannot be negative.';
    END IF;
    SELECT k.online INTO v_was_online FROM tgx.keepers k WHERE k.keeper_id = i_keeper_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'keeper % does not exist', i_keeper_id USING ERRCODE = 'P0002';
    END IF;
    UPDATE tgx.keepers k
       SET uptime = k.uptime + CASE
                WHEN k.online AND k.last_checked_in IS NOT NULL
                THEN greatest(0, floor(extract(epoch FROM i_now - k.last_checked_in)))::bigint
                ELSE 0 END,
           online = true,
           last_checked_in = greatest(i_now, k.last_checked_in),
           version = coalesce(i_version, k.version),
           offline_since = NULL,
           offline_alerted = false
     WHERE k.keeper_id = i_keeper_id;
    INSERT INTO tgx.keeper_checkins AS c (keeper_id, checked_in_at, version, uptime)
    VALUES (i_keeper_id, i_now, i_version, i_uptime)
    ON CONFLICT (keeper_id, checked_in_at) DO UPDATE SET version = EXCLUDED.version, uptime = EXCLUDED.uptime;
    IF NOT v_was_online THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
END
$$;
COMMENT ON FUNCTION tgx.keeper_checkin(bigint, text, bigint, timestamptz) IS
    'A keeper''s heartbeat: online, last_checked_in, version, uptime (+ seconds since the previous check-in when it '
    'was online), a tgx.keeper_checkins row; P0002 for an unknown keeper';

------------------------------------------------------------------------------
-- Load: tasks assigned to or running on each keeper
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.keeper_load AS
SELECT k.keeper_id,
       -- written so that only tasks_keeper_active (keeper_id, its predicate implied) can serve
       -- it: with "state IN ('assigned', 'running')" the planner could walk tasks_leased, whose
       -- predicate is exactly that, filtering every active task of every keeper per keeper
       (SELECT count(*)::integer FROM tgx.tasks t
         WHERE t.keeper_id = k.keeper_id AND t.state IN ('assigned', 'running', 'attesting')
           AND t.state <> 'attesting') AS active
  FROM tgx.keepers k;
COMMENT ON VIEW tgx.keeper_load IS
    'Per keeper: how many tasks are assigned to or running on it (its load against keepers.capacity), counted from '
    'tgx.tasks through the partial index tasks_keeper_active; tgx.dispatch_tasks counts the same way';

------------------------------------------------------------------------------
-- Scoring
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._keeper_scores(i_keeper_ids bigint[], i_now timestamptz)
RETURNS SETOF tgx._keeper_score
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._keeper_scores(keeper_ids, now)
--   The scoring inputs of the given keepers (all keepers when keeper_ids is NULL),
--   computed once for a whole dispatch call:
--     active          tasks assigned to or running on the keeper (the view tgx.keeper_load,
--                     a count through the partial index tasks_keeper_active)
--     performance     (ok + 1) / (ok + failed + 2) over its decayed attempt outcomes
--                     (tgx.keeper_stats): a new keeper starts at the neutral 0.5
--     reputation      (agree + 1) / (agree + disagree + 2): how often its results and its
--                     attestation votes matched the final verdict; 0.5 for a new keeper
--     specialization  per task_definition_id d: (ok_d + 1) / (ok + 7), the (smoothed)
--                     share of its recent good results that were of definition d
--   Counters decay with the half-life in setting keeper_stats_half_life.
-- Returns: one tgx._keeper_score row per keeper.
-- Tables: reads tgx.keepers, tgx.keeper_load (tgx.tasks), tgx.keeper_stats.
DECLARE
    v_half_life float8;
BEGIN
    SELECT greatest(extract(epoch FROM s.value::interval)::float8, 1) INTO v_half_life
      FROM tgx.settings s WHERE s.name = 'keeper_stats_half_life';
    RETURN QUERY
    WITH st AS (
        SELECT s.keeper_id,
               sum(s.ok * d.f) AS ok, sum(s.failed * d.f) AS failed,
               sum(s.agree * d.f) AS agree, sum(s.disagree * d.f) AS disagree,
               ARRAY[coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 1), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 2), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 3), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 4), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 5), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 6), 0),
                     coalesce(sum(s.ok * d.f) FILTER (WHERE s.task_definition_id = 7), 0)] AS ok_by_def
          FROM tgx.keeper_stats s
         CROSS JOIN LATERAL (
                SELECT exp(ln(0.5) * greatest(0, extract(epoch FROM i_now - s.decayed_at))::float8 / v_half_life) AS f) d
         WHERE i_keeper_ids IS NULL OR s.keeper_id = ANY (i_keeper_ids)
         GROUP BY s.keeper_id
    )
    SELECT k.keeper_id,
           k.online AND k.whitelisted AND NOT k.draining,
           greatest(coalesce(ld.active, 0), 0),
           k.capacity,
           k.chain_ids,
           (coalesce(st.ok, 0) + 1) / (coalesce(st.ok, 0) + coalesce(st.failed, 0) + 2),
           (coalesce(st.agree, 0) + 1) / (coalesce(st.agree, 0) + coalesce(st.disagree, 0) + 2),
           ARRAY(SELECT (coalesce(st.ok_by_def[d.d], 0) + 1) / (coalesce(st.ok, 0) + 7)
                   FROM generate_series(1, 7) AS d(d) ORDER BY d.d)
      FROM tgx.keepers k
      JOIN tgx.keeper_load ld ON ld.keeper_id = k.keeper_id
      LEFT JOIN st ON st.keeper_id = k.keeper_id
     WHERE i_keeper_ids IS NULL OR k.keeper_id = ANY (i_keeper_ids);
END
$$;
COMMENT ON FUNCTION tgx._keeper_scores(bigint[], timestamptz) IS
    'Internal: scoring inputs (active tasks, performance, reputation, specialization per task definition) of the '
    'given keepers, or of all keepers when NULL; see tgx.keeper_scores for the definitions';

CREATE OR REPLACE FUNCTION tgx.keeper_scores(i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (
    keeper_id      bigint,
    eligible       boolean,
    active         integer,
    capacity       integer,
    performance    double precision,
    load           double precision,
    reputation     double precision,
    specialization double precision[],
    base_score     double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_scores(now)
--   How tgx.dispatch_tasks() ranks keepers, for inspection.  Every part is in 0..1:
--     performance     40 %: (ok + 1) / (ok + failed + 2) over the keeper's recent attempt
--                     outcomes; ok = ended with a result; failed = transient failure, lease
--                     expired, ack timeout, keeper offline; a new keeper scores 0.5
--     load            30 %: 1 - active / capacity (active = assigned + running tasks)
--     reputation      20 %: (agree + 1) / (agree + disagree + 2), how often its results and
--                     attestation votes matched the final verdict; 0.5 when unknown
--     specialization  10 %: for a task of definition d, (ok_d + 1) / (ok + 7), the smoothed
--                     share of its recent good results that were of definition d
--   "Recent": counters decay with the half-life in setting keeper_stats_half_life.
-- Returns: one row per keeper; eligible = online, whitelisted and not draining;
--   base_score = 0.4 performance + 0.3 load + 0.2 reputation (dispatch adds
--   0.1 specialization[task_definition_id] and lowers load as it fills the keeper).
-- Tables: reads tgx.keepers, tgx.keeper_load (tgx.tasks), tgx.keeper_stats.
SELECT s.keeper_id, s.eligible, s.active, s.capacity, s.performance,
       greatest(0, 1 - s.active::float8 / s.capacity),
       s.reputation, s.specialization,
       0.4 * s.performance + 0.3 * greatest(0, 1 - s.active::float8 / s.capacity) + 0.2 * s.reputation
  FROM tgx._keeper_scores(NULL, i_now) s
 ORDER BY s.keeper_id
$$;
COMMENT ON FUNCTION tgx.keeper_scores(timestamptz) IS
    'Keeper scoring as tgx.dispatch_tasks uses it: performance 40 % (smoothed success ratio of recent attempts), '
    'load 30 % (1 - active/capacity), reputation 20 % (smoothed agreement with final verdicts), specialization '
    '10 % (smoothed share of recent good results per task definition, array indexed by task_definition_id); '
    'base_score leaves out specialization';

------------------------------------------------------------------------------
-- Keeper accounting
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._keeper_record(i_events tgx._keeper_event[], i_now timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._keeper_record(events, now)
--   Applies the keeper accounting events a call collected, once, at its end (the last
--   step of the lock order): keeper_points += rewards_booster * reward,
--   no_executed_tasks, no_attested_tasks; and the decayed counters of
--   tgx.keeper_stats (existing values decay to now, then the deltas are added).
-- Parameters:
--   i_events  tgx._keeper_event rows; several rows for one keeper are summed
-- Returns: nothing.
-- Tables: tgx.keepers (update), tgx.keeper_stats (insert or update), in key order.
DECLARE
    v_half_life float8;
    v_ids bigint[];
    v_reward float8[];
    v_executed bigint[];
    v_attested bigint[];
BEGIN
    IF i_events IS NULL OR cardinality(i_events) = 0 THEN
        RETURN;
    END IF;

    -- points and counters, one row per keeper, in key order; the half-life with them
    SELECT array_agg(e.keeper_id ORDER BY e.keeper_id), array_agg(e.reward ORDER BY e.keeper_id),
           array_agg(e.executed ORDER BY e.keeper_id), array_agg(e.attested ORDER BY e.keeper_id),
           (SELECT greatest(extract(epoch FROM s.value::interval)::float8, 1)
              FROM tgx.settings s WHERE s.name = 'keeper_stats_half_life')
      INTO v_ids, v_reward, v_executed, v_attested, v_half_life
      FROM (SELECT x.keeper_id, sum(x.reward) AS reward,
                   sum(x.executed)::bigint AS executed, sum(x.attested)::bigint AS attested
              FROM unnest(i_events) x
             GROUP BY x.keeper_id) e
     WHERE e.reward <> 0 OR e.executed <> 0 OR e.attested <> 0;
    IF cardinality(v_ids) > 1 THEN   -- one row needs no ordered locking
        PERFORM 1
           FROM tgx.keepers k
          WHERE k.keeper_id = ANY (v_ids)
          ORDER BY k.keeper_id
            FOR NO KEY UPDATE;
    END IF;
    IF v_ids IS NOT NULL THEN
        UPDATE tgx.keepers k
           SET keeper_points = k.keeper_points + k.rewards_booster * e.reward,
               no_executed_tasks = k.no_executed_tasks + e.executed,
               no_attested_tasks = k.no_attested_tasks + e.attested
          FROM unnest(v_ids, v_reward, v_executed, v_attested) AS e(keeper_id, reward, executed, attested)
         WHERE k.keeper_id = e.keeper_id AND k.keeper_id = ANY (v_ids);
    END IF;

    INSERT INTO tgx.keeper_stats AS s (keeper_id, task_definition_id, ok, failed, agree, disagree, decayed_at)
    SELECT x.keeper_id, x.task_definition_id, sum(x.ok), sum(x.failed), sum(x.agree), sum(x.disagree), i_now
      FROM unnest(i_events) x
     WHERE x.ok <> 0 OR x.failed <> 0 OR x.agree <> 0 OR x.disagree <> 0
     GROUP BY x.keeper_id, x.task_definition_id
     ORDER BY x.keeper_id, x.task_definition_id
    ON CONFLICT (keeper_id, task_definition_id) DO UPDATE
       SET ok = s.ok * exp(ln(0.5) * greatest(0, extract(epoch FROM EXCLUDED.decayed_at - s.decayed_at))::float8
                           / v_half_life) + EXCLUDED.ok,
           failed = s.failed * exp(ln(0.5) * greatest(0, extract(epoch FROM EXCLUDED.decayed_at - s.decayed_at))::float8
                                   / v_half_life) + EXCLUDED.failed,
           agree = s.agree * exp(ln(0.5) * greatest(0, extract(epoch FROM EXCLUDED.decayed_at - s.decayed_at))::float8
                                 / v_half_life) + EXCLUDED.agree,
           disagree = s.disagree * exp(ln(0.5) * greatest(0, extract(epoch FROM EXCLUDED.decayed_at - s.decayed_at))::float8
                                       / v_half_life) + EXCLUDED.disagree,
           decayed_at = greatest(s.decayed_at, EXCLUDED.decayed_at);
END
$$;
COMMENT ON FUNCTION tgx._keeper_record(tgx._keeper_event[], timestamptz) IS
    'Internal: applies collected keeper accounting events once per call (points x rewards_booster, executed/attested '
    'counters, decayed tgx.keeper_stats counters), locking keeper rows in key order';

------------------------------------------------------------------------------
-- The offline sweep
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.sweep_keepers(i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.sweep_keepers(now)
--   The health role's periodic step (every few seconds):
--   1. keepers online but silent longer than setting keeper_silence (no check-in) are
--      marked offline, offline_since = now;
--   2. the work of every keeper that is offline (or just went silent) is handed back:
--      assigned tasks -> pending at once (not a used attempt, see
--      tasks.uncounted_attempts; the keeper is not excluded, being offline is enough),
--      running tasks -> retried like a lease expiry (outcome keeper_offline: backoff
--      and exclusion, or dead when attempts are used up), and their open attestations
--      are given to other keepers where possible (tgx.expire_attestations decides
--      later if nobody is left);
--   3. a keeper offline for at least setting keeper_offline_alert gets ONE alert
--      (kind keeper_offline, deduplicated per offline period; reset by a check-in).
--   Tasks locked by someone else are skipped and picked up by the next sweep.
-- Returns: how many keepers changed (marked offline or alerted).
-- Tables: tgx.keepers, tgx.tasks, tgx.task_attempts, tgx.attestations, tgx.jobs,
--   tgx.alerts, tgx.keeper_stats.
-- Notifies: tgx_alert when an alert was queued (and the task channels through the helpers).
DECLARE
    v_silence interval := tgx.setting_interval('keeper_silence');
    v_alert_after interval := tgx.setting_interval('keeper_offline_alert');
    v_silent bigint[];
    v_assigned bigint[];
    v_running bigint[];
    v_attesting bigint[];
    v_events tgx._keeper_event[] := '{}'::tgx._keeper_event[];
    v_marked bigint[];
    v_alerted bigint[];
    v_alerts integer;
BEGIN
    -- 1. who went silent (read only: keeper rows are locked last, see the lock order)
    SELECT coalesce(array_agg(k.keeper_id ORDER BY k.keeper_id), '{}') INTO v_silent
      FROM tgx.keepers k
     WHERE k.online AND (k.last_checked_in IS NULL OR k.last_checked_in < i_now - v_silence);

    -- 2. hand back the work of silent and offline keepers
    SELECT array_agg(c.task_id) FILTER (WHERE c.state = 'assigned'),
           array_agg(c.task_id) FILTER (WHERE c.state = 'running')
      INTO v_assigned, v_running
      FROM (SELECT t.task_id, t.state
              FROM tgx.tasks t
              JOIN tgx.keepers k ON k.keeper_id = t.keeper_id
             WHERE t.state IN ('assigned', 'running')
               AND (NOT k.online OR k.keeper_id = ANY (v_silent))
             ORDER BY t.task_id
               FOR UPDATE OF t SKIP LOCKED) c;
    IF v_assigned IS NOT NULL THEN
        v_events := v_events || tgx._task_requeue(v_assigned, 'keeper_offline', false, i_now);
    END IF;
    IF v_running IS NOT NULL THEN
        v_events := v_events || tgx._task_fail(v_running, 'keeper_offline', 'keeper went offline', i_now);
    END IF;

    SELECT array_agg(c.task_id)
      INTO v_attesting
      FROM (SELECT t.task_id
              FROM tgx.tasks t
             WHERE t.state::text = 'attesting'   -- by primary key, see tgx.queue.sql
               AND t.task_id IN (SELECT a.task_id
                                   FROM tgx.attestations a
                                   JOIN tgx.keepers k ON k.keeper_id = a.keeper_id
                                  WHERE a.verdict IS NULL AND NOT a.superseded
                                    AND (NOT k.online OR k.keeper_id = ANY (v_silent)))
             ORDER BY t.task_id
               FOR UPDATE OF t SKIP LOCKED) c;
    IF v_attesting IS NOT NULL THEN
        PERFORM tgx._attest_fill(v_attesting, v_silent, i_now);
    END IF;

    -- 3. keeper rows, in key order: mark offline, alert
    PERFORM 1
       FROM tgx.keepers k
      WHERE k.keeper_id = ANY (v_silent)
         OR (NOT k.online AND NOT k.offline_alerted AND k.offline_since <= i_now - v_alert_after)
      ORDER BY k.keeper_id
        FOR NO KEY UPDATE;
    WITH m AS (
        UPDATE tgx.keepers k
           SET online = false, offline_since = i_now, offline_alerted = false
         WHERE k.keeper_id = ANY (v_silent)
           AND k.online AND (k.last_checked_in IS NULL OR k.last_checked_in < i_now - v_silence)
        RETURNING k.keeper_id)
    SELECT coalesce(array_agg(m.keeper_id), '{}') INTO v_marked FROM m;

    WITH a AS (
        UPDATE tgx.keepers k
           SET offline_alerted = true
         WHERE NOT k.online AND NOT k.offline_alerted AND k.offline_since <= i_now - v_alert_after
        RETURNING k.keeper_id, k.keeper_address, k.keeper_name, k.offline_since, k.last_checked_in,
                  k.email_id, k.chat_id),
    ins AS (
        INSERT INTO tgx.alerts (kind, subject, payload, dedup_key, created_at, next_try_at)
        SELECT 'keeper_offline',
               format('keeper %s (%s) offline since %s', a.keeper_id,
                      coalesce(nullif(a.keeper_name, ''), a.keeper_address), a.offline_since),
               jsonb_build_object('keeper_id', a.keeper_id, 'keeper_address', a.keeper_address,
                                  'keeper_name', a.keeper_name, 'offline_since', a.offline_since,
                                  'last_checked_in', a.last_checked_in, 'email_id', a.email_id,
                                  'chat_id', a.chat_id),
               format('keeper_offline:%s:%s', a.keeper_id, extract(epoch FROM a.offline_since)),
               i_now, i_now
          FROM a
         ORDER BY a.keeper_id
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING 1)
    SELECT coalesce((SELECT array_agg(a.keeper_id) FROM a), '{}'), (SELECT count(*) FROM ins)
      INTO v_alerted, v_alerts;
    IF v_alerts > 0 THEN
        PERFORM pg_notify('tgx_alert', '');
    END IF;

    PERFORM tgx._keeper_record(v_events, i_now);
    RETURN (SELECT count(DISTINCT x) FROM unnest(v_marked || v_alerted) x);
END
$$;
COMMENT ON FUNCTION tgx.sweep_keepers(timestamptz) IS
    'Health step: marks keepers silent longer than keeper_silence offline, hands back their work (assigned -> '
    'pending uncounted, running -> retry/dead with outcome keeper_offline, open attestations replaced), queues one '
    'keeper_offline alert per offline period after keeper_offline_alert; returns how many keepers changed';
