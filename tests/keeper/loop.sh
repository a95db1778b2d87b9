#!/usr/bin/env bash
# tests/keeper/loop.sh: `tgx-keeper run` against a real `tgxd serve --roles=all` (no chain: dry
# runs).  Two keepers with keys from `tgx-keeper keygen`, registered and whitelisted in SQL, run
# --dry-run; an interval job every 1 s calling increment(uint256) with 5 on chain 31337:
#   - the keepers check in (online, with their version)
#   - tasks succeed, each performed by one keeper and attested true by the other, the result signed
#     (tp_signature) and carrying the dry run's calldata
#   - SIGHUP reloads the log level; the keeper's RSS stays small
#   - SIGTERM: both exit 0 within 5 s
#   - a keeper that is not whitelisted keeps running and logs the refusal once
#   - a keeper without --dry-run and without an RPC for the chain fails its task transient ("no RPC
#     for chain 31337"); the task is not lost: it succeeds later on another keeper
#   - that other keeper runs under valgrind (definite leaks and errors fail it): a few tasks, then
#     SIGTERM, exit 0
# Prints TAP.  Given a running test cluster (PGHOST/PGPORT, as tests/run.sh starts it) it uses it;
# run alone, it starts its own (tests/roles/lib.bash).  Environment: TGXD (default build/tgxd),
# TGX_KEEPER (default build/tgx-keeper), TGX_MIGRATE.
# shellcheck source=tests/roles/lib.bash
. "$(dirname "$0")/../roles/lib.bash"
KEEPER=${TGX_KEEPER:-$top/build/tgx-keeper}
[ -x "$KEEPER" ] || bail "$KEEPER is missing (run make)"
cp "$KEEPER" "$work/tgx-keeper" || bail "cannot copy $KEEPER"
KEEPER=$work/tgx-keeper
version=$(cat "$top/VERSION")

# start_keeper NAME ARGS...: tgx-keeper run in the background (pid in TGXD_PID[NAME], so that
# lib.bash's stop_tgxd and cleanup handle it; log in $work/NAME.log)
start_keeper() {
  local name=$1
  shift
  ${KEEPER_WRAPPER:-} "$KEEPER" run --api "$api" --poll-wait 5 "$@" >>"$work/$name.log" 2>&1 &
  TGXD_PID[$name]=$!
}
# new_key N: a key file $work/kN.key; prints its address
new_key() { "$KEEPER" keygen --key "$work/k$1.key"; }
# wait_log SECONDS FILE PATTERN: until FILE holds PATTERN
wait_log() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    grep -q -- "$3" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

port=$(free_port) || bail "no free port"
api=http://127.0.0.1:$port
start_tgxd serve --roles=all --listen "127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$api/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$api/api/health" >/dev/null 2>&1 || bail "tgxd does not answer on $api"
# short deadlines: attesters that do not answer are replaced after 4 s, assignments to a keeper
# that stopped go elsewhere after 3 s
q "SELECT tgx.set_setting('attestation_timeout', '4 seconds', 'keeper loop test');
   SELECT tgx.set_setting('ack_timeout', '3 seconds', 'keeper loop test')" >/dev/null ||
  bail "could not shorten the deadlines"

# ------------------------------------------------------------------ keys, registration
a1=$(new_key 1) || bail "tgx-keeper keygen failed"
a2=$(new_key 2) || bail "tgx-keeper keygen failed"
a3=$(new_key 3) || bail "tgx-keeper keygen failed"
a4=$(new_key 4) || bail "tgx-keeper keygen failed"
for a in "$a1" "$a2" "$a3" "$a4"; do q "SELECT tgx.register_keeper('$a', 'loop test')" >/dev/null || bail "register $a"; done
for a in "$a1" "$a2" "$a4"; do q "SELECT tgx.whitelist_keeper('$a', 'keeper loop test')" >/dev/null || bail "whitelist $a"; done
id_of() { q "SELECT keeper_id FROM tgx.keepers WHERE keeper_address = lower('$1')"; }
k1=$(id_of "$a1")
k2=$(id_of "$a2")
k3=$(id_of "$a3")
k4=$(id_of "$a4")

# ------------------------------------------------------------------ bad command lines
out=$("$KEEPER" run --concurrency 0 2>&1)
rc=$?
is "$rc $(printf '%s\n' "$out" | wc -l)" "2 1" "a bad value: one line, exit 2"
out=$("$KEEPER" run --api "$api" --key "$work/nonexistent.key" 2>&1)
rc=$?
is "$rc $(printf '%s\n' "$out" | wc -l)" "2 1" "a missing key file: one line, exit 2"
cp "$work/k1.key" "$work/open.key" && chmod 0644 "$work/open.key"
"$KEEPER" run --api "$api" --key "$work/open.key" >"$work/open.out" 2>&1
is "$?" 2 "a key file others may read is refused"
"$KEEPER" run --print-config >"$work/printed.conf" 2>&1
check $? "--print-config prints the sample" "$(head -n 3 "$work/printed.conf")"
cmp -s "$work/printed.conf" "$top/contrib/tgx-keeper.conf.sample"
check $? "contrib/tgx-keeper.conf.sample is what --print-config prints"

