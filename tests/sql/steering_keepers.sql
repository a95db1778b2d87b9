-- steering_keepers.sql: tgx.drain_keeper, tgx.undrain_keeper, tgx.set_keeper_online, tgx.whitelist_keeper:
-- effects, audit rows, refusals.  Fixture ids 43xxx; every time is explicit (2030).
BEGIN;
SELECT plan(46);

-- fixture: keepers a (online, whitelisted), b (online, whitelisted), c (online, not whitelisted);
-- job 43001; on a: task 1 assigned (attempt 1 open), task 2 running; on b: task 3 assigned
INSERT INTO tgx.users (user_address) VALUES ('0x4300000000000000000000000000000000000001');
INSERT INTO tgx.keepers (keeper_address, online, whitelisted, last_checked_in)
VALUES ('0x43000000000000000000000000000000000000aa', true, true, '2030-02-01 00:00:00+00'),
       ('0x43000000000000000000000000000000000000bb', true, true, '2030-02-01 00:00:00+00'),
       ('0x43000000000000000000000000000000000000cc', true, false, '2030-02-01 00:00:00+00');
CREATE TEMP TABLE k AS
SELECT (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x43000000000000000000000000000000000000aa') AS a,
       (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x43000000000000000000000000000000000000bb') AS b,
       (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x43000000000000000000000000000000000000cc') AS c;
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, created_at, expiration_time)
SELECT 43001, 'keepers', 1, user_id, 86400, '1', '1', '0x43000000000000000000000000000000000000ff',
       '2030-01-01 00:00:00+00', '2031-01-01 00:00:00+00'
  FROM tgx.users WHERE user_address = '0x4300000000000000000000000000000000000001';
INSERT INTO tgx.tasks (job_id, task_definition_id, task_number, state, scheduled_for, due_at, keeper_id,
                       lease_until, lease_epoch, attempt, started_at)
SELECT 43001, 1, v.n, v.state::tgx.task_state, '2030-02-01 00:00:00+00', '2030-02-01 00:00:00+00',
       CASE v.keeper WHEN 'a' THEN k.a ELSE k.b END, '2030-02-01 00:10:00+00', 1, 1,
       CASE WHEN v.state = 'running' THEN '2030-02-01 00:00:05+00'::timestamptz END
  FROM k, (VALUES (1, 'assigned', 'a'), (2, 'running', 'a'), (3, 'assigned', 'b')) AS v (n, state, keeper);
CREATE TEMP TABLE t AS SELECT task_number AS n, task_id AS id FROM tgx.tasks WHERE job_id = 43001;
INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at, started_at)
SELECT t.id, 1, CASE WHEN t.n = 3 THEN k.b ELSE k.a END, 1, '2030-02-01 00:00:00+00',
       CASE WHEN t.n = 2 THEN '2030-02-01 00:00:05+00'::timestamptz END
  FROM t, k;

------------------------------------------------------------------------------
-- drain_keeper, undrain_keeper
------------------------------------------------------------------------------

SELECT is(tgx.drain_keeper((SELECT a FROM k), 'kernel upgrade', '2030-02-01 00:01:00+00'), 1,
          'drain_keeper returns how many assigned tasks went back to dispatch');
SELECT is((SELECT draining FROM tgx.keepers WHERE keeper_id = (SELECT a FROM k)), true,
          'drain_keeper: the keeper is draining');
SELECT is((SELECT state::text || '|' || coalesce(keeper_id::text, 'none') || '|' || lease_epoch || '|'
                  || uncounted_attempts || '|' || due_at
             FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)),
          'pending|none|2|1|2030-02-01 00:00:00+00',
          'drain_keeper: its assigned task is pending again, epoch bumped, attempt refunded, place kept');
SELECT is((SELECT lease_until FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)), NULL,
          'drain_keeper: the ack deadline is cleared');
SELECT is((SELECT outcome || '|' || ended_at FROM tgx.task_attempts WHERE task_id = (SELECT id FROM t WHERE n = 1)),
          'cancelled|2030-02-01 00:01:00+00', 'drain_keeper closes the attempt as cancelled');
SELECT is((SELECT state::text || '|' || keeper_id FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 2)),
          'running|' || (SELECT a FROM k), 'drain_keeper lets a running task finish');
SELECT is((SELECT ended_at FROM tgx.task_attempts WHERE task_id = (SELECT id FROM t WHERE n = 2)), NULL,
          'drain_keeper leaves the running attempt open');
SELECT is((SELECT actor || '|' || object_type || '|' || reason FROM tgx.audit_log
            WHERE action = 'drain_keeper' AND object_id = (SELECT a FROM k)::text),
          session_user || '|keeper|kernel upgrade', 'drain_keeper audit: actor, object type, reason');
SELECT is((SELECT old_value FROM tgx.audit_log WHERE action = 'drain_keeper' AND object_id = (SELECT a FROM k)::text),
          '{"draining": false}'::jsonb, 'drain_keeper audit: old value');
