#!/usr/bin/env bash
# The knowledge API on `helix serve`: batch writes through the event path
# answer once applied, related/search/path/entity/merge/delete and the
# conversation view, every bad input a clear 4xx with nothing written,
# tenants apart, entities extracted from ingested conversations, the graph
# metrics and its health entry.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir graph-api); HX_CLEAN_DIRS+=("$base")
command -v jq >/dev/null || { echo "jq is missing: install it with scripts/deps.sh"; echo "0 passed, 1 failed"; exit 1; }

start "$base/data" "$base/s.log" HELIX_GRAPH_FLUSH_MS=5 || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT/v1/knowledge
J='Content-Type: application/json'

# --- batch writes ---
r=$(body -w '\n%{http_code}' -X POST "$U/entities" -H "$J" -d '{"entities":[
  {"type":"person","name":"Alice Chen","aliases":["Ali"],"description":"runs the database team","mentions":3,"confidence":0.8},
  {"type":"technology","name":"PostgreSQL","description":"the main database","mentions":1},
  {"id":"kafka","type":"technology","name":"Kafka","properties":{"version":"3.7","brokers":[1,2,3]}},
  {"id":"berlin","type":"place","name":"Berlin"},
  {"id":"island","type":"place","name":"Lonely Island"}]}')
