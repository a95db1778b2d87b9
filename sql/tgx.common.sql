-- tgx.common.sql: settings, the audit helper and the notification channels.
--
-- Conventions of the whole SQL API (every file in sql/ follows them):
--  * Functions are CREATE OR REPLACE, parameters are prefixed i_, and every
--    time-dependent function takes a last parameter
--    `i_now timestamptz DEFAULT clock_timestamp()` so tests can move time.
--  * Errors carry a SQLSTATE the REST layer maps to HTTP:
--      22023 invalid_parameter_value         -> 400 (bad input; message names the field)
--      P0002 no_data_found                   -> 404 (unknown job, task, keeper)
--      55000 object_not_in_prerequisite_state -> 409 (transition that makes no sense now,
--                                                     stale lease epoch)
--      42501 insufficient_privilege          -> 403
--  * Notification channels (NOTIFY at most once per statement and channel):
--      tgx_dispatch        new or due tasks to dispatch        (dispatcher role)
--      tgx_assigned        payload keeper_id: work for it      (keeper long-poll)
--      tgx_attest          payload keeper_id: attestation due  (keeper long-poll)
--      tgx_schedule        a schedule changed                  (scheduler role)
--      tgx_task_changed    some task changed state             (WebSocket feed)
--      tgx_alert           a new alert in the outbox           (health role)

-- Default settings; a DBA's changes survive reloads (ON CONFLICT DO NOTHING).
INSERT INTO tgx.settings (name, value, value_type, description) VALUES
    ('ack_timeout', '30 seconds', 'interval',
     'How long an assigned task waits for its keeper to take it before it goes back to dispatch'),
    ('lease_duration', '5 minutes', 'interval',
     'How long a keeper may run a task before its lease expires and the task is retried elsewhere'),
    ('retry_backoff_base', '1 second', 'interval', 'First retry delay; doubled on every further attempt'),
    ('retry_backoff_cap', '5 minutes', 'interval', 'Upper bound of the retry delay'),
    ('keeper_silence', '70 seconds', 'interval', 'A keeper silent this long is marked offline by tgx.sweep_keepers()'),
    ('keeper_offline_alert', '10 minutes', 'interval', 'A keeper offline this long raises a keeper_offline alert'),
    ('attesters', '3', 'int', 'How many attesters are chosen for a task result (fewer when fewer keepers are online)'),
    ('attestation_timeout', '60 seconds', 'interval', 'How long an attester has to answer'),
    ('job_failing_alert', '3', 'int', 'Consecutive dead tasks of one job that raise a job_failing alert'),
    ('settle_interval', '200 milliseconds', 'interval',
     'Longest wait of the monitor role between two tgx.settle_tasks() calls: how late the accounting of an accepted '
     'result (job cost, user and keeper points, linked follower jobs) may be')
ON CONFLICT (name) DO NOTHING;

CREATE OR REPLACE FUNCTION tgx._check_batch(i_batch integer, i_max integer DEFAULT 10000)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._check_batch(batch, max)
--   The batch argument of the roles' steps (firing, dispatch, expiry, settling, alert claims).
-- Raises: 22023 "invalid batch N" unless 1 <= batch <= max.
BEGIN
    IF i_batch IS NULL OR i_batch < 1 OR i_batch > i_max THEN
        RAISE EXCEPTION 'invalid batch %', i_batch
            USING ERRCODE = '22023', DETAIL = format('The batch must be between 1 and %s.', i_max);
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._check_batch(integer, integer) IS
    'Internal: 22023 "invalid batch N" unless the batch of a role''s step is between 1 and max';

CREATE OR REPLACE FUNCTION tgx.setting(i_name text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.setting(name)
--   The text value of a setting.
-- Returns: the value; raises 22023 when there is no such setting.
DECLARE
    v text;
BEGIN
    SELECT s.value INTO v FROM tgx.settings s WHERE s.name = i_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting "%"', i_name
            USING ERRCODE = '22023', HINT = 'SELECT name FROM tgx.settings lists the settings.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION tgx.setting(text) IS 'The text value of a setting of tgx.settings; raises 22023 for an unknown name';

CREATE OR REPLACE FUNCTION tgx.setting_interval(i_name text)
RETURNS interval
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT tgx.setting(i_name)::interval $$;
COMMENT ON FUNCTION tgx.setting_interval(text) IS 'A setting of tgx.settings as an interval';

CREATE OR REPLACE FUNCTION tgx.setting_int(i_name text)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT tgx.setting(i_name)::integer $$;
COMMENT ON FUNCTION tgx.setting_int(text) IS 'A setting of tgx.settings as an integer';

CREATE OR REPLACE FUNCTION tgx._audit(
    i_action text, i_object_type text, i_object_id text, i_reason text,
    i_old jsonb, i_new jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._audit(action, object_type, object_id, reason, old, new)
--   Writes one row of tgx.audit_log in the caller's transaction.  Every
--   steering function calls it; the actor is session_user.
-- Returns: the audit_id.
-- Raises: 22023 when the reason is empty.
DECLARE
    v_id bigint;
BEGIN
    IF i_reason IS NULL OR btrim(i_reason) = '' THEN
        RAISE EXCEPTION 'a reason is required for %', i_action
            USING ERRCODE = '22023', HINT = 'Pass a short sentence saying why, it is kept in tgx.audit_log.';
    END IF;
    INSERT INTO tgx.audit_log (actor, action, object_type, object_id, reason, old_value, new_value)
    VALUES (session_user, i_action, i_object_type, i_object_id, i_reason, i_old, i_new)
    RETURNING audit_id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION tgx._audit(text, text, text, text, jsonb, jsonb) IS
    'Internal: writes one tgx.audit_log row (actor = session_user) in the caller''s transaction';

CREATE OR REPLACE FUNCTION tgx.set_setting(i_name text, i_value text, i_reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.set_setting(name, value, reason)
--   Changes a tunable, checking that the value parses as its type, and audits it.
-- Raises: 22023 for an unknown setting or a value of the wrong type.
DECLARE
    v_old tgx.settings;
BEGIN
    SELECT * INTO v_old FROM tgx.settings WHERE name = i_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting "%"', i_name USING ERRCODE = '22023';
    END IF;
    BEGIN
        CASE v_old.value_type
            WHEN 'int' THEN PERFORM i_value::integer;
            WHEN 'interval' THEN PERFORM i_value::interval;
            WHEN 'numeric' THEN PERFORM i_value::numeric;
            WHEN 'bool' THEN PERFORM i_value::boolean;
            ELSE NULL;
        END CASE;
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid value "%" for setting "%"', i_value, i_name
            USING ERRCODE = '22023', DETAIL = format('The setting is of type %s.', v_old.value_type);
    END;
    UPDATE tgx.settings SET value = i_value WHERE name = i_name;
    PERFORM tgx._audit('set_setting', 'setting', i_name, i_reason,
                       jsonb_build_object('value', v_old.value), jsonb_build_object('value', i_value));
END
$$;
COMMENT ON FUNCTION tgx.set_setting(text, text, text) IS
    'Steering: changes a tunable of tgx.settings after checking its type; audited';
