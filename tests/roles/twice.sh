#!/usr/bin/env bash
# tests/roles/twice.sh: two `tgxd serve` with every engine role on one database at once: every
# firing of 20 interval jobs (every 1 s, misfire policy fire_all) happens exactly once; kill -9
# of one tgxd mid-run, then of both, and a restart: no firing lost (no gap between instants) and
# none doubled.  Prints TAP.
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"

keeper 1 >/dev/null || bail "could not create a keeper"
for j in $(seq 2001 2020); do interval_job "$j" 1 fire_all || bail "could not create job $j"; done
roles=--roles=scheduler,dispatcher,monitor,health

# the whole ledger: tasks, distinct instants, and gaps (consecutive instants not 1 s apart)
report() {
  q "SELECT count(*) || ' tasks, ' || count(DISTINCT (job_id, scheduled_for)) || ' instants, '
            || count(*) FILTER (WHERE gap IS NOT NULL AND gap <> interval '1 second') || ' gaps, '
            || count(DISTINCT job_id) || ' jobs'
       FROM (SELECT t.job_id, t.scheduled_for,
                    t.scheduled_for - lag(t.scheduled_for) OVER (PARTITION BY t.job_id ORDER BY t.scheduled_for) gap
               FROM tgx.tasks t WHERE t.job_id BETWEEN 2001 AND 2020) x"
}
exactly_once() {
  local r n
  r=$(report)
  n=${r%% tasks*}
  [ "$r" = "$n tasks, $n instants, 0 gaps, 20 jobs" ]
}

start_tgxd a "$roles"
start_tgxd b "$roles"
wait_until 10 "SELECT count(*) = 2 FROM pg_stat_activity WHERE datname = current_database()
                AND application_name = 'tgxd scheduler'"
check $? "two schedulers are connected"
wait_until 15 "SELECT count(*) >= 100 FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020"
check $? "both running: the jobs fire" "$(report)"
exactly_once
check $? "two tgxd at once: every firing exactly once" "$(report)"
wait_until 10 "SELECT count(*) >= 20 FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020 AND state = 'assigned'"
check $? "and the tasks are dispatched" "$(q "SELECT state || ' ' || count(*) FROM tgx.tasks GROUP BY state")"

# kill -9 of one of them mid-run; the other goes on; then it comes back
kill9_tgxd a
n=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020")
wait_until 10 "SELECT count(*) >= $n + 40 FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020"
check $? "after kill -9 of one tgxd the other goes on" "$(report)"
start_tgxd a "$roles"
n=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020")
wait_until 10 "SELECT count(*) >= $n + 40 FROM tgx.tasks WHERE job_id BETWEEN 2001 AND 2020"
check $? "the restarted tgxd joins" "$(report)"
exactly_once
check $? "kill -9 of one and restart: no firing lost or doubled" "$(report)"

# kill -9 of both for 3 s: the instants missed meanwhile are fired at restart (fire_all)
kill9_tgxd a b
down=$(q "SELECT clock_timestamp()")
sleep 3
start_tgxd a "$roles"
wait_until 10 "SELECT bool_and(s.last_fired_at > '$down'::timestamptz + interval '3 seconds')
                 FROM tgx.time_schedules s WHERE s.job_id BETWEEN 2001 AND 2020"
check $? "after kill -9 of both and a restart, every job fires again" "$(report)"
exactly_once
check $? "the firings missed while down are made up, none doubled" "$(report)"

stop_tgxd a TERM 10
is "$stop_rc" 0 "SIGTERM: exit status 0"
done_testing
