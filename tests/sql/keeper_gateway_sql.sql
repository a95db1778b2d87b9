-- keeper_gateway_sql.sql: the stored functions of the keeper gateway (sql/tgx.keeper_gateway.sql):
-- authentication with the replay cache, the keeper's assigned tasks, acknowledging one task under
-- its epoch, results with the performer's signature, open attestations, the original's check-in,
-- and their privileges.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(45);

SELECT pg_temp.keeper(1) AS k1 \gset
SELECT pg_temp.keeper(2) AS k2 \gset
SELECT pg_temp.keeper(3, false) AS k3 \gset
SELECT '0x303' || lpad('1', 37, '0') AS a1 \gset
SELECT '0x303' || lpad('3', 37, '0') AS a3 \gset
SELECT decode(repeat('11', 32), 'hex') AS h1 \gset
SELECT decode(repeat('22', 32), 'hex') AS h2 \gset

-- authentication and the replay cache
SELECT is((SELECT row(o_status, o_keeper_id)::text FROM tgx.keeper_gw_auth('0x303' || lpad('99', 37, '0'), :'h1', pg_temp.t(0))),
          row('not_registered', NULL::bigint)::text, 'an unknown keeper is not registered');
SELECT is((SELECT row(o_status, o_keeper_id)::text FROM tgx.keeper_gw_auth(:'a3', :'h1', pg_temp.t(0))),
          row('not_whitelisted', :k3::bigint)::text, 'a keeper off the whitelist is refused');
SELECT is((SELECT count(*) FROM tgx.keeper_request_sigs WHERE keeper_id = :k3), 0::bigint,
          'a refused request records nothing');
SELECT is((SELECT row(o_status, o_keeper_id)::text FROM tgx.keeper_gw_auth(upper(:'a1'), :'h1', pg_temp.t(0))),
          row('ok', :k1::bigint)::text, 'a whitelisted keeper is served (address in any case)');
SELECT is((SELECT o_status FROM tgx.keeper_gw_auth(:'a1', :'h1', pg_temp.t(30))), 'replayed',
          'the same signature again within the window is a replay');
SELECT is((SELECT o_status FROM tgx.keeper_gw_auth(:'a1', :'h2', pg_temp.t(30))), 'ok', 'another signature is fine');
SELECT is((SELECT o_status FROM tgx.keeper_gw_auth('0x303' || lpad('2', 37, '0'), :'h1', pg_temp.t(30))), 'ok',
          'the cache is per keeper');
SELECT is((SELECT o_status FROM tgx.keeper_gw_auth(:'a1', :'h1', pg_temp.t(200))), 'ok',
          'entries older than 2 minutes are pruned (no acceptable request can carry them)');
SELECT is((SELECT count(*) FROM tgx.keeper_request_sigs WHERE seen_at < pg_temp.t(80)), 0::bigint,
          'pruning removed every old entry');
SELECT throws_ok($$SELECT * FROM tgx.keeper_gw_auth('0x12', decode(repeat('11', 32), 'hex'))$$, '22023',
                 'invalid keeper address "0x12"', 'a malformed address');
SELECT throws_ok(format('SELECT * FROM tgx.keeper_gw_auth(%L, %L::bytea)', :'a1', '\x1234'), '22023',
                 'invalid signature hash', 'a hash that is not 32 bytes');
SELECT is((SELECT relpersistence FROM pg_class WHERE oid = 'tgx.keeper_request_sigs'::regclass), 'u'::"char",
          'the replay cache is UNLOGGED');

