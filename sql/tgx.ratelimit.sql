-- tgx.ratelimit.sql: the cluster-wide counts of the REST rate limiter (src/http/ratelimit.c).

CREATE OR REPLACE FUNCTION tgx.rate_limit_sync(
    i_instance text, i_window timestamptz, i_deltas jsonb,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.rate_limit_sync(instance, window, deltas [, now])
--   One sync step of a tgxd instance's rate limiter: adds the requests the
--   instance counted since its last call to its own row per key, prunes
--   windows older than 5 minutes, and returns the cluster-wide totals of the
--   window.
-- Parameters:
--   i_instance - the instance's name (tgxd --instance-id), 1..100 characters
--   i_window   - the start of the one-minute window the counts belong to
--   i_deltas   - {"<key_id>": hits, ...}: new hits per API key id (hits >= 0;
--                may be {} to only read the totals)
--   i_now      - the current time (tests move it); only the pruning uses it
-- Returns: {"<key_id>": total, ...} for every key counted by any instance in
--   i_window, this call's deltas included.
-- Raises: 22023 for a bad instance name, a NULL window, deltas that are not an
--   object of non-negative integers keyed by decimal key ids.
-- Tables directly manipulated: tgx.rate_limit_counters (insert, update, delete).
DECLARE
    v_bad text;
    v_totals jsonb;
BEGIN
    IF i_instance IS NULL OR char_length(i_instance) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'invalid instance id' USING ERRCODE = '22023', COLUMN = 'instance_id',
            HINT = 'The instance id is 1 to 100 characters.';
    END IF;
    IF i_window IS NULL THEN
        RAISE EXCEPTION 'window must not be null' USING ERRCODE = '22023', COLUMN = 'window_start';
    END IF;
    IF i_deltas IS NULL OR jsonb_typeof(i_deltas) <> 'object' THEN
        RAISE EXCEPTION 'deltas must be a JSON object' USING ERRCODE = '22023', COLUMN = 'hits';
    END IF;
    SELECT d.key INTO v_bad
      FROM jsonb_each(i_deltas) d
     WHERE d.key !~ '^[0-9]{1,18}$'
        OR jsonb_typeof(d.value) <> 'number'
        OR d.value::text !~ '^[0-9]{1,18}$'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invalid rate-limit delta for key "%"', v_bad USING ERRCODE = '22023', COLUMN = 'hits',
            HINT = 'Deltas are {"<key_id>": hits} with decimal key ids and non-negative integer hits.';
    END IF;

    DELETE FROM tgx.rate_limit_counters c WHERE c.window_start < i_now - interval '5 minutes';

    INSERT INTO tgx.rate_limit_counters AS c (window_start, key_id, instance_id, hits)
    SELECT i_window, d.key::bigint, i_instance, d.value::text::bigint
      FROM jsonb_each(i_deltas) d
     WHERE d.value::text::bigint > 0
     ORDER BY d.key::bigint
    ON CONFLICT (window_start, key_id, instance_id) DO UPDATE SET hits = c.hits + EXCLUDED.hits;

    SELECT coalesce(jsonb_object_agg(s.key_id::text, s.total), '{}'::jsonb) INTO v_totals
      FROM (SELECT c.key_id, sum(c.hits)::bigint AS total
              FROM tgx.rate_limit_counters c
             WHERE c.window_start = i_window
             GROUP BY c.key_id) s;
    RETURN v_totals;
END
$$;
COMMENT ON FUNCTION tgx.rate_limit_sync(text, timestamptz, jsonb, timestamptz) IS
    'Rate limiter sync of one tgxd instance: adds its per-key hit deltas for a one-minute window, prunes windows '
    'older than 5 minutes, returns {"<key_id>": total} of the window across all instances';
