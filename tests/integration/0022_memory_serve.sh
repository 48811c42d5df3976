#!/usr/bin/env bash
# The memory API of `helix serve` over HTTP: CRUD, list filters, BM25 search,
# tenant isolation, clear 4xx errors, sync status/force on a single node, and
# memory writes acknowledged over HTTP surviving kill -9 (WAL replay), then a
# restart from a snapshot plus the WAL.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir memserve); HX_CLEAN_DIRS+=("$base")


D=$base/data
start "$D" "$base/s1.log" HELIX_EVENT_LOG_FSYNC=interval || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')
TA=(-H 'X-Helix-Tenant: acme')

r=$(body "${J[@]}" "${TA[@]}" -X POST $U/v1/memory -d '{"id":"pref-1","user_id":"u1","content":"prefers OAuth2 for every service","tags":["auth"],"metadata":{"src":"chat"}}')
contains "create" "$r" '"id":"pref-1"'
contains "create returns the write stamp" "$r" '"write":{'
expect "create 201" 201 "$(code "${J[@]}" "${TA[@]}" -X POST $U/v1/memory -d '{"user_id":"u1","type":"episodic","content":"deploys on Fridays"}')"
expect "duplicate id 409" 409 "$(code "${J[@]}" "${TA[@]}" -X POST $U/v1/memory -d '{"id":"pref-1","user_id":"u1","content":"x"}')"
expect "missing user_id 400" 400 "$(code "${TA[@]}" -X POST $U/v1/memory -d '{"content":"x"}')"
contains "400 names the field" "$(body "${TA[@]}" -X POST $U/v1/memory -d '{"content":"x"}')" "user_id"
expect "bad type 400" 400 "$(code "${TA[@]}" -X POST $U/v1/memory -d '{"user_id":"u","content":"x","type":"dream"}')"
expect "malformed JSON 400" 400 "$(code "${TA[@]}" -X POST $U/v1/memory -d '{"user_id":')"
expect "get 200" 200 "$(code "${TA[@]}" $U/v1/memory/pref-1)"
expect "other tenant 404" 404 "$(code -H 'X-Helix-Tenant: evil' $U/v1/memory/pref-1)"
contains "404 is JSON" "$(body $U/v1/memory/pref-1)" '"code":"not_found"'
expect "bad id 400" 400 "$(code "${TA[@]}" "$U/v1/memory/a%20b")"
r=$(body "${TA[@]}" -X PATCH $U/v1/memory/pref-1 -d '{"content":"prefers OAuth2 with PKCE","tags":["auth","security"]}')
contains "patch" "$r" '"content":"prefers OAuth2 with PKCE"'
contains "patch tags" "$r" '"security"'
expect "patch immutable 400" 400 "$(code "${TA[@]}" -X PATCH $U/v1/memory/pref-1 -d '{"user_id":"u9"}')"
contains "list by user" "$(body "${TA[@]}" "$U/v1/memory?user_id=u1&limit=10")" '"count":2'
contains "list by type" "$(body "${TA[@]}" "$U/v1/memory?type=episodic")" '"count":1'
contains "list by tag" "$(body "${TA[@]}" "$U/v1/memory?tag=security")" '"id":"pref-1"'
contains "list other tenant" "$(body -H 'X-Helix-Tenant: evil' "$U/v1/memory")" '"count":0'
expect "bad limit 400" 400 "$(code "${TA[@]}" "$U/v1/memory?limit=0")"
r=$(body "${TA[@]}" -X POST $U/v1/memory/search -d '{"query":"oauth2 pkce","user_id":"u1"}')
contains "search finds" "$r" '"id":"pref-1"'
contains "search scores" "$r" '"score":'
expect "search without query 400" 400 "$(code "${TA[@]}" -X POST $U/v1/memory/search -d '{}')"
contains "conflicts" "$(body "${TA[@]}" "$U/v1/memory/conflicts?since=0&limit=10")" '"conflicts":[]'
r=$(body $U/v1/memory/sync/status)
contains "status node" "$r" '"node_id":"node-'
contains "status vector clock" "$r" '"vector_clock":{'
contains "status lag" "$r" '"sync_lag_ms":{'
r=$(body -X POST $U/v1/memory/sync/force)
contains "force on a single node" "$r" '"in_sync":true'
expect "delete" 200 "$(code "${TA[@]}" -X DELETE $U/v1/memory/pref-1)"
expect "deleted is 404" 404 "$(code "${TA[@]}" $U/v1/memory/pref-1)"
contains "metrics" "$(body $U/metrics)" "memory_sync_lag_seconds"
r=$(body "${TA[@]}" $U/v1/bigdata/health)
contains "health has memory" "$r" '"memory":{"status":"healthy"'
contains "health memory detail" "$r" 'max sync lag'

# Acknowledged writes survive kill -9 (fsync=interval: written before the ack).
acked=0
for i in $(seq 1 30); do
  c=$(code "${TA[@]}" -X POST $U/v1/memory -d "{\"id\":\"k$i\",\"user_id\":\"u2\",\"content\":\"fact $i\"}")
  [ "$c" = 201 ] && acked=$((acked+1))
done
expect "all writes acked" 30 "$acked"
kill -9 "$PID"; wait "$PID" 2>/dev/null
start "$D" "$base/s2.log" || true
U=http://127.0.0.1:$PORT
contains "acked writes survive kill -9" "$(body "${TA[@]}" "$U/v1/memory?user_id=u2&limit=100")" '"count":30'
expect "delete survives kill -9" 404 "$(code "${TA[@]}" $U/v1/memory/pref-1)"
lacks "deleted content is gone from disk state" "$(body "${TA[@]}" "$U/v1/memory?limit=100")" "PKCE"
kill -TERM "$PID"; wait "$PID"
expect "clean shutdown" 0 "$?"
# A 1 s snapshot interval: after kill -9 the node restores the snapshot plus the WAL tail.
start "$D" "$base/s3.log" HELIX_DISTRIBUTED_MEMORY_SNAPSHOT_INTERVAL_SECONDS=1 || true
U=http://127.0.0.1:$PORT
sleep 1.5
c=$(code "${TA[@]}" -X POST $U/v1/memory -d '{"id":"after-snap","user_id":"u2","content":"after the snapshot"}')
expect "write after snapshot" 201 "$c"
kill -9 "$PID"; wait "$PID" 2>/dev/null
ls "$D/memory/snapshots/"*-full.snap >/dev/null 2>&1 && ok || bad "no full snapshot written"
start "$D" "$base/s4.log" || true
U=http://127.0.0.1:$PORT
contains "restored from snapshot + WAL" "$(body "${TA[@]}" "$U/v1/memory?user_id=u2&limit=100")" '"count":31'
contains "restore logged" "$(cat "$base/s4.log")" "restored snapshot"
kill -TERM "$PID"; wait "$PID"

finish
