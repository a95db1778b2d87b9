#!/usr/bin/env bash
# tests/run.sh: the whole test suite; `make test` builds everything, then runs this.
#
#  1. a throwaway PostgreSQL 15 cluster (tests/lib/pgtest.sh), migrated with `tgxd migrate`
#  2. Criterion unit tests, plain and under ASan+UBSan (build/san); the ones that need a
#     database get TGX_TEST_DATABASE_URL
#  3. pgTAP tests of the SQL API (tests/sql/*.sql) with pg_prove
#  4. plpgsql_check over every PL/pgSQL function of schema tgx
#  5. script tests printing TAP: migrations (tests/migrate/*.sh), concurrency
#     (tests/concurrency/run.sh, direct.sh, crash.sh: a crash of PostgreSQL), fuzz corpus
#     replay (tests/fuzz/run.sh), the REST API against a real tgxd (tests/api/run.sh) and the
#     SDK end to end with anvil (tests/e2e/run.sh)
#
# Ends with one line "N passed, N failed" and a non-zero status when anything failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export TGX_TOP=$top TGXD=$top/build/tgxd
export TGX_MIGRATE=$top/tests/lib/migrate_db.sh
passed=0
failed=0
failures=()

section() { printf '\n=== %s\n' "$*"; }
fail() { failed=$((failed + $2)); failures+=("$1"); }

# count TAP "ok"/"not ok" lines of a file into passed/failed
count_tap() {
  local name=$1 file=$2 ok notok
  ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$file")
  notok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$file")
  passed=$((passed + ok))
  [ "$notok" -gt 0 ] && fail "$name" "$notok"
  return 0
}

section "PostgreSQL"
# shellcheck source=tests/lib/pgtest.sh
. tests/lib/pgtest.sh
if ! pg_test_start; then
  echo "could not start the test cluster"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi
echo "throwaway cluster on port $PGPORT"

section "tgxd migrate"
createdb tgx_test
if "$TGX_MIGRATE" tgx_test; then
  passed=$((passed + 1))
else
  fail "tgxd migrate" 1
fi
psql -X -q -d tgx_test -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION plpgsql_check' >/dev/null

section "unit tests (Criterion; database tests use TGX_TEST_DATABASE_URL)"
createdb tgx_unit
"$TGX_MIGRATE" tgx_unit || fail "tgxd migrate (unit database)" 1
export TGX_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/tgx_unit"
for bin in build/tests/unit_tests build/san/tests/unit_tests; do
  if [ ! -x "$bin" ]; then fail "$bin missing" 1; continue; fi
  out=$("$bin" --jobs 2 2>&1)
  rc=$?
  printf '%s\n' "$out" | grep -vE '^\[----\]|^$' | tail -n 20
  line=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
  p=$(sed -nE 's/.*Passing: ([0-9]+).*/\1/p' <<<"$line")
  f=$(sed -nE 's/.*Failing: ([0-9]+).*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0}))
  if [ "$rc" -ne 0 ] || [ "${f:-1}" -ne 0 ]; then fail "$bin" "${f:-1}"; fi
  # Criterion counts a test that leaks or trips UBSan as passing: look for the reports
  if printf '%s\n' "$out" | grep -qE 'LeakSanitizer|runtime error:|AddressSanitizer'; then
    printf '%s\n' "$out" | grep -E -A 15 'LeakSanitizer|runtime error:|AddressSanitizer' | head -n 60
    fail "$bin: sanitizer report" 1
  fi
done

section "SQL API (pgTAP, pg_prove)"
tap=$(mktemp)
pg_prove --verbose --failures -d tgx_test tests/sql/*.sql >"$tap" 2>&1
prove_rc=$?
grep -vE '^[[:space:]]*ok [0-9]+' "$tap" | tail -n 40
count_tap pg_prove "$tap"
if [ "$prove_rc" -ne 0 ] && ! grep -qE '^[[:space:]]*not ok' "$tap"; then
  fail "pg_prove (a test file died: see above)" 1
fi

section "plpgsql_check"
report=$(psql -X -At -d tgx_test -F ' | ' <<'SQL'
SELECT p.oid::regprocedure, c.level, c.message, c.lineno
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL plpgsql_check_function_tb(
    p.oid,
    CASE WHEN p.prorettype = 'trigger'::regtype THEN
        (SELECT t.tgrelid FROM pg_trigger t WHERE t.tgfoid = p.oid LIMIT 1) ELSE 0 END) c
WHERE n.nspname = 'tgx'
  AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
  AND (p.prorettype <> 'trigger'::regtype OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid))
  AND c.level = 'error'
SQL
)
nfuncs=$(psql -X -At -d tgx_test -c "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'tgx' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')")
if [ -n "$report" ]; then
  printf '%s\n' "$report"
  fail "plpgsql_check" "$(printf '%s\n' "$report" | wc -l)"
else
  echo "plpgsql_check: $nfuncs PL/pgSQL functions, no errors"
  passed=$((passed + 1))
fi

section "script tests (migrations, concurrency, REST API, SDK end to end)"
for t in tests/migrate/*.sh tests/concurrency/run.sh tests/concurrency/direct.sh tests/concurrency/crash.sh tests/fuzz/run.sh tests/keeper/*.sh tests/roles/*.sh tests/api/run.sh tests/e2e/run.sh tests/e2e/keepers.sh; do
  [ -x "$t" ] || continue
  out=$(mktemp)
  "$t" >"$out" 2>&1
  rc=$?
  cat "$out"
  count_tap "$t" "$out"
  if [ "$rc" -ne 0 ] && ! grep -qE '^[[:space:]]*not ok' "$out"; then fail "$t (exit $rc)" 1; fi
done

section "summary"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
