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

CREATE OR REPLACE FUNCTION tgx._tasks_feed_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._tasks_feed_notify()  (trigger, FOR EACH STATEMENT)
--   Sends NOTIFY tgx_task_changed with the created or changed tasks of the
--   statement (see the file header for the payload), split below 7900 bytes.
-- @plpgsql_check_options: oldtable = old_rows, newtable = new_rows
-- Returns: NULL.
-- Tables directly manipulated: none (reads the transition tables).
DECLARE
    c_limit constant integer := 7900;
    v_items text[];
    v_item text;
    v_payload text := '';
BEGIN
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
    FOREACH v_item IN ARRAY v_items LOOP
        IF v_payload <> '' AND octet_length(v_payload) + octet_length(v_item) + 3 > c_limit THEN
            PERFORM pg_notify('tgx_task_changed', '{"tasks":[' || v_payload || ']}');
            v_payload := '';
        END IF;
        v_payload := CASE WHEN v_payload = '' THEN v_item ELSE v_payload || ',' || v_item END;
    END LOOP;
    PERFORM pg_notify('tgx_task_changed', '{"tasks":[' || v_payload || ']}');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION tgx._tasks_feed_notify() IS
    'Trigger of tgx.tasks (per statement): NOTIFY tgx_task_changed with the created/changed tasks '
    '{"tasks":[[task_id,"job_id","state","event","old_state"]]}, split below 7900 bytes';

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
