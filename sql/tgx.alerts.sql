-- tgx.alerts.sql: delivery of the tgx.alerts outbox by the health role (src/roles/health.c).
--
-- The SQL core writes alerts (keeper_offline, task_dead, job_failing) and NOTIFY tgx_alert.
-- The health role claims a small batch of due alerts (tgx.claim_alerts: FOR UPDATE SKIP
-- LOCKED, then a delivery lease: next_try_at moves past the delivery so a second tgxd does not
-- send the same alert meanwhile, and attempts + 1), delivers each on every configured channel
-- that has not accepted it yet, outside any transaction, and records the outcome
-- (tgx.record_alert_delivery: one tgx.alert_deliveries row per channel tried; delivered_at
-- when every configured channel has accepted the alert, given_up_at when the attempts are
-- used up, otherwise next_try_at = now + the retry delay).  A tgxd that dies while delivering
-- loses nothing: the alert comes due again when its lease ends.

CREATE OR REPLACE FUNCTION tgx.claim_alerts(
    i_batch integer,
    i_lease interval,
    i_max_attempts integer,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS TABLE (alert_id bigint, kind text, subject text, payload jsonb, created_at timestamptz,
               attempt integer, delivered_channels text[])
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.claim_alerts(i_batch, i_lease, i_max_attempts, i_now)
--   The health role's claim of alerts to deliver: up to i_batch undelivered alerts whose
--   next_try_at <= i_now (index alerts_undelivered, oldest first, FOR UPDATE SKIP LOCKED).
--   Alerts whose attempts already reached i_max_attempts (their deliverer died each time)
--   are given up (given_up_at = i_now) and not returned.  The others get attempts + 1 and
--   next_try_at = i_now + i_lease: nobody else claims them while they are delivered.
-- Parameters:
--   i_batch         most alerts to claim (1..1000)
--   i_lease         how long the delivery may take (> 0)
--   i_max_attempts  attempts after which an alert is given up (1..1000)
--   i_now           the current instant
-- Returns: one row per claimed alert: its fields, the number of this attempt (1 for the first)
--   and the channels that accepted it in earlier attempts (not to be sent again).
-- Raises: 22023 for a parameter out of range.
-- Tables: tgx.alerts (update), tgx.alert_deliveries (read).
BEGIN
    PERFORM tgx._check_batch(i_batch, 1000);
    IF i_lease IS NULL OR i_lease <= interval '0' THEN
        RAISE EXCEPTION 'invalid lease %', i_lease
            USING ERRCODE = '22023', DETAIL = 'The lease must be a positive interval.';
    END IF;
    IF i_max_attempts IS NULL OR i_max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'invalid maximum of attempts %', i_max_attempts
            USING ERRCODE = '22023', DETAIL = 'The maximum must be between 1 and 1000.';
    END IF;
    RETURN QUERY
    WITH due AS (
        SELECT a.alert_id, a.attempts
          FROM tgx.alerts a
         WHERE a.delivered_at IS NULL AND a.given_up_at IS NULL AND a.next_try_at <= i_now
         ORDER BY a.next_try_at
         LIMIT i_batch
           FOR UPDATE SKIP LOCKED
    ), upd AS (
        UPDATE tgx.alerts a
           SET attempts = a.attempts + CASE WHEN d.attempts >= i_max_attempts THEN 0 ELSE 1 END,
               next_try_at = CASE WHEN d.attempts >= i_max_attempts THEN a.next_try_at ELSE i_now + i_lease END,
               given_up_at = CASE WHEN d.attempts >= i_max_attempts THEN i_now END,
               last_error = CASE WHEN d.attempts >= i_max_attempts
                                 THEN coalesce(a.last_error, 'attempts used up') ELSE a.last_error END
          FROM due d
         WHERE a.alert_id = d.alert_id
        RETURNING a.alert_id, a.kind, a.subject, a.payload, a.created_at, a.attempts, a.given_up_at
    )
    SELECT u.alert_id, u.kind, u.subject, u.payload, u.created_at, u.attempts,
           coalesce((SELECT array_agg(DISTINCT ad.channel ORDER BY ad.channel)
                       FROM tgx.alert_deliveries ad
                      WHERE ad.alert_id = u.alert_id AND ad.ok), '{}'::text[])
      FROM upd u
     WHERE u.given_up_at IS NULL
     ORDER BY u.alert_id;
END
$$;
COMMENT ON FUNCTION tgx.claim_alerts(integer, interval, integer, timestamptz) IS
    'Health role: claims up to i_batch due undelivered alerts (SKIP LOCKED) for a delivery lease, attempts + 1; '
    'gives up those whose attempts are used up; returns them with the channels that already accepted them';

CREATE OR REPLACE FUNCTION tgx.record_alert_delivery(
    i_alert_id bigint,
    i_attempt integer,
    i_channels text[],
    i_ok boolean[],
    i_errors text[],
    i_configured text[],
    i_max_attempts integer,
    i_retry_after interval,
    i_now timestamptz DEFAULT clock_timestamp())
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.record_alert_delivery(alert, attempt, channels, ok, errors, configured,
--                                     max_attempts, retry_after, now)
--   Records one delivery attempt of an alert claimed by tgx.claim_alerts: a
--   tgx.alert_deliveries row per channel tried (i_channels[k], i_ok[k], i_errors[k]).
--   Then, when the alert is still at attempt i_attempt (nobody claimed it since):
--   delivered_at = i_now when every channel of i_configured has accepted it (in this or an
--   earlier attempt); otherwise given_up_at = i_now when i_attempt >= i_max_attempts, else
--   next_try_at = i_now + i_retry_after; last_error = the errors of this attempt.
-- Parameters:
--   i_alert_id      the alert
--   i_attempt       the attempt number tgx.claim_alerts returned
--   i_channels      channels tried now (webhook, telegram, smtp), i_ok and i_errors alike
--   i_configured    every channel configured (the alert is delivered when all accepted it)
--   i_max_attempts  attempts after which the alert is given up
--   i_retry_after   delay before the next attempt
-- Returns: 'delivered', 'retry', 'given_up', or 'stale' when the alert moved on meanwhile
--   (delivered, given up or claimed again: only the deliveries were recorded).
-- Raises: P0002 for an unknown alert; 22023 for arrays of different lengths.
-- Tables: tgx.alert_deliveries (insert), tgx.alerts (update).
DECLARE
    v_attempts integer;
    v_done boolean;
    v_errors text;
    v_result text;
BEGIN
    IF cardinality(i_channels) IS DISTINCT FROM cardinality(i_ok)
       OR cardinality(i_channels) IS DISTINCT FROM cardinality(i_errors) THEN
        RAISE EXCEPTION 'invalid delivery record of alert %', i_alert_id
            USING ERRCODE = '22023', DETAIL = 'The channels, results and errors must be arrays of the same length.';
    END IF;
    SELECT a.attempts INTO v_attempts FROM tgx.alerts a
     WHERE a.alert_id = i_alert_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'alert % does not exist', i_alert_id USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO tgx.alert_deliveries (alert_id, channel, attempted_at, ok, error)
    SELECT i_alert_id, c.channel, i_now, c.ok, CASE WHEN c.ok THEN NULL ELSE c.error END
      FROM unnest(i_channels, i_ok, i_errors) AS c (channel, ok, error);
    SELECT string_agg(format('%s: %s', c.channel, coalesce(c.error, 'failed')), '; ')
      INTO v_errors
      FROM unnest(i_channels, i_ok, i_errors) AS c (channel, ok, error)
     WHERE NOT c.ok;
    SELECT NOT EXISTS (SELECT 1 FROM unnest(i_configured) AS w (channel)
                        WHERE NOT EXISTS (SELECT 1 FROM tgx.alert_deliveries ad
                                           WHERE ad.alert_id = i_alert_id AND ad.channel = w.channel AND ad.ok))
      INTO v_done;
    UPDATE tgx.alerts a
       SET delivered_at = CASE WHEN v_done THEN i_now END,
           given_up_at = CASE WHEN NOT v_done AND i_attempt >= i_max_attempts THEN i_now END,
           next_try_at = CASE WHEN v_done OR i_attempt >= i_max_attempts THEN a.next_try_at
                              ELSE i_now + i_retry_after END,
           last_error = CASE WHEN v_done THEN a.last_error ELSE v_errors END
     WHERE a.alert_id = i_alert_id AND a.attempts = i_attempt
       AND a.delivered_at IS NULL AND a.given_up_at IS NULL
    RETURNING CASE WHEN a.delivered_at IS NOT NULL THEN 'delivered'
                   WHEN a.given_up_at IS NOT NULL THEN 'given_up' ELSE 'retry' END
      INTO v_result;
    RETURN coalesce(v_result, 'stale');
END
$$;
COMMENT ON FUNCTION tgx.record_alert_delivery(bigint, integer, text[], boolean[], text[], text[], integer, interval,
                                              timestamptz) IS
    'Health role: records one delivery attempt (a tgx.alert_deliveries row per channel tried) and sets delivered_at '
    '(every configured channel accepted), given_up_at (attempts used up) or the next try; returns delivered, retry, '
    'given_up or stale';

CREATE OR REPLACE FUNCTION tgx.next_alert_due()
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- Function: tgx.next_alert_due()
--   When the health role should deliver alerts next: the earliest next_try_at of the
--   undelivered alerts (possibly past: work is waiting).
-- Returns: that instant, NULL when no alert waits.
-- Tables: tgx.alerts (read, index alerts_undelivered).
SELECT a.next_try_at FROM tgx.alerts a
 WHERE a.delivered_at IS NULL AND a.given_up_at IS NULL
 ORDER BY a.next_try_at
 LIMIT 1
$$;
COMMENT ON FUNCTION tgx.next_alert_due() IS
    'The earliest next_try_at of the undelivered alerts (NULL when none): the health role sleeps until then or '
    'NOTIFY tgx_alert';