SELECT is((SELECT new_value FROM tgx.audit_log WHERE action = 'drain_keeper' AND object_id = (SELECT a FROM k)::text),
          jsonb_build_object('draining', true, 'requeued_task_ids', jsonb_build_array((SELECT id FROM t WHERE n = 1))),
          'drain_keeper audit: new value lists the requeued tasks');

SELECT throws_ok(format($$SELECT tgx.drain_keeper(%s, 'x')$$, (SELECT a FROM k)), '55000',
                 format('cannot drain keeper %s: it is already draining', (SELECT a FROM k)),
                 'drain_keeper refuses a draining keeper');
SELECT throws_ok($$SELECT tgx.drain_keeper(-1, 'x')$$, 'P0002', 'keeper -1 does not exist',
                 'drain_keeper refuses an unknown keeper');
SELECT throws_ok($$SELECT tgx.drain_keeper(NULL, 'x')$$, '22023', 'keeper_id must not be null',
                 'drain_keeper refuses a NULL keeper id');
SELECT throws_ok(format($$SELECT tgx.drain_keeper(%s, '')$$, (SELECT b FROM k)), '22023',
                 'a reason is required for drain_keeper', 'drain_keeper refuses an empty reason');

SELECT lives_ok(format($$SELECT tgx.undrain_keeper(%s, 'upgrade done', '2030-02-01 00:30:00+00')$$,
                       (SELECT a FROM k)),
                'undrain_keeper ends a drain');
SELECT is((SELECT draining FROM tgx.keepers WHERE keeper_id = (SELECT a FROM k)), false,
          'undrain_keeper: the keeper is not draining');
SELECT is((SELECT old_value || new_value FROM tgx.audit_log
            WHERE action = 'undrain_keeper' AND object_id = (SELECT a FROM k)::text AND reason = 'upgrade done'
              AND actor = session_user),
          '{"draining": false, "at": "2030-02-01T00:30:00+00:00"}'::jsonb,
          'undrain_keeper audit: actor, reason, old and new value');
SELECT throws_ok(format($$SELECT tgx.undrain_keeper(%s, 'x')$$, (SELECT a FROM k)), '55000',
                 format('cannot undrain keeper %s: it is not draining', (SELECT a FROM k)),
                 'undrain_keeper refuses a keeper that is not draining');
SELECT throws_ok($$SELECT tgx.undrain_keeper(-1, 'x')$$, 'P0002', 'keeper -1 does not exist',
                 'undrain_keeper refuses an unknown keeper');

------------------------------------------------------------------------------
-- set_keeper_online
------------------------------------------------------------------------------

SELECT is(tgx.set_keeper_online((SELECT b FROM k), false, 'host is unreachable', '2030-02-01 00:02:00+00'), 1,
          'set_keeper_online(false) returns how many assigned tasks went back to dispatch');
SELECT is((SELECT online::text || '|' || offline_since FROM tgx.keepers WHERE keeper_id = (SELECT b FROM k)),
          'false|2030-02-01 00:02:00+00', 'set_keeper_online(false): offline since i_now');
SELECT is((SELECT state::text || '|' || coalesce(keeper_id::text, 'none') FROM tgx.tasks
            WHERE task_id = (SELECT id FROM t WHERE n = 3)),
          'pending|none', 'set_keeper_online(false): its assigned task is pending again');
SELECT is((SELECT outcome FROM tgx.task_attempts WHERE task_id = (SELECT id FROM t WHERE n = 3)), 'keeper_offline',
          'set_keeper_online(false) closes the attempt as keeper_offline');
SELECT is((SELECT old_value FROM tgx.audit_log
            WHERE action = 'set_keeper_online' AND object_id = (SELECT b FROM k)::text),
          '{"online": true, "offline_since": null}'::jsonb, 'set_keeper_online audit: old value');
SELECT is((SELECT new_value FROM tgx.audit_log
            WHERE action = 'set_keeper_online' AND object_id = (SELECT b FROM k)::text),
          jsonb_build_object('online', false, 'offline_since', '2030-02-01T00:02:00+00:00',
                             'requeued_task_ids', jsonb_build_array((SELECT id FROM t WHERE n = 3))),
          'set_keeper_online audit: new value');
SELECT is((SELECT actor || '|' || reason FROM tgx.audit_log
            WHERE action = 'set_keeper_online' AND object_id = (SELECT b FROM k)::text),
          session_user || '|host is unreachable', 'set_keeper_online audit: actor and reason');

SELECT throws_ok(format($$SELECT tgx.set_keeper_online(%s, false, 'x')$$, (SELECT b FROM k)), '55000',
                 format('cannot set keeper %s offline: it is already offline', (SELECT b FROM k)),
                 'set_keeper_online refuses to set an offline keeper offline');
SELECT is(tgx.set_keeper_online((SELECT b FROM k), true, 'host is back', '2030-02-01 00:03:00+00'), 0,
          'set_keeper_online(true) sends nothing back');
