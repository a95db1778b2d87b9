#!/usr/bin/env bash
# tests/roles/reconnect.sh: the engine roles lose the database and come back: their connections
# are terminated (pg_terminate_backend), then the PostgreSQL cluster is restarted (pg_ctl restart
# via $PGTEST_CTL, when the cluster is a tests/lib/pgtest.sh one); each time every role
# reconnects with back-off and the jobs go on firing, none lost or doubled.  Prints TAP.
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"

keeper 1 >/dev/null || bail "could not create a keeper"
interval_job 3001 1 fire_all || bail "could not create the job"
report() {
  q "SELECT count(*) || ' tasks, ' || count(DISTINCT scheduled_for) || ' instants, '
            || count(*) FILTER (WHERE gap IS NOT NULL AND gap <> interval '1 second') || ' gaps'
       FROM (SELECT t.scheduled_for, t.scheduled_for - lag(t.scheduled_for) OVER (ORDER BY t.scheduled_for) gap
               FROM tgx.tasks t WHERE t.job_id = 3001) x"
}
exactly_once() {
  local r n
  r=$(report)
  n=${r%% tasks*}
  [ "$r" = "$n tasks, $n instants, 0 gaps" ]
}
roles_connected() {
  q "SELECT count(DISTINCT application_name) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name IN
            ('tgxd scheduler', 'tgxd dispatcher', 'tgxd monitor', 'tgxd health')"
}

start_tgxd serve --roles=scheduler,dispatcher,monitor,health
wait_until 10 "SELECT count(*) >= 2 FROM tgx.tasks WHERE job_id = 3001"
check $? "the job fires" "$(report)"
is "$(roles_connected)" 4 "four role connections"

# 1. the role connections are terminated
q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE 'tgxd %'" >/dev/null
wait_until 10 "SELECT count(DISTINCT application_name) = 4 FROM pg_stat_activity
               WHERE datname = current_database() AND application_name LIKE 'tgxd %'"
check $? "after pg_terminate_backend every role reconnects" "$(roles_connected) roles connected"
n=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = 3001")
wait_until 10 "SELECT count(*) >= $n + 2 FROM tgx.tasks WHERE job_id = 3001"
check $? "and the job goes on firing" "$(report)"
grep -q "reconnected to the database" "$work/serve.log"
check $? "the reconnection is logged"

# 2. the cluster restarts (only a pgtest cluster, whose pg_ctl we know)
if [ -n "${PGTEST_CTL:-}" ] && [ -n "${PGTEST_DIR:-}" ] && [ "${TGX_ROLES_PG_RESTART:-1}" = 1 ]; then
  (cd / && $PGTEST_CTL -m fast -w -t 60 restart >/dev/null 2>&1)
  check $? "pg_ctl restart"
  wait_until 20 "SELECT count(DISTINCT application_name) = 4 FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name LIKE 'tgxd %'"
  check $? "after a cluster restart every role reconnects" "$(roles_connected 2>&1) roles connected"
  n=$(q "SELECT count(*) FROM tgx.tasks WHERE job_id = 3001")
  wait_until 10 "SELECT count(*) >= $n + 2 FROM tgx.tasks WHERE job_id = 3001"
  check $? "and the job goes on firing" "$(report)"
else
  ok "# SKIP no pgtest cluster to restart (PGTEST_CTL unset)"
fi
exactly_once
check $? "no firing lost or doubled across the outages" "$(report)"

stop_tgxd serve TERM 10
is "$stop_rc" 0 "SIGTERM: exit status 0"
done_testing
