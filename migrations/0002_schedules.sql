-- 0002_schedules.sql: DDL of the schedules family (sql/tgx.cron.sql, sql/tgx.schedules.sql,
-- sql/tgx.fire_due_schedules.sql).
--
-- Forward-only.  Adds the parsed form of a cron expression, misfire bookkeeping on
-- tgx.time_schedules, a cache of PostgreSQL's zone names, and documents the policies of a
-- schedule on its columns.  The validation trigger itself is (re)created by
-- sql/tgx.schedules.sql, after its function.

------------------------------------------------------------------------------
-- The parsed form of a cron expression
------------------------------------------------------------------------------

CREATE TYPE tgx.cron_spec AS (
    minutes   bigint,   -- bit m set: minute m (0-59) matches
    hours     integer,  -- bit h set: hour h (0-23) matches
    doms      bigint,   -- bit d set: day of month d (1-31) matches
    months    integer,  -- bit m set: month m (1-12) matches
    dows      integer,  -- bit w set: day of week w (0-6, 0 = Sunday) matches
    dom_star  boolean,  -- the day-of-month field starts with * (Vixie: then both day fields must match)
    dow_star  boolean,  -- the day-of-week field starts with *
    hour_star boolean   -- the hour field starts with *: runs follow real elapsed time across DST changes
);
COMMENT ON TYPE tgx.cron_spec IS
    'A parsed 5-field cron expression as bit masks (see tgx._cron_parse); internal to the schedules family';

------------------------------------------------------------------------------
-- Misfire bookkeeping and policy documentation on tgx.time_schedules
------------------------------------------------------------------------------

ALTER TABLE tgx.time_schedules
    ADD COLUMN missed_runs  bigint NOT NULL DEFAULT 0 CHECK (missed_runs >= 0),
    ADD COLUMN last_misfire jsonb,
    ADD COLUMN cron_spec    tgx.cron_spec,
    ADD CONSTRAINT time_schedules_cron_spec CHECK ((schedule_type = 'cron') = (cron_spec IS NOT NULL));

COMMENT ON COLUMN tgx.time_schedules.schedule_type IS
    'interval: every time_interval seconds of elapsed time (no DST effect), first run = created_at + time_interval; '
    'cron: a 5-field cron expression in the schedule''s time zone; specific: one instant (specific_at), then the job '
    'completes';
COMMENT ON COLUMN tgx.time_schedules.time_interval IS
    'interval schedules: seconds between runs (elapsed time); must not exceed the job''s time_frame';
COMMENT ON COLUMN tgx.time_schedules.cron_expression IS
    'cron schedules: minute hour day-of-month month day-of-week, with lists, ranges, steps, month and weekday names, '
    '0 and 7 = Sunday, or one of @yearly @annually @monthly @weekly @daily @midnight @hourly. Vixie rule: when both day '
    'fields are restricted (neither starts with *) a day matches if either matches';
COMMENT ON COLUMN tgx.time_schedules.cron_spec IS
    'cron schedules: cron_expression parsed (tgx._cron_parse), maintained by the validation trigger so that firing '
    'never parses; derived, do not set it by hand';
COMMENT ON COLUMN tgx.time_schedules.specific_schedule IS
    'specific schedules: the instant as given (RFC 3339 / ISO 8601, or unix seconds); without an offset it is local '
    'time in the schedule''s zone. Parsed into specific_at by the validation trigger when specific_at is not given';
COMMENT ON COLUMN tgx.time_schedules.specific_at IS 'specific schedules: the one instant the job runs';
COMMENT ON COLUMN tgx.time_schedules.timezone IS
    'IANA time zone of a cron schedule (and of a specific_schedule without offset), from PostgreSQL''s zone data '
    '(pg_timezone_names); stored in its canonical spelling; unknown zones are rejected';
COMMENT ON COLUMN tgx.time_schedules.dst_gap IS
    'Fixed-time cron runs whose local time does not exist (clocks move forward): run_at_gap_end (default) runs at the '
    'first instant after the gap; shift runs the local time moved forward by the length of the gap; skip does not run. '
    'Cron fields whose hour starts with * follow real elapsed time: minutes inside the gap simply do not exist, none '
    'is lost';
COMMENT ON COLUMN tgx.time_schedules.dst_overlap IS
    'Fixed-time cron runs whose local time occurs twice (clocks move back): first (default) runs once, at the first '
    'occurrence; both runs at both occurrences. Cron fields whose hour starts with * follow real elapsed time and run '
    'at both occurrences, so no real hour is run twice or lost';
COMMENT ON COLUMN tgx.time_schedules.misfire_policy IS
    'Runs missed while no scheduler ran. The due instants of a firing are the schedule''s instants from next_fire_at '
    'to min(now, job expiration_time). Exactly one due instant is a normal (possibly late) run. More than one is a '
    'misfire: skip fires none of them and resumes at the first instant after now; fire_once (default) fires one task '
    'for the latest; fire_all fires one task per due instant, at most misfire_cap of them (the most recent). '
    'trigger_data.misfire of each task and last_misfire record the counts';
COMMENT ON COLUMN tgx.time_schedules.misfire_cap IS
    'fire_all: the most tasks one misfire creates (the most recent instants)';
COMMENT ON COLUMN tgx.time_schedules.start_deadline IS
    'Optional: a due instant older than now - start_deadline is never fired (counted as expired), whatever the policy';
COMMENT ON COLUMN tgx.time_schedules.next_fire_at IS
    'The next instant to fire, computed by the validation trigger and advanced by tgx.fire_due_schedules; NULL when the '
    'schedule has no future run (job completed, deleted, paused or a linked follower: tgx._schedule_resume recomputes it)';
COMMENT ON COLUMN tgx.time_schedules.last_fired_at IS 'The schedule instant (scheduled_for) of the latest task created';
COMMENT ON COLUMN tgx.time_schedules.fire_count IS 'Tasks created by this schedule';
COMMENT ON COLUMN tgx.time_schedules.missed_runs IS
    'Due instants that got no task of their own (misfire skip/fire_once collapse, fire_all cap, start_deadline)';
COMMENT ON COLUMN tgx.time_schedules.last_misfire IS
    'The latest misfire: {"at" (when fired), "policy", "due", "due_capped", "expired", "fired", "from" and "until" '
    '(the due window: the old next_fire_at and min(now, expiration_time))}';

------------------------------------------------------------------------------
-- Zone names: a cache of pg_timezone_names (reading that view costs tens of milliseconds)
------------------------------------------------------------------------------

CREATE TABLE tgx.time_zones (
    name text PRIMARY KEY
);
CREATE UNIQUE INDEX time_zones_lower ON tgx.time_zones (lower(name));
COMMENT ON TABLE tgx.time_zones IS
    'Cache of the zone names of pg_timezone_names, refilled by every load of sql/tgx.cron.sql; '
    'zones missing here are looked up in pg_timezone_names itself before being rejected';
