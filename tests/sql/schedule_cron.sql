-- schedule_cron.sql: the cron grammar, its rejection messages, the day-of-month/day-of-week
-- rule, leap days, months without a 31st, and unknown zones.  Instants are explicit UTC.
BEGIN;
SELECT plan(60);

-- Grammar: lists, ranges, steps ------------------------------------------------------------

SELECT is(tgx.cron_next('*/15 * * * *', '2025-06-01 10:07Z'), '2025-06-01 10:15Z'::timestamptz, 'step */15');
SELECT is(tgx.cron_next('5,35 * * * *', '2025-06-01 10:07Z'), '2025-06-01 10:35Z'::timestamptz, 'list 5,35');
SELECT is(tgx.cron_next('10-12 * * * *', '2025-06-01 10:11Z'), '2025-06-01 10:12Z'::timestamptz, 'range 10-12');
SELECT is(tgx.cron_next('10-12 * * * *', '2025-06-01 10:12Z'), '2025-06-01 11:10Z'::timestamptz,
          'range 10-12 wraps to the next hour');
SELECT is(tgx.cron_next('0 8-18/5 * * *', '2025-06-01 13:00Z'), '2025-06-01 18:00Z'::timestamptz,
          'range with step 8-18/5 = 8,13,18');
SELECT is(tgx.cron_next('5/20 * * * *', '2025-06-01 10:26Z'), '2025-06-01 10:45Z'::timestamptz,
          'n/step means n-max/step (5,25,45)');
SELECT is(tgx.cron_next('0,30 9,17 * * *', '2025-06-01 17:30Z'), '2025-06-02 09:00Z'::timestamptz,
          'lists in two fields roll over to the next day');
SELECT is(tgx.cron_next('*/15 * * * *', '2025-06-01 10:15Z'), '2025-06-01 10:30Z'::timestamptz,
          'strictly after: an instant on the grid is not returned');
SELECT is(tgx.cron_next('*/15 * * * *', '2025-06-01 10:14:59.999Z'), '2025-06-01 10:15Z'::timestamptz,
          'sub-second instants round up to the next minute');
SELECT is(tgx.cron_next('59 23 31 12 *', '2025-12-31 23:59Z'), '2026-12-31 23:59Z'::timestamptz,
          'last minute of the year rolls over to the next year');

-- Names, 0 and 7 = Sunday -----------------------------------------------------------------

SELECT is(tgx.cron_next('0 9 * * mon-fri', '2025-06-06 10:00Z'), '2025-06-09 09:00Z'::timestamptz,
          'weekday names: Friday evening -> Monday');
SELECT is(tgx.cron_next('0 9 * * MON-FRI', '2025-06-06 10:00Z'), '2025-06-09 09:00Z'::timestamptz,
          'names are case-insensitive');
SELECT is(tgx.cron_next('0 0 1 jan,jul *', '2025-02-01 00:00Z'), '2025-07-01 00:00Z'::timestamptz, 'month names');
SELECT is(tgx.cron_next('0 0 1 feb-apr/2 *', '2025-02-01 00:00Z'), '2025-04-01 00:00Z'::timestamptz,
          'month name range with step');
SELECT is(tgx.cron_next('0 12 * * 0', '2025-06-01 13:00Z'), '2025-06-08 12:00Z'::timestamptz, '0 is Sunday');
SELECT is(tgx.cron_next('0 12 * * 7', '2025-06-01 13:00Z'), '2025-06-08 12:00Z'::timestamptz, '7 is Sunday');
SELECT is(tgx.cron_next('0 12 * * sun', '2025-06-01 11:00Z'), '2025-06-01 12:00Z'::timestamptz, 'sun is Sunday');
SELECT is(tgx.cron_next('0 12 * * 5-7', '2025-06-01 13:00Z'), '2025-06-06 12:00Z'::timestamptz,
          'range 5-7 covers Friday to Sunday');

-- Macros ------------------------------------------------------------------------------------

