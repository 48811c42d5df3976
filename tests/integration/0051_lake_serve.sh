#!/usr/bin/env bash
# The lake end to end through `helix serve`: the archiver writes every
# dataset as hive-partitioned Parquet; DuckDB reads all of it with
# read_parquet(..., hive_partitioning=true) and agrees with Helix's reader
# (`helix lake cat`) row for row; parquet_metadata() shows the codec and
# statistics; tenants are isolated; DELETE really deletes; the jobs export,
# compact and apply retention; and kill -9 during archiving loses and
# duplicates nothing.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/duckdb.sh"
base=$(hx_tmpdir lake); HX_CLEAN_DIRS+=("$base")
hx_duckdb_require || { echo "0 passed, 1 failed"; exit 1; }
duck() { node "$HX_SOURCE_DIR/tests/integration/lib/duckdb_query.cjs" "$DUCKDB_MODULES" "$@"; }

D=$base/data; L=$D/lake
# The graph's live extractor is off so the archived row counts are exactly the
# events this test produces (0055 archives extracted entity events).
ENV=(HELIX_LAKE_FILE_ROWS=40 HELIX_LAKE_FLUSH_MS=300 HELIX_LAKE_CODEC=zstd HELIX_JOBS_SCHEDULES= HELIX_GRAPH_EXTRACT_ENABLED=false
     HELIX_LAKE_DATASET_RETENTION_DAYS=provider_metrics=30 HELIX_LAKE_TARGET_FILE_BYTES=10000000)
start "$D" "$base/s1.log" "${ENV[@]}" || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')

# Real conversations: long UTF-8 content, optional fields missing.
post_conv() { # TENANT CONV N [FIRST]
  local b='{"messages":[' i
  for i in $(seq "${4:-1}" $(( ${4:-1} + $3 - 1 ))); do
    if [ $((i % 2)) = 0 ]; then
      b+="{\"message_id\":\"m$i\",\"role\":\"assistant\",\"model\":\"gpt-4o\",\"provider\":\"openai\",\"tokens\":$((i*3)),\"content\":\"Antwort $i: Grüße aus Köln — 東京のデータ 🚀 $(printf 'lorem ipsum %.0s' $(seq 1 $((i % 40))))\\nzweite Zeile \\\"zitiert\\\"\"},"
    else
      b+="{\"message_id\":\"m$i\",\"role\":\"user\",\"content\":\"Frage $i von Renée: naïve café?\"},"
    fi
  done
  b=${b%,}']}'
  body "${J[@]}" -H "X-Helix-Tenant: $1" -X POST "$U/v1/conversations/$2/messages" -d "$b"
}
contains "conv c1" "$(post_conv default c1 100)" '"accepted":100'
contains "conv c2 acme" "$(post_conv acme c2 30)" '"accepted":30'
# c3 arrives in three flushes: three small files of one partition, for compaction.
for first in 1 3 5; do
  post_conv default c3 $(( first == 5 ? 3 : 2 )) $first >/dev/null
  body -X POST "$U/v1/datalake/flush" >/dev/null
done

# Provider metrics over three UTC days of March 2024 (partitions day=1..3).
recs='{"records":['
for i in $(seq 0 89); do
  ts=$((1709251200000 + i * 2880000))   # 2024-03-01T00:00Z + i * 48 min
  err=null; ok=true; [ $((i % 10)) = 0 ] && { err='"timeout"'; ok=false; }
  recs+="{\"type\":\"provider.metrics\",\"key\":\"p$((i % 3))\",\"ts\":$ts,\"data\":{\"provider\":\"p$((i % 3))\",\"model\":\"m$((i % 2))\",\"request_id\":\"r$i\",\"response_time_ms\":$((100 + i)),\"prompt_tokens\":$i,\"completion_tokens\":1,\"tokens_used\":$((i + 1)),\"confidence\":0.5,\"success\":$ok,\"error_type\":$err}},"
done
recs=${recs%,}']}'
expect "metrics produced" 90 "$(body "${J[@]}" -X POST "$U/v1/topics/helixagent.analytics.providers/records" -d "$recs" | jq '.records | length')"
deb='{"type":"debate.completed","key":"d1","data":{"debate_id":"d1","conversation_id":"c1","topic":"Which DB?","rounds":3,"winner_provider":"p1","winner_model":"m1","confidence":0.9,"duration_ms":1234,"outcome":"successful","participants":[{"provider":"p1","model":"m1","position":"for","response_time_ms":10,"tokens_used":5,"confidence":0.9,"won":true}]}}'
expect "debate produced" 1 "$(body "${J[@]}" -X POST "$U/v1/topics/helixagent.analytics.debates/records" -d "$deb" | jq '.records | length')"

archived() { body "$U/v1/datalake/datasets" | jq -r '.archiver.rows_archived'; }
want=$((100 + 30 + 7 + 90 + 1))
for _ in $(seq 1 100); do [ "$(archived)" = "$want" ] && break; sleep 0.1; done
expect "every row archived" "$want" "$(archived)"

