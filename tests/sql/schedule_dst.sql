-- schedule_dst.sql: DST gaps and overlaps in America/New_York (1-hour shifts) and
-- Australia/Lord_Howe (30-minute shifts), for every policy and for wildcard-hour fields.
--   New York 2025:  spring forward 2025-03-09 02:00 EST (07:00Z) -> 03:00 EDT
--                   fall back      2025-11-02 02:00 EDT (06:00Z) -> 01:00 EST
--   Lord Howe 2025: spring forward 2025-10-05 02:00 +10:30 (2025-10-04 15:30Z) -> 02:30 +11
--                   fall back      2025-04-06 02:00 +11 (2025-04-05 15:00Z) -> 01:30 +10:30
BEGIN;
SELECT plan(34);

CREATE FUNCTION pg_temp.runs(i_expr text, i_tz text, i_from timestamptz, i_n integer,
                             i_gap text DEFAULT 'run_at_gap_end', i_overlap text DEFAULT 'first')
RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(to_char(p.fire_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI'), ' ' ORDER BY p.n)
    FROM tgx.preview_schedule('cron', i_expr, i_n, i_tz, i_gap, i_overlap, i_from) p
$$;

-- New York, fixed-time run in the gap: 02:30 does not exist on 2025-03-09 -----------------

SELECT is(tgx.cron_next('30 2 * * *', '2025-03-08 12:00Z', 'America/New_York'), '2025-03-09 07:00Z'::timestamptz,
          'NY gap, run_at_gap_end: at 03:00 EDT, the first instant after the gap');
SELECT is(tgx.cron_next('30 2 * * *', '2025-03-08 12:00Z', 'America/New_York', 'shift'),
          '2025-03-09 07:30Z'::timestamptz, 'NY gap, shift: moved forward by the gap (03:30 EDT)');
SELECT is(tgx.cron_next('30 2 * * *', '2025-03-08 12:00Z', 'America/New_York', 'skip'),
          '2025-03-10 06:30Z'::timestamptz, 'NY gap, skip: next run is the following day');
SELECT is(pg_temp.runs('30 2 * * *', 'America/New_York', '2025-03-07 12:00Z', 3),
          '03-08 07:30 03-09 07:00 03-10 06:30', 'NY gap, run_at_gap_end: one run per day, none twice');
SELECT is(pg_temp.runs('0,30 2,3 * * *', 'America/New_York', '2025-03-09 06:00Z', 3),
          '03-09 07:00 03-09 07:30 03-10 06:00',
          'NY gap: 02:00, 02:30 and 03:00 all land on 03:00 EDT and run once');

-- New York, fixed-time run in the overlap: 01:30 happens twice on 2025-11-02 ----------------

SELECT is(tgx.cron_next('30 1 * * *', '2025-11-01 12:00Z', 'America/New_York'), '2025-11-02 05:30Z'::timestamptz,
          'NY overlap, first: the first occurrence (01:30 EDT)');
SELECT is(tgx.cron_next('30 1 * * *', '2025-11-02 05:30Z', 'America/New_York'), '2025-11-03 06:30Z'::timestamptz,
          'NY overlap, first: the second occurrence is not run');
SELECT is(pg_temp.runs('30 1 * * *', 'America/New_York', '2025-11-01 12:00Z', 3, 'run_at_gap_end', 'both'),
          '11-02 05:30 11-02 06:30 11-03 06:30', 'NY overlap, both: 01:30 EDT and 01:30 EST');

-- New York, wildcard hour: real elapsed time ----------------------------------------------

SELECT is(pg_temp.runs('*/15 * * * *', 'America/New_York', '2025-03-09 06:20Z', 6),
          '03-09 06:30 03-09 06:45 03-09 07:00 03-09 07:15 03-09 07:30 03-09 07:45',
          'NY spring, */15: every real quarter hour, no gap');
SELECT is(pg_temp.runs('0 * * * *', 'America/New_York', '2025-03-09 05:30Z', 3),
          '03-09 06:00 03-09 07:00 03-09 08:00', 'NY spring, hourly: every real hour (01:00 EST, 03:00 EDT)');
SELECT is(pg_temp.runs('0 * * * *', 'America/New_York', '2025-11-02 04:30Z', 4),
          '11-02 05:00 11-02 06:00 11-02 07:00 11-02 08:00',
          'NY fall, hourly: 01:00 EDT and 01:00 EST both run, no real hour twice');
SELECT is(pg_temp.runs('*/15 * * * *', 'America/New_York', '2025-11-02 05:40Z', 5),
          '11-02 05:45 11-02 06:00 11-02 06:15 11-02 06:30 11-02 06:45', 'NY fall, */15: every real quarter hour');
SELECT is(pg_temp.runs('*/15 * * * *', 'America/New_York', '2025-03-09 06:20Z', 6, 'skip', 'first'),
          '03-09 06:30 03-09 06:45 03-09 07:00 03-09 07:15 03-09 07:30 03-09 07:45',
          'wildcard hour ignores the fixed-time policies');

-- Lord Howe, 30-minute shifts -----------------------------------------------------------------

SELECT is(tgx.cron_next('15 2 * * *', '2025-10-04 00:00Z', 'Australia/Lord_Howe'), '2025-10-04 15:30Z'::timestamptz,
          'Lord Howe gap, run_at_gap_end: 02:30 +11');
SELECT is(tgx.cron_next('15 2 * * *', '2025-10-04 00:00Z', 'Australia/Lord_Howe', 'shift'),
          '2025-10-04 15:45Z'::timestamptz, 'Lord Howe gap, shift: 02:45 +11 (moved by 30 minutes)');
SELECT is(tgx.cron_next('15 2 * * *', '2025-10-04 00:00Z', 'Australia/Lord_Howe', 'skip'),
          '2025-10-05 15:15Z'::timestamptz, 'Lord Howe gap, skip: the next day');
SELECT is(tgx.cron_next('45 1 * * *', '2025-04-05 00:00Z', 'Australia/Lord_Howe'), '2025-04-05 14:45Z'::timestamptz,
          'Lord Howe overlap, first: 01:45 +11');
SELECT is(tgx.cron_next('45 1 * * *', '2025-04-05 14:45Z', 'Australia/Lord_Howe'), '2025-04-06 15:15Z'::timestamptz,
          'Lord Howe overlap, first: 01:45 +10:30 is not run');
SELECT is(tgx.cron_next('45 1 * * *', '2025-04-05 14:45Z', 'Australia/Lord_Howe', 'run_at_gap_end', 'both'),
          '2025-04-05 15:15Z'::timestamptz, 'Lord Howe overlap, both: 01:45 +10:30 runs too');
SELECT is(pg_temp.runs('*/15 * * * *', 'Australia/Lord_Howe', '2025-10-04 15:00Z', 4),
          '10-04 15:15 10-04 15:30 10-04 15:45 10-04 16:00', 'Lord Howe spring, */15: every real quarter hour');
SELECT is(pg_temp.runs('*/15 * * * *', 'Australia/Lord_Howe', '2025-04-05 14:20Z', 6),
          '04-05 14:30 04-05 14:45 04-05 15:00 04-05 15:15 04-05 15:30 04-05 15:45',
          'Lord Howe fall, */15: every real quarter hour, the repeated half hour runs twice');
SELECT is(pg_temp.runs('*/30 * * * *', 'Australia/Lord_Howe', '2025-04-05 14:00Z', 4),
          '04-05 14:30 04-05 15:00 04-05 15:30 04-05 16:00', 'Lord Howe fall, */30: every real half hour');

-- Preview columns: local time, offset, DST flag and note ---------------------------------------

SELECT results_eq(
    $$SELECT local_time, utc_offset, is_dst, dst_note
      FROM tgx.preview_schedule('cron', '30 2 * * *', 3, 'America/New_York', i_now => '2025-03-07 12:00Z')
      ORDER BY n$$,
    $$VALUES ('2025-03-08 02:30'::timestamp, interval '-5 hours', false, NULL::text),
             ('2025-03-09 03:00', interval '-4 hours', true, 'gap_end'),
             ('2025-03-10 02:30', interval '-4 hours', true, NULL)$$,
    'preview: local time, offset, is_dst and the gap_end note');
SELECT results_eq(
    $$SELECT utc_time, local_time, dst_note
      FROM tgx.preview_schedule('cron', '30 2 * * *', 1, 'America/New_York', 'shift', 'first', '2025-03-08 12:00Z')$$,
    $$VALUES ('2025-03-09 07:30'::timestamp, '2025-03-09 03:30'::timestamp, 'gap_shift'::text)$$,
    'preview: the gap_shift note');
SELECT results_eq(
    $$SELECT utc_offset, is_dst, dst_note
      FROM tgx.preview_schedule('cron', '30 1 * * *', 2, 'America/New_York', 'run_at_gap_end', 'both',
                                '2025-11-01 12:00Z') ORDER BY n$$,
    $$VALUES (interval '-4 hours', true, 'overlap_first'::text), (interval '-5 hours', false, 'overlap_second')$$,
    'preview: overlap notes and the DST flag on both occurrences');
SELECT results_eq(
    $$SELECT utc_offset, is_dst FROM tgx.preview_schedule('cron', '0 12 1 1,7 *', 2, 'Australia/Lord_Howe',
                                                          i_now => '2025-06-01 00:00Z') ORDER BY n$$,
    $$VALUES (interval '10 hours 30 minutes', false), (interval '11 hours', true)$$,
    'preview: Lord Howe winter +10:30 is standard time, summer +11 is DST');
SELECT is((SELECT count(*)::integer FROM tgx.preview_schedule('cron', '0 9 * * *', 5, 'Europe/Paris',
                                                              i_now => '2025-03-29 00:00Z') p
           WHERE p.local_time::time = '09:00'), 5, 'fixed local time stays at 09:00 across the change in Paris');

-- Interval schedules are elapsed time: no DST effect ------------------------------------------

SELECT is((SELECT string_agg(to_char(p.fire_at AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY p.n)
           FROM tgx.preview_schedule('interval', '3600', 3, 'America/New_York', i_now => '2025-03-09 05:30Z') p),
          '06:30 07:30 08:30', 'interval: every 3600 s of elapsed time across the gap');
SELECT is((SELECT string_agg(to_char(p.local_time, 'HH24:MI'), ' ' ORDER BY p.n)
           FROM tgx.preview_schedule('interval', '3600', 3, 'America/New_York', i_now => '2025-03-09 05:30Z') p),
          '01:30 03:30 04:30', 'interval: local wall clock jumps with the gap');

-- Specific schedules in local time ------------------------------------------------------------

SELECT is((SELECT p.fire_at FROM tgx.preview_schedule('specific', '2025-03-09T02:30:00', 1, 'America/New_York',
                                                      i_now => '2025-01-01 00:00Z') p),
          '2025-03-09 07:00Z'::timestamptz, 'specific local time in the gap: run_at_gap_end');
SELECT is((SELECT p.fire_at FROM tgx.preview_schedule('specific', '2025-03-09T02:30:00', 1, 'America/New_York',
                                                      'shift', 'first', '2025-01-01 00:00Z') p),
          '2025-03-09 07:30Z'::timestamptz, 'specific local time in the gap: shift');
SELECT throws_ok($$SELECT * FROM tgx.preview_schedule('specific', '2025-03-09T02:30:00', 1, 'America/New_York',
                                                      'skip', 'first', '2025-01-01 00:00Z')$$, '22023',
    'specific_schedule "2025-03-09T02:30:00" does not exist in time zone "America/New_York"',
    'specific local time in the gap with skip is refused');
SELECT is((SELECT p.fire_at FROM tgx.preview_schedule('specific', '2025-11-02 01:30', 1, 'America/New_York',
                                                      i_now => '2025-01-01 00:00Z') p),
          '2025-11-02 05:30Z'::timestamptz, 'specific local time in the overlap: the first occurrence');
SELECT throws_ok($$SELECT * FROM tgx.preview_schedule('cron', '* * * * *', 1, 'Mars/Base')$$, '22023',
    'unknown time zone "Mars/Base"', 'preview_schedule rejects unknown zones');

SELECT * FROM finish();
ROLLBACK;
