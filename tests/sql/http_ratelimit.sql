-- http_ratelimit.sql: tgx.rate_limit_sync (the shared counts of the REST rate limiter) and the
-- task feed trigger of tgx.task_feed.sql (installed once; the scattered payload-less NOTIFYs gone).
BEGIN;
SELECT plan(16);

-- windows far in the future: nothing else writes them
SELECT is(tgx.rate_limit_sync('a', '2100-01-01 00:00+00', '{"1": 3, "2": 5}', '2100-01-01 00:00:10+00'),
          '{"1": 3, "2": 5}'::jsonb, 'the first instance''s counts are the totals');
SELECT is(tgx.rate_limit_sync('b', '2100-01-01 00:00+00', '{"1": 4}', '2100-01-01 00:00:20+00'),
          '{"1": 7, "2": 5}'::jsonb, 'a second instance adds its own counts; totals cover every key of the window');
SELECT is(tgx.rate_limit_sync('a', '2100-01-01 00:00+00', '{"1": 1, "3": 0}', '2100-01-01 00:00:30+00'),
          '{"1": 8, "2": 5}'::jsonb, 'an instance adds to its own row; zero deltas write nothing');
SELECT is(tgx.rate_limit_sync('c', '2100-01-01 00:00+00', '{}', '2100-01-01 00:00:40+00'),
          '{"1": 8, "2": 5}'::jsonb, 'empty deltas only read');
SELECT is(tgx.rate_limit_sync('c', '2100-01-01 00:01+00', '{}', '2100-01-01 00:01:00+00'),
          '{}'::jsonb, 'another window has its own totals');
SELECT is((SELECT count(*) FROM tgx.rate_limit_counters WHERE window_start = '2100-01-01 00:00+00' AND key_id = 1),
          2::bigint, 'one row per (window, key, instance)');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('a', '2100-01-01', '{"x": 1}')$$, '22023', NULL,
                 'a key that is not a decimal id is refused');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('a', '2100-01-01', '{"1": -1}')$$, '22023', NULL,
                 'a negative count is refused');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('a', '2100-01-01', '{"1": 2.5}')$$, '22023', NULL,
                 'a fractional count is refused');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('a', '2100-01-01', '[1]')$$, '22023', NULL,
                 'deltas must be an object');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('', '2100-01-01', '{}')$$, '22023', NULL,
                 'an empty instance id is refused');
SELECT throws_ok($$SELECT tgx.rate_limit_sync('a', NULL, '{}')$$, '22023', NULL, 'a NULL window is refused');
SELECT is(tgx.rate_limit_sync('a', '2100-01-01 00:06+00', '{}', '2100-01-01 00:06:00+00'), '{}'::jsonb,
          'a call six minutes later');
SELECT is((SELECT count(*) FROM tgx.rate_limit_counters WHERE window_start < '2100-01-01 00:01+00'), 0::bigint,
          'windows older than five minutes are pruned');

-- the task feed
SELECT is((SELECT count(*)::int FROM pg_trigger t
            WHERE t.tgrelid = 'tgx.tasks'::regclass AND t.tgname IN ('tasks_feed_insert', 'tasks_feed_update')),
          2, 'the statement-level feed triggers are installed on tgx.tasks');
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
            WHERE p.pronamespace = 'tgx'::regnamespace
              AND p.prosrc LIKE '%pg_notify(''tgx_task_changed'', '''')%'),
          NULL, 'no function sends a payload-less tgx_task_changed any more');

SELECT * FROM finish();
ROLLBACK;
