#!/usr/bin/env bash
# End to end over HTTP: conversation ingest (single, batch, update, delete,
# complete), read-back, replay with compression, stats, tenants, errors, the
# context metrics, and the index rebuilt from the log after a restart.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir context); HX_CLEAN_DIRS+=("$base")

D=$base/data
start "$D" "$base/s1.log" || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')

r=$(body "${J[@]}" -X POST $U/v1/conversations/c1/messages -d '{"message_id":"m1","role":"user","content":"Alice Chen wants PostgreSQL 16 for the billing service."}')
contains "single add" "$r" '"first_seq":1'
contains "added event" "$r" '"type":"conversation.message.added"'
batch='{"messages":['
for i in $(seq 2 80); do
  batch+="{\"message_id\":\"m$i\",\"role\":\"$([ $((i%2)) = 0 ] && echo assistant || echo user)\",\"content\":\"Message $i: Bob Li reviewed the KafkaCluster latency of $((i*7)) ms. We decided to keep Redis as the cache for ticket T-$i. What about the Berlin region?\"},"
done
batch=${batch%,}']}'
r=$(body "${J[@]}" -X POST $U/v1/conversations/c1/messages -d "$batch")
contains "batch add" "$r" '"accepted":79'
contains "batch last seq" "$r" '"last_seq":80'
r=$(body -X POST $U/v1/conversations/c1/messages -d '{"messages":[{"op":"update","message_id":"m2","role":"assistant","content":"EDITED by Dana Ortiz"},{"op":"delete","message_id":"m3"}]}')
contains "update+delete" "$r" '"type":"conversation.message.deleted"'
got=$(body "$U/v1/conversations/c1/messages?from_seq=1&limit=5")
contains "read back" "$got" '"message_id":"m1"'
contains "update applied" "$got" 'EDITED by Dana Ortiz'
lacks "delete applied" "$got" '"message_id":"m3"'
contains "limit and next_seq" "$got" '"next_seq":'
contains "from_seq" "$(body "$U/v1/conversations/c1/messages?from_seq=80")" '"message_id":"m80"'
expect "bad from_seq" 400 "$(code "$U/v1/conversations/c1/messages?from_seq=x")"
expect "unknown conversation messages" 404 "$(code "$U/v1/conversations/nope/messages")"

rp=$(body -X POST $U/v1/context/replay -d '{"conversation_id":"c1","compression_strategy":"window_summary","target_ratio":0.3,"preserve_recent_count":10,"window_size":20}')
contains "replay compressed" "$rp" '"compressed":true'
contains "replay strategy" "$rp" '"requested_strategy":"window_summary"'
contains "replay escalation reported" "$rp" '"escalation":['
contains "replay quality" "$rp" '"quality_method"'
contains "replay summary attributable" "$rp" '"from_seq":1'
contains "replay fits" "$rp" '"fits_budget":true'
contains "replay cold" "$rp" '"cache_hit":false'
contains "replay entities" "$rp" '"entities":[{'
contains "replay warm" "$(body -X POST $U/v1/context/replay -d '{"conversation_id":"c1","compression_strategy":"window_summary","target_ratio":0.3,"preserve_recent_count":10,"window_size":20}')" '"cache_hit":true'
for s in hybrid entity_graph full; do
  contains "replay $s" "$(body -X POST $U/v1/context/replay -d "{\"conversation_id\":\"c1\",\"compression_strategy\":\"$s\",\"max_tokens\":400}")" '"fits_budget":true'
