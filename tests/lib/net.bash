# tests/lib/net.bash: ports, readiness probes and anvil for the script tests and benchmarks
# (source it; not a test; sourcing it twice is harmless).  Everything stays on 127.0.0.1.
#
#   free_port                 a TCP port nobody listens on, from 20000 up to the kernel's
#                             ephemeral ports (32767 by default), on stdout
#   rpc_ok PORT               the node on PORT answers eth_chainId with 31337 (anvil's default)
#   http_ok PORT              something on PORT answers GET /api/health with an HTTP status line
#   wait_for SECONDS CMD...   runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
#   wait_alive SECONDS PID CMD...  the same, but 1 at once when process PID is gone (a server that
#                             died while starting: `wait_alive 30 "$pid" http_ok "$port"`)
#   ensure_anvil LOG [PKG...] sets $anvil to the anvil binary of tests/e2e/node_modules (with solc,
#                             ethers and the npm packages PKG beside it), running `npm ci` there
#                             (output in LOG) when one is missing; 1 when that fails
#   start_anvil LOG ARGS...   anvil (ensure_anvil LOG first) in its own session on a free port with
#                             ARGS (e.g. --silent), its output appended to LOG; sets anvil_port,
#                             anvil_url and anvil_pid once it answers eth_chainId (0); the caller
#                             kills anvil_pid (its own session: `kill -- -$anvil_pid`).  1 when it
#                             does not answer in 20 s: then it is killed here and anvil_pid is empty
# ensure_anvil and start_anvil leave a one-line reason in $net_error when they fail (nothing on
# stderr), for the caller's bail: `start_anvil "$work/anvil.log" || bail "$net_error"`.

# shellcheck disable=SC2034 # anvil, anvil_port, anvil_url, anvil_pid and net_error are for the caller
net_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

free_port() {
  local p top _
  # below the kernel's ephemeral range (32768 and up by default): a port that an outgoing
  # connection holds there has nobody listening, so the probe passes, and binding it then fails
  read -r top _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || top=32768
  ((top > 21000)) || top=40000
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % (top - 20000)))
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

wait_alive() {
  local limit=$1 pid=$2 i
  shift 2
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

ensure_anvil() {
  local e2e=$net_top/tests/e2e log=$1 pkg missing=0
  shift
  anvil=$e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
  [ -x "$anvil" ] || missing=1
  for pkg in solc ethers "$@"; do [ -d "$e2e/node_modules/$pkg" ] || missing=1; done
  if [ "$missing" = 1 ]; then
    if ! command -v npm >/dev/null; then
      net_error="node and npm are needed (for anvil)"
      return 1
    fi
    (cd "$e2e" && npm ci --no-audit --no-fund >"$log" 2>&1) || { net_error="npm ci failed in tests/e2e"; return 1; }
  fi
  [ -x "$anvil" ] || { net_error="$anvil is missing (npm ci in tests/e2e; linux-amd64 only)"; return 1; }
}

start_anvil() {
  local log=$1
  shift
  anvil_pid=
  ensure_anvil "$log" || return 1
  anvil_port=$(free_port) || { net_error="no free port"; return 1; }
  anvil_url=http://127.0.0.1:$anvil_port
  setsid "$anvil" --host 127.0.0.1 --port "$anvil_port" "$@" >>"$log" 2>&1 </dev/null &
  anvil_pid=$!
  wait_alive 20 "$anvil_pid" rpc_ok "$anvil_port" && return 0
  net_error="anvil did not answer eth_chainId 31337 on 127.0.0.1:$anvil_port"
  kill -KILL -- "-$anvil_pid" 2>/dev/null || kill -KILL "$anvil_pid" 2>/dev/null
  wait "$anvil_pid" 2>/dev/null
  anvil_pid=
  return 1
}
