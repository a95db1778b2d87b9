-- keeper_sweep.sql: tgx.sweep_keepers: silent keepers go offline, their assigned tasks go back
-- to pending (uncounted), their running tasks are retried (keeper_offline), their open
-- attestations are replaced, and one keeper_offline alert comes after 10 minutes, exactly once.
BEGIN;
\ir queue_fixtures.psql
SELECT plan(30);

-- keeper a holds two tasks (capacity 2): t1 running, t2 assigned
SELECT pg_temp.keeper(1, i_capacity => 2) AS a \gset
SELECT pg_temp.job(1) AS j \gset
SELECT pg_temp.task(:j) AS t1 \gset
SELECT pg_temp.task(:j) AS t2 \gset
SELECT is(tgx.dispatch_tasks(10, pg_temp.t(1)), 2, 'both tasks go to keeper a');
SELECT is(count(*), 1::bigint, 'a takes one of them') FROM tgx.keeper_take(:a, 1, pg_temp.t(2));
-- b performs t3, and a is one of its three attesters (with c and d)
SELECT pg_temp.keeper(2) AS b \gset
SELECT pg_temp.keeper(3) AS c \gset
SELECT pg_temp.keeper(4) AS d \gset
SELECT pg_temp.task(:j) AS t3 \gset
SELECT pg_temp.start(:t3, :b, pg_temp.t(3)) AS e3 \gset
SELECT is(tgx.submit_result(:t3, :b, :e3, '{}', pg_temp.t(4)), 'attesting', 't3 waits for its attesters');
SELECT is(pg_temp.attesters(:t3), ARRAY[:a, :c, :d]::bigint[], 'a, c and d attest t3');
-- e joins later: the only keeper not asked yet
SELECT pg_temp.keeper(5) AS e \gset

-- at 60 s everyone but a checks in
SELECT tgx.keeper_checkin(k, NULL, NULL, pg_temp.t(60)) FROM unnest(ARRAY[:b, :c, :d, :e]::bigint[]) k;
SELECT is(tgx.sweep_keepers(pg_temp.t(70)), 0, 'silent for exactly keeper_silence: still online');
SELECT is(tgx.sweep_keepers(pg_temp.t(71)), 1, 'silent longer than keeper_silence (70 s): one keeper changes');
SELECT is((online, offline_since, offline_alerted), (false, pg_temp.t(71), false), 'a is offline since the sweep')
  FROM tgx.keepers WHERE keeper_id = :a;
SELECT is(count(*), 4::bigint, 'the others stay online') FROM tgx.keepers WHERE online;

-- its work went back
SELECT is((state, keeper_id, uncounted_attempts, excluded_keepers), ('pending'::tgx.task_state, NULL::bigint, 1, '{}'::bigint[]),
          'the assigned task is pending again, its attempt not counted, a not excluded')
  FROM tgx.tasks WHERE task_id = :t2;
SELECT is(outcome, 'keeper_offline', 'the assigned attempt ends with keeper_offline')
  FROM tgx.task_attempts WHERE task_id = :t2 AND attempt = 1;
SELECT is((state, due_at, keeper_id, excluded_keepers, uncounted_attempts, task_error),
          ('scheduled'::tgx.task_state, pg_temp.t(72), NULL::bigint, ARRAY[:a]::bigint[], 0, 'keeper went offline'::text),
          'the running task is retried like a lease expiry: backoff 1 s, a excluded, the attempt counted')
  FROM tgx.tasks WHERE task_id = :t1;
SELECT is((outcome, error), ('keeper_offline'::text, 'keeper went offline'::text), 'the running attempt ends with keeper_offline')
  FROM tgx.task_attempts WHERE task_id = :t1 AND attempt = 1;
SELECT is(pg_temp.attesters(:t3), ARRAY[:c, :d, :e]::bigint[], 'a''s open attestation went to e, the keeper not asked yet');
SELECT is(superseded, true, 'a''s attestation row is superseded') FROM tgx.attestations WHERE task_id = :t3 AND keeper_id = :a;
SELECT throws_ok(format('SELECT tgx.submit_attestation(%s, %s, %s, true, NULL, NULL, %L)', :t3, :a, :e3, pg_temp.t(80)),
                 '55000', format('attestation of task %s by keeper %s is no longer open', :t3, :a),
                 'a''s late vote is refused');
SELECT is(tgx.dispatch_tasks(10, pg_temp.t(80)), 2, 'the handed-back tasks are dispatched again');
SELECT ok(keeper_id <> :a, 'but not to the offline keeper') FROM tgx.tasks WHERE task_id IN (:t1, :t2);

-- the alert: after keeper_offline_alert (10 min) offline, once
SELECT tgx.keeper_checkin(k, NULL, NULL, pg_temp.t(660)) FROM unnest(ARRAY[:b, :c, :d, :e]::bigint[]) k;
SELECT is(tgx.sweep_keepers(pg_temp.t(670)), 0, 'offline for 599 s: no alert yet');
SELECT is(count(*), 0::bigint, 'no alert queued') FROM tgx.alerts WHERE kind = 'keeper_offline';
SELECT is(tgx.sweep_keepers(pg_temp.t(671)), 1, 'offline for 600 s: the keeper is alerted');
SELECT is((kind, subject, payload->>'keeper_id'),
          ('keeper_offline'::text, format('keeper %s (keeper 1) offline since %s', :a, pg_temp.t(71)), :a::text),
          'one keeper_offline alert names the keeper')
  FROM tgx.alerts WHERE kind = 'keeper_offline';
SELECT is(offline_alerted, true, 'the keeper is marked as alerted') FROM tgx.keepers WHERE keeper_id = :a;
SELECT is(tgx.sweep_keepers(pg_temp.t(700)), 0, 'a later sweep changes nothing');
SELECT is(count(*), 1::bigint, 'and queues no second alert') FROM tgx.alerts WHERE kind = 'keeper_offline';

-- back online, then offline again: a new offline period gets its own alert
SELECT tgx.keeper_checkin(k, NULL, NULL, pg_temp.t(710)) FROM unnest(ARRAY[:a, :b, :c, :d, :e]::bigint[]) k;
SELECT is((online, offline_alerted, offline_since), (true, false, NULL::timestamptz), 'a check-in clears the alert flag')
  FROM tgx.keepers WHERE keeper_id = :a;
SELECT tgx.keeper_checkin(k, NULL, NULL, pg_temp.t(1400)) FROM unnest(ARRAY[:b, :c, :d, :e]::bigint[]) k;
SELECT is(tgx.sweep_keepers(pg_temp.t(1401)), 1, 'a goes silent again');
SELECT tgx.keeper_checkin(k, NULL, NULL, pg_temp.t(1990)) FROM unnest(ARRAY[:b, :c, :d, :e]::bigint[]) k;
SELECT is(tgx.sweep_keepers(pg_temp.t(2001)), 1, 'ten minutes later it is alerted again');
SELECT is(count(*), 2::bigint, 'one alert per offline period') FROM tgx.alerts WHERE kind = 'keeper_offline';

-- the load counters kept by the trigger match the tasks
SELECT is((SELECT count(*) FROM tgx.keepers k LEFT JOIN tgx.keeper_load l USING (keeper_id)
            WHERE coalesce(l.active, 0) <> (SELECT count(*) FROM tgx.tasks t
                                             WHERE t.keeper_id = k.keeper_id AND t.state IN ('assigned', 'running'))),
          0::bigint, 'tgx.keeper_load counts the assigned and running tasks of every keeper');

SELECT * FROM finish();
ROLLBACK;
