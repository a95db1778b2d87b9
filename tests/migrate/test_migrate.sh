#!/usr/bin/env bash
# tests/migrate/test_migrate.sh: `tgxd migrate` against a running throwaway cluster; prints TAP.
#
#   cd /work/main && bash -c '. tests/lib/pgtest.sh; pg_test_start; TGXD=build/tgxd TGX_TOP=$PWD tests/migrate/test_migrate.sh'
#
# Needs PGHOST/PGPORT/PGUSER of the cluster (pg_test_start exports them); TGXD is the binary
# (default build/tgxd), TGX_TOP the repository.  Every check creates its own databases (dropped at
# the end) and works on a copy of the tree's migrations/ and sql/ in a temporary --sql-dir, whose
# install.list keeps only the listed files that exist, so the test runs while sql/ is still growing.
set -uo pipefail
top=${TGX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
tgxd=${TGXD:-$top/build/tgxd}
case $tgxd in /*) ;; *) tgxd=$top/$tgxd ;; esac
: "${PGPORT:?PGPORT is not set: start the cluster first (tests/lib/pgtest.sh)}"
unset TGX_DATABASE_URL TGX_SQL_DIR TGX_LOG_LEVEL

work=$(mktemp -d /tmp/tgx-migrate-test.XXXXXX)
prefix=tgxmig_$$_
n=0
failed=0

cleanup() {
  local db
  for db in $(psql -X -At -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'"); do
    dropdb --if-exists "$db" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

# check DESCRIPTION COMMAND...: one TAP line; on failure the last run's output as comments
check() {
  local desc=$1
  shift
  n=$((n + 1))
  if "$@"; then
    echo "ok $n - $desc"
  else
    echo "not ok $n - $desc"
    failed=$((failed + 1))
    [ -f "$work/out" ] && sed 's/^/# stdout: /' "$work/out"
    [ -f "$work/err" ] && sed 's/^/# stderr: /' "$work/err"
  fi
  return 0
}

# migrate DB TREE [ARGS...]: run tgxd migrate, output in $work/out and $work/err, status in $rc
migrate() {
  local db=$1 tree=$2
  shift 2
  "$tgxd" migrate --database-url "dbname=$db" --sql-dir "$tree" "$@" >"$work/out" 2>"$work/err"
  rc=$?
}

newdb() { createdb "$prefix$1" && echo "$prefix$1"; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>/dev/null; }
status_is() { [ "$rc" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$work/out"; }
err_has() { grep -qF -- "$1" "$work/err"; }
out_lacks() { ! grep -qF -- "$1" "$work/out"; }
err_lacks() { ! grep -qF -- "$1" "$work/err"; }
err_lines() { [ "$(wc -l <"$work/err")" -eq "$1" ]; }
same() { [ "$1" = "$2" ]; }
# pg_dump -s without the random \restrict key lines of newer pg_dump releases
dump_schema() { pg_dump -s "$1" | grep -vE '^\\(un)?restrict '; }
is_true() { [ "$(q "$1" "$2")" = t ]; }

# mktree NAME: a copy of the repository's migrations/ and sql/ (install.list: existing files only)
mktree() {
  local t=$work/$1 line name
  mkdir -p "$t/migrations" "$t/sql"
  cp "$top"/migrations/*.sql "$t/migrations/"
  cp "$top"/sql/*.sql "$t/sql/" 2>/dev/null
  while IFS= read -r line || [ -n "$line" ]; do
    name=${line%%#*}
    name=${name//[[:space:]]/}
    if [ -z "$name" ] || [ -f "$top/sql/$name" ]; then printf '%s\n' "$line"; fi
  done <"$top/sql/install.list" >"$t/sql/install.list"
  echo "$t"
}

nmig=$(ls "$top"/migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
tree=$(mktree base)
nsql=$(grep -cvE '^[[:space:]]*(#|$)' "$tree/sql/install.list")

# --- fresh install, then a second run that changes nothing ------------------------------------
db=$(newdb fresh)
migrate "$db" "$tree"
check "fresh install exits 0" status_is 0
check "fresh install applies 0001_core.sql" out_has "applied 0001_core.sql"
check "fresh install reloads the $nsql listed sql files" out_has "reloaded $nsql sql file"
check "fresh install records every migration" same "$(q "$db" 'SELECT count(*) FROM tgx.schema_migrations')" "$nmig"
sums=$(cd "$tree/migrations" && for f in [0-9]*.sql; do echo "$((10#${f:0:4}))|$f|$(sha256sum <"$f" | cut -c1-64)"; done)
check "schema_migrations holds version, name and the file's SHA-256" \
  same "$(q "$db" 'SELECT version, name, checksum FROM tgx.schema_migrations ORDER BY version')" "$sums"
check "applied_by is the session user" is_true "$db" \
  "SELECT bool_and(applied_by = session_user) FROM tgx.schema_migrations"

dump_schema "$db" >"$work/schema1.sql"
rows1=$(q "$db" 'SELECT * FROM tgx.schema_migrations ORDER BY version')
migrate "$db" "$tree"
check "second run exits 0" status_is 0
check "second run says the database is up to date" out_has "database is up to date"
check "second run applies nothing" out_lacks "applied "
dump_schema "$db" >"$work/schema2.sql"
check "second run leaves the schema as it was (pg_dump -s)" cmp -s "$work/schema1.sql" "$work/schema2.sql"
check "second run leaves schema_migrations as it was" same "$(q "$db" 'SELECT * FROM tgx.schema_migrations ORDER BY version')" "$rows1"
base=$db

# --- a changed or missing applied migration is refused, nothing applied -----------------------
db=$prefix"changed"
createdb -T "$base" "$db"
t=$(mktree changed)
echo "-- an edit after the fact" >>"$t/migrations/0001_core.sql"
printf 'CREATE SCHEMA zz_test;\nCREATE TABLE zz_test.new (id integer);\n' >"$t/migrations/9999_new.sql"
migrate "$db" "$t"
check "a changed applied migration exits 1" status_is 1
check "the message names the changed file" err_has "0001_core.sql"
check "the message says it changed" err_has "was changed after it was applied"
check "nothing was applied after a changed checksum" is_true "$db" \
  "SELECT to_regclass('zz_test.new') IS NULL AND (SELECT count(*) FROM tgx.schema_migrations) = $nmig"

t=$(mktree missing)
rm "$t/migrations/0001_core.sql"
migrate "$db" "$t"
check "an applied migration whose file is missing exits 1" status_is 1
check "the message names the missing file" err_has "applied migration 0001_core.sql is missing"

# --- each new migration in its own transaction; errors name the file and line ------------------
t=$(mktree newfiles)
printf 'CREATE SCHEMA zz_test;\nCREATE TABLE zz_test.ok (id integer);\n' >"$t/migrations/9000_ok.sql"
printf 'CREATE TABLE zz_test.bad (id integer);\n\nCRATE TABLE zz_test.bad2 (id integer);\n' >"$t/migrations/9001_bad.sql"
migrate "$db" "$t"
check "a failing migration exits 1" status_is 1
check "the migrations before it were applied" out_has "applied 9000_ok.sql"
check "the error names the file, the line and the SQLSTATE" \
  err_has 'could not apply migrations/9001_bad.sql (line 3, column 1): syntax error at or near "CRATE" (SQLSTATE 42601)'
check "the good migration is committed and recorded" is_true "$db" \
  "SELECT to_regclass('zz_test.ok') IS NOT NULL AND EXISTS (SELECT 1 FROM tgx.schema_migrations WHERE version = 9000)"
check "the failing migration left nothing behind" is_true "$db" \
  "SELECT to_regclass('zz_test.bad') IS NULL AND NOT EXISTS (SELECT 1 FROM tgx.schema_migrations WHERE version = 9001)"

printf 'CREATE TABLE zz_test.bad (id integer);\n' >"$t/migrations/9001_bad.sql"
printf 'CREATE TABLE zz_test.late (id integer);\n' >"$t/migrations/8999_late.sql"
migrate "$db" "$t"
check "a new migration numbered before an applied one is refused" err_has "migrations/8999_late.sql comes before"
check "... and nothing is applied" is_true "$db" "SELECT to_regclass('zz_test.late') IS NULL AND to_regclass('zz_test.bad') IS NULL"
rm "$t/migrations/8999_late.sql"
printf 'CREATE TABLE zz_test.c (id integer);\nCOMMIT;\n' >"$t/migrations/9002_commit.sql"
migrate "$db" "$t"
check "a migration that commits by itself is refused" err_has "migrations/9002_commit.sql ended the transaction"
echo "notes" >"$t/migrations/README"
migrate "$db" "$t"
check "a file of another name in migrations/ is refused" err_has "unexpected file \"README\""
check "... with exit status 1" status_is 1

# --- a broken sql/ file rolls the whole reload back ---------------------------------------------
db=$(newdb reload)
t=$(mktree reload)
cat >"$t/sql/zz_test.probe.sql" <<'SQL'
CREATE SCHEMA IF NOT EXISTS zz_test;
CREATE OR REPLACE FUNCTION zz_test.probe() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
SQL
echo "zz_test.probe.sql" >>"$t/sql/install.list"
migrate "$db" "$t"
check "an added sql/ file is loaded" same "$(q "$db" 'SELECT zz_test.probe()')" 1
sed -i 's/SELECT 1/SELECT 2/' "$t/sql/zz_test.probe.sql"
printf -- '-- a broken function file\nCREATE OR REPLACE FUNCTION zz_test.broken() RETURNS integer LANGUAGE plpgsql AS $$\nBEGIN\n    RETRN 1;\nEND\n$$;\n' \
  >"$t/sql/zz_test.broken.sql"
echo "zz_test.broken.sql" >>"$t/sql/install.list"
migrate "$db" "$t"
check "a broken sql/ file exits 1" status_is 1
check "the error names the sql/ file, its line and the SQLSTATE" \
  err_has 'could not reload sql/zz_test.broken.sql (line 4, column 5): syntax error at or near "RETRN" (SQLSTATE 42601)'
check "the reload was rolled back: the previous function is still in place" same "$(q "$db" 'SELECT zz_test.probe()')" 1
check "the broken function does not exist" is_true "$db" "SELECT to_regprocedure('zz_test.broken()') IS NULL"

rm "$t/sql/zz_test.broken.sql"
migrate "$db" "$t"
check "a listed sql/ file that does not exist is refused" err_has 'file "sql/zz_test.broken.sql" listed in sql/install.list does not exist'
grep -v zz_test.broken "$t/sql/install.list" >"$t/sql/l" && mv "$t/sql/l" "$t/sql/install.list"
echo "SELECT 1;" >"$t/sql/zz_test.unlisted.sql"
migrate "$db" "$t"
check "an unlisted sql/*.sql file is refused" err_has 'file "sql/zz_test.unlisted.sql" is not listed in sql/install.list'
check "... with exit status 1" status_is 1

# --- two concurrent runs on a fresh database -----------------------------------------------------
db=$(newdb concurrent)
"$tgxd" migrate --database-url "dbname=$db" --sql-dir "$tree" >"$work/c1.out" 2>"$work/c1.err" &
p1=$!
"$tgxd" migrate --database-url "dbname=$db" --sql-dir "$tree" >"$work/c2.out" 2>"$work/c2.err" &
p2=$!
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
cat "$work"/c1.* "$work"/c2.* >"$work/out"
: >"$work/err"
check "two concurrent runs both succeed" same "$rc1 $rc2" "0 0"
check "each migration was applied once" same "$(q "$db" 'SELECT count(*) FROM tgx.schema_migrations')" "$nmig"
check "exactly one of the runs applied 0001_core.sql" same "$(cat "$work"/c1.out "$work"/c2.out | grep -c 'applied 0001_core.sql')" 1

# --- connection errors, never a password ---------------------------------------------------------
migrate x "$tree" --database-url 'postgresql://tgx:s3cret-pw@127.0.0.1:5432/db?bogus=1'
check "a bad URL exits 1" status_is 1
check "a bad URL says so" err_has "tgxd migrate: invalid database URL: "
check "a bad URL is one line" err_lines 1
check "the password is not printed (bad URL)" err_lacks "s3cret-pw"
migrate x "$tree" --database-url "host=127.0.0.1 password='s3cret pw' port=1 connect_timeout=5 dbname"
check "a bad key=value string exits 1" status_is 1
check "the password is not printed (bad key=value string)" err_lacks "s3cret"
migrate x "$tree" --database-url 'postgresql://tgx:s3cret-pw@127.0.0.1:1/db?connect_timeout=5'
check "an unreachable server exits 1" status_is 1
check "an unreachable server says so" err_has "tgxd migrate: could not connect to the database: "
check "the password is not printed (unreachable server)" err_lacks "s3cret-pw"

# --- command line -----------------------------------------------------------------------------------
"$tgxd" --bogus >"$work/out" 2>"$work/err"
rc=$?
check "an unknown option exits 2" status_is 2
check "an unknown option is one line on stderr" same "$(cat "$work/err")" "tgxd: unknown option '--bogus'"
"$tgxd" migrate --sql-dir "$tree" --database-url >"$work/out" 2>"$work/err"
rc=$?
check "a missing value exits 2" status_is 2
check "a missing value is one line on stderr" same "$(cat "$work/err")" "tgxd migrate: option '--database-url' needs a value"
"$tgxd" migrate --sql-dir "$tree" >"$work/out" 2>"$work/err"
rc=$?
check "no database URL exits 2" status_is 2
check "no database URL is one line on stderr" err_lines 1
TGX_DATABASE_URL="dbname=${prefix}fresh" "$tgxd" migrate --sql-dir "$tree" >"$work/out" 2>"$work/err"
rc=$?
check "TGX_DATABASE_URL is the default URL" out_has "database is up to date"
TGX_SQL_DIR=$tree "$tgxd" migrate -d "dbname=${prefix}fresh" >"$work/out" 2>"$work/err"
rc=$?
check "TGX_SQL_DIR is the default directory" out_has "reloaded $nsql sql file"

# --- valgrind: no leaks on a real run ---------------------------------------------------------------
if command -v valgrind >/dev/null; then
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible --error-exitcode=99 \
    "$tgxd" migrate --database-url "dbname=${prefix}fresh" --sql-dir "$tree" >"$work/out" 2>"$work/err"
  rc=$?
  check "valgrind: a migrate run has no leaks or memory errors" status_is 0
  t=$(mktree valgrind)
  printf 'SELECT 1;\nCRATE TABLE x (id integer);\n' >"$t/sql/zz_test.vg.sql"
  echo "zz_test.vg.sql" >>"$t/sql/install.list"
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible --error-exitcode=99 \
    "$tgxd" migrate --database-url "dbname=${prefix}fresh" --sql-dir "$t" >"$work/out" 2>"$work/err"
  rc=$?
  check "valgrind: a run failing on an SQL error has no leaks or memory errors" status_is 1
fi

echo "1..$n"
[ "$failed" -eq 0 ]
