#!/usr/bin/env bash
# `helix bench http` runs wrk against an in-process node and writes the
# documented JSON: a rate, p50/p99 and CPU per request for each of the four
# endpoints, no failed request, and writes counted where they landed. Checks
# behaviour, never speed.
set -u
. "$(dirname "$0")/lib/common.sh"
need_peer wrk
d=$(hx_tmpdir bhttp); HX_CLEAN_DIRS+=("$d")
timeout 120 "$HELIX_BIN" bench http --seconds 1 --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(tail -3 "$d/err")" >&2; }
for e in records conversation_messages memory_writes health; do
  for k in req_per_sec p50_ms p99_ms cpu_us_per_request; do
    jq -e ".${e}_$k > 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e}_$k missing or 0" >&2; }
  done
  jq -e ".${e}_errors == 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e} had errors" >&2; }
done
for e in records conversation_messages memory_writes; do
  jq -e ".${e}_written > 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e}_written not counted" >&2; }
done
jq -e '.connections == 32 and .fsync == "interval" and .load_generator == "wrk"' "$d/out.json" >/dev/null 2>&1 \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run parameters" >&2; }
grep -q 'conversation messages' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no table rows" >&2; }
finish