# Layout: hive partitions, unpadded numbers, part-*.parquet, nothing hidden left.
expect "metrics partitions" "day=1 day=2 day=3" "$(ls "$L/provider_metrics/year=2024/month=3" | sort | tr '\n' ' ' | sed 's/ $//')"
expect "no temp files" "" "$(find "$L" -name '.*.tmp')"
contains "file name" "$(find "$L/conversations" -name '*.parquet' | head -1)" "/part-"

# The API reads the conversation back from Parquet, per tenant.
got=$(body "$U/v1/datalake/conversations/c1")
expect "c1 events" 100 "$(echo "$got" | jq '.count')"
expect "c1 in seq order" "$(seq 1 100 | tr '\n' ' ')" "$(echo "$got" | jq -r '[.events[].seq] | join(" ")') "
contains "utf-8 intact" "$got" 'Grüße aus Köln — 東京のデータ 🚀'
expect "other tenant cannot read c1" 404 "$(code -H 'X-Helix-Tenant: acme' "$U/v1/datalake/conversations/c1")"
expect "acme reads c2" 30 "$(body -H 'X-Helix-Tenant: acme' "$U/v1/datalake/conversations/c2" | jq '.count')"
expect "partitions" 3 "$(body "$U/v1/datalake/provider_metrics/partitions" | jq '.partitions | length')"
expect "acme has no metrics" 0 "$(body -H 'X-Helix-Tenant: acme' "$U/v1/datalake/provider_metrics/partitions" | jq '.partitions | length')"
expect "unknown dataset" 404 "$(code "$U/v1/datalake/nope/partitions")"

# DuckDB reads every dataset and agrees with Helix's reader.
q=$(duck "select count(*) n, count(distinct conversation_id) c, typeof(any_value(year)) ty, sum(strlen(content))::bigint b from read_parquet('$L/conversations/**/*.parquet', hive_partitioning=true)")
expect "duckdb conversations" '{"n":"137","c":"3","ty":"BIGINT"}' "$(echo "$q" | jq -c '.[0] | {n,c,ty}')"
ours=$(for c in c1 c3; do "$HELIX_BIN" lake cat conversations $c --data-dir "$D"; done; "$HELIX_BIN" lake cat conversations c2 --tenant acme --data-dir "$D")
expect "duckdb content bytes = helix reader's" "$(echo "$ours" | jq -s '[.[].content | select(. != null) | utf8bytelength] | add')" \
  "$(echo "$q" | jq -r '.[0].b')"
dc=$(duck "select content from read_parquet('$L/conversations/**/*.parquet', hive_partitioning=true) where conversation_id = 'c1' and tenant = 'default' order by seq" | jq -c '[.[].content]')
expect "duckdb c1 content = helix lake cat" "$(echo "$got" | jq -c '[.events[].content]')" "$dc"
pm=$(duck "select year, month, day, count(*) n, sum(tokens_used)::bigint t, count(error_type) e from read_parquet('$L/provider_metrics/**/*.parquet', hive_partitioning=true) group by all order by all" | jq -c '[.[] | [.year, .month, .day, .n, .t, .e]]')
expect "duckdb metrics by day" '[["2024","3","1","30","465","3"],["2024","3","2","30","1365","3"],["2024","3","3","30","2265","3"]]' "$pm"
ours_t=$("$HELIX_BIN" lake cat provider_metrics --data-dir "$D" | jq -s '[.[].tokens_used] | add')
expect "helix sum = duckdb sum" 4095 "$ours_t"
expect "duckdb debate participants" '[{"debate_id":"d1","w":"p1"}]' \
  "$(duck "select debate_id, json_extract_string(participants_json, '\$[0].provider') w from read_parquet('$L/debates/**/*.parquet', hive_partitioning=true)" | jq -c .)"
meta=$(duck "select distinct compression, path_in_schema p, stats_min_value mn, stats_max_value mx from parquet_metadata('$L/provider_metrics/year=2024/month=3/day=1/*.parquet') where path_in_schema in ('tokens_used', 'tenant')")
contains "zstd in the metadata" "$meta" '"compression":"ZSTD"'
contains "min statistic" "$meta" '"p":"tokens_used","mn":"1"'
contains "max statistic" "$meta" '"mx":"30"'
kv=$(duck "select decode(value) v from parquet_kv_metadata('$L/provider_metrics/year=2024/month=3/day=1/*.parquet') where decode(key) = 'helix.lake.offsets'")
contains "offsets in the footer" "$kv" 'helixagent.analytics.providers'

