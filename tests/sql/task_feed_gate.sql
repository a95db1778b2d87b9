-- task_feed_gate.sql: the task feed triggers (sql/tgx.task_feed.sql) NOTIFY tgx_task_changed only
-- while a listener is registered with a fresh heartbeat (tgx.task_feed_listen); registration,
-- heartbeat, expiry and removal.  Notifications are delivered at commit, so the live part runs on
-- two dblink connections of this database: "feed" LISTENs, "writer" commits rows into a temporary
-- copy of tgx.tasks that carries the feed trigger (nothing of tgx.tasks is written), and
-- registers and unregisters itself.  dblink is created inside this file's transaction and rolled
-- back with it.
BEGIN;
SELECT plan(16);

-- registration in this session (rolled back)
SELECT tgx.task_feed_listen('2030-01-01 00:00:00+00') \g /dev/null
SELECT is((SELECT heartbeat_at FROM tgx.feed_listeners WHERE listener_pid = pg_backend_pid()),
          '2030-01-01 00:00:00+00'::timestamptz, 'task_feed_listen registers the calling connection');
-- other registrations: a live connection (any other server process stands in for one) and a
-- connection that is gone, both with a fresh heartbeat; then the live one's heartbeat gets old
SELECT min(pid) AS live FROM pg_stat_activity WHERE pid <> pg_backend_pid() \gset
INSERT INTO tgx.feed_listeners (listener_pid, started_at, heartbeat_at)
VALUES (-1, '2030-01-01 00:00:00+00', '2030-01-01 00:01:30+00');
INSERT INTO tgx.feed_listeners (listener_pid, started_at, heartbeat_at)
SELECT :live, '2030-01-01 00:00:00+00', '2030-01-01 00:01:30+00';
SELECT tgx.task_feed_listen('2030-01-01 00:02:40+00') \g /dev/null
SELECT is((SELECT heartbeat_at FROM tgx.feed_listeners WHERE listener_pid = pg_backend_pid()),
          '2030-01-01 00:02:40+00'::timestamptz, 'calling it again renews the heartbeat');
SELECT is((SELECT array_agg(listener_pid ORDER BY listener_pid) FROM tgx.feed_listeners
            WHERE listener_pid <> pg_backend_pid()),
          ARRAY[:live], 'a registration of a connection that is gone is removed, a live fresh one stays');
SELECT tgx.task_feed_listen('2030-01-01 00:03:40+00') \g /dev/null
SELECT is((SELECT count(*) FROM tgx.feed_listeners WHERE listener_pid <> pg_backend_pid()), 0::bigint,
          'a registration older than 2 minutes is removed');
SELECT tgx.task_feed_unlisten() \g /dev/null
SELECT is((SELECT count(*) FROM tgx.feed_listeners WHERE listener_pid = pg_backend_pid()), 0::bigint,
          'task_feed_unlisten removes the registration');

-- live: two connections to this database
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT format('dbname=%s port=%s host=%s user=%s', current_database(), current_setting('port'),
              split_part(current_setting('unix_socket_directories'), ',', 1), current_user) AS conninfo \gset
SELECT dblink_connect('feed', :'conninfo') \g /dev/null
SELECT dblink_connect('writer', :'conninfo') \g /dev/null
SELECT dblink_exec('feed', 'LISTEN tgx_task_changed') \g /dev/null
SELECT dblink_exec('writer', 'CREATE TEMP TABLE feed_tasks (LIKE tgx.tasks INCLUDING DEFAULTS INCLUDING IDENTITY)') \g /dev/null
SELECT dblink_exec('writer', 'CREATE TRIGGER feed_tasks_insert AFTER INSERT ON feed_tasks REFERENCING NEW TABLE AS '
                             'new_rows FOR EACH STATEMENT EXECUTE FUNCTION tgx._tasks_feed_notify()') \g /dev/null
