-- 0008_keeper_gateway.sql: the replay cache of the keeper gateway (REST, api role).
--
-- Every signed keeper request (/api/keeper/*) is accepted once: its signature's hash is
-- recorded here by tgx.keeper_gw_auth() (sql/tgx.keeper_gateway.sql) with a unique key, in the
-- same single statement round trip that checks the keeper, so every tgxd instance shares the
-- cache.  A request's timestamp must be within 60 s of the server clock, so an entry older than
-- 2 minutes can never match a request that would be accepted: tgx.keeper_gw_auth() prunes those.
-- UNLOGGED: after a crash the table is empty, and requests signed before the crash could be
-- replayed for at most the remaining window (60 s): accepted, as the cost of not logging every
-- request.

CREATE UNLOGGED TABLE tgx.keeper_request_sigs (
    keeper_id bigint      NOT NULL,
    sig_hash  bytea       NOT NULL CHECK (octet_length(sig_hash) = 32),
    seen_at   timestamptz NOT NULL,
    PRIMARY KEY (keeper_id, sig_hash)
);
CREATE INDEX keeper_request_sigs_seen ON tgx.keeper_request_sigs (seen_at);
COMMENT ON TABLE tgx.keeper_request_sigs IS
    'Replay cache of the keeper gateway: SHA-256 of each accepted request signature per keeper, pruned after 2 '
    'minutes (UNLOGGED: emptied by a crash)';