# ------------------------------------------------------------------ two dry-run keepers
printf 'log_level = info\nconcurrency = 4\n' >"$work/k2.conf"
start_keeper k1 --key "$work/k1.key" --dry-run
TGX_KEEPER_KEY_FILE=$work/k2.key start_keeper k2 --config "$work/k2.conf" --dry-run
wait_until 15 "SELECT count(*) = 2 FROM tgx.keepers WHERE keeper_id IN ($k1, $k2) AND online AND version = '$version'"
check $? "both keepers check in: online, version $version" \
  "$(q "SELECT keeper_id, online, version FROM tgx.keepers ORDER BY 1")"

job=4242
q "INSERT INTO tgx.users (user_address) VALUES ('0x' || repeat('7', 40)) ON CONFLICT DO NOTHING;
   INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id, target_chain_id,
                         target_contract_address, target_function, arguments, max_attempts, created_at, expiration_time)
   SELECT $job, 'keeper loop', 1, u.user_id, 3600, '31337', '31337', '0x' || repeat('8', 40), 'increment(uint256)',
          '{5}', 10, now(), now() + interval '1 hour'
     FROM tgx.users u WHERE u.user_address = '0x' || repeat('7', 40);
   INSERT INTO tgx.time_schedules (job_id, schedule_type, time_interval, misfire_policy, misfire_cap, created_at)
   VALUES ($job, 'interval', 1, 'fire_all', 10000, now());" >/dev/null || bail "could not create the job"

wait_until 40 "SELECT count(*) >= 6 FROM tgx.tasks WHERE job_id = $job AND state = 'succeeded'"
check $? "tasks of the interval job succeed" "$(q "SELECT state || ' ' || count(*) FROM tgx.tasks GROUP BY state")"
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $job AND state = 'succeeded'
           AND NOT (task_performer_id IN ($k1, $k2)
                    AND task_attester_ids = ARRAY[CASE task_performer_id WHEN $k1 THEN $k2 ELSE $k1 END]::bigint[])")" \
  0 "each succeeded task: performed by one keeper, attested by the other"
is "$(q "SELECT count(*) FROM tgx.tasks t WHERE t.job_id = $job AND t.state = 'succeeded'
           AND NOT EXISTS (SELECT 1 FROM tgx.attestations a
                            WHERE a.task_id = t.task_id AND a.lease_epoch = t.lease_epoch AND a.verdict
                              AND a.keeper_id <> t.task_performer_id AND a.signature IS NOT NULL)")" \
  0 "each has a signed attestation with verdict true"
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $job AND state = 'succeeded'
           AND (tp_signature IS NULL OR octet_length(tp_signature) <> 65)")" 0 "each result carries the performer's signature"
# increment(uint256) is 0x7cf5dab0; 5 as a 32-byte word
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $job AND state = 'succeeded'
           AND NOT (result->>'dry_run' = 'true'
                    AND result->>'calldata' = '0x7cf5dab0' || repeat('0', 63) || '5'
                    AND lower(result->>'from') = lower(CASE task_performer_id WHEN $k1 THEN '$a1' ELSE '$a2' END))")" \
  0 "each result is the dry run of increment(5) from its performer"
is "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = $job AND state IN ('dead', 'rejected')")" 0 "no task dead or rejected"
grep -qE "task=[0-9]+ job=$job trace=[^ ]+: executed on chain 31337" "$work/k1.log" "$work/k2.log"
check $? "a log line per task with task, job and trace ids and the outcome" "$(tail -n 3 "$work/k1.log")"
if grep -qi -- "$(tr -d '\n' <"$work/k1.key" | sed 's/^0x//')" "$work/k1.log" "$work/k2.log"; then
  not_ok "the key never appears in the log"
else ok "the key never appears in the log"; fi

# RSS of a keeper that executed and attested tasks
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/${TGXD_PID[k2]}/status" 2>/dev/null)
[ -n "$rss" ] && [ "$rss" -lt 16384 ]
check $? "keeper RSS below 16 MB (${rss:-?} kB)"

# SIGHUP: the log level from the file again
printf 'log_level = debug\nconcurrency = 4\n' >"$work/k2.conf"
kill -HUP "${TGXD_PID[k2]}"
wait_log 5 "$work/k2.log" "configuration reloaded (log level debug)"
check $? "SIGHUP re-reads the log level" "$(tail -n 2 "$work/k2.log")"