done
body -X POST $U/v1/conversations/c1/messages -d '{"message_id":"m81","role":"user","content":"New message after the cache"}' >/dev/null
rp=$(body -X POST $U/v1/context/replay -d '{"conversation_id":"c1","compression_strategy":"window_summary","target_ratio":0.3,"preserve_recent_count":10,"window_size":20}')
contains "new message invalidates" "$rp" '"cache_hit":false'
contains "new message replayed" "$rp" 'New message after the cache'
expect "replay unknown" 404 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":"nope"}')"
expect "replay no id" 400 "$(code -X POST $U/v1/context/replay -d '{"max_tokens":10}')"
expect "replay bad strategy" 400 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":"c1","compression_strategy":"zip"}')"
expect "replay bad ratio" 400 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":"c1","target_ratio":3}')"
expect "replay bad max" 400 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":"c1","max_tokens":0}')"
expect "replay unknown field" 400 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":"c1","maxtokens":5}')"
expect "replay malformed" 400 "$(code -X POST $U/v1/context/replay -d '{"conversation_id":')"
contains "error JSON" "$(body -X POST $U/v1/context/replay -d '{"conversation_id":"nope"}')" '"error":{"code":"not_found"'
expect "bad role" 400 "$(code -X POST $U/v1/conversations/c1/messages -d '{"role":"robot","content":"x"}')"
expect "no content" 400 "$(code -X POST $U/v1/conversations/c1/messages -d '{"role":"user"}')"
expect "bad op" 400 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"explode","message_id":"m1"}')"
expect "delete without id" 400 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"delete"}')"
expect "batch with one bad item" 400 "$(code -X POST $U/v1/conversations/c2/messages -d '{"messages":[{"role":"user","content":"ok"},{"role":"x","content":"no"}]}')"
expect "bad batch wrote nothing" 404 "$(code $U/v1/context/stats/c2)"
expect "update of unknown message" 404 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"update","message_id":"ghost","content":"x"}')"
expect "delete of unknown message" 404 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"delete","message_id":"ghost"}')"
expect "delete of deleted message" 404 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"delete","message_id":"m3"}')"
r=$(body -X POST $U/v1/conversations/c1/messages -d '{"messages":[{"role":"user","content":"should not land"},{"op":"update","message_id":"m1","content":"should not land either"},{"op":"update","message_id":"ghost","content":"x"}]}')
contains "unknown target error" "$r" '"code":"not_found"'
contains "unknown target named" "$r" "ghost"
got=$(body "$U/v1/conversations/c1/messages?from_seq=1&limit=10000")
lacks "batch with unknown target wrote nothing" "$got" 'should not land'
contains "nothing written: max_seq unchanged" "$got" '"max_seq":83'
expect "update of unknown message, new conversation" 404 "$(code -X POST $U/v1/conversations/c3/messages -d '{"op":"delete","message_id":"m1"}')"
expect "...and it was not created" 404 "$(code $U/v1/context/stats/c3)"
expect "update of a message added earlier in the batch" 201 "$(code -X POST $U/v1/conversations/c3/messages -d '{"messages":[{"message_id":"x","role":"user","content":"v1"},{"op":"update","message_id":"x","content":"v2"}]}')"
contains "...applied" "$(body $U/v1/conversations/c3/messages)" '"content":"v2"'

st=$(body $U/v1/context/stats/c1)
contains "stats messages" "$st" '"messages":80'
contains "stats deleted" "$st" '"deleted":1'
contains "stats cache" "$st" '"replay_hits":'
expect "stats unknown" 404 "$(code $U/v1/context/stats/nope)"
expect "complete" 201 "$(code -X POST $U/v1/conversations/c1/messages -d '{"op":"complete"}')"
contains "completed" "$(body $U/v1/context/stats/c1)" '"completed":true'

expect "other tenant cannot see" 404 "$(code -H 'X-Helix-Tenant: other' $U/v1/context/stats/c1)"
expect "other tenant own conversation" 201 "$(code -H 'X-Helix-Tenant: other' -X POST $U/v1/conversations/c1/messages -d '{"role":"user","content":"tenant two"}')"
contains "tenant seq starts at 1" "$(body -H 'X-Helix-Tenant: other' $U/v1/conversations/c1/messages)" '"seq":1'
lacks "tenants separate" "$(body -H 'X-Helix-Tenant: other' $U/v1/conversations/c1/messages)" 'Alice'

m=$(body $U/metrics)
contains "metric duration" "$m" 'context_replay_duration_seconds_count{backend="embedded"}'
contains "metric ratio" "$m" 'context_compression_ratio{backend="embedded"}'
contains "metric hit ratio" "$m" 'context_cache_hit_ratio{backend="embedded"}'

kill -TERM "$PID"; wait "$PID"
start "$D" "$base/s2.log" || true
U=http://127.0.0.1:$PORT
# nothing cached yet: a replay from a seq reads only that part of the conversation
rp=$(body -X POST $U/v1/context/replay -d '{"conversation_id":"c1","from_seq":70,"max_tokens":100000}')
contains "replay from_seq reads the index's records only" "$rp" '"partial":true'
contains "replay from_seq first message" "$rp" '"message_id":"m70"'
lacks "replay from_seq skips earlier" "$rp" '"message_id":"m69"'
contains "index rebuilt after restart" "$(body $U/v1/context/stats/c1)" '"messages":80'
contains "replay after restart" "$(body "$U/v1/conversations/c1/messages?from_seq=2&limit=1")" 'EDITED by Dana Ortiz'
kill -TERM "$PID"; wait "$PID"

# The CLI replays from the same log once the server has released it.
out=$("$HELIX_BIN" replay c1 --data-dir "$D" --strategy full --max-tokens 300 2>&1)
contains "cli replay" "$out" '"strategy": "full"'
contains "cli replay fits" "$out" '"fits_budget": true'
"$HELIX_BIN" replay nope --data-dir "$D" >/dev/null 2>&1; expect "cli unknown conversation" 2 "$?"
"$HELIX_BIN" replay c1 --data-dir "$D" --strategy zip >/dev/null 2>&1; expect "cli bad strategy" 2 "$?"

finish
