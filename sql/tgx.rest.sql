-- tgx.rest.sql: the stored functions behind the REST API's writes (role tgx_app).
--
--   tgx.create_jobs(owner, jobs, trace_id, now)          POST /api/jobs: a (linked) batch of jobs, one transaction
--   tgx.update_job(owner, job_id, fields, now)           PUT /api/jobs/update/:id: only the fields sent
--   tgx.set_job_status(owner, job_id, status, now)       PUT /api/jobs/:id/status/:status
--   tgx.delete_job(owner, job_id, now)                   PUT /api/jobs/delete/:id: soft delete, waiting tasks cancelled
--   tgx.set_job_last_executed(owner, job_id, at, cost, now)  PUT /api/jobs/:id/lastexecuted
--   tgx.create_task(job_id, tdid, is_imua, trace, now)   POST /api/tasks
--   tgx.record_task_execution(task_id, ..., now)         PUT /api/tasks/execution/:id
--
-- Conventions (on top of tgx.common.sql's):
--  * i_owner is the owner of the API key that made the request (a lower-case 0x address), or
--    NULL for an admin key: a job whose user is not i_owner is refused with 42501 (-> 403).
--  * Bad input raises 22023 with COLUMN = the request field at fault (RAISE ... USING COLUMN),
--    which the REST layer returns as {"error", "code", "field"}; the message is lower case and
--    names the field.  The request JSON is passed whole (jsonb keeps every digit of a uint256
--    balance): its shape was checked in C, its meaning is checked here.
--  * Every function is one statement for the caller, so one transaction: a refusal leaves the
--    database unchanged.
--  * SECURITY DEFINER with a pinned search_path: tgx_app never writes tasks directly.
--  * Notifications: tgx_schedule comes from the time_schedules trigger; task changes are
--    announced by the statement-level trigger of tgx.task_feed.sql (tgx_task_changed).

------------------------------------------------------------------------------
-- Request field helpers (internal)
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._rest_fail(i_field text, i_message text, i_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_fail(i_field, i_message, i_hint)
--   Raises the 400 of a bad request field: SQLSTATE 22023 with COLUMN = i_field.
-- Raises: always.
BEGIN
    -- RAISE refuses NULL options: a request-level problem (no field) leaves COLUMN out
    IF i_field IS NULL THEN
        RAISE EXCEPTION USING MESSAGE = i_message, ERRCODE = '22023', HINT = coalesce(i_hint, '');
    END IF;
    RAISE EXCEPTION USING MESSAGE = i_message, ERRCODE = '22023', COLUMN = i_field, HINT = coalesce(i_hint, '');
END
$$;
COMMENT ON FUNCTION tgx._rest_fail(text, text, text) IS
    'Internal: raises 22023 with COLUMN = the request field at fault (the REST layer answers 400 naming it)';

CREATE OR REPLACE FUNCTION tgx._rest_value(i_obj jsonb, i_field text, i_required boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_value(i_obj, i_field, i_required)
--   Field i_field of request object i_obj, the common first step of the typed readers below.
-- Returns: the JSON value; NULL when absent or JSON null (and not required).
-- Raises: 22023 (COLUMN i_field) when it is required and absent or null.
DECLARE
    v jsonb := i_obj -> i_field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF i_required THEN
            PERFORM tgx._rest_fail(i_field, format('%s is required', i_field));
        END IF;
        RETURN NULL;
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION tgx._rest_value(jsonb, text, boolean) IS
    'Internal: a field of a request object; NULL when absent or null, 22023 naming the field when it is required';

CREATE OR REPLACE FUNCTION tgx._rest_text(i_obj jsonb, i_field text, i_required boolean DEFAULT false,
                                          i_max_length integer DEFAULT 10000)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_text(i_obj, i_field, i_required, i_max_length)
--   The string field i_field of request object i_obj.
-- Returns: the string; NULL when absent or JSON null (and not required).
-- Raises: 22023 (COLUMN i_field) when it is not a string, is longer than i_max_length
--   characters, or is required and absent or empty.
DECLARE
    v jsonb := tgx._rest_value(i_obj, i_field, i_required);
    v_text text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM tgx._rest_fail(i_field, format('%s must be a string', i_field));
    END IF;
    v_text := v #>> '{}';
    IF i_required AND btrim(v_text) = '' THEN
        PERFORM tgx._rest_fail(i_field, format('%s must not be empty', i_field));
    END IF;
    IF char_length(v_text) > i_max_length THEN
        PERFORM tgx._rest_fail(i_field, format('%s is longer than %s characters', i_field, i_max_length));
    END IF;
    RETURN v_text;
END
$$;
COMMENT ON FUNCTION tgx._rest_text(jsonb, text, boolean, integer) IS
    'Internal: a string field of a request object (NULL when absent); 22023 naming the field when it is not a string, '
    'too long, or required and missing';

CREATE OR REPLACE FUNCTION tgx._rest_number(i_obj jsonb, i_field text, i_whole boolean, i_min numeric,
                                            i_max numeric, i_required boolean DEFAULT false)
RETURNS numeric
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_number(i_obj, i_field, i_whole, i_min, i_max, i_required)
--   The number field i_field of request object i_obj, exactly as sent (jsonb numbers are
--   numeric: no digit is lost).
-- Parameters: i_whole - must be a whole number; i_min, i_max - inclusive bounds (NULL: none).
-- Returns: the value; NULL when absent or JSON null (and not required).
-- Raises: 22023 (COLUMN i_field) for a non-number, a fraction where a whole number is needed,
--   a value out of bounds, or a missing required value.
DECLARE
    v jsonb := tgx._rest_value(i_obj, i_field, i_required);
    v_n numeric;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM tgx._rest_fail(i_field, format('%s must be a number', i_field));
    END IF;
    v_n := (v #>> '{}')::numeric;
    IF i_whole AND v_n <> trunc(v_n) THEN
        PERFORM tgx._rest_fail(i_field, format('%s must be a whole number', i_field));
    END IF;
    IF (i_min IS NOT NULL AND v_n < i_min) OR (i_max IS NOT NULL AND v_n > i_max) THEN
        PERFORM tgx._rest_fail(i_field,
            CASE WHEN i_max IS NULL THEN format('%s must be at least %s', i_field, i_min)
                 WHEN i_min IS NULL THEN format('%s must be at most %s', i_field, i_max)
                 ELSE format('%s must be between %s and %s', i_field, i_min, i_max) END);
    END IF;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION tgx._rest_number(jsonb, text, boolean, numeric, numeric, boolean) IS
    'Internal: a number field of a request object, exact (numeric); 22023 naming the field when it is not a number, '
    'not whole when it must be, out of bounds, or required and missing';

CREATE OR REPLACE FUNCTION tgx._rest_bool(i_obj jsonb, i_field text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_bool(i_obj, i_field)
--   The boolean field i_field of request object i_obj.
-- Returns: its value; false when absent or JSON null (Go's zero value, as the original).
-- Raises: 22023 (COLUMN i_field) when it is not a boolean.
DECLARE
    v jsonb := tgx._rest_value(i_obj, i_field, false);
BEGIN
    IF v IS NULL THEN
        RETURN false;
    END IF;
    IF jsonb_typeof(v) <> 'boolean' THEN
        PERFORM tgx._rest_fail(i_field, format('%s must be true or false', i_field));
    END IF;
    RETURN (v #>> '{}')::boolean;
END
$$;
COMMENT ON FUNCTION tgx._rest_bool(jsonb, text) IS
    'Internal: a boolean field of a request object (false when absent); 22023 naming the field otherwise';

CREATE OR REPLACE FUNCTION tgx._rest_digits(i_obj jsonb, i_field text, i_required boolean, i_max_digits integer)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_digits(i_obj, i_field, i_required, i_max_digits)
--   A non-negative whole number given either as a decimal string ("8448...201", how ids travel)
--   or as a JSON integer (how balances travel), as its decimal text without leading zeros.
-- Returns: the digits; NULL when absent or null (and not required).
-- Raises: 22023 (COLUMN i_field) for anything else, or more than i_max_digits digits.
DECLARE
    v jsonb := tgx._rest_value(i_obj, i_field, i_required);
    v_text text;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'string' THEN
        v_text := btrim(v #>> '{}');
        IF v_text !~ '^[0-9]+$' THEN
            PERFORM tgx._rest_fail(i_field, format('invalid %s "%s": it must be a whole number in decimal digits',
                                                   i_field, left(v #>> '{}', 100)));
        END IF;
        v_text := v_text::numeric::text;
    ELSIF jsonb_typeof(v) = 'number' THEN
        IF (v #>> '{}')::numeric < 0 OR (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric) THEN
            PERFORM tgx._rest_fail(i_field, format('%s must be a non-negative whole number', i_field));
        END IF;
        v_text := trunc((v #>> '{}')::numeric)::text;
    ELSE
        PERFORM tgx._rest_fail(i_field, format('%s must be a whole number', i_field));
    END IF;
    IF char_length(v_text) > i_max_digits THEN
        PERFORM tgx._rest_fail(i_field, format('%s has more than %s digits', i_field, i_max_digits));
    END IF;
    RETURN v_text;
END
$$;
COMMENT ON FUNCTION tgx._rest_digits(jsonb, text, boolean, integer) IS
    'Internal: a non-negative whole number sent as a decimal string or a JSON integer, as canonical digits; 22023 '
    'naming the field otherwise';

CREATE OR REPLACE FUNCTION tgx._rest_uint256(i_obj jsonb, i_field text, i_required boolean)
RETURNS numeric
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_uint256(i_obj, i_field, i_required)
--   A uint256 field (job ids, wei balances) sent as decimal string or JSON integer.
-- Returns: the value; NULL when absent (and not required).
-- Raises: 22023 (COLUMN i_field) when it is not a whole number in 0 .. 2^256-1.
DECLARE
    v_text text := tgx._rest_digits(i_obj, i_field, i_required, 78);
BEGIN
    IF v_text IS NOT NULL AND v_text::numeric >= 2::numeric ^ 256 THEN
        PERFORM tgx._rest_fail(i_field, format('%s is larger than 2^256-1', i_field));
    END IF;
    RETURN v_text::numeric;
END
$$;
COMMENT ON FUNCTION tgx._rest_uint256(jsonb, text, boolean) IS
    'Internal: a uint256 request field (decimal string or JSON integer); 22023 naming the field when out of range';

CREATE OR REPLACE FUNCTION tgx._rest_chain_id(i_obj jsonb, i_field text, i_required boolean)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_chain_id(i_obj, i_field, i_required)
--   A chain id: a decimal string ("31337", as the SDK sends it) or a JSON integer.
-- Returns: the decimal text; NULL when absent (and not required).
-- Raises: 22023 (COLUMN i_field) otherwise, or above 20 digits.
BEGIN
    RETURN tgx._rest_digits(i_obj, i_field, i_required, 20);
END
$$;
COMMENT ON FUNCTION tgx._rest_chain_id(jsonb, text, boolean) IS
    'Internal: a chain id request field (decimal string or JSON integer); 22023 naming the field otherwise';

CREATE OR REPLACE FUNCTION tgx._rest_address(i_value text, i_field text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_address(i_value, i_field)
--   An Ethereum address in any case (checksummed input is fine), lower-cased.
-- Returns: the lower-case address; NULL for NULL.
-- Raises: 22023 (COLUMN i_field) when it is not 0x followed by 40 hex digits.
DECLARE
    v text := lower(btrim(i_value));
BEGIN
    IF i_value IS NULL THEN
        RETURN NULL;
    END IF;
    IF v !~ '^0x[0-9a-f]{40}$' THEN
        PERFORM tgx._rest_fail(i_field, format('invalid %s "%s"', i_field, left(i_value, 100)),
                               'An address is 0x followed by 40 hex digits.');
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION tgx._rest_address(text, text) IS
    'Internal: an Ethereum address lower-cased; 22023 naming the field when malformed';

CREATE OR REPLACE FUNCTION tgx._rest_timezone(i_tz text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_timezone(i_tz)
--   A request's timezone field: UTC when NULL or empty, else the canonical spelling of a known
--   IANA zone (tgx._tz_canonical).
-- Raises: 22023 (COLUMN timezone) for an unknown zone.
DECLARE
    v_msg text;
    v_hint text;
BEGIN
    IF i_tz IS NULL OR btrim(i_tz) = '' THEN
        RETURN 'UTC';
    END IF;
    RETURN tgx._tz_canonical(btrim(i_tz));
EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    RAISE EXCEPTION USING MESSAGE = v_msg, ERRCODE = '22023', COLUMN = 'timezone', HINT = v_hint;
END
$$;
COMMENT ON FUNCTION tgx._rest_timezone(text) IS
    'Internal: a request''s timezone (UTC when empty) in its canonical spelling; 22023 COLUMN timezone when unknown';

CREATE OR REPLACE FUNCTION tgx._rest_arguments(i_obj jsonb)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_arguments(i_obj)
--   The static arguments of a job: an array whose elements are strings, or bare JSON numbers
--   and booleans (the SDK's Safe mode sends the operation as a number), each kept as its text:
--   a number as its exact decimal text.
-- Returns: the array ('{}' when absent or null).
-- Raises: 22023 (COLUMN arguments) for anything else (objects, arrays, nulls as elements).
DECLARE
    v jsonb := i_obj -> 'arguments';
    v_out text[];
    v_bad boolean;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(v) <> 'array' THEN
        PERFORM tgx._rest_fail('arguments', 'arguments must be an array of strings');
    END IF;
    SELECT coalesce(array_agg(e #>> '{}' ORDER BY o), '{}'),
           coalesce(bool_or(jsonb_typeof(e) NOT IN ('string', 'number', 'boolean')), false)
      INTO v_out, v_bad
      FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o);
    IF v_bad THEN
        PERFORM tgx._rest_fail('arguments', 'every element of arguments must be a string or a number');
    END IF;
    IF cardinality(v_out) > 256 THEN
        PERFORM tgx._rest_fail('arguments', 'arguments has more than 256 elements');
    END IF;
    RETURN v_out;
END
$$;
COMMENT ON FUNCTION tgx._rest_arguments(jsonb) IS
    'Internal: the arguments array of a job request as text[] (numbers and booleans kept as their exact text); '
    '22023 COLUMN arguments otherwise';

------------------------------------------------------------------------------
-- ABI checks of static jobs (internal)
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._abi_normalize(i_sig text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._abi_normalize(i_sig)
--   A function signature or type list in canonical form: no white space, and the aliases
--   uint / int spelled uint256 / int256 ("f(uint, address)" -> "f(uint256,address)").
SELECT regexp_replace(regexp_replace(i_sig, '\s+', '', 'g'), '(^|[(,])(u?int)(?=$|[,)\[])', '\1\2256', 'g')
$$;
COMMENT ON FUNCTION tgx._abi_normalize(text) IS
    'Internal: a function signature without white space, with uint/int spelled uint256/int256';

CREATE OR REPLACE FUNCTION tgx._abi_type(i_param jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._abi_type(i_param)
--   The canonical type of one ABI parameter, as it appears in a function signature: tuples are
--   spelled out from their components ("tuple[]" with components address, uint256 ->
--   "(address,uint256)[]").
DECLARE
    v_type text := coalesce(i_param ->> 'type', '');
    v_inner text;
BEGIN
    IF v_type LIKE 'tuple%' THEN
        SELECT coalesce(string_agg(tgx._abi_type(c), ',' ORDER BY o), '')
          INTO v_inner
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(i_param -> 'components') = 'array'
                                         THEN i_param -> 'components' ELSE '[]'::jsonb END)
               WITH ORDINALITY AS x (c, o);
        RETURN '(' || v_inner || ')' || substr(v_type, 6);
    END IF;
    RETURN tgx._abi_normalize(v_type);
END
$$;
COMMENT ON FUNCTION tgx._abi_type(jsonb) IS
    'Internal: the canonical signature type of an ABI parameter (tuples spelled out from their components)';

CREATE OR REPLACE FUNCTION tgx._rest_check_abi(i_abi jsonb, i_function text, i_nargs integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_check_abi(i_abi, i_function, i_nargs)
--   Checks the target of a static job: i_function (a bare name "increment" or a full signature
--   "increment(uint256)") must be a function of ABI i_abi (a JSON array, or an artifact object
--   with an "abi" array) taking i_nargs arguments.  With a bare name any overload of that arity
--   will do.
-- Raises: 22023 COLUMN abi (not an array), COLUMN target_function (no such function or
--   signature), COLUMN arguments (wrong number of arguments).
DECLARE
    v_fn text := btrim(i_function);
    v_name text;
    v_sig text;
    v_abi jsonb := i_abi;
    v_entry jsonb;
    v_inputs jsonb;
    v_entry_sig text;
    v_found boolean := false;
    v_arities integer[] := '{}';
BEGIN
    IF jsonb_typeof(v_abi) = 'object' AND jsonb_typeof(v_abi -> 'abi') = 'array' THEN
        v_abi := v_abi -> 'abi';
    END IF;
    IF jsonb_typeof(v_abi) <> 'array' THEN
        PERFORM tgx._rest_fail('abi', 'abi must be a JSON array of ABI entries');
    END IF;
    IF position('(' IN v_fn) > 0 THEN
        v_name := btrim(split_part(v_fn, '(', 1));
        v_sig := tgx._abi_normalize(v_fn);
    ELSE
        v_name := v_fn;
    END IF;
    FOR v_entry IN SELECT e FROM jsonb_array_elements(v_abi) AS x (e) LOOP
        CONTINUE WHEN jsonb_typeof(v_entry) <> 'object'
                   OR coalesce(v_entry ->> 'type', 'function') <> 'function'
                   OR (v_entry ->> 'name') IS DISTINCT FROM v_name;
        v_inputs := CASE WHEN jsonb_typeof(v_entry -> 'inputs') = 'array' THEN v_entry -> 'inputs'
                         ELSE '[]'::jsonb END;
        IF v_sig IS NOT NULL THEN
            SELECT v_name || '(' || coalesce(string_agg(tgx._abi_type(p), ',' ORDER BY o), '') || ')'
              INTO v_entry_sig
              FROM jsonb_array_elements(v_inputs) WITH ORDINALITY AS y (p, o);
            CONTINUE WHEN v_entry_sig <> v_sig;
        END IF;
        v_found := true;
        IF jsonb_array_length(v_inputs) = i_nargs THEN
            RETURN;
        END IF;
        v_arities := v_arities || jsonb_array_length(v_inputs);
    END LOOP;
    IF NOT v_found THEN
        IF v_sig IS NOT NULL THEN
            PERFORM tgx._rest_fail('target_function',
                format('no function of the abi has the signature "%s"', left(v_sig, 200)));
        END IF;
        PERFORM tgx._rest_fail('target_function', format('function "%s" is not in the abi', left(v_name, 200)));
    END IF;
    PERFORM tgx._rest_fail('arguments',
        format('function "%s" takes %s argument(s), %s given', v_name, array_to_string(v_arities, ' or '), i_nargs));
END
$$;
COMMENT ON FUNCTION tgx._rest_check_abi(jsonb, text, integer) IS
    'Internal: checks that a static job''s target_function (bare name or full signature) is a function of its ABI '
    'taking as many arguments as given; 22023 naming abi, target_function or arguments';

CREATE OR REPLACE FUNCTION tgx._rest_abi(i_obj jsonb, i_required boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_abi(i_obj, i_required)
--   The abi field of a job request: JSON text in a string (what the SDK sends), or a JSON array
--   given directly.
-- Returns: the parsed ABI; NULL when absent or empty (and not required).
-- Raises: 22023 COLUMN abi when the text is not JSON, or required and missing.
DECLARE
    v jsonb := i_obj -> 'abi';
    v_text text;
BEGIN
    IF v IS NOT NULL AND jsonb_typeof(v) IN ('array', 'object') THEN
        RETURN v;
    END IF;
    v_text := tgx._rest_text(i_obj, 'abi', false, 1000000);
    IF v_text IS NULL OR btrim(v_text) = '' THEN
        IF i_required THEN
            PERFORM tgx._rest_fail('abi', 'abi is required for a job with static arguments');
        END IF;
        RETURN NULL;
    END IF;
    BEGIN
        RETURN v_text::jsonb;
    EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
        PERFORM tgx._rest_fail('abi', 'abi is not valid JSON', 'Send the contract ABI as JSON text.');
    END;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION tgx._rest_abi(jsonb, boolean) IS
    'Internal: the ABI of a job request parsed from its JSON text; 22023 COLUMN abi when it is not JSON';

------------------------------------------------------------------------------
-- Job creation
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._rest_insert_schedule(i_job jsonb, i_job_id numeric, i_tdid integer,
                                                     i_time_frame bigint, i_timezone text, i_now timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_insert_schedule(i_job, i_job_id, i_tdid, i_time_frame, i_timezone, i_now)
--   The tgx.time_schedules row of a new time job (task definitions 1, 2) or custom script job
--   (7), validated by the schedules trigger (cron grammar, zone, interval vs time_frame, first
--   run before expiry).  schedule_type defaults to interval.
-- Raises: 22023 with COLUMN schedule_type, time_interval, cron_expression or specific_schedule.
-- Tables: tgx.time_schedules (insert).
DECLARE
    v_type text := coalesce(nullif(btrim(tgx._rest_text(i_job, 'schedule_type', false, 20)), ''), 'interval');
    v_interval bigint;
    v_cron text;
    v_specific text;
    v_field text;
    v_msg text;
    v_detail text;
    v_hint text;
BEGIN
    IF v_type NOT IN ('interval', 'cron', 'specific') THEN
        PERFORM tgx._rest_fail('schedule_type', format('invalid schedule_type "%s"', v_type),
                               'Use interval, cron or specific.');
    END IF;
    IF i_tdid = 7 AND v_type <> 'interval' THEN
        PERFORM tgx._rest_fail('schedule_type', 'custom script jobs run on an interval schedule');
    END IF;
    CASE v_type
    WHEN 'interval' THEN
        v_field := 'time_interval';
        v_interval := tgx._rest_number(i_job, 'time_interval', true, 1, 3153600000, true);
        IF v_interval > i_time_frame THEN
            PERFORM tgx._rest_fail('time_interval',
                format('time_interval %s is longer than time_frame %s', v_interval, i_time_frame),
                'Use a time_interval of at most the time_frame, both in seconds.');
        END IF;
    WHEN 'cron' THEN
        v_field := 'cron_expression';
        v_cron := btrim(tgx._rest_text(i_job, 'cron_expression', true, 200));
    ELSE
        v_field := 'specific_schedule';
        v_specific := btrim(tgx._rest_text(i_job, 'specific_schedule', true, 100));
    END CASE;
    BEGIN
        INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, cron_expression, specific_schedule,
                                        timezone, created_at, updated_at)
        VALUES (i_job_id, v_type, v_interval, v_cron, v_specific, i_timezone, i_now, i_now);
    EXCEPTION WHEN invalid_parameter_value OR check_violation THEN
        GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        RAISE EXCEPTION USING MESSAGE = v_msg, ERRCODE = '22023', COLUMN = v_field,
                              DETAIL = coalesce(v_detail, ''), HINT = coalesce(v_hint, '');
    END;
END
$$;
COMMENT ON FUNCTION tgx._rest_insert_schedule(jsonb, numeric, integer, bigint, text, timestamptz) IS
    'Internal: inserts the validated time schedule of a new time or custom script job; 22023 naming the schedule field';

CREATE OR REPLACE FUNCTION tgx.create_jobs(i_owner text, i_jobs jsonb, i_trace_id text DEFAULT NULL,
                                           i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (user_id bigint, account_balance numeric, token_balance numeric, job_ids jsonb,
               task_definition_ids jsonb, time_frames jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.create_jobs(i_owner, i_jobs, i_trace_id, i_now)
--   POST /api/jobs: creates a batch of jobs in one transaction, as a linked chain (triggerx-api.md
--   2.3): element i gets chain_status 0 when it is the first, 1 otherwise, and link_job_id = the
--   next element's job_id (NULL for the last).  Upserts the user (balances set when the user is
--   new), records the Safe wallet of Safe-mode jobs, inserts each job with its trigger row
--   (time_schedules for task definitions 1, 2 and 7, event_triggers for 3, 4, condition_triggers
--   for 5, 6, custom_scripts for 7), and adds user points per job: +10, or +20 when custom
--   (the original added them once per request).
-- Parameters:
--   i_owner    the API key's owner; NULL for an admin key (no ownership check)
--   i_jobs     the request body: a JSON array of CreateJobData objects
--   i_trace_id the request's trace id, stored on the jobs (and copied into their tasks)
--   i_now      the current time
-- Returns: one row, the CreateJobResponse: user_id, account_balance and token_balance (the
--   user's stored balances), job_ids (JSON array of decimal strings), task_definition_ids and
--   time_frames (JSON arrays of integers).
-- Raises: 22023 with COLUMN naming the request field for bad input (addresses, zones, cron,
--   interval > time_frame, ABI not JSON, static target_function missing from the ABI or wrong
--   argument count, ...); 42501 when a job's user_address is not i_owner; 23505 when a job_id
--   exists already.
-- Tables: tgx.users (insert/update), tgx.safe_addresses (upsert), tgx.jobs, tgx.time_schedules,
--   tgx.event_triggers, tgx.condition_triggers, tgx.custom_scripts (insert).
DECLARE
    v_n integer;
    v_ids numeric[] := '{}';
    v_job jsonb;
    v_user text;
    v_user_id bigint;
    v_eth numeric;
    v_tok numeric;
    v_points double precision := 0;
    v_tdid integer;
    v_frame bigint;
    v_arg_type integer;
    v_target text;
    v_function text;
    v_abi jsonb;
    v_args text[];
    v_url text;
    v_tz text;
    v_safe text;
    v_title text;
    v_tdids integer[] := '{}';
    v_frames bigint[] := '{}';
    v_lower double precision;
    v_upper double precision;
    v_ctype text;
    v_vtype text;
    v_fname text;
    v_fvalue text;
    v_language text;
    v_event text;
BEGIN
    IF i_jobs IS NULL OR jsonb_typeof(i_jobs) <> 'array' THEN
        PERFORM tgx._rest_fail(NULL, 'the request body must be a JSON array of jobs');
    END IF;
    v_n := jsonb_array_length(i_jobs);
    IF v_n = 0 THEN
        PERFORM tgx._rest_fail(NULL, 'no jobs provided');
    END IF;
    IF v_n > 100 THEN
        PERFORM tgx._rest_fail(NULL, 'at most 100 jobs can be created in one request');
    END IF;

    -- first pass: ids and the user, so links and ownership are known before any insert
    FOR v_i IN 0 .. v_n - 1 LOOP
        v_job := i_jobs -> v_i;
        IF jsonb_typeof(v_job) <> 'object' THEN
            PERFORM tgx._rest_fail(NULL, format('job %s of the request is not a JSON object', v_i + 1));
        END IF;
        v_ids := v_ids || tgx._rest_uint256(v_job, 'job_id', true);
        IF v_ids[v_i + 1] = ANY (v_ids[1:v_i]) THEN
            PERFORM tgx._rest_fail('job_id', format('job_id %s appears twice in the request', v_ids[v_i + 1]));
        END IF;
        IF v_i = 0 THEN
            v_user := tgx._rest_address(tgx._rest_text(v_job, 'user_address', true, 100), 'user_address');
        ELSIF tgx._rest_address(tgx._rest_text(v_job, 'user_address', true, 100), 'user_address') <> v_user THEN
            PERFORM tgx._rest_fail('user_address', 'every job of one request must have the same user_address');
        END IF;
    END LOOP;
    IF i_owner IS NOT NULL AND lower(i_owner) <> v_user THEN
        RAISE EXCEPTION 'the API key of % cannot create jobs for user %', i_owner, v_user
            USING ERRCODE = '42501', COLUMN = 'user_address',
                  HINT = 'Use an API key whose owner is the job''s user_address.';
    END IF;
    IF EXISTS (SELECT 1 FROM tgx.jobs j WHERE j.job_id = ANY (v_ids)) THEN
        RAISE EXCEPTION 'job % exists already', (SELECT min(j.job_id) FROM tgx.jobs j WHERE j.job_id = ANY (v_ids))
            USING ERRCODE = '23505', COLUMN = 'job_id';
    END IF;

    v_job := i_jobs -> 0;
    v_eth := coalesce(tgx._rest_uint256(v_job, 'ether_balance', false), 0);
    v_tok := coalesce(tgx._rest_uint256(v_job, 'token_balance', false), 0);
    INSERT INTO tgx.users AS u (user_address, ether_balance, token_balance, created_at, last_updated_at)
    VALUES (v_user, v_eth, v_tok, i_now, i_now)
    ON CONFLICT (user_address) DO UPDATE SET last_updated_at = EXCLUDED.last_updated_at
    RETURNING u.user_id INTO v_user_id;

    FOR v_i IN 0 .. v_n - 1 LOOP
        v_job := i_jobs -> v_i;
        -- the fields every job has
        v_title := tgx._rest_text(v_job, 'job_title', true, 100);
        IF char_length(btrim(v_title)) < 3 THEN
            PERFORM tgx._rest_fail('job_title', 'job_title must be 3 to 100 characters long');
        END IF;
        v_tdid := tgx._rest_number(v_job, 'task_definition_id', true, 1, 7, true);
        v_frame := tgx._rest_number(v_job, 'time_frame', true, 1, 3153600000, true);
        PERFORM tgx._rest_uint256(v_job, 'ether_balance', false);
        PERFORM tgx._rest_uint256(v_job, 'token_balance', false);
        v_arg_type := coalesce(tgx._rest_number(v_job, 'arg_type', true, 1, 2, false),
                               CASE WHEN v_tdid IN (2, 4, 6, 7) THEN 2 ELSE 1 END);
        v_url := nullif(btrim(tgx._rest_text(v_job, 'dynamic_arguments_script_url', false, 2048)), '');
        IF v_url IS NOT NULL AND v_url !~ '^(ipfs://|https?://)\S+$' THEN
            PERFORM tgx._rest_fail('dynamic_arguments_script_url',
                format('invalid dynamic_arguments_script_url "%s"', left(v_url, 100)),
                'Use an ipfs:// URL or an http(s) URL of the script.');
        END IF;
        IF v_url IS NULL AND (v_arg_type = 2 OR v_tdid IN (2, 4, 6, 7)) THEN
            PERFORM tgx._rest_fail('dynamic_arguments_script_url',
                'dynamic_arguments_script_url is required for a job with dynamic arguments or a custom script');
        END IF;
        v_target := nullif(btrim(tgx._rest_text(v_job, 'target_contract_address', v_tdid <> 7, 100)), '');
        v_target := tgx._rest_address(v_target, 'target_contract_address');
        v_function := coalesce(btrim(tgx._rest_text(v_job, 'target_function', v_arg_type = 1 AND v_tdid <> 7, 500)), '');
        v_abi := tgx._rest_abi(v_job, v_arg_type = 1 AND v_tdid <> 7);
        v_args := tgx._rest_arguments(v_job);
        IF v_arg_type = 1 AND v_tdid <> 7 THEN
            PERFORM tgx._rest_check_abi(v_abi, v_function, cardinality(v_args));
        END IF;
        v_tz := tgx._rest_timezone(tgx._rest_text(v_job, 'timezone', false, 100));
        v_safe := NULL;
        IF tgx._rest_bool(v_job, 'is_safe') THEN
            v_safe := tgx._rest_address(nullif(btrim(tgx._rest_text(v_job, 'safe_address', false, 100)), ''),
                                        'safe_address');
            IF v_safe IS NULL THEN
                PERFORM tgx._rest_fail('safe_address', 'safe_address is required when is_safe is true');
            END IF;
            INSERT INTO tgx.safe_addresses AS s (user_address, safe_address, safe_name, created_at)
            VALUES (v_user, v_safe, coalesce(tgx._rest_text(v_job, 'safe_name', false, 100), ''), i_now)
            ON CONFLICT (user_address, safe_address) DO UPDATE
                SET safe_name = CASE WHEN EXCLUDED.safe_name <> '' THEN EXCLUDED.safe_name ELSE s.safe_name END;
        END IF;

        INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, link_job_id, chain_status, custom,
                              time_frame, recurring, status, job_cost_prediction, timezone, is_imua,
                              created_chain_id, safe_address, target_chain_id, target_contract_address,
                              target_function, abi, arg_type, arguments, dynamic_arguments_script_url,
                              created_at, updated_at, expiration_time, trace_id)
        VALUES (v_ids[v_i + 1], btrim(v_title), v_tdid, v_user_id, v_ids[v_i + 2],
                CASE WHEN v_i = 0 THEN 0 ELSE 1 END, tgx._rest_bool(v_job, 'custom'), v_frame,
                tgx._rest_bool(v_job, 'recurring'), 'pending',
                coalesce(tgx._rest_number(v_job, 'job_cost_prediction', false, 0, 1e30, false), 0),
                v_tz, tgx._rest_bool(v_job, 'is_imua'),
                tgx._rest_chain_id(v_job, 'created_chain_id', true), v_safe,
                tgx._rest_chain_id(v_job, 'target_chain_id', true), v_target, v_function, v_abi, v_arg_type,
                v_args, v_url, i_now, i_now, i_now + v_frame * interval '1 second', i_trace_id);

        IF v_tdid IN (1, 2, 7) THEN
            PERFORM tgx._rest_insert_schedule(v_job, v_ids[v_i + 1], v_tdid, v_frame, v_tz, i_now);
        END IF;
        IF v_tdid = 7 THEN
            v_language := lower(coalesce(nullif(btrim(tgx._rest_text(v_job, 'language', false, 20)), ''), 'go'));
            IF v_language NOT IN ('ts', 'go', 'python', 'javascript') THEN
                PERFORM tgx._rest_fail('language', format('invalid language "%s"', v_language),
                                       'Use ts, go, python or javascript.');
            END IF;
            INSERT INTO tgx.custom_scripts (job_id, custom_script_url, script_language)
            VALUES (v_ids[v_i + 1], v_url, v_language);
        ELSIF v_tdid IN (3, 4) THEN
            v_fname := nullif(btrim(tgx._rest_text(v_job, 'event_filter_para_name', false, 100)), '');
            v_fvalue := nullif(btrim(tgx._rest_text(v_job, 'event_filter_value', false, 200)), '');
            IF (v_fname IS NULL) <> (v_fvalue IS NULL) THEN
                PERFORM tgx._rest_fail(CASE WHEN v_fname IS NULL THEN 'event_filter_para_name'
                                            ELSE 'event_filter_value' END,
                    'event_filter_para_name and event_filter_value go together');
            END IF;
            v_event := btrim(tgx._rest_text(v_job, 'trigger_event', true, 500));
            IF v_event !~ '^[A-Za-z_][A-Za-z0-9_]*\(.*\)$' THEN
                PERFORM tgx._rest_fail('trigger_event', format('invalid trigger_event "%s"', left(v_event, 100)),
                                       'Give the event signature, e.g. Transfer(address,address,uint256).');
            END IF;
            INSERT INTO tgx.event_triggers (job_id, trigger_chain_id, trigger_contract_address, trigger_event,
                                            event_filter_para_name, event_filter_value)
            VALUES (v_ids[v_i + 1],
                    coalesce(tgx._rest_chain_id(v_job, 'trigger_chain_id', false),
                             tgx._rest_chain_id(v_job, 'target_chain_id', true)),
                    tgx._rest_address(tgx._rest_text(v_job, 'trigger_contract_address', true, 100),
                                      'trigger_contract_address'),
                    v_event, v_fname, v_fvalue);
        ELSIF v_tdid IN (5, 6) THEN
            v_ctype := btrim(tgx._rest_text(v_job, 'condition_type', true, 50));
            IF v_ctype NOT IN ('greater_than', 'less_than', 'between', 'equals', 'not_equals', 'greater_equal',
                               'less_equal') THEN
                PERFORM tgx._rest_fail('condition_type', format('invalid condition_type "%s"', left(v_ctype, 50)),
                    'Use greater_than, less_than, between, equals, not_equals, greater_equal or less_equal.');
            END IF;
            v_vtype := btrim(tgx._rest_text(v_job, 'value_source_type', true, 50));
            IF v_vtype NOT IN ('api', 'oracle', 'static', 'websocket') THEN
                PERFORM tgx._rest_fail('value_source_type', format('invalid value_source_type "%s"', left(v_vtype, 50)),
                                       'Use api, oracle, static or websocket.');
            END IF;
            v_upper := tgx._rest_number(v_job, 'upper_limit', false, -1e300, 1e300, false);
            v_lower := tgx._rest_number(v_job, 'lower_limit', false, -1e300, 1e300, false);
            IF v_ctype = 'between' AND (v_lower IS NULL OR v_upper IS NULL OR v_lower > v_upper) THEN
                PERFORM tgx._rest_fail('lower_limit', 'a between condition needs lower_limit <= upper_limit');
            END IF;
            INSERT INTO tgx.condition_triggers (job_id, condition_type, upper_limit, lower_limit, value_source_type,
                                                value_source_url, selected_key_route, next_check_at)
            VALUES (v_ids[v_i + 1], v_ctype, v_upper, v_lower, v_vtype,
                    btrim(tgx._rest_text(v_job, 'value_source_url', true, 2048)),
                    nullif(btrim(tgx._rest_text(v_job, 'selected_key_route', false, 500)), ''), i_now);
        END IF;

        v_points := v_points + CASE WHEN tgx._rest_bool(v_job, 'custom') THEN 20 ELSE 10 END;
        v_tdids := v_tdids || v_tdid;
        v_frames := v_frames || v_frame;
    END LOOP;

    RETURN QUERY
    UPDATE tgx.users u
       SET user_points = u.user_points + v_points, total_jobs = u.total_jobs + v_n, last_updated_at = i_now
     WHERE u.user_id = v_user_id
    RETURNING u.user_id, u.ether_balance::numeric, u.token_balance::numeric,
              (SELECT jsonb_agg(x::text ORDER BY o) FROM unnest(v_ids) WITH ORDINALITY AS a (x, o)),
              to_jsonb(v_tdids), to_jsonb(v_frames);
END
$$;
COMMENT ON FUNCTION tgx.create_jobs(text, jsonb, text, timestamptz) IS
    'POST /api/jobs: creates a linked batch of jobs (chain_status, link_job_id), their triggers, the user and Safe '
    'wallet, and user points (+10 per job, +20 when custom) in one transaction; returns the CreateJobResponse row. '
    '22023 with COLUMN = request field for bad input, 42501 for another owner''s user_address, 23505 for a known job_id';

------------------------------------------------------------------------------
-- Job changes
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._rest_job_for(i_owner text, i_job_id numeric)
RETURNS tgx.jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._rest_job_for(i_owner, i_job_id)
--   The job, read without a lock, after checking that the API key's owner may change it.
-- Raises: 22023 (COLUMN job_id) for NULL; P0002 unknown job; 42501 another owner's job.
DECLARE
    v_job tgx.jobs;
    v_owner text;
BEGIN
    IF i_job_id IS NULL THEN
        PERFORM tgx._rest_fail('job_id', 'job_id is required');
    END IF;
    SELECT * INTO v_job FROM tgx.jobs j WHERE j.job_id = i_job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
    IF i_owner IS NOT NULL THEN
        SELECT u.user_address INTO v_owner FROM tgx.users u WHERE u.user_id = v_job.user_id;
        IF v_owner IS DISTINCT FROM lower(i_owner) THEN
            RAISE EXCEPTION 'job % does not belong to the owner of the API key', i_job_id USING ERRCODE = '42501';
        END IF;
    END IF;
    RETURN v_job;
END
$$;
COMMENT ON FUNCTION tgx._rest_job_for(text, numeric) IS
    'Internal: a job after the ownership check of a REST change; P0002 unknown job, 42501 another owner''s job';

CREATE OR REPLACE FUNCTION tgx.delete_job(i_owner text, i_job_id tgx.uint256,
                                          i_now timestamptz DEFAULT clock_timestamp())
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.delete_job(i_owner, i_job_id, i_now)
--   PUT /api/jobs/delete/:id: soft-deletes a job of any type (status deleted; jobs are never
--   removed) and, in the same transaction, cancels its waiting tasks (scheduled, pending, and
--   assigned but not yet taken: their lease epoch is bumped so a late keeper_take is refused,
--   their open attempt closed).  Running and attesting tasks finish.  The time schedule and the
--   condition checks stop.  Deleting a deleted job again changes nothing (idempotent).
-- Parameters: i_owner the API key's owner (NULL: admin); i_job_id the job; i_now the time.
-- Returns: the number of tasks cancelled.
-- Raises: P0002 unknown job; 42501 another owner's job.
-- Tables: tgx.tasks, tgx.task_attempts, tgx.jobs, tgx.time_schedules, tgx.condition_triggers
--   (update).  Lock order as the queue family: schedule, condition, tasks, task_attempts, jobs.
DECLARE
    v_job tgx.jobs := tgx._rest_job_for(i_owner, i_job_id);
    v_cancelled bigint[];
BEGIN
    IF v_job.status = 'deleted' THEN
        RETURN 0;
    END IF;
    PERFORM 1 FROM tgx.time_schedules s WHERE s.job_id = i_job_id FOR NO KEY UPDATE;
    IF FOUND THEN
        UPDATE tgx.time_schedules s SET next_fire_at = NULL WHERE s.job_id = i_job_id;
    END IF;
    PERFORM 1 FROM tgx.condition_triggers c WHERE c.job_id = i_job_id FOR NO KEY UPDATE;
    IF FOUND THEN
        UPDATE tgx.condition_triggers c SET next_check_at = NULL WHERE c.job_id = i_job_id;
    END IF;
    PERFORM 1 FROM tgx.tasks t
     WHERE t.job_id = i_job_id AND t.state IN ('scheduled', 'pending', 'assigned')
     ORDER BY t.task_id
       FOR NO KEY UPDATE;
    WITH c AS (
        UPDATE tgx.tasks t
           SET state = 'cancelled', finished_at = i_now, updated_at = i_now, lease_until = NULL,
               lease_epoch = t.lease_epoch + 1, task_error = 'cancelled: job deleted'
         WHERE t.job_id = i_job_id AND t.state IN ('scheduled', 'pending', 'assigned')
        RETURNING t.task_id)
    SELECT coalesce(array_agg(c.task_id ORDER BY c.task_id), '{}') INTO v_cancelled FROM c;
    UPDATE tgx.task_attempts a
       SET ended_at = i_now, outcome = 'cancelled', error = 'job deleted'
     WHERE a.task_id = ANY (v_cancelled) AND a.ended_at IS NULL;
    UPDATE tgx.jobs j SET status = 'deleted', updated_at = i_now WHERE j.job_id = i_job_id;
    RETURN cardinality(v_cancelled);
END
$$;
COMMENT ON FUNCTION tgx.delete_job(text, tgx.uint256, timestamptz) IS
    'PUT /api/jobs/delete/:id: soft-deletes a job of any type and cancels its waiting (scheduled, pending, assigned) '
    'tasks in the same transaction; idempotent; returns the number of tasks cancelled. P0002 unknown job, 42501 '
    'another owner''s job';

CREATE OR REPLACE FUNCTION tgx.set_job_status(i_owner text, i_job_id tgx.uint256, i_status text,
                                              i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (status text, updated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.set_job_status(i_owner, i_job_id, i_status, i_now)
--   PUT /api/jobs/:id/status/:status: the owner pauses or resumes a job.  pending, in-queue and
--   running (the original's three names for an active job) make a paused job active again
--   (tgx.resume_job) and leave an active one alone; paused pauses an active job (tgx.pause_job:
--   waiting tasks cancelled).  Both are audited with the API key's owner in the reason.
-- Returns: the job's status and updated_at afterwards.
-- Raises: 22023 (COLUMN status) unknown status; P0002 unknown job; 42501 another owner's job;
--   55000 deleted, completed or expired job.
-- Tables: through tgx.pause_job / tgx.resume_job.
DECLARE
    v_job tgx.jobs := tgx._rest_job_for(i_owner, i_job_id);
    v_reason text := format('REST API request of %s', coalesce(i_owner, 'an admin key'));
BEGIN
    IF i_status IS NULL OR i_status NOT IN ('pending', 'in-queue', 'running', 'paused') THEN
        PERFORM tgx._rest_fail('status',
            format('invalid status "%s": it must be one of pending, in-queue, running, paused',
                   left(coalesce(i_status, ''), 50)));
    END IF;
    IF v_job.status IN ('deleted', 'completed') THEN
        RAISE EXCEPTION 'cannot change the status of job %: it is %', i_job_id, v_job.status USING ERRCODE = '55000';
    END IF;
    IF i_status = 'paused' AND v_job.status = 'pending' THEN
        PERFORM tgx.pause_job(i_job_id, v_reason, i_now);
    ELSIF i_status <> 'paused' AND v_job.status = 'paused' THEN
        PERFORM tgx.resume_job(i_job_id, v_reason, i_now);
    END IF;
    RETURN QUERY SELECT j.status::text, j.updated_at FROM tgx.jobs j WHERE j.job_id = i_job_id;
END
$$;
COMMENT ON FUNCTION tgx.set_job_status(text, tgx.uint256, text, timestamptz) IS
    'PUT /api/jobs/:id/status/:status: pauses (paused) or resumes (pending, in-queue, running) a job of the API key''s '
    'owner through tgx.pause_job / tgx.resume_job (audited); returns status and updated_at. 22023, P0002, 42501, 55000';

CREATE OR REPLACE FUNCTION tgx.update_job(i_owner text, i_job_id tgx.uint256, i_fields jsonb,
                                          i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (job_id text, updated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.update_job(i_owner, i_job_id, i_fields, i_now)
--   PUT /api/jobs/update/:id: changes only the fields present in i_fields (the original
--   overwrote absent ones with zero values and used the body's job_id): job_title, recurring,
--   job_cost_prediction, time_frame (expiration_time = created_at + time_frame), timezone,
--   status (as tgx.set_job_status), and the time schedule: schedule_type, time_interval,
--   cron_expression, specific_schedule.  A schedule change goes through the schedules trigger
--   (validated, next run recomputed from i_now).  A job_id in the body must equal the path's.
-- Returns: the job_id (decimal text) and the new updated_at.
-- Raises: 22023 with COLUMN = the field at fault; P0002 unknown job; 42501 another owner's job;
--   55000 deleted or completed job.
-- Tables: tgx.jobs, tgx.time_schedules (update).
DECLARE
    v_job tgx.jobs := tgx._rest_job_for(i_owner, i_job_id);
    v_s tgx.time_schedules;
    v_body_id numeric;
    v_title text;
    v_frame bigint;
    v_tz text;
    v_status text;
    v_type text;
    v_interval bigint;
    v_cron text;
    v_specific text;
    v_field text;
    v_msg text;
    v_detail text;
    v_hint text;
    v_known constant text[] := ARRAY['job_id', 'job_title', 'recurring', 'status', 'time_frame', 'job_cost_prediction',
                                     'timezone', 'time_interval', 'schedule_type', 'cron_expression',
                                     'specific_schedule'];
BEGIN
    IF i_fields IS NULL OR jsonb_typeof(i_fields) <> 'object' THEN
        PERFORM tgx._rest_fail(NULL, 'the request body must be a JSON object');
    END IF;
    v_body_id := tgx._rest_uint256(i_fields, 'job_id', false);
    IF v_body_id IS NOT NULL AND v_body_id <> i_job_id THEN
        PERFORM tgx._rest_fail('job_id', format('job_id %s of the body is not the job %s of the path',
                                                v_body_id, i_job_id));
    END IF;
    IF v_job.status IN ('deleted', 'completed') THEN
        RAISE EXCEPTION 'cannot update job %: it is %', i_job_id, v_job.status USING ERRCODE = '55000';
    END IF;
    IF NOT (SELECT bool_or(k = ANY (v_known)) FROM jsonb_object_keys(i_fields) AS k) THEN
        PERFORM tgx._rest_fail(NULL, 'nothing to update',
            'Send at least one of ' || array_to_string(v_known[2:], ', ') || '.');
    END IF;

    -- lock order: the schedule, then the job (as tgx.set_schedule)
    SELECT * INTO v_s FROM tgx.time_schedules s WHERE s.job_id = i_job_id FOR UPDATE;
    PERFORM 1 FROM tgx.jobs j WHERE j.job_id = i_job_id FOR NO KEY UPDATE;

    IF i_fields ? 'job_title' THEN
        v_title := btrim(tgx._rest_text(i_fields, 'job_title', true, 100));
        IF char_length(v_title) < 3 THEN
            PERFORM tgx._rest_fail('job_title', 'job_title must be 3 to 100 characters long');
        END IF;
        UPDATE tgx.jobs j SET job_title = v_title WHERE j.job_id = i_job_id;
    END IF;
    IF i_fields ? 'recurring' THEN
        UPDATE tgx.jobs j SET recurring = tgx._rest_bool(i_fields, 'recurring') WHERE j.job_id = i_job_id;
    END IF;
    IF i_fields ? 'job_cost_prediction' THEN
        UPDATE tgx.jobs j
           SET job_cost_prediction = tgx._rest_number(i_fields, 'job_cost_prediction', false, 0, 1e30, true)
         WHERE j.job_id = i_job_id;
    END IF;
    IF i_fields ? 'time_frame' THEN
        v_frame := tgx._rest_number(i_fields, 'time_frame', true, 1, 3153600000, true);
        IF v_job.created_at + v_frame * interval '1 second' <= i_now THEN
            PERFORM tgx._rest_fail('time_frame', format('time_frame %s would make the job expire in the past', v_frame));
        END IF;
        IF v_s.schedule_type = 'interval' AND v_s.time_interval > v_frame
           AND NOT (i_fields ? 'time_interval' OR i_fields ? 'schedule_type') THEN
            PERFORM tgx._rest_fail('time_frame',
                format('time_frame %s is shorter than the job''s time_interval %s', v_frame, v_s.time_interval));
        END IF;
        UPDATE tgx.jobs j
           SET time_frame = v_frame, expiration_time = j.created_at + v_frame * interval '1 second'
         WHERE j.job_id = i_job_id;
    END IF;
    IF i_fields ? 'timezone' THEN
        v_tz := tgx._rest_timezone(tgx._rest_text(i_fields, 'timezone', false, 100));
        UPDATE tgx.jobs j SET timezone = v_tz WHERE j.job_id = i_job_id;
    END IF;

    IF i_fields ?| ARRAY['schedule_type', 'time_interval', 'cron_expression', 'specific_schedule']
       OR (i_fields ? 'timezone' AND v_s.job_id IS NOT NULL AND v_s.timezone IS DISTINCT FROM v_tz) THEN
        IF v_s.job_id IS NULL THEN
            PERFORM tgx._rest_fail(
                (SELECT k FROM unnest(ARRAY['schedule_type', 'time_interval', 'cron_expression', 'specific_schedule'])
                     AS k WHERE i_fields ? k LIMIT 1),
                format('job %s has no time schedule', i_job_id));
        END IF;
        v_type := coalesce(nullif(btrim(tgx._rest_text(i_fields, 'schedule_type', false, 20)), ''),
                           CASE WHEN i_fields ? 'cron_expression' THEN 'cron'
                                WHEN i_fields ? 'specific_schedule' THEN 'specific'
                                WHEN i_fields ? 'time_interval' THEN 'interval'
                                ELSE v_s.schedule_type END);
        IF v_type NOT IN ('interval', 'cron', 'specific') THEN
            PERFORM tgx._rest_fail('schedule_type', format('invalid schedule_type "%s"', v_type),
                                   'Use interval, cron or specific.');
        END IF;
        CASE v_type
        WHEN 'interval' THEN
            v_field := 'time_interval';
            v_interval := coalesce(tgx._rest_number(i_fields, 'time_interval', true, 1, 3153600000, false),
                                   CASE WHEN v_s.schedule_type = 'interval' THEN v_s.time_interval END);
            IF v_interval IS NULL THEN
                PERFORM tgx._rest_fail('time_interval', 'an interval schedule needs a time_interval');
            END IF;
            IF v_interval > (SELECT j.time_frame FROM tgx.jobs j WHERE j.job_id = i_job_id) THEN
                PERFORM tgx._rest_fail('time_interval',
                    format('time_interval %s is longer than time_frame %s', v_interval,
                           (SELECT j.time_frame FROM tgx.jobs j WHERE j.job_id = i_job_id)),
                    'Use a time_interval of at most the time_frame, both in seconds.');
            END IF;
        WHEN 'cron' THEN
            v_field := 'cron_expression';
            v_cron := coalesce(btrim(tgx._rest_text(i_fields, 'cron_expression', false, 200)),
                               CASE WHEN v_s.schedule_type = 'cron' THEN v_s.cron_expression END);
            IF v_cron IS NULL OR v_cron = '' THEN
                PERFORM tgx._rest_fail('cron_expression', 'a cron schedule needs a cron_expression');
            END IF;
        ELSE
            v_field := 'specific_schedule';
            v_specific := coalesce(btrim(tgx._rest_text(i_fields, 'specific_schedule', false, 100)),
                                   CASE WHEN v_s.schedule_type = 'specific' THEN v_s.specific_schedule END);
            IF v_specific IS NULL OR v_specific = '' THEN
                PERFORM tgx._rest_fail('specific_schedule', 'a specific schedule needs a specific_schedule');
            END IF;
        END CASE;
        IF v_job.task_definition_id = 7 AND v_type <> 'interval' THEN
            PERFORM tgx._rest_fail('schedule_type', 'custom script jobs run on an interval schedule');
        END IF;
        BEGIN
            PERFORM set_config('tgx.schedule_now', extract(epoch FROM i_now)::text, true);
            UPDATE tgx.time_schedules s
               SET schedule_type = v_type, time_interval = v_interval, cron_expression = v_cron,
                   specific_schedule = v_specific, specific_at = NULL, timezone = coalesce(v_tz, s.timezone),
                   updated_at = i_now
             WHERE s.job_id = i_job_id;
            PERFORM set_config('tgx.schedule_now', '', true);
        EXCEPTION WHEN invalid_parameter_value OR check_violation THEN
            GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            RAISE EXCEPTION USING MESSAGE = v_msg, ERRCODE = '22023', COLUMN = v_field,
                                  DETAIL = coalesce(v_detail, ''), HINT = coalesce(v_hint, '');
        END;
    END IF;

    IF i_fields ? 'status' THEN
        v_status := tgx._rest_text(i_fields, 'status', true, 50);
        PERFORM tgx.set_job_status(i_owner, i_job_id, v_status, i_now);
    END IF;

    RETURN QUERY
    UPDATE tgx.jobs j SET updated_at = i_now WHERE j.job_id = i_job_id RETURNING j.job_id::text, j.updated_at;
END
$$;
COMMENT ON FUNCTION tgx.update_job(text, tgx.uint256, jsonb, timestamptz) IS
    'PUT /api/jobs/update/:id: changes only the fields sent (title, recurring, cost prediction, time_frame, timezone, '
    'status, time schedule through its validating trigger); returns job_id and updated_at. 22023 naming the field, '
    'P0002, 42501, 55000';

CREATE OR REPLACE FUNCTION tgx.set_job_last_executed(i_owner text, i_job_id tgx.uint256,
                                                     i_last_executed_at timestamptz,
                                                     i_job_cost_actual double precision,
                                                     i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (job_id text, last_executed_at timestamptz, updated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.set_job_last_executed(i_owner, i_job_id, i_last_executed_at, i_job_cost_actual, i_now)
--   PUT /api/jobs/:id/lastexecuted: sets the job's last_executed_at (i_now when NULL) and, when
--   given, job_cost_actual.  i_owner is the API key's owner (NULL: admin).
-- Returns: job_id, last_executed_at, updated_at.
-- Raises: P0002 unknown job; 42501 another owner's job; 22023 (COLUMN job_cost_actual) negative
--   cost.
-- Tables: tgx.jobs (update).
BEGIN
    PERFORM tgx._rest_job_for(i_owner, i_job_id);
    IF i_job_cost_actual IS NOT NULL AND (i_job_cost_actual < 0 OR i_job_cost_actual = 'NaN') THEN
        PERFORM tgx._rest_fail('job_cost_actual', 'job_cost_actual must not be negative');
    END IF;
    RETURN QUERY
    UPDATE tgx.jobs j
       SET last_executed_at = coalesce(i_last_executed_at, i_now),
           job_cost_actual = coalesce(i_job_cost_actual, j.job_cost_actual),
           updated_at = i_now
     WHERE j.job_id = i_job_id
    RETURNING j.job_id::text, j.last_executed_at, j.updated_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
END
$$;
COMMENT ON FUNCTION tgx.set_job_last_executed(text, tgx.uint256, timestamptz, double precision, timestamptz) IS
    'PUT /api/jobs/:id/lastexecuted: records a job''s last execution time and actual cost; P0002 unknown job, '
    '42501 another owner''s job';

------------------------------------------------------------------------------
-- Tasks
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx.create_task(i_job_id tgx.uint256, i_task_definition_id integer,
                                           i_is_imua boolean DEFAULT NULL, i_trace_id text DEFAULT NULL,
                                           i_now timestamptz DEFAULT clock_timestamp())
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.create_task(i_job_id, i_task_definition_id, i_is_imua, i_trace_id, i_now)
--   POST /api/tasks (admin keys: the original's schedulers created tasks this way): one task of
--   an active job, pending and due now, with the job's attempt budget; trace_id = the request's
--   (else the job's).
-- Returns: the new task_id.
-- Raises: 22023 (COLUMN task_definition_id) outside 1..7; P0002 unknown job; 55000 the job is
--   not active (paused, deleted, completed).
-- Tables: tgx.tasks (insert).  NOTIFY tgx_dispatch.
DECLARE
    v_job tgx.jobs;
    v_id bigint;
BEGIN
    IF i_task_definition_id IS NULL OR i_task_definition_id NOT BETWEEN 1 AND 7 THEN
        PERFORM tgx._rest_fail('task_definition_id', 'task_definition_id must be between 1 and 7');
    END IF;
    SELECT * INTO v_job FROM tgx.jobs j WHERE j.job_id = i_job_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
    IF v_job.status <> 'pending' THEN
        RAISE EXCEPTION 'cannot create a task of job %: it is %', i_job_id, v_job.status USING ERRCODE = '55000';
    END IF;
    INSERT INTO tgx.tasks (job_id, task_definition_id, state, scheduled_for, due_at, max_attempts, trigger_data,
                           is_imua, trace_id, created_at, updated_at)
    VALUES (i_job_id, i_task_definition_id, 'pending', i_now, i_now, v_job.max_attempts,
            jsonb_build_object('source', 'api'), coalesce(i_is_imua, v_job.is_imua),
            coalesce(i_trace_id, v_job.trace_id), i_now, i_now)
    RETURNING task_id INTO v_id;
    PERFORM pg_notify('tgx_dispatch', '');
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION tgx.create_task(tgx.uint256, integer, boolean, text, timestamptz) IS
    'POST /api/tasks: creates one pending task of an active job, due now; returns its task_id. 22023, P0002, 55000';

CREATE OR REPLACE FUNCTION tgx.record_task_execution(i_task_id bigint, i_task_performer_id bigint,
                                                     i_execution_timestamp timestamptz, i_execution_tx_hash text,
                                                     i_proof_of_task text, i_task_opx_cost double precision,
                                                     i_now timestamptz DEFAULT clock_timestamp())
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.record_task_execution(i_task_id, i_task_performer_id, i_execution_timestamp,
--                                     i_execution_tx_hash, i_proof_of_task, i_task_opx_cost, i_now)
--   PUT /api/tasks/execution/:id (admin keys): records what a keeper reported about a task's
--   execution: performer, time, transaction hash, proof and cost.  The task's state is not
--   changed: the life cycle moves only through the queue functions.
-- Returns: the task's new updated_at.
-- Raises: 22023 with COLUMN for a malformed hash, an unknown performer or a negative cost;
--   P0002 unknown task.
-- Tables: tgx.tasks (update).
DECLARE
    v_hash text := lower(btrim(i_execution_tx_hash));
    v_at timestamptz;
BEGIN
    IF v_hash IS NULL OR v_hash !~ '^0x[0-9a-f]{64}$' THEN
        PERFORM tgx._rest_fail('execution_tx_hash', format('invalid execution_tx_hash "%s"',
                                                           left(coalesce(i_execution_tx_hash, ''), 100)),
                               'A transaction hash is 0x followed by 64 hex digits.');
    END IF;
    IF i_task_performer_id IS NOT NULL AND i_task_performer_id <> 0
       AND NOT EXISTS (SELECT 1 FROM tgx.keepers k WHERE k.keeper_id = i_task_performer_id) THEN
        PERFORM tgx._rest_fail('task_performer_id', format('keeper %s does not exist', i_task_performer_id));
    END IF;
    IF i_task_opx_cost IS NOT NULL AND (i_task_opx_cost < 0 OR i_task_opx_cost = 'NaN') THEN
        PERFORM tgx._rest_fail('task_opx_cost', 'task_opx_cost must not be negative');
    END IF;
    UPDATE tgx.tasks t
       SET task_performer_id = coalesce(nullif(i_task_performer_id, 0), t.task_performer_id),
           execution_timestamp = i_execution_timestamp, execution_tx_hash = v_hash,
           proof_of_task = coalesce(i_proof_of_task, t.proof_of_task),
           task_opx_cost = coalesce(i_task_opx_cost, t.task_opx_cost), updated_at = i_now
     WHERE t.task_id = i_task_id
    RETURNING t.updated_at INTO v_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'task % does not exist', i_task_id USING ERRCODE = 'P0002';
    END IF;
    RETURN v_at;
END
$$;
COMMENT ON FUNCTION tgx.record_task_execution(bigint, bigint, timestamptz, text, text, double precision, timestamptz) IS
    'PUT /api/tasks/execution/:id: records a task''s execution report (performer, time, tx hash, proof, cost) without '
    'changing its state; returns updated_at. 22023 naming the field, P0002 unknown task';
