#!/usr/bin/env bash
# tests/keeper/anvil_tx.sh: the keeper's transaction signing against a real node.  Starts anvil
# (npm @foundry-rs/anvil-linux-amd64, tests/e2e/node_modules; `npm ci` there when missing), writes
# anvil's first dev key to a 0600 key file, checks `tgx-keeper address` on it, then runs
# tests/keeper/sendtx.c (build/tests/keeper/sendtx: one legacy EIP-155 and one EIP-1559 transfer,
# signed by libtgx, node hash == local hash, receipt status 0x1).  Prints TAP only.
# Environment: TGX_KEEPER (default build/tgx-keeper), TGX_SENDTX (default build/tests/keeper/sendtx;
# built from build/libtgx.a when missing).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
keeper=${TGX_KEEPER:-$top/build/tgx-keeper}
sendtx=${TGX_SENDTX:-$top/build/tests/keeper/sendtx}
e2e=$top/tests/e2e
work=$(mktemp -d /tmp/tgx-anvil-tx.XXXXXX)
apid=

bail() {
  echo "TAP version 13"
  echo "1..1"
  echo "not ok 1 - tests/keeper/anvil_tx.sh setup: $*"
  local f
  for f in "$work"/*.log; do
    [ -s "$f" ] && sed -e 's/^/# /' "$f" | tail -n 20
  done
  exit 1
}

cleanup() {
  if [ -n "$apid" ]; then
    kill -TERM -- "-$apid" 2>/dev/null || kill -TERM "$apid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$apid" 2>/dev/null || kill -KILL "$apid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

[ -x "$keeper" ] || bail "$keeper is missing (run make)"
if [ ! -x "$sendtx" ] || { [ -z "${TGX_SENDTX:-}" ] && [ tests/keeper/sendtx.c -nt "$sendtx" ]; }; then
  # no Makefile rule yet: build it like the Makefile builds a test program
  make -s build/libtgx.a >"$work/make.log" 2>&1 || bail "make build/libtgx.a failed"
  pkgs="libpq libmicrohttpd jansson libcurl openssl libsecp256k1 uuid nettle"
  mkdir -p "$(dirname "$sendtx")"
  # shellcheck disable=SC2046,SC2086 # pkg-config and $pkgs are several words
  cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O2 -g -Iinclude \
    $(pkg-config --cflags $pkgs) -o "$sendtx" tests/keeper/sendtx.c build/libtgx.a \
    $(pkg-config --libs $pkgs) -lpthread -lm >"$work/cc.log" 2>&1 || bail "could not build $sendtx"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then bail "node and npm are needed (for anvil)"; fi
anvil=$e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
if [ ! -x "$anvil" ]; then
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

port=$(free_port) || bail "no free port"
setsid "$anvil" --host 127.0.0.1 --port "$port" --silent >"$work/anvil.log" 2>&1 </dev/null &
apid=$!
up=0
for _ in $(seq 1 200); do
  kill -0 "$apid" 2>/dev/null || break
  if rpc_ok "$port"; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || bail "anvil did not answer eth_chainId 31337 on 127.0.0.1:$port"

# anvil's first dev account, as a keeper key file
key=$work/key
(umask 077 && echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$key")
addr=$("$keeper" address --key "$key" 2>"$work/address.log")
if [ "$addr" != 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 ]; then
  bail "tgx-keeper address printed '$addr', expected 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
fi

"$sendtx" "http://127.0.0.1:$port" "$key"
