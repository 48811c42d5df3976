#!/usr/bin/env bash
# `helix bench analytics --compare` (small): both backends run in one
# invocation against a private clickhouse-server, the JSON carries the
# contract keys for each, every answer verified; --url points it at a
# server the test runs, which keeps nothing of the bench afterwards.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/clickhouse.sh"
base=$(hx_tmpdir ch_bench); HX_CLEAN_DIRS+=("$base")

timeout 280 "$HELIX_BIN" bench analytics --compare --messages 20000 --json "$base/c.json" --data-dir "$base/w" \
  >"$base/out.txt" 2>"$base/err.txt"
expect "compare exits 0" 0 "$?"
for b in embedded clickhouse; do
  for k in backend rows insert_rows_per_sec http_insert_rows_per_sec query_a_p50_ms query_a_p95_ms \
           query_b1_p50_ms query_b1_p95_ms query_b2_p50_ms query_b2_p95_ms verified; do
    expect "$b.$k present" true "$(jq ".$b | has(\"$k\")" "$base/c.json")"
  done
  expect "$b verified" true "$(jq ".$b.verified" "$base/c.json")"
  expect "$b rows" 20000 "$(jq ".$b.rows" "$base/c.json")"
done
expect "backend names" "embedded clickhouse" "$(jq -r '[.embedded.backend, .clickhouse.backend] | join(" ")' "$base/c.json")"
expect "ratios" true "$(jq '.ratio_clickhouse_over_embedded | has("query_b1_p95_ms")' "$base/c.json")"
contains "table has the compare rows" "$(cat "$base/out.txt")" "Analytics compare"
[ "$(jq '.embedded.verified' "$base/c.json")" = true ] || tail -20 "$base/err.txt" >&2

ch_start "$base/ch" || finish
mkdir -p "$base/w2"
timeout 200 "$HELIX_BIN" bench analytics --backend clickhouse --url "$CH_URL" --messages 5000 --json "$base/u.json" \
  --data-dir "$base/w2" >/dev/null 2>"$base/err2.txt"
expect "--url exits 0" 0 "$?"
expect "--url verified" true "$(jq '.verified' "$base/u.json")"
expect "nothing left on the server" 0 "$(chq "SELECT count() FROM system.databases WHERE name LIKE 'helix_bench_%'")"
"$HELIX_BIN" bench analytics --backend nope >/dev/null 2>&1; expect "bad backend is a usage error" 2 "$?"
finish
