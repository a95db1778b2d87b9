-- grants.sql: every privilege of schema tgx, from one declarative list.  Loaded LAST
-- by every `tgxd migrate`, after all other sql/ files, so it sees every object.
--
-- Roles (created NOLOGIN by 0001_core.sql; grant them to login roles):
--   tgx_owner     owns the schema and every object in it (ownership is re-asserted
--                 here on every migrate); SECURITY DEFINER functions run as it.
--                 The migrating login role must be a superuser or a member of it.
--   tgx_app       the daemon (tgxd serve): EXECUTE on the life-cycle, schedule and
--                 keeper functions, SELECT on the inspection views; table
--                 privileges for the REST store (below); SELECT on every other
--                 table.  It never writes tasks, attempts, attestations, settings or
--                 the audit log directly: those change only through functions.
--   tgx_operator  a DBA who steers: everything tgx_reader has (membership) plus
--                 EXECUTE on the steering functions.  No table writes, no DDL.
--   tgx_reader    USAGE on the schema, SELECT on the views and the tables (except
--                 api_keys.key_hash), nothing else.
--   PUBLIC        nothing: no schema USAGE, no table privilege, no EXECUTE.
--
-- Functions are granted by NAME (all overloads) from the list in tgx._grant_list().
-- tgx._apply_grants() raises 55000 when a function or view of schema tgx is
-- missing from the list, so a new function without a grant fails the migration.
-- Internal functions are accounted for by rule and get no grant at all: every
-- function named tgx._* and every trigger or event-trigger function.  Names in
-- the list that do not exist (yet) are skipped.
--
-- Tables are granted by rule: SELECT to tgx_reader and tgx_app on every table,
-- plus the REST store writes of tgx_app listed in tgx._grant_list() (kind 'table').
-- Sequences: identity columns need none; nobody gets sequence privileges.

