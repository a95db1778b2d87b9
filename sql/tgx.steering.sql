-- tgx.steering.sql: DBA steering of jobs, tasks and keepers (role tgx_operator).
--
-- Every function here:
--  * takes a mandatory i_reason and writes one tgx.audit_log row per object it
--    changes (tgx._audit: actor = session_user, reason, old and new values) in the
--    caller's transaction, so a rolled-back action leaves no audit row;
--  * locks the rows it changes (FOR NO KEY UPDATE, so foreign-key checks of
--    concurrent inserts are not blocked) in the lock order of the queue family
--    (tgx.keepers.sql): schedule and condition rows, then tasks in key order ->
--    attestations -> task_attempts -> jobs -> keepers, so a steering call and a
--    queue call never wait on each other in a cycle; then it refuses what makes
--    no sense now (the rollback undoes anything done before the refusal):
--      22023 bad input (NULL id, empty reason, malformed address, bad limit)
--      P0002 unknown job, task or keeper
--      55000 wrong state ("cannot resume job 7: it is deleted")
--  * NOTIFYs once per call: tgx_dispatch when tasks became pending or dispatch
--    capacity appeared, tgx_schedule when a time schedule changed; no payload, like
--    the queue family (listeners re-read the tables), so identical notifications
--    fold.  tgx_task_changed, with the changed tasks as payload, comes from the
--    statement-level trigger on tgx.tasks (tgx.task_feed.sql).
--
-- Semantics chosen here (documented again on each function):
--  * pause_job cancels the job's waiting tasks (scheduled, pending); tasks already
--    handed to a keeper (assigned, running, attesting) finish.  It clears the time
--    schedule's next_fire_at and the condition's next_check_at so nothing fires
--    while paused; resume_job recomputes them.
--  * retry_task gives a fresh attempt budget.  The budget used is
--    attempt - uncounted_attempts (0003_queue.sql); attempt only grows (it keys
--    tgx.task_attempts, which keeps every earlier attempt), so a retry sets
--    uncounted_attempts = attempt and max_attempts = the job's max_attempts.
--  * Work taken back from a keeper by steering (drain, forced offline, removed from
--    the whitelist) goes back to pending with its attempt refunded
--    (uncounted_attempts + 1): the keeper never started it.
--  * Every task hand-back bumps lease_epoch, so a late call from the keeper that
--    held the old lease is refused by the queue functions.