-- assigned tasks
SELECT pg_temp.job(1) AS j1 \gset
SELECT pg_temp.task(:j1) AS t1 \gset
SELECT is(tgx.keeper_assigned(:k1), '[]'::jsonb, 'nothing assigned: []');
SELECT pg_temp.dispatch_to(:t1, :k1, pg_temp.t(1));
SELECT lease_epoch AS e1 FROM tgx.tasks WHERE task_id = :t1 \gset
SELECT is(jsonb_array_length(tgx.keeper_assigned(:k1)), 1, 'the assigned task is listed');
SELECT is((tgx.keeper_assigned(:k1)->0) - 'lease_until' - 'scheduled_for' - 'trace_id' - 'abi' - 'arguments'
          - 'dynamic_arguments_script_url' - 'custom_script_url' - 'script_language' - 'trigger_data',
          jsonb_build_object('task_id', :t1, 'job_id', :'j1', 'keeper_id', :k1, 'lease_epoch', :e1, 'attempt', 1,
                             'task_definition_id', 1, 'target_chain_id', '1',
                             'target_contract_address', '0x303' || lpad('ff', 37, '0'),
                             'target_function', 'ping()', 'arg_type', 1, 'state', 'assigned'),
          'with what the keeper needs to execute it');
SELECT is(tgx.keeper_assigned(:k2), '[]'::jsonb, 'another keeper sees nothing');
SELECT is((SELECT state::text FROM tgx.tasks WHERE task_id = :t1), 'assigned', 'listing changes nothing');
SELECT throws_ok(format('SELECT tgx.keeper_assigned(%s, 0)', :k1), '22023', 'invalid limit 0', 'a limit of 0');

-- acknowledging one task
SELECT throws_ok(format('SELECT tgx.keeper_ack(%s, %s, %s, %L)', :k1, :t1, :e1 + 1, pg_temp.t(2)), '55000',
                 format('stale lease epoch %s for task %s', :e1 + 1, :t1), 'a stale epoch is refused');
SELECT throws_ok(format('SELECT tgx.keeper_ack(%s, %s, %s, %L)', :k2, :t1, :e1, pg_temp.t(2)), '55000',
                 format('stale lease epoch %s for task %s', :e1, :t1), 'another keeper cannot take it');
SELECT throws_ok(format('SELECT tgx.keeper_ack(%s, -1, 1)', :k1), 'P0002', 'task -1 does not exist', 'an unknown task');
SELECT is(tgx.keeper_ack(:k1, :t1, :e1, pg_temp.t(2))->>'state', 'running', 'the right keeper and epoch: running');
SELECT is((SELECT (state::text, started_at, lease_until) FROM tgx.tasks WHERE task_id = :t1),
          ('running'::text, pg_temp.t(2), pg_temp.t(2) + tgx.setting_interval('lease_duration')),
          'started now, leased for lease_duration');
SELECT is((SELECT started_at FROM tgx.task_attempts WHERE task_id = :t1 AND attempt = 1), pg_temp.t(2),
          'the attempt is started');
SELECT is(tgx.keeper_ack(:k1, :t1, :e1, pg_temp.t(3))->>'state', 'running', 'acknowledging again changes nothing');
SELECT is((SELECT started_at FROM tgx.tasks WHERE task_id = :t1), pg_temp.t(2), 'the first start is kept');

-- the result, with the performer's signature, and the attesters' view
SELECT n_tup_upd AS upd0 FROM pg_stat_xact_user_tables WHERE relid = 'tgx.tasks'::regclass \gset
SELECT is(tgx.keeper_result(:t1, :k1, :e1, ('{"execution_tx_hash": "0x' || repeat('ab', 32) || '", "gas_used": "21000"}')::jsonb,
                            decode(repeat('cd', 65), 'hex'), pg_temp.t(4))::text,
          'attesting', 'the result goes to attestation');
SELECT is((SELECT encode(tp_signature, 'hex') FROM tgx.tasks WHERE task_id = :t1), repeat('cd', 65),
          'the result signature is kept');
-- one UPDATE writes the result and the signature (a second one was another row version of the
-- task, and another event of the task feed for the same result)
SELECT is((SELECT n_tup_upd - :upd0 FROM pg_stat_xact_user_tables WHERE relid = 'tgx.tasks'::regclass), 1::bigint,
          'the result and its signature change the task row once');
