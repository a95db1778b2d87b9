-- 0009_hot_path.sql: what the hot path (tgx.fire_due_schedules -> tgx.dispatch_tasks ->
-- tgx.keeper_take -> tgx.submit_result(s)) needs beyond 0007_perf.sql.
--
-- Forward-only DDL.
--  * feed_listeners: the WebSocket task feed (src/http/ws_feed.c) registers its LISTEN
--    connection here and keeps a heartbeat; the statement triggers of tgx.task_feed.sql NOTIFY
--    tgx_task_changed only while a registration is fresh.  A transaction that NOTIFYs holds
--    PostgreSQL's notification lock from its pre-commit through its commit record's flush, so
--    such commits never overlap (no group commit): nobody listening, nobody pays for it.

CREATE TABLE tgx.feed_listeners (
    listener_pid integer PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tgx.feed_listeners IS
    'Connections LISTENing on tgx_task_changed (the WebSocket task feed of each tgxd api role), by backend pid, with '
    'a heartbeat. The task feed triggers notify only while some heartbeat is younger than 2 minutes. Written only by '
    'tgx.task_feed_listen() and tgx.task_feed_unlisten()';