------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._check_reason(i_action text, i_reason text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._check_reason(action, reason)
--     Refuses an empty reason before a steering function changes anything.
-- Parameters:
--     i_action - name of the steering function, for the message
--     i_reason - the operator's reason
-- Raises:
--     22023 when the reason is NULL or blank
BEGIN
    IF i_reason IS NULL OR btrim(i_reason) = '' THEN
        RAISE EXCEPTION 'a reason is required for %', i_action
            USING ERRCODE = '22023',
                  HINT = 'Pass a short sentence saying why, it is kept in tgx.audit_log.';
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._check_reason(text, text) IS
    'Internal: raises 22023 when a steering function is called without a reason';

CREATE OR REPLACE FUNCTION tgx._task_state_phrase(i_state tgx.task_state)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._task_state_phrase(state)
--     The end of a refusal message: "cannot retry task 5: <phrase>".
-- Returns:
--     a lower-case phrase such as 'it succeeded' or 'it is still running'
SELECT CASE i_state
           WHEN 'scheduled' THEN 'it is still scheduled'
           WHEN 'pending' THEN 'it is still pending'
           WHEN 'assigned' THEN 'it is still assigned to a keeper'
           WHEN 'running' THEN 'it is still running'
           WHEN 'attesting' THEN 'it is still being attested'
           WHEN 'succeeded' THEN 'it succeeded'
           WHEN 'rejected' THEN 'it was rejected'
           WHEN 'dead' THEN 'it is dead'
           WHEN 'cancelled' THEN 'it is already cancelled'
       END
$$;
COMMENT ON FUNCTION tgx._task_state_phrase(tgx.task_state) IS
    'Internal: the phrase that ends a refusal message about a task in the given state';

CREATE OR REPLACE FUNCTION tgx._lock_job(i_job_id tgx.uint256)
RETURNS tgx.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._lock_job(job_id)
--     Locks a job row for a steering change.
-- Returns:
--     the job row
-- Raises:
--     22023 when job_id is NULL; P0002 when there is no such job
-- Tables directly manipulated:
--     lock: tgx.jobs (FOR NO KEY UPDATE)
DECLARE
    v_job tgx.jobs;
BEGIN
    IF i_job_id IS NULL THEN
        RAISE EXCEPTION 'job_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_job FROM tgx.jobs j WHERE j.job_id = i_job_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_job;
END
$$;
COMMENT ON FUNCTION tgx._lock_job(tgx.uint256) IS
    'Internal: locks and returns a job; 22023 for NULL, P0002 for an unknown job';

CREATE OR REPLACE FUNCTION tgx._lock_task(i_task_id bigint)
RETURNS tgx.tasks
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._lock_task(task_id)
--     Locks a task row for a steering change.
-- Returns:
--     the task row
-- Raises:
--     22023 when task_id is NULL; P0002 when there is no such task
-- Tables directly manipulated:
--     lock: tgx.tasks (FOR NO KEY UPDATE)
DECLARE
    v_task tgx.tasks;
BEGIN
    IF i_task_id IS NULL THEN
        RAISE EXCEPTION 'task_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_task FROM tgx.tasks t WHERE t.task_id = i_task_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_task;
END
$$;
COMMENT ON FUNCTION tgx._lock_task(bigint) IS
    'Internal: locks and returns a task; 22023 for NULL, P0002 for an unknown task';

CREATE OR REPLACE FUNCTION tgx._lock_keeper(i_keeper_id bigint)
RETURNS tgx.keepers
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._lock_keeper(keeper_id)
--     Locks a keeper row for a steering change.
-- Returns:
--     the keeper row
-- Raises:
--     22023 when keeper_id is NULL; P0002 when there is no such keeper
-- Tables directly manipulated:
--     lock: tgx.keepers (FOR NO KEY UPDATE)
DECLARE
    v_keeper tgx.keepers;
BEGIN
    IF i_keeper_id IS NULL THEN
        RAISE EXCEPTION 'keeper_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_keeper FROM tgx.keepers k WHERE k.keeper_id = i_keeper_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'keeper % does not exist', i_keeper_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_keeper;
END
$$;
COMMENT ON FUNCTION tgx._lock_keeper(bigint) IS
    'Internal: locks and returns a keeper; 22023 for NULL, P0002 for an unknown keeper';

CREATE OR REPLACE FUNCTION tgx._requeue_assigned(
    i_keeper_id bigint, i_outcome text, i_error text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS bigint[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._requeue_assigned(keeper_id, outcome, error, now)
--     Takes back the tasks assigned to a keeper that it has not taken yet:
--     they go back to pending (due_at unchanged, so they keep their place),
--     lease_epoch is bumped (a late keeper_take is refused), the attempt is
--     refunded (uncounted_attempts + 1) and the open tgx.task_attempts row is
--     closed.
--     Running and attesting tasks are left alone: they finish.
-- Parameters:
--     i_keeper_id - the keeper
--     i_outcome   - outcome of the closed attempts ('cancelled' or 'keeper_offline')
--     i_error     - error text of the closed attempts
--     i_now       - the current time
-- Returns:
--     the ids of the tasks sent back to dispatch (empty array when none)
-- Tables directly manipulated:
--     update: tgx.tasks (locked in key order), tgx.task_attempts
DECLARE
    v_ids bigint[];
BEGIN
    PERFORM 1 FROM tgx.tasks t
     WHERE t.keeper_id = i_keeper_id AND t.state = 'assigned'
     ORDER BY t.task_id
       FOR NO KEY UPDATE;
    WITH moved AS (
        UPDATE tgx.tasks t
           SET state = 'pending', keeper_id = NULL, lease_until = NULL,
               lease_epoch = t.lease_epoch + 1, uncounted_attempts = t.uncounted_attempts + 1,
               updated_at = i_now
         WHERE t.keeper_id = i_keeper_id AND t.state = 'assigned'
        RETURNING t.task_id, t.attempt
    ), closed AS (
        UPDATE tgx.task_attempts a
           SET ended_at = i_now, outcome = i_outcome, error = i_error
          FROM moved m
         WHERE a.task_id = m.task_id AND a.attempt = m.attempt AND a.ended_at IS NULL
        RETURNING a.task_id
    )
    SELECT coalesce(array_agg(m.task_id ORDER BY m.task_id), '{}')
      INTO v_ids
      FROM moved m;
    RETURN v_ids;
END
$$;
COMMENT ON FUNCTION tgx._requeue_assigned(bigint, text, text, timestamptz) IS
    'Internal: sends the assigned (not yet taken) tasks of a keeper back to pending, refunding the attempt; '
    'returns their ids';

CREATE OR REPLACE FUNCTION tgx._retry_task(
    i_task tgx.tasks, i_action text, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._retry_task(task, action, reason, now)
--     Puts one locked, finished task (dead, rejected or cancelled) back to
--     pending, due now, with a fresh attempt budget (uncounted_attempts =
--     attempt, max_attempts = the job's), and audits it.  The caller checked the
--     state and sends the notifications.
-- Parameters:
--     i_task   - the task row, locked by the caller
--     i_action - audit action ('retry_task' or 'requeue_dead')
--     i_reason - the operator's reason
--     i_now    - the current time, the new due_at
-- Tables directly manipulated:
--     update: tgx.tasks, tgx.attestations (open ones superseded)
-- Calls: tgx._audit
DECLARE
    v_budget integer;
BEGIN
    SELECT j.max_attempts INTO v_budget FROM tgx.jobs j WHERE j.job_id = i_task.job_id;
    UPDATE tgx.tasks t
       SET state = 'pending', due_at = i_now, keeper_id = NULL, lease_until = NULL,
           lease_epoch = t.lease_epoch + 1, attest_deadline = NULL, excluded_keepers = '{}',
           uncounted_attempts = t.attempt, max_attempts = coalesce(v_budget, t.max_attempts),
           result = NULL, execution_tx_hash = NULL, execution_timestamp = NULL, gas_used = NULL,
           task_performer_id = NULL, task_attester_ids = NULL, proof_of_task = NULL,
           tp_signature = NULL, ta_signature = NULL, task_submission_tx_hash = NULL,
           task_error = NULL, is_successful = NULL, is_accepted = NULL,
           started_at = NULL, finished_at = NULL, updated_at = i_now
     WHERE t.task_id = i_task.task_id;
    UPDATE tgx.attestations x
       SET superseded = true
     WHERE x.task_id = i_task.task_id AND x.verdict IS NULL AND NOT x.superseded;
    PERFORM tgx._audit(i_action, 'task', i_task.task_id::text, i_reason,
        jsonb_build_object('state', i_task.state, 'attempt', i_task.attempt,
                           'uncounted_attempts', i_task.uncounted_attempts,
                           'max_attempts', i_task.max_attempts, 'due_at', i_task.due_at,
                           'finished_at', i_task.finished_at, 'task_error', i_task.task_error,
                           'lease_epoch', i_task.lease_epoch),
        jsonb_build_object('state', 'pending', 'attempt', i_task.attempt,
                           'uncounted_attempts', i_task.attempt,
                           'max_attempts', coalesce(v_budget, i_task.max_attempts),
                           'due_at', i_now, 'finished_at', NULL,
                           'lease_epoch', i_task.lease_epoch + 1));
END
$$;
COMMENT ON FUNCTION tgx._retry_task(tgx.tasks, text, text, timestamptz) IS
    'Internal: puts a finished task back to pending, due now, with a fresh attempt budget, and audits it';

------------------------------------------------------------------------------
-- Jobs
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.pause_job(
    i_job_id tgx.uint256, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.pause_job(job_id, reason, now)
--     Pauses an active job: status pending -> paused.  Its waiting tasks
--     (scheduled, pending) are cancelled; tasks already handed to a keeper
--     (assigned, running, attesting) finish.  The time schedule's next_fire_at
--     and the condition's next_check_at are cleared so nothing fires while the
--     job is paused (tgx.resume_job recomputes them).  Event triggers are
--     skipped by the event role because the job is not pending.
-- Parameters:
--     i_job_id - the job
--     i_reason - why (kept in tgx.audit_log)
--     i_now    - the current time
-- Returns:
--     the number of waiting tasks cancelled
-- Raises:
--     22023 empty reason or NULL job_id; P0002 unknown job;
--     55000 the job is deleted, completed or already paused
-- Calls: tgx._audit
-- Tables directly manipulated:
--     update: tgx.jobs, tgx.tasks, tgx.time_schedules, tgx.condition_triggers
-- Notifies: tgx_task_changed (tasks cancelled), tgx_schedule (schedule cleared)
DECLARE
    v_job tgx.jobs;
    v_next timestamptz;
    v_has_schedule boolean;
    v_next_check timestamptz;
    v_has_condition boolean;
    v_cancelled bigint[];
BEGIN
    PERFORM tgx._check_reason('pause_job', i_reason);
    -- lock order: the schedule (as tgx.fire_due_schedules), the condition, the
    -- waiting tasks in key order, the job
    SELECT s.next_fire_at INTO v_next
      FROM tgx.time_schedules s WHERE s.job_id = i_job_id FOR NO KEY UPDATE;
    v_has_schedule := FOUND;
    SELECT c.next_check_at INTO v_next_check
      FROM tgx.condition_triggers c WHERE c.job_id = i_job_id FOR NO KEY UPDATE;
    v_has_condition := FOUND;
    PERFORM 1 FROM tgx.tasks t
     WHERE t.job_id = i_job_id AND t.state IN ('scheduled', 'pending')
     ORDER BY t.task_id
       FOR NO KEY UPDATE;
    v_job := tgx._lock_job(i_job_id);
    IF v_job.status <> 'pending' THEN
        RAISE EXCEPTION 'cannot pause job %: it is %', i_job_id,
                CASE v_job.status WHEN 'paused' THEN 'already paused' ELSE v_job.status::text END
            USING ERRCODE = '55000',
                  HINT = CASE WHEN v_job.status = 'paused' THEN 'Use tgx.resume_job() to resume it.'
                              ELSE 'Only active (pending) jobs can be paused.' END;
    END IF;

    UPDATE tgx.jobs SET status = 'paused', updated_at = i_now WHERE job_id = i_job_id;

    WITH c AS (
        UPDATE tgx.tasks t
           SET state = 'cancelled', finished_at = i_now, updated_at = i_now,
               lease_epoch = t.lease_epoch + 1, task_error = 'cancelled: job paused'
         WHERE t.job_id = i_job_id AND t.state IN ('scheduled', 'pending')
        RETURNING t.task_id)
    SELECT coalesce(array_agg(c.task_id ORDER BY c.task_id), '{}') INTO v_cancelled FROM c;

    IF v_has_schedule THEN
        -- only next_fire_at: a new updated_at would make the schedules trigger recompute it
        UPDATE tgx.time_schedules SET next_fire_at = NULL WHERE job_id = i_job_id;
        PERFORM pg_notify('tgx_schedule', '');
    END IF;
    IF v_has_condition THEN
        UPDATE tgx.condition_triggers SET next_check_at = NULL WHERE job_id = i_job_id;
    END IF;

    PERFORM tgx._audit('pause_job', 'job', i_job_id::text, i_reason,
        jsonb_build_object('status', v_job.status, 'next_fire_at', v_next, 'next_check_at', v_next_check),
        jsonb_build_object('status', 'paused', 'next_fire_at', NULL, 'next_check_at', NULL,
                           'cancelled_task_ids', to_jsonb(v_cancelled)));
    RETURN cardinality(v_cancelled);
END
$$;
COMMENT ON FUNCTION tgx.pause_job(tgx.uint256, text, timestamptz) IS
    'Steering: pauses an active job (pending -> paused), cancels its waiting (scheduled/pending) tasks, stops its '
    'schedule and condition checks; returns the number of tasks cancelled; audited';

CREATE OR REPLACE FUNCTION tgx.resume_job(
    i_job_id tgx.uint256, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.resume_job(job_id, reason, now)
--     Resumes a paused job: status paused -> pending.  A time schedule gets its
--     next_fire_at recomputed by tgx._schedule_resume: the first run after now
--     (runs missed while paused are not fired); a condition trigger is checked
--     again at once.
-- Parameters:
--     i_job_id - the job
--     i_reason - why (kept in tgx.audit_log)
--     i_now    - the current time
-- Returns:
--     the schedule's new next_fire_at; NULL when the job has no time schedule
--     or the schedule has no future run
-- Raises:
--     22023 empty reason or NULL job_id; P0002 unknown job;
--     55000 the job is deleted, completed, not paused, or expired
-- Calls: tgx._schedule_resume, tgx._audit
-- Tables directly manipulated:
--     update: tgx.jobs, tgx.condition_triggers (tgx.time_schedules through tgx._schedule_resume)
-- Notifies: tgx_schedule (schedule recomputed)
DECLARE
    v_job tgx.jobs;
    v_next timestamptz;
    v_has_schedule boolean := false;
    v_has_condition boolean := false;
BEGIN
    PERFORM tgx._check_reason('resume_job', i_reason);
    -- lock order: the schedule and the condition, then the job
    PERFORM 1 FROM tgx.time_schedules s WHERE s.job_id = i_job_id FOR NO KEY UPDATE;
    v_has_schedule := FOUND;
    PERFORM 1 FROM tgx.condition_triggers c WHERE c.job_id = i_job_id FOR NO KEY UPDATE;
    v_has_condition := FOUND;
    v_job := tgx._lock_job(i_job_id);
    IF v_job.status <> 'paused' THEN
        RAISE EXCEPTION 'cannot resume job %: it is %', i_job_id,
                CASE v_job.status WHEN 'pending' THEN 'not paused' ELSE v_job.status::text END
            USING ERRCODE = '55000', HINT = 'Only paused jobs can be resumed.';
    END IF;
    IF v_job.expiration_time <= i_now THEN
        RAISE EXCEPTION 'cannot resume job %: it expired at %', i_job_id, v_job.expiration_time
            USING ERRCODE = '55000',
                  HINT = 'An expired job cannot run again; create a new job instead.';
    END IF;

    UPDATE tgx.jobs SET status = 'pending', updated_at = i_now WHERE job_id = i_job_id;

    IF v_has_schedule THEN
        v_next := tgx._schedule_resume(i_job_id, i_now);
        PERFORM pg_notify('tgx_schedule', '');
    END IF;
    IF v_has_condition THEN
        UPDATE tgx.condition_triggers SET next_check_at = i_now WHERE job_id = i_job_id;
    END IF;

    PERFORM tgx._audit('resume_job', 'job', i_job_id::text, i_reason,
        jsonb_build_object('status', v_job.status),
        jsonb_build_object('status', 'pending',
                           'next_fire_at', CASE WHEN v_has_schedule THEN to_jsonb(v_next) END,
                           'next_check_at', CASE WHEN v_has_condition THEN to_jsonb(i_now) END));
    RETURN v_next;
END
$$;
COMMENT ON FUNCTION tgx.resume_job(tgx.uint256, text, timestamptz) IS
    'Steering: resumes a paused job (paused -> pending) and recomputes its schedule with tgx._schedule_resume; '
    'returns the new next_fire_at; refuses deleted, completed and expired jobs; audited';

CREATE OR REPLACE FUNCTION tgx.run_job_now(
    i_job_id tgx.uint256, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.run_job_now(job_id, reason, now)
--     Creates one manual task of the job, pending and due now
--     (scheduled_for = due_at = now), with the job's attempt budget and
--     trigger_data {"manual": true, "reason", "actor", "requested_at"}.  Allowed
--     for paused jobs too (one deliberate run); the schedule is not touched.
-- Parameters:
--     i_job_id - the job
--     i_reason - why (kept in tgx.audit_log and in trigger_data)
--     i_now    - the current time
-- Returns:
--     the task_id of the new task
-- Raises:
--     22023 empty reason or NULL job_id; P0002 unknown job;
--     55000 the job is deleted or completed
-- Calls: tgx._audit
-- Tables directly manipulated:
--     insert: tgx.tasks
-- Notifies: tgx_dispatch, tgx_task_changed
DECLARE
    v_job tgx.jobs;
    v_task_id bigint;
BEGIN
    PERFORM tgx._check_reason('run_job_now', i_reason);
    v_job := tgx._lock_job(i_job_id);
    IF v_job.status IN ('deleted', 'completed') THEN
        RAISE EXCEPTION 'cannot run job %: it is %', i_job_id, v_job.status
            USING ERRCODE = '55000', HINT = 'Only pending and paused jobs can be run.';
    END IF;

    INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, max_attempts,
                           trigger_data, is_imua, trace_id, created_at, updated_at)
    VALUES (i_job_id, v_job.task_definition_id, 'pending', i_now, i_now, v_job.max_attempts,
            jsonb_build_object('manual', true, 'reason', i_reason, 'actor', session_user,
                               'requested_at', i_now),
            v_job.is_imua, replace(gen_random_uuid()::text, '-', ''), i_now, i_now)
    RETURNING task_id INTO v_task_id;

    PERFORM tgx._audit('run_job_now', 'job', i_job_id::text, i_reason,
        jsonb_build_object('status', v_job.status),
        jsonb_build_object('status', v_job.status, 'task_id', v_task_id, 'scheduled_for', i_now));
    PERFORM pg_notify('tgx_dispatch', '');
    RETURN v_task_id;
END
$$;
COMMENT ON FUNCTION tgx.run_job_now(tgx.uint256, text, timestamptz) IS
    'Steering: creates a manual task of the job, pending and due now (trigger_data {"manual": true, ...}); '
    'returns its task_id; refuses deleted and completed jobs; audited';

------------------------------------------------------------------------------
-- Tasks
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.cancel_task(
    i_task_id bigint, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.cancel_task(task_id, reason, now)
--     Cancels a task that has not finished (scheduled, pending, assigned,
--     running, attesting): state cancelled, finished_at = now, lease and
--     attestation deadline cleared, lease_epoch bumped so a late result of the
--     keeper is refused.  The open tgx.task_attempts row is closed with outcome
--     'cancelled'; open attestations are superseded.
-- Parameters:
--     i_task_id - the task
--     i_reason  - why (kept in tgx.audit_log and in task_error)
--     i_now     - the current time
-- Raises:
--     22023 empty reason or NULL task_id; P0002 unknown task;
--     55000 the task already finished (succeeded, rejected, dead, cancelled)
-- Calls: tgx._audit
-- Tables directly manipulated:
--     update: tgx.tasks, tgx.attestations, tgx.task_attempts
-- Notifies: tgx_task_changed
DECLARE
    v_task tgx.tasks;
BEGIN
    PERFORM tgx._check_reason('cancel_task', i_reason);
    v_task := tgx._lock_task(i_task_id);
    IF v_task.finished_at IS NOT NULL THEN
        RAISE EXCEPTION 'cannot cancel task %: %', i_task_id, tgx._task_state_phrase(v_task.state)
            USING ERRCODE = '55000', HINT = 'Only tasks that have not finished can be cancelled.';
    END IF;

    UPDATE tgx.tasks t
       SET state = 'cancelled', finished_at = i_now, updated_at = i_now,
           lease_until = NULL, attest_deadline = NULL, lease_epoch = t.lease_epoch + 1,
           task_error = format('cancelled by %s: %s', session_user, i_reason)
     WHERE t.task_id = i_task_id;
    UPDATE tgx.attestations x
       SET superseded = true
     WHERE x.task_id = i_task_id AND x.verdict IS NULL AND NOT x.superseded;
    UPDATE tgx.task_attempts a
       SET ended_at = i_now, outcome = 'cancelled', error = 'task cancelled by an operator'
     WHERE a.task_id = i_task_id AND a.ended_at IS NULL;

    PERFORM tgx._audit('cancel_task', 'task', i_task_id::text, i_reason,
        jsonb_build_object('state', v_task.state, 'keeper_id', v_task.keeper_id,
                           'lease_epoch', v_task.lease_epoch, 'attempt', v_task.attempt),
        jsonb_build_object('state', 'cancelled', 'finished_at', i_now,
                           'lease_epoch', v_task.lease_epoch + 1));
END
$$;
COMMENT ON FUNCTION tgx.cancel_task(bigint, text, timestamptz) IS
    'Steering: cancels a task that has not finished (closes its open attempt, supersedes open attestations, '
    'fences its lease); refuses finished tasks; audited';

CREATE OR REPLACE FUNCTION tgx.retry_task(
    i_task_id bigint, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.retry_task(task_id, reason, now)
--     Runs a failed task again: dead, rejected or cancelled -> pending, due now,
--     finished_at NULL, result fields cleared, excluded_keepers emptied, with a
--     fresh attempt budget: uncounted_attempts = attempt, so the attempts used
--     (attempt - uncounted_attempts) start again from 0, and max_attempts = the
--     job's max_attempts (earlier attempts stay in tgx.task_attempts).
--     scheduled_for is kept, so the lateness views show how late the task
--     really ran.  Allowed for paused and completed jobs (e.g. a one-shot whose
--     only task died).
-- Parameters:
--     i_task_id - the task
--     i_reason  - why (kept in tgx.audit_log)
--     i_now     - the current time, the new due_at
-- Raises:
--     22023 empty reason or NULL task_id; P0002 unknown task;
--     55000 the task succeeded, has not finished, or its job is deleted
-- Calls: tgx._retry_task, tgx._audit
-- Tables directly manipulated:
--     update: tgx.tasks, tgx.attestations
-- Notifies: tgx_dispatch, tgx_task_changed
DECLARE
    v_task tgx.tasks;
    v_status tgx.job_status;
BEGIN
    PERFORM tgx._check_reason('retry_task', i_reason);
    v_task := tgx._lock_task(i_task_id);
    IF v_task.state NOT IN ('dead', 'rejected', 'cancelled') THEN
        RAISE EXCEPTION 'cannot retry task %: %', i_task_id, tgx._task_state_phrase(v_task.state)
            USING ERRCODE = '55000',
                  HINT = CASE WHEN v_task.state = 'succeeded'
                              THEN 'A succeeded task is final; use tgx.run_job_now() to run the job again.'
                              ELSE 'Only dead, rejected and cancelled tasks can be retried.' END;
    END IF;
    SELECT j.status INTO v_status FROM tgx.jobs j WHERE j.job_id = v_task.job_id;
    IF v_status = 'deleted' THEN
        RAISE EXCEPTION 'cannot retry task %: job % is deleted', i_task_id, v_task.job_id
            USING ERRCODE = '55000';
    END IF;

    PERFORM tgx._retry_task(v_task, 'retry_task', i_reason, i_now);
    PERFORM pg_notify('tgx_dispatch', '');
END
$$;
COMMENT ON FUNCTION tgx.retry_task(bigint, text, timestamptz) IS
    'Steering: puts a dead, rejected or cancelled task back to pending, due now, with a fresh attempt budget '
    '(uncounted_attempts = attempt, max_attempts = the job''s); refuses succeeded and unfinished tasks; audited';

CREATE OR REPLACE FUNCTION tgx.requeue_dead(
    i_reason text, i_job_id tgx.uint256 DEFAULT NULL, i_since timestamptz DEFAULT NULL,
    i_limit integer DEFAULT 1000, i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.requeue_dead(reason, job_id, since, limit, now)
--     tgx.retry_task for many dead tasks at once, oldest finished first: the
--     dead tasks of one job (or of every job that is not deleted), finished at
--     or after i_since, at most i_limit of them.  Tasks locked by another
--     transaction are skipped (call again).  One audit row per task
--     (action 'requeue_dead', object task), so each task's history is complete.
-- Parameters:
--     i_reason - why (kept in tgx.audit_log)
--     i_job_id - only this job's dead tasks; NULL for all jobs
--     i_since  - only tasks that died at or after this time; NULL for all
--     i_limit  - at most this many tasks (1..100000)
--     i_now    - the current time, the new due_at
-- Returns:
--     the number of tasks put back to pending (0 when none)
-- Raises:
--     22023 empty reason or a limit outside 1..100000; P0002 unknown job;
--     55000 the job is deleted
-- Calls: tgx._retry_task, tgx._audit
-- Tables directly manipulated:
--     update: tgx.tasks, tgx.attestations
-- Notifies: tgx_dispatch, tgx_task_changed (once, when any task was requeued)
DECLARE
    v_job tgx.jobs;
    v_task tgx.tasks;
    v_count integer := 0;
BEGIN
    PERFORM tgx._check_reason('requeue_dead', i_reason);
    IF i_limit IS NULL OR i_limit < 1 OR i_limit > 100000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 100000, not %', coalesce(i_limit::text, 'null')
            USING ERRCODE = '22023';
    END IF;
    IF i_job_id IS NOT NULL THEN
        SELECT * INTO v_job FROM tgx.jobs j WHERE j.job_id = i_job_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
        END IF;
        IF v_job.status = 'deleted' THEN
            RAISE EXCEPTION 'cannot requeue the dead tasks of job %: it is deleted', i_job_id
                USING ERRCODE = '55000';
        END IF;
    END IF;

    FOR v_task IN
        SELECT t.*
          FROM tgx.tasks t
         WHERE t.state = 'dead'
           AND (i_job_id IS NULL OR t.job_id = i_job_id)
           AND (i_since IS NULL OR t.finished_at >= i_since)
           AND EXISTS (SELECT 1 FROM tgx.jobs j WHERE j.job_id = t.job_id AND j.status <> 'deleted')
         ORDER BY t.finished_at, t.task_id
         LIMIT i_limit
           FOR NO KEY UPDATE OF t SKIP LOCKED
    LOOP
        PERFORM tgx._retry_task(v_task, 'requeue_dead', i_reason, i_now);
        v_count := v_count + 1;
    END LOOP;

    IF v_count > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION tgx.requeue_dead(text, tgx.uint256, timestamptz, integer, timestamptz) IS
    'Steering: retries up to i_limit dead tasks (of one job or all non-deleted jobs, died since i_since), oldest '
    'first, skipping locked ones; one audit row per task; returns how many were requeued';

------------------------------------------------------------------------------
-- Keepers
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.drain_keeper(
    i_keeper_id bigint, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.drain_keeper(keeper_id, reason, now)
--     Drains a keeper before maintenance: draining = true, so dispatch gives it
--     no new work.  Its assigned tasks that it has not taken yet go back to
--     pending (attempt refunded, lease_epoch bumped, attempt closed as
--     'cancelled'); its running and attesting tasks finish normally.
-- Parameters:
--     i_keeper_id - the keeper
--     i_reason    - why (kept in tgx.audit_log)
--     i_now       - the current time
-- Returns:
--     the number of tasks sent back to dispatch
-- Raises:
--     22023 empty reason or NULL keeper_id; P0002 unknown keeper;
--     55000 the keeper is already draining
-- Calls: tgx._requeue_assigned, tgx._audit
-- Tables directly manipulated:
--     update: tgx.keepers (tgx.tasks, tgx.task_attempts through tgx._requeue_assigned)
-- Notifies: tgx_dispatch, tgx_task_changed (when tasks were sent back)
DECLARE
    v_keeper tgx.keepers;
    v_ids bigint[];
BEGIN
    PERFORM tgx._check_reason('drain_keeper', i_reason);
    -- lock order: the keeper's tasks, then the keeper
    v_ids := tgx._requeue_assigned(i_keeper_id, 'cancelled',
                                   format('keeper %s drained: %s', i_keeper_id, i_reason), i_now);
    v_keeper := tgx._lock_keeper(i_keeper_id);
    IF v_keeper.draining THEN
        RAISE EXCEPTION 'cannot drain keeper %: it is already draining', i_keeper_id
            USING ERRCODE = '55000', HINT = 'Use tgx.undrain_keeper() to give it work again.';
    END IF;
    UPDATE tgx.keepers SET draining = true WHERE keeper_id = i_keeper_id;

    PERFORM tgx._audit('drain_keeper', 'keeper', i_keeper_id::text, i_reason,
        jsonb_build_object('draining', false),
        jsonb_build_object('draining', true, 'requeued_task_ids', to_jsonb(v_ids)));
    IF cardinality(v_ids) > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION tgx.drain_keeper(bigint, text, timestamptz) IS
    'Steering: stops giving work to a keeper (draining = true) and sends its assigned, not yet taken tasks back '
    'to dispatch; running tasks finish; returns how many tasks went back; audited';

CREATE OR REPLACE FUNCTION tgx.undrain_keeper(
    i_keeper_id bigint, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.undrain_keeper(keeper_id, reason, now)
--     Ends a drain: draining = false, the keeper gets work again when it is
--     online and whitelisted.
-- Parameters:
--     i_keeper_id - the keeper
--     i_reason    - why (kept in tgx.audit_log)
--     i_now       - the current time (unused but for the common signature)
-- Raises:
--     22023 empty reason or NULL keeper_id; P0002 unknown keeper;
--     55000 the keeper is not draining
-- Calls: tgx._audit
-- Tables directly manipulated:
--     update: tgx.keepers
-- Notifies: tgx_dispatch (capacity is back)
DECLARE
    v_keeper tgx.keepers;
BEGIN
    PERFORM tgx._check_reason('undrain_keeper', i_reason);
    v_keeper := tgx._lock_keeper(i_keeper_id);
    IF NOT v_keeper.draining THEN
        RAISE EXCEPTION 'cannot undrain keeper %: it is not draining', i_keeper_id
            USING ERRCODE = '55000';
    END IF;
    UPDATE tgx.keepers SET draining = false WHERE keeper_id = i_keeper_id;
    PERFORM tgx._audit('undrain_keeper', 'keeper', i_keeper_id::text, i_reason,
        jsonb_build_object('draining', true),
        jsonb_build_object('draining', false, 'at', i_now));
    PERFORM pg_notify('tgx_dispatch', '');
END
$$;
COMMENT ON FUNCTION tgx.undrain_keeper(bigint, text, timestamptz) IS
    'Steering: ends a drain (draining = false) so the keeper receives work again; audited';

CREATE OR REPLACE FUNCTION tgx.set_keeper_online(
    i_keeper_id bigint, i_online boolean, i_reason text, i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.set_keeper_online(keeper_id, online, reason, now)
--     Forces a keeper's online flag.  Offline: offline_since = now and its
--     assigned, not yet taken tasks go back to pending as with a drain (attempt
--     closed as 'keeper_offline'); running tasks keep their lease and the
--     monitor expires them if the keeper is really gone.  Online: offline_since
--     and offline_alerted are reset; tgx.sweep_keepers marks the keeper offline
--     again if it stays silent, since its last check-in is not changed.
-- Parameters:
--     i_keeper_id - the keeper
--     i_online    - the new flag
--     i_reason    - why (kept in tgx.audit_log)
--     i_now       - the current time
-- Returns:
--     the number of tasks sent back to dispatch (always 0 when going online)
-- Raises:
--     22023 empty reason, NULL keeper_id or NULL online; P0002 unknown keeper;
--     55000 the keeper already has that flag
-- Calls: tgx._requeue_assigned, tgx._audit
-- Tables directly manipulated:
--     update: tgx.keepers (tgx.tasks, tgx.task_attempts through tgx._requeue_assigned)
-- Notifies: tgx_dispatch, tgx_task_changed (when tasks were sent back)
DECLARE
    v_keeper tgx.keepers;
    v_ids bigint[] := ARRAY[]::bigint[];
BEGIN
    PERFORM tgx._check_reason('set_keeper_online', i_reason);
    IF i_online IS NULL THEN
        RAISE EXCEPTION 'online must not be null' USING ERRCODE = '22023';
    END IF;
    -- lock order: the keeper's tasks, then the keeper
    IF NOT i_online THEN
        v_ids := tgx._requeue_assigned(i_keeper_id, 'keeper_offline',
                                       format('keeper %s set offline by an operator: %s', i_keeper_id, i_reason),
                                       i_now);
    END IF;
    v_keeper := tgx._lock_keeper(i_keeper_id);
    IF v_keeper.online = i_online THEN
        RAISE EXCEPTION 'cannot set keeper % %: it is already %', i_keeper_id,
                CASE WHEN i_online THEN 'online' ELSE 'offline' END,
                CASE WHEN i_online THEN 'online' ELSE 'offline' END
            USING ERRCODE = '55000';
    END IF;

    IF i_online THEN
        UPDATE tgx.keepers
           SET online = true, offline_since = NULL, offline_alerted = false
         WHERE keeper_id = i_keeper_id;
    ELSE
        UPDATE tgx.keepers SET online = false, offline_since = i_now WHERE keeper_id = i_keeper_id;
    END IF;

    PERFORM tgx._audit('set_keeper_online', 'keeper', i_keeper_id::text, i_reason,
        jsonb_build_object('online', v_keeper.online, 'offline_since', v_keeper.offline_since),
        jsonb_build_object('online', i_online,
                           'offline_since', CASE WHEN i_online THEN NULL ELSE i_now END,
                           'requeued_task_ids', to_jsonb(v_ids)));
    IF i_online OR cardinality(v_ids) > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION tgx.set_keeper_online(bigint, boolean, text, timestamptz) IS
    'Steering: forces a keeper online or offline; offline sends its assigned, not yet taken tasks back to '
    'dispatch; returns how many tasks went back; audited';

CREATE OR REPLACE FUNCTION tgx.whitelist_keeper(
    i_keeper_address text, i_reason text, i_whitelisted boolean DEFAULT true,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.whitelist_keeper(keeper_address, reason, whitelisted, now)
--     Adds a keeper to the whitelist (or removes it with i_whitelisted = false).
--     The address is trimmed and lower-cased (EIP-55 checksummed input is
--     accepted).  A keeper removed from the whitelist gets no new work and its
--     assigned, not yet taken tasks go back to pending as with a drain.
-- Parameters:
--     i_keeper_address - the keeper's Ethereum address
--     i_reason         - why (kept in tgx.audit_log)
--     i_whitelisted    - the new flag (default true)
--     i_now            - the current time
-- Returns:
--     the number of tasks sent back to dispatch (always 0 when whitelisting)
-- Raises:
--     22023 empty reason, malformed address or NULL flag; P0002 unknown keeper;
--     55000 the keeper already has that flag
-- Calls: tgx._requeue_assigned, tgx._audit
-- Tables directly manipulated:
--     update: tgx.keepers (tgx.tasks, tgx.task_attempts through tgx._requeue_assigned)
-- Notifies: tgx_dispatch, tgx_task_changed (when tasks were sent back)
DECLARE
    v_address text := lower(btrim(i_keeper_address));
    v_keeper_id bigint;
    v_keeper tgx.keepers;
    v_ids bigint[] := ARRAY[]::bigint[];
BEGIN
    PERFORM tgx._check_reason('whitelist_keeper', i_reason);
    IF v_address IS NULL OR v_address !~ '^0x[0-9a-f]{40}$' THEN
        RAISE EXCEPTION 'invalid keeper address "%"', i_keeper_address
            USING ERRCODE = '22023', DETAIL = 'An address is 0x followed by 40 hexadecimal digits.';
    END IF;
    IF i_whitelisted IS NULL THEN
        RAISE EXCEPTION 'whitelisted must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT k.keeper_id INTO v_keeper_id FROM tgx.keepers k WHERE k.keeper_address = v_address;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'keeper % does not exist', v_address
            USING ERRCODE = 'P0002', HINT = 'Keepers register themselves with tgx.register_keeper().';
    END IF;
    -- lock order: the keeper's tasks, then the keeper
    IF NOT i_whitelisted THEN
        v_ids := tgx._requeue_assigned(v_keeper_id, 'cancelled',
                                       format('keeper %s removed from the whitelist: %s', v_keeper_id, i_reason),
                                       i_now);
    END IF;
    v_keeper := tgx._lock_keeper(v_keeper_id);
    IF v_keeper.whitelisted AND i_whitelisted THEN
        RAISE EXCEPTION 'cannot whitelist keeper %: it is already whitelisted', v_address
            USING ERRCODE = '55000';
    ELSIF NOT v_keeper.whitelisted AND NOT i_whitelisted THEN
        RAISE EXCEPTION 'cannot remove keeper % from the whitelist: it is not whitelisted', v_address
            USING ERRCODE = '55000';
    END IF;

    UPDATE tgx.keepers SET whitelisted = i_whitelisted WHERE keeper_id = v_keeper_id;

    PERFORM tgx._audit('whitelist_keeper', 'keeper', v_keeper.keeper_id::text, i_reason,
        jsonb_build_object('keeper_address', v_address, 'whitelisted', v_keeper.whitelisted),
        jsonb_build_object('keeper_address', v_address, 'whitelisted', i_whitelisted,
                           'requeued_task_ids', to_jsonb(v_ids)));
    IF i_whitelisted OR cardinality(v_ids) > 0 THEN
        PERFORM pg_notify('tgx_dispatch', '');
    END IF;
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION tgx.whitelist_keeper(text, text, boolean, timestamptz) IS
    'Steering: whitelists a keeper by address (or removes it, sending its assigned, not yet taken tasks back to '
    'dispatch); returns how many tasks went back; audited';