expect "entities status" 201 "$(tail -1 <<<"$r")"
contains "entities applied" "$r" '"applied":true'
alice=$(head -1 <<<"$r" | jq -r '.ids[0]'); pg=$(head -1 <<<"$r" | jq -r '.ids[1]')
expect "derived id" 16 "${#alice}"
r=$(body -w '\n%{http_code}' -X POST "$U/relationships" -H "$J" -d "{\"relationships\":[
  {\"from\":\"$alice\",\"to\":\"$pg\",\"type\":\"USES\",\"strength\":2},
  {\"from\":\"$pg\",\"to\":\"kafka\",\"type\":\"FEEDS\",\"strength\":0.5},
  {\"from\":\"kafka\",\"to\":\"berlin\",\"type\":\"RUNS_IN\"}]}")
expect "relationships status" 201 "$(tail -1 <<<"$r")"

e=$(body "$U/entities/$alice")
expect "entity name" "Alice Chen" "$(jq -r .name <<<"$e")"
expect "entity degree" 1 "$(jq -r .degree <<<"$e")"
expect "entity mentions" 3 "$(jq -r .mentions <<<"$e")"
expect "entity alias" "Ali" "$(jq -r '.aliases[0]' <<<"$e")"
expect "importance = ln(1+3)*0.8" true "$(jq -r '(.importance - 1.1090354888959124) | (if . < 0 then -. else . end) < 1e-9' <<<"$e")"
expect "properties kept" 3 "$(body "$U/entities/kafka" | jq -r '.properties.brokers|length')"

# --- related ---
r=$(body "$U/related/$alice?depth=3")
expect "related count" 3 "$(jq -r .count <<<"$r")"
expect "related first" "$pg" "$(jq -r '.results[0].entity.id' <<<"$r")"
expect "related depth of berlin" 3 "$(jq -r '.results[]|select(.entity.id=="berlin")|.depth' <<<"$r")"
expect "related via" RUNS_IN "$(jq -r '.results[]|select(.entity.id=="berlin")|.relationship.type' <<<"$r")"
expect "related type filter" 1 "$(body "$U/related/$alice?depth=3&type=place" | jq -r .count)"
expect "related rel filter" 1 "$(body "$U/related/$alice?depth=3&rel=USES" | jq -r .count)"
expect "related min_strength" 1 "$(body "$U/related/$alice?depth=3&min_strength=1" | jq -r .count)"
expect "related direction in" 0 "$(body "$U/related/$alice?depth=2&direction=in" | jq -r .count)"
expect "related limit" 2 "$(body "$U/related/$alice?depth=3&limit=2" | jq -r .count)"
for q in "depth=0" "depth=6" "depth=x" "limit=0" "direction=up" "min_strength=-1" "rel=lower" "type=Bad!"; do
  expect "related $q" 400 "$(code "$U/related/$alice?$q")"
done
r=$(body "$U/related/$alice?depth=9")
contains "depth message" "$r" 'depth must be from 1 to 5'
expect "related unknown" 404 "$(code "$U/related/nobody")"
contains "error envelope" "$(body "$U/related/nobody")" '"error":{"code":"not_found"'

# --- search ---
r=$(body -X POST "$U/search" -H "$J" -d '{"query":"DATABASE team","limit":5}')
expect "search first" "$alice" "$(jq -r '.results[0].entity.id' <<<"$r")"
expect "search count" 2 "$(jq -r .count <<<"$r")"
expect "search types" "$pg" "$(body -X POST "$U/search" -d '{"query":"database","types":["technology"]}' | jq -r '.results[0].entity.id')"
expect "search none" 0 "$(body -X POST "$U/search" -d '{"query":"zzzqqq"}' | jq -r .count)"
expect "search no terms" 400 "$(code -X POST "$U/search" -d '{"query":"  !! "}')"
expect "search unknown field" 400 "$(code -X POST "$U/search" -d '{"query":"a","limt":3}')"
expect "search bad json" 400 "$(code -X POST "$U/search" -d '{"query":')"
expect "search bad limit" 400 "$(code -X POST "$U/search" -d '{"query":"a","limit":0}')"

# --- path ---
r=$(body "$U/path?from=$alice&to=berlin")
expect "path length" 3 "$(jq -r .length <<<"$r")"
expect "path nodes" "$alice $pg kafka berlin" "$(jq -r '[.nodes[].id]|join(" ")' <<<"$r")"
expect "path bound" 404 "$(code "$U/path?from=$alice&to=berlin&max_depth=2")"
expect "path none" 404 "$(code "$U/path?from=$alice&to=island")"
expect "path missing to" 400 "$(code "$U/path?from=$alice")"
expect "path bad depth" 400 "$(code "$U/path?from=$alice&to=berlin&max_depth=11")"

# --- bad writes: 4xx, nothing written ---
before=$(body "$U/related/$alice?depth=5" | jq -r .total)
expect "bad type" 400 "$(code -X POST "$U/entities" -d '{"entities":[{"id":"a","type":"x"},{"id":"b","type":"Bad Type"}]}')"
expect "unknown field" 400 "$(code -X POST "$U/entities" -d '{"entities":[{"id":"a","naem":"x"}]}')"
expect "map property" 400 "$(code -X POST "$U/entities" -d '{"id":"a","properties":{"m":{"x":1}}}')"
expect "empty batch" 400 "$(code -X POST "$U/entities" -d '{"entities":[]}')"
expect "empty body" 400 "$(code -X POST "$U/entities")"
expect "bad rel type" 400 "$(code -X POST "$U/relationships" -d "{\"from\":\"$alice\",\"to\":\"a\",\"type\":\"knows\"}")"
expect "negative strength" 400 "$(code -X POST "$U/relationships" -d "{\"from\":\"$alice\",\"to\":\"a\",\"type\":\"KNOWS\",\"strength\":-1}")"
r=$(body -X POST "$U/entities" -d '{"entities":[{"id":"ok","type":"person"},{"id":"b","mentions":"x"}]}')
contains "names the item" "$r" 'entities[1].mentions'
expect "nothing written" 404 "$(code "$U/entities/ok")"
expect "graph unchanged" "$before" "$(body "$U/related/$alice?depth=5" | jq -r .total)"
expect "bad path id" 400 "$(code "$U/entities/%ff")"

# --- tenants ---
expect "other tenant write" 201 "$(code -X POST "$U/entities" -H 'X-Helix-Tenant: t2' -d '{"id":"kafka","type":"technology","name":"Kafka T2"}')"
expect "tenant isolated get" "Kafka T2" "$(body -H 'X-Helix-Tenant: t2' "$U/entities/kafka" | jq -r .name)"
expect "tenant isolated default" "Kafka" "$(body "$U/entities/kafka" | jq -r .name)"
expect "tenant isolated search" 0 "$(body -X POST -H 'X-Helix-Tenant: t2' "$U/search" -d '{"query":"database"}' | jq -r .count)"
expect "tenant isolated related" 404 "$(code -H 'X-Helix-Tenant: t2' "$U/related/$alice")"

# --- merge and delete ---
r=$(body -X POST "$U/entities" -d '{"entities":[{"id":"bob","type":"person","name":"Bob Li","mentions":2},{"id":"rob","type":"person","name":"Robert Li","mentions":1}]}')
body -X POST "$U/relationships" -d '{"relationships":[{"from":"bob","to":"kafka","type":"USES"},{"from":"berlin","to":"bob","type":"HOME_OF"}]}' >/dev/null
expect "merge into itself" 400 "$(code -X POST "$U/entities/bob/merge" -d '{"into":"bob"}')"
expect "merge into unknown" 404 "$(code -X POST "$U/entities/bob/merge" -d '{"into":"ghost"}')"
expect "merge unknown" 404 "$(code -X POST "$U/entities/ghost/merge" -d '{"into":"bob"}')"
expect "merge no into" 400 "$(code -X POST "$U/entities/bob/merge" -d '{}')"
r=$(body -w '\n%{http_code}' -X POST "$U/entities/bob/merge" -d '{"into":"rob"}')
expect "merge status" 200 "$(tail -1 <<<"$r")"
m=$(head -1 <<<"$r")
expect "merged mentions" 3 "$(jq -r .mentions <<<"$m")"
expect "merged degree (both directions moved)" 2 "$(jq -r .degree <<<"$m")"
contains "merged alias" "$(jq -c .aliases <<<"$m")" '"Bob Li"'
expect "merged id redirects" rob "$(body "$U/entities/bob" | jq -r .id)"
expect "merge again" 400 "$(code -X POST "$U/entities/bob/merge" -d '{"into":"rob"}')"
expect "delete" 200 "$(code -X DELETE "$U/entities/kafka")"
expect "deleted" 404 "$(code "$U/entities/kafka")"
expect "delete again" 404 "$(code -X DELETE "$U/entities/kafka")"
expect "detached" 0 "$(body "$U/entities/berlin" | jq -r '.degree - 1')"

# --- extraction from conversations ---
C=http://127.0.0.1:$PORT/v1/conversations/conv-42/messages
code -X POST "$C" -d '{"messages":[{"role":"user","user_id":"u-1","content":"Wow, thanks! Priya Nair moved Redis to Singapore."},
  {"role":"assistant","content":"Great. Priya Nair will also check ClickHouse."}]}' >/dev/null
got=""
for _ in $(seq 1 100); do
  got=$(body "$U/conversations/conv-42/entities" | jq -r '[.entities[].entity.name]|sort|join(",")' 2>/dev/null)
  [ "$got" = "ClickHouse,Priya Nair,Redis,Singapore" ] && break
  sleep 0.1
done
expect "extracted entities" "ClickHouse,Priya Nair,Redis,Singapore" "$got"
pid=$(body -X POST "$U/search" -d '{"query":"priya nair","types":["person"]}' | jq -r '.results[0].entity.id')
expect "extracted mentions" 2 "$(body "$U/entities/$pid" | jq -r .mentions)"
lacks "no interjections" "$(body -X POST "$U/search" -d '{"query":"wow thanks great"}')" '"name":"Wow"'
expect "unknown conversation" 404 "$(code "$U/conversations/nope/entities")"

# --- metrics and health ---
m=$(body "http://127.0.0.1:$PORT/metrics")
contains "tx metric" "$m" 'neo4j_transaction_committed_total{backend="embedded"}'
contains "cache metric" "$m" 'neo4j_page_cache_hit_ratio{backend="embedded"}'
contains "size metric" "$m" 'neo4j_store_size_bytes{backend="embedded"}'
contains "extraction lag metric" "$m" 'graph_extraction_lag_seconds'
produced=$(grep '^graph_extraction_events_total ' <<<"$m" | awk '{print $2}')
expect "extraction events metric counts records" 1 "$(awk -v p="${produced:-0}" 'BEGIN{print (p > 0)}')"
h=$(body "http://127.0.0.1:$PORT/v1/bigdata/health")
expect "graph health" healthy "$(jq -r .components.graph.status <<<"$h" 2>/dev/null || echo "?")"

# --- restart: everything durable ---
kill "$PID"; wait "$PID" 2>/dev/null
start "$base/data" "$base/s2.log" || { finish; }
U=http://127.0.0.1:$PORT/v1/knowledge
expect "after restart: entity" "Alice Chen" "$(body "$U/entities/$alice" | jq -r .name)"
expect "after restart: redirect" rob "$(body "$U/entities/bob" | jq -r .id)"
expect "after restart: deleted stays deleted" 404 "$(code "$U/entities/kafka")"
finish
