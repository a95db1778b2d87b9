#!/usr/bin/env bash
# tests/e2e/keepers.sh: the whole loop, everything real: PostgreSQL, `tgxd serve --roles=all`, an
# anvil chain with two Counter contracts (tests/e2e/contracts, compiled now with npm solc), three
# `tgx-keeper run` with keys from `tgx-keeper keygen`, local alert sinks (tests/roles/sinks.mjs).
# Jobs are created over REST as the SDK sends them.  Cases (issue 4, "End-to-end tests"):
#   1. an interval job every 2 s for 20 s (Counter 1): the on-chain count equals the succeeded
#      tasks, each with its transaction (sent by its performer) and attested true by the other keepers
#   2. a cron job "* * * * *" fires on the minute and succeeds on chain
#   3. a job calling boom(): dead after its first attempt, "Counter: boom" on the task
#   4. kill -9 of the keeper that holds a task: re-dispatched, succeeds once
#   5. kill -9 of tgxd during case 1, then a restart: every instant fired once, none lost or doubled
#   6. a keeper that goes silent (SIGSTOP): offline, its task re-dispatched, the keeper_offline alert
#      delivered to the HTTP sink and to the SMTP sink
#   7. a forged and a replayed keeper signature: 401 INVALID_SIGNATURE / REPLAYED_REQUEST, nothing changed
# Counter 2 takes the other jobs with distinct increments (cron 100, case 4 10, case 6 1000): at the
# end its count equals their succeeded tasks' increments, so a double execution shows.  The timings
# of tgx.settings are shortened (ack timeout, lease, attestation deadline, keeper silence, offline
# alert) per phase.  Prints TAP; on failure the tails of the logs.
#
# Given a running test cluster (PGHOST/PGPORT/PGUSER, as tests/run.sh starts it) it uses it; run
# alone, it starts its own (tests/roles/lib.bash).  Environment: TGXD (default build/tgxd),
# TGX_KEEPER (default build/tgx-keeper), TGX_MIGRATE, TGX_E2E_LOGS (a directory to copy the logs to).  Runs `npm ci` in tests/e2e when needed.
# shellcheck source=tests/roles/lib.bash
. "$(dirname "$0")/../roles/lib.bash"
e2e=$top/tests/e2e
helper=$e2e/lib/keepers.mjs
KEEPER=${TGX_KEEPER:-$top/build/tgx-keeper}

{ command -v node >/dev/null && command -v npm >/dev/null; } || bail "node and npm are needed"
[ -x "$KEEPER" ] || bail "$KEEPER is missing (run make)"
# a private copy, like lib.bash's tgxd: a `make` during the run cannot swap it
cp "$KEEPER" "$work/tgx-keeper" || bail "cannot copy $KEEPER"
KEEPER=$work/tgx-keeper
"$KEEPER" run --help >"$work/keeper-help.txt" 2>&1 || bail "tgx-keeper run --help failed: $(head -c 300 "$work/keeper-help.txt")"
grep -q -- '--api' "$work/keeper-help.txt" || bail "tgx-keeper run is not implemented: $(head -c 300 "$work/keeper-help.txt")"
node_() { node "$helper" "$@" 2>>"$work/node.log"; }
setting() { q "SELECT tgx.set_setting('$1', '$2', 'e2e keepers test')" >/dev/null; }

# --- anvil and the contracts ------------------------------------------------------------------
# (not --silent: its log of calls and transactions is among the logs printed on failure)
start_anvil "$work/anvil.log" || bail "$net_error"
extra_pids+=("$anvil_pid")
rpc=$anvil_url

# --- keepers' keys: three run by tgx-keeper, a fourth only signs requests by hand (case 7) ---------
declare -A KADDR=() KID=() KPID=()
for n in 1 2 3; do
  KADDR[$n]=$("$KEEPER" keygen --key "$work/k$n.key" 2>>"$work/keygen.log" | tr 'A-F' 'a-f') ||
    bail "tgx-keeper keygen failed"
  [[ ${KADDR[$n]} =~ ^0x[0-9a-f]{40}$ ]] || bail "tgx-keeper keygen printed '${KADDR[$n]}'"
