# tests/lib/pgtest.sh: a throwaway PostgreSQL 15 cluster for tests (source it).
#
#   . tests/lib/pgtest.sh; pg_test_start
#
# Creates a cluster under a fresh /tmp directory (postgres must be able to read it),
# starts it on the first free port from ${PGTEST_PORT:-25432}, and exports
# PGHOST PGPORT PGUSER PGDATABASE and TGX_DATABASE_URL.  The cluster is stopped and
# removed on EXIT, whatever happens (pg_test_stop is chained onto any EXIT trap
# set before pg_test_start).  PGTEST_DURABLE=1 keeps fsync and synchronous_commit on
# (benchmarks, crash tests); tests run with them off.  pg_test_crash crashes and restarts it.
pg_test_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null)
  if [ ! -x "$bin/initdb" ]; then
    echo "pgtest: PostgreSQL 15 is not installed (run: make deps)" >&2
    return 1
  fi
  PGTEST_DIR=$(mktemp -d /tmp/pgtest.XXXXXX)
  chmod 755 "$PGTEST_DIR"
  local as=""
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd -r -M -d /nonexistent postgres
    chown postgres: "$PGTEST_DIR"
    as="runuser -u postgres --"
  fi
  # below the kernel's ephemeral ports (32768 and up): a port an outgoing connection holds there
  # passes the probe (nobody listens on it), and the server's bind then fails
  local port=${PGTEST_PORT:-25432}
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port.lock" ]; do
    port=$((port + 1))
  done
  local durable="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${PGTEST_DURABLE:-0}" = 1 ]; then
    durable="-c fsync=on -c synchronous_commit=on"
  fi
  PGTEST_CTL="$as $bin/pg_ctl -D $PGTEST_DIR/data"
  (cd / && $as "$bin/initdb" -D "$PGTEST_DIR/data" -U postgres -A trust -E UTF8 \
      --locale=C --no-sync >"$PGTEST_DIR/initdb.log" 2>&1) ||
    { cat "$PGTEST_DIR/initdb.log" >&2; return 1; }
  # every test session runs with the same time zone and a known config
  PGTEST_OPTS="-p $port -k $PGTEST_DIR -c listen_addresses=127.0.0.1 $durable -c max_connections=200 \
      -c timezone=UTC -c shared_buffers=256MB ${PGTEST_EXTRA_OPTS:-}"
  pg_test_ctl_start || return 1
  export PGHOST=$PGTEST_DIR PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  export TGX_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  export PGTEST_DIR PGTEST_CTL PGTEST_OPTS
  local prev
  prev=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  # shellcheck disable=SC2064
  trap "pg_test_stop; ${prev:-:}" EXIT
}

pg_test_stop() {
  [ -n "${PGTEST_DIR:-}" ] || return 0
  (cd / && $PGTEST_CTL -m immediate stop >/dev/null 2>&1)
  rm -rf "$PGTEST_DIR"
  PGTEST_DIR=
}

# pg_test_crash: stop the cluster as a crash would (immediate: no checkpoint, WAL not yet
# written is lost), then start it again (crash recovery) with the same settings
pg_test_crash() {
  (cd / && $PGTEST_CTL -m immediate stop >/dev/null) || return 1
  pg_test_ctl_start
}

# pg_test_ctl_start: start the cluster's server with PGTEST_OPTS (its log on failure)
pg_test_ctl_start() {
  (cd / && $PGTEST_CTL -w -t 60 -l "$PGTEST_DIR/pg.log" start -o "$PGTEST_OPTS" >/dev/null) ||
    { cat "$PGTEST_DIR/pg.log" >&2; return 1; }
}

# pg_test_createdb NAME: an empty database NAME; prints its URL
pg_test_createdb() {
  createdb "$1" || return 1
  echo "postgresql://postgres@127.0.0.1:$PGPORT/$1"
}
