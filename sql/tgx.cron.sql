-- tgx.cron.sql: time zones, the cron grammar and next-instant arithmetic (schedules family).
--
--   tgx.cron_validate(expr)                         raises 22023 naming the problem
--   tgx.cron_next(expr, after, tz, dst_gap, dst_overlap)   the first firing instant > after
--
-- A cron expression is parsed once per call into bit masks (tgx.cron_spec).  The next
-- matching local minute is found by jumping field by field (month, day, hour, minute), never
-- minute by minute.  Local wall-clock minutes are then mapped to instants in the zone, with
-- the schedule's DST policies (see the COMMENTs of tgx.time_schedules.dst_gap/dst_overlap):
--   * a fixed-hour run whose local time does not exist (spring forward):
--       run_at_gap_end = at the first instant after the gap, shift = the local time moved
--       forward by the length of the gap, skip = no run;
--   * a fixed-hour run whose local time occurs twice (fall back): first = once, at the first
--       occurrence, both = at both occurrences;
--   * a field whose hour starts with * follows real elapsed time: minutes inside a gap do not
--       exist (nothing real is lost) and repeated minutes run at both occurrences (every real
--       minute runs once).  This is Vixie cron's wildcard rule.
-- Zone data is PostgreSQL's own (AT TIME ZONE, pg_timezone_names), hence STABLE functions.

------------------------------------------------------------------------------
-- Time zones
------------------------------------------------------------------------------