SELECT is(tgx.cron_next('@yearly', '2025-06-01 00:00Z'), '2026-01-01 00:00Z'::timestamptz, '@yearly');
SELECT is(tgx.cron_next('@annually', '2025-06-01 00:00Z'), '2026-01-01 00:00Z'::timestamptz, '@annually');
SELECT is(tgx.cron_next('@monthly', '2025-06-01 00:00Z'), '2025-07-01 00:00Z'::timestamptz, '@monthly');
SELECT is(tgx.cron_next('@weekly', '2025-06-01 00:00Z'), '2025-06-08 00:00Z'::timestamptz, '@weekly is Sunday midnight');
SELECT is(tgx.cron_next('@daily', '2025-06-01 00:00Z'), '2025-06-02 00:00Z'::timestamptz, '@daily');
SELECT is(tgx.cron_next('@midnight', '2025-06-01 12:00Z'), '2025-06-02 00:00Z'::timestamptz, '@midnight');
SELECT is(tgx.cron_next(' @HOURLY ', '2025-06-01 10:30Z'), '2025-06-01 11:00Z'::timestamptz,
          '@hourly (trimmed, case-insensitive)');

-- Day of month / day of week (Vixie) --------------------------------------------------------

-- 2025-06-01 is a Sunday
SELECT is(tgx.cron_next('0 0 13 * 5', '2025-06-01 00:00Z'), '2025-06-06 00:00Z'::timestamptz,
          'both day fields restricted: the 13th OR a Friday (first Friday)');
SELECT is(tgx.cron_next('0 0 13 * 5', '2025-06-10 00:00Z'), '2025-06-13 00:00Z'::timestamptz,
          'both restricted: the 13th matches by day of month');
SELECT is(tgx.cron_next('0 0 12 * 5', '2025-06-07 00:00Z'), '2025-06-12 00:00Z'::timestamptz,
          'both restricted: Thursday the 12th matches by day of month alone');
SELECT is(tgx.cron_next('0 0 */10 * 5', '2025-06-01 00:00Z'), '2025-07-11 00:00Z'::timestamptz,
          'day of month starting with *: both must match (1,11,21,31 AND Friday)');
SELECT is(tgx.cron_next('0 0 1 * */2', '2025-06-01 00:00Z'), '2025-07-01 00:00Z'::timestamptz,
          'day of week starting with *: both must match (the 1st AND Sun/Tue/Thu/Sat)');
SELECT is(tgx.cron_next('0 0 * * 1', '2025-06-01 00:00Z'), '2025-06-02 00:00Z'::timestamptz,
          'only day of week restricted');

-- Leap days, months without a 31st ----------------------------------------------------------

SELECT is(tgx.cron_next('0 0 29 2 *', '2025-03-01 00:00Z'), '2028-02-29 00:00Z'::timestamptz,
          'Feb 29 fires on the next leap day');
SELECT is(tgx.cron_next('0 0 29 2 *', '2096-03-01 00:00Z'), '2104-02-29 00:00Z'::timestamptz,
          '2100 is not a leap year');
SELECT is(tgx.cron_next('0 0 31 * *', '2025-04-01 00:00Z'), '2025-05-31 00:00Z'::timestamptz,
          'the 31st skips April');
SELECT is(tgx.cron_next('0 0 31 * *', '2025-01-31 01:00Z'), '2025-03-31 00:00Z'::timestamptz,
          'the 31st skips February');
SELECT is(tgx.cron_next('0 0 30 * *', '2025-01-30 01:00Z'), '2025-03-30 00:00Z'::timestamptz,
          'the 30th skips February');

-- Rejections: SQLSTATE 22023 and a message naming the problem, one per line -----------------

SELECT throws_ok($$SELECT tgx.cron_validate('61 * * * *')$$, '22023',
    'invalid cron expression "61 * * * *": minute 61 is out of range 0-59', 'minute out of range');
