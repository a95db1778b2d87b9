#!/usr/bin/env bash
# tests/roles/valgrind.sh: `tgxd serve --roles=all` under valgrind memcheck (definite leaks and
# memory errors make it exit 99) while its request path is used: REST routes with an API key (job
# creation, reads, fees, a bad body, an unknown route, /metrics) and the signed keeper gateway, driven
# by two `tgx-keeper run --dry-run` (check-in, long-polls, ack, signed results, attestations) until
# tasks of an interval job have succeeded with an attestation.  Then SIGTERM: tgxd must exit 0.
# Prints TAP.  Skipped (one ok with SKIP) when valgrind is not installed.
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"
KEEPER=${TGX_KEEPER:-$top/build/tgx-keeper}
[ -x "$KEEPER" ] || bail "$KEEPER is missing (run make)"
if ! command -v valgrind >/dev/null; then
  ok "# SKIP valgrind is not installed"
  done_testing
fi
cp "$KEEPER" "$work/tgx-keeper" || bail "cannot copy $KEEPER"
KEEPER=$work/tgx-keeper

port=$(free_port) || bail "no free port"
api=http://127.0.0.1:$port
TGX_SERVE_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
  --log-file=$work/valgrind.%p.txt" start_tgxd tgxd --roles=all --listen "127.0.0.1:$port" --threads 2
wait_for 60 http_ok "$port" || bail "tgxd under valgrind does not answer on $api"
vg_logs=("$work"/valgrind.*.txt)
check "$([ -e "${vg_logs[0]}" ] && tr '\0' ' ' <"/proc/${TGXD_PID[tgxd]}/cmdline" | grep -q valgrind; echo $?)" \
  "tgxd really runs under valgrind memcheck"

# ---- REST, with an API key
owner=0x00000000000000000000000000000000000a11ce
key=$("$TGXD" keys create --owner "$owner" --database-url "$url") || bail "tgxd keys create failed"
job_id=424242
abi='[{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{\"name\":\"by\",\"type\":\"uint256\"}],\"outputs\":[]}]'
body=$(printf '[{"job_id":"%s","user_address":"%s","ether_balance":1000000000000000,"token_balance":1000000000000000,"job_title":"valgrind job","task_definition_id":1,"custom":false,"time_frame":3600,"recurring":true,"job_cost_prediction":0.004,"timezone":"UTC","created_chain_id":"31337","schedule_type":"interval","time_interval":1,"target_chain_id":"31337","target_contract_address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","target_function":"increment","abi":"%s","arg_type":1,"arguments":["1"],"is_imua":false,"is_safe":false,"safe_name":"","safe_address":"","language":""}]' \
  "$job_id" "$owner" "$abi")
status() { # METHOD PATH [BODY]: the HTTP status of one request with the key
  curl -s -o "$work/last.json" -w '%{http_code}' --max-time 30 -X "$1" -H "X-Api-Key: $key" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$api$2"
}
is "$(status POST /api/jobs "$body")" 200 "POST /api/jobs creates the job"
is "$(status GET "/api/jobs/user/$owner/$job_id")" 200 "GET /api/jobs/user/:address/:id"
is "$(status GET /api/jobs/by-apikey)" 200 "GET /api/jobs/by-apikey"
is "$(status GET '/api/fees?target_chain_id=31337')" 200 "GET /api/fees"
is "$(status POST /api/jobs '[{"job_id": ')" 400 "a malformed body is 400"
is "$(status GET /api/no/such/route)" 404 "an unknown route is 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/metrics")" 200 "GET /metrics"

# ---- the keeper gateway: two dry-run keepers
for n in 1 2; do
  addr=$("$KEEPER" keygen --key "$work/k$n.key") || bail "keygen failed"
  q "SELECT tgx.register_keeper('$addr', 'valgrind keeper $n'); SELECT tgx.whitelist_keeper('$addr', 'test')" >/dev/null ||
    bail "registering keeper $n failed"
  "$KEEPER" run --api "$api" --key "$work/k$n.key" --dry-run --poll-wait 5 >>"$work/keeper$n.log" 2>&1 &
  TGXD_PID[keeper$n]=$!
done
wait_until 120 "SELECT count(*) >= 3 FROM tgx.tasks t WHERE t.job_id = $job_id AND t.state = 'succeeded'
                 AND cardinality(t.task_attester_ids) > 0 AND t.tp_signature IS NOT NULL"
check $? "tasks succeed through the gateway: signed results, attested" \
  "$(q "SELECT state, count(*) FROM tgx.tasks GROUP BY 1")"
is "$(status GET "/api/tasks/job/$job_id")" 200 "GET /api/tasks/job/:id"

stop_tgxd keeper1 TERM 20
stop_tgxd keeper2 TERM 20
stop_tgxd tgxd TERM 60
is "$stop_rc" 0 "tgxd under valgrind exits 0 on SIGTERM: no definite leak, no memory error"
if [ "$stop_rc" != 0 ]; then
  for f in "$work"/valgrind.*.txt; do [ -s "$f" ] && head -n 60 "$f" | sed -e 's/^/# /'; done
fi
done_testing