-- Refill the zone-name cache (a PostgreSQL upgrade may bring new zones).  Names starting with
-- a capital letter are the IANA zones; posix/..., right/..., localtime, posixrules and Factory
-- are not offered.
INSERT INTO tgx.time_zones (name)
SELECT z.name FROM pg_catalog.pg_timezone_names z
WHERE z.name ~ '^[A-Z]' AND z.name <> 'Factory'
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION tgx._tz_canonical(i_tz text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._tz_canonical(i_tz)
--   Checks a time zone name against PostgreSQL's zone data and returns its canonical spelling
--   (the lookup ignores case: 'america/new_york' gives 'America/New_York').
-- Parameters:
--   i_tz  an IANA zone name
-- Returns: the name as spelled in pg_timezone_names.
-- Raises: 22023 unknown time zone.
-- Tables: tgx.time_zones (cache), pg_timezone_names (fallback).
DECLARE
    v_name text;
BEGIN
    IF i_tz = 'UTC' THEN
        RETURN 'UTC';
    END IF;
    IF i_tz IS NULL OR btrim(i_tz) = '' THEN
        RAISE EXCEPTION 'a time zone is required'
            USING ERRCODE = '22023', HINT = 'Use an IANA zone name such as UTC or Europe/Paris.';
    END IF;
    SELECT z.name INTO v_name FROM tgx.time_zones z WHERE lower(z.name) = lower(i_tz);
    IF NOT FOUND THEN
        SELECT z.name INTO v_name FROM pg_catalog.pg_timezone_names z
        WHERE lower(z.name) = lower(i_tz) AND z.name ~ '^[A-Z]' AND z.name <> 'Factory'
        LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown time zone "%"', i_tz
                USING ERRCODE = '22023',
                      HINT = 'Use an IANA zone name; SELECT name FROM pg_timezone_names lists them.';
        END IF;
    END IF;
    RETURN v_name;
END
$$;
COMMENT ON FUNCTION tgx._tz_canonical(text) IS
    'Internal: the canonical spelling of an IANA zone name from PostgreSQL''s zone data; raises 22023 for an unknown zone';

CREATE OR REPLACE FUNCTION tgx._check_dst_policies(i_dst_gap text, i_dst_overlap text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._check_dst_policies(i_dst_gap, i_dst_overlap)
--   Checks the names of the DST policies.
-- Raises: 22023 naming the bad policy.
BEGIN
    IF i_dst_gap IS NULL OR i_dst_gap NOT IN ('run_at_gap_end', 'shift', 'skip') THEN
        RAISE EXCEPTION 'invalid dst_gap "%"', coalesce(i_dst_gap, 'null')
            USING ERRCODE = '22023', HINT = 'Use run_at_gap_end, shift or skip.';
    END IF;
    IF i_dst_overlap IS NULL OR i_dst_overlap NOT IN ('first', 'both') THEN
        RAISE EXCEPTION 'invalid dst_overlap "%"', coalesce(i_dst_overlap, 'null')
            USING ERRCODE = '22023', HINT = 'Use first or both.';
    END IF;
END
$$;
COMMENT ON FUNCTION tgx._check_dst_policies(text, text) IS
    'Internal: raises 22023 unless dst_gap is run_at_gap_end, shift or skip and dst_overlap is first or both';

------------------------------------------------------------------------------
-- The cron grammar
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._cron_value(i_expr text, i_label text, i_token text, i_min integer, i_max integer,
                                           i_names text[], i_names_base integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_value(i_expr, i_label, i_token, i_min, i_max, i_names, i_names_base)
--   One value of a cron field: a number in i_min..i_max, or a name of i_names (lower-case;
--   the first name has the value i_names_base).
-- Returns: the value.
-- Raises: 22023 "invalid cron expression "<expr>": <label> <n> is out of range <min>-<max>", and
--   for words that are not names.
DECLARE
    v integer;
BEGIN
    IF i_token ~ '^[0-9]+$' THEN
        IF length(i_token) > 4 OR i_token::integer NOT BETWEEN i_min AND i_max THEN
            RAISE EXCEPTION 'invalid cron expression "%": % % is out of range %-%',
                i_expr, i_label, ltrim(i_token, '0') || CASE WHEN ltrim(i_token, '0') = '' THEN '0' ELSE '' END,
                i_min, i_max
                USING ERRCODE = '22023';
        END IF;
        RETURN i_token::integer;
    END IF;
    v := array_position(i_names, i_token);
    IF v IS NULL THEN
        IF i_names IS NULL THEN
            RAISE EXCEPTION 'invalid cron expression "%": % "%" is not a number', i_expr, i_label, i_token
                USING ERRCODE = '22023';
        END IF;
        RAISE EXCEPTION 'invalid cron expression "%": % "%" is neither a number nor a % name',
            i_expr, i_label, i_token, i_label
            USING ERRCODE = '22023',
                  HINT = format('Use %s-%s or one of %s.', i_min, i_max, array_to_string(i_names, ', '));
    END IF;
    RETURN i_names_base + v - 1;
END
$$;
COMMENT ON FUNCTION tgx._cron_value(text, text, text, integer, integer, text[], integer) IS
    'Internal: one number or name of a cron field, range-checked; raises 22023 naming the field';

CREATE OR REPLACE FUNCTION tgx._cron_field(i_expr text, i_label text, i_field text, i_min integer, i_max integer,
                                           i_star_max integer, i_names text[] DEFAULT NULL,
                                           i_names_base integer DEFAULT 0)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_field(i_expr, i_label, i_field, i_min, i_max, i_star_max, i_names, i_names_base)
--   Parses one field of a cron expression: a comma list of *, n, a-b, each optionally /step
--   (n/step means n-max/step, as in cronie).  * covers i_min..i_star_max.  (Plain string
--   functions, no alternation regex: PostgreSQL's regex engine is slow on those.)
-- Returns: a bit mask, bit v set when value v matches.
-- Raises: 22023 naming the field and the problem.
DECLARE
    v_mask bigint := 0;
    v_item text;
    v_base text;
    v_stxt text;
    v_a    text;
    v_b    text;
    v_lo   integer;
    v_hi   integer;
    v_step integer;
    v      integer;
BEGIN
    IF i_field = '*' THEN
        RETURN ((1::bigint << (i_star_max + 1)) - 1) & ~((1::bigint << i_min) - 1);
    END IF;
    FOREACH v_item IN ARRAY string_to_array(lower(i_field), ',') LOOP
        IF v_item = '' THEN
            RAISE EXCEPTION 'invalid cron expression "%": empty list element in % field "%"', i_expr, i_label, i_field
                USING ERRCODE = '22023';
        END IF;
        v_base := split_part(v_item, '/', 1);
        v_stxt := NULL;
        IF strpos(v_item, '/') > 0 THEN
            v_stxt := split_part(v_item, '/', 2);
            IF v_stxt !~ '^[0-9]+$' OR split_part(v_item, '/', 3) <> '' OR strpos(v_item, '//') > 0 THEN
                RAISE EXCEPTION 'invalid cron expression "%": cannot parse % field "%"', i_expr, i_label, i_field
                    USING ERRCODE = '22023',
                          HINT = 'A field is a comma list of *, n or a-b, each optionally followed by /step.';
            END IF;
        END IF;
        IF v_base = '*' THEN
            v_lo := i_min;
            v_hi := i_star_max;
        ELSE
            v_a := split_part(v_base, '-', 1);
            v_b := CASE WHEN strpos(v_base, '-') > 0 THEN split_part(v_base, '-', 2) END;
            IF v_a = '' OR v_b = '' OR split_part(v_base, '-', 3) <> '' OR v_a !~ '^[0-9a-z]+$'
               OR v_b !~ '^[0-9a-z]+$' THEN
                RAISE EXCEPTION 'invalid cron expression "%": cannot parse % field "%"', i_expr, i_label, i_field
                    USING ERRCODE = '22023',
                          HINT = 'A field is a comma list of *, n or a-b, each optionally followed by /step.';
            END IF;
            v_lo := tgx._cron_value(i_expr, i_label, v_a, i_min, i_max, i_names, i_names_base);
            IF v_b IS NOT NULL THEN
                v_hi := tgx._cron_value(i_expr, i_label, v_b, i_min, i_max, i_names, i_names_base);
                IF v_hi < v_lo THEN
                    RAISE EXCEPTION 'invalid cron expression "%": % range %-% is backwards', i_expr, i_label, v_a, v_b
                        USING ERRCODE = '22023', HINT = 'Write the smaller value first.';
                END IF;
            ELSIF v_stxt IS NOT NULL THEN
                v_hi := i_max;
            ELSE
                v_hi := v_lo;
            END IF;
        END IF;
        v_step := 1;
        IF v_stxt IS NOT NULL THEN
            IF length(v_stxt) > 4 OR v_stxt::integer = 0 OR v_stxt::integer > i_max - i_min + 1 THEN
                RAISE EXCEPTION 'invalid cron expression "%": % step % is out of range 1-%',
                    i_expr, i_label, v_stxt, i_max - i_min + 1
                    USING ERRCODE = '22023';
            END IF;
            v_step := v_stxt::integer;
        END IF;
        IF v_step = 1 THEN
            -- bits v_lo..v_hi at once
            v_mask := v_mask | (((1::bigint << (v_hi + 1)) - 1) & ~((1::bigint << v_lo) - 1));
        ELSE
            v := v_lo;
            WHILE v <= v_hi LOOP
                v_mask := v_mask | (1::bigint << v);
                v := v + v_step;
            END LOOP;
        END IF;
    END LOOP;
    RETURN v_mask;
END
$$;
COMMENT ON FUNCTION tgx._cron_field(text, text, text, integer, integer, integer, text[], integer) IS
    'Internal: one cron field (lists, ranges, steps, names) as a bit mask; raises 22023 naming the field';

CREATE OR REPLACE FUNCTION tgx._cron_parse(i_expr text)
RETURNS tgx.cron_spec
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_parse(i_expr)
--   Parses a cron expression: 5 fields (minute 0-59, hour 0-23, day of month 1-31, month
--   1-12 or jan-dec, day of week 0-7 or sun-sat, 0 and 7 = Sunday), or one of the macros
--   @yearly @annually @monthly @weekly @daily @midnight @hourly.  Rejects expressions that can
--   never fire (a day that exists in none of the months, e.g. "0 0 31 2 *").
-- Returns: the bit masks (tgx.cron_spec).
-- Raises: 22023 with a message naming the problem, e.g.
--   invalid cron expression "61 * * * *": minute 61 is out of range 0-59
--   cron expression "0 0 31 2 *" can never fire: day 31 does not exist in February
DECLARE
    c_month_names constant text[] := ARRAY['jan', 'feb', 'mar', 'apr', 'may', 'jun',
                                           'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
    c_month_full  constant text[] := ARRAY['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                                             'September', 'October', 'November', 'December'];
    c_dow_names   constant text[] := ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    c_max_days    constant integer[] := ARRAY[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    v_src    text;
    v_f      text[];
    v_n      integer;
    v_spec   tgx.cron_spec;
    v_dows   bigint;
    v_days   text;
    v_months text[];
BEGIN
    IF i_expr IS NULL THEN
        RAISE EXCEPTION 'a cron expression is required' USING ERRCODE = '22023';
    END IF;
    v_src := btrim(i_expr);
    IF left(v_src, 1) = '@' THEN
        v_src := CASE lower(v_src)
                     WHEN '@yearly' THEN '0 0 1 1 *'
                     WHEN '@annually' THEN '0 0 1 1 *'
                     WHEN '@monthly' THEN '0 0 1 * *'
                     WHEN '@weekly' THEN '0 0 * * 0'
                     WHEN '@daily' THEN '0 0 * * *'
                     WHEN '@midnight' THEN '0 0 * * *'
                     WHEN '@hourly' THEN '0 * * * *'
                 END;
        IF v_src IS NULL THEN
            RAISE EXCEPTION 'invalid cron expression "%": unknown macro "%"', i_expr, btrim(i_expr)
                USING ERRCODE = '22023',
                      HINT = 'The macros are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly.';
        END IF;
    END IF;
    v_f := CASE WHEN v_src = '' THEN '{}'::text[] ELSE regexp_split_to_array(v_src, '\s+') END;
    v_n := coalesce(array_length(v_f, 1), 0);
    IF v_n <> 5 THEN
        RAISE EXCEPTION 'invalid cron expression "%": expected 5 fields, found %', i_expr, v_n
            USING ERRCODE = '22023', HINT = 'The fields are: minute hour day-of-month month day-of-week.';
    END IF;

    v_spec.minutes := tgx._cron_field(i_expr, 'minute', v_f[1], 0, 59, 59);
    v_spec.hours := tgx._cron_field(i_expr, 'hour', v_f[2], 0, 23, 23)::integer;
    v_spec.doms := tgx._cron_field(i_expr, 'day of month', v_f[3], 1, 31, 31);
    v_spec.months := tgx._cron_field(i_expr, 'month', v_f[4], 1, 12, 12, c_month_names, 1)::integer;
    v_dows := tgx._cron_field(i_expr, 'day of week', v_f[5], 0, 7, 6, c_dow_names, 0);
    -- 7 is Sunday too
    v_spec.dows := ((v_dows & 127) | ((v_dows >> 7) & 1))::integer;
    v_spec.dom_star := left(v_f[3], 1) = '*';
    v_spec.dow_star := left(v_f[5], 1) = '*';
    v_spec.hour_star := left(v_f[2], 1) = '*';

    -- Can it fire?  When either day field starts with *, a day must match both fields, so some
    -- day of month must exist in some month (every weekday falls on every date some year).
    IF v_spec.dom_star OR v_spec.dow_star THEN
        FOR v_m IN 1 .. 12 LOOP
            IF (v_spec.months >> v_m) & 1 = 1
               AND v_spec.doms & ((1::bigint << (c_max_days[v_m] + 1)) - 2) <> 0 THEN
                RETURN v_spec;
            END IF;
        END LOOP;
        SELECT string_agg(d::text, ',' ORDER BY d), count(*) INTO v_days, v_n
        FROM generate_series(1, 31) d WHERE (v_spec.doms >> d) & 1 = 1;
        SELECT array_agg(c_month_full[m] ORDER BY m) INTO v_months
        FROM generate_series(1, 12) m WHERE (v_spec.months >> m) & 1 = 1;
        RAISE EXCEPTION 'cron expression "%" can never fire: % % % not exist in %', i_expr,
            CASE WHEN v_n = 1 THEN 'day' ELSE 'days' END, v_days, CASE WHEN v_n = 1 THEN 'does' ELSE 'do' END,
            CASE WHEN cardinality(v_months) = 1 THEN v_months[1]
                 ELSE array_to_string(v_months[1:cardinality(v_months) - 1], ', ') || ' or '
                      || v_months[cardinality(v_months)] END
            USING ERRCODE = '22023';
    END IF;
    RETURN v_spec;
END
$$;
COMMENT ON FUNCTION tgx._cron_parse(text) IS
    'Internal: parses a 5-field cron expression or macro into bit masks (tgx.cron_spec); raises 22023 naming the '
    'problem, including expressions that can never fire';

CREATE OR REPLACE FUNCTION tgx.cron_validate(i_expr text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.cron_validate(i_expr)
--   Checks a cron expression: 5 fields (minute hour day-of-month month day-of-week) with
--   lists, ranges, steps, month and weekday names, 0 and 7 = Sunday, or a macro (@yearly
--   @annually @monthly @weekly @daily @midnight @hourly).
-- Parameters:
--   i_expr  the expression
-- Returns: nothing; returns normally when the expression is valid and can fire.
-- Raises: 22023, e.g. invalid cron expression "61 * * * *": minute 61 is out of range 0-59;
--   cron expression "0 0 31 2 *" can never fire: day 31 does not exist in February.
-- Tables: none.
BEGIN
    PERFORM tgx._cron_parse(i_expr);
END
$$;
COMMENT ON FUNCTION tgx.cron_validate(text) IS
    'Checks a 5-field cron expression or @macro; raises 22023 naming the problem (bad field, out-of-range value, '
    'backwards range, bad step, wrong field count, unknown macro, or a schedule that can never fire such as "0 0 31 2 *")';

------------------------------------------------------------------------------
-- Next matching local minute
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._cron_next_local(i_spec tgx.cron_spec, i_from timestamp)
RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_next_local(i_spec, i_from)
--   The first wall-clock minute >= i_from (rounded up to a minute) that matches the cron
--   fields, jumping field by field: next matching month, then day (Vixie rule: when both day
--   fields are restricted a day matches if either matches, otherwise both must), hour, minute.
-- Returns: the local timestamp, or NULL when none within 50 years.
DECLARE
    v_t   timestamp := date_trunc('minute', i_from);
    y     integer;
    mo    integer;
    d     integer;
    h     integer;
    mi    integer;
    v_lim integer;
    v_dim integer;
    v_w   integer;
    v_x   integer;
BEGIN
    IF v_t < i_from THEN
        v_t := v_t + interval '1 minute';
    END IF;
    y := date_part('year', v_t)::integer;
    mo := date_part('month', v_t)::integer;
    d := date_part('day', v_t)::integer;
    h := date_part('hour', v_t)::integer;
    mi := date_part('minute', v_t)::integer;
    v_lim := y + 50;
    LOOP
        IF y > v_lim THEN
            RETURN NULL;
        END IF;
        -- month
        IF (i_spec.months >> mo) & 1 = 0 THEN
            v_x := NULL;
            FOR k IN mo + 1 .. 12 LOOP
                IF (i_spec.months >> k) & 1 = 1 THEN
                    v_x := k;
                    EXIT;
                END IF;
            END LOOP;
            IF v_x IS NULL THEN
                y := y + 1;
                mo := 1;
            ELSE
                mo := v_x;
            END IF;
            d := 1; h := 0; mi := 0;
            CONTINUE;
        END IF;
        -- day
        v_dim := CASE WHEN mo = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                      WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END;
        v_x := NULL;
        IF (i_spec.dom_star OR i_spec.dow_star) AND i_spec.dows = 127 THEN
            FOR k IN d .. v_dim LOOP
                IF (i_spec.doms >> k) & 1 = 1 THEN
                    v_x := k;
                    EXIT;
                END IF;
            END LOOP;
        ELSE
            v_w := date_part('dow', make_date(y, mo, d))::integer;
            IF i_spec.dom_star OR i_spec.dow_star THEN
                FOR k IN d .. v_dim LOOP
                    IF (i_spec.doms >> k) & 1 = 1 AND (i_spec.dows >> ((v_w + k - d) % 7)) & 1 = 1 THEN
                        v_x := k;
                        EXIT;
                    END IF;
                END LOOP;
            ELSE
                FOR k IN d .. v_dim LOOP
                    IF (i_spec.doms >> k) & 1 = 1 OR (i_spec.dows >> ((v_w + k - d) % 7)) & 1 = 1 THEN
                        v_x := k;
                        EXIT;
                    END IF;
                END LOOP;
            END IF;
        END IF;
        IF v_x IS NULL THEN
            mo := mo + 1;
            IF mo > 12 THEN
                mo := 1;
                y := y + 1;
            END IF;
            d := 1; h := 0; mi := 0;
            CONTINUE;
        END IF;
        IF v_x <> d THEN
            d := v_x; h := 0; mi := 0;
        END IF;
        -- hour
        v_x := NULL;
        FOR k IN h .. 23 LOOP
            IF (i_spec.hours >> k) & 1 = 1 THEN
                v_x := k;
                EXIT;
            END IF;
        END LOOP;
        IF v_x IS NULL THEN
            d := d + 1; h := 0; mi := 0;
            IF d > v_dim THEN
                d := 1;
                mo := mo + 1;
                IF mo > 12 THEN
                    mo := 1;
                    y := y + 1;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        IF v_x <> h THEN
            h := v_x; mi := 0;
        END IF;
        -- minute
        v_x := NULL;
        FOR k IN mi .. 59 LOOP
            IF (i_spec.minutes >> k) & 1 = 1 THEN
                v_x := k;
                EXIT;
            END IF;
        END LOOP;
        IF v_x IS NULL THEN
            h := h + 1; mi := 0;
            IF h > 23 THEN
                h := 0;
                d := d + 1;
                IF d > v_dim THEN
                    d := 1;
                    mo := mo + 1;
                    IF mo > 12 THEN
                        mo := 1;
                        y := y + 1;
                    END IF;
                END IF;
            END IF;
            CONTINUE;
        END IF;
        RETURN make_timestamp(y, mo, d, h, v_x, 0);
    END LOOP;
END
$$;
COMMENT ON FUNCTION tgx._cron_next_local(tgx.cron_spec, timestamp) IS
    'Internal: the first local minute >= the given one matching a parsed cron expression (field-by-field jumps); '
    'NULL when none within 50 years';

------------------------------------------------------------------------------
-- Local minutes to instants (DST)
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._local_instants(i_local timestamp, i_tz text, i_dst_gap text, i_dst_overlap text,
                                               i_real_time boolean,
                                               OUT o_at1 timestamptz, OUT o_note1 text,
                                               OUT o_at2 timestamptz, OUT o_note2 text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._local_instants(i_local, i_tz, i_dst_gap, i_dst_overlap, i_real_time)
--   The instants at which a run planned at local time i_local in zone i_tz happens.
--   An ordinary local time: one instant.  A local time that does not exist (the clocks moved
--   forward over it): run_at_gap_end gives the first instant after the gap (note gap_end),
--   shift gives the local time moved forward by the gap length (note gap_shift), skip gives
--   none.  A local time that occurs twice: first gives the first occurrence (note
--   overlap_first), both gives both (overlap_first, overlap_second).  i_real_time (the hour
--   field starts with *) overrides the policies: no run inside a gap, both occurrences in an
--   overlap, so runs follow real elapsed time.  Assumes offset changes of at most 3 hours.
-- Returns: o_at1 (NULL when no run), o_at2 (NULL unless a second run); notes NULL for an
--   ordinary local time.
DECLARE
    v_ia   timestamptz;
    v_om   interval;
    v_op   interval;
    v_c1   timestamptz;
    v_c2   timestamptz;
    v_ok1  boolean;
    v_ok2  boolean;
    v_lo   bigint;
    v_hi   bigint;
    v_mid  bigint;
    v_midt timestamptz;
BEGIN
    v_ia := i_local AT TIME ZONE i_tz;
    v_om := ((v_ia - interval '3 hours') AT TIME ZONE i_tz) - ((v_ia - interval '3 hours') AT TIME ZONE 'UTC');
    v_op := ((v_ia + interval '3 hours') AT TIME ZONE i_tz) - ((v_ia + interval '3 hours') AT TIME ZONE 'UTC');
    IF v_om = v_op THEN
        o_at1 := v_ia;
        RETURN;
    END IF;
    -- an offset change nearby: try both offsets
    v_c1 := (i_local - v_om) AT TIME ZONE 'UTC';
    v_c2 := (i_local - v_op) AT TIME ZONE 'UTC';
    v_ok1 := (v_c1 AT TIME ZONE i_tz) = i_local;
    v_ok2 := (v_c2 AT TIME ZONE i_tz) = i_local;
    IF v_ok1 AND v_ok2 THEN
        -- the local time occurs twice
        o_at1 := least(v_c1, v_c2);
        o_note1 := 'overlap_first';
        IF i_real_time OR i_dst_overlap = 'both' THEN
            o_at2 := greatest(v_c1, v_c2);
            o_note2 := 'overlap_second';
        END IF;
        RETURN;
    ELSIF v_ok1 THEN
        o_at1 := v_c1;
        RETURN;
    ELSIF v_ok2 THEN
        o_at1 := v_c2;
        RETURN;
    END IF;
    -- the local time does not exist: v_c2 (new offset) lies before the transition, v_c1 (old
    -- offset) after it
    IF i_real_time OR i_dst_gap = 'skip' THEN
        RETURN;
    END IF;
    IF i_dst_gap = 'shift' THEN
        o_at1 := v_c1;
        o_note1 := 'gap_shift';
        RETURN;
    END IF;
    -- run_at_gap_end: the transition instant, by bisection on whole seconds
    v_lo := floor(extract(epoch FROM v_c2))::bigint;
    v_hi := ceil(extract(epoch FROM v_c1))::bigint;
    WHILE v_hi - v_lo > 1 LOOP
        v_mid := (v_lo + v_hi) / 2;
        v_midt := to_timestamp(v_mid);
        IF (v_midt AT TIME ZONE i_tz) - (v_midt AT TIME ZONE 'UTC') = v_om THEN
            v_lo := v_mid;
        ELSE
            v_hi := v_mid;
        END IF;
    END LOOP;
    o_at1 := to_timestamp(v_hi);
    o_note1 := 'gap_end';
END
$$;
COMMENT ON FUNCTION tgx._local_instants(timestamp, text, text, text, boolean) IS
    'Internal: maps a planned local time to 0, 1 or 2 instants under the DST policies (gap: run_at_gap_end, shift, '
    'skip; overlap: first, both; real-time rule for hour fields starting with *), with a note saying what was done';

------------------------------------------------------------------------------
-- Next firing instant
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._cron_next_spec(i_spec tgx.cron_spec, i_after timestamptz, i_tz text,
                                               i_dst_gap text, i_dst_overlap text,
                                               OUT o_at timestamptz, OUT o_local timestamp, OUT o_note text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._cron_next_spec(i_spec, i_after, i_tz, i_dst_gap, i_dst_overlap)
--   The first firing instant strictly after i_after of a parsed cron expression in zone i_tz
--   (a canonical zone name; not checked here) under the DST policies.
--   Candidates are the matching local minutes from the earliest local reading of i_after; each
--   is mapped to its instants (tgx._local_instants).  Near an offset change the mapping is not
--   monotonic (shift, overlaps), so candidates are examined until none can give an earlier
--   instant: past the latest local reading of the best instant found.
-- Returns: o_at (NULL when the expression never fires again), o_local the planned local time,
--   o_note the DST note of tgx._local_instants.
DECLARE
    v_l     timestamp;
    v_limit timestamp;
    v_at1   timestamptz;
    v_note1 text;
    v_at2   timestamptz;
    v_note2 text;
    v_found boolean;
    v_o1    interval;
    v_o2    interval;
    v_o3    interval;
BEGIN
    IF i_tz = 'UTC' THEN
        o_local := tgx._cron_next_local(i_spec, date_trunc('minute', i_after AT TIME ZONE 'UTC') + interval '1 minute');
        o_at := o_local AT TIME ZONE 'UTC';
        RETURN;
    END IF;
    v_o1 := ((i_after - interval '3 hours') AT TIME ZONE i_tz) - ((i_after - interval '3 hours') AT TIME ZONE 'UTC');
    v_o2 := (i_after AT TIME ZONE i_tz) - (i_after AT TIME ZONE 'UTC');
    v_o3 := ((i_after + interval '3 hours') AT TIME ZONE i_tz) - ((i_after + interval '3 hours') AT TIME ZONE 'UTC');
    v_l := date_trunc('minute', (i_after AT TIME ZONE 'UTC') + least(v_o1, v_o2, v_o3));
    LOOP
        v_l := tgx._cron_next_local(i_spec, v_l);
        EXIT WHEN v_l IS NULL OR v_l > v_limit;
        SELECT li.o_at1, li.o_note1, li.o_at2, li.o_note2 INTO v_at1, v_note1, v_at2, v_note2
        FROM tgx._local_instants(v_l, i_tz, i_dst_gap, i_dst_overlap, i_spec.hour_star) li;
        v_found := false;
        IF v_at1 > i_after THEN
            IF o_at IS NULL OR v_at1 < o_at THEN
                o_at := v_at1; o_local := v_l; o_note := v_note1; v_found := true;
            END IF;
        ELSIF v_at2 > i_after THEN
            IF o_at IS NULL OR v_at2 < o_at THEN
                o_at := v_at2; o_local := v_l; o_note := v_note2; v_found := true;
            END IF;
        END IF;
        IF v_found THEN
            v_o1 := ((o_at - interval '3 hours') AT TIME ZONE i_tz) - ((o_at - interval '3 hours') AT TIME ZONE 'UTC');
            v_o2 := (o_at AT TIME ZONE i_tz) - (o_at AT TIME ZONE 'UTC');
            v_o3 := ((o_at + interval '3 hours') AT TIME ZONE i_tz) - ((o_at + interval '3 hours') AT TIME ZONE 'UTC');
            IF o_note IS NULL AND v_o1 = v_o3 THEN
                RETURN;  -- no offset change near the best instant: later local minutes give later instants
            END IF;
            v_limit := (o_at AT TIME ZONE 'UTC') + greatest(v_o1, v_o2, v_o3);
        END IF;
        v_l := v_l + interval '1 minute';
    END LOOP;
END
$$;
COMMENT ON FUNCTION tgx._cron_next_spec(tgx.cron_spec, timestamptz, text, text, text) IS
    'Internal: the first firing instant after a given one of a parsed cron expression in a zone under the DST '
    'policies, with the planned local time and the DST note';

CREATE OR REPLACE FUNCTION tgx.cron_next(i_expr text, i_after timestamptz, i_tz text DEFAULT 'UTC',
                                         i_dst_gap text DEFAULT 'run_at_gap_end', i_dst_overlap text DEFAULT 'first')
RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.cron_next(i_expr, i_after, i_tz, i_dst_gap, i_dst_overlap)
--   The first firing instant strictly after i_after of a cron expression evaluated in local
--   time of zone i_tz.
-- Parameters:
--   i_expr         5-field cron expression or @macro (see tgx.cron_validate)
--   i_after        the instant to search after (exclusive)
--   i_tz           IANA zone name (PostgreSQL's zone data), default UTC
--   i_dst_gap      run_at_gap_end | shift | skip: fixed-hour runs whose local time does not exist
--   i_dst_overlap  first | both: fixed-hour runs whose local time occurs twice
--   Hour fields starting with * follow real elapsed time whatever the policies.
-- Returns: the instant; NULL only if the expression does not fire within 50 years.
-- Raises: 22023 for an invalid expression, an unknown zone, an unknown policy or a NULL i_after.
-- Tables: tgx.time_zones (zone check).
DECLARE
    v_tz text;
BEGIN
    IF i_after IS NULL OR NOT isfinite(i_after) THEN
        RAISE EXCEPTION 'a finite instant to search after is required' USING ERRCODE = '22023';
    END IF;
    PERFORM tgx._check_dst_policies(i_dst_gap, i_dst_overlap);
    v_tz := tgx._tz_canonical(i_tz);
    RETURN (tgx._cron_next_spec(tgx._cron_parse(i_expr), i_after, v_tz, i_dst_gap, i_dst_overlap)).o_at;
END
$$;
COMMENT ON FUNCTION tgx.cron_next(text, timestamptz, text, text, text) IS
    'The first firing instant strictly after i_after of a cron expression in zone i_tz (default UTC) under the DST '
    'policies dst_gap (run_at_gap_end: a fixed-hour run whose local time does not exist runs at the first instant '
    'after the gap; shift: moved forward by the gap length; skip) and dst_overlap (first: a fixed-hour run in a '
    'repeated hour runs once, at its first occurrence; both). Hour fields starting with * follow real elapsed time '
    '(no run lost or run twice). Raises 22023 for bad input';
