-- tgx.fire_due_schedules.sql: turning due time schedules into tasks (the scheduler role).
--
--   tgx.fire_due_schedules(batch, now)   claims due schedules, creates their tasks, advances them
--   tgx.next_schedule_due()              when the scheduler should wake up next
--
-- Misfires (runs missed while no scheduler ran), per tgx.time_schedules.misfire_policy:
--   the due instants of a claimed schedule are its instants from next_fire_at up to
--   min(now, job expiration_time).  An instant older than now - start_deadline (when set) is
--   expired and never fired.  Exactly one due instant is a normal, possibly late, run.  More
--   than one is a misfire: skip fires none and resumes after now; fire_once fires one task for
--   the latest; fire_all fires one task per due instant, the most recent misfire_cap of them.
--   Every task records {"misfire": {"policy","due","due_capped","expired","fired","collapsed"}}
--   in trigger_data (collapsed = due instants neither expired nor fired as their own task), and
--   the schedule records missed_runs and last_misfire.
--   Interval schedules count with arithmetic; cron schedules enumerate at most
--   max(misfire_cap, 100) + 1 instants forward, then find the most recent ones by searching
--   windows back from now (due is then a lower bound and due_capped true).

CREATE OR REPLACE FUNCTION tgx._cron_fire_plan(i_spec tgx.cron_spec, i_tz text, i_dst_gap text, i_dst_overlap text,
                                               i_policy text, i_cap integer, i_cutoff timestamptz,
                                               i_first timestamptz, i_now timestamptz, i_lim timestamptz,
                                               OUT o_fire_at timestamptz[], OUT o_due integer, OUT o_expired integer,
                                               OUT o_due_capped boolean, OUT o_next_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_fire_plan(i_spec, i_tz, i_dst_gap, i_dst_overlap, i_policy, i_cap, i_cutoff,
--                               i_first, i_now, i_lim)
--   What one firing of a cron schedule (i_spec = time_schedules.cron_spec) does, see the file
--   header: the due instants are i_first (next_fire_at) and the cron instants after it up to
--   i_lim = min(now, expiration); instants before i_cutoff (now - start_deadline, or
--   -infinity) are expired.
-- Returns: o_fire_at the instants to create tasks for (ascending), o_due the number of due
--   instants (a lower bound when o_due_capped), o_expired the expired ones among them,
--   o_next_at the first instant after i_now (or the first after i_lim when that is the expiry:
--   the caller then completes the job).
DECLARE
    v_need   integer := CASE WHEN i_policy = 'fire_all' THEN i_cap ELSE 1 END;
    v_budget integer := greatest(CASE WHEN i_policy = 'fire_all' THEN i_cap ELSE 1 END, 100) + 1;
    v_list   timestamptz[] := ARRAY[]::timestamptz[];
    v_recent timestamptz[];
    v_all    timestamptz[];
    v_ok     timestamptz[];
    v_t      timestamptz := i_first;
    v_from   timestamptz;
    v_win    interval;
    v_n      integer;
BEGIN
    o_due_capped := false;
    WHILE v_t IS NOT NULL AND v_t <= i_lim AND cardinality(v_list) < v_budget LOOP
        v_list := v_list || v_t;
        v_t := (tgx._cron_next_spec(i_spec, v_t, i_tz, i_dst_gap, i_dst_overlap)).o_at;
    END LOOP;
    v_n := cardinality(v_list);
    IF v_n <= 1 AND (v_t IS NULL OR v_t > i_now) THEN
        -- the common case: at most one due instant, the next one already after now
        o_due := v_n;
        o_expired := CASE WHEN v_n = 1 AND v_list[1] < i_cutoff THEN 1 ELSE 0 END;
        o_fire_at := CASE WHEN v_n = 1 AND o_expired = 0 THEN v_list ELSE ARRAY[]::timestamptz[] END;
        o_next_at := v_t;
        RETURN;
    END IF;
    v_all := v_list;
    IF v_t IS NOT NULL AND v_t <= i_lim THEN
        -- more instants are due than the budget: find the most recent v_need of them by
        -- enumerating windows that end at i_lim, widening them from the average spacing seen
        v_win := (v_list[v_n] - v_list[1]) / (v_n - 1) * (v_need + 1);
        LOOP
            v_from := greatest(i_lim - v_win, v_list[v_n]);
            v_recent := '{}';
            v_t := (tgx._cron_next_spec(i_spec, v_from, i_tz, i_dst_gap, i_dst_overlap)).o_at;
            WHILE v_t IS NOT NULL AND v_t <= i_lim LOOP
                v_recent := v_recent || v_t;
                v_t := (tgx._cron_next_spec(i_spec, v_t, i_tz, i_dst_gap, i_dst_overlap)).o_at;
            END LOOP;
            EXIT WHEN cardinality(v_recent) >= v_need OR v_from = v_list[v_n];
            v_win := v_win * 4;
        END LOOP;
        IF v_from = v_list[v_n] THEN
            v_all := v_list || v_recent;  -- contiguous: the count is exact
        ELSE
            v_all := v_recent;
            o_due_capped := true;
        END IF;
        v_n := v_n + cardinality(v_recent);
    END IF;
    o_due := v_n;
    SELECT count(*) FILTER (WHERE a < i_cutoff), coalesce(array_agg(a ORDER BY a) FILTER (WHERE a >= i_cutoff), '{}')
    INTO o_expired, v_ok
    FROM unnest(v_all) a;
    IF o_due_capped THEN
        o_expired := o_expired + (SELECT count(*) FROM unnest(v_list) a WHERE a < i_cutoff);
    END IF;
    IF o_due <= 1 THEN
        o_fire_at := v_ok;
    ELSIF i_policy = 'skip' THEN
        o_fire_at := '{}';
    ELSIF i_policy = 'fire_once' THEN
        o_fire_at := CASE WHEN cardinality(v_ok) > 0 THEN ARRAY[v_ok[cardinality(v_ok)]] ELSE '{}' END;
    ELSE
        o_fire_at := v_ok[greatest(cardinality(v_ok) - i_cap + 1, 1):cardinality(v_ok)];
    END IF;
    -- v_t is the first instant after the last due one (> i_lim)
    IF v_t IS NULL OR v_t > i_now OR i_lim < i_now THEN
        o_next_at := v_t;
    ELSE
        o_next_at := (tgx._cron_next_spec(i_spec, i_now, i_tz, i_dst_gap, i_dst_overlap)).o_at;
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._cron_fire_plan(tgx.cron_spec, text, text, text, text, integer, timestamptz, timestamptz,
                                        timestamptz, timestamptz) IS
    'Internal: the instants one firing of a cron schedule creates tasks for under its misfire policy, the due and '
    'expired counts (bounded enumeration), and the next instant';

CREATE OR REPLACE FUNCTION tgx.fire_due_schedules(i_batch integer DEFAULT 100,
                                                  i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET enable_seqscan = off
SET enable_bitmapscan = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
-- Function: tgx.fire_due_schedules(i_batch, i_now)
--   One step of the scheduler role.  Claims up to i_batch due schedules (next_fire_at <= i_now,
--   oldest first, FOR UPDATE SKIP LOCKED so concurrent schedulers never fire the same instant
--   twice) and, in one statement:
--   * for schedules of active jobs (status pending, chain_status 0): creates the tasks of the
--     due instants under the misfire policy (file header): state pending, due_at = i_now,
--     scheduled_for = the instant, task_definition_id, max_attempts, is_imua and trace_id of the
--     job, task_number = the schedule's fire ordinal, trigger_data {trigger_timestamp,
--     schedule_type, the spec, timezone, expiration_time, next_trigger_timestamp, misfire};
--     advances next_fire_at to the first instant after i_now (interval: next_fire_at + k *
--     time_interval, so the phase is kept), last_fired_at, fire_count, missed_runs;
--     completes the job (status completed, next_fire_at NULL) when no instant is left before
--     its expiration_time (a specific schedule after its one run);
--   * for schedules of paused, completed or deleted jobs and of linked followers (chain_status
--     1, fired by the queue when their head's task succeeds): sets next_fire_at NULL (parked;
--     tgx._schedule_resume recomputes it on resume).
--   Interval and specific schedules are computed set-based; cron schedules call
--   tgx._cron_fire_plan once per row.  Runs with enable_seqscan and enable_bitmapscan off
--   (see the header of tgx.queue.sql): every row it touches is found by key or by
--   time_schedules_due, whatever the statistics say (and with jit off, and generic plans:
--   planning the claim costs more than running it for a few schedules).
-- Parameters:
--   i_batch  most schedules to claim (1-10000)
--   i_now    the current instant
-- Returns: the number of tasks created.
-- Raises: 22023 bad i_batch or i_now.
-- Tables: tgx.time_schedules (update), tgx.tasks (insert), tgx.jobs (update on completion).
--   NOTIFY tgx_dispatch once when tasks were created (tgx_task_changed comes from the
--   task feed trigger of tgx.tasks).
DECLARE
    v_tasks integer;
BEGIN
    PERFORM tgx._check_batch(i_batch);
    IF i_now IS NULL OR NOT isfinite(i_now) THEN
        RAISE EXCEPTION 'a finite current instant is required' USING ERRCODE = '22023';
    END IF;

    WITH base AS MATERIALIZED (
        -- the claim; the job is read (not locked) in the same ordered, limited scan
        SELECT s.job_id, s.schedule_type, s.time_interval, s.cron_expression, s.specific_schedule, s.timezone,
               s.dst_gap, s.dst_overlap, s.misfire_policy, s.misfire_cap, s.start_deadline, s.next_fire_at,
               s.fire_count, s.cron_spec, j.expiration_time, j.task_definition_id, j.max_attempts, j.is_imua,
               j.trace_id,
               (j.status = 'pending' AND j.chain_status = 0) AS eligible,
               least(i_now, j.expiration_time) AS lim,
               CASE WHEN s.start_deadline IS NULL THEN '-infinity'::timestamptz
                    ELSE i_now - s.start_deadline END AS cutoff
        FROM tgx.time_schedules s JOIN tgx.jobs j ON j.job_id = s.job_id
        WHERE s.next_fire_at <= i_now
        ORDER BY s.next_fire_at
        LIMIT i_batch
        FOR UPDATE OF s SKIP LOCKED
    ), plan AS MATERIALIZED (
        SELECT b.*, p.fire_at, p.due, p.expired, p.due_capped, p.next_at
        FROM base b
        CROSS JOIN LATERAL (
            -- interval: instants next_fire_at + k * time_interval, k = 0 .. due - 1
            SELECT CASE WHEN x.k_lo > x.due - 1 THEN ARRAY[]::timestamptz[]
                        WHEN x.k_lo = x.due - 1 THEN ARRAY[b.next_fire_at + x.k_lo * b.time_interval * interval '1 second']
                        ELSE ARRAY(SELECT b.next_fire_at + k * b.time_interval * interval '1 second'
                                   FROM generate_series(x.k_lo, x.due - 1) k ORDER BY k) END AS fire_at,
                   x.due, x.expired, false AS due_capped,
                   b.next_fire_at + (x.k_now + 1) * b.time_interval * interval '1 second' AS next_at
            FROM (SELECT d.due, d.expired, d.k_now,
                         CASE WHEN d.due <= 1 THEN d.expired
                              WHEN b.misfire_policy = 'skip' THEN d.due
                              WHEN b.misfire_policy = 'fire_once' THEN greatest(d.expired, d.due - 1)
                              ELSE greatest(d.expired, d.due - b.misfire_cap) END AS k_lo
                  FROM (SELECT e.due, e.k_now,
                               CASE WHEN b.start_deadline IS NULL OR b.cutoff <= b.next_fire_at THEN 0
                                    ELSE least(e.due, ceil(extract(epoch FROM b.cutoff - b.next_fire_at)
                                                           / b.time_interval)::bigint) END AS expired
                        FROM (SELECT CASE WHEN b.next_fire_at <= b.lim
                                          THEN floor(extract(epoch FROM b.lim - b.next_fire_at)
                                                     / b.time_interval)::bigint + 1
                                          ELSE 0 END AS due,
                                     floor(extract(epoch FROM i_now - b.next_fire_at) / b.time_interval)::bigint
                                         AS k_now) e) d) x
            WHERE b.eligible AND b.schedule_type = 'interval'
            UNION ALL
            -- specific: the one instant
            SELECT CASE WHEN b.next_fire_at <= b.lim AND b.next_fire_at >= b.cutoff THEN ARRAY[b.next_fire_at]
                        ELSE '{}'::timestamptz[] END,
                   (b.next_fire_at <= b.lim)::integer::bigint,
                   (b.next_fire_at <= b.lim AND b.next_fire_at < b.cutoff)::integer::bigint,
                   false, NULL::timestamptz
            WHERE b.eligible AND b.schedule_type = 'specific'
            UNION ALL
            SELECT cp.o_fire_at, cp.o_due, cp.o_expired, cp.o_due_capped, cp.o_next_at
            FROM tgx._cron_fire_plan(b.cron_spec, b.timezone, b.dst_gap, b.dst_overlap, b.misfire_policy,
                                     b.misfire_cap, b.cutoff, b.next_fire_at, i_now, b.lim) cp
            WHERE b.eligible AND b.schedule_type = 'cron'
            UNION ALL
            -- parked
            SELECT '{}'::timestamptz[], 0, 0, false, NULL::timestamptz
            WHERE NOT b.eligible
        ) p
    ), ins AS (
        INSERT INTO tgx.tasks (job_id, task_definition_id, task_number, state, scheduled_for, due_at, max_attempts,
                               is_imua, trace_id, trigger_data, created_at, updated_at)
        SELECT p.job_id, p.task_definition_id, p.fire_count + f.ord, 'pending', f.at, i_now, p.max_attempts,
               p.is_imua, p.trace_id,
               jsonb_strip_nulls(jsonb_build_object(
                   'trigger_timestamp', f.at,
                   'schedule_type', p.schedule_type,
                   'time_interval', p.time_interval,
                   'cron_expression', p.cron_expression,
                   'specific_schedule', p.specific_schedule,
                   'timezone', CASE WHEN p.schedule_type <> 'interval' THEN p.timezone END,
                   'expiration_time', p.expiration_time,
                   'next_trigger_timestamp', CASE WHEN p.next_at <= p.expiration_time THEN p.next_at END))
               || jsonb_build_object('misfire', jsonb_build_object(
                   'policy', p.misfire_policy,
                   'due', p.due,
                   'due_capped', p.due_capped,
                   'expired', p.expired,
                   'fired', cardinality(p.fire_at),
                   'collapsed', greatest(p.due - p.expired - cardinality(p.fire_at), 0))),
               i_now, i_now
        FROM plan p CROSS JOIN LATERAL unnest(p.fire_at) WITH ORDINALITY AS f(at, ord)
        RETURNING 1
    ), upd AS (
        UPDATE tgx.time_schedules s
        SET next_fire_at = CASE WHEN p.eligible AND p.next_at <= p.expiration_time THEN p.next_at END,
            last_fired_at = coalesce(p.fire_at[cardinality(p.fire_at)], s.last_fired_at),
            fire_count = s.fire_count + cardinality(p.fire_at),
            missed_runs = s.missed_runs + greatest(p.due - cardinality(p.fire_at), 0),
            last_misfire = CASE WHEN p.due > 1 OR p.expired > 0 THEN
                               jsonb_build_object('at', i_now, 'policy', p.misfire_policy, 'due', p.due,
                                                  'due_capped', p.due_capped, 'expired', p.expired,
                                                  'fired', cardinality(p.fire_at), 'from', p.next_fire_at,
                                                  'until', p.lim)
                               ELSE s.last_misfire END
        FROM plan p
        -- = ANY: by primary key whatever the statistics say (a hash join would read every schedule)
        WHERE s.job_id = p.job_id AND s.job_id = ANY (ARRAY(SELECT b.job_id::numeric FROM base b))
        RETURNING 1
    ), fin AS (
        UPDATE tgx.jobs j
        SET status = 'completed', updated_at = i_now
        FROM plan p
        WHERE j.job_id = p.job_id AND p.eligible AND (p.next_at IS NULL OR p.next_at > p.expiration_time)
          AND j.job_id = ANY (ARRAY(SELECT q.job_id::numeric FROM plan q
                                     WHERE q.eligible AND (q.next_at IS NULL OR q.next_at > q.expiration_time)))
        RETURNING 1
    )
    SELECT count(*) INTO v_tasks FROM ins;

    IF v_tasks > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');   -- tgx_task_changed: the feed trigger (tgx.task_feed.sql)
    END IF;
    RETURN v_tasks;
END
$$;
COMMENT ON FUNCTION tgx.fire_due_schedules(integer, timestamptz) IS
    'Scheduler step: claims up to i_batch due time schedules (SKIP LOCKED), creates their tasks (state pending, '
    'scheduled_for = the instant, trigger_data with the misfire counts) under each schedule''s misfire policy and '
    'start_deadline, advances next_fire_at, completes jobs with no run left before expiration_time, parks schedules '
    'of inactive jobs and linked followers; returns the number of tasks created; NOTIFY tgx_dispatch and '
    'tgx_task_changed';

CREATE OR REPLACE FUNCTION tgx.next_schedule_due()
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.next_schedule_due()
--   When the scheduler should call tgx.fire_due_schedules next: the earliest next_fire_at of
--   any schedule (schedules of inactive jobs are parked with NULL once they come due).
-- Returns: the instant (possibly in the past: work is waiting), NULL when nothing is scheduled.
-- Tables: tgx.time_schedules (read, index time_schedules_due).
SELECT s.next_fire_at FROM tgx.time_schedules s
WHERE s.next_fire_at IS NOT NULL
ORDER BY s.next_fire_at
LIMIT 1
$$;
COMMENT ON FUNCTION tgx.next_schedule_due() IS
    'The earliest next_fire_at of the time schedules (NULL when none): the scheduler role sleeps until then or until '
    'NOTIFY tgx_schedule';
