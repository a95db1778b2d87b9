-- alerts_delivery.sql: the outbox delivery functions of the health role (sql/tgx.alerts.sql):
-- claim with a lease and SKIP LOCKED, one tgx.alert_deliveries row per channel tried, delivered
-- only when every configured channel accepted, retry with the given delay, give up after the
-- last attempt, stale records, and tgx.next_alert_due().
BEGIN;
SELECT plan(26);

CREATE FUNCTION pg_temp.t(i_s double precision DEFAULT 0) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$ SELECT '2030-04-04 00:00:00+00'::timestamptz + i_s * interval '1 second' $$;

-- a clean outbox (the test rolls back)
DELETE FROM tgx.alert_deliveries;
DELETE FROM tgx.alerts;
INSERT INTO tgx.alerts (kind, subject, payload, created_at, next_try_at)
VALUES ('task_dead', 'task 1 dead', '{"task_id": 1}', pg_temp.t(0), pg_temp.t(0)),
       ('keeper_offline', 'keeper 2 offline', '{"keeper_id": 2}', pg_temp.t(1), pg_temp.t(1)),
       ('job_failing', 'job 3 failing', '{}', pg_temp.t(2), pg_temp.t(100));
SELECT alert_id AS a1 FROM tgx.alerts WHERE subject = 'task 1 dead' \gset
SELECT alert_id AS a2 FROM tgx.alerts WHERE subject = 'keeper 2 offline' \gset
SELECT alert_id AS a3 FROM tgx.alerts WHERE subject = 'job 3 failing' \gset

SELECT is(tgx.next_alert_due(), pg_temp.t(0), 'next_alert_due: the earliest next_try_at');

-- bad input
SELECT throws_ok($$SELECT * FROM tgx.claim_alerts(0, '1 minute', 3)$$, '22023', NULL, 'batch 0 is refused');
SELECT throws_ok($$SELECT * FROM tgx.claim_alerts(1, '0 seconds', 3)$$, '22023', NULL, 'an empty lease is refused');
SELECT throws_ok($$SELECT * FROM tgx.claim_alerts(1, '1 minute', 0)$$, '22023', NULL, 'max attempts 0 is refused');
SELECT throws_ok($$SELECT tgx.record_alert_delivery(-1, 1, '{}', '{}', '{}', '{webhook}', 3, '1 second')$$,
                 'P0002', NULL, 'an unknown alert');
SELECT throws_ok(format($$SELECT tgx.record_alert_delivery(%s, 1, '{webhook}', '{}', '{}', '{webhook}', 3, '1 second')$$, :a1),
                 '22023', NULL, 'arrays of different lengths');

-- claim at t(5): the two due alerts, oldest first, leased for 60 s
SELECT results_eq(format($$SELECT alert_id, attempt, delivered_channels FROM tgx.claim_alerts(10, '60 seconds', 3, %L)$$, pg_temp.t(5)),
                  format($$VALUES (%s::bigint, 1, '{}'::text[]), (%s::bigint, 1, '{}'::text[])$$, :a1, :a2),
                  'the due alerts are claimed, attempt 1');
SELECT is((SELECT next_try_at FROM tgx.alerts WHERE alert_id = :a1), pg_temp.t(65), 'leased until t(65)');
SELECT is((SELECT count(*) FROM tgx.claim_alerts(10, '60 seconds', 3, pg_temp.t(6))), 0::bigint,
          'a leased alert is not claimed again');

-- a1: webhook ok, smtp failed -> retry in 2 s
SELECT is(tgx.record_alert_delivery(:a1, 1, '{webhook,smtp}', '{t,f}', '{"","connection refused"}',
                                    '{webhook,smtp}', 3, '2 seconds', pg_temp.t(7)),
          'retry', 'one channel failed: retry');
