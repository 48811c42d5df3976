#!/usr/bin/env bash
# The analytics HTTP API on a real `helix serve`: rows in (JSON array and
# NDJSON; a bad row is a 400 naming it and writes nothing), the SQL endpoint
# (params, rollup vs raw, refusals with positions, limits), the provider,
# debate and leaderboard endpoints, tenant isolation, conversation_metrics
# derived from conversation ingest, health and the metric names.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir analytics-http); HX_CLEAN_DIRS+=("$base")

start "$base/data" "$base/s.log" HELIX_ANALYTICS_FLUSH_MS=50 HELIX_ANALYTICS_QUERY_MAX_ROWS=50 \
  HELIX_ANALYTICS_TTL_DAYS_PROVIDER_METRICS=0 HELIX_ANALYTICS_TTL_DAYS_DEBATE_METRICS=0 \
  HELIX_ANALYTICS_TTL_DAYS_DEBATE_PARTICIPANTS=0 || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
rows="$U/v1/analytics/provider_metrics/rows"
q() { body -X POST "$U/v1/analytics/query" -H "X-Helix-Tenant: ${T:-acme}" -d "$1"; }

# Rows in: a JSON array, then NDJSON; ?wait=true answers once they are stored.
arr='[{"provider":"openai","model":"gpt-4","response_time_ms":100,"success":true,"tokens_used":10,"timestamp":"2024-01-01 10:05:00"},
      {"provider":"openai","model":"gpt-4","response_time_ms":300,"success":false,"error_type":"timeout","tokens_used":20,"timestamp":"2024-01-01 10:30:00"},
      {"provider":"anthropic","model":"claude","response_time_ms":200,"success":true,"tokens_used":30,"timestamp":"2024-01-01 11:00:00"}]'
r=$(body -w ' %{http_code}' -X POST "$rows?wait=true" -H 'X-Helix-Tenant: acme' -d "$arr")
contains "array rows" "$r" '"rows":3'
contains "array stored" "$r" '"stored":true} 200'
nd=$(printf '%s\n%s\n' '{"provider":"openai","model":"gpt-4","response_time_ms":50,"success":true,"tokens_used":5,"timestamp":1704103200}' \
  '{"provider":"google","model":"gemini","response_time_ms":80,"success":true,"timestamp":"2024-01-02T00:00:00Z"}')
expect "ndjson accepted" 202 "$(code -X POST "$rows" -H 'X-Helix-Tenant: acme' --data-binary "$nd")"
# A bad row: 400 naming the row and the field, and nothing of the batch written.
bad_body='[{"provider":"x","model":"m","response_time_ms":1,"success":true},{"provider":"x","model":"m","response_time_ms":"slow","success":true}]'
r=$(body -w ' %{http_code}' -X POST "$rows" -H 'X-Helix-Tenant: acme' -d "$bad_body")
contains "bad row status" "$r" ' 400'
contains "bad row names row and field" "$r" 'rows[1].response_time_ms must be a number'
contains "unknown field" "$(body -X POST "$rows" -d '[{"provider":"x","model":"m","response_time_ms":1,"success":true,"colour":1}]')" "unknown field 'colour'"
contains "missing field" "$(body -X POST "$rows" -d '{"provider":"x","response_time_ms":1,"success":true}')" "field 'model' is required"
expect "participants table" 400 "$(code -X POST "$U/v1/analytics/debate_participants/rows" -d '[{}]')"
expect "unknown table" 404 "$(code -X POST "$U/v1/analytics/nope/rows" -d '[{}]')"
# Wait for the NDJSON rows, then count: the bad batch added nothing.
body -X POST "$rows?wait=true" -H 'X-Helix-Tenant: acme' -d '[{"provider":"openai","model":"gpt-4","response_time_ms":1,"success":true,"tokens_used":0,"timestamp":"2024-01-01 12:00:00"}]' >/dev/null
r=$(q '{"sql":"SELECT count(), sum(tokens_used) FROM provider_metrics"}')
contains "count" "$r" '"rows":[[6,65]]'
lacks "bad provider absent" "$(q '{"sql":"SELECT provider FROM provider_metrics WHERE provider = '\''x'\''"}')" '"x"'

