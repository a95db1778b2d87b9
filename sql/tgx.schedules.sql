-- tgx.schedules.sql: validation of time schedules, preview, and schedule steering.
--
--   trigger time_schedules_validate / _revalidate   checks a row and computes next_fire_at
--   tgx.preview(job_id, n, now)                     the next n runs of a job
--   tgx.preview_schedule(type, spec, n, tz, ...)    the next n runs of a schedule spec
--   tgx.set_schedule(job_id, type, spec, reason, ...)   steering: change a job's schedule (audited)
--   tgx._schedule_resume(job_id, now)               internal, for tgx.resume_job
--
-- next_fire_at reference time: on INSERT the row's created_at (an interval schedule first
-- runs at created_at + time_interval, like the original backend); on an UPDATE that changes
-- the schedule, the new updated_at when the statement sets it (tgx.set_schedule passes its
-- i_now) and clock_timestamp() otherwise.  An UPDATE that sets a new updated_at alone also
-- recomputes next_fire_at from it.

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._parse_specific(i_text text, i_tz text, i_dst_gap text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._parse_specific(i_text, i_tz, i_dst_gap)
--   Parses the instant of a specific schedule: RFC 3339 / ISO 8601 (2025-03-09T14:30:00Z,
--   2025-03-09 14:30:00+05:30, 2025-03-09T14:30, 2025-03-09) or unix seconds (1741530600,
--   fractions allowed).  A date-time without offset is local time in zone i_tz; if it falls
--   in a DST gap the dst_gap policy applies (skip is refused: the run would never happen), if
--   it occurs twice the first occurrence is taken.
-- Returns: the instant.
-- Raises: 22023 when the text is not such a timestamp.
DECLARE
    v_src text := btrim(i_text);
    v_m   text[];
    v_at  timestamptz;
BEGIN
    IF v_src ~ '^[0-9]{1,11}(\.[0-9]{1,6})?$' THEN
        RETURN to_timestamp(v_src::numeric);
    END IF;
    -- date, optional time (with optional seconds and fraction), optional offset after the time
    v_m := regexp_match(v_src,
        '^([0-9]{4}-[0-9]{2}-[0-9]{2})'
        '(?:[Tt ]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$');
    IF v_m IS NULL THEN
        RAISE EXCEPTION 'invalid specific_schedule "%"', i_text
            USING ERRCODE = '22023',
                  HINT = 'Use an RFC 3339 timestamp such as 2025-03-09T14:30:00Z, or unix seconds.';
    END IF;
    BEGIN
        IF v_m[3] IS NOT NULL THEN
            RETURN (v_m[1] || ' ' || v_m[2] || CASE WHEN upper(v_m[3]) = 'Z' THEN '+00' ELSE v_m[3] END)::timestamptz;
        END IF;
        SELECT li.o_at1 INTO v_at
        FROM tgx._local_instants((v_m[1] || ' ' || coalesce(v_m[2], '00:00'))::timestamp, i_tz, i_dst_gap, 'first',
                                 false) li;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value THEN
        RAISE EXCEPTION 'invalid specific_schedule "%"', i_text
            USING ERRCODE = '22023', DETAIL = format('The date or time is out of range (%s).', SQLERRM);
    END;
    IF v_at IS NULL THEN
        RAISE EXCEPTION 'specific_schedule "%" does not exist in time zone "%"', i_text, i_tz
            USING ERRCODE = '22023',
                  DETAIL = 'The clocks move forward over that local time and the schedule''s dst_gap is skip.',
                  HINT = 'Choose another time, or dst_gap run_at_gap_end or shift.';
    END IF;
    RETURN v_at;
END
$$;
COMMENT ON FUNCTION tgx._parse_specific(text, text, text) IS
    'Internal: the instant of a specific schedule from RFC 3339 / ISO 8601 text or unix seconds; local times without '
    'offset are in the given zone (dst_gap applies in a gap, first occurrence in an overlap); raises 22023';

CREATE OR REPLACE FUNCTION tgx._interval_next(i_anchor timestamptz, i_seconds bigint, i_after timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._interval_next(i_anchor, i_seconds, i_after)
--   The first instant anchor + k * seconds (k >= 0) strictly after i_after (elapsed time, no
--   DST effect); the anchor itself when it is after i_after.
SELECT CASE WHEN i_anchor > i_after THEN i_anchor
            ELSE i_anchor + ((floor(extract(epoch FROM i_after - i_anchor) / i_seconds)::bigint + 1) * i_seconds)
                            * interval '1 second' END
$$;
COMMENT ON FUNCTION tgx._interval_next(timestamptz, bigint, timestamptz) IS
    'Internal: the first instant of an interval schedule''s phase (anchor + k * seconds) strictly after a given instant';

CREATE OR REPLACE FUNCTION tgx._is_dst(i_at timestamptz, i_tz text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._is_dst(i_at, i_tz)
--   Whether i_at is in daylight saving time in zone i_tz.  PostgreSQL exposes the DST flag
--   only for the current instant (pg_timezone_names.is_dst), so this compares the UTC offset
--   at i_at with the offsets 2, 4 and 6 months before and after: DST when it is larger than
--   the smallest of them (standard time lasts at least two months in every zone with DST).
SELECT ((i_at AT TIME ZONE i_tz) - (i_at AT TIME ZONE 'UTC'))
       > (SELECT min(((i_at + m * interval '1 month') AT TIME ZONE i_tz)
                     - ((i_at + m * interval '1 month') AT TIME ZONE 'UTC'))
          FROM unnest(ARRAY[-6, -4, -2, 2, 4, 6]) m)
$$;
COMMENT ON FUNCTION tgx._is_dst(timestamptz, text) IS
    'Internal: whether an instant is in daylight saving time in a zone (its UTC offset exceeds the smallest offset '
    '2, 4 or 6 months before or after)';

------------------------------------------------------------------------------
-- The validation trigger
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._time_schedule_check()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._time_schedule_check()  (BEFORE INSERT OR UPDATE trigger on tgx.time_schedules)
--   Validates a schedule and computes next_fire_at, on INSERT and on every UPDATE that changes
--   the schedule (type, interval, cron expression, specific time, zone, DST policies):
--   * the job exists and is a time job (task_definition_id 1, 2 or 7);
--   * the zone is known (stored in its canonical spelling);
--   * interval: time_interval set, not longer than the job's time_frame;
--     cron: a valid expression that can fire (parsed into cron_spec); specific: specific_at, or specific_schedule
--     parsed into specific_at (RFC 3339 / ISO 8601 or unix seconds; local time in the zone when
--     there is no offset); fields of the other types must be NULL;
--   * updated_at = the reference below (the origin of an interval schedule's phase);
--   * next_fire_at = the first run (interval: reference + time_interval; cron: first instant
--     after the reference; specific: specific_at), which must not be after the job's
--     expiration_time.  Reference: created_at on INSERT; on UPDATE the i_now of
--     tgx.set_schedule (transaction-local setting tgx.schedule_now), else a newly set
--     updated_at (setting updated_at alone also recomputes: "reschedule from then"), else
--     clock_timestamp(); updated_at becomes the reference.
--   An UPDATE that only moves next_fire_at earlier just notifies.
-- Returns: the row to store.
-- Raises: 22023 bad schedule, P0002 unknown job.
-- Tables: tgx.jobs (read), tgx.time_zones (read).  NOTIFY tgx_schedule.
DECLARE
    v_job  record;
    v_ref  timestamptz;
    v_next timestamptz;
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.job_id, OLD.schedule_type, OLD.time_interval, OLD.cron_expression, OLD.specific_schedule,
            OLD.specific_at, OLD.timezone, OLD.dst_gap, OLD.dst_overlap, OLD.updated_at, OLD.cron_spec)
           IS NOT DISTINCT FROM
           (NEW.job_id, NEW.schedule_type, NEW.time_interval, NEW.cron_expression, NEW.specific_schedule,
            NEW.specific_at, NEW.timezone, NEW.dst_gap, NEW.dst_overlap, NEW.updated_at, NEW.cron_spec) THEN
        -- only next_fire_at moved earlier: the scheduler may have to wake sooner
        PERFORM pg_notify('tgx_schedule', '');
        RETURN NEW;
    END IF;

    SELECT j.status, j.time_frame, j.expiration_time, j.task_definition_id INTO v_job
    FROM tgx.jobs j WHERE j.job_id = NEW.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', NEW.job_id USING ERRCODE = 'P0002';
    END IF;
    IF v_job.task_definition_id NOT IN (1, 2, 7) THEN
        RAISE EXCEPTION 'job % is not a time job', NEW.job_id
            USING ERRCODE = '22023',
                  DETAIL = format('Its task_definition_id is %s; time schedules belong to task definitions 1, 2 and 7.',
                                  v_job.task_definition_id);
    END IF;
    NEW.timezone := tgx._tz_canonical(NEW.timezone);
    PERFORM tgx._check_dst_policies(NEW.dst_gap, NEW.dst_overlap);
    IF NEW.misfire_policy IS NULL OR NEW.misfire_policy NOT IN ('skip', 'fire_once', 'fire_all') THEN
        RAISE EXCEPTION 'invalid misfire_policy "%"', coalesce(NEW.misfire_policy, 'null')
            USING ERRCODE = '22023', HINT = 'Use skip, fire_once or fire_all.';
    END IF;

    IF TG_OP = 'INSERT' THEN
        v_ref := NEW.created_at;
        NEW.updated_at := v_ref;
    ELSE
        -- tgx.set_schedule passes its i_now (epoch seconds) in the transaction-local setting
        -- tgx.schedule_now; otherwise a newly set updated_at, otherwise the clock
        v_ref := to_timestamp(nullif(current_setting('tgx.schedule_now', true), '')::numeric);
        IF v_ref IS NULL THEN
            v_ref := CASE WHEN NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN NEW.updated_at
                          ELSE clock_timestamp() END;
        END IF;
        NEW.updated_at := v_ref;
    END IF;

    NEW.cron_spec := NULL;
    CASE NEW.schedule_type
    WHEN 'interval' THEN
        IF NEW.time_interval IS NULL OR NEW.time_interval <= 0 THEN
            RAISE EXCEPTION 'an interval schedule needs a positive time_interval' USING ERRCODE = '22023';
        END IF;
        IF NEW.cron_expression IS NOT NULL OR NEW.specific_schedule IS NOT NULL OR NEW.specific_at IS NOT NULL THEN
            RAISE EXCEPTION 'an interval schedule cannot have cron_expression, specific_schedule or specific_at'
                USING ERRCODE = '22023';
        END IF;
        IF NEW.time_interval > v_job.time_frame THEN
            RAISE EXCEPTION 'time_interval % is longer than the job''s time_frame %', NEW.time_interval, v_job.time_frame
                USING ERRCODE = '22023',
                      DETAIL = 'The job would expire before its first run.',
                      HINT = 'Use a time_interval of at most the time_frame, both in seconds.';
        END IF;
        v_next := v_ref + NEW.time_interval * interval '1 second';
    WHEN 'cron' THEN
        IF NEW.cron_expression IS NULL THEN
            RAISE EXCEPTION 'a cron schedule needs a cron_expression' USING ERRCODE = '22023';
        END IF;
        IF NEW.time_interval IS NOT NULL OR NEW.specific_schedule IS NOT NULL OR NEW.specific_at IS NOT NULL THEN
            RAISE EXCEPTION 'a cron schedule cannot have time_interval, specific_schedule or specific_at'
                USING ERRCODE = '22023';
        END IF;
        NEW.cron_spec := tgx._cron_parse(NEW.cron_expression);
        v_next := (tgx._cron_next_spec(NEW.cron_spec, v_ref, NEW.timezone, NEW.dst_gap, NEW.dst_overlap)).o_at;
    WHEN 'specific' THEN
        IF NEW.time_interval IS NOT NULL OR NEW.cron_expression IS NOT NULL THEN
            RAISE EXCEPTION 'a specific schedule cannot have time_interval or cron_expression' USING ERRCODE = '22023';
        END IF;
        IF NEW.specific_at IS NULL
           OR (TG_OP = 'UPDATE' AND NEW.specific_at IS NOT DISTINCT FROM OLD.specific_at
               AND NEW.specific_schedule IS NOT NULL
               AND (NEW.specific_schedule, NEW.timezone, NEW.dst_gap)
                   IS DISTINCT FROM (OLD.specific_schedule, OLD.timezone, OLD.dst_gap)) THEN
            IF NEW.specific_schedule IS NULL THEN
                RAISE EXCEPTION 'a specific schedule needs specific_schedule or specific_at' USING ERRCODE = '22023';
            END IF;
            NEW.specific_at := tgx._parse_specific(NEW.specific_schedule, NEW.timezone, NEW.dst_gap);
        ELSIF NEW.specific_schedule IS NULL THEN
            NEW.specific_schedule := to_char(NEW.specific_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
        END IF;
        v_next := NEW.specific_at;
    END CASE;

    IF v_next IS NULL OR v_next > v_job.expiration_time THEN
        RAISE EXCEPTION 'schedule of job % never fires before the job expires', NEW.job_id
            USING ERRCODE = '22023',
                  DETAIL = format('The first run would be at %s; the job expires at %s.',
                                  coalesce(to_char(v_next AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'), 'never'),
                                  to_char(v_job.expiration_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'));
    END IF;
    NEW.next_fire_at := v_next;
    PERFORM pg_notify('tgx_schedule', '');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION tgx._time_schedule_check() IS
    'Trigger of tgx.time_schedules: validates the schedule (job is a time job, zone, type-specific fields, interval '
    'not longer than time_frame, cron grammar, specific_schedule parsed into specific_at) and computes next_fire_at on '
    'INSERT and whenever the schedule changes; raises 22023 or P0002; NOTIFY tgx_schedule';

CREATE OR REPLACE TRIGGER time_schedules_validate
    BEFORE INSERT ON tgx.time_schedules
    FOR EACH ROW EXECUTE FUNCTION tgx._time_schedule_check();

-- The WHEN clause keeps the firing path (which only advances next_fire_at) free of PL/pgSQL.
CREATE OR REPLACE TRIGGER time_schedules_revalidate
    BEFORE UPDATE ON tgx.time_schedules
    FOR EACH ROW
    WHEN ((OLD.job_id, OLD.schedule_type, OLD.time_interval, OLD.cron_expression, OLD.specific_schedule,
           OLD.specific_at, OLD.timezone, OLD.dst_gap, OLD.dst_overlap, OLD.updated_at, OLD.cron_spec)
          IS DISTINCT FROM
          (NEW.job_id, NEW.schedule_type, NEW.time_interval, NEW.cron_expression, NEW.specific_schedule,
           NEW.specific_at, NEW.timezone, NEW.dst_gap, NEW.dst_overlap, NEW.updated_at, NEW.cron_spec)
          OR (NEW.next_fire_at IS NOT NULL AND (OLD.next_fire_at IS NULL OR NEW.next_fire_at < OLD.next_fire_at)))
    EXECUTE FUNCTION tgx._time_schedule_check();

------------------------------------------------------------------------------
-- Preview
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._preview_rows(i_schedule_type text, i_seconds bigint, i_spec tgx.cron_spec,
                                             i_specific_at timestamptz, i_tz text, i_dst_gap text,
                                             i_dst_overlap text, i_first timestamptz, i_after timestamptz,
                                             i_n integer, i_until timestamptz)
RETURNS TABLE (n integer, fire_at timestamptz, utc_time timestamp, local_time timestamp, utc_offset interval,
               is_dst boolean, dst_note text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._preview_rows(...)
--   The runs of a schedule: starting at i_first when given (interval: that instant; cron: the
--   first cron instant at or after it; specific: ignored), else the first run after i_after;
--   at most i_n rows, none after i_until (NULL = no limit).
-- Returns: one row per run (see tgx.preview).
DECLARE
    v_at   timestamptz;
    v_note text;
    v_k    integer := 0;
    v_next record;
BEGIN
    IF i_schedule_type = 'specific' THEN
        v_at := i_specific_at;
    ELSIF i_schedule_type = 'interval' THEN
        v_at := coalesce(i_first, i_after + i_seconds * interval '1 second');
    ELSE
        SELECT c.o_at, c.o_note INTO v_next
        FROM tgx._cron_next_spec(i_spec, coalesce(i_first - interval '1 microsecond', i_after), i_tz, i_dst_gap,
                                 i_dst_overlap) c;
        v_at := v_next.o_at;
        v_note := v_next.o_note;
    END IF;
    WHILE v_at IS NOT NULL AND v_k < i_n AND (i_until IS NULL OR v_at <= i_until) LOOP
        v_k := v_k + 1;
        n := v_k;
        fire_at := v_at;
        utc_time := v_at AT TIME ZONE 'UTC';
        local_time := v_at AT TIME ZONE i_tz;
        utc_offset := local_time - utc_time;
        is_dst := tgx._is_dst(v_at, i_tz);
        dst_note := v_note;
        RETURN NEXT;
        IF i_schedule_type = 'specific' THEN
            EXIT;
        ELSIF i_schedule_type = 'interval' THEN
            v_at := v_at + i_seconds * interval '1 second';
        ELSE
            SELECT c.o_at, c.o_note INTO v_next
            FROM tgx._cron_next_spec(i_spec, v_at, i_tz, i_dst_gap, i_dst_overlap) c;
            v_at := v_next.o_at;
            v_note := v_next.o_note;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tgx._preview_rows(text, bigint, tgx.cron_spec, timestamptz, text, text, text, timestamptz,
                                      timestamptz, integer, timestamptz) IS
    'Internal: the next runs of a schedule with UTC and local time, offset, DST flag and DST note (see tgx.preview)';

CREATE OR REPLACE FUNCTION tgx.preview(i_job_id tgx.uint256, i_n integer DEFAULT 10,
                                       i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (n integer, fire_at timestamptz, utc_time timestamp, local_time timestamp, utc_offset interval,
               is_dst boolean, dst_note text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.preview(i_job_id, i_n, i_now)
--   The next i_n runs of a job's time schedule, in order, as the scheduler will make them:
--   starting at next_fire_at (which may be overdue, i.e. <= i_now); for a schedule without
--   next_fire_at (a paused job, a linked follower) the runs it would make if resumed at i_now.
--   Stops at the job's expiration_time.  A completed or deleted job has no runs.
-- Parameters:
--   i_job_id  the job
--   i_n       how many runs (1-1000)
--   i_now     the current instant
-- Returns: n (1..), fire_at (the instant), utc_time and local_time (wall clocks in UTC and in the
--   schedule's zone), utc_offset (local - UTC), is_dst (local time is daylight saving time),
--   dst_note (NULL, or how a DST policy placed the run: gap_end, gap_shift, overlap_first,
--   overlap_second).
-- Raises: P0002 unknown job or a job without time schedule; 22023 bad i_n.
-- Tables: tgx.jobs, tgx.time_schedules (read).
DECLARE
    v_s     record;
    v_first timestamptz;
BEGIN
    IF i_n IS NULL OR i_n NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid number of runs %: it must be between 1 and 1000', i_n USING ERRCODE = '22023';
    END IF;
    SELECT s.*, j.status, j.expiration_time INTO v_s
    FROM tgx.jobs j LEFT JOIN tgx.time_schedules s ON s.job_id = j.job_id
    WHERE j.job_id = i_job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
    IF v_s.schedule_type IS NULL THEN
        RAISE EXCEPTION 'job % has no time schedule', i_job_id USING ERRCODE = 'P0002';
    END IF;
    IF v_s.status IN ('completed', 'deleted') THEN
        RETURN;
    END IF;
    v_first := v_s.next_fire_at;
    IF v_first IS NULL AND v_s.schedule_type = 'interval' THEN
        v_first := tgx._interval_next(greatest(v_s.last_fired_at, v_s.updated_at), v_s.time_interval,
                                      greatest(i_now, v_s.last_fired_at, v_s.updated_at));
    ELSIF v_first IS NULL AND v_s.schedule_type = 'specific' AND v_s.specific_at <= i_now THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT * FROM tgx._preview_rows(v_s.schedule_type, v_s.time_interval,
                                    CASE WHEN v_s.schedule_type = 'cron' THEN tgx._cron_parse(v_s.cron_expression) END,
                                    v_s.specific_at, v_s.timezone, v_s.dst_gap, v_s.dst_overlap, v_first, i_now, i_n,
                                    v_s.expiration_time);
END
$$;
COMMENT ON FUNCTION tgx.preview(tgx.uint256, integer, timestamptz) IS
    'The next n runs of a job''s time schedule (from next_fire_at; for a paused job, as if resumed now) up to its '
    'expiration_time: instant, UTC and local wall clock, UTC offset, is_dst, and dst_note (gap_end, gap_shift, '
    'overlap_first, overlap_second) when a DST policy placed the run. P0002 for an unknown job or one without schedule';

CREATE OR REPLACE FUNCTION tgx.preview_schedule(i_schedule_type text, i_spec text, i_n integer DEFAULT 10,
                                                i_timezone text DEFAULT 'UTC',
                                                i_dst_gap text DEFAULT 'run_at_gap_end',
                                                i_dst_overlap text DEFAULT 'first',
                                                i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (n integer, fire_at timestamptz, utc_time timestamp, local_time timestamp, utc_offset interval,
               is_dst boolean, dst_note text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.preview_schedule(i_schedule_type, i_spec, i_n, i_timezone, i_dst_gap, i_dst_overlap, i_now)
--   The next i_n runs of a schedule that is not stored, as if it were created at i_now:
--   interval (i_spec = seconds): i_now + k * seconds, k >= 1; cron (i_spec = expression): the
--   instants after i_now; specific (i_spec = RFC 3339 or unix seconds): its one instant.
-- Parameters: as tgx.time_schedules (schedule_type, the spec, timezone, dst_gap, dst_overlap);
--   i_n how many runs (1-1000); i_now the current instant.
-- Returns: as tgx.preview.
-- Raises: 22023 for a bad type, spec, zone, policy or i_n.
-- Tables: tgx.time_zones (read).
DECLARE
    v_tz   text;
    v_secs bigint;
    v_spec tgx.cron_spec;
    v_at   timestamptz;
BEGIN
    IF i_n IS NULL OR i_n NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid number of runs %: it must be between 1 and 1000', i_n USING ERRCODE = '22023';
    END IF;
    PERFORM tgx._check_dst_policies(i_dst_gap, i_dst_overlap);
    v_tz := tgx._tz_canonical(i_timezone);
    CASE i_schedule_type
    WHEN 'interval' THEN
        v_secs := tgx._parse_seconds(i_spec);
    WHEN 'cron' THEN
        v_spec := tgx._cron_parse(i_spec);
    WHEN 'specific' THEN
        IF i_spec IS NULL THEN
            RAISE EXCEPTION 'a specific schedule needs a timestamp' USING ERRCODE = '22023';
        END IF;
        v_at := tgx._parse_specific(i_spec, v_tz, i_dst_gap);
    ELSE
        RAISE EXCEPTION 'invalid schedule_type "%"', coalesce(i_schedule_type, 'null')
            USING ERRCODE = '22023', HINT = 'Use interval, cron or specific.';
    END CASE;
    RETURN QUERY
    SELECT * FROM tgx._preview_rows(i_schedule_type, v_secs, v_spec, v_at, v_tz, i_dst_gap, i_dst_overlap, NULL,
                                    i_now, i_n, NULL);
END
$$;
COMMENT ON FUNCTION tgx.preview_schedule(text, text, integer, text, text, text, timestamptz) IS
    'The next n runs of a schedule spec without a job (interval seconds, cron expression, or specific timestamp) as '
    'if created at i_now, in a zone under DST policies; same columns as tgx.preview; raises 22023 for bad input';

CREATE OR REPLACE FUNCTION tgx._parse_seconds(i_spec text)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._parse_seconds(i_spec)
--   The time_interval of an interval spec: a positive whole number of seconds.
-- Raises: 22023 otherwise.
BEGIN
    IF i_spec IS NULL OR btrim(i_spec) !~ '^[0-9]{1,12}$' OR btrim(i_spec)::bigint = 0 THEN
        RAISE EXCEPTION 'invalid time_interval "%"', coalesce(i_spec, 'null')
            USING ERRCODE = '22023', HINT = 'Give a positive whole number of seconds.';
    END IF;
    RETURN btrim(i_spec)::bigint;
END
$$;
COMMENT ON FUNCTION tgx._parse_seconds(text) IS
    'Internal: a positive whole number of seconds from text (an interval schedule''s spec); raises 22023 otherwise';

------------------------------------------------------------------------------
-- Steering
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tgx._schedule_json(i_s tgx.time_schedules)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._schedule_json(i_s)
--   The schedule fields of a tgx.time_schedules row for tgx.audit_log (NULL for no row).
SELECT CASE WHEN i_s.job_id IS NOT NULL THEN
    jsonb_build_object('schedule_type', i_s.schedule_type, 'time_interval', i_s.time_interval,
                       'cron_expression', i_s.cron_expression, 'specific_schedule', i_s.specific_schedule,
                       'specific_at', i_s.specific_at, 'timezone', i_s.timezone, 'dst_gap', i_s.dst_gap,
                       'dst_overlap', i_s.dst_overlap, 'misfire_policy', i_s.misfire_policy,
                       'next_fire_at', i_s.next_fire_at) END
$$;
COMMENT ON FUNCTION tgx._schedule_json(tgx.time_schedules) IS
    'Internal: the schedule fields of a time_schedules row as jsonb, for the audit log';

CREATE OR REPLACE FUNCTION tgx.set_schedule(i_job_id tgx.uint256, i_schedule_type text, i_spec text, i_reason text,
                                            i_timezone text DEFAULT NULL, i_dst_gap text DEFAULT NULL,
                                            i_dst_overlap text DEFAULT NULL, i_misfire_policy text DEFAULT NULL,
                                            i_now timestamptz DEFAULT clock_timestamp())
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.set_schedule(i_job_id, i_schedule_type, i_spec, i_reason, i_timezone, i_dst_gap,
--                            i_dst_overlap, i_misfire_policy, i_now)
--   Steering (tgx_operator): replaces a job's time schedule (or gives a time job one) and
--   recomputes next_fire_at from i_now: interval first runs at i_now + seconds, cron at its
--   first instant after i_now, specific at its instant.  Optional parameters left NULL keep
--   the current value (or the column default for a new schedule).  Audited in
--   tgx.audit_log in the same transaction.
-- Parameters:
--   i_job_id          the job
--   i_schedule_type   interval | cron | specific
--   i_spec            interval: whole seconds; cron: the expression; specific: RFC 3339 / unix seconds
--   i_reason          why (required, kept in the audit log)
--   i_timezone, i_dst_gap, i_dst_overlap, i_misfire_policy   see tgx.time_schedules
--   i_now             the current instant
-- Returns: the new next_fire_at.
-- Raises: P0002 unknown job; 55000 deleted or completed job; 22023 bad input (type, spec, zone,
--   policies, interval longer than time_frame, schedule that never fires before expiry,
--   empty reason).
-- Tables: tgx.time_schedules (insert/update), tgx.jobs (read), tgx.audit_log (via tgx._audit).
--   NOTIFY tgx_schedule (by the trigger).
DECLARE
    v_old    tgx.time_schedules;
    v_new    tgx.time_schedules;
    v_status tgx.job_status;
    v_secs   bigint;
BEGIN
    IF i_reason IS NULL OR btrim(i_reason) = '' THEN
        RAISE EXCEPTION 'a reason is required for set_schedule'
            USING ERRCODE = '22023', HINT = 'Pass a short sentence saying why, it is kept in tgx.audit_log.';
    END IF;
    IF i_schedule_type IS NULL OR i_schedule_type NOT IN ('interval', 'cron', 'specific') THEN
        RAISE EXCEPTION 'invalid schedule_type "%"', coalesce(i_schedule_type, 'null')
            USING ERRCODE = '22023', HINT = 'Use interval, cron or specific.';
    END IF;
    IF i_spec IS NULL THEN
        RAISE EXCEPTION 'a schedule spec is required'
            USING ERRCODE = '22023', HINT = 'Give the seconds, the cron expression or the timestamp.';
    END IF;
    IF i_schedule_type = 'interval' THEN
        v_secs := tgx._parse_seconds(i_spec);
    END IF;
    -- lock order: the schedule row, then the job (tgx.fire_due_schedules holds the schedule
    -- row when it completes a job)
    SELECT * INTO v_old FROM tgx.time_schedules s WHERE s.job_id = i_job_id FOR UPDATE;
    SELECT j.status INTO v_status FROM tgx.jobs j WHERE j.job_id = i_job_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
    END IF;
    IF v_status IN ('deleted', 'completed') THEN
        RAISE EXCEPTION 'cannot set the schedule of job %: it is %', i_job_id, v_status
            USING ERRCODE = '55000';
    END IF;

    IF v_old.job_id IS NOT NULL THEN
        -- the trigger recomputes next_fire_at from i_now (see tgx._time_schedule_check)
        PERFORM set_config('tgx.schedule_now', extract(epoch FROM i_now)::text, true);
        UPDATE tgx.time_schedules s
        SET schedule_type = i_schedule_type,
            time_interval = v_secs,
            cron_expression = CASE WHEN i_schedule_type = 'cron' THEN btrim(i_spec) END,
            specific_schedule = CASE WHEN i_schedule_type = 'specific' THEN btrim(i_spec) END,
            specific_at = NULL,
            timezone = coalesce(i_timezone, s.timezone),
            dst_gap = coalesce(i_dst_gap, s.dst_gap),
            dst_overlap = coalesce(i_dst_overlap, s.dst_overlap),
            misfire_policy = coalesce(i_misfire_policy, s.misfire_policy),
            -- a new updated_at makes the trigger run even for an unchanged spec
            updated_at = i_now
        WHERE s.job_id = i_job_id
        RETURNING * INTO v_new;
        PERFORM set_config('tgx.schedule_now', '', true);
    ELSE
        INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, cron_expression, specific_schedule,
                                        timezone, dst_gap, dst_overlap, misfire_policy, created_at, updated_at)
        VALUES (i_job_id, i_schedule_type, v_secs,
                CASE WHEN i_schedule_type = 'cron' THEN btrim(i_spec) END,
                CASE WHEN i_schedule_type = 'specific' THEN btrim(i_spec) END,
                coalesce(i_timezone, 'UTC'), coalesce(i_dst_gap, 'run_at_gap_end'), coalesce(i_dst_overlap, 'first'),
                coalesce(i_misfire_policy, 'fire_once'), i_now, i_now)
        RETURNING * INTO v_new;
    END IF;

    PERFORM tgx._audit('set_schedule', 'job', i_job_id::text, i_reason, tgx._schedule_json(v_old),
                       tgx._schedule_json(v_new));
    RETURN v_new.next_fire_at;
END
$$;
COMMENT ON FUNCTION tgx.set_schedule(tgx.uint256, text, text, text, text, text, text, text, timestamptz) IS
    'Steering: replaces a job''s time schedule (interval seconds, cron expression or specific timestamp; zone, DST and '
    'misfire policies optional) and returns the new next_fire_at computed from i_now; audited. P0002 unknown job, '
    '55000 deleted or completed job, 22023 bad input';

CREATE OR REPLACE FUNCTION tgx._schedule_resume(i_job_id tgx.uint256, i_now timestamptz DEFAULT clock_timestamp())
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._schedule_resume(i_job_id, i_now)
--   Internal, called by tgx.resume_job AFTER it set the job back to pending: recomputes
--   next_fire_at as the first run strictly after i_now, so runs missed while the job was
--   paused are not fired.  Interval schedules keep their phase: the first instant after i_now
--   of next_fire_at + k * time_interval, or when the schedule was parked (next_fire_at NULL,
--   as tgx.pause_job does) of the later of last_fired_at and updated_at (the instant the
--   schedule was set, its phase origin) + k * time_interval; cron: the first
--   instant after i_now; specific: its instant if still ahead.  When there is no such run
--   before the job's expiration_time, next_fire_at becomes NULL and the job completed.
-- Parameters: i_job_id the job; i_now the current instant.
-- Returns: the new next_fire_at, NULL when the job has no time schedule or was completed.
-- Raises: P0002 unknown job.
-- Tables: tgx.time_schedules (update), tgx.jobs (update on completion).  NOTIFY tgx_schedule.
DECLARE
    v_s      record;
    v_next   timestamptz;
    v_anchor timestamptz;
BEGIN
    SELECT s.*, j.expiration_time INTO v_s
    FROM tgx.time_schedules s JOIN tgx.jobs j ON j.job_id = s.job_id
    WHERE s.job_id = i_job_id
    FOR UPDATE OF s;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM tgx.jobs j WHERE j.job_id = i_job_id) THEN
            RAISE EXCEPTION 'job % does not exist', i_job_id USING ERRCODE = 'P0002';
        END IF;
        RETURN NULL;
    END IF;
    CASE v_s.schedule_type
    WHEN 'interval' THEN
        IF v_s.next_fire_at IS NOT NULL THEN
            v_next := tgx._interval_next(v_s.next_fire_at, v_s.time_interval, i_now);
        ELSE
            v_anchor := greatest(v_s.last_fired_at, v_s.updated_at);
            v_next := tgx._interval_next(v_anchor, v_s.time_interval, greatest(i_now, v_anchor));
        END IF;
    WHEN 'cron' THEN
        v_next := (tgx._cron_next_spec(tgx._cron_parse(v_s.cron_expression), i_now, v_s.timezone, v_s.dst_gap,
                                       v_s.dst_overlap)).o_at;
    ELSE
        v_next := CASE WHEN v_s.specific_at > i_now AND v_s.fire_count = 0 THEN v_s.specific_at END;
    END CASE;
    IF v_next IS NULL OR v_next > v_s.expiration_time THEN
        UPDATE tgx.time_schedules s SET next_fire_at = NULL WHERE s.job_id = i_job_id;
        UPDATE tgx.jobs j SET status = 'completed', updated_at = i_now
        WHERE j.job_id = i_job_id AND j.status IN ('pending', 'paused');
        RETURN NULL;
    END IF;
    UPDATE tgx.time_schedules s SET next_fire_at = v_next WHERE s.job_id = i_job_id;
    PERFORM pg_notify('tgx_schedule', '');
    RETURN v_next;
END
$$;
COMMENT ON FUNCTION tgx._schedule_resume(tgx.uint256, timestamptz) IS
    'Internal (for tgx.resume_job, after the job is pending again): next_fire_at = the first run strictly after now '
    '(runs missed while paused are not fired; interval schedules keep their phase); completes the job when no run is '
    'left before its expiration_time. Returns the new next_fire_at or NULL';