done
k4_secret=0x$(printf 'tgx e2e keeper 4 %s' "$$" | sha256sum | cut -c1-64)
(umask 077 && echo "$k4_secret" >"$work/k4.key")
KADDR[4]=$("$KEEPER" address --key "$work/k4.key" 2>>"$work/keygen.log" | tr 'A-F' 'a-f')
[[ ${KADDR[4]} =~ ^0x[0-9a-f]{40}$ ]] || bail "tgx-keeper address printed '${KADDR[4]}'"

deployed=$(node_ deploy "$rpc" "${KADDR[1]}" "${KADDR[2]}" "${KADDR[3]}") || bail "deploying the Counters failed"
counter1=$(node -e 'console.log(JSON.parse(process.argv[1]).counter1)' "$deployed")
counter2=$(node -e 'console.log(JSON.parse(process.argv[1]).counter2)' "$deployed")
owner=$(node -e 'console.log(JSON.parse(process.argv[1]).owner)' "$deployed")
{ [ -n "$counter1" ] && [ -n "$counter2" ] && [ -n "$owner" ]; } || bail "deploy printed '$deployed'"

# --- alert sinks, settings, tgxd ----------------------------------------------------------------
start_sinks

# phase 1 timings (cases 1, 2, 3, 5, 7): keepers are healthy, but while tgxd is down (case 5) and
# until they reconnect they can neither ack, nor report, nor attest, nor check in: generous deadlines
setting ack_timeout '15 seconds'
setting lease_duration '30 seconds'
setting attestation_timeout '20 seconds'
setting retry_backoff_base '1 second'
setting keeper_silence '60 seconds'
setting keeper_offline_alert '1 second'

port=$(free_port) || bail "no free port"
api=http://127.0.0.1:$port
tgxd_args=(--roles=all --listen "127.0.0.1:$port" --rpc "31337=$rpc" --sweep-ms 500 --poll-ms 1000
  --alert-webhook "http://127.0.0.1:$http_port/hook" --alert-smtp-url "smtp://127.0.0.1:$smtp_port"
  --alert-smtp-from alerts@tgx.local --alert-smtp-to ops@tgx.local
  --alert-backoff-ms 200 --alert-max-attempts 10 --alert-timeout-ms 3000)
start_tgxd tgxd "${tgxd_args[@]}"
wait_for 30 http_ok "$port" || bail "tgxd serve did not answer on $api"

# --- keepers: registered and whitelisted with SQL, then started -----------------------------------
for n in 1 2 3 4; do
  KID[$n]=$(q "SELECT tgx.register_keeper('${KADDR[$n]}', 'e2e keeper $n')") || bail "register_keeper failed"
  q "SELECT tgx.whitelist_keeper('${KADDR[$n]}', 'e2e keepers test')" >/dev/null || bail "whitelist_keeper failed"
done
# keeper 4 serves another chain only: it never gets tasks or attestations of these jobs
q "UPDATE tgx.keepers SET chain_ids = '{999}' WHERE keeper_id = ${KID[4]}" >/dev/null

start_keeper() {
  local n=$1
  "$KEEPER" run --api "$api" --key "$work/k$n.key" --rpc "31337=$rpc" --checkin-interval 2 --receipt-poll-ms 200 \
    >>"$work/keeper$n.log" 2>&1 </dev/null &
  KPID[$n]=$!
  extra_pids+=($!)
}
for n in 1 2 3; do start_keeper "$n"; done
wait_until 20 "SELECT count(*) = 3 FROM tgx.keepers WHERE keeper_id IN (${KID[1]}, ${KID[2]}, ${KID[3]})
                 AND online AND version IS NOT NULL"
check $? "the three keepers check in (online, with their version)" \
  "$(q "SELECT keeper_id, online, version, last_checked_in FROM tgx.keepers ORDER BY keeper_id")"

# --- jobs over REST ---------------------------------------------------------------------------
key=$("$TGXD" keys create --owner "$owner" --rate-limit 100000 --database-url "$url" 2>>"$work/keys.log") ||
  bail "tgxd keys create failed"