SELECT is((SELECT (result->>'gas_used', tp_signature IS NOT NULL, state::text) FROM tgx.tasks WHERE task_id = :t1),
          ('21000'::text, true, 'attesting'::text), 'in one row version: the result, the signature, the state');
SELECT throws_ok(format('SELECT tgx.keeper_result(%s, %s, %s, %L, NULL)', :t1, :k1, :e1, '{}'), '55000',
                 format('stale lease epoch %s for task %s', :e1, :t1), 'a second result is refused');
SELECT is(jsonb_array_length(tgx.keeper_open_attestations(:k2)), 1, 'the other keeper is asked to attest');
SELECT is((SELECT (a->>'task_id', a->>'performer_address', a->>'performer_id', a->'result'->>'gas_used',
                   a->>'tp_signature', a->>'target_function')
             FROM jsonb_array_elements(tgx.keeper_open_attestations(:k2)) a),
          (:t1::text, :'a1'::text, :k1::text, '21000'::text, '0x' || repeat('cd', 65), 'ping()'::text),
          'with the performer, its result and signature, and the job target');
SELECT is(tgx.keeper_open_attestations(:k1), '[]'::jsonb, 'the performer attests nothing of its own');
SELECT is(tgx.keeper_task_result(:t1)->>'gas_used', '21000', 'the result attesters sign over');
SELECT throws_ok($$SELECT tgx.keeper_task_result(-1)$$, 'P0002', 'task -1 does not exist', 'unknown task');
SELECT tgx.submit_attestation(:t1, :k2, :e1, true, NULL, 'ok', pg_temp.t(5));
SELECT is(tgx.keeper_open_attestations(:k2), '[]'::jsonb, 'an answered request is no longer open');

-- the original's check-in (POST /health)
SELECT is(tgx.keeper_health_checkin(:'a3', '0x' || repeat('ee', 20), 'p', 'v', pg_temp.t(10)), 'not_verified',
          'a keeper off the whitelist is not verified');
SELECT is(tgx.keeper_health_checkin('0x303' || lpad('98', 37, '0'), '0x' || repeat('ee', 20), 'p', 'v'), 'not_verified',
          'an unknown keeper is not verified');
SELECT is(tgx.keeper_health_checkin(:'a1', '0x' || repeat('EE', 20), 'peer-1', '0.2.0', pg_temp.t(10)), 'ok',
          'a verified keeper checks in');
SELECT is((SELECT (online, consensus_address::text, peer_id, version) FROM tgx.keepers WHERE keeper_id = :k1),
          (true, '0x' || repeat('ee', 20), 'peer-1'::text, '0.2.0'::text), 'with its consensus address, peer id and version');

-- whitelisting from the admin route
SELECT is(tgx.keeper_gw_whitelist(:'a3', 'vetted', true, 'admin key 7 of ops', pg_temp.t(20)), 0, 'whitelisted');
SELECT is((SELECT (k.whitelisted, a.reason) FROM tgx.keepers k
             JOIN tgx.audit_log a ON a.object_id = k.keeper_id::text AND a.action = 'whitelist_keeper'
            WHERE k.keeper_id = :k3 ORDER BY a.audit_id DESC LIMIT 1),
          (true, 'vetted (REST: admin key 7 of ops)'::text), 'audited, naming the REST caller');
SELECT throws_ok(format('SELECT tgx.keeper_gw_whitelist(%L, %L, true, %L)', :'a3', ' ', 'x'), '22023', NULL,
                 'an empty reason is refused');

-- privileges
SELECT ok(has_function_privilege('tgx_app', 'tgx.keeper_gw_auth(text, bytea, timestamptz)', 'EXECUTE')
          AND has_function_privilege('tgx_app', 'tgx.keeper_gw_whitelist(text, text, boolean, text, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('tgx_reader', 'tgx.keeper_ack(bigint, bigint, bigint, timestamptz)', 'EXECUTE'),
          'the api role runs the gateway functions; readers do not');

SELECT * FROM finish();
ROLLBACK;
