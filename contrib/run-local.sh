#!/usr/bin/env bash
# contrib/run-local.sh: `make run` — the local single-node setup.
#
# Without TGX_DATABASE_URL: creates (once) a PostgreSQL 15 cluster under var/pg, starts it
# on 127.0.0.1:${TGX_LOCAL_PGPORT:-25431} (socket in var/pg), creates database `triggerx`,
# migrates it with `tgxd migrate`.  With TGX_DATABASE_URL: migrates that database.  Then starts,
# in the background (pids in var/run, logs in var/log):
#   - anvil (npm @foundry-rs/anvil-linux-amd64, from tests/e2e: `npm ci` there when missing) on
#     127.0.0.1:${TGX_LOCAL_ANVIL_PORT:-8545}, chain 31337, and deploys the sample Counter contract;
#   - `tgxd serve --roles=all` on 127.0.0.1:${TGX_LOCAL_API_PORT:-9002};
#   - two `tgx-keeper run` on anvil's dev accounts 1 and 2 (key files var/keepers/*.key, mode 0600),
#     registered and whitelisted;
# creates an admin API key and, over REST, a sample job (Counter.increment(1) every 10 s), and
# prints how to watch it.  Running it again restarts the processes.  `make stop` stops them all.
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
  # below the kernel's ephemeral ports (32768 and up), where an outgoing connection can hold
  # the port and make the server's bind fail (tests/lib/pgtest.sh probes from 25432 up)
  port=${TGX_LOCAL_PGPORT:-25431}
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
  if (cd / && $as "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1); then
    port=$(sed -n 4p "$data/postmaster.pid")   # already running: on the port it was started on
  else
    (cd / && $as "$bin/pg_ctl" -D "$data" -w -l "$top/var/pg/postgres.log" start \
      -o "-p $port -k $top/var/pg -c listen_addresses=127.0.0.1 -c wal_compression=lz4") >/dev/null ||
      { tail -n 20 "$top/var/pg/postgres.log" >&2; exit 1; }
  fi
  psql -X -q -h "$top/var/pg" -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'triggerx'" | grep -q 1 ||
    createdb -h "$top/var/pg" -p "$port" -U postgres triggerx
  url="postgresql://postgres@127.0.0.1:$port/triggerx"
  "$tgxd" migrate --database-url "$url"
  psql_cmd="psql -h $top/var/pg -p $port -U postgres triggerx"
fi

mkdir -p "$top/var/log" "$top/var/run" "$top/var/keepers"
stop_pid() { # NAME: stop the process of var/run/NAME.pid
  local f=$top/var/run/$1.pid
  if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
    kill -TERM "$(cat "$f")"
    for _ in $(seq 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}
rpc_up() { # URL: the node answers eth_chainId
  curl -fsS -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" >/dev/null 2>&1
}
stop_pid keeper1
stop_pid keeper2
stop_pid tgxd

# the chain: anvil, kept running across `make run`; a new one gets the sample contract
anvil_port=${TGX_LOCAL_ANVIL_PORT:-8545}
rpc=http://127.0.0.1:$anvil_port
anvil=$top/tests/e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if [ ! -x "$anvil" ] || [ ! -d "$top/tests/e2e/node_modules/solc" ]; then
  echo "run: installing anvil, solc and ethers (npm ci in tests/e2e)"
  (cd "$top/tests/e2e" && npm ci --no-audit --no-fund >"$top/var/log/npm.log" 2>&1) ||
    { tail -n 20 "$top/var/log/npm.log" >&2; exit 1; }
fi
if ! rpc_up "$rpc"; then
  stop_pid anvil
  setsid "$anvil" --host 127.0.0.1 --port "$anvil_port" --silent </dev/null >>"$top/var/log/anvil.log" 2>&1 &
  echo $! >"$top/var/run/anvil.pid"
  for _ in $(seq 100); do rpc_up "$rpc" && break; sleep 0.1; done
  rpc_up "$rpc" || { tail -n 20 "$top/var/log/anvil.log" >&2; echo "run: anvil did not start" >&2; exit 1; }
  node "$top/contrib/local-chain.mjs" "$rpc" >"$top/var/run/counter.addr" ||
    { echo "run: deploying the sample contract failed" >&2; exit 1; }
fi
counter=$(cat "$top/var/run/counter.addr")

# the server with every role (api, scheduler, dispatcher, monitor, health) in the background
api_port=${TGX_LOCAL_API_PORT:-9002}
setsid "$tgxd" serve --roles=all --database-url "$url" --listen "127.0.0.1:$api_port" --rpc "31337=$rpc" \
  ${TGX_LOCAL_CONFIG:+--config "$TGX_LOCAL_CONFIG"} </dev/null >>"$top/var/log/tgxd.log" 2>&1 &
echo $! >"$top/var/run/tgxd.pid"
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$api_port/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$api_port/api/health" >/dev/null 2>&1 ||
  { tail -n 20 "$top/var/log/tgxd.log" >&2; echo "run: tgxd did not start" >&2; exit 1; }
key=$("$tgxd" keys create --owner 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266 --admin --database-url "$url")

# two keepers on anvil's dev accounts 1 and 2 (public test keys, funded on every anvil chain)
dev_keys=(0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
  0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a)
for n in 1 2; do
  kf=$top/var/keepers/keeper$n.key
  [ -f "$kf" ] || (umask 077 && echo "${dev_keys[$((n - 1))]}" >"$kf")
  addr=$("$top/build/tgx-keeper" address --key "$kf")
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" \
    -c "SELECT tgx.register_keeper('$addr', 'local keeper $n')" \
    -c "SELECT tgx.whitelist_keeper('$addr', 'make run') FROM tgx.keepers
         WHERE keeper_address = lower('$addr') AND NOT whitelisted" >/dev/null
  setsid "$top/build/tgx-keeper" run --api "http://127.0.0.1:$api_port" --key "$kf" --rpc "31337=$rpc" \
    </dev/null >>"$top/var/log/keeper$n.log" 2>&1 &
  echo $! >"$top/var/run/keeper$n.pid"
done

# the sample job, once per contract: Counter.increment(1) every 10 s for a day, created over REST
owner=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
job_id=$(psql -X -q -At -d "$url" -c "SELECT job_id FROM tgx.jobs WHERE job_title = 'make run sample'
  AND target_contract_address = lower('$counter') AND status NOT IN ('deleted', 'completed') LIMIT 1")
if [ -z "$job_id" ]; then
  job_id=$(( $(date +%s) * 1000 + RANDOM % 1000 ))
  abi='[{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{\"name\":\"by\",\"type\":\"uint256\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"}]'
  body=$(printf '[{"job_id":"%s","user_address":"%s","ether_balance":1000000000000000000,"token_balance":1000000000000000000,"job_title":"make run sample","task_definition_id":1,"custom":false,"time_frame":86400,"recurring":true,"job_cost_prediction":0.01,"timezone":"UTC","created_chain_id":"31337","schedule_type":"interval","time_interval":10,"target_chain_id":"31337","target_contract_address":"%s","target_function":"increment","abi":"%s","arg_type":1,"arguments":["1"],"is_imua":false,"is_safe":false,"safe_name":"","safe_address":"","language":""}]' \
    "$job_id" "$owner" "$counter" "$abi")
  curl -fsS -X POST -H "X-Api-Key: $key" -H 'Content-Type: application/json' --data "$body" \
    "http://127.0.0.1:$api_port/api/jobs" >"$top/var/log/sample-job.json" ||
    { echo "run: creating the sample job failed: $(cat "$top/var/log/sample-job.json")" >&2; exit 1; }
fi

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

anvil (chain 31337) at $rpc; the sample Counter contract at $counter
Two keepers run on it (logs: var/log/keeper1.log, keeper2.log); the sample job $job_id calls
Counter.increment(1) every 10 s.  Watch it:
  $psql_cmd -c "SELECT task_id, state, task_performer_id, task_attester_ids, execution_tx_hash FROM tgx.tasks ORDER BY task_id DESC LIMIT 5"
  curl -s -H 'Content-Type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"$counter","data":"0x06661abd"},"latest"]}' $rpc

Connect as a DBA:
  $psql_cmd

Things to try:
  SELECT * FROM tgx.preview_schedule('cron', '30 2 * * *', 5, 'America/New_York');  -- next runs, UTC and local
  SELECT * FROM tgx.queue_status;       -- the work queue by state
  SELECT * FROM tgx.keeper_status;      -- keepers, online, load
  SELECT * FROM tgx.job_overview;       -- jobs with their schedules
  SELECT * FROM tgx.settings;           -- tunables (change with tgx.set_setting)
  \\df tgx.*                             -- the whole SQL API

Stop the keepers, tgxd, anvil and the local cluster with: make stop
MSG
