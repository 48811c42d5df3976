#!/usr/bin/env bash
# `helix bench memory` runs end to end (3 in-process nodes on one embedded
# broker) and writes the documented JSON with 0 lost writes. This checks
# behaviour (keys present, writes verified), never speed.
set -u
d=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/benchmem.XXXXXX")
trap 'rm -rf "$d"' EXIT
pass=0; fail=0
timeout 120 "$HELIX_BIN" bench memory --messages 600 --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(cat "$d/err")" >&2; }
for k in writes_per_sec lag_p50_ms lag_p95_ms lag_p99_ms lost_writes conflict_resolution_ms; do
  grep -q "\"$k\"" "$d/out.json" 2>/dev/null && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: JSON lacks $k" >&2; }
done
grep -q '"lost_writes": 0' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: lost writes" >&2; }
grep -q '"converged": true' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: not converged" >&2; }
grep -q '"acked_writes": 600' "$d/out.json" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: acked count" >&2; }
grep -q 'Memory sync' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no table" >&2; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
