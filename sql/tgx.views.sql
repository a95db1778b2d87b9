-- tgx.views.sql: inspection views for DBAs (role tgx_reader).
--
-- Each view answers one question without joins on the reader's side, with typed
-- columns.  Times are relative to now() (the start of the reader's transaction),
-- so one transaction sees consistent ages.
--
-- Cost on a ledger of millions of rows:
--  * hot views (queue_status, stuck_tasks, keeper_status) read only non-terminal
--    tasks, each branch written with the exact predicate of a partial index of
--    0001_core.sql (tasks_due, tasks_leased, tasks_attesting, tasks_keeper_active);
--  * job_overview counts a job's tasks through tasks_job, one job at a time:
--    filter it (WHERE job_id = ..., WHERE owner_address = ...) on big ledgers;
--  * task_history is a plain join: WHERE task_id / job_id / keeper_id reach an
--    index (tasks pkey, tasks_job, task_attempts_keeper of 0013_attempts_keeper_index.sql);
--  * lateness and lateness_hourly read finished tasks; WHERE hour >= ... uses
--    tasks_finished_hour (0004_steering.sql), WHERE job_id = ... uses tasks_job.
--
-- CREATE OR REPLACE keeps the grants and anything that depends on a view while a
-- live system migrates.  It only allows appending columns: to rename, retype or
-- drop a column, DROP the view in a migration first (this file recreates it).

-- How long a waiting task may stay past due before tgx.stuck_tasks lists it.
INSERT INTO tgx.settings (name, value, value_type, description) VALUES
    ('stuck_after', '1 minute', 'interval',
     'A scheduled or pending task this long past due is listed by tgx.stuck_tasks')
ON CONFLICT (name) DO NOTHING;

------------------------------------------------------------------------------
-- tgx.job_overview
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.job_overview AS
SELECT j.job_id,
       j.job_title,
       u.user_address AS owner_address,
       j.user_id,
       j.task_definition_id,
       (CASE j.task_definition_id
            WHEN 1 THEN 'time'
            WHEN 2 THEN 'time, dynamic arguments'
            WHEN 3 THEN 'event'
            WHEN 4 THEN 'event, dynamic arguments'
            WHEN 5 THEN 'condition'
            WHEN 6 THEN 'condition, dynamic arguments'
            WHEN 7 THEN 'custom script'
        END)::text AS job_type,
       j.status,
       (CASE
            WHEN ts.job_id IS NOT NULL THEN
                CASE ts.schedule_type
                    WHEN 'interval' THEN format('every %s seconds', ts.time_interval)
                    WHEN 'cron' THEN format('cron "%s" in %s', ts.cron_expression, ts.timezone)
                    WHEN 'specific' THEN format('once at %s', ts.specific_at)
                END
                || CASE WHEN cs.job_id IS NOT NULL
                        THEN format(', %s script %s', cs.script_language, cs.custom_script_url) ELSE '' END
            WHEN et.job_id IS NOT NULL THEN
                format('event %s of %s on chain %s', et.trigger_event, et.trigger_contract_address,
                       et.trigger_chain_id)
                || CASE WHEN et.event_filter_para_name IS NOT NULL
                        THEN format(' where %s = %s', et.event_filter_para_name, et.event_filter_value)
                        ELSE '' END
            WHEN ct.job_id IS NOT NULL THEN
                format('%s %s of %s %s, checked every %s', ct.condition_type,
                       CASE WHEN ct.condition_type = 'between'
                            THEN format('%s and %s', ct.lower_limit, ct.upper_limit)
                            ELSE coalesce(ct.upper_limit, ct.lower_limit)::text END,
                       ct.value_source_type, ct.value_source_url, ct.check_interval)
        END)::text AS schedule,
       ts.next_fire_at,
       ct.next_check_at,
       j.last_executed_at,
       j.expiration_time,
       (j.expiration_time <= now()) AS expired,
       j.target_chain_id,
       j.target_contract_address,
       j.target_function,
       j.max_attempts,
       j.consecutive_failures,
       c.scheduled_tasks,
       c.pending_tasks,
       c.assigned_tasks,
       c.running_tasks,
       c.attesting_tasks,
       c.succeeded_tasks,
       c.rejected_tasks,
       c.dead_tasks,
       c.cancelled_tasks,
       c.total_tasks,
       c.last_task_at,
       j.created_at,
       j.updated_at
  FROM tgx.jobs j
  JOIN tgx.users u ON u.user_id = j.user_id
  LEFT JOIN tgx.time_schedules ts ON ts.job_id = j.job_id
  LEFT JOIN tgx.event_triggers et ON et.job_id = j.job_id
  LEFT JOIN tgx.condition_triggers ct ON ct.job_id = j.job_id
  LEFT JOIN tgx.custom_scripts cs ON cs.job_id = j.job_id
 CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE t.state = 'scheduled') AS scheduled_tasks,
              count(*) FILTER (WHERE t.state = 'pending') AS pending_tasks,
              count(*) FILTER (WHERE t.state = 'assigned') AS assigned_tasks,
              count(*) FILTER (WHERE t.state = 'running') AS running_tasks,
              count(*) FILTER (WHERE t.state = 'attesting') AS attesting_tasks,
              count(*) FILTER (WHERE t.state = 'succeeded') AS succeeded_tasks,
              count(*) FILTER (WHERE t.state = 'rejected') AS rejected_tasks,
              count(*) FILTER (WHERE t.state = 'dead') AS dead_tasks,
              count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled_tasks,
              count(*) AS total_tasks,
              max(t.created_at) AS last_task_at
         FROM tgx.tasks t
        WHERE t.job_id = j.job_id) c;
