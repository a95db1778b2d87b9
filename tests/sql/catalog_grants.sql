-- catalog_grants.sql: the catalog rules of schema tgx, checked over every object that exists, so a
-- new function or view that breaks them fails here:
--   every function and view has a COMMENT; every public function is granted to a tgx_* role and
--   internal ones (tgx._*, trigger functions) to none; PUBLIC has nothing; every function pins
--   search_path, except internal SQL expressions meant to be inlined (a SET clause prevents
--   inlining; inlined, they are resolved under their caller's pinned path); the objects belong to tgx_owner; and sql/grants.sql (tgx._apply_grants) refuses a
--   function or view it does not list.
-- Each test reports the offending objects by name.
BEGIN;
SELECT plan(21);

CREATE TEMP VIEW fn AS
SELECT p.oid, p.oid::regprocedure::text AS name, p.proname, p.prosecdef, p.proconfig, p.proowner,
       (p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql') AND p.provolatile IN ('i', 's'))
           AS inlinable,
       coalesce(p.proacl, acldefault('f', p.proowner)) AS acl,
       (p.proname LIKE '\_%' OR p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)) AS internal
  FROM pg_proc p
 WHERE p.pronamespace = 'tgx'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e');
CREATE TEMP VIEW rel AS
SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.relowner,
       coalesce(c.relacl, acldefault('r', c.relowner)) AS acl
  FROM pg_class c
 WHERE c.relnamespace = 'tgx'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f');
CREATE TEMP VIEW grantee AS
SELECT f.oid, f.name, f.internal, a.grantee, a.privilege_type
  FROM fn f, aclexplode(f.acl) a;

-- comments
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM fn
            WHERE coalesce(btrim(obj_description(oid, 'pg_proc')), '') = ''),
          NULL, 'every function of schema tgx has a COMMENT');
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM rel
            WHERE relkind IN ('v', 'm') AND coalesce(btrim(obj_description(oid, 'pg_class')), '') = ''),
          NULL, 'every view of schema tgx has a COMMENT');
SELECT cmp_ok((SELECT count(*) FROM fn WHERE NOT internal), '>=', 17::bigint,
              'the catalog tests see the public functions');

-- grants of functions
SELECT is((SELECT string_agg(f.name, ', ' ORDER BY f.name) FROM fn f
            WHERE NOT f.internal
              AND NOT EXISTS (SELECT 1 FROM grantee g
                               WHERE g.oid = f.oid AND g.privilege_type = 'EXECUTE'
                                 AND g.grantee IN ('tgx_app'::regrole, 'tgx_operator'::regrole,
                                                   'tgx_reader'::regrole))),
          NULL, 'every public function is granted to a tgx_* role');
SELECT is((SELECT string_agg(DISTINCT name, ', ') FROM grantee WHERE grantee = 0),
          NULL, 'PUBLIC may execute no function of schema tgx');
SELECT is((SELECT string_agg(DISTINCT name, ', ') FROM grantee
            WHERE internal AND grantee IN ('tgx_app'::regrole, 'tgx_operator'::regrole, 'tgx_reader'::regrole)),
          NULL, 'internal functions (tgx._*, triggers) are granted to no tgx_* role');
SELECT is((SELECT string_agg(DISTINCT name, ', ') FROM grantee
            WHERE grantee = 'tgx_reader'::regrole AND privilege_type = 'EXECUTE'),
          NULL, 'tgx_reader executes no function');
SELECT is((SELECT string_agg(f.name, ', ' ORDER BY f.name) FROM fn f
            WHERE f.proname IN ('pause_job', 'resume_job', 'run_job_now', 'cancel_task', 'retry_task', 'requeue_dead',
                                'drain_keeper', 'undrain_keeper', 'set_keeper_online', 'whitelist_keeper',
                                'set_setting')
              AND (NOT has_function_privilege('tgx_operator', f.oid, 'EXECUTE')
                   OR has_function_privilege('tgx_app', f.oid, 'EXECUTE'))),
          NULL, 'steering functions: tgx_operator only');