# ------------------------------------------------------------------ SIGTERM
stop_tgxd k1 TERM 10
rc1=$stop_rc
ms1=$stop_ms
stop_tgxd k2 TERM 10
is "$rc1 $stop_rc" "0 0" "SIGTERM: both keepers exit 0"
[ "$ms1" -lt 5000 ] && [ "$stop_ms" -lt 5000 ]
check $? "SIGTERM: both exit within 5 s ($ms1 ms, $stop_ms ms)"
grep -q "stopped" "$work/k1.log"
check $? "the keeper logs its stop" "$(tail -n 3 "$work/k1.log")"
# what the health role would find out after 70 s of silence, now: no more work for them
q "SELECT tgx.set_keeper_online($k1, false, 'keeper loop test'); SELECT tgx.set_keeper_online($k2, false, 'keeper loop test')" \
  >/dev/null || bail "could not mark the stopped keepers offline"

# ------------------------------------------------------------------ not whitelisted
start_keeper k3 --key "$work/k3.key" --dry-run
wait_log 10 "$work/k3.log" "not whitelisted"
check $? "a keeper that is not whitelisted logs the refusal" "$(tail -n 3 "$work/k3.log")"
sleep 2
kill -0 "${TGXD_PID[k3]}" 2>/dev/null
check $? "and keeps running"
is "$(grep -c "refuses keeper" "$work/k3.log")" 1 "the refusal is logged once, not per request"
is "$(q "SELECT online FROM tgx.keepers WHERE keeper_id = $k3")" f "it is not served (never online)"
stop_tgxd k3 TERM 10
is "$stop_rc" 0 "the refused keeper exits 0 on SIGTERM"

# ------------------------------------------------------------------ no RPC for the chain
start_keeper k4 --key "$work/k4.key"
wait_until 30 "SELECT EXISTS (SELECT 1 FROM tgx.task_attempts a JOIN tgx.tasks t USING (task_id)
                               WHERE t.job_id = $job AND a.keeper_id = $k4 AND a.outcome = 'transient'
                                 AND a.error = 'no RPC for chain 31337')"
check $? "a keeper without an RPC for the chain fails the task transient" \
  "$(q "SELECT keeper_id, outcome, error FROM tgx.task_attempts WHERE keeper_id = $k4 LIMIT 3")"
failed_task=$(q "SELECT min(a.task_id) FROM tgx.task_attempts a JOIN tgx.tasks t USING (task_id)
                  WHERE t.job_id = $job AND a.keeper_id = $k4 AND a.error = 'no RPC for chain 31337'
                    AND $k1 <> ALL (t.excluded_keepers)")
is "$(q "SELECT state NOT IN ('dead', 'rejected', 'cancelled') AND $k4 = ANY (excluded_keepers)
           FROM tgx.tasks WHERE task_id = ${failed_task:-0}")" t "the task goes back to the queue, not to that keeper"

# ------------------------------------------------------------------ valgrind
if command -v valgrind >/dev/null; then
  KEEPER_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99" \
    start_keeper k1v --key "$work/k1.key" --dry-run --concurrency 2
else
  start_keeper k1v --key "$work/k1.key" --dry-run --concurrency 2
fi
wait_until 90 "SELECT state = 'succeeded' FROM tgx.tasks WHERE task_id = ${failed_task:-0}"
check $? "the task failed for lack of an RPC is not lost: it succeeds on another keeper" \
  "$(q "SELECT state, task_performer_id, task_error FROM tgx.tasks WHERE task_id = ${failed_task:-0}")"
stop_tgxd k4 TERM 10
is "$stop_rc" 0 "the keeper without RPC exits 0 on SIGTERM"
before=$(q "SELECT count(*) FROM tgx.tasks WHERE task_performer_id = $k1 AND state = 'succeeded'")
wait_until 90 "SELECT count(*) >= $before + 3 FROM tgx.tasks WHERE task_performer_id = $k1 AND state = 'succeeded'"
check $? "the keeper under valgrind executes tasks" "$(tail -n 5 "$work/k1v.log")"
if command -v valgrind >/dev/null; then
  [[ $(readlink "/proc/${TGXD_PID[k1v]}/exe" 2>/dev/null) == *memcheck* ]]
  check $? "it does run under valgrind's memcheck"
fi
stop_tgxd k1v TERM 60
is "$stop_rc" 0 "under valgrind: SIGTERM, exit 0 (no definite leak, no error)"
if [ "$stop_rc" != 0 ]; then grep -A 12 -E '==[0-9]+==' "$work/k1v.log" | head -n 60 | sed -e 's/^/# /'; fi

stop_tgxd serve TERM 10
done_testing
