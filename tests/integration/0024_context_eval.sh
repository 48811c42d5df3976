#!/usr/bin/env bash
# `helix bench context --eval` end to end: the JSON contract (eval -> ratio ->
# strategy -> answer_recall, ceiling, recent_baseline, random_baseline,
# quality_score), the issue-17 goals for hybrid (0.30: >= 0.95 of the ceiling
# and >= 1.3x random; 0.15: >= 0.80 of the ceiling) and quality_score within
# 0.10 of answer_recall / ceiling for every strategy and ratio. The eval is
# deterministic (fixed seeds), so these are behaviour, not timing.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir ctxeval); HX_CLEAN_DIRS+=("$base")
command -v jq >/dev/null || { bad "jq is missing: run scripts/deps.sh (apt-get install jq)"; finish; }
timeout 120 "$HELIX_BIN" bench context --eval --data-dir "$base" --json "$base/e.json" >"$base/table" 2>"$base/err"
expect "bench exits 0" 0 $?
contains "table rows" "$(cat "$base/table")" "Context eval"
for r in 0.30 0.15; do
  for s in hybrid entity_graph window_summary full; do
    for k in answer_recall ceiling recent_baseline random_baseline quality_score; do
      v=$(jq -r ".eval[\"$r\"][\"$s\"].$k" "$base/e.json")
      jq -en --argjson v "${v:-null}" '$v >= 0 and $v <= 1' >/dev/null 2>&1 && ok || bad "$r $s $k = '$v'"
    done
    q=$(jq -r ".eval[\"$r\"][\"$s\"] | (.quality_score - .answer_recall / .ceiling) | fabs" "$base/e.json")
    jq -en --argjson v "$q" '$v <= 0.10' >/dev/null && ok || bad "$r $s: quality_score off recall/ceiling by $q"
  done
done
expect "a few hundred questions" true "$(jq '.questions >= 300' "$base/e.json")"
expect "ceiling: the transcript answers its questions" true "$(jq '.eval["0.30"].hybrid.ceiling >= 0.95' "$base/e.json")"
expect "0.30 hybrid >= 0.95 of ceiling" true "$(jq '.eval["0.30"].hybrid | .answer_recall / .ceiling >= 0.95' "$base/e.json")"
expect "0.30 hybrid >= 1.3x random" true "$(jq '.eval["0.30"].hybrid | .answer_recall >= 1.3 * .random_baseline' "$base/e.json")"
expect "0.15 hybrid >= 0.80 of ceiling" true "$(jq '.eval["0.15"].hybrid | .answer_recall / .ceiling >= 0.80' "$base/e.json")"
expect "conversations dumped with --data-dir" true "$(jq '(.messages | length) > 300 and (.questions | length) > 30' "$base/eval-conv-1.json")"
# the same seeds give the same figures
timeout 120 "$HELIX_BIN" bench context --eval --json "$base/e2.json" >/dev/null 2>&1
expect "deterministic" "$(jq -c .eval "$base/e.json")" "$(jq -c .eval "$base/e2.json")"
finish
