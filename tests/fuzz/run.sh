#!/usr/bin/env bash
# tests/fuzz/run.sh: replays the kept fuzz corpus through the request-body harness, built with
# gcc plainly and under ASan+UBSan (`make all` and `make SANITIZER=address,undefined unit`).
# Prints TAP; a crash, a non-zero exit or a sanitizer report fails.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0
fails=0
for bin in "$top/build/tests/fuzz_replay" "$top/build/san/tests/fuzz_replay"; do
  n=$((n + 1))
  out=$("$bin" "$top"/tests/fuzz/corpus/* 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ] && ! grep -qE 'Sanitizer|runtime error:' <<<"$out"; then
    echo "ok $n - $(basename "$(dirname "$(dirname "$bin")")")/tests/fuzz_replay: $(tail -n 1 <<<"$out")"
  else
    printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
    echo "not ok $n - ${bin#"$top"/} over tests/fuzz/corpus (exit $rc)"
    fails=$((fails + 1))
  fi
done
echo "1..$n"
[ "$fails" -eq 0 ]
