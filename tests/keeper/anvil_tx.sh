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
# shellcheck source=../lib/net.bash
. "$top/tests/lib/net.bash"
keeper=${TGX_KEEPER:-$top/build/tgx-keeper}
sendtx=${TGX_SENDTX:-$top/build/tests/keeper/sendtx}
work=$(mktemp -d /tmp/tgx-anvil-tx.XXXXXX)
anvil_pid=

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
  if [ -n "$anvil_pid" ]; then
    kill -TERM -- "-$anvil_pid" 2>/dev/null || kill -TERM "$anvil_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$anvil_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$anvil_pid" 2>/dev/null || kill -KILL "$anvil_pid" 2>/dev/null
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

start_anvil "$work/anvil.log" --silent || bail "$net_error"

# anvil's first dev account, as a keeper key file
key=$work/key
(umask 077 && echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$key")
addr=$("$keeper" address --key "$key" 2>"$work/address.log")
if [ "$addr" != 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 ]; then
  bail "tgx-keeper address printed '$addr', expected 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
fi

"$sendtx" "$anvil_url" "$key"