COMMENT ON VIEW tgx.job_overview IS
    'One row per job: owner address, type, status, schedule summary (time, event or condition trigger), next '
    'fire/check, last execution, expiry, and its task counts by state. Counting reads the job''s tasks: filter by '
    'job_id or owner_address on big ledgers';

------------------------------------------------------------------------------
-- tgx.queue_status
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.queue_status AS
WITH live AS (
    SELECT t.state, t.due_at, NULL::timestamptz AS deadline
      FROM tgx.tasks t
     WHERE t.state IN ('scheduled', 'pending')
    UNION ALL
    SELECT t.state, t.due_at, t.lease_until
      FROM tgx.tasks t
     WHERE t.state IN ('assigned', 'running')
    UNION ALL
    SELECT t.state, t.due_at, t.attest_deadline
      FROM tgx.tasks t
     WHERE t.state = 'attesting'
)
SELECT s.state,
       count(l.state) AS tasks,
       count(l.state) FILTER (WHERE l.due_at <= now()) AS due_now,
       min(l.due_at) AS oldest_due_at,
       now() - min(l.due_at) AS oldest_due_age,
       min(l.deadline) AS next_deadline,
       count(l.state) FILTER (WHERE l.deadline < now()) AS past_deadline
  FROM unnest('{scheduled,pending,assigned,running,attesting}'::tgx.task_state[]) WITH ORDINALITY AS s(state, ord)
  LEFT JOIN live l ON l.state = s.state
 GROUP BY s.state, s.ord
 ORDER BY s.ord;
COMMENT ON VIEW tgx.queue_status IS
    'The work set, one row per non-terminal state (always five rows): tasks, due_now (due_at passed: for pending, '
    'waiting for dispatch), oldest due_at and its age, the next lease/ack/attestation deadline and how many are past '
    'it. Reads only the partial indexes of the hot work set';

