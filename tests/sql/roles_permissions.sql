-- roles_permissions.sql: what each role may do, tried as a login role of that role.
-- Login roles t45_* are created inside the test transaction (and vanish with its rollback);
-- SET SESSION AUTHORIZATION makes them the session user, so audit rows name them.
-- Every refused call is 42501 (insufficient_privilege).  Fixture ids 45xxx.
BEGIN;
SELECT plan(67);

CREATE ROLE t45_reader LOGIN IN ROLE tgx_reader;
CREATE ROLE t45_operator LOGIN IN ROLE tgx_operator;
CREATE ROLE t45_app LOGIN IN ROLE tgx_app;
CREATE ROLE t45_nobody LOGIN;

INSERT INTO tgx.users (user_address) VALUES ('0x4500000000000000000000000000000000000001');
INSERT INTO tgx.keepers (keeper_address, online, whitelisted)
VALUES ('0x45000000000000000000000000000000000000aa', true, true);
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, created_at, expiration_time)
SELECT v.job_id, 'roles', 3, user_id, 86400, '1', '1', '0x45000000000000000000000000000000000000ff',
       '2030-01-01 00:00:00+00', '2031-01-01 00:00:00+00'
  FROM tgx.users, (VALUES (45001), (45002)) AS v (job_id)
 WHERE user_address = '0x4500000000000000000000000000000000000001';
INSERT INTO tgx.tasks (job_id, task_definition_id, task_number, state, scheduled_for, due_at, attempt,
                       finished_at, task_error)
VALUES (45001, 3, 1, 'dead', '2030-02-01 00:00:00+00', '2030-02-01 00:00:00+00', 3, '2030-02-01 00:01:00+00',
        'execution reverted'),
       (45001, 3, 2, 'dead', '2030-02-01 00:00:00+00', '2030-02-01 00:00:00+00', 3, '2030-02-01 00:01:00+00',
        'execution reverted');
INSERT INTO tgx.api_keys (key_hash, key_hint, owner)
VALUES (sha256('TGRX-roles-test-key'), 'TGRX****-key', 'roles test');
CREATE TEMP TABLE ids AS
SELECT (SELECT task_id FROM tgx.tasks WHERE job_id = 45001 AND task_number = 1) AS task_id,
       (SELECT keeper_id FROM tgx.keepers WHERE keeper_address = '0x45000000000000000000000000000000000000aa')
           AS keeper_id;
GRANT SELECT ON ids TO PUBLIC;

-- the functions of the life cycle, by name (those not loaded are skipped)
CREATE TEMP TABLE life_cycle AS
SELECT p.oid::regprocedure AS fn
  FROM pg_proc p
 WHERE p.pronamespace = 'tgx'::regnamespace
   AND p.proname IN ('register_keeper', 'keeper_checkin', 'sweep_keepers', 'dispatch_tasks', 'keeper_take',
                     'submit_result', 'submit_results', 'fail_task', 'expire_leases', 'submit_attestation',
                     'expire_attestations', 'next_queue_deadline', 'fire_due_schedules', 'next_schedule_due');
GRANT SELECT ON life_cycle TO PUBLIC;

------------------------------------------------------------------------------
-- tgx_reader: reads views and tables, nothing else
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION t45_reader;
SELECT lives_ok('SELECT * FROM tgx.job_overview', 'reader: job_overview');
SELECT lives_ok('SELECT * FROM tgx.queue_status', 'reader: queue_status');
SELECT lives_ok('SELECT * FROM tgx.stuck_tasks', 'reader: stuck_tasks');
SELECT lives_ok('SELECT * FROM tgx.keeper_status', 'reader: keeper_status');
SELECT lives_ok('SELECT * FROM tgx.task_history WHERE job_id = 45001', 'reader: task_history');
SELECT lives_ok('SELECT * FROM tgx.lateness', 'reader: lateness');
SELECT lives_ok('SELECT * FROM tgx.lateness_hourly', 'reader: lateness_hourly');
SELECT lives_ok('SELECT * FROM tgx.tasks, tgx.jobs, tgx.keepers, tgx.audit_log, tgx.settings LIMIT 1',
                'reader: the tables');
