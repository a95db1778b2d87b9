-- 0005_http.sql: the shared per-key request counts of the REST rate limiter.
--
-- Forward-only DDL.  Every tgxd instance counts requests per API key locally and,
-- every ~250 ms, adds its new counts to its OWN rows here through
-- tgx.rate_limit_sync() and reads the cluster totals of the current window back
-- (sql/tgx.ratelimit.sql).  One row per (window, key, instance), so instances
-- never update the same row and never wait on each other.
--  * UNLOGGED: the counts of a one-minute window are worthless after a crash;
--    skipping the WAL keeps a sync call cheap.
--  * The primary key leads with window_start, so the pruning DELETE of old
--    windows and the totals of the current window are index range scans.

CREATE UNLOGGED TABLE IF NOT EXISTS tgx.rate_limit_counters (
    window_start timestamptz NOT NULL,
    key_id       bigint NOT NULL,
    instance_id  text NOT NULL CHECK (char_length(instance_id) BETWEEN 1 AND 100),
    hits         bigint NOT NULL CHECK (hits >= 0),
    PRIMARY KEY (window_start, key_id, instance_id)
);
COMMENT ON TABLE tgx.rate_limit_counters IS
    'Requests per API key per one-minute window counted by each tgxd instance (written only by '
    'tgx.rate_limit_sync(); windows older than 5 minutes are pruned by it)';