# Delete really deletes: no row of c1 is left in any file.
del=$(body -X DELETE "$U/v1/datalake/conversations/c1")
expect "deleted rows" 100 "$(echo "$del" | jq '.deleted_rows')"
expect "gone from the API" 404 "$(code "$U/v1/datalake/conversations/c1")"
expect "gone from the files" '[{"n":"0"}]' "$(duck "select count(*) n from read_parquet('$L/conversations/**/*.parquet') where conversation_id = 'c1' and tenant = 'default'")"
expect "c3 kept" 7 "$(body "$U/v1/datalake/conversations/c3" | jq '.count')"
expect "delete needs a valid id" 400 "$(code -X DELETE "$U/v1/datalake/conversations/%01")"

# Jobs: export (tenant-scoped), compaction, retention, errors.
job_wait() { # ID [TENANT] -> final state
  local s
  for _ in $(seq 1 150); do
    s=$(body -H "X-Helix-Tenant: ${2:-default}" "$U/v1/jobs/$1" | jq -r '.state'); case $s in succeeded|failed|cancelled) echo "$s"; return;; esac; sleep 0.1
  done; echo "$s"
}
id=$(body "${J[@]}" -H 'X-Helix-Tenant: acme' -X POST "$U/v1/jobs" -d '{"type":"export","params":{"dataset":"conversations","name":"acme-dump"}}' | jq -r '.id')
expect "export succeeded" succeeded "$(job_wait "$id" acme)"
exp=$(body -H 'X-Helix-Tenant: acme' "$U/v1/jobs/$id")
expect "export rows" 30 "$(echo "$exp" | jq '.result.rows')"
expect "duckdb reads the export" '[{"n":"30","t":"acme"}]' "$(duck "select count(*) n, any_value(tenant) t from read_parquet('$L/_exports/acme-dump/**/*.parquet', hive_partitioning=true)")"
expect "other tenant cannot see the job" 404 "$(code "$U/v1/jobs/$id")"
files_before=$(find "$L/conversations" -name '*.parquet' | wc -l)
id=$(body "${J[@]}" -X POST "$U/v1/jobs" -d '{"type":"compaction","params":{"dataset":"conversations"}}' | jq -r '.id')
expect "compaction succeeded" succeeded "$(job_wait "$id")"
files_after=$(find "$L/conversations" -name '*.parquet' | wc -l)
[ "$files_after" -lt "$files_before" ] && ok || bad "compaction: $files_before -> $files_after files"
expect "rows unchanged by compaction" '[{"n":"37"}]' "$(duck "select count(*) n from read_parquet('$L/conversations/**/*.parquet')")"
id=$(body "${J[@]}" -X POST "$U/v1/jobs" -d '{"type":"retention"}' | jq -r '.id')
expect "retention succeeded" succeeded "$(job_wait "$id")"
expect "old metrics dropped" 0 "$(find "$L/provider_metrics" -name '*.parquet' | wc -l)"
expect "recent conversations kept" 7 "$("$HELIX_BIN" lake cat conversations --data-dir "$D" | wc -l | tr -d ' ')"
expect "unknown job type" 400 "$(code "${J[@]}" -X POST "$U/v1/jobs" -d '{"type":"nope"}')"
expect "bad params" 400 "$(code "${J[@]}" -X POST "$U/v1/jobs" -d '{"type":"export","params":{"dataset":"x"}}')"
expect "unknown job" 404 "$(code "$U/v1/jobs/job-none")"
expect "cancel finished job" 409 "$(code -X DELETE "$U/v1/jobs/$id")"
contains "cli job ls" "$("$HELIX_BIN" job ls --server "$U")" 'retention'

# kill -9 while the archiver flushes every 40 rows: every acknowledged
# message is in the lake exactly once after the restart.
acked=0
for i in $(seq 1 60); do
  r=$(body "${J[@]}" -X POST "$U/v1/conversations/k9/messages" -d "{\"message_id\":\"k$i\",\"role\":\"user\",\"content\":\"crash test $i ü\"}")
  case $r in *'"accepted":1'*) acked=$((acked + 1));; esac
  [ "$i" = 45 ] && kill -9 "$PID"
done
wait "$PID" 2>/dev/null
[ "$acked" -ge 45 ] && ok || bad "only $acked messages acknowledged before the kill"
expect "no visible partial file" "" "$(for f in $(find "$L" -name '*.parquet'); do "$HELIX_BIN" lake cat "$f" >/dev/null 2>&1 || echo "$f"; done)"
start "$D" "$base/s2.log" "${ENV[@]}" || { finish; }
U=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
  n=$(body "$U/v1/datalake/conversations/k9" | jq '.count // 0'); [ "$n" -ge "$acked" ] && break; sleep 0.1
done
k9=$(body "$U/v1/datalake/conversations/k9")
expect "no acknowledged row lost" "$acked" "$(echo "$k9" | jq '.count')"
expect "no row duplicated" "$acked" "$(echo "$k9" | jq '[.events[].message_id] | unique | length')"
expect "duckdb agrees after the crash" "[{\"n\":\"$acked\"}]" "$(duck "select count(*) n from read_parquet('$L/conversations/**/*.parquet') where conversation_id = 'k9'")"
finish