SELECT lives_ok('SELECT key_id, key_hint, owner FROM tgx.api_keys', 'reader: api_keys without the hash');
SELECT throws_ok('SELECT key_hash FROM tgx.api_keys', '42501', 'permission denied for table api_keys',
                 'reader: not the key hashes');
SELECT throws_ok($$SELECT tgx.pause_job(45001, 'x')$$, '42501', 'permission denied for function pause_job',
                 'reader: cannot steer');
SELECT throws_ok($$SELECT tgx.set_setting('attesters', '5', 'x')$$, '42501',
                 'permission denied for function set_setting', 'reader: cannot change settings');
SELECT throws_ok($$SELECT tgx.setting('attesters')$$, '42501', 'permission denied for function setting',
                 'reader: no functions at all');
SELECT throws_ok($$INSERT INTO tgx.users (user_address) VALUES ('0x4500000000000000000000000000000000000002')$$,
                 '42501', 'permission denied for table users', 'reader: cannot insert');
SELECT throws_ok($$UPDATE tgx.tasks SET state = 'pending' WHERE job_id = 45001$$, '42501',
                 'permission denied for table tasks', 'reader: cannot update');
SELECT throws_ok('DELETE FROM tgx.audit_log', '42501', 'permission denied for table audit_log',
                 'reader: cannot delete audit rows');
SELECT throws_ok('CREATE TABLE tgx.t45 (i integer)', '42501', 'permission denied for schema tgx',
                 'reader: no DDL');
RESET SESSION AUTHORIZATION;

------------------------------------------------------------------------------
-- tgx_operator: steers (audited under its own name), reads, never writes tables or DDL
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION t45_operator;
SELECT lives_ok($$SELECT tgx.pause_job(45001, 'operator test', '2030-02-01 00:00:00+00')$$, 'operator: pause_job');
SELECT lives_ok($$SELECT tgx.resume_job(45001, 'operator test', '2030-02-01 00:01:00+00')$$, 'operator: resume_job');
SELECT lives_ok(format($$SELECT tgx.retry_task(%s, 'operator test', '2030-02-01 00:02:00+00')$$,
                       (SELECT task_id FROM ids)), 'operator: retry_task');
SELECT lives_ok(format($$SELECT tgx.cancel_task(%s, 'operator test', '2030-02-01 00:03:00+00')$$,
                       (SELECT task_id FROM ids)), 'operator: cancel_task');
SELECT lives_ok($$SELECT tgx.run_job_now(45001, 'operator test', '2030-02-01 00:04:00+00')$$,
                'operator: run_job_now');
SELECT lives_ok($$SELECT tgx.requeue_dead('operator test', 45001)$$, 'operator: requeue_dead');
SELECT lives_ok(format($$SELECT tgx.drain_keeper(%s, 'operator test')$$, (SELECT keeper_id FROM ids)),
                'operator: drain_keeper');
SELECT lives_ok(format($$SELECT tgx.undrain_keeper(%s, 'operator test')$$, (SELECT keeper_id FROM ids)),
                'operator: undrain_keeper');
SELECT lives_ok(format($$SELECT tgx.set_keeper_online(%s, false, 'operator test')$$, (SELECT keeper_id FROM ids)),
                'operator: set_keeper_online');
SELECT lives_ok($$SELECT tgx.whitelist_keeper('0x45000000000000000000000000000000000000aa', 'operator test', false)$$,
                'operator: whitelist_keeper');
SELECT is((SELECT count(*) FROM tgx.audit_log WHERE reason = 'operator test' AND actor = 't45_operator'), 10::bigint,
          'operator: every action is audited under the operator''s login name');
