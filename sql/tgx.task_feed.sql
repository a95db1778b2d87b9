-- tgx.task_feed.sql: the task change feed of the WebSocket hub (src/http/ws_feed.c).
--
-- One statement-level AFTER trigger per event on tgx.tasks sends, once per
-- statement, NOTIFY tgx_task_changed with the tasks the statement created or
-- changed.  It replaces the payload-less pg_notify('tgx_task_changed', '') calls
-- the stored functions used to make.  Payload (JSON, at most ~7900 bytes; a
-- statement touching more tasks sends several notifications):
--   {"tasks": [[task_id, "job_id", "state", "event", "old_state"|null], ...]}
-- event is "created" (INSERT), "status_changed" (UPDATE of state; old_state
-- set) or "updated" (any other change of the row).  Notifications are delivered
-- at commit, so listeners never see tasks of a rolled-back transaction.  The
-- listener resolves the owners with one call of tgx.task_feed_owners(job ids).
--
-- Only while somebody listens: the feed registers its LISTEN connection with
-- tgx.task_feed_listen() (then again at least every 30 s, a heartbeat) and leaves
-- with tgx.task_feed_unlisten(); the triggers notify only while a registration in
-- tgx.feed_listeners is younger than 2 minutes.  A transaction that NOTIFYs holds
-- PostgreSQL's notification lock through its commit's WAL flush, so notifying
-- commits never overlap; with no feed running the queue functions commit without
-- it.  The feed LISTENs before it registers, so every change committed after its
-- registration reaches it.

CREATE OR REPLACE FUNCTION tgx.task_feed_listen(i_now timestamptz DEFAULT clock_timestamp())
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.task_feed_listen(now)
--   Registers the calling connection as a listener of tgx_task_changed (call it after
--   LISTEN, and again at least every 30 s as a heartbeat): from the commit on, the task
--   feed triggers notify.  Registrations whose heartbeat is older than 2 minutes or whose
--   connection is gone (a feed that died or lost its connection) are removed.
-- Returns: nothing.
-- Tables: tgx.feed_listeners (insert or update, delete of stale rows).
BEGIN
    DELETE FROM tgx.feed_listeners l
     WHERE l.listener_pid <> pg_backend_pid()
       AND (l.heartbeat_at <= i_now - interval '2 minutes'
            OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.listener_pid));
    INSERT INTO tgx.feed_listeners AS l (listener_pid, started_at, heartbeat_at)
    VALUES (pg_backend_pid(), i_now, i_now)
    ON CONFLICT (listener_pid) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at;
END
$$;
COMMENT ON FUNCTION tgx.task_feed_listen(timestamptz) IS
    'The WebSocket task feed registers its LISTEN connection (and renews it every 30 s): tgx_task_changed is sent '
    'only while a registration is younger than 2 minutes';

CREATE OR REPLACE FUNCTION tgx.task_feed_unlisten()
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.task_feed_unlisten()
--   Removes the calling connection's registration (the feed stops).
-- Returns: nothing.
-- Tables: tgx.feed_listeners (delete).
DELETE FROM tgx.feed_listeners l WHERE l.listener_pid = pg_backend_pid()
$$;
COMMENT ON FUNCTION tgx.task_feed_unlisten() IS
    'The WebSocket task feed stops: removes its registration (see tgx.task_feed_listen)';

CREATE OR REPLACE FUNCTION tgx._tasks_feed_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._tasks_feed_notify()  (trigger, FOR EACH STATEMENT)
--   Sends NOTIFY tgx_task_changed with the created or changed tasks of the
--   statement (see the file header for the payload), split below 7900 bytes; nothing
--   while no feed listens (no registration of tgx.task_feed_listen() younger
--   than 2 minutes).
-- @plpgsql_check_options: oldtable = old_rows, newtable = new_rows
-- Returns: NULL.
-- Tables directly manipulated: none (reads the transition tables, tgx.feed_listeners).
DECLARE
    -- items (at most ~150 bytes each) are cut into chunks by their running length: a chunk
    -- holds at most c_chunk + one item bytes, its payload 12 more, below 7900 in all
    c_chunk constant integer := 7700;
    v_items text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tgx.feed_listeners l WHERE l.heartbeat_at > now() - interval '2 minutes') THEN
        RETURN NULL;   -- nobody listens (see the file header)
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(json_build_array(n.task_id, n.job_id::text, n.state::text, 'created', NULL)::text
                         ORDER BY n.task_id)
          INTO v_items
          FROM new_rows n;
    ELSE
        SELECT array_agg(json_build_array(
                   n.task_id, n.job_id::text, n.state::text,
                   CASE WHEN o.state IS DISTINCT FROM n.state THEN 'status_changed' ELSE 'updated' END,
                   CASE WHEN o.state IS DISTINCT FROM n.state THEN o.state::text END)::text
                 ORDER BY n.task_id)
          INTO v_items
          FROM new_rows n
          JOIN old_rows o ON o.task_id = n.task_id
         WHERE o IS DISTINCT FROM n;
    END IF;
    IF v_items IS NULL THEN
        RETURN NULL;
    END IF;
    -- one statement: a notification per chunk, in task order (pg_notify, volatile, is
    -- evaluated after the sort)
    PERFORM pg_notify('tgx_task_changed', '{"tasks":[' || string_agg(c.item, ',' ORDER BY c.n) || ']}')
       FROM (SELECT i.item, i.n, (sum(octet_length(i.item) + 1) OVER (ORDER BY i.n) - 1) / c_chunk AS chunk
               FROM unnest(v_items) WITH ORDINALITY AS i(item, n)) c
      GROUP BY c.chunk
      ORDER BY c.chunk;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION tgx._tasks_feed_notify() IS
    'Trigger of tgx.tasks (per statement): NOTIFY tgx_task_changed with the created/changed tasks '
    '{"tasks":[[task_id,"job_id","state","event","old_state"]]}, split below 7900 bytes, while a feed listens';

CREATE OR REPLACE TRIGGER tasks_feed_insert
    AFTER INSERT ON tgx.tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tgx._tasks_feed_notify();
CREATE OR REPLACE TRIGGER tasks_feed_update
    AFTER UPDATE ON tgx.tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tgx._tasks_feed_notify();

CREATE OR REPLACE FUNCTION tgx.task_feed_owners(i_job_ids text[])
RETURNS TABLE (job_id text, user_address text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.task_feed_owners(job_ids)
--   The owner address of each job, for routing task events to user:<address>
--   rooms.  One call per notification.
-- Parameters: i_job_ids - decimal job ids (ids that are not decimal are ignored)
-- Returns: one row per existing job: job_id (decimal text), user_address.
-- Tables directly manipulated: none (reads tgx.jobs, tgx.users).
SELECT j.job_id::text, u.user_address::text
  FROM tgx.jobs j
  JOIN tgx.users u ON u.user_id = j.user_id
 WHERE j.job_id = ANY (ARRAY(SELECT x::numeric FROM unnest(i_job_ids) x WHERE x ~ '^[0-9]{1,78}$'))
$$;
COMMENT ON FUNCTION tgx.task_feed_owners(text[]) IS
    'The owner address of each given job (decimal ids), for the WebSocket task feed''s user rooms';
