-- 0006_rest.sql: what the REST store (src/store/pg.c) needs beyond the earlier migrations.
--
-- Forward-only DDL.  Every list route pages newest first with an opaque cursor holding the
-- last row's sort key (keyset pagination: WHERE (created_at, job_id) < ($cursor) ORDER BY ...
-- DESC LIMIT n), so each sort key gets an index that ends with a unique column:
--  * jobs of a user and jobs of a Safe wallet: (created_at DESC, job_id DESC); they replace
--    jobs_user and jobs_safe of 0001_core.sql, whose prefixes they contain.
--  * Safe wallets of a user: (created_at DESC, safe_address DESC).
-- Tasks page on task_id (tasks_job, the primary key), users on user_id, keepers on keeper_id,
-- API keys on key_id within an owner (api_keys_owner is extended with it).

CREATE INDEX jobs_user_page ON tgx.jobs (user_id, created_at DESC, job_id DESC);
DROP INDEX tgx.jobs_user;

CREATE INDEX jobs_safe_page ON tgx.jobs (safe_address, created_at DESC, job_id DESC)
    WHERE safe_address IS NOT NULL;
DROP INDEX tgx.jobs_safe;

CREATE INDEX safe_addresses_page ON tgx.safe_addresses (user_address, created_at DESC, safe_address DESC);

CREATE INDEX api_keys_owner_page ON tgx.api_keys (owner, key_id DESC);
DROP INDEX tgx.api_keys_owner;
