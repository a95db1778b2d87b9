#!/usr/bin/env bash
# tests/roles/engine.sh: `tgxd serve --roles=scheduler,dispatcher,monitor,health` on a migrated
# database: an interval job every 1 s turns into tasks that are assigned to a whitelisted,
# checked-in keeper; unacknowledged assignments are expired by the monitor; a silent keeper is
# swept offline by health; SIGHUP reloads (a broken configuration is refused and the process
# keeps running); SIGTERM exits within 5 s with status 0.  Prints TAP.
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"

k1=$(keeper 1) || bail "could not create keeper 1"
# keeper 2 last checked in two minutes ago (silence limit 70 s): health marks it offline
k2=$(q "SELECT tgx.register_keeper('0x9' || lpad('2', 39, '0'), 'roles keeper 2')") || bail "could not create keeper 2"
q "UPDATE tgx.keepers SET whitelisted = true WHERE keeper_id = $k2;
   SELECT tgx.keeper_checkin($k2, 'test', 0, clock_timestamp() - interval '2 minutes')" >/dev/null ||
  bail "could not check keeper 2 in"
# assignments not taken within 2 s go back (the monitor's work); keeper 2 takes no work
q "UPDATE tgx.settings SET value = '2 seconds' WHERE name = 'ack_timeout'" >/dev/null
interval_job 1001 1 fire_once

cat >"$work/tgxd.conf" <<CONF
batch_size = 50
poll_ms = 5000
CONF
start_tgxd serve --roles=scheduler,dispatcher,monitor,health --config "$work/tgxd.conf"

wait_until 10 "SELECT count(*) >= 3 FROM tgx.tasks WHERE job_id = 1001"
check $? "the scheduler creates tasks of an interval job" "$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = 1001") tasks"

wait_until 10 "SELECT count(*) >= 3 FROM tgx.task_attempts a JOIN tgx.tasks t USING (task_id)
               WHERE t.job_id = 1001 AND a.keeper_id = $k1"
check $? "the dispatcher assigns them to the keeper" "$(q "SELECT state || ' ' || count(*) FROM tgx.tasks GROUP BY state")"

wait_until 10 "SELECT EXISTS (SELECT 1 FROM tgx.task_attempts WHERE outcome = 'ack_timeout')"
check $? "the monitor expires assignments the keeper did not take" \
  "$(q "SELECT coalesce(outcome, '-') || ' ' || count(*) FROM tgx.task_attempts GROUP BY outcome")"

wait_until 10 "SELECT NOT online FROM tgx.keepers WHERE keeper_id = $k2"
check $? "health sweeps the silent keeper offline" "$(q "SELECT online, last_checked_in FROM tgx.keepers WHERE keeper_id = $k2")"

is "$(q "SELECT count(*) FILTER (WHERE n > 1) FROM (SELECT count(*) n FROM tgx.tasks WHERE job_id = 1001 GROUP BY scheduled_for) x")" \
  0 "every instant fired once"

# SIGHUP with a broken file: refused, the process keeps running
echo "batch_size = lots" >>"$work/tgxd.conf"
kill -HUP "${TGXD_PID[serve]}"
for _ in $(seq 1 50); do grep -q "could not reload" "$work/serve.log" && break; sleep 0.1; done
grep -q "could not reload the configuration" "$work/serve.log"
check $? "SIGHUP with a broken configuration logs a warning" "$(tail -n 3 "$work/serve.log")"
kill -0 "${TGXD_PID[serve]}" 2>/dev/null
check $? "and keeps running with the old one"
# a good one is taken
printf 'batch_size = 10\nlog_level = info\n' >"$work/tgxd.conf"
kill -HUP "${TGXD_PID[serve]}"
for _ in $(seq 1 50); do grep -q "configuration reloaded" "$work/serve.log" && break; sleep 0.1; done
grep -q "configuration reloaded" "$work/serve.log"
check $? "SIGHUP reloads a good configuration"
before=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = 1001")
wait_until 10 "SELECT count(*) > $before + 1 FROM tgx.tasks WHERE job_id = 1001"
check $? "the roles go on after the reload"

stop_tgxd serve TERM 10
is "$stop_rc" 0 "SIGTERM: exit status 0"
[ "$stop_ms" -lt 5000 ]
check $? "SIGTERM: exited within 5 s ($stop_ms ms)"
is "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tgxd %'")" \
  0 "no connection left behind"
done_testing