job() { node_ job "$api" "$key" "$owner" "$1"; }
# case 2 first: it fires once, at the next minute boundary (the frame ends 5 s after it)
if ((10#$(date -u +%S) >= 55)); then sleep 6; fi # not just before a boundary: created after it, it would never fire
frame2=$((65 - 10#$(date -u +%S)))
j2=$(job "{\"title\":\"e2e cron job\",\"counter\":\"$counter2\",\"schedule_type\":\"cron\",\"cron_expression\":\"* * * * *\",
           \"time_frame\":$frame2,\"function\":\"increment\",\"arguments\":[\"100\"]}") || bail "creating the cron job failed"
j1=$(job "{\"title\":\"e2e interval job\",\"counter\":\"$counter1\",\"schedule_type\":\"interval\",\"time_interval\":2,
           \"time_frame\":20,\"function\":\"increment\",\"arguments\":[\"1\"]}") || bail "creating the interval job failed"
# every instant of job 1 must fire even across the tgxd restart of case 5 (the default policy,
# fire_once, collapses a longer outage into one run): steer it to fire_all
j1_first=$(q "SELECT tgx.set_schedule($j1, 'interval', '2', 'e2e: fire every instant', NULL, NULL, NULL, 'fire_all')") ||
  bail "set_schedule failed"
j3=$(job "{\"title\":\"e2e boom job\",\"counter\":\"$counter2\",\"schedule_type\":\"interval\",\"time_interval\":2,
           \"time_frame\":3,\"function\":\"boom\",\"arguments\":[]}") || bail "creating the boom job failed"
j4=$(job "{\"title\":\"e2e kill -9 job\",\"counter\":\"$counter2\",\"schedule_type\":\"interval\",\"time_interval\":900,
           \"time_frame\":900,\"function\":\"increment\",\"arguments\":[\"10\"]}") || bail "creating the case 4 job failed"
j6=$(job "{\"title\":\"e2e silent keeper job\",\"counter\":\"$counter2\",\"schedule_type\":\"interval\",\"time_interval\":900,
           \"time_frame\":900,\"function\":\"increment\",\"arguments\":[\"1000\"]}") || bail "creating the case 6 job failed"
is "$(q "SELECT count(*) FROM tgx.jobs j JOIN tgx.users u USING (user_id)
          WHERE j.job_id IN ($j1, $j2, $j3, $j4, $j6) AND j.target_chain_id = '31337' AND u.user_address = '$owner'")" 5 \
  "five jobs created over REST (POST /api/jobs)"

# --- case 7: forged and replayed signatures (keeper 4, signing by hand) -----------------------------
k4_row() {
  q "SELECT coalesce(last_checked_in::text, 'never') || ' ' || online || ' '
            || (SELECT count(*) FROM tgx.keeper_checkins c WHERE c.keeper_id = k.keeper_id) || ' '
            || (SELECT count(*) FROM tgx.keeper_request_sigs s WHERE s.keeper_id = k.keeper_id)
       FROM tgx.keepers k WHERE keeper_id = ${KID[4]}"
}
body='{"version":"e2e-hand-signed","uptime":1}'
before=$(k4_row)
is "$(node_ signed "$api" "$k4_secret" POST '/api/keeper/checkin?n=1' "$body" --forge)" "401 INVALID_SIGNATURE" \
  "case 7: a request signed by another key than X-Keeper-Address: 401 INVALID_SIGNATURE"
is "$(node_ signed "$api" "$k4_secret" POST '/api/keeper/checkin?n=2' "$body" --tamper)" "401 INVALID_SIGNATURE" \
  "case 7: a body other than the one signed: 401 INVALID_SIGNATURE"
is "$(k4_row)" "$before" "case 7: the forged requests changed nothing (check-in, replay cache)"
is "$(node_ signed "$api" "$k4_secret" POST '/api/keeper/checkin?n=3' "$body" --save "$work/signed.json")" "200 -" \
  "case 7: the same check-in, correctly signed: 200"
after=$(k4_row)
check "$([ "$after" != "$before" ] && [ "$(q "SELECT version FROM tgx.keepers WHERE keeper_id = ${KID[4]}")" = e2e-hand-signed ]; echo $?)" \
  "case 7: ... and it was recorded (last_checked_in, version)" "before: $before" "after:  $after"
sleep 1.1 # a later second: the replay is refused for being a replay, not for its time
is "$(node_ replay "$api" "$work/signed.json")" "401 REPLAYED_REQUEST" "case 7: the signed request sent again: 401 REPLAYED_REQUEST"
is "$(k4_row)" "$after" "case 7: the replay changed nothing (last_checked_in, check-ins, replay cache)"

# --- case 3: boom() ---------------------------------------------------------------------------
wait_until 30 "SELECT count(*) = 1 AND bool_and(state = 'dead') FROM tgx.tasks WHERE job_id = $j3"
check $? "case 3: the boom() task is dead" "$(q "SELECT task_id, state, attempt, task_error FROM tgx.tasks WHERE job_id = $j3")"
is "$(q "SELECT attempt - uncounted_attempts || ' ' || (SELECT string_agg(a.outcome, ',' ORDER BY a.attempt)
           FROM tgx.task_attempts a WHERE a.task_id = t.task_id AND a.outcome NOT IN ('ack_timeout', 'keeper_offline'))
         FROM tgx.tasks t WHERE job_id = $j3")" "1 permanent" "case 3: after its first attempt (one attempt, permanent)"
is "$(q "SELECT task_error LIKE '%Counter: boom%' FROM tgx.tasks WHERE job_id = $j3")" t \
  "case 3: the revert reason is on the task ($(q "SELECT task_error FROM tgx.tasks WHERE job_id = $j3"))"
is "$(q "SELECT count(*) FROM tgx.alerts WHERE kind = 'task_dead' AND payload->>'job_id' = '$j3'")" 1 \
  "case 3: a task_dead alert is raised"

# --- case 5: kill -9 of tgxd while job 1 runs, then a restart ----------------------------------------
wait_until 20 "SELECT count(*) >= 3 FROM tgx.tasks WHERE job_id = $j1"
check $? "case 1: the interval job fires" "$(q "SELECT task_id, state, scheduled_for FROM tgx.tasks WHERE job_id = $j1")"
kill9_tgxd tgxd
sleep 4.5 # two instants or more pass while tgxd is down
start_tgxd tgxd "${tgxd_args[@]}"
wait_for 30 http_ok "$port"
check $? "case 5: tgxd answers again after kill -9 and a restart"

# job 1 over: every task terminal
wait_until 60 "SELECT j.status = 'completed' AND clock_timestamp() > j.expiration_time
                 AND NOT EXISTS (SELECT 1 FROM tgx.tasks t WHERE t.job_id = j.job_id
                                  AND t.state NOT IN ('succeeded', 'rejected', 'dead', 'cancelled'))
                 FROM tgx.jobs j WHERE j.job_id = $j1"
check $? "case 1: the interval job completes, no task left scheduled, pending, assigned, running or attesting" \
  "$(q "SELECT status, expiration_time FROM tgx.jobs WHERE job_id = $j1")" \
  "$(q "SELECT task_id, state, keeper_id, attempt FROM tgx.tasks WHERE job_id = $j1 ORDER BY task_id")"

# case 5: the instants from the first (set_schedule's next_fire_at) to the expiry, each once
expected=$(q "SELECT floor(extract(epoch FROM j.expiration_time - '$j1_first'::timestamptz) / 2)::int + 1
                FROM tgx.jobs j WHERE j.job_id = $j1")
report=$(q "SELECT count(*) || ' tasks, ' || count(DISTINCT scheduled_for) || ' instants, '
                   || count(*) FILTER (WHERE gap IS NOT NULL AND gap <> interval '2 seconds') || ' gaps, first '
                   || (min(scheduled_for) = '$j1_first'::timestamptz)
              FROM (SELECT scheduled_for, scheduled_for - lag(scheduled_for) OVER (ORDER BY scheduled_for) gap
                      FROM tgx.tasks WHERE job_id = $j1) x")
is "$report" "$expected tasks, $expected instants, 0 gaps, first true" \
  "case 5: across kill -9 of tgxd every instant of the interval job fired once (none lost, none doubled)"
echo "# case 5: $(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $j1 AND (trigger_data->'misfire'->>'due')::int > 1") \
task(s) fired by the restarted tgxd with more than one instant due"

# case 1 on chain and in the ledger
n1=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $j1 AND state = 'succeeded'")
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $j1 AND state <> 'succeeded'")" 0 \
  "case 1: every task of the interval job succeeded ($n1)"
is "$(node_ count "$rpc" "$counter1")" "$n1" "case 1: Counter 1's count() on chain equals the succeeded tasks (increment 1)"
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $j1 AND state = 'succeeded'
           AND (execution_tx_hash IS NULL OR tp_signature IS NULL)")" 0 \
  "case 1: every succeeded task has its execution_tx_hash and the performer's signature"
is "$(q "SELECT count(DISTINCT execution_tx_hash) FROM tgx.tasks WHERE job_id = $j1")" "$n1" \
  "case 1: one transaction per task"
# every transaction: on chain, successful, to Counter 1, sent by the task's performer
mapfile -t hashes < <(q "SELECT execution_tx_hash FROM tgx.tasks WHERE job_id = $j1 AND execution_tx_hash IS NOT NULL")
values=$(node_ txs "$rpc" "$counter1" "${hashes[@]}" | sed -E "s/^([^|]*)\|([^|]*)\|([^|]*)$/('\1','\2','\3')/" | paste -sd,)
is "$(q "SELECT count(*) FROM (VALUES $values) v(h, f, ok) JOIN tgx.tasks t ON t.execution_tx_hash = v.h
           JOIN tgx.keepers k ON k.keeper_id = t.task_performer_id
          WHERE t.job_id = $j1 AND v.ok = 't' AND v.f = k.keeper_address" 2>&1)" "$n1" \
  "case 1: each transaction succeeded on chain, to Counter 1, from the task's performer"
is "$(q "SELECT count(*) FROM tgx.tasks t WHERE t.job_id = $j1 AND t.state = 'succeeded' AND NOT EXISTS
           (SELECT 1 FROM tgx.attestations a WHERE a.task_id = t.task_id AND a.lease_epoch = t.lease_epoch
               AND a.verdict AND a.keeper_id <> t.task_performer_id)")" 0 \
  "case 1: every succeeded task is attested true by another keeper"
is "$(q "SELECT count(*) FROM tgx.attestations a JOIN tgx.tasks t USING (task_id)
          WHERE t.job_id = $j1 AND (a.keeper_id = t.task_performer_id OR a.verdict = false
                                    OR a.keeper_id NOT IN (${KID[1]}, ${KID[2]}, ${KID[3]}))")" 0 \
  "case 1: no attestation by the performer itself or by another chain's keeper, no verdict false"
is "$(q "SELECT count(*) FROM tgx.tasks t WHERE t.job_id = $j1
           AND (t.task_attester_ids IS NULL OR cardinality(t.task_attester_ids) = 0
                OR t.task_performer_id = ANY (t.task_attester_ids))")" 0 \
  "case 1: task_attester_ids lists the attesters, never the performer"
is "$(q "SELECT count(DISTINCT a.keeper_id) >= 2 FROM tgx.attestations a JOIN tgx.tasks t USING (task_id)
          WHERE t.job_id = $j1 AND a.verdict")" t "case 1: the attestations come from several keepers"

# --- case 4: kill -9 of the keeper that holds a task -------------------------------------------------
setting ack_timeout '2 seconds'
setting attestation_timeout '4 seconds' # the killed keeper is asked to attest and never answers
a=1 b=2 x=3 # x is stopped and killed; a and b stay
kill -STOP "${KPID[$x]}"
q "SELECT tgx.drain_keeper(${KID[$a]}, 'e2e: the next task goes to keeper $x');
   SELECT tgx.drain_keeper(${KID[$b]}, 'e2e: the next task goes to keeper $x')" >/dev/null
t4=$(q "SELECT tgx.run_job_now($j4, 'e2e case 4')")
wait_until 10 "SELECT state IN ('assigned', 'running') AND keeper_id = ${KID[$x]} FROM tgx.tasks WHERE task_id = $t4"
check $? "case 4: the task is assigned to the stopped keeper" "$(q "SELECT state, keeper_id FROM tgx.tasks WHERE task_id = $t4")"
q "SELECT tgx.undrain_keeper(${KID[$a]}, 'e2e'); SELECT tgx.undrain_keeper(${KID[$b]}, 'e2e')" >/dev/null
{
  kill -KILL "${KPID[$x]}"
  wait "${KPID[$x]}"
} 2>/dev/null
wait_until 30 "SELECT state = 'succeeded' FROM tgx.tasks WHERE task_id = $t4"
check $? "case 4: after kill -9 of its keeper the task succeeds" \
  "$(q "SELECT state, keeper_id, attempt, task_error FROM tgx.tasks WHERE task_id = $t4")" \
  "$(q "SELECT attempt, keeper_id, outcome, error FROM tgx.task_attempts WHERE task_id = $t4 ORDER BY attempt")"
is "$(q "SELECT task_performer_id IN (${KID[$a]}, ${KID[$b]}) FROM tgx.tasks WHERE task_id = $t4")" t \
  "case 4: performed by another keeper"
attempts4=$(q "SELECT string_agg(CASE WHEN keeper_id = ${KID[$x]} THEN 'killed:' ELSE 'other:' END
                                  || coalesce(outcome, 'open'), ',' ORDER BY attempt)
                  FROM tgx.task_attempts WHERE task_id = $t4")
check "$([[ $attempts4 =~ ^killed:(ack_timeout|lease_expired),other:result$ ]]; echo $?)" \
  "case 4: two attempts: the killed keeper's (ack_timeout or lease_expired), then one result" "attempts: $attempts4"

# --- case 6: a keeper that goes silent ---------------------------------------------------------
# keepers check in every 2 s: 5 s of silence is offline; the killed keeper goes first
setting keeper_silence '5 seconds'
wait_until 20 "SELECT NOT online FROM tgx.keepers WHERE keeper_id = ${KID[$x]}"
check $? "case 4: the killed keeper is marked offline"
# the silent keeper's task must come back through the keeper sweep, not the ack timeout
setting ack_timeout '60 seconds'
s=$b
kill -STOP "${KPID[$s]}"
q "SELECT tgx.drain_keeper(${KID[$a]}, 'e2e: the next task goes to keeper $s')" >/dev/null
t6=$(q "SELECT tgx.run_job_now($j6, 'e2e case 6')")
wait_until 10 "SELECT state = 'assigned' AND keeper_id = ${KID[$s]} FROM tgx.tasks WHERE task_id = $t6"
check $? "case 6: a task is assigned to the silent keeper" "$(q "SELECT state, keeper_id FROM tgx.tasks WHERE task_id = $t6")"
q "SELECT tgx.undrain_keeper(${KID[$a]}, 'e2e')" >/dev/null
wait_until 20 "SELECT NOT online AND offline_since IS NOT NULL FROM tgx.keepers WHERE keeper_id = ${KID[$s]}"
check $? "case 6: the silent keeper is marked offline" \
  "$(q "SELECT keeper_id, online, last_checked_in, offline_since FROM tgx.keepers ORDER BY keeper_id")"
is "$(q "SELECT online FROM tgx.keepers WHERE keeper_id = ${KID[$a]}")" t "case 6: the keeper that checks in stays online"
wait_until 30 "SELECT state = 'succeeded' AND task_performer_id = ${KID[$a]} FROM tgx.tasks WHERE task_id = $t6"
check $? "case 6: its task is re-dispatched and succeeds on the other keeper" \
  "$(q "SELECT state, keeper_id, task_performer_id, task_error FROM tgx.tasks WHERE task_id = $t6")"
is "$(q "SELECT outcome FROM tgx.task_attempts WHERE task_id = $t6 AND keeper_id = ${KID[$s]}")" keeper_offline \
  "case 6: the silent keeper's attempt is closed as keeper_offline"
wait_until 20 "SELECT delivered_at IS NOT NULL FROM tgx.alerts WHERE kind = 'keeper_offline'
                 AND (payload->>'keeper_id')::bigint = ${KID[$s]}"
check $? "case 6: the keeper_offline alert is delivered" \
  "$(q "SELECT alert_id, kind, subject, attempts, delivered_at, last_error FROM tgx.alerts ORDER BY alert_id")"
grep '"url":"/hook"' "$work/http.jsonl" 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
    const hits = s.trim().split("\n").filter(Boolean).map((l) => JSON.parse(JSON.parse(l).body))
      .filter((b) => b.kind === "keeper_offline" && String(b.payload?.keeper_id) === process.argv[1]
                     && b.payload?.keeper_address === process.argv[2]);
    process.exit(hits.length >= 1 ? 0 : 1);
  });' "${KID[$s]}" "${KADDR[$s]}"
check $? "case 6: the HTTP sink got the webhook for that keeper" "$(tail -c 800 "$work/http.jsonl" 2>/dev/null)"
node -e '
  const fs = require("fs");
  const mails = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const hit = mails.some((m) => m.from === "<alerts@tgx.local>" && m.to.join() === "<ops@tgx.local>"
    && /\r\nSubject: \[tgx\] keeper_offline: keeper (\d+) /.exec(m.data)?.[1] === process.argv[2]);
  process.exit(hit ? 0 : 1);' "$work/smtp.jsonl" "${KID[$s]}" 2>/dev/null
check $? "case 6: the SMTP sink got the mail for that keeper" "$(tail -c 800 "$work/smtp.jsonl" 2>/dev/null)"
kill -CONT "${KPID[$s]}"
wait_until 20 "SELECT online FROM tgx.keepers WHERE keeper_id = ${KID[$s]}"
check $? "case 6: resumed, the keeper checks in and is online again"

# --- case 2: the cron job --------------------------------------------------------------------
wait_until 90 "SELECT count(*) >= 1 AND bool_and(state = 'succeeded') FROM tgx.tasks WHERE job_id = $j2"
check $? "case 2: the cron job's task succeeds" "$(q "SELECT task_id, state, scheduled_for, task_error FROM tgx.tasks WHERE job_id = $j2")"
is "$(q "SELECT count(*) || ' ' || bool_and(extract(second FROM scheduled_for) = 0)
                 || ' ' || bool_and(scheduled_for = date_trunc('minute', j.created_at) + interval '1 minute')
           FROM tgx.tasks t JOIN tgx.jobs j USING (job_id) WHERE t.job_id = $j2")" "1 true true" \
  "case 2: it fired once, on the minute after the job was created (second 0)"
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $j2 AND execution_tx_hash IS NOT NULL")" 1 \
  "case 2: with its transaction"

# --- Counter 2: every succeeded task of jobs 2, 4 and 6 once, nothing else ----------------------------
wait_until 20 "SELECT NOT EXISTS (SELECT 1 FROM tgx.tasks WHERE job_id IN ($j2, $j3, $j4, $j6)
                 AND state NOT IN ('succeeded', 'rejected', 'dead', 'cancelled'))"
want2=$(q "SELECT coalesce(sum(CASE job_id WHEN $j2 THEN 100 WHEN $j4 THEN 10 WHEN $j6 THEN 1000 ELSE 0 END), 0)
             FROM tgx.tasks WHERE job_id IN ($j2, $j4, $j6) AND state = 'succeeded'")
is "$(node_ count "$rpc" "$counter2")" "$want2" \
  "cases 2, 4, 6: Counter 2's count() equals the succeeded tasks' increments (nothing executed twice)"
is "$want2" 1110 "cases 2, 4, 6: one success each (cron 100 + case 4 10 + case 6 1000)"

# shut down: keepers and tgxd stop on SIGTERM
for n in 1 2; do kill -TERM "${KPID[$n]}" 2>/dev/null; done
rcs=""
for n in 1 2; do
  for _ in $(seq 1 100); do kill -0 "${KPID[$n]}" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "${KPID[$n]}" 2>/dev/null; then rcs+="running "; else wait "${KPID[$n]}"; rcs+="$? "; fi
done
is "$rcs" "0 0 " "the keepers exit 0 on SIGTERM"
stop_tgxd tgxd TERM 10
is "$stop_rc" 0 "tgxd exits 0 on SIGTERM"
# TGX_E2E_LOGS=DIR keeps the logs (the work directory is removed on exit)
[ -n "${TGX_E2E_LOGS:-}" ] && mkdir -p "$TGX_E2E_LOGS" && cp "$work"/*.log "$work"/*.jsonl "$TGX_E2E_LOGS"/ 2>/dev/null
done_testing