SELECT lives_ok($$SELECT tgx.set_setting('attesters', '5', 'operator test')$$, 'operator: set_setting');
SELECT lives_ok('SELECT * FROM tgx.job_overview, tgx.queue_status LIMIT 1', 'operator: reads the views');
SELECT lives_ok('SELECT * FROM tgx.audit_log', 'operator: reads the audit log');
SELECT throws_ok($$UPDATE tgx.jobs SET status = 'paused' WHERE job_id = 45002$$, '42501',
                 'permission denied for table jobs', 'operator: cannot bypass steering with UPDATE');
SELECT throws_ok($$INSERT INTO tgx.audit_log (action, object_type, object_id, reason) VALUES ('x', 'x', 'x', 'x')$$,
                 '42501', 'permission denied for table audit_log', 'operator: cannot forge audit rows');
SELECT throws_ok('DELETE FROM tgx.audit_log', '42501', 'permission denied for table audit_log',
                 'operator: cannot erase audit rows');
SELECT throws_ok($$SELECT tgx._audit('x', 'x', 'x', 'x', NULL, NULL)$$, '42501',
                 'permission denied for function _audit', 'operator: cannot call internal helpers');
SELECT throws_ok('CREATE TABLE tgx.t45 (i integer)', '42501', 'permission denied for schema tgx',
                 'operator: cannot create objects');
SELECT throws_ok('ALTER TABLE tgx.jobs ADD COLUMN t45 integer', '42501', 'must be owner of table jobs',
                 'operator: cannot alter tables');
SELECT throws_ok('DROP VIEW tgx.job_overview', '42501', 'must be owner of view job_overview',
                 'operator: cannot drop views');
SELECT throws_ok($$CREATE OR REPLACE FUNCTION tgx.pause_job(i_job_id tgx.uint256, i_reason text,
                       i_now timestamptz DEFAULT clock_timestamp()) RETURNS integer LANGUAGE sql AS 'SELECT 0'$$,
                 '42501', 'permission denied for schema tgx', 'operator: cannot replace functions');
SELECT throws_ok($$INSERT INTO tgx.schema_migrations (version, name, checksum) VALUES (9999, 'x', 'x')$$, '42501',
                 'permission denied for table schema_migrations', 'operator: cannot record migrations');
SELECT throws_ok('SELECT tgx._apply_grants()', '42501', 'permission denied for function _apply_grants',
                 'operator: cannot re-apply grants');
SELECT is((SELECT array_agg(fn::text) FROM life_cycle WHERE has_function_privilege(fn, 'EXECUTE')), NULL,
          'operator: cannot run the life cycle');
RESET SESSION AUTHORIZATION;

------------------------------------------------------------------------------
-- tgx_app: the daemon runs the life cycle, reads the views, writes the REST store only
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION t45_app;
SELECT is((SELECT array_agg(fn::text) FROM life_cycle WHERE NOT has_function_privilege(fn, 'EXECUTE')), NULL,
          'app: may execute every life-cycle function that is loaded');
SELECT CASE WHEN to_regprocedure('tgx.sweep_keepers(timestamptz)') IS NULL
            THEN skip('tgx.sweep_keepers is not loaded', 1)
            ELSE lives_ok($$SELECT tgx.sweep_keepers('2030-02-01 00:00:00+00')$$, 'app: runs tgx.sweep_keepers') END;
SELECT CASE WHEN to_regprocedure('tgx.next_queue_deadline(timestamptz)') IS NULL
            THEN skip('tgx.next_queue_deadline is not loaded', 1)
            ELSE lives_ok($$SELECT tgx.next_queue_deadline('2030-02-01 00:00:00+00')$$,
                          'app: runs tgx.next_queue_deadline') END;
SELECT lives_ok($$SELECT tgx.setting('ack_timeout')$$, 'app: reads settings through tgx.setting');
SELECT lives_ok('SELECT * FROM tgx.job_overview, tgx.keeper_status LIMIT 1', 'app: reads the views');
SELECT lives_ok($$INSERT INTO tgx.users (user_address) VALUES ('0x4500000000000000000000000000000000000003')$$,
                'app: inserts users');