SELECT dblink_exec('writer', 'CREATE TRIGGER feed_tasks_update AFTER UPDATE ON feed_tasks REFERENCING OLD TABLE AS '
                             'old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                             'tgx._tasks_feed_notify()') \g /dev/null

-- what the feed connection has received once the writer's commits are through: a query on it
-- first, so that notifications signalled meanwhile are read with its reply
CREATE FUNCTION pg_temp.received() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    v text[];
BEGIN
    PERFORM * FROM dblink('feed', 'SELECT pg_sleep(0.2)') AS x(v text);
    SELECT coalesce(array_agg(n.extra ORDER BY n.extra), '{}') INTO v
      FROM dblink_get_notify('feed') n WHERE n.notify_name = 'tgx_task_changed';
    RETURN v;
END $$;

SELECT pg_temp.received() \g /dev/null
-- (that dropped anything left from before)
SELECT dblink_exec('writer', $$INSERT INTO feed_tasks (task_id, job_id, task_definition_id, state)
                               OVERRIDING SYSTEM VALUE VALUES (901, 1, 1, 'pending')$$) \g /dev/null
SELECT is(pg_temp.received(), '{}'::text[], 'nobody registered: a new task notifies nothing');

SELECT * FROM dblink('writer', 'SELECT tgx.task_feed_listen()') AS x(v text) \g /dev/null
SELECT dblink_exec('writer', $$INSERT INTO feed_tasks (task_id, job_id, task_definition_id, state)
                               OVERRIDING SYSTEM VALUE VALUES (902, 2, 1, 'pending')$$) \g /dev/null
SELECT is(pg_temp.received(), ARRAY['{"tasks":[[902, "2", "pending", "created", null]]}'],
          'a fresh registration: the new task is notified');
SELECT dblink_exec('writer', $$UPDATE feed_tasks SET state = 'assigned' WHERE task_id = 902$$) \g /dev/null
SELECT is(pg_temp.received(), ARRAY['{"tasks":[[902, "2", "assigned", "status_changed", "pending"]]}'],
          'and its change of state');

SELECT * FROM dblink('writer', $$SELECT tgx.task_feed_listen(clock_timestamp() - interval '3 minutes')$$)
    AS x(v text) \g /dev/null
SELECT dblink_exec('writer', $$UPDATE feed_tasks SET state = 'running' WHERE task_id = 902$$) \g /dev/null
SELECT is(pg_temp.received(), '{}'::text[], 'a heartbeat older than 2 minutes: nothing is notified');

SELECT * FROM dblink('writer', 'SELECT tgx.task_feed_listen()') AS x(v text) \g /dev/null
SELECT dblink_exec('writer', $$UPDATE feed_tasks SET state = 'attesting' WHERE task_id = 902$$) \g /dev/null
SELECT is(pg_temp.received(), ARRAY['{"tasks":[[902, "2", "attesting", "status_changed", "running"]]}'],
          'a renewed heartbeat: notified again');

-- a statement changing many tasks: several notifications, each below 7900 bytes, every task once,
-- in task order
SELECT dblink_exec('writer', $$INSERT INTO feed_tasks (task_id, job_id, task_definition_id, state)
                               OVERRIDING SYSTEM VALUE
                               SELECT g, 1000000000000000000000 + g, 1, 'pending' FROM generate_series(1001, 1400) g$$)
    \g /dev/null
SELECT pg_temp.received() AS many \gset
SELECT cmp_ok(cardinality(:'many'::text[]), '>=', 3, 'a statement of 400 new tasks sends several notifications');
SELECT is((SELECT max(octet_length(p)) < 7900 FROM unnest(:'many'::text[]) p), true,
          'each of them below 7900 bytes');
SELECT is((SELECT array_agg((e->>0)::bigint ORDER BY (e->>0)::bigint) = array_agg((e->>0)::bigint)
                  AND array_agg((e->>0)::bigint ORDER BY (e->>0)::bigint) = ARRAY(SELECT generate_series(1001, 1400)::bigint)
             FROM (SELECT e, p.n, x.m FROM unnest(:'many'::text[]) WITH ORDINALITY AS p(t, n)
                    CROSS JOIN LATERAL jsonb_array_elements(p.t::jsonb->'tasks') WITH ORDINALITY AS x(e, m)
                    ORDER BY (p.t::jsonb->'tasks'->0->>0)::bigint, x.m) q),
          true, 'together they carry every task once, in task order');

SELECT * FROM dblink('writer', 'SELECT tgx.task_feed_unlisten()') AS x(v text) \g /dev/null
SELECT dblink_exec('writer', $$UPDATE feed_tasks SET state = 'succeeded' WHERE task_id = 902$$) \g /dev/null
SELECT is(pg_temp.received(), '{}'::text[], 'unregistered: nothing is notified');

SELECT dblink_exec('writer', $$INSERT INTO feed_tasks (task_id, job_id, task_definition_id, state)
                               OVERRIDING SYSTEM VALUE VALUES (903, 3, 1, 'pending')$$) \g /dev/null
SELECT dblink_exec('writer', 'DROP TABLE feed_tasks') \g /dev/null
SELECT is((SELECT count(*) FROM tgx.feed_listeners), 0::bigint, 'no registration is left behind');

SELECT is(pg_temp.received(), '{}'::text[], 'the feed connection got nothing else');
SELECT dblink_disconnect('writer') \g /dev/null
SELECT dblink_disconnect('feed') \g /dev/null

SELECT * FROM finish();
ROLLBACK;