CREATE OR REPLACE FUNCTION tgx._grant_list()
RETURNS TABLE (object_name text, object_kind text, roles text[], privileges text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._grant_list()
--     The declarative privilege list of schema tgx, read by tgx._apply_grants().
-- Returns: one row per object name:
--     object_name - function name (every overload), view name or table name
--     object_kind - 'function', 'view' or 'table'
--     roles       - the roles granted (tgx_app, tgx_operator, tgx_reader)
--     privileges  - for tables: the extra privileges of those roles (SELECT is
--                   granted to tgx_app and tgx_reader on every table anyway);
--                   NULL for functions (EXECUTE) and views (SELECT)
SELECT v.object_name, v.object_kind, v.roles, v.privileges
  FROM (VALUES
    -- settings (tgx.common.sql)
    ('setting',               'function', '{tgx_app,tgx_operator}'::text[], NULL::text),
    ('setting_interval',      'function', '{tgx_app,tgx_operator}', NULL),
    ('setting_int',           'function', '{tgx_app,tgx_operator}', NULL),
    -- schedules: pure helpers the REST layer and DBAs both use
    ('cron_next',             'function', '{tgx_app,tgx_operator}', NULL),
    ('cron_validate',         'function', '{tgx_app,tgx_operator}', NULL),
    ('preview',               'function', '{tgx_app,tgx_operator}', NULL),
    ('preview_schedule',      'function', '{tgx_app,tgx_operator}', NULL),
    -- schedules: the scheduler role
    ('fire_due_schedules',    'function', '{tgx_app}', NULL),
    ('next_schedule_due',     'function', '{tgx_app}', NULL),
    -- events and conditions: the events and conditions roles
    ('record_chain_logs',     'function', '{tgx_app}', NULL),
    ('claim_condition_checks','function', '{tgx_app}', NULL),
    ('record_condition_values','function','{tgx_app}', NULL),
    -- keepers and the queue: the api (keeper gateway), dispatcher, monitor and health roles
    ('register_keeper',       'function', '{tgx_app}', NULL),
    ('keeper_checkin',        'function', '{tgx_app}', NULL),
    ('sweep_keepers',         'function', '{tgx_app}', NULL),
    ('keeper_scores',         'function', '{tgx_app,tgx_operator}', NULL),
    ('dispatch_tasks',        'function', '{tgx_app}', NULL),
    ('keeper_take',           'function', '{tgx_app}', NULL),
    ('submit_result',         'function', '{tgx_app}', NULL),
    ('submit_results',        'function', '{tgx_app}', NULL),
    ('fail_task',             'function', '{tgx_app}', NULL),
    ('expire_leases',         'function', '{tgx_app}', NULL),
    ('settle_tasks',          'function', '{tgx_app}', NULL),
    ('submit_attestation',    'function', '{tgx_app}', NULL),
    ('expire_attestations',   'function', '{tgx_app}', NULL),
    ('next_queue_deadline',   'function', '{tgx_app}', NULL),
    -- alerts: the health role delivers the outbox (tgx.alerts.sql)
    ('claim_alerts',          'function', '{tgx_app}', NULL),
    ('record_alert_delivery', 'function', '{tgx_app}', NULL),
    ('next_alert_due',        'function', '{tgx_app}', NULL),
    -- steering (audited).  set_schedule also serves the REST job update.
    ('set_setting',           'function', '{tgx_operator}', NULL),
    ('set_schedule',          'function', '{tgx_operator,tgx_app}', NULL),
    ('pause_job',             'function', '{tgx_operator}', NULL),
    ('resume_job',            'function', '{tgx_operator}', NULL),
    ('run_job_now',           'function', '{tgx_operator}', NULL),
    ('cancel_task',           'function', '{tgx_operator}', NULL),
    ('retry_task',            'function', '{tgx_operator}', NULL),
    ('requeue_dead',          'function', '{tgx_operator}', NULL),
    ('drain_keeper',          'function', '{tgx_operator}', NULL),
    ('undrain_keeper',        'function', '{tgx_operator}', NULL),
    ('set_keeper_online',     'function', '{tgx_operator}', NULL),
    ('whitelist_keeper',      'function', '{tgx_operator}', NULL),
    -- HTTP layer (tgx.ratelimit.sql, tgx.task_feed.sql): the api role
    ('rate_limit_sync',       'function', '{tgx_app}', NULL),
    ('task_feed_owners',      'function', '{tgx_app}', NULL),
    ('task_feed_listen',      'function', '{tgx_app}', NULL),
    ('task_feed_unlisten',    'function', '{tgx_app}', NULL),
    -- REST API writes (tgx.rest.sql): the api role
    ('create_jobs',           'function', '{tgx_app}', NULL),
    ('update_job',            'function', '{tgx_app}', NULL),
    ('set_job_status',        'function', '{tgx_app}', NULL),
    ('delete_job',            'function', '{tgx_app}', NULL),
    ('set_job_last_executed', 'function', '{tgx_app}', NULL),
    ('create_task',           'function', '{tgx_app}', NULL),
    ('record_task_execution', 'function', '{tgx_app}', NULL),
    -- keeper gateway (tgx.keeper_gateway.sql): the api role.  keeper_gw_whitelist is the admin
    -- REST route's way to tgx.whitelist_keeper (steering stays tgx_operator's)
    ('keeper_gw_whitelist',   'function', '{tgx_app}', NULL),
    ('keeper_gw_auth',        'function', '{tgx_app}', NULL),
    ('keeper_assigned',       'function', '{tgx_app}', NULL),
    ('keeper_ack',            'function', '{tgx_app}', NULL),
    ('keeper_result',         'function', '{tgx_app}', NULL),
    ('keeper_open_attestations','function','{tgx_app}', NULL),
    ('keeper_task_result',    'function', '{tgx_app}', NULL),
    ('keeper_health_checkin', 'function', '{tgx_app}', NULL),
    -- inspection views (tgx_operator reads them through tgx_reader)
    ('job_overview',          'view',     '{tgx_reader,tgx_app}', NULL),
    ('queue_status',          'view',     '{tgx_reader,tgx_app}', NULL),
    ('stuck_tasks',           'view',     '{tgx_reader,tgx_app}', NULL),
    ('keeper_status',         'view',     '{tgx_reader,tgx_app}', NULL),
    ('keeper_load',           'view',     '{tgx_reader,tgx_app}', NULL),
    ('task_history',          'view',     '{tgx_reader,tgx_app}', NULL),
    ('lateness',              'view',     '{tgx_reader,tgx_app}', NULL),
    ('lateness_hourly',       'view',     '{tgx_reader,tgx_app}', NULL),
    -- the REST store of tgx_app (on top of SELECT on every table)
    ('users',                 'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('api_keys',              'table',    '{tgx_app}', 'INSERT, UPDATE, DELETE'),
    ('safe_addresses',        'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('jobs',                  'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('time_schedules',        'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('event_triggers',        'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('condition_triggers',    'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('custom_scripts',        'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('script_storage',        'table',    '{tgx_app}', 'INSERT, UPDATE, DELETE'),
    ('keepers',               'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('chain_cursors',         'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('alerts',                'table',    '{tgx_app}', 'INSERT, UPDATE'),
    ('alert_deliveries',      'table',    '{tgx_app}', 'INSERT, UPDATE')
  ) AS v (object_name, object_kind, roles, privileges)
$$;
COMMENT ON FUNCTION tgx._grant_list() IS
    'Internal: the declarative privilege list of schema tgx (function names, views, REST store tables and their '
    'roles), applied by tgx._apply_grants()';

CREATE OR REPLACE FUNCTION tgx._apply_grants()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx._apply_grants()
--     Makes the privileges of schema tgx exactly what tgx._grant_list() says:
--     re-owns every object to tgx_owner, revokes everything from PUBLIC and the
--     tgx_* roles, then grants the list.  Runs as the migrating role (not
--     SECURITY DEFINER); idempotent, loaded by grants.sql on every migrate.
--     Extension members in schema tgx are left alone.
-- Raises:
--     55000 when a function or view of schema tgx is not in the list (internal
--           functions tgx._* and trigger functions excepted), or the list has an
--           invalid entry (unknown kind or role, an internal name, a name twice)
-- Tables directly manipulated: none (catalog changes through GRANT/REVOKE/ALTER)
DECLARE
    v_roles constant text[] := ARRAY['tgx_app', 'tgx_operator', 'tgx_reader'];
    v_missing text[] := ARRAY[]::text[];
    v_bad text[] := ARRAY[]::text[];
    r record;
BEGIN
    -- the list itself: known roles and kinds
    SELECT coalesce(array_agg(format('%s (%s)', g.object_name, g.object_kind)), '{}') INTO v_bad
      FROM tgx._grant_list() g
     WHERE g.object_kind NOT IN ('function', 'view', 'table')
        OR NOT g.roles <@ v_roles OR cardinality(g.roles) = 0
        OR g.object_name LIKE '\_%'
        OR (g.object_kind = 'table') <> (g.privileges IS NOT NULL)
        OR (SELECT count(*) FROM tgx._grant_list() d WHERE d.object_name = g.object_name) > 1;
    IF cardinality(v_bad) > 0 THEN
        RAISE EXCEPTION 'cannot apply grants: invalid entries in tgx._grant_list(): %', array_to_string(v_bad, ', ')
            USING ERRCODE = '55000',
                  DETAIL = 'Roles must be among tgx_app, tgx_operator, tgx_reader; internal tgx._* functions '
                           'must not be listed; only tables carry privileges; each name is listed once.';
    END IF;

    -- ownership: the schema, then every object not owned through an extension
    IF (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'tgx') <> 'tgx_owner'::regrole THEN
        EXECUTE 'ALTER SCHEMA tgx OWNER TO tgx_owner';
    END IF;
    FOR r IN
        SELECT c.oid::regclass AS obj, c.relkind
          FROM pg_class c
         WHERE c.relnamespace = 'tgx'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND c.relowner <> 'tgx_owner'::regrole
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('e', 'a', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO tgx_owner',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                      WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                      ELSE 'TABLE' END,
                       r.obj);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS obj, p.prokind
          FROM pg_proc p
         WHERE p.pronamespace = 'tgx'::regnamespace
           AND p.proowner <> 'tgx_owner'::regrole
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO tgx_owner', r.obj);
    END LOOP;
    FOR r IN
        SELECT t.oid::regtype AS obj, t.typtype
          FROM pg_type t
         WHERE t.typnamespace = 'tgx'::regnamespace
           AND t.typowner <> 'tgx_owner'::regrole
           AND t.typtype IN ('d', 'e', 'c', 'r')
           AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                              AND d.deptype IN ('e', 'i'))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO tgx_owner',
                       CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.obj);
    END LOOP;

    -- a clean slate: nothing for PUBLIC, nothing left over for the tgx_* roles
    REVOKE ALL ON SCHEMA tgx FROM PUBLIC, tgx_app, tgx_operator, tgx_reader;
    REVOKE ALL ON ALL TABLES IN SCHEMA tgx FROM PUBLIC, tgx_app, tgx_operator, tgx_reader;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA tgx FROM PUBLIC, tgx_app, tgx_operator, tgx_reader;
    REVOKE ALL ON ALL ROUTINES IN SCHEMA tgx FROM PUBLIC, tgx_app, tgx_operator, tgx_reader;
    FOR r IN
        SELECT c.oid::regclass AS obj, a.attname
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'tgx'::regnamespace AND a.attacl IS NOT NULL
           AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('REVOKE ALL (%I) ON TABLE %s FROM PUBLIC, tgx_app, tgx_operator, tgx_reader',
                       r.attname, r.obj);
    END LOOP;
    ALTER DEFAULT PRIVILEGES FOR ROLE tgx_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

    -- roles
    GRANT USAGE ON SCHEMA tgx TO tgx_app, tgx_operator, tgx_reader;
    IF NOT pg_has_role('tgx_operator', 'tgx_reader', 'MEMBER') THEN
        GRANT tgx_reader TO tgx_operator;
    END IF;

    -- functions: by name, every overload; internal ones get nothing
    FOR r IN
        SELECT p.oid::regprocedure AS obj, p.proname::text AS name, g.roles,
               (p.proname LIKE '\_%' OR p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype))
                   AS internal,
               g.object_kind
          FROM pg_proc p
          LEFT JOIN tgx._grant_list() g ON g.object_name = p.proname::text
         WHERE p.pronamespace = 'tgx'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
         ORDER BY 1::text
    LOOP
        IF r.internal THEN
            CONTINUE;
        ELSIF r.object_kind IS DISTINCT FROM 'function' THEN
            v_missing := v_missing || r.obj::text;
        ELSE
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %s', r.obj,
                           (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.roles) x));
        END IF;
    END LOOP;

    -- views: SELECT for their roles
    FOR r IN
        SELECT c.oid::regclass AS obj, g.roles, g.object_kind
          FROM pg_class c
          LEFT JOIN tgx._grant_list() g ON g.object_name = c.relname::text
         WHERE c.relnamespace = 'tgx'::regnamespace AND c.relkind IN ('v', 'm')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 1::text
    LOOP
        IF r.object_kind IS DISTINCT FROM 'view' THEN
            v_missing := v_missing || r.obj::text;
        ELSE
            EXECUTE format('GRANT SELECT ON TABLE %s TO %s', r.obj,
                           (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.roles) x));
        END IF;
    END LOOP;

    IF cardinality(v_missing) > 0 THEN
        RAISE EXCEPTION 'cannot apply grants: % of schema tgx not in sql/grants.sql: %',
                CASE WHEN cardinality(v_missing) = 1 THEN 'an object' ELSE 'objects' END,
                array_to_string(v_missing, ', ')
            USING ERRCODE = '55000',
                  HINT = 'Add each function (by name) or view to tgx._grant_list() in sql/grants.sql with its '
                         'roles, or name an internal function tgx._*.';
    END IF;

    -- tables: SELECT for tgx_app and tgx_reader on every table (tgx_reader not on
    -- api_keys.key_hash), plus the REST store writes of tgx_app
    FOR r IN
        SELECT c.oid::regclass AS obj, c.relname::text AS name, g.roles, g.privileges
          FROM pg_class c
          LEFT JOIN tgx._grant_list() g ON g.object_name = c.relname::text AND g.object_kind = 'table'
         WHERE c.relnamespace = 'tgx'::regnamespace AND c.relkind IN ('r', 'p', 'f')
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('GRANT SELECT ON TABLE %s TO tgx_app', r.obj);
        IF r.name = 'api_keys' THEN
            EXECUTE format('GRANT SELECT (%s) ON TABLE %s TO tgx_reader',
                           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                              FROM pg_attribute a
                             WHERE a.attrelid = r.obj AND a.attnum > 0 AND NOT a.attisdropped
                               AND a.attname <> 'key_hash'),
                           r.obj);
        ELSE
            EXECUTE format('GRANT SELECT ON TABLE %s TO tgx_reader', r.obj);
        END IF;
        IF r.privileges IS NOT NULL THEN
            EXECUTE format('GRANT %s ON TABLE %s TO %s', r.privileges, r.obj,
                           (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.roles) x));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION tgx._apply_grants() IS
    'Internal: applies tgx._grant_list() (ownership to tgx_owner, nothing for PUBLIC, grants by name); raises '
    '55000 when a function or view of schema tgx is not listed. Run by grants.sql as the migrating role';

DO $$
BEGIN
    PERFORM tgx._apply_grants();
END
$$;
