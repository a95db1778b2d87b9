#!/usr/bin/env bash
# tests/bench/api.sh: `make bench` -- the REST API benchmark.
#
# A throwaway DURABLE PostgreSQL cluster (fsync and synchronous_commit on), a migrated database
# seeded with TGX_BENCH_API_JOBS jobs (default 1 000 000, with INSERT ... SELECT generate_series
# straight into tgx.users / tgx.jobs), one `tgxd serve --roles=api`, and wrk (Debian package wrk)
# with TGX_BENCH_API_CONNS connections (default 64) for TGX_BENCH_API_SECONDS each (default 10)
# against, in one run:
#   GET  /api/health                          the trivial route (one cheap database probe)
#   OPTIONS /api/jobs                         a static answer (no database at all), for reference
#   GET  /api/jobs/user/:addr/:id             one job of a user
#   GET  /api/tasks/job/:id                   the tasks of a job (10 tasks)
#   POST /api/jobs                            job creation (a Lua script makes every job id unique)
# It prints req/s, p99 latency and the ratio to the trivial route for each, then the resident
# memory of tgxd (VmRSS and VmHWM from /proc/PID/status) with the jobs in the database.
# Targets printed beside the figures: reads >= 40 % of the trivial route; RSS < 64 MB.
# A benchmark, not a test: it never fails on a figure; the exit status is non-zero only when
# something cannot be set up.
#
# Environment: TGXD (default build/tgxd), TGX_MIGRATE (a command migrating the database named by
# its argument; default `tgxd migrate`), TGX_BENCH_API_JOBS, TGX_BENCH_API_CONNS,
# TGX_BENCH_API_SECONDS, TGX_BENCH_API_THREADS (tgxd --threads, default: tgxd's default),
# TGX_BENCH_API_WRK_THREADS (wrk -t, default 2).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
TGXD=${TGXD:-$top/build/tgxd}
JOBS=${TGX_BENCH_API_JOBS:-1000000}
CONNS=${TGX_BENCH_API_CONNS:-64}
SECS=${TGX_BENCH_API_SECONDS:-10}
WRK_THREADS=${TGX_BENCH_API_WRK_THREADS:-2}

die() { echo "bench api: $*" >&2; exit 1; }
[ -x "$TGXD" ] || die "$TGXD is missing (run make)"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is not installed (apt-get install curl)"

# shellcheck source=../lib/pgtest.sh
. "$top/tests/lib/pgtest.sh"
export PGTEST_EXTRA_OPTS=${PGTEST_EXTRA_OPTS:--c max_wal_size=4GB -c checkpoint_timeout=30min}
PGTEST_DURABLE=1 pg_test_start || die "could not start the PostgreSQL cluster"

