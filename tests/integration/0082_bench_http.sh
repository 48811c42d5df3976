#!/usr/bin/env bash
# `helix bench http` runs its load generator (and, with --load-generator
# wrk, wrk) against an in-process node and writes the documented JSON: a
# rate, p50/p99 and CPU per request (the node's and the generator's) for
# each of the four endpoints, no failed request, writes counted where they
# landed, and what else the machine did meanwhile. Checks behaviour, never
# speed.
set -u
. "$(dirname "$0")/lib/common.sh"
need_peer wrk
d=$(hx_tmpdir bhttp); HX_CLEAN_DIRS+=("$d")
timeout 120 "$HELIX_BIN" bench http --seconds 1 --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(tail -3 "$d/err")" >&2; }
for e in records conversation_messages memory_writes health; do
  for k in req_per_sec p50_ms p99_ms cpu_us_per_request loadgen_cpu_us_per_request; do
    jq -e ".${e}_$k > 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e}_$k missing or 0" >&2; }
  done
  jq -e ".${e}_errors == 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e} had errors" >&2; }
  # the host's idle, stolen and other-process shares of the cores: percentages that cannot add up past 100
  jq -e "[.${e}_host_idle_pct, .${e}_host_steal_pct, .${e}_host_other_pct] | all(type == \"number\" and . >= 0 and . <= 100)
         and add <= 100.5" "$d/out.json" >/dev/null 2>&1 \
    && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e}_host_*_pct missing or out of range" >&2; }
done
grep -q 'cores were [0-9]*% idle, [0-9]*% stolen by the hypervisor, [0-9]*% used by other processes' "$d/err" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no host line on stderr" >&2; }
for e in records conversation_messages memory_writes; do
  jq -e ".${e}_written > 0" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: ${e}_written not counted" >&2; }
done
jq -e '.connections == 32 and .fsync == "interval" and .load_generator == "helix"' "$d/out.json" >/dev/null 2>&1 \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: run parameters" >&2; }
# wrk drives the same requests; one endpoint is enough to prove it runs.
timeout 60 "$HELIX_BIN" bench http --seconds 1 --endpoint memory --load-generator wrk --json "$d/wrk.json" \
  >"$d/wtable" 2>"$d/werr"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: wrk bench exited non-zero: $(tail -3 "$d/werr")" >&2; }
jq -e '.load_generator == "wrk" and .memory_writes_req_per_sec > 0 and .memory_writes_errors == 0 and
       .memory_writes_written > 0 and (.records_req_per_sec == null)' "$d/wrk.json" >/dev/null 2>&1 \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: wrk run JSON" >&2; }
"$HELIX_BIN" bench http --load-generator nope >/dev/null 2>"$d/bad"; [ $? -eq 2 ] && grep -q 'helix or wrk' "$d/bad" \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bad --load-generator not refused" >&2; }
grep -q 'conversation messages' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no table rows" >&2; }
finish
