#!/usr/bin/env bash
# tests/lib/devload.sh DBNAME: TEMPORARY stand-in for `tgxd migrate` while the C runner is
# being written: creates schema tgx + schema_migrations, applies migrations/*.sql in order,
# then sql/ files in the order of sql/install.list (files that do not exist yet are skipped).
set -euo pipefail
db=${1:?usage: devload.sh DBNAME}
top=$(cd "$(dirname "$0")/../.." && pwd)
run() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@" >/dev/null; }
run -c "CREATE SCHEMA IF NOT EXISTS tgx; CREATE TABLE IF NOT EXISTS tgx.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT session_user)"
for f in "$top"/migrations/[0-9][0-9][0-9][0-9]_*.sql; do
  v=$((10#$(basename "$f" | cut -c1-4)))
  if [ -z "$(psql -X -At -d "$db" -c "SELECT 1 FROM tgx.schema_migrations WHERE version=$v")" ]; then
    run -1 -f "$f"
    run -c "INSERT INTO tgx.schema_migrations(version,name,checksum) VALUES ($v,'$(basename "$f")','dev')"
  fi
done
grep -v -e '^#' -e '^[[:space:]]*$' "$top/sql/install.list" | while read -r f; do
  if [ -f "$top/sql/$f" ]; then run -1 -f "$top/sql/$f"; fi
done
echo "devload: $db ready"
