-- tgx.keeper_gateway.sql: the stored functions behind the keeper gateway of the api role
-- (src/api/keeper_gateway.c): request authentication with the shared replay cache, the
-- keeper's view of its assigned tasks and open attestations, acknowledging one task, results
-- with the performer's signature, and the original's POST /health check-in.
--
-- The C side verifies every signature (EIP-191, include/tgx/keeper_gw.h) before calling these;
-- the life cycle itself stays in the queue family (tgx.queue.sql, tgx.attestation.sql).
-- Lock order: see tgx.keepers.sql.

------------------------------------------------------------------------------
-- Authentication and the replay cache
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.keeper_gw_auth(
    i_keeper_address text,
    i_sig_hash bytea,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (o_status text, o_keeper_id bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_gw_auth(keeper_address, sig_hash, now)
--   The one database round trip of a signed keeper request (its signature was verified in
--   C): finds the keeper, and when it may be served records the signature's hash in the
--   replay cache (tgx.keeper_request_sigs, INSERT ... ON CONFLICT DO NOTHING); entries
--   older than 2 minutes are pruned first (a request's timestamp is within 60 s of the
--   clock, so older entries cannot match an acceptable request).
-- Parameters:
--   i_keeper_address  the recovered (= claimed) address, 0x + 40 hex digits, any case
--   i_sig_hash        SHA-256 of the signature bytes (32 bytes)
-- Returns: one row: o_status 'ok' (recorded), 'not_registered' (unknown or deregistered
--   keeper), 'not_whitelisted', or 'replayed' (seen before: nothing recorded); o_keeper_id
--   (NULL for an unknown keeper).
-- Raises: 22023 for a malformed address or hash.
-- Tables: tgx.keeper_request_sigs (insert, delete); reads tgx.keepers.
DECLARE
    v_address text := lower(btrim(i_keeper_address));
    v_keeper tgx.keepers;
    v_n integer;
BEGIN
    IF v_address IS NULL OR v_address !~ '^0x[0-9a-f]{40}$' THEN
        RAISE EXCEPTION 'invalid keeper address "%"', i_keeper_address USING ERRCODE = '22023';
    END IF;
    IF i_sig_hash IS NULL OR octet_length(i_sig_hash) <> 32 THEN
        RAISE EXCEPTION 'invalid signature hash' USING ERRCODE = '22023',
            DETAIL = 'The hash is the 32-byte SHA-256 of the signature.';
    END IF;
    SELECT * INTO v_keeper FROM tgx.keepers k WHERE k.keeper_address = v_address;
    IF NOT FOUND OR NOT v_keeper.registered THEN
        RETURN QUERY SELECT 'not_registered'::text, v_keeper.keeper_id;
        RETURN;
    END IF;
    IF NOT v_keeper.whitelisted THEN
        RETURN QUERY SELECT 'not_whitelisted'::text, v_keeper.keeper_id;
        RETURN;
    END IF;
    DELETE FROM tgx.keeper_request_sigs s WHERE s.seen_at < i_now - interval '2 minutes';
    INSERT INTO tgx.keeper_request_sigs (keeper_id, sig_hash, seen_at)
    VALUES (v_keeper.keeper_id, i_sig_hash, i_now)
    ON CONFLICT (keeper_id, sig_hash) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN QUERY SELECT CASE WHEN v_n = 1 THEN 'ok' ELSE 'replayed' END, v_keeper.keeper_id;
END
$$;
COMMENT ON FUNCTION tgx.keeper_gw_auth(text, bytea, timestamptz) IS
    'Keeper gateway: checks a signed request''s keeper (registered, whitelisted) and records the signature hash in '
    'the replay cache; returns (status ok|not_registered|not_whitelisted|replayed, keeper_id)';

------------------------------------------------------------------------------
-- Tasks: list, acknowledge one, result with signature
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._keeper_task_json(i_task tgx.tasks)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._keeper_task_json(task)
--   What a keeper needs to execute a task (the fields of tgx.task_lease) as one JSON object.
-- Tables: reads tgx.jobs, tgx.custom_scripts.
SELECT jsonb_build_object(
           'task_id', i_task.task_id, 'job_id', j.job_id::text, 'keeper_id', i_task.keeper_id,
           'lease_epoch', i_task.lease_epoch, 'lease_until', i_task.lease_until,
           'attempt', i_task.attempt, 'task_definition_id', i_task.task_definition_id,
           'target_chain_id', j.target_chain_id, 'target_contract_address', j.target_contract_address::text,
           'target_function', j.target_function, 'abi', j.abi, 'arg_type', j.arg_type,
           'arguments', j.arguments, 'dynamic_arguments_script_url', j.dynamic_arguments_script_url,
           'custom_script_url', cs.custom_script_url, 'script_language', cs.script_language,
           'trigger_data', i_task.trigger_data, 'scheduled_for', i_task.scheduled_for,
           'trace_id', i_task.trace_id, 'state', i_task.state::text)
  FROM tgx.jobs j
  LEFT JOIN tgx.custom_scripts cs ON cs.job_id = j.job_id
 WHERE j.job_id = i_task.job_id
$$;
COMMENT ON FUNCTION tgx._keeper_task_json(tgx.tasks) IS
    'Internal: a task with its job''s execution fields as the JSON object the keeper gateway hands out';

CREATE OR REPLACE FUNCTION tgx.keeper_assigned(i_keeper_id bigint, i_limit integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_assigned(keeper_id, limit)
--   The tasks assigned to a keeper and not yet acknowledged (index tasks_assigned), the
--   most overdue first, read only: the keeper takes each with tgx.keeper_ack.
-- Parameters:
--   i_limit  at most this many (1..1000)
-- Returns: a JSON array of task objects (task_id, job_id, lease_epoch, lease_until,
--   attempt, task_definition_id, target_chain_id, target_contract_address, target_function,
--   abi, arg_type, arguments, dynamic_arguments_script_url, custom_script_url,
--   script_language, trigger_data, scheduled_for, trace_id, state); [] when none.
-- Raises: 22023 for a limit out of range.
-- Tables: reads tgx.tasks, tgx.jobs, tgx.custom_scripts.
BEGIN
    IF i_limit IS NULL OR i_limit < 1 OR i_limit > 1000 THEN
        RAISE EXCEPTION 'invalid limit %', i_limit USING ERRCODE = '22023';
    END IF;
    RETURN coalesce((SELECT jsonb_agg(tgx._keeper_task_json(t) ORDER BY t.due_at, t.task_id)
                       FROM (SELECT * FROM tgx.tasks t
                              WHERE t.state = 'assigned' AND t.keeper_id = i_keeper_id
                              ORDER BY t.keeper_id, t.due_at, t.task_id
                              LIMIT i_limit) t), '[]'::jsonb);
END
$$;
COMMENT ON FUNCTION tgx.keeper_assigned(bigint, integer) IS
    'Keeper gateway: the tasks assigned to a keeper, not yet acknowledged, as a JSON array (read only)';

CREATE OR REPLACE FUNCTION tgx.keeper_ack(
    i_keeper_id bigint,
    i_task_id bigint,
    i_lease_epoch bigint,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_ack(keeper_id, task_id, lease_epoch, now)
--   A keeper acknowledges exactly one task assigned to it under i_lease_epoch, as
--   tgx.keeper_take does for the oldest ones: running, started_at = now, lease_until =
--   now + setting lease_duration, the attempt's started_at.  Acknowledging again a task
--   this keeper already runs under that epoch changes nothing and answers the same (a
--   retried request).
-- Returns: the task object (see tgx.keeper_assigned) in state running.
-- Raises: P0002 unknown task; 55000 stale lease epoch (the task is not assigned to this
--   keeper under that epoch).
-- Tables: tgx.tasks, tgx.task_attempts.
-- Notifies: tgx_task_changed (trigger).
DECLARE
    v tgx.tasks;
BEGIN
    SELECT * INTO v FROM tgx.tasks t WHERE t.task_id = i_task_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    IF v.keeper_id IS DISTINCT FROM i_keeper_id OR v.lease_epoch IS DISTINCT FROM i_lease_epoch
       OR v.state NOT IN ('assigned', 'running') THEN
        PERFORM tgx._raise_stale_lease(i_task_id, i_keeper_id, i_lease_epoch, v.state, v.keeper_id, v.lease_epoch);
    END IF;
    IF v.state = 'assigned' THEN
        UPDATE tgx.task_attempts ta SET started_at = i_now
         WHERE ta.task_id = i_task_id AND ta.attempt = v.attempt;
        UPDATE tgx.tasks t
           SET state = 'running', started_at = i_now,
               lease_until = i_now + tgx.setting_interval('lease_duration'), updated_at = i_now
         WHERE t.task_id = i_task_id
        RETURNING * INTO v;
    END IF;
    RETURN tgx._keeper_task_json(v);
END
$$;
COMMENT ON FUNCTION tgx.keeper_ack(bigint, bigint, bigint, timestamptz) IS
    'Keeper gateway: acknowledges one task assigned to the keeper under the quoted epoch (running, lease); '
    'idempotent for a task already running under it; P0002 unknown task, 55000 stale lease epoch';

CREATE OR REPLACE FUNCTION tgx.keeper_result(
    i_task_id bigint,
    i_keeper_id bigint,
    i_lease_epoch bigint,
    i_result jsonb,
    i_signature bytea,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS tgx.task_state
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_result(task_id, keeper_id, lease_epoch, result, signature, now)
--   tgx.submit_result, plus the performer's signature over the result (checked by the
--   gateway) kept in tasks.tp_signature, written with the result (the task row changes once).
-- Returns: the task's new state (attesting or succeeded).
-- Raises: as tgx.submit_result (55000 stale lease epoch, P0002, 22023).
-- Tables: see tgx.submit_result (tgx.tasks.tp_signature too).
BEGIN
    RETURN tgx._submit_result(i_task_id, i_keeper_id, i_lease_epoch, i_result, i_signature, i_now);
END
$$;
COMMENT ON FUNCTION tgx.keeper_result(bigint, bigint, bigint, jsonb, bytea, timestamptz) IS
    'Keeper gateway: tgx.submit_result and the performer''s result signature (tasks.tp_signature); returns the new '
    'state';

------------------------------------------------------------------------------
-- Attestations
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.keeper_open_attestations(i_keeper_id bigint, i_limit integer DEFAULT 100)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_open_attestations(keeper_id, limit)
--   The attestations a keeper is asked for and has not answered (no verdict, not
--   superseded, the task still attesting under that epoch), oldest deadline first, with
--   what it needs to check the performer's work.
-- Returns: a JSON array of objects: task_id, lease_epoch, deadline, the task fields of
--   tgx.keeper_assigned (job target, function, ABI, arguments, trigger_data,
--   scheduled_for ...), started_at (when the performer took the task), result (the
--   performer's result object), performer_id, performer_address, tp_signature (0x hex or
--   null); [] when none.
-- Raises: 22023 for a limit out of range.
-- Tables: reads tgx.attestations, tgx.tasks, tgx.jobs, tgx.keepers.
BEGIN
    IF i_limit IS NULL OR i_limit < 1 OR i_limit > 1000 THEN
        RAISE EXCEPTION 'invalid limit %', i_limit USING ERRCODE = '22023';
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(x.o ORDER BY x.deadline, x.task_id)
          FROM (SELECT a.deadline, a.task_id,
                       tgx._keeper_task_json(t)
                       || jsonb_build_object(
                              'lease_epoch', a.lease_epoch, 'deadline', a.deadline, 'started_at', t.started_at,
                              'result', coalesce(t.result, '{}'::jsonb),
                              'performer_id', t.task_performer_id,
                              'performer_address', p.keeper_address::text,
                              'tp_signature', CASE WHEN t.tp_signature IS NULL THEN NULL
                                                   ELSE '0x' || encode(t.tp_signature, 'hex') END) AS o
                  FROM tgx.attestations a
                  JOIN tgx.tasks t ON t.task_id = a.task_id
                  LEFT JOIN tgx.keepers p ON p.keeper_id = t.task_performer_id
                 WHERE a.keeper_id = i_keeper_id AND a.verdict IS NULL AND NOT a.superseded
                   AND t.state = 'attesting' AND t.lease_epoch = a.lease_epoch
                 ORDER BY a.deadline, a.task_id
                 LIMIT i_limit) x), '[]'::jsonb);
END
$$;
COMMENT ON FUNCTION tgx.keeper_open_attestations(bigint, integer) IS
    'Keeper gateway: the keeper''s open attestation requests with the task, job target and the performer''s result '
    'and address, as a JSON array (read only)';

CREATE OR REPLACE FUNCTION tgx.keeper_task_result(i_task_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_task_result(task_id)
--   The performer's result object of a task ({} when none), over which an attester signs
--   its verdict (the digest of include/tgx/keeper_gw.h).
-- Raises: P0002 unknown task.
-- Tables: reads tgx.tasks.
DECLARE
    v_result jsonb;
BEGIN
    SELECT coalesce(t.result, '{}'::jsonb) INTO v_result FROM tgx.tasks t WHERE t.task_id = i_task_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION tgx.keeper_task_result(bigint) IS
    'Keeper gateway: the result object of a task ({} when none) that attesters sign over; P0002 unknown task';

------------------------------------------------------------------------------
-- The original's check-in (POST /health)
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.keeper_health_checkin(
    i_keeper_address text,
    i_consensus_address text,
    i_peer_id text,
    i_version text,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_health_checkin(keeper_address, consensus_address, peer_id, version, now)
--   The original health service's check-in (its signature, by the consensus key, was
--   checked by the gateway): a registered, whitelisted keeper gets its consensus address
--   and peer id recorded and checks in (tgx.keeper_checkin).
-- Returns: 'ok', or 'not_verified' (unknown, deregistered or not whitelisted: nothing
--   changed).
-- Raises: 22023 for a malformed address.
-- Tables: tgx.keepers (update), and see tgx.keeper_checkin.
DECLARE
    v_address text := lower(btrim(i_keeper_address));
    v_keeper tgx.keepers;
BEGIN
    IF v_address IS NULL OR v_address !~ '^0x[0-9a-f]{40}$' THEN
        RAISE EXCEPTION 'invalid keeper address "%"', i_keeper_address USING ERRCODE = '22023';
    END IF;
    SELECT * INTO v_keeper FROM tgx.keepers k WHERE k.keeper_address = v_address;
    IF NOT FOUND OR NOT v_keeper.registered OR NOT v_keeper.whitelisted THEN
        RETURN 'not_verified';
    END IF;
    PERFORM tgx.keeper_checkin(v_keeper.keeper_id, i_version, NULL, i_now);
    UPDATE tgx.keepers k
       SET consensus_address = coalesce(lower(nullif(btrim(i_consensus_address), '')), k.consensus_address),
           peer_id = coalesce(nullif(i_peer_id, ''), k.peer_id)
     WHERE k.keeper_id = v_keeper.keeper_id;
    RETURN 'ok';
END
$$;
COMMENT ON FUNCTION tgx.keeper_health_checkin(text, text, text, text, timestamptz) IS
    'Keeper gateway: the original POST /health check-in of a registered, whitelisted keeper (consensus address, '
    'peer id, tgx.keeper_checkin); returns ok or not_verified';

------------------------------------------------------------------------------
-- Whitelisting from the admin REST route
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.keeper_gw_whitelist(
    i_keeper_address text,
    i_reason text,
    i_whitelisted boolean,
    i_requested_by text,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.keeper_gw_whitelist(keeper_address, reason, whitelisted, requested_by, now)
--   POST /api/admin/keepers/:address/whitelist: tgx.whitelist_keeper (the steering function,
--   audited; the audit row's actor is the database session user), with the REST caller
--   named in the audited reason: "REASON (REST: REQUESTED_BY)".
-- Parameters:
--   i_requested_by  who asked over REST (the admin API key's id and owner)
-- Returns: as tgx.whitelist_keeper (tasks sent back to dispatch).
-- Raises: as tgx.whitelist_keeper (22023 empty reason or malformed address, P0002 unknown
--   keeper, 55000 the keeper already has that flag).
-- Tables: see tgx.whitelist_keeper.
BEGIN
    IF i_reason IS NULL OR btrim(i_reason) = '' THEN
        PERFORM tgx._check_reason('whitelist_keeper', i_reason);
    END IF;
    RETURN tgx.whitelist_keeper(i_keeper_address,
                                i_reason || coalesce(' (REST: ' || nullif(i_requested_by, '') || ')', ''),
                                i_whitelisted, i_now);
END
$$;
COMMENT ON FUNCTION tgx.keeper_gw_whitelist(text, text, boolean, text, timestamptz) IS
    'Keeper gateway: the admin REST route''s tgx.whitelist_keeper, naming the REST caller in the audited reason';
