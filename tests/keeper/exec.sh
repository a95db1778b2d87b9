#!/usr/bin/env bash
# tests/keeper/exec.sh: the keeper's chain side (include/tgx/keeper_exec.h) against anvil.  Starts
# three anvil nodes (npm @foundry-rs/anvil-linux-amd64 in tests/e2e/node_modules; `npm ci` there when
# missing): a default one, `--hardfork berlin` (no base fee: legacy transactions) and `--no-mining`.
# On each, tests/keeper/deploy.mjs deploys two Counters (tests/e2e/contracts) with anvil's second dev
# account, then build/tests/keeper/exec (tests/keeper/exec.c) runs one suite with anvil's first dev
# key as the keeper's: "main" under valgrind (DONE, verify, reverts, gas cap, wrong chain, a dead RPC
# URL; valgrind must find no error or leak), "concurrent" (8 threads on one chain, a nonce moved behind
# the chain's back), "legacy" and "nomine" (a revert on chain, a receipt that never comes).
# Prints TAP only: the lines of every suite numbered in one sequence.
# Environment: TGX_KEEPER_EXEC (default build/tests/keeper/exec; made when missing or stale),
# TGX_VALGRIND=0 runs "main" without valgrind.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
prog=${TGX_KEEPER_EXEC:-$top/build/tests/keeper/exec}
e2e=$top/tests/e2e
work=$(mktemp -d /tmp/tgx-keeper-exec.XXXXXX)
pids=()
n=0
failed=0

echo "TAP version 13"

bail() {
  n=$((n + 1))
  echo "not ok $n - tests/keeper/exec.sh setup: $*"
  local f
  for f in "$work"/*.log; do
    [ -s "$f" ] && { echo "# $(basename "$f"):"; sed -e 's/^/#   /' "$f" | tail -n 20; }
  done
  echo "1..$n"
  exit 1
}

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$work"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

# tap OK TEXT: one numbered line
tap() {
  n=$((n + 1))
  if [ "$1" = 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=$((failed + 1))
  fi
}

# number the unnumbered "ok - " / "not ok - " lines of FILE (a suite's stdout), prefixing SUITE
emit() {
  local suite=$1 file=$2 line
  while IFS= read -r line; do
    case $line in
      "ok - "*) tap 0 "$suite: ${line#ok - }" ;;
      "not ok - "*) tap 1 "$suite: ${line#not ok - }" ;;
      "Bail out!"*) tap 1 "$suite: $line" ;;
      "#"*) echo "$line" ;;
      "") ;;
      *) echo "# $line" ;;
    esac
  done <"$file"
}

if [ -z "${TGX_KEEPER_EXEC:-}" ]; then
  if ! make -s "$prog" >"$work/make.log" 2>&1; then
    [ -x "$prog" ] || bail "make $prog failed"
    echo "# make $prog failed (another file is being edited?): testing the existing binary"
  fi
fi
[ -x "$prog" ] || bail "$prog is missing (run make)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then bail "node and npm are needed (for anvil)"; fi
anvil=$e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if [ ! -x "$anvil" ] || [ ! -d "$e2e/node_modules/solc" ]; then
  (cd "$e2e" && npm ci --no-audit --no-fund >"$work/npm.log" 2>&1) || bail "npm ci failed in tests/e2e"
fi
[ -x "$anvil" ] || bail "$anvil is missing (linux-amd64 only)"

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

rpc_ok() { # PORT: anvil answers eth_chainId with 31337 (0x7a69)
  local out
  # shellcheck disable=SC2016 # expanded by the inner shell
  out=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}"
    printf "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#body}" "$body" >&3
    cat <&3' "$1" 2>/dev/null)
  [[ $out == *'"result":"0x7a69"'* ]]
}

# start_anvil NAME ARGS...: an anvil on a free port (URL in $url), deployed Counters in $work/NAME.json
start_anvil() {
  local name=$1 port pid up=0
  shift
  port=$(free_port) || return 1
  setsid "$anvil" --host 127.0.0.1 --port "$port" --silent "$@" >"$work/anvil-$name.log" 2>&1 </dev/null &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    if rpc_ok "$port"; then up=1; break; fi
    sleep 0.1
  done
  [ "$up" = 1 ] || return 1
  url=http://127.0.0.1:$port
  node "$here/deploy.mjs" "$url" >"$work/$name.json" 2>"$work/deploy-$name.log"
}

key=$work/key
(umask 077 && echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$key")

# run_suite NAME URL [WRAPPER...]: run one suite, number its lines, check its exit status
run_suite() {
  local suite=$1 url=$2 deploy=$3 rc
  shift 3
  "$@" "$prog" "$suite" "$url" "$key" "$deploy" ${dead_url:+"$dead_url"} >"$work/$suite.tap" 2>"$work/$suite.err"
  rc=$?
  emit "$suite" "$work/$suite.tap"
  return "$rc"
}

# the default node: main (under valgrind) and concurrent
start_anvil default || bail "could not start anvil and deploy Counter"
dead_port=$(free_port) || bail "no free port"
dead_url=http://127.0.0.1:$dead_port
if [ "${TGX_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  run_suite main "$url" "$work/default.json" valgrind -q --leak-check=full --error-exitcode=99 \
    --log-file="$work/valgrind.log"
  rc=$?
  tap "$rc" "main under valgrind --leak-check=full: exit $rc (0: every check passed, 99: valgrind found errors)"
  if [ "$rc" != 0 ]; then
    [ -s "$work/valgrind.log" ] && sed -e 's/^/#   /' "$work/valgrind.log" | head -n 80
    [ -s "$work/main.err" ] && sed -e 's/^/#   /' "$work/main.err" | tail -n 20
  fi
else
  run_suite main "$url" "$work/default.json"
  rc=$?
  tap "$rc" "main: exit $rc"
  echo "# valgrind skipped (TGX_VALGRIND=0 or not installed)"
fi
dead_url=
run_suite concurrent "$url" "$work/default.json"
rc=$?
tap "$rc" "concurrent: exit $rc"
[ "$rc" != 0 ] && sed -e 's/^/#   /' "$work/concurrent.err" | tail -n 20

# a node without base fee: legacy EIP-155 transactions
start_anvil berlin --hardfork berlin || bail "could not start anvil --hardfork berlin and deploy Counter"
run_suite legacy "$url" "$work/berlin.json"
rc=$?
tap "$rc" "legacy: exit $rc"
[ "$rc" != 0 ] && sed -e 's/^/#   /' "$work/legacy.err" | tail -n 20

# a node that mines only when told to
start_anvil nomine --no-mining || bail "could not start anvil --no-mining and deploy Counter"
run_suite nomine "$url" "$work/nomine.json"
rc=$?
tap "$rc" "nomine: exit $rc"
[ "$rc" != 0 ] && sed -e 's/^/#   /' "$work/nomine.err" | tail -n 20

echo "1..$n"
[ "$failed" = 0 ]
