#!/usr/bin/env bash
# `helix serve` with backends.analytics=clickhouse against a private
# clickhouse-server: rows posted over HTTP go through the log into
# ClickHouse; queries answer from rollups and raw tables; the sandbox refuses
# what it must; stopping ClickHouse mid-stream backs the rows up in the log
# (health degraded, lag in /metrics) and restarting it drains them with
# nothing lost or duplicated; a helix restart ingests nothing twice.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/clickhouse.sh"
base=$(hx_tmpdir ch_serve); HX_CLEAN_DIRS+=("$base")

ch_start "$base/ch" || finish
ENV=(HELIX_BACKENDS_ANALYTICS=clickhouse HELIX_CLICKHOUSE_URL="$CH_URL" HELIX_CLICKHOUSE_DATABASE=hx
     HELIX_CLICKHOUSE_RETRY_BACKOFF_MS=20 HELIX_CLICKHOUSE_INSERT_RETRIES=2 HELIX_ANALYTICS_FLUSH_MS=50
     HELIX_ANALYTICS_TTL_DAYS_PROVIDER_METRICS=0)
HX_START_SECONDS=20 start "$base/data" "$base/s1.log" "${ENV[@]}" || finish
U=http://127.0.0.1:$PORT
TA=(-H 'X-Helix-Tenant: acme' -H 'Content-Type: application/json')

# rows N FIRST: N provider_metrics rows, response_time_ms = their index.
rows() {
  local n=$1 first=$2 i out="["
  for ((i = first; i < first + n; i++)); do
    [ "$i" -gt "$first" ] && out+=","
    out+="{\"provider\":\"p$((i % 3))\",\"model\":\"m1\",\"response_time_ms\":$i,\"success\":$([ $((i % 10)) -eq 0 ] && echo false || echo true),\"tokens_used\":2,\"timestamp\":$((1704067200 + i))}"
  done
  echo "$out]"
}
count() { body "${TA[@]}" -X POST $U/v1/analytics/query -d '{"sql":"SELECT count() FROM provider_metrics"}' | jq -r '.rows[0][0] // empty'; }
wait_count() { # WANT SECONDS
  local got=""
  for _ in $(seq 1 $(( $2 * 10 ))); do got=$(count); [ "$got" = "$1" ] && break; sleep 0.1; done
  echo "$got"
}

expect "post 300 rows" 202 "$(code "${TA[@]}" -X POST $U/v1/analytics/provider_metrics/rows -d "$(rows 300 0)")"
expect "ingested into ClickHouse" 300 "$(wait_count 300 20)"
expect "stored in ClickHouse itself" 300 "$(chq "SELECT count() FROM hx.provider_metrics WHERE tenant = 'acme'")"
r=$(body "${TA[@]}" -X POST $U/v1/analytics/query -d '{"sql":"SELECT provider, count() AS n, sum(tokens_used) FROM provider_metrics GROUP BY provider ORDER BY provider"}')
contains "rollup answers" "$r" '"source":"rollup"'
contains "grouped counts" "$r" '["p0",100,200]'
r=$(body "${TA[@]}" -X POST $U/v1/analytics/query -d '{"sql":"SELECT count() FROM provider_metrics WHERE request_id = {r:String}","params":{"r":""}}')
contains "raw answers with params" "$r" '"source":"raw"'
contains "raw count" "$r" '[[300]]'
contains "other tenant sees nothing" "$(body -H 'X-Helix-Tenant: evil' -X POST $U/v1/analytics/query -d '{"sql":"SELECT count() FROM provider_metrics"}')" '[[0]]'
r=$(body "${TA[@]}" "$U/v1/analytics/provider/p1?from=2024-01-01%2000:00:00&to=2024-01-02%2000:00:00")
contains "provider endpoint" "$r" '"requests":100'
contains "health names ClickHouse" "$(body $U/v1/bigdata/health)" 'ClickHouse 18'

# The sandbox: statements, system tables, table functions, unknown columns.
for sql in "DROP TABLE provider_metrics" "SELECT * FROM system.tables" "SELECT count() FROM numbers(10)" \
           "SELECT nope FROM provider_metrics" "INSERT INTO provider_metrics VALUES (1)"; do
  expect "refused: $sql" 400 "$(code "${TA[@]}" -X POST $U/v1/analytics/query -d "{\"sql\":\"$sql\"}")"
done
contains "refusal names the token" "$(body "${TA[@]}" -X POST $U/v1/analytics/query -d '{"sql":"SELECT * FROM system.tables"}')" 'position'
expect "tables intact" 300 "$(chq "SELECT count() FROM hx.provider_metrics")"

# Outage mid-stream: rows keep arriving while ClickHouse is down.
ch_stop
expect "post during the outage" 202 "$(code "${TA[@]}" -X POST $U/v1/analytics/provider_metrics/rows -d "$(rows 200 300)")"
h=""
for _ in $(seq 1 100); do h=$(body $U/v1/bigdata/health); case "$h" in *degraded*|*unhealthy*) break ;; esac; sleep 0.1; done
contains "health degraded while down" "$h" 'analytics'
lacks "health is not ok for analytics" "$(echo "$h" | jq -c '.components.analytics // .analytics // empty')" '"ok"'
sleep 3
lag=$(body $U/metrics | grep '^clickhouse_ingest_lag_records{backend="clickhouse"}' | awk '{print $2}')
expect "lag visible in metrics" 1 "$(awk -v l="${lag:-0}" 'BEGIN {print (l >= 200) ? 1 : 0}')"
expect "post after" 202 "$(code "${TA[@]}" -X POST $U/v1/analytics/provider_metrics/rows -d "$(rows 100 500)")"

ch_restart || finish
expect "backlog drained, nothing lost or doubled" 600 "$(wait_count 600 60)"
expect "no duplicate request in ClickHouse" 600 "$(chq "SELECT uniqExact(timestamp) FROM hx.provider_metrics")"
expect "rollup agrees" 600 "$(chq "SELECT countMerge(requests) FROM hx.provider_metrics_hourly")"
for _ in $(seq 1 50); do lag=$(body $U/metrics | grep '^clickhouse_ingest_lag_records{backend="clickhouse"}' | awk '{print $2}'); [ "${lag:-1}" = 0 ] && break; sleep 0.2; done
expect "lag back to 0" 0 "${lag:-x}"
contains "metrics carry backend=clickhouse" "$(body $U/metrics | grep '^clickhouse_table_rows' | head -1)" 'backend="clickhouse"'

# A helix restart resumes from the offsets stored in ClickHouse.
kill -TERM "$PID"; wait "$PID" 2>/dev/null
HX_START_SECONDS=20 start "$base/data" "$base/s2.log" "${ENV[@]}" || finish
U=http://127.0.0.1:$PORT
sleep 1
expect "nothing ingested twice after restart" 600 "$(count)"
expect "new rows still arrive" 202 "$(code "${TA[@]}" -X POST $U/v1/analytics/provider_metrics/rows -d "$(rows 10 600)")"
expect "and are stored" 610 "$(wait_count 610 20)"
kill -TERM "$PID"; wait "$PID" 2>/dev/null
finish