# SQL: params, the rollup, the raw path, and the JSON shape.
r=$(q '{"sql":"SELECT provider, count() AS c, avg(response_time_ms) AS avg FROM provider_metrics WHERE timestamp >= {from:DateTime} GROUP BY provider ORDER BY provider","params":{"from":"2024-01-01 00:00:00"}}')
contains "rollup answer" "$r" '"source":"rollup"'
contains "rollup name" "$r" '"rollup":"provider_metrics_hourly"'
contains "columns typed" "$r" '{"name":"c","type":"UInt64"}'
contains "openai row" "$r" '["openai",4,112.75]'
r=$(q '{"sql":"SELECT count() FROM provider_metrics WHERE success = 0"}')
contains "raw answer" "$r" '"source":"raw"'
contains "raw count" "$r" '"rows":[[1]]'
r=$(q '{"sql":"SELECT toStartOfHour(timestamp) AS h, count() FROM provider_metrics WHERE provider = {p:String} GROUP BY h ORDER BY h","params":{"p":"openai"}}')
contains "datetime text" "$r" '["2024-01-01 10:00:00",3]'
r=$(body -w ' %{http_code}' -X POST "$U/v1/analytics/query" -d '{"sql":"SELECT * FROM system.tables"}')
contains "system table 400" "$r" ' 400'
contains "names position" "$r" 'position 14 near'
contains "refuses writes" "$(q '{"sql":"INSERT INTO provider_metrics VALUES (1)"}')" 'only SELECT statements'
contains "unknown column" "$(q '{"sql":"SELECT nope FROM provider_metrics"}')" "unknown column 'nope'"
contains "row limit" "$(q '{"sql":"SELECT 1 FROM provider_metrics"}')" '"rows":[[1],[1]'
T=bulk
for i in $(seq 1 6); do printf '{"provider":"p","model":"m","response_time_ms":%d,"success":true}\n' "$i"; done > "$base/six.ndjson"
for i in 1 2 3 4 5 6 7 8 9; do cat "$base/six.ndjson"; done > "$base/many.ndjson"
body -X POST "$rows?wait=true" -H 'X-Helix-Tenant: bulk' --data-binary @"$base/many.ndjson" >/dev/null
contains "over query_max_rows" "$(q '{"sql":"SELECT response_time_ms FROM provider_metrics"}')" 'analytics.query_max_rows (50)'
contains "with limit ok" "$(q '{"sql":"SELECT response_time_ms FROM provider_metrics ORDER BY response_time_ms DESC LIMIT 2"}')" '"rows":[[6.0],[6.0]]'
unset T
# Tenants never see each other.
contains "tenant isolation" "$(T=other q '{"sql":"SELECT count() FROM provider_metrics"}')" '"rows":[[0]]'
expect "bad body" 400 "$(code -X POST "$U/v1/analytics/query" -d '{"sql":1}')"
expect "unknown body field" 400 "$(code -X POST "$U/v1/analytics/query" -d '{"sql":"SELECT 1 FROM provider_metrics","x":1}')"

# The provider endpoint: series and totals; unknown provider: empty, no NaN.
r=$(body -H 'X-Helix-Tenant: acme' "$U/v1/analytics/provider/openai?from=2024-01-01%2000:00:00&to=2024-01-02%2000:00:00&interval=hour")
contains "provider totals" "$r" '"totals":{"requests":4,"errors":1'
contains "provider series" "$r" '"t":"2024-01-01 10:00:00"'
contains "provider source" "$r" '"source":"rollup"'
r=$(body -H 'X-Helix-Tenant: acme' "$U/v1/analytics/provider/nobody?from=2024-01-01%2000:00:00&to=2024-01-02%2000:00:00&interval=minute")
contains "empty series" "$r" '"series":[]'
contains "zero rate" "$r" '"error_rate":0.0'
lacks "no NaN" "$r" 'NaN'
expect "bad interval" 400 "$(code "$U/v1/analytics/provider/openai?interval=week")"
expect "bad time" 400 "$(code "$U/v1/analytics/provider/openai?from=yesterday")"

# Debates: one with participants; unknown is 404; the leaderboard.
deb='[{"debate_id":"deb-1","rounds":3,"outcome":"successful","winner_provider":"openai","timestamp":"2024-01-01 10:00:00",
       "participants":[{"provider":"openai","model":"gpt-4","won":true},{"provider":"anthropic","model":"claude","won":false}]}]'
expect "debate in" 200 "$(code -X POST "$U/v1/analytics/debate_metrics/rows?wait=true" -H 'X-Helix-Tenant: acme' -d "$deb")"
r=$(body -H 'X-Helix-Tenant: acme' "$U/v1/analytics/debate/deb-1")
contains "debate row" "$r" '"winner_provider":"openai"'
contains "participants" "$r" '"provider":"anthropic"'
expect "debate 404" 404 "$(code -H 'X-Helix-Tenant: acme' "$U/v1/analytics/debate/deb-none")"
expect "debate other tenant" 404 "$(code -H 'X-Helix-Tenant: other' "$U/v1/analytics/debate/deb-1")"
r=$(body -H 'X-Helix-Tenant: acme' "$U/v1/analytics/providers?from=2024-01-01%2000:00:00&to=2024-01-03%2000:00:00")
contains "leaderboard openai" "$r" '{"provider":"openai","requests":4,"errors":1,"error_rate":0.25'
contains "leaderboard wins" "$r" '"debates":1,"debates_won":1,"win_rate":1.0'

# conversation_metrics come from conversation ingest, nobody sends them.
expect "conversation in" 201 "$(code -X POST "$U/v1/conversations/conv-7/messages" -H 'X-Helix-Tenant: acme' \
  -d '{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"hi","tokens":9}]}')"
for _ in $(seq 1 100); do
  r=$(q '{"sql":"SELECT sum(messages_added), sum(tokens), sum(role_assistant) FROM conversation_metrics WHERE conversation_id = '\''conv-7'\''"}')
  case "$r" in *'"rows":[[2,'*) break ;; esac; sleep 0.1
done
contains "derived metrics" "$r" '"rows":[[2,12,1]]'

# Health and metrics.
contains "health" "$(body "$U/v1/bigdata/health")" '"analytics":{"status":"healthy","detail":"embedded column store'
m=$(body "$U/metrics")
for name in clickhouse_query_duration_seconds_bucket clickhouse_insert_rows_per_second clickhouse_memory_usage_bytes \
  clickhouse_table_rows clickhouse_table_parts; do contains "metric $name" "$m" "$name{backend=\"embedded\""; done
contains "query metric labels" "$m" 'clickhouse_query_duration_seconds_count{backend="embedded",table="provider_metrics"}'
contains "tables" "$(body "$U/v1/analytics/tables")" '"name":"provider_metrics","rows":'

# A restart keeps everything, once.
kill "$PID"; wait "$PID" 2>/dev/null
start "$base/data" "$base/s2.log" || { finish; }
U=http://127.0.0.1:$PORT
contains "after restart" "$(q '{"sql":"SELECT count(), sum(tokens_used) FROM provider_metrics"}')" '"rows":[[6,65]]'
finish