-- search_path and SECURITY DEFINER
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM fn
            WHERE prosecdef AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)),
          NULL, 'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM fn
            WHERE NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
              AND NOT (internal AND inlinable AND NOT prosecdef AND proconfig IS NULL)),
          NULL, 'every function of schema tgx pins search_path = pg_catalog, pg_temp (but inlined SQL expressions)');
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM fn WHERE NOT internal AND NOT prosecdef),
          NULL, 'every public function is SECURITY DEFINER (callers need no table privilege)');

-- tables and views
SELECT is((SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM rel r, aclexplode(r.acl) a WHERE a.grantee = 0),
          NULL, 'PUBLIC has no privilege on any table, view or sequence of schema tgx');
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM rel
            WHERE relkind IN ('v', 'm') AND NOT has_table_privilege('tgx_reader', oid, 'SELECT')),
          NULL, 'tgx_reader reads every view');
SELECT is((SELECT string_agg(name, ', ' ORDER BY name) FROM rel
            WHERE relkind IN ('r', 'p') AND name <> 'tgx.api_keys'
              AND NOT has_table_privilege('tgx_reader', oid, 'SELECT')),
          NULL, 'tgx_reader reads every table (api_keys: all columns but key_hash)');
SELECT is((SELECT string_agg(r.name || ' ' || p.priv || ' for ' || g.role, ', ' ORDER BY r.name)
             FROM rel r,
                  unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p (priv),
                  unnest(ARRAY['tgx_reader', 'tgx_operator']) AS g (role)
            WHERE r.relkind IN ('r', 'p', 'v', 'm') AND has_table_privilege(g.role, r.oid, p.priv)),
          NULL, 'tgx_reader and tgx_operator write no table');
SELECT is((SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM rel r
            WHERE r.name IN ('tgx.tasks', 'tgx.task_attempts', 'tgx.attestations', 'tgx.audit_log', 'tgx.settings',
                             'tgx.schema_migrations', 'tgx.keeper_checkins')
              AND (has_table_privilege('tgx_app', r.oid, 'INSERT') OR has_table_privilege('tgx_app', r.oid, 'UPDATE')
                   OR has_table_privilege('tgx_app', r.oid, 'DELETE'))),
          NULL, 'tgx_app changes the work set, settings and audit log only through functions');

-- ownership and schema
SELECT is((SELECT string_agg(name, ', ' ORDER BY name)
             FROM (SELECT name, proowner AS owner FROM fn UNION ALL SELECT name, relowner FROM rel) o
            WHERE owner <> 'tgx_owner'::regrole),
          NULL, 'tgx_owner owns every function, table, view and sequence of schema tgx');
SELECT ok(NOT has_schema_privilege('public', 'tgx', 'USAGE')
          AND (SELECT nspowner = 'tgx_owner'::regrole FROM pg_namespace WHERE nspname = 'tgx'),
          'schema tgx belongs to tgx_owner and PUBLIC cannot use it');

-- sql/grants.sql refuses what it does not list
SELECT lives_ok('SELECT tgx._apply_grants()', 'tgx._apply_grants() runs again on the migrated schema');
CREATE FUNCTION tgx.t46_unlisted() RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE VIEW tgx.t46_unlisted_view AS SELECT 1 AS one;
CREATE FUNCTION tgx._t46_internal() RETURNS integer LANGUAGE sql AS 'SELECT 1';
SELECT throws_ok('SELECT tgx._apply_grants()', '55000',
                 'cannot apply grants: objects of schema tgx not in sql/grants.sql: tgx.t46_unlisted(), '
                 || 'tgx.t46_unlisted_view',
                 'a function or view missing from sql/grants.sql fails the migration (internal tgx._* do not)');

CREATE OR REPLACE FUNCTION tgx._grant_list()
RETURNS TABLE (object_name text, object_kind text, roles text[], privileges text)
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ VALUES ('pause_job', 'function', '{postgres}'::text[], NULL::text) $$;
SELECT throws_ok('SELECT tgx._apply_grants()', '55000',
                 'cannot apply grants: invalid entries in tgx._grant_list(): pause_job (function)',
                 'a grant to a role other than tgx_app, tgx_operator, tgx_reader fails the migration');

SELECT * FROM finish();
ROLLBACK;