------------------------------------------------------------------------------
-- tgx.stuck_tasks
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.stuck_tasks AS
WITH cfg AS (
    SELECT coalesce((SELECT s.value::interval FROM tgx.settings s WHERE s.name = 'stuck_after'),
                    interval '1 minute') AS stuck_after
), stuck AS (
    SELECT t.task_id, t.job_id, t.state, t.keeper_id, t.attempt, t.max_attempts, t.lease_epoch,
           t.due_at, t.lease_until AS deadline,
           CASE t.state
               WHEN 'assigned' THEN format('ack deadline passed: keeper %s did not take the task', t.keeper_id)
               ELSE format('lease expired: keeper %s did not report a result', t.keeper_id)
           END AS why
      FROM tgx.tasks t
     WHERE t.state IN ('assigned', 'running')
       AND t.lease_until < now()
    UNION ALL
    SELECT t.task_id, t.job_id, t.state, t.keeper_id, t.attempt, t.max_attempts, t.lease_epoch,
           t.due_at, t.attest_deadline,
           format('attestation deadline passed: %s of %s attesters answered',
                  (SELECT count(*) FROM tgx.attestations x
                    WHERE x.task_id = t.task_id AND x.lease_epoch = t.lease_epoch AND x.verdict IS NOT NULL),
                  (SELECT count(*) FROM tgx.attestations x
                    WHERE x.task_id = t.task_id AND x.lease_epoch = t.lease_epoch AND NOT x.superseded))
      FROM tgx.tasks t
     WHERE t.state = 'attesting'
       AND t.attest_deadline < now()
    UNION ALL
    SELECT t.task_id, t.job_id, t.state, t.keeper_id, t.attempt, t.max_attempts, t.lease_epoch,
           t.due_at, t.due_at + cfg.stuck_after,
           CASE t.state
               WHEN 'pending' THEN 'pending past due: no online, whitelisted, non-draining keeper was assigned'
               ELSE 'scheduled past due: the task was not released to dispatch'
           END
      FROM tgx.tasks t, cfg
     WHERE t.state IN ('scheduled', 'pending')
       AND t.due_at < now() - cfg.stuck_after
)
SELECT st.task_id,
       st.job_id,
       st.state,
       st.keeper_id,
       k.keeper_address,
       st.attempt,
       st.max_attempts,
       st.lease_epoch,
       st.due_at,
       st.deadline,
       now() - st.deadline AS overdue,
       st.why::text AS why
  FROM stuck st
  LEFT JOIN tgx.keepers k ON k.keeper_id = st.keeper_id;
COMMENT ON VIEW tgx.stuck_tasks IS
    'Tasks past a deadline, with why: assigned past the ack deadline, running past the lease, attesting past the '
    'attestation deadline, or scheduled/pending longer than setting stuck_after past due. deadline is the missed '
    'instant, overdue how long ago. The monitor role normally clears the first three within seconds';

------------------------------------------------------------------------------
-- tgx.keeper_status
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.keeper_status AS
SELECT k.keeper_id,
       k.keeper_address,
       k.keeper_name,
       k.online,
       k.whitelisted,
       k.draining,
       k.registered,
       (k.online AND k.whitelisted AND NOT k.draining AND k.registered) AS eligible,
       k.last_checked_in,
       now() - k.last_checked_in AS checkin_age,
       k.offline_since,
       k.version,
       k.chain_ids,
       a.assigned_tasks,
       a.running_tasks,
       a.attesting_tasks,
       a.assigned_tasks + a.running_tasks AS active_tasks,
       k.capacity,
       round(100.0 * (a.assigned_tasks + a.running_tasks) / k.capacity, 1) AS load_pct,
       o.open_attestations,
       h.attempts_24h,
       h.results_24h,
       CASE WHEN h.attempts_24h > 0 THEN round(h.results_24h::numeric / h.attempts_24h, 3) END AS success_ratio_24h,
       k.keeper_points,
       k.no_executed_tasks,
       k.no_attested_tasks,
       k.uptime
  FROM tgx.keepers k
 CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE t.state = 'assigned') AS assigned_tasks,
              count(*) FILTER (WHERE t.state = 'running') AS running_tasks,
              count(*) FILTER (WHERE t.state = 'attesting') AS attesting_tasks
         FROM tgx.tasks t
        WHERE t.keeper_id = k.keeper_id
          AND t.state IN ('assigned', 'running', 'attesting')) a
 CROSS JOIN LATERAL (
       SELECT count(*) AS open_attestations
         FROM tgx.attestations x
        WHERE x.keeper_id = k.keeper_id AND x.verdict IS NULL AND NOT x.superseded) o
 CROSS JOIN LATERAL (
       SELECT count(*) AS attempts_24h,
              count(*) FILTER (WHERE ta.outcome = 'result') AS results_24h
         FROM tgx.task_attempts ta
        WHERE ta.keeper_id = k.keeper_id
          AND ta.assigned_at >= now() - interval '48 hours'   -- task_attempts_keeper: an attempt lasts minutes
          AND ta.ended_at >= now() - interval '24 hours') h;
COMMENT ON VIEW tgx.keeper_status IS
    'One row per keeper: flags (eligible = online, whitelisted, registered and not draining), last check-in and its '
    'age, active tasks (assigned + running) against capacity, open attestations, and over the last 24 hours the '
    'attempts it ended and the share that delivered a result (success_ratio_24h; attesters'' verdicts not counted), '
    'points and counters';

