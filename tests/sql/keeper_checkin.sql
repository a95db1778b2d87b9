-- keeper_checkin.sql: tgx.register_keeper and tgx.keeper_checkin: idempotent registration,
-- refusals, online flag, uptime accumulation, check-in history.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(22);

-- registration
SELECT tgx.register_keeper('0x303' || repeat('AB', 18) || 'C', 'alpha', 'ops@example.org', pg_temp.t(0)) AS ka \gset
SELECT is(tgx.register_keeper('0x303' || repeat('ab', 18) || 'c', '', NULL, pg_temp.t(5)), :ka::bigint,
          'registering the same address again (any case) returns the same keeper_id');
SELECT is(keeper_address::text, '0x303' || repeat('ab', 18) || 'c', 'the address is stored lower-case')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT is((keeper_name, email_id, whitelisted, online), ('alpha'::text, 'ops@example.org'::text, false, false),
          'a new keeper is not whitelisted and offline; an empty name on re-registration keeps the old one')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT tgx.register_keeper('0x303' || repeat('ab', 18) || 'c', 'alpha-2', NULL, pg_temp.t(6));
SELECT is(keeper_name, 'alpha-2', 're-registration with a name renames the keeper') FROM tgx.keepers WHERE keeper_id = :ka;
SELECT throws_ok($$SELECT tgx.register_keeper('0x1234', 'x')$$, '22023', 'invalid keeper_address "0x1234"',
                 'a malformed address is refused');
SELECT throws_ok($$SELECT tgx.register_keeper('0x303' || repeat('0', 37), 'x', 'not-an-email')$$, '22023',
                 'invalid email_id "not-an-email"', 'a malformed e-mail address is refused');

-- check-in
SELECT throws_ok($$SELECT tgx.keeper_checkin(-1)$$, 'P0002', 'keeper -1 does not exist',
                 'check-in of an unknown keeper');
SELECT throws_ok(format('SELECT tgx.keeper_checkin(%s, NULL, -5)', :ka), '22023', 'invalid uptime -5',
                 'a negative uptime is refused');
SELECT lives_ok(format('SELECT tgx.keeper_checkin(%s, %L, 10, %L)', :ka, 'v1.0', pg_temp.t(0)), 'first check-in');
SELECT is((online, last_checked_in, uptime, version, offline_since), (true, pg_temp.t(0), 0::bigint, 'v1.0'::text, NULL::timestamptz),
          'the first check-in makes the keeper online, with no uptime yet')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT tgx.keeper_checkin(:ka, NULL, 70, pg_temp.t(60));
SELECT is(uptime, 60::bigint, 'a check-in while online adds the seconds since the previous one')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT is(version, 'v1.0', 'a check-in without a version keeps the stored one') FROM tgx.keepers WHERE keeper_id = :ka;
SELECT tgx.keeper_checkin(:ka, 'v1.1', 135, pg_temp.t(125.7));
SELECT is(uptime, 125::bigint, 'uptime counts whole seconds (60 + 65)') FROM tgx.keepers WHERE keeper_id = :ka;
SELECT is(version, 'v1.1', 'the version is updated') FROM tgx.keepers WHERE keeper_id = :ka;

-- offline for a while (the sweep marks it), then back: the offline time does not count
SELECT is(tgx.sweep_keepers(pg_temp.t(300)), 1, 'the sweep marks the silent keeper offline');
SELECT is((online, offline_since), (false, pg_temp.t(300)), 'offline since the sweep')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT tgx.keeper_checkin(:ka, NULL, NULL, pg_temp.t(1000));
SELECT is((online, uptime, offline_since, offline_alerted), (true, 125::bigint, NULL::timestamptz, false),
          'coming back online does not add the offline time, and clears offline_since')
  FROM tgx.keepers WHERE keeper_id = :ka;
SELECT tgx.keeper_checkin(:ka, NULL, NULL, pg_temp.t(1030));
SELECT is(uptime, 155::bigint, 'uptime accumulates again once online') FROM tgx.keepers WHERE keeper_id = :ka;

-- the history
SELECT results_eq(format('SELECT checked_in_at, version, uptime FROM tgx.keeper_checkins WHERE keeper_id = %s ORDER BY 1', :ka),
                  format($$VALUES (%L::timestamptz, 'v1.0'::text, 10::bigint), (%L, NULL, 70), (%L, 'v1.1', 135),
                                  (%L, NULL, NULL), (%L, NULL, NULL)$$,
                         pg_temp.t(0), pg_temp.t(60), pg_temp.t(125.7), pg_temp.t(1000), pg_temp.t(1030)),
                  'every check-in is kept in tgx.keeper_checkins');
SELECT lives_ok(format('SELECT tgx.keeper_checkin(%s, %L, 1, %L)', :ka, 'v1.2', pg_temp.t(1030)),
                'two check-ins at the same instant do not fail');
SELECT is(count(*), 5::bigint, 'and keep one history row') FROM tgx.keeper_checkins WHERE keeper_id = :ka;
SELECT is(version, 'v1.2', 'the repeated check-in updates the row') FROM tgx.keeper_checkins
 WHERE keeper_id = :ka AND checked_in_at = pg_temp.t(1030);

SELECT * FROM finish();
ROLLBACK;