SELECT is((SELECT online::text || '|' || coalesce(offline_since::text, 'none') FROM tgx.keepers
            WHERE keeper_id = (SELECT b FROM k)),
          'true|none', 'set_keeper_online(true): online, offline_since cleared');
SELECT throws_ok(format($$SELECT tgx.set_keeper_online(%s, true, 'x')$$, (SELECT b FROM k)), '55000',
                 format('cannot set keeper %s online: it is already online', (SELECT b FROM k)),
                 'set_keeper_online refuses to set an online keeper online');
SELECT throws_ok(format($$SELECT tgx.set_keeper_online(%s, NULL, 'x')$$, (SELECT b FROM k)), '22023',
                 'online must not be null', 'set_keeper_online refuses a NULL flag');
SELECT throws_ok($$SELECT tgx.set_keeper_online(-1, true, 'x')$$, 'P0002', 'keeper -1 does not exist',
                 'set_keeper_online refuses an unknown keeper');
SELECT throws_ok(format($$SELECT tgx.set_keeper_online(%s, false, NULL)$$, (SELECT b FROM k)), '22023',
                 'a reason is required for set_keeper_online', 'set_keeper_online refuses a NULL reason');

------------------------------------------------------------------------------
-- whitelist_keeper
------------------------------------------------------------------------------

SELECT is(tgx.whitelist_keeper(' 0x43000000000000000000000000000000000000CC ', 'passed review',
                               i_now => '2030-02-01 00:04:00+00'), 0,
          'whitelist_keeper accepts a checksummed, padded address');
SELECT is((SELECT whitelisted FROM tgx.keepers WHERE keeper_id = (SELECT c FROM k)), true,
          'whitelist_keeper: the keeper is whitelisted');
SELECT is((SELECT actor || '|' || object_type || '|' || reason FROM tgx.audit_log
            WHERE action = 'whitelist_keeper' AND object_id = (SELECT c FROM k)::text),
          session_user || '|keeper|passed review', 'whitelist_keeper audit: actor, object (keeper id), reason');
SELECT is((SELECT old_value || new_value FROM tgx.audit_log
            WHERE action = 'whitelist_keeper' AND object_id = (SELECT c FROM k)::text),
          '{"keeper_address": "0x43000000000000000000000000000000000000cc", "whitelisted": true,
            "requeued_task_ids": []}'::jsonb,
          'whitelist_keeper audit: new value');
SELECT is((SELECT old_value ->> 'whitelisted' FROM tgx.audit_log
            WHERE action = 'whitelist_keeper' AND object_id = (SELECT c FROM k)::text),
          'false', 'whitelist_keeper audit: old value');
SELECT throws_ok($$SELECT tgx.whitelist_keeper('0x43000000000000000000000000000000000000cc', 'x')$$, '55000',
                 'cannot whitelist keeper 0x43000000000000000000000000000000000000cc: it is already whitelisted',
                 'whitelist_keeper refuses a whitelisted keeper');

-- removing a keeper from the whitelist takes its assigned work back
UPDATE tgx.tasks SET state = 'assigned', keeper_id = (SELECT c FROM k), lease_until = '2030-02-01 00:10:00+00'
 WHERE task_id = (SELECT id FROM t WHERE n = 1);
SELECT is(tgx.whitelist_keeper('0x43000000000000000000000000000000000000cc', 'misbehaved', false,
                               '2030-02-01 00:05:00+00'), 1,
          'whitelist_keeper(false) sends the keeper''s assigned tasks back to dispatch');
SELECT is((SELECT whitelisted FROM tgx.keepers WHERE keeper_id = (SELECT c FROM k)), false,
          'whitelist_keeper(false): the keeper is no longer whitelisted');
SELECT is((SELECT state FROM tgx.tasks WHERE task_id = (SELECT id FROM t WHERE n = 1)), 'pending'::tgx.task_state,
          'whitelist_keeper(false): the task is pending again');
SELECT throws_ok($$SELECT tgx.whitelist_keeper('0x43000000000000000000000000000000000000cc', 'x', false)$$, '55000',
                 'cannot remove keeper 0x43000000000000000000000000000000000000cc from the whitelist: it is not whitelisted',
                 'whitelist_keeper(false) refuses a keeper that is not whitelisted');
SELECT throws_ok($$SELECT tgx.whitelist_keeper('0x43000000000000000000000000000000000000dd', 'x')$$, 'P0002',
                 'keeper 0x43000000000000000000000000000000000000dd does not exist',
                 'whitelist_keeper refuses an unknown keeper');
SELECT throws_ok($$SELECT tgx.whitelist_keeper('nope', 'x')$$, '22023', 'invalid keeper address "nope"',
                 'whitelist_keeper refuses a malformed address');
SELECT throws_ok($$SELECT tgx.whitelist_keeper('0x43000000000000000000000000000000000000cc', '')$$, '22023',
                 'a reason is required for whitelist_keeper', 'whitelist_keeper refuses an empty reason');

SELECT * FROM finish();
ROLLBACK;
