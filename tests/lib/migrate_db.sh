#!/usr/bin/env bash
# tests/lib/migrate_db.sh DBNAME: migrate database DBNAME of the running test cluster
# (PGPORT set by pg_test_start) with `tgxd migrate`.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tgxd=${TGXD:-$top/build/tgxd}
exec "$tgxd" migrate --sql-dir "$top" \
  --database-url "postgresql://postgres@127.0.0.1:${PGPORT:?PGPORT is not set: start the cluster first}/${1:?usage: migrate_db.sh DBNAME}" >/dev/null