------------------------------------------------------------------------------
-- tgx.task_history
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.task_history AS
SELECT t.task_id,
       t.job_id,
       t.task_definition_id,
       t.state,
       a.attempt,
       t.attempt AS attempts,
       t.max_attempts,
       a.keeper_id,
       k.keeper_address,
       a.lease_epoch,
       a.outcome,
       a.error AS attempt_error,
       t.task_error,
       t.trace_id,
       (t.trigger_data ->> 'manual')::boolean IS TRUE AS manual,
       t.scheduled_for,
       t.due_at,
       a.assigned_at,
       a.started_at,
       a.ended_at,
       t.finished_at,
       a.assigned_at - t.scheduled_for AS queue_wait,
       a.started_at - a.assigned_at AS ack_time,
       a.ended_at - a.started_at AS run_time,
       t.finished_at - t.scheduled_for AS turnaround,
       t.execution_tx_hash
  FROM tgx.tasks t
  LEFT JOIN tgx.task_attempts a ON a.task_id = t.task_id
  LEFT JOIN tgx.keepers k ON k.keeper_id = a.keeper_id;
COMMENT ON VIEW tgx.task_history IS
    'The run ledger, one row per attempt (a task never assigned has one row with NULL attempt columns): task, job, '
    'task state, keeper, lease epoch, outcome and errors, trace_id, and durations (queue_wait = assigned - '
    'scheduled_for, ack_time, run_time, turnaround = finished - scheduled_for). Filter by task_id, job_id or '
    'keeper_id: each reaches an index';

------------------------------------------------------------------------------
-- tgx.lateness, tgx.lateness_hourly
------------------------------------------------------------------------------

CREATE OR REPLACE VIEW tgx.lateness AS
SELECT t.job_id,
       date_bin('1 hour'::interval, t.scheduled_for, '2000-01-01 00:00:00+00'::timestamptz) AS hour,
       count(*) AS tasks,
       count(t.started_at) AS started,
       count(*) FILTER (WHERE t.state = 'succeeded') AS succeeded,
       avg(t.started_at - t.scheduled_for) AS start_avg,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.started_at - t.scheduled_for) AS start_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.started_at - t.scheduled_for) AS start_p95,
       max(t.started_at - t.scheduled_for) AS start_max,
       avg(t.finished_at - t.scheduled_for) AS finish_avg,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.finished_at - t.scheduled_for) AS finish_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.finished_at - t.scheduled_for) AS finish_p95,
       max(t.finished_at - t.scheduled_for) AS finish_max
  FROM tgx.tasks t
 WHERE t.finished_at IS NOT NULL
   AND t.state <> 'cancelled'
 GROUP BY t.job_id, 2;
COMMENT ON VIEW tgx.lateness IS
    'Per job and per hour of scheduled_for (UTC hour bins): how late finished tasks (cancelled ones excluded) '
    'started and finished compared with scheduled_for: avg, p50, p95, max. Filter by job_id and/or hour '
    '(WHERE hour >= now() - interval ''1 day''), both reach an index';

CREATE OR REPLACE VIEW tgx.lateness_hourly AS
SELECT date_bin('1 hour'::interval, t.scheduled_for, '2000-01-01 00:00:00+00'::timestamptz) AS hour,
       count(*) AS tasks,
       count(t.started_at) AS started,
       count(*) FILTER (WHERE t.state = 'succeeded') AS succeeded,
       avg(t.started_at - t.scheduled_for) AS start_avg,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.started_at - t.scheduled_for) AS start_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.started_at - t.scheduled_for) AS start_p95,
       max(t.started_at - t.scheduled_for) AS start_max,
       avg(t.finished_at - t.scheduled_for) AS finish_avg,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.finished_at - t.scheduled_for) AS finish_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.finished_at - t.scheduled_for) AS finish_p95,
       max(t.finished_at - t.scheduled_for) AS finish_max
  FROM tgx.tasks t
 WHERE t.finished_at IS NOT NULL
   AND t.state <> 'cancelled'
 GROUP BY 1;
COMMENT ON VIEW tgx.lateness_hourly IS
    'Like tgx.lateness over all jobs together: per hour of scheduled_for, how late finished tasks started and '
    'finished (avg, p50, p95, max). Filter by hour (WHERE hour >= now() - interval ''1 day''): it reaches an index';
