#!/usr/bin/env bash
# tests/keeper/exec.sh: the keeper's chain side (include/tgx/keeper_exec.h) against anvil.  Starts
# three anvil nodes (npm @foundry-rs/anvil-linux-amd64 in tests/e2e/node_modules; `npm ci` there when
# missing): a default one, `--hardfork berlin` (no base fee: legacy transactions) and `--no-mining`.
# On each, tests/keeper/deploy.mjs deploys two Counters (tests/e2e/contracts) with anvil's second dev
# account, then build/tests/keeper/exec (tests/keeper/exec.c) runs one suite with anvil's first dev
# key as the keeper's: "main" under valgrind (DONE, verify, reverts, gas cap, wrong chain, a dead RPC
# URL; valgrind must find no error or leak), "concurrent" (8 threads on one chain, a nonce moved behind
# the chain's back), "legacy" and "nomine" (a revert on chain; a receipt that never comes, and the
# cancel the keeper sends in its place, mined or not).
# Prints TAP only: the lines of every suite numbered in one sequence.
# Environment: TGX_KEEPER_EXEC (default build/tests/keeper/exec; made when missing or stale),
# TGX_VALGRIND=0 runs "main" without valgrind.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
prog=${TGX_KEEPER_EXEC:-$top/build/tests/keeper/exec}
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
command -v node >/dev/null || bail "node and npm are needed (for anvil)"
ensure_anvil "$work/npm.log" || bail "$net_error"

# counters NAME ARGS...: an anvil with ARGS on a free port (URL in $url), deployed Counters in
# $work/NAME.json
counters() {
  local name=$1
  shift
  start_anvil "$work/anvil-$name.log" --silent "$@" || return 1
  pids+=("$anvil_pid")
  url=$anvil_url
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
counters default || bail "could not start anvil and deploy Counter"
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
counters berlin --hardfork berlin || bail "could not start anvil --hardfork berlin and deploy Counter"
run_suite legacy "$url" "$work/berlin.json"
rc=$?
tap "$rc" "legacy: exit $rc"
[ "$rc" != 0 ] && sed -e 's/^/#   /' "$work/legacy.err" | tail -n 20

# a node that mines only when told to
counters nomine --no-mining || bail "could not start anvil --no-mining and deploy Counter"
run_suite nomine "$url" "$work/nomine.json"
rc=$?
tap "$rc" "nomine: exit $rc"
[ "$rc" != 0 ] && sed -e 's/^/#   /' "$work/nomine.err" | tail -n 20

echo "1..$n"
[ "$failed" = 0 ]
