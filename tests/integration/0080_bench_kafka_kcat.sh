#!/usr/bin/env bash
# `helix bench kafka --backend mock --compare-kcat`: kcat produces the same
# records into the same mock cluster and the ratio is reported. Checks that
# the run completes, verifies, and writes the documented keys, never speed.
set -u
. "$(dirname "$0")/lib/common.sh"
need_peer kcat
d=$(hx_tmpdir kcat); HX_CLEAN_DIRS+=("$d")
timeout 180 "$HELIX_BIN" bench kafka --backend mock --compare-kcat --messages 5000 --seconds 0.5 \
  --data-dir "$d/data" --json "$d/out.json" >"$d/table" 2>"$d/err"
[ $? -eq 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: bench exited non-zero: $(tail -3 "$d/err")" >&2; }
for k in kcat_msg_per_sec ratio_to_kcat throughput_msg_per_sec fixed_rate; do
  jq -e "has(\"$k\")" "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: JSON lacks $k" >&2; }
done
jq -e '.kcat_msg_per_sec > 0 and .ratio_to_kcat > 0' "$d/out.json" >/dev/null 2>&1 && pass=$((pass+1)) \
  || { fail=$((fail+1)); echo "FAIL: kcat rate or ratio not positive" >&2; }
jq -e '.verified and ([.fixed_rate[] | .verified] | all) and (.fixed_rate | length) == 2' "$d/out.json" >/dev/null 2>&1 \
  && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: runs not verified (or not 2 fixed-rate runs on kafka)" >&2; }
grep -q 'kcat' "$d/table" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL: no kcat row in the table" >&2; }
# Without a Kafka backend there is nothing for kcat to share: a clear error.
timeout 30 "$HELIX_BIN" bench kafka --compare-kcat --messages 100 --seconds 0.1 >/dev/null 2>"$d/err2"
[ $? -ne 0 ] && grep -q 'compare-kcat needs' "$d/err2" && pass=$((pass+1)) \
  || { fail=$((fail+1)); echo "FAIL: --compare-kcat on embedded should fail clearly" >&2; }
finish