work=$(mktemp -d /tmp/tgx-bench-api.XXXXXX)
spid=
cleanup() {
  if [ -n "$spid" ]; then
    kill -TERM -- "-$spid" 2>/dev/null || kill -TERM "$spid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$spid" 2>/dev/null
  fi
  rm -rf "$work"
  pg_test_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db=tgx_bench_api
url=$(pg_test_createdb "$db") || die "createdb failed"
echo "bench api: migrating $db" >&2
if [ -n "${TGX_MIGRATE:-}" ]; then
  # shellcheck disable=SC2086 # a command with its arguments
  $TGX_MIGRATE "$db" >/dev/null || die "migration failed"
else
  "$TGXD" migrate --sql-dir "$top" --database-url "$url" >/dev/null || die "migration failed"
fi
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

echo "bench api: seeding $JOBS jobs" >&2
t0=$(date +%s)
psql >/dev/null <<SQL || die "seeding failed"
INSERT INTO tgx.users (user_address)
SELECT '0x' || lpad(to_hex(g), 40, '0') FROM generate_series(1, 10000) g;
INSERT INTO tgx.jobs (job_id, job_title, task_definition_id, user_id, time_frame, created_chain_id,
                      target_chain_id, target_contract_address, target_function, abi, arguments,
                      created_at, updated_at, expiration_time)
SELECT (31337::numeric * 26959946667150639794667015087019630673637144422540572481103610249216 + g)::tgx.uint256,
       'seeded job ' || g, 1, 1 + g % 10000, 2592000, '31337', '31337',
       '0x5fbdb2315678afecb367f032d93f642f64180aa3', 'increment',
       '[{"type":"function","name":"increment","inputs":[{"name":"by","type":"uint256"}],"outputs":[]}]'::jsonb,
       '{1}', now() - g * interval '1 second', now() - g * interval '1 second',
       now() - g * interval '1 second' + interval '30 days'
  FROM generate_series(1, $JOBS) g;
UPDATE tgx.users u SET total_jobs = c.n FROM (SELECT user_id, count(*) AS n FROM tgx.jobs GROUP BY user_id) c
 WHERE c.user_id = u.user_id;
SQL
echo "bench api: seeded in $(( $(date +%s) - t0 )) s; vacuum analyze" >&2
psql -c 'VACUUM ANALYZE' >/dev/null || die "vacuum failed"

# the bench user: 8 keys (the per-key rate limit must not be what is measured), one job with 10 tasks
owner=0x00000000000000000000000000000000000b3e01
keys=()
for _ in $(seq 1 8); do
  k=$("$TGXD" keys create --owner "$owner" --rate-limit 1000000 --database-url "$url") || die "tgxd keys create failed"
  keys+=("$k")
done

port=$(free_port) || die "no free port"
base="http://127.0.0.1:$port"
extra=()
[ -n "${TGX_BENCH_API_THREADS:-}" ] && extra+=(--threads "$TGX_BENCH_API_THREADS")
setsid "$TGXD" serve --roles=api --listen "127.0.0.1:$port" --database-url "$url" "${extra[@]}" \
  >"$work/serve.log" 2>&1 </dev/null &
spid=$!
wait_alive 30 "$spid" http_ok "$port" || { tail -n 20 "$work/serve.log" >&2; die "tgxd serve did not start"; }

job_id=$((RANDOM))$((RANDOM))
job_id="8448438487085022231270731653944238887453156432519185858976078774$(printf '%08d' "$job_id" | cut -c1-8)"
abi='[{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{\"name\":\"by\",\"type\":\"uint256\"}],\"outputs\":[]}]'
job_json() { # JOB_ID
  printf '{"job_id":"%s","user_address":"%s","ether_balance":1000000000000000,"token_balance":1000000000000000,"job_title":"bench job","task_definition_id":1,"custom":true,"time_frame":86400,"recurring":false,"job_cost_prediction":0.004,"timezone":"UTC","created_chain_id":"31337","schedule_type":"interval","time_interval":900,"target_chain_id":"31337","target_contract_address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","target_function":"increment","abi":"%s","arg_type":1,"arguments":["1"],"is_imua":false,"is_safe":false,"safe_name":"","safe_address":"","language":""}' "$1" "$owner" "$abi"
}
code=$(curl -s -o "$work/create.json" -w '%{http_code}' -X POST -H "X-Api-Key: ${keys[0]}" \
  -H 'Content-Type: application/json' --data "[$(job_json "$job_id")]" "$base/api/jobs")
[ "$code" = 200 ] || { cat "$work/create.json" >&2; die "POST /api/jobs answered $code"; }
psql -c "SELECT tgx.run_job_now($job_id, 'bench') FROM generate_series(1, 10)" >/dev/null || die "run_job_now failed"
for path in "/api/jobs/user/$owner/$job_id" "/api/tasks/job/$job_id"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: ${keys[0]}" "$base$path")
  [ "$code" = 200 ] || die "GET $path answered $code"
done
rss_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$spid/status"; }
rss_start=$(rss_kb VmRSS)
total=$(psql -At -c "SELECT count(*) FROM tgx.jobs")

# --- wrk scripts: every request carries one of the keys, round robin; done() prints one line
keys_lua=$(printf '"%s",' "${keys[@]}")
cat >"$work/common.lua" <<LUA
local keys = { ${keys_lua} }
local n = 0
function setup(thread)
  -- a global of the thread's own Lua state: its number, for unique job ids
  thread:set("thread_no", THREADS_SEEN or 0)
  THREADS_SEEN = (THREADS_SEEN or 0) + 1
end
function init(args)
  n = math.random(#keys)
  if init_extra then init_extra(args) end
end
function next_key()
  n = n % #keys + 1
  return keys[n]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
cat >"$work/get.lua" <<'LUA'
dofile(WORKDIR .. "/common.lua")
request = function()
  return wrk.format("GET", PATH, { ["X-Api-Key"] = next_key() })
end
LUA
cat >"$work/open.lua" <<'LUA'
dofile(WORKDIR .. "/common.lua")
request = function()
  return wrk.format(METHOD, PATH, {})
end
LUA
body_prefix=$(job_json "JOBID" | sed 's/JOBID.*//')
body_suffix=$(job_json "JOBID" | sed 's/.*JOBID//')
cat >"$work/post.lua" <<LUA
dofile(WORKDIR .. "/common.lua")
local prefix = [==[[${body_prefix}]==]
local suffix = [==[${body_suffix}]]==]
local counter = 0
local stamp = 0
init_extra = function(args)
  stamp = os.time() % 100000
end
request = function()
  counter = counter + 1
  -- 31337 << 224 has 73 digits; any unique decimal below 2^256 will do
  local id = string.format("99%05d%02d%09d", stamp, thread_no or 0, counter) .. string.rep("7", 50)
  return wrk.format("POST", "/api/jobs", { ["X-Api-Key"] = next_key(), ["Content-Type"] = "application/json" },
    prefix .. id .. suffix)
end
LUA

run_wrk() { # NAME SCRIPT METHOD PATH
  local out
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s -s "$2" "$base$4" >"$work/$1.wrk" 2>&1 </dev/null
  out=$(grep '^RESULT' "$work/$1.wrk")
  [ -n "$out" ] || { echo "bench api: wrk $1 failed:" >&2; tail -n 5 "$work/$1.wrk" >&2; }
  echo "$1 $out"
}
# the Lua scripts read WORKDIR, METHOD and PATH as globals: prepend them
mk() { # SCRIPT METHOD PATH -> a script file with the globals set
  local f=$work/run.$RANDOM.lua
  { printf 'WORKDIR = "%s"\nMETHOD = "%s"\nPATH = "%s"\n' "$work" "$2" "$3"; cat "$work/$1.lua"; } >"$f"
  echo "$f"
}

echo "bench api: wrk -t$WRK_THREADS -c$CONNS -d${SECS}s per route" >&2
results=()
results+=("$(run_wrk health "$(mk open GET /api/health)" GET /api/health)")
results+=("$(run_wrk static "$(mk open OPTIONS /api/jobs)" OPTIONS /api/jobs)")
results+=("$(run_wrk job_read "$(mk get GET "/api/jobs/user/$owner/$job_id")" GET "/api/jobs/user/$owner/$job_id")")
results+=("$(run_wrk tasks_read "$(mk get GET "/api/tasks/job/$job_id")" GET "/api/tasks/job/$job_id")")
results+=("$(run_wrk job_create "$(mk post POST /api/jobs)" POST /api/jobs)")
rss_end=$(rss_kb VmRSS)
hwm=$(rss_kb VmHWM)
created=$(psql -At -c "SELECT count(*) FROM tgx.jobs j JOIN tgx.users u USING (user_id) WHERE u.user_address = '$owner'")

field() { sed -nE "s/.*$1=([0-9]+).*/\1/p" <<<"$2"; }
rps_of() {
  local line=$1 req dur
  req=$(field requests "$line"); dur=$(field duration_us "$line")
  [ -n "$req" ] && [ -n "$dur" ] && [ "$dur" -gt 0 ] && awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }'
}
trivial=$(rps_of "${results[0]}")

echo
echo "REST API benchmark: $CONNS connections, ${SECS} s per route, $total jobs in the database"
printf '%-34s %10s %10s %10s %8s %8s  %s\n' route req/s p50_ms p99_ms non-2xx ratio target
labels=("GET /api/health (trivial)" "OPTIONS /api/jobs (static)" "GET /api/jobs/user/:addr/:id" "GET /api/tasks/job/:id" "POST /api/jobs")
targets=("" "" ">= 0.40" ">= 0.40" "")
for i in "${!results[@]}"; do
  line=${results[$i]}
  rps=$(rps_of "$line")
  if [ -z "$rps" ]; then
    printf '%-34s %10s\n' "${labels[$i]}" "wrk failed"
    continue
  fi
  p50=$(awk -v v="$(field p50_us "$line")" 'BEGIN { printf "%.2f", v / 1000 }')
  p99=$(awk -v v="$(field p99_us "$line")" 'BEGIN { printf "%.2f", v / 1000 }')
  ratio=$(awk -v a="$rps" -v b="${trivial:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  non=$(( $(field non2xx "$line") + $(field errors "$line") ))
  verdict=""
  if [ -n "${targets[$i]}" ] && [ "$ratio" != "-" ]; then
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.40) ? "met" : "MISSED" }')
  fi
  printf '%-34s %10s %10s %10s %8s %8s  %s\n' "${labels[$i]}" "$rps" "$p50" "$p99" "$non" "$ratio" \
    "${targets[$i]:+${targets[$i]} $verdict}"
done
echo "jobs created by POST /api/jobs during the run: $((created - 1))"
rss_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_verdict=$(awk -v k="$hwm" 'BEGIN { print (k < 65536) ? "met" : "MISSED" }')
echo "tgxd RSS with $total jobs (+ those created): $(rss_mb "$rss_start") MB after start, $(rss_mb "$rss_end") MB after the runs, peak (VmHWM) $(rss_mb "$hwm") MB; target < 64 MB: $rss_verdict"
