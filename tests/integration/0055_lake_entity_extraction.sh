#!/usr/bin/env bash
# The entity_extraction job: archived conversations (the live extractor off,
# as for history archived before the graph ran) go through the graph's
# extractor into graph events; the graph shows the entities; running the job
# again adds nothing (hx-src / hx-src-seq); tool turns and edits are not
# counted; a tenant's job sees only its own messages.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir lakeextract); HX_CLEAN_DIRS+=("$base")
start "$base/d" "$base/s.log" HELIX_GRAPH_EXTRACT_ENABLED=false HELIX_LAKE_FLUSH_MS=100 HELIX_JOBS_SCHEDULES= \
  || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')
body "${J[@]}" -X POST "$U/v1/conversations/x1/messages" -d '{"messages":[
  {"message_id":"m1","role":"user","content":"Alice Chen moved PostgreSQL to Kubernetes in Berlin with Bob Li."},
  {"message_id":"m2","role":"tool","content":"PostgreSQL PostgreSQL PostgreSQL"},
  {"op":"update","message_id":"m1","role":"user","content":"Alice Chen moved PostgreSQL to Kubernetes in Berlin."}]}' >/dev/null
expect "flush" 200 "$(code -X POST "$U/v1/datalake/flush")"
expect "archived" 3 "$(body "$U/v1/datalake/conversations/x1" | jq '.count')"
job() { # TENANT -> final job record
  local id s
  id=$(body "${J[@]}" -H "X-Helix-Tenant: $1" -X POST "$U/v1/jobs" -d '{"type":"entity_extraction"}' | jq -r '.id')
  for _ in $(seq 1 100); do
    s=$(body -H "X-Helix-Tenant: $1" "$U/v1/jobs/$id"); case $(echo "$s" | jq -r .state) in succeeded|failed|cancelled) break;; esac
    sleep 0.1
  done
  echo "$s"
}
pg_mentions() { body "$U/v1/knowledge/conversations/x1/entities" | jq '[.entities[] | select(.entity.name == "PostgreSQL") | .entity.mentions] | add // 0'; }
r=$(job default)
expect "job succeeded" succeeded "$(echo "$r" | jq -r .state)"
expect "one message extracted (no tool turn, no edit)" 1 "$(echo "$r" | jq '.result.messages')"
[ "$(echo "$r" | jq '.result.events_published')" -ge 1 ] && ok || bad "no graph events published: $r"
for _ in $(seq 1 100); do [ "$(pg_mentions)" = 1 ] && break; sleep 0.1; done
expect "graph has the entity once" 1 "$(pg_mentions)"
contains "and Kubernetes" "$(body "$U/v1/knowledge/conversations/x1/entities")" '"name":"Kubernetes"'
r=$(job default)
expect "second run succeeded" succeeded "$(echo "$r" | jq -r .state)"
sleep 1
expect "second run adds nothing" 1 "$(pg_mentions)"
# The archiver keeps the graph events too: the entities dataset.
body -X POST "$U/v1/datalake/flush" >/dev/null
ents=$("$HELIX_BIN" lake cat entities --data-dir "$base/d")
contains "entity events archived" "$ents" '"event_type":"entity.upserted"'
contains "entity data kept" "$ents" 'PostgreSQL'
r=$(job acme)
expect "other tenant extracts nothing" 0 "$(echo "$r" | jq '.result.messages')"
expect "other tenant sees no entities" 0 "$(body -H 'X-Helix-Tenant: acme' "$U/v1/knowledge/conversations/x1/entities" | jq '.entities | length // 0')"
finish
