#!/usr/bin/env bash
# tests/bench/run.sh: `make bench` (after the build) -- the benchmark of the SQL core.
#
# Starts ONE throwaway PostgreSQL 15 cluster with durable settings (fsync and synchronous_commit
# on), migrates a database, and runs build/tests/bench/sql_core, which prints one table: life-cycle
# tasks/s, the raw SKIP LOCKED ceiling, their ratios (with the WAL and the server CPU time each
# task costs), the same with millions of finished tasks in
# the ledger, and the NOTIFY wake-up latency (with each hop's, and the same hops on a bare
# one-table queue for reference).  A benchmark, not a test: it never fails on time;
# the exit status is non-zero only when the cluster, the migration or the program fails.
#
# Environment:
#   TGX_MIGRATE       a command taking a database name that migrates it; by default
#                     `build/tgxd migrate --sql-dir TOP --database-url URL` once build/tgxd exists,
#                     else tests/lib/devload.sh DBNAME
#   TGX_BENCH_HISTORY finished tasks seeded for part 4 (default 5000000; 0 skips part 4); part 4
#                     compares with a copy of the database taken before the seeding, each
#                     cell's rounds in turn with its twin's there, and shows their median
#   TGX_BENCH_HISTORY_ATTEMPTS  1 (default): seed each one's tgx.task_attempts row too
#   TGX_BENCH_SECONDS aimed seconds of one measured round (default 3)
#   TGX_BENCH_CONNS   connection counts (default 1,2,4,8)
#   TGX_BENCH_BATCH   tasks per call of the batched rows (default 100)
#   TGX_BENCH_LATENCY_SAMPLES  samples per latency row (default 2000: the p99 is then the 20th
#                     largest, not the 4th, and one hiccup of a shared machine does not make it)
#   TGX_BENCH_JOBS    interval jobs created, the largest life-cycle round (default 50000)
#   TGX_BENCH_PARTS   any of raw,life,history,latency,minimal (default all)
#   TGX_BENCH_PASSES  passes over the rows of a part, each cell the best of them (part 4: the
#                     median of their rounds) (default 2)
#   PGTEST_EXTRA_OPTS server options (default: max_wal_size=4GB, checkpoint_timeout=30min,
#                     shared_buffers=1GB)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

bench=${TGX_BENCH_BIN:-$top/build/tests/bench/sql_core}
if [ ! -x "$bench" ]; then
  echo "bench: $bench is missing (run: make bench)" >&2
  exit 1
fi

# shellcheck source=../lib/pgtest.sh
. "$top/tests/lib/pgtest.sh"
# seeding millions of rows with fsync on: fewer forced checkpoints (the same for every row).
# shared_buffers 1GB, not the tests' 256MB: each new task version goes into its job's place in
# tasks_job (job_id, task_id), so with a history the life cycle's rounds, each firing the next
# few thousand jobs, go through that whole index (195 MB with 5M tasks over the 50000 jobs here,
# ~2 jobs a leaf page) where without one they touch a few pages.  256MB held too little of it
# beside the rest (at 4 connections batched, every step was 15-25 % slower with the history at
# equal WAL).  A single part-4 round still varies by +-15 % and more on a 2-CPU machine; the
# cells show the median of six, each taken in turn with one of the copy's.
export PGTEST_EXTRA_OPTS=${PGTEST_EXTRA_OPTS:--c max_wal_size=4GB -c checkpoint_timeout=30min -c shared_buffers=1GB}
PGTEST_DURABLE=1 pg_test_start

db=tgx_bench
parts=${TGX_BENCH_PARTS:-raw,life,history,latency,minimal}

migrate() {
  if [ -n "${TGX_MIGRATE:-}" ]; then
    # shellcheck disable=SC2086 # a command with its arguments
    $TGX_MIGRATE "$db"
  elif [ -x "$top/build/tgxd" ]; then
    "$top/build/tgxd" migrate --sql-dir "$top" --database-url "$url" >/dev/null
  else
    PGOPTIONS="-c client_min_messages=warning" "$top/tests/lib/devload.sh" "$db" >/dev/null
  fi
}

# sql_core's parts, on a migrated database
if [[ $parts =~ raw|life|history|latency ]]; then
  url=$(pg_test_createdb "$db")
  echo "bench: migrating $db" >&2
  if ! migrate; then
    if [ -z "${TGX_MIGRATE:-}" ] && [ -x "$top/build/tgxd" ]; then
      # tgxd is being written alongside: fall back to the temporary loader, loudly
      echo "bench: WARNING: build/tgxd migrate failed; falling back to tests/lib/devload.sh" >&2
      dropdb "$db"
      createdb "$db"
      PGOPTIONS="-c client_min_messages=warning" "$top/tests/lib/devload.sh" "$db" >/dev/null
    else
      echo "bench: could not migrate $db" >&2
      exit 1
    fi
  fi
  TGX_BENCH_PARTS=$parts "$bench" --database-url "$url"
fi
# the minimal life cycle's reference rows, on a database of their own
if [[ $parts == *minimal* ]]; then
  "$top/tests/bench/minimal.sh" "$(pg_test_createdb tgx_bench_minimal)"
fi
