# tests/lib/net.bash: ports, readiness probes and anvil for the script tests and benchmarks
# (source it; not a test).  Everything stays on 127.0.0.1.
#
#   free_port                 a TCP port nobody listens on (20000-39999), on stdout
#   rpc_ok PORT               the node on PORT answers eth_chainId with 31337 (anvil's default)
#   http_ok PORT              something on PORT answers GET /api/health with an HTTP status line
#   wait_for SECONDS CMD...   runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
#   ensure_anvil LOG          sets $anvil to the anvil binary of tests/e2e/node_modules (with solc and
#                             ethers beside it), running `npm ci` there (output in LOG) when missing;
#                             1 with a message on stderr when that fails
#   start_anvil LOG ARGS...   anvil (ensure_anvil first) in its own session on a free port with ARGS;
#                             sets anvil_port, anvil_url and anvil_pid once it answers; 1 otherwise
#                             (the caller kills anvil_pid: it is in its own session)

net_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

rpc_ok() {
  local out
  # shellcheck disable=SC2016 # expanded by the inner shell
  out=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}"
    printf "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#body}" "$body" >&3
    cat <&3' "$1" 2>/dev/null)
  [[ $out == *'"result":"0x7a69"'* ]]
}

http_ok() {
  local line
  # shellcheck disable=SC2016 # expanded by the inner shell
  line=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; head -n 1 <&3' "$1" 2>/dev/null)
  [[ $line == HTTP/1.* ]]
}

wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

ensure_anvil() {
  local e2e=$net_top/tests/e2e
  anvil=$e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
  if [ ! -x "$anvil" ] || [ ! -d "$e2e/node_modules/solc" ] || [ ! -d "$e2e/node_modules/ethers" ]; then
    if ! command -v npm >/dev/null; then
      echo "node and npm are needed (for anvil)" >&2
      return 1
    fi
    (cd "$e2e" && npm ci --no-audit --no-fund >"$1" 2>&1) || { echo "npm ci failed in tests/e2e" >&2; return 1; }
  fi
  [ -x "$anvil" ] || { echo "$anvil is missing (linux-amd64 only)" >&2; return 1; }
}

start_anvil() {
  local log=$1
  shift
  ensure_anvil "$log.npm" || return 1
  anvil_port=$(free_port) || return 1
  setsid "$anvil" --host 127.0.0.1 --port "$anvil_port" --silent "$@" >"$log" 2>&1 </dev/null &
  anvil_pid=$!
  anvil_url=http://127.0.0.1:$anvil_port
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$anvil_pid" 2>/dev/null || return 1
    rpc_ok "$anvil_port" && return 0
    sleep 0.1
  done
  return 1
}
