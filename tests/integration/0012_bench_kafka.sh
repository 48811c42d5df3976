#!/usr/bin/env bash
# `helix bench kafka` runs end to end and writes the documented JSON. This
# checks behaviour (keys present, every message verified), never speed.
set -u
d=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$d"' EXIT
pass=0; fail=0
timeout 120 "$HELIX_BIN" bench kafka --messages 3000 --seconds 0.5 --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(cat "$d/err")" >&2; }
for k in throughput_msg_per_sec p50_ms p95_ms p99_ms messages message_bytes verified fsync; do
  grep -q "\"$k\"" "$d/out.json" 2>/dev/null && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: JSON lacks $k" >&2; }
done
grep -q '"verified": true' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: not verified" >&2; }
grep -q '"messages": 3000' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: message count" >&2; }
# Fixed-rate runs: 10K msg/s and half the peak, under fsync interval and always.
n_fixed=$(jq '.fixed_rate | length' "$d/out.json" 2>/dev/null)
[ "$n_fixed" = 4 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fixed_rate has ${n_fixed:-no} entries, want 4" >&2; }
for k in rate_msg_per_sec fsync p50_ms p95_ms p99_ms max_ms verified; do
  n_k=$(jq "[.fixed_rate[] | select(has(\"$k\"))] | length" "$d/out.json" 2>/dev/null)
  [ "$n_k" = 4 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fixed_rate entries lack $k" >&2; }
done
jq -e '[.fixed_rate[] | .verified] | all' "$d/out.json" >/dev/null && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: a fixed-rate run is not verified" >&2; }
jq -e '[.fixed_rate[] | .fsync] | sort == ["always","always","interval","interval"]' "$d/out.json" >/dev/null \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: fixed-rate fsync policies" >&2; }
jq -e '[.fixed_rate[] | .rate_msg_per_sec] | index(10000) != null' "$d/out.json" >/dev/null \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no 10K msg/s run" >&2; }
grep -q 'Verdict' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no table" >&2; }
timeout 10 "$HELIX_BIN" bench nosuch >/dev/null 2>&1; [ $? -eq 2 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: unknown component exit" >&2; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
