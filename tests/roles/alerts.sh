#!/usr/bin/env bash
# tests/roles/alerts.sh: the health role delivers the tgx.alerts outbox to local sinks
# (tests/roles/sinks.mjs): a keeper_offline alert raised by the SQL core (tgx.sweep_keepers) and
# a task_dead alert with NOTIFY tgx_alert go by webhook, Telegram-style HTTP and SMTP; a webhook
# that fails twice is retried with backoff, every attempt is in tgx.alert_deliveries, channels
# that accepted are not sent again; a target that always fails is given up after
# alert_max_attempts.  Prints TAP.
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"
command -v node >/dev/null || bail "node is not installed"

start_sinks

# a keeper silent for a minute: offline at the first sweep, alerted one second later
q "UPDATE tgx.settings SET value = '1 second' WHERE name IN ('keeper_silence', 'keeper_offline_alert')" >/dev/null
kid=$(q "SELECT tgx.register_keeper('0x9' || lpad('5', 39, '0'), 'silent keeper')") || bail "register_keeper failed"
q "UPDATE tgx.keepers SET whitelisted = true WHERE keeper_id = $kid;
   SELECT tgx.keeper_checkin($kid, 'test', 0, clock_timestamp() - interval '1 minute')" >/dev/null || bail "check-in failed"

start_tgxd health --roles=health --sweep-ms 300 \
  --alert-webhook "http://127.0.0.1:$http_port/flaky/hook" \
  --alert-telegram-url "http://127.0.0.1:$http_port/bot123:ABC" --alert-telegram-chat 4242 \
  --alert-smtp-url "smtp://127.0.0.1:$smtp_port" --alert-smtp-from alerts@tgx.local \
  --alert-smtp-to ops@tgx.local --alert-smtp-to dba@tgx.local \
  --alert-backoff-ms 200 --alert-max-attempts 5 --alert-timeout-ms 3000

wait_until 15 "SELECT EXISTS (SELECT 1 FROM tgx.alerts WHERE kind = 'keeper_offline')"
check $? "the SQL core raises a keeper_offline alert (health sweeps)"
# a second alert, announced by NOTIFY like the queue's task_dead alerts
q "INSERT INTO tgx.alerts (kind, subject, payload) VALUES ('task_dead', 'task 77 is dead', '{\"task_id\": 77}');
   NOTIFY tgx_alert" >/dev/null
wait_until 20 "SELECT count(*) = 2 AND bool_and(delivered_at IS NOT NULL) FROM tgx.alerts"
check $? "both alerts are delivered on every channel" \
  "$(q "SELECT alert_id, kind, attempts, delivered_at, given_up_at, last_error FROM tgx.alerts")"

is "$(q "SELECT count(*) FROM tgx.alert_deliveries WHERE channel = 'webhook' AND NOT ok AND error LIKE 'HTTP status 500%'")" \
  2 "the two failed webhook attempts are recorded with their error"
is "$(q "SELECT string_agg(channel || '=' || n, ' ' ORDER BY channel) FROM
         (SELECT channel, count(*) n FROM tgx.alert_deliveries WHERE ok GROUP BY channel) x")" \
  "smtp=2 telegram=2 webhook=2" "every channel accepted each alert once"
is "$(q "SELECT sum(attempts) FROM tgx.alerts")" 4 "two retries in all (backoff), four attempts"
is "$(q "SELECT count(*) FROM tgx.alerts a WHERE EXISTS (SELECT 1 FROM tgx.alert_deliveries d
          WHERE d.alert_id = a.alert_id AND NOT d.ok) AND a.delivered_at > a.created_at")" \
  "$(q "SELECT count(DISTINCT alert_id) FROM tgx.alert_deliveries WHERE NOT ok")" \
  "an alert that failed was delivered later"

# what the sinks got
n_tg=$(grep -c '"url":"/bot123:ABC/sendMessage"' "$work/http.jsonl")
is "$n_tg" 2 "Telegram-style: one sendMessage per alert (not resent on the webhook's retries)"
grep '"url":"/bot123:ABC/sendMessage"' "$work/http.jsonl" | head -n 1 |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(JSON.parse(s).body);
    process.exit(b.chat_id==="4242" && /^\[tgx\] (keeper_offline|task_dead): /.test(b.text) ? 0 : 1)})'
check $? "Telegram-style body: {chat_id, text}" "$(head -n 3 "$work/http.jsonl")"
grep '"url":"/flaky/hook"' "$work/http.jsonl" | tail -n 1 |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(JSON.parse(s).body);
    process.exit(Number.isInteger(b.alert_id) && b.kind && b.subject && typeof b.payload==="object" && b.attempt>=1 ? 0 : 1)})'
check $? "webhook body: the alert as JSON" "$(grep flaky "$work/http.jsonl" | tail -n 1)"
is "$(wc -l <"$work/smtp.jsonl" 2>/dev/null | tr -d ' ')" 2 "SMTP: one mail per alert"
node -e '
  const fs = require("fs");
  const m = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const ok = m.every(x => x.from === "<alerts@tgx.local>" && x.to.join(",") === "<ops@tgx.local>,<dba@tgx.local>"
    && /\r\nSubject: \[tgx\] (keeper_offline|task_dead): /.test(x.data) && /Content-Type: text\/plain/.test(x.data));
  const kinds = m.map(x => /Subject: \[tgx\] (\w+)/.exec(x.data)[1]).sort().join(",");
  process.exit(ok && kinds === "keeper_offline,task_dead" ? 0 : 1);' "$work/smtp.jsonl"
check $? "SMTP: MAIL FROM, RCPT TO and a plain-text mail per alert" "$(head -c 600 "$work/smtp.jsonl")"

stop_tgxd health TERM 10
is "$stop_rc" 0 "SIGTERM: exit status 0"

# a webhook that never answers 2xx: given up after 3 attempts, each recorded
start_tgxd health2 --roles=health --alert-webhook "http://127.0.0.1:$http_port/down/hook" \
  --alert-backoff-ms 100 --alert-max-attempts 3 --alert-timeout-ms 3000
q "INSERT INTO tgx.alerts (kind, subject) VALUES ('job_failing', 'job 9 keeps failing'); NOTIFY tgx_alert" >/dev/null
wait_until 20 "SELECT given_up_at IS NOT NULL FROM tgx.alerts WHERE kind = 'job_failing'"
check $? "an alert no channel accepts is given up" "$(q "SELECT attempts, given_up_at, last_error FROM tgx.alerts WHERE kind = 'job_failing'")"
is "$(q "SELECT count(*) || ' ' || bool_and(NOT ok AND error LIKE 'HTTP status 503%') FROM tgx.alert_deliveries d
         JOIN tgx.alerts a USING (alert_id) WHERE a.kind = 'job_failing'")" "3 true" "after 3 recorded failed attempts"
is "$(q "SELECT delivered_at IS NULL AND last_error LIKE 'webhook: HTTP status 503%' FROM tgx.alerts WHERE kind = 'job_failing'")" \
  t "never delivered, the last error kept"
stop_tgxd health2 TERM 10
is "$stop_rc" 0 "SIGTERM: exit status 0"
done_testing
