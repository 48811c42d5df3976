#!/usr/bin/env bash
# `helix bench kafka` runs end to end and writes the documented JSON. This
# checks behaviour (keys present, every message verified), never speed.
set -u
d=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$d"' EXIT
pass=0; fail=0
timeout 120 "$HELIX_BIN" bench kafka --messages 3000 --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(cat "$d/err")" >&2; }
for k in throughput_msg_per_sec p50_ms p95_ms p99_ms messages message_bytes verified fsync; do
  grep -q "\"$k\"" "$d/out.json" 2>/dev/null && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: JSON lacks $k" >&2; }
done
grep -q '"verified": true' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: not verified" >&2; }
grep -q '"messages": 3000' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: message count" >&2; }
grep -q 'Verdict' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no table" >&2; }
timeout 10 "$HELIX_BIN" bench nosuch >/dev/null 2>&1; [ $? -eq 2 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: unknown component exit" >&2; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
