#!/usr/bin/env bash
# contrib/run-local.sh: `make run` — the local single-node setup.
#
# Without TGX_DATABASE_URL: creates (once) a PostgreSQL 15 cluster under var/pg, starts it
# on 127.0.0.1:${TGX_LOCAL_PGPORT:-54320} (socket in var/pg), creates database `triggerx`,
# migrates it with `tgxd migrate`.  With TGX_DATABASE_URL: migrates that database.  Then starts
# `tgxd serve --roles=all` in the background on 127.0.0.1:${TGX_LOCAL_API_PORT:-9002}, creates an
# admin API key and prints how to use both.  `make stop` stops tgxd and the local cluster.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tgxd=$top/build/tgxd
bin=/usr/lib/postgresql/15/bin

if [ -n "${TGX_DATABASE_URL:-}" ]; then
  "$tgxd" migrate --database-url "$TGX_DATABASE_URL"
  url=$TGX_DATABASE_URL
  psql_cmd="psql \"\$TGX_DATABASE_URL\""
else
  port=${TGX_LOCAL_PGPORT:-54320}
  data=$top/var/pg/data
  as=""
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd -r -M -d /nonexistent postgres
    as="runuser -u postgres --"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$top/var/pg"
    [ -n "$as" ] && chown postgres: "$top/var/pg"
    if ! (cd / && $as test -w "$top/var/pg"); then
      echo "run: the postgres user cannot write $top/var/pg (a parent directory is not traversable);" >&2
      echo "run: set TGX_DATABASE_URL to an existing database, or clone the repository elsewhere" >&2
      exit 1
    fi
    echo "run: creating a local cluster in var/pg"
    (cd / && $as "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >"$top/var/pg/initdb.log" 2>&1) ||
      { cat "$top/var/pg/initdb.log" >&2; exit 1; }
  fi
  if ! (cd / && $as "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1); then
    (cd / && $as "$bin/pg_ctl" -D "$data" -w -l "$top/var/pg/postgres.log" start \
      -o "-p $port -k $top/var/pg -c listen_addresses=127.0.0.1") >/dev/null ||
      { tail -n 20 "$top/var/pg/postgres.log" >&2; exit 1; }
  fi
  psql -X -q -h "$top/var/pg" -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'triggerx'" | grep -q 1 ||
    createdb -h "$top/var/pg" -p "$port" -U postgres triggerx
  url="postgresql://postgres@127.0.0.1:$port/triggerx"
  "$tgxd" migrate --database-url "$url"
  psql_cmd="psql -h $top/var/pg -p $port -U postgres triggerx"
fi

# the server with every role (api, scheduler, dispatcher, monitor, health) in the background
mkdir -p "$top/var/log" "$top/var/run"
if [ -f "$top/var/run/tgxd.pid" ] && kill -0 "$(cat "$top/var/run/tgxd.pid")" 2>/dev/null; then
  kill -TERM "$(cat "$top/var/run/tgxd.pid")"
  for _ in $(seq 50); do kill -0 "$(cat "$top/var/run/tgxd.pid")" 2>/dev/null || break; sleep 0.1; done
fi
api_port=${TGX_LOCAL_API_PORT:-9002}
setsid "$tgxd" serve --roles=all --database-url "$url" --listen "127.0.0.1:$api_port" \
  ${TGX_LOCAL_CONFIG:+--config "$TGX_LOCAL_CONFIG"} </dev/null >>"$top/var/log/tgxd.log" 2>&1 &
echo $! >"$top/var/run/tgxd.pid"
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$api_port/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$api_port/api/health" >/dev/null 2>&1 ||
  { tail -n 20 "$top/var/log/tgxd.log" >&2; echo "run: tgxd did not start" >&2; exit 1; }
key=$("$tgxd" keys create --owner 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 --admin --database-url "$url")

cat <<MSG

TriggerX-PG is migrated and ready at $url
tgxd (all roles) listens on http://127.0.0.1:$api_port  (log: var/log/tgxd.log, pid: var/run/tgxd.pid)

An admin API key was created for you (shown once, stored hashed):
  $key
Try:
  curl -s http://127.0.0.1:$api_port/api/health
  curl -s -H "X-Api-Key: $key" http://127.0.0.1:$api_port/api/jobs/by-apikey
  curl -s 'http://127.0.0.1:$api_port/api/fees?target_chain_id=31337'
Reload the configuration: kill -HUP \$(cat var/run/tgxd.pid)

Connect as a DBA:
  $psql_cmd

Things to try:
  SELECT * FROM tgx.preview_schedule('cron', '30 2 * * *', 5, 'America/New_York');  -- next runs, UTC and local
  SELECT * FROM tgx.queue_status;       -- the work queue by state
  SELECT * FROM tgx.keeper_status;      -- keepers, online, load
  SELECT * FROM tgx.job_overview;       -- jobs with their schedules
  SELECT * FROM tgx.settings;           -- tunables (change with tgx.set_setting)
  \\df tgx.*                             -- the whole SQL API

Stop tgxd and the local cluster with: make stop
MSG