SELECT throws_ok($$SELECT tgx.cron_validate('0 24 * * *')$$, '22023',
    'invalid cron expression "0 24 * * *": hour 24 is out of range 0-23', 'hour out of range');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 32 * *')$$, '22023',
    'invalid cron expression "0 0 32 * *": day of month 32 is out of range 1-31', 'day of month out of range');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 0 * *')$$, '22023',
    'invalid cron expression "0 0 0 * *": day of month 0 is out of range 1-31', 'day of month 0');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 * 13 *')$$, '22023',
    'invalid cron expression "0 0 * 13 *": month 13 is out of range 1-12', 'month out of range');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 * * 8')$$, '22023',
    'invalid cron expression "0 0 * * 8": day of week 8 is out of range 0-7', 'day of week out of range');
SELECT throws_ok($$SELECT tgx.cron_validate('* * * *')$$, '22023',
    'invalid cron expression "* * * *": expected 5 fields, found 4', 'four fields');
SELECT throws_ok($$SELECT tgx.cron_validate('0 * * * * *')$$, '22023',
    'invalid cron expression "0 * * * * *": expected 5 fields, found 6', 'six fields (no seconds field)');
SELECT throws_ok($$SELECT tgx.cron_validate('')$$, '22023',
    'invalid cron expression "": expected 5 fields, found 0', 'empty expression');
SELECT throws_ok($$SELECT tgx.cron_validate(NULL)$$, '22023', 'a cron expression is required', 'NULL expression');
SELECT throws_ok($$SELECT tgx.cron_validate('*/0 * * * *')$$, '22023',
    'invalid cron expression "*/0 * * * *": minute step 0 is out of range 1-60', 'step 0');
SELECT throws_ok($$SELECT tgx.cron_validate('30-10 * * * *')$$, '22023',
    'invalid cron expression "30-10 * * * *": minute range 30-10 is backwards', 'backwards range');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 * foo *')$$, '22023',
    'invalid cron expression "0 0 * foo *": month "foo" is neither a number nor a month name', 'unknown month name');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 * * funday')$$, '22023',
    'invalid cron expression "0 0 * * funday": day of week "funday" is neither a number nor a day of week name',
    'unknown weekday name');
SELECT throws_ok($$SELECT tgx.cron_validate('x * * * *')$$, '22023',
    'invalid cron expression "x * * * *": minute "x" is not a number', 'word in a numeric field');
SELECT throws_ok($$SELECT tgx.cron_validate('1,,2 * * * *')$$, '22023',
    'invalid cron expression "1,,2 * * * *": empty list element in minute field "1,,2"', 'empty list element');
SELECT throws_ok($$SELECT tgx.cron_validate('1-2-3 * * * *')$$, '22023',
    'invalid cron expression "1-2-3 * * * *": cannot parse minute field "1-2-3"', 'malformed range');
SELECT throws_ok($$SELECT tgx.cron_validate('@reboot')$$, '22023',
    'invalid cron expression "@reboot": unknown macro "@reboot"', 'unknown macro');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 31 2 *')$$, '22023',
    'cron expression "0 0 31 2 *" can never fire: day 31 does not exist in February', 'never fires: Feb 31');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 30,31 2 *')$$, '22023',
    'cron expression "0 0 30,31 2 *" can never fire: days 30,31 do not exist in February', 'never fires: Feb 30/31');
SELECT throws_ok($$SELECT tgx.cron_validate('0 0 31 4,6,9,11 *')$$, '22023',
    'cron expression "0 0 31 4,6,9,11 *" can never fire: day 31 does not exist in April, June, September or November',
    'never fires: 31st of 30-day months');
SELECT lives_ok($$SELECT tgx.cron_validate('0 0 31 2 mon')$$,
    'day 31 of February with a restricted weekday still fires (on Mondays of February)');

-- Zones and policies --------------------------------------------------------------------------

SELECT throws_ok($$SELECT tgx.cron_next('* * * * *', '2025-06-01 00:00Z', 'Mars/Base')$$, '22023',
    'unknown time zone "Mars/Base"', 'unknown zone rejected');
SELECT throws_ok($$SELECT tgx.cron_next('* * * * *', '2025-06-01 00:00Z', 'UTC', 'later')$$, '22023',
    'invalid dst_gap "later"', 'unknown dst_gap policy rejected');

SELECT * FROM finish();
ROLLBACK;