SELECT lives_ok($$UPDATE tgx.jobs SET job_title = 'renamed' WHERE job_id = 45002$$, 'app: updates jobs');
SELECT lives_ok($$INSERT INTO tgx.event_triggers (job_id, trigger_chain_id, trigger_contract_address, trigger_event)
                  VALUES (45002, '1', '0x45000000000000000000000000000000000000ee', 'Ping()')$$,
                'app: inserts triggers');
SELECT lives_ok($$DELETE FROM tgx.api_keys WHERE owner = 'roles test'$$, 'app: deletes api keys');
SELECT lives_ok($$INSERT INTO tgx.alerts (kind, subject) VALUES ('other', 'roles test')$$, 'app: queues alerts');
SELECT throws_ok('DELETE FROM tgx.jobs WHERE job_id = 45002', '42501', 'permission denied for table jobs',
                 'app: jobs are never deleted');
SELECT throws_ok($$UPDATE tgx.tasks SET state = 'pending' WHERE job_id = 45001$$, '42501',
                 'permission denied for table tasks', 'app: tasks change only through functions');
SELECT throws_ok($$INSERT INTO tgx.task_attempts (task_id, attempt, keeper_id, lease_epoch, assigned_at)
                   VALUES (1, 1, 1, 1, now())$$, '42501', 'permission denied for table task_attempts',
                 'app: attempts change only through functions');
SELECT throws_ok($$UPDATE tgx.settings SET value = '9' WHERE name = 'attesters'$$, '42501',
                 'permission denied for table settings', 'app: cannot change settings');
SELECT throws_ok($$INSERT INTO tgx.audit_log (action, object_type, object_id, reason) VALUES ('x', 'x', 'x', 'x')$$,
                 '42501', 'permission denied for table audit_log', 'app: cannot write audit rows');
SELECT throws_ok($$SELECT tgx.pause_job(45002, 'x')$$, '42501', 'permission denied for function pause_job',
                 'app: cannot steer');
SELECT throws_ok('CREATE TABLE tgx.t45 (i integer)', '42501', 'permission denied for schema tgx', 'app: no DDL');
RESET SESSION AUTHORIZATION;

------------------------------------------------------------------------------
-- PUBLIC: an unprivileged role can do nothing
------------------------------------------------------------------------------

SET SESSION AUTHORIZATION t45_nobody;
SELECT throws_ok('SELECT * FROM tgx.jobs', '42501', 'permission denied for schema tgx', 'nobody: no tables');
SELECT throws_ok('SELECT * FROM tgx.job_overview', '42501', 'permission denied for schema tgx', 'nobody: no views');
SELECT throws_ok($$SELECT tgx.pause_job(45002, 'x')$$, '42501', 'permission denied for schema tgx',
                 'nobody: no steering');
SELECT throws_ok($$SELECT tgx.setting('attesters')$$, '42501', 'permission denied for schema tgx',
                 'nobody: no functions');
RESET SESSION AUTHORIZATION;

-- even with USAGE on the schema (granted by mistake), PUBLIC has no privilege on the objects
GRANT USAGE ON SCHEMA tgx TO t45_nobody;
SET SESSION AUTHORIZATION t45_nobody;
SELECT throws_ok('SELECT * FROM tgx.jobs', '42501', 'permission denied for table jobs',
                 'nobody with schema usage: no tables');
SELECT throws_ok('SELECT * FROM tgx.job_overview', '42501', 'permission denied for view job_overview',
                 'nobody with schema usage: no views');
SELECT throws_ok($$SELECT tgx.pause_job(45002, 'x')$$, '42501', 'permission denied for function pause_job',
                 'nobody with schema usage: no steering');
SELECT throws_ok($$SELECT tgx.setting('attesters')$$, '42501', 'permission denied for function setting',
                 'nobody with schema usage: no functions');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