SELECT is((SELECT (next_try_at, attempts, delivered_at, last_error) FROM tgx.alerts WHERE alert_id = :a1),
          (pg_temp.t(9), 1, NULL::timestamptz, 'smtp: connection refused'::text), 'next try at t(9), the error kept');
SELECT results_eq(format('SELECT channel, ok, error FROM tgx.alert_deliveries WHERE alert_id = %s ORDER BY channel', :a1),
                  $$VALUES ('smtp'::text, false, 'connection refused'::text), ('webhook', true, NULL)$$,
                  'one delivery row per channel tried');
-- a2: both ok -> delivered
SELECT is(tgx.record_alert_delivery(:a2, 1, '{webhook,smtp}', '{t,t}', '{"",""}', '{webhook,smtp}', 3, '2 seconds',
                                    pg_temp.t(7)),
          'delivered', 'every channel accepted: delivered');
SELECT is((SELECT delivered_at FROM tgx.alerts WHERE alert_id = :a2), pg_temp.t(7), 'delivered_at set');
SELECT is(tgx.record_alert_delivery(:a2, 1, '{webhook}', '{t}', '{""}', '{webhook,smtp}', 3, '2 seconds', pg_temp.t(8)),
          'stale', 'a late record of a delivered alert is stale');

-- a1 again at t(10): webhook already accepted, so only smtp is left
SELECT results_eq(format($$SELECT alert_id, attempt, delivered_channels FROM tgx.claim_alerts(10, '60 seconds', 3, %L)$$, pg_temp.t(10)),
                  format($$VALUES (%s::bigint, 2, '{webhook}'::text[])$$, :a1),
                  'the retry is attempt 2 and says which channel already accepted it');
SELECT is(tgx.record_alert_delivery(:a1, 2, '{smtp}', '{f}', '{"timeout"}', '{webhook,smtp}', 3, '4 seconds',
                                    pg_temp.t(11)),
          'retry', 'attempt 2 fails');
SELECT is(tgx.record_alert_delivery(:a1, 1, '{smtp}', '{t}', '{""}', '{webhook,smtp}', 3, '4 seconds', pg_temp.t(11)),
          'stale', 'a record of an older attempt changes nothing but the history');
SELECT is((SELECT next_try_at FROM tgx.alerts WHERE alert_id = :a1), pg_temp.t(15), 'next try still at t(15)');
DELETE FROM tgx.alert_deliveries WHERE alert_id = :a1 AND attempted_at = pg_temp.t(11) AND ok;
SELECT is((SELECT attempt FROM tgx.claim_alerts(10, '60 seconds', 3, pg_temp.t(15))), 3, 'attempt 3');
SELECT is(tgx.record_alert_delivery(:a1, 3, '{smtp}', '{f}', '{"timeout"}', '{webhook,smtp}', 3, '8 seconds',
                                    pg_temp.t(16)),
          'given_up', 'the last attempt fails: given up');
SELECT is((SELECT (given_up_at, delivered_at) FROM tgx.alerts WHERE alert_id = :a1),
          (pg_temp.t(16), NULL::timestamptz), 'given_up_at set, never delivered');
SELECT is((SELECT count(*) FROM tgx.alert_deliveries WHERE alert_id = :a1), 4::bigint,
          'every attempt on every channel is recorded');

-- a deliverer that dies: the lease ends, and the attempts run out at claim time
UPDATE tgx.alerts SET attempts = 3, next_try_at = pg_temp.t(100) WHERE alert_id = :a3;
SELECT is((SELECT count(*) FROM tgx.claim_alerts(10, '60 seconds', 3, pg_temp.t(100))), 0::bigint,
          'an alert whose attempts are used up is not claimed');
SELECT is((SELECT (given_up_at, last_error) FROM tgx.alerts WHERE alert_id = :a3),
          (pg_temp.t(100), 'attempts used up'::text), 'it is given up');
SELECT is(tgx.next_alert_due(), NULL::timestamptz, 'nothing left to deliver');

SELECT * FROM finish();
ROLLBACK;
