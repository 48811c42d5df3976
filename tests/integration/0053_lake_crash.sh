#!/usr/bin/env bash
# kill -9 `helix serve` four times while the archiver flushes every 25
# records: after the last restart every acknowledged record is in the lake
# exactly once (DuckDB counts), and no visible file was ever partial.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/duckdb.sh"
base=$(hx_tmpdir lakecrash); HX_CLEAN_DIRS+=("$base")
hx_duckdb_require || { echo "0 passed, 1 failed"; exit 1; }
duck() { node "$HX_SOURCE_DIR/tests/integration/lib/duckdb_query.cjs" "$DUCKDB_MODULES" "$@"; }
D=$base/data; L=$D/lake
ENV=(HELIX_LAKE_FILE_ROWS=25 HELIX_LAKE_FLUSH_MS=30 HELIX_JOBS_SCHEDULES=)
: >"$base/acked"

writer() { # ROUND: batches of 20 metrics until killed; acked ids to $base/acked
  local i=0 j recs
  while :; do
    i=$((i + 1)); recs='{"records":['
    for j in $(seq 1 20); do
      recs+="{\"type\":\"provider.metrics\",\"key\":\"p$j\",\"data\":{\"provider\":\"p$((j % 4))\",\"model\":\"m\",\"request_id\":\"r$1-$i-$j\",\"response_time_ms\":$j,\"success\":true}},"
    done
    recs=${recs%,}']}'
    n=$(curl -s --max-time 5 -H 'Content-Type: application/json' -X POST "$U/v1/topics/helixagent.analytics.providers/records" -d "$recs" | jq '.records | length' 2>/dev/null)
    [ "$n" = 20 ] || break
    for j in $(seq 1 20); do echo "r$1-$i-$j"; done >>"$base/acked"
  done
}

for round in 1 2 3 4; do
  start "$D" "$base/s$round.log" "${ENV[@]}" || finish
  U=http://127.0.0.1:$PORT
  writer "$round" & wpid=$!
  sleep "1.$((round * 2))"
  kill -9 "$PID"; wait "$PID" 2>/dev/null
  wait "$wpid" 2>/dev/null
  partial=$(for f in $(find "$L" -name '*.parquet'); do "$HELIX_BIN" lake cat "$f" >/dev/null 2>&1 || echo "$f"; done)
  expect "round $round: no partial file visible" "" "$partial"
done
start "$D" "$base/s5.log" "${ENV[@]}" || finish
U=http://127.0.0.1:$PORT
acked=$(wc -l <"$base/acked" | tr -d ' ')
[ "$acked" -ge 100 ] && ok || bad "only $acked records acknowledged"
q="select count(*) n, count(distinct request_id) d from read_parquet('$L/provider_metrics/**/*.parquet')"
for _ in $(seq 1 100); do
  n=$(duck "$q" | jq -r '.[0].n'); [ "$n" -ge "$acked" ] && break; sleep 0.1
done
r=$(duck "$q")
expect "no duplicate rows" "$(echo "$r" | jq -r '.[0].n')" "$(echo "$r" | jq -r '.[0].d')"
missing=$(duck "select count(*) m from read_csv('$base/acked', header=false, columns={'id':'VARCHAR'}) a where not exists (select 1 from read_parquet('$L/provider_metrics/**/*.parquet') p where p.request_id = a.id)" | jq -r '.[0].m')
expect "no acknowledged record lost" 0 "$missing"
echo "acknowledged $acked records over 4 kills; the lake holds $(echo "$r" | jq -r '.[0].n')"
finish
