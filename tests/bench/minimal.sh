#!/usr/bin/env bash
# tests/bench/minimal.sh URL: the reference rows of `make bench` (tests/bench/run.sh runs it on
# its cluster, after the main table) -- what a MINIMAL life cycle reaches against the same raw
# ceilings, on this machine, in this run.
#
# The minimal life cycle (tests/bench/minimal/*.sql, driven by pgbench) has the steps of the
# real one and nothing else: fire a batch of due schedules into tasks, dispatch a batch to a
# keeper (epoch + 1), the keeper takes (a lease) and submits fenced by the epoch (succeeded).
# One narrow task table with the three partial indexes the claims walk; no attempt rows, no
# accounting, no foreign keys, no result checks, no notifications, no keeper scores.  The roles'
# steps commit asynchronously and the keeper's calls durably, as in sql_core.c.  It shows how far
# a design that keeps a task row through its states can get against part 3's targets here, and
# so how much of a miss is the weight of the real design and how much is the target's.
#
# A second table runs the same life cycle with the bookkeeping the SQL core must keep in any design
# (tests/bench/minimal/required: foreign keys, CHECKs on the task states, an attempt row per try,
# the job's and the keeper's counters moved by a succeeded task), still as plain statements,
# against the same raw ceilings (measured once, with the first table).
#
# Environment: TGX_BENCH_CONNS (1,2,4,8), TGX_BENCH_SECONDS (3), TGX_BENCH_BATCH (100),
# TGX_BENCH_JOBS (50000), TGX_BENCH_PASSES (2: every cell the best of that many), as for sql_core.
set -euo pipefail
url=${1:?usage: minimal.sh DATABASE_URL}
dir=$(cd "$(dirname "$0")/minimal" && pwd)
conns=${TGX_BENCH_CONNS:-1,2,4,8}
secs=${TGX_BENCH_SECONDS:-3}
secs=${secs%.*}
[ "$secs" -ge 1 ] 2>/dev/null || secs=1
batch=${TGX_BENCH_BATCH:-100}
jobs=${TGX_BENCH_JOBS:-50000}
passes=${TGX_BENCH_PASSES:-2}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the pgbench scripts, each "--@roles" line replaced by its directory's roles.sql (pgbench has
# no include): $tmp/NAME.sql, and $tmp/required/NAME.sql for the second table
mkdir "$tmp/required"
for f in "$dir"/*.sql "$dir"/required/*.sql; do
  d=$(dirname "$f")
  awk -v roles="$d/roles.sql" '$0 == "--@roles" { while ((getline l < roles) > 0) print l; next } { print }' \
    "$f" >"$tmp/${d#"$dir"}/$(basename "$f")"
done

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"; }

# cell VARIANT SCRIPT CONNS ROWS: reset VARIANT's tables (ROWS raw rows), run its SCRIPT on CONNS
# connections for secs seconds, print what it did per second (tasks succeeded, or raw rows
# claimed and removed).  VARIANT: "" (the minimal tables bench_min_*) or required (bench_req_*).
cell() {
  local v=$1 script=$2 n=$3 rows=$4 tasks=bench_min_tasks opts before after count
  [ -n "$v" ] && tasks=bench_req_tasks
  count="SELECT (SELECT count(*) FROM bench_raw) - (SELECT count(*) FROM $tasks WHERE state = 3)"
  sql -v jobs="$jobs" -v rows="$rows" -f "$dir/$v/reset.sql" >/dev/null
  before=$(sql -c "$count")
  # the life cycle's statements plan as the stored functions do (SET enable_seqscan and
  # enable_bitmapscan off): a generic plan made while the task table was small may otherwise
  # scan it whole per row once it has grown (seen for the required dispatch at 1 connection)
  opts=""
  [[ $script == life_* ]] && opts="-c enable_seqscan=off -c enable_bitmapscan=off"
  PGOPTIONS="$opts" pgbench -n -M prepared -c "$n" -j "$n" -T "$secs" -D batch="$batch" -f "$tmp/$v/$script.sql" "$url" >/dev/null 2>"$tmp/err" ||
    { echo "bench: pgbench $v/$script failed:" >&2; cat "$tmp/err" >&2; return 1; }
  after=$(sql -c "$count")
  echo $(((before - after) / secs))
}

# best VARIANT SCRIPT CONNS ROWS: run the cell and keep the best of the passes in
# rate[VARIANTSCRIPT,CONNS]
declare -A rate
best() {
  local r
  r=$(cell "$@")
  [ "$r" -gt "${rate[$1$2,$3]:-0}" ] && rate[$1$2,$3]=$r
  echo "bench:   $3 conn: ${1:+$1/}$2 $r/s" >&2
}

echo "bench: the minimal life cycle (tests/bench/minimal), ${secs} s per cell, the best of $passes passes" >&2
PGOPTIONS="-c client_min_messages=warning" sql -f "$dir/setup.sql" -f "$dir/required/setup.sql" >/dev/null
IFS=, read -r -a ns <<<"$conns"
for ((p = 1; p <= passes; p++)); do
  echo "bench: minimal pass $p of $passes" >&2
  for n in "${ns[@]}"; do
    # rows enough for the raw rows never to run dry within the cell
    best "" raw_batch "$n" $((300000 * secs))
    best "" life_batch "$n" 0
    best required life_batch "$n" 0
    best "" raw_one "$n" $((20000 * secs))
    best "" life_one "$n" 0
    best required life_one "$n" 0
  done
done

conns_header() {
  printf '%-50s %-8s' "" conns
  for n in "${ns[@]}"; do printf ' %9s' "$n"; done
  printf '\n'
}
row() { # LABEL UNIT KEY
  printf '%-50s %-8s' "$1" "$2"
  for n in "${ns[@]}"; do printf ' %9s' "${rate[$3,$n]}"; done
  printf '\n'
}
ratio() { # LABEL NUMERATOR DENOMINATOR TARGET
  printf '%-50s %-8s' "$1" ratio
  for n in "${ns[@]}"; do
    awk -v a="${rate[$2,$n]}" -v b="${rate[$3,$n]}" 'BEGIN { if (b > 0) printf " %8.1f%%", 100 * a / b; else printf " %9s", "n/a" }'
  done
  printf '   (part 3 targets >= %s)\n' "$4"
}

echo
echo "Reference: a minimal life cycle (tests/bench/minimal: one narrow task table, 3 partial indexes, nothing else);"
echo "each cell the best of $passes passes of one ${secs}-s run"
conns_header
row "minimal life cycle, $batch per call" tasks/s life_batch
row "raw claim-and-delete, $batch per transaction" rows/s raw_batch
ratio "  minimal batched / batched raw" life_batch raw_batch 50%
row "minimal life cycle, 1 task per keeper call" tasks/s life_one
row "raw claim, then complete" rows/s raw_one
ratio "  minimal 1 per call / claim-then-complete" life_one raw_one 50%

echo
echo "Reference: the same with the bookkeeping the SQL core must keep (tests/bench/minimal/required: foreign keys,"
echo "CHECKs on the task states, an attempt row per try, the job's and the keeper's counters), plain statements"
conns_header
row "required life cycle, $batch per call" tasks/s requiredlife_batch
ratio "  required batched / batched raw" requiredlife_batch raw_batch 50%
row "required life cycle, 1 task per keeper call" tasks/s requiredlife_one
ratio "  required 1 per call / claim-then-complete" requiredlife_one raw_one 50%
