#!/usr/bin/env bash
# End to end: `helix serve` on loopback, driven with curl. Auth, JSON errors,
# limits, topics and records, clean shutdown, the data-dir lock, and records
# acknowledged under fsync=always surviving kill -9.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir serve); HX_CLEAN_DIRS+=("$base")


D=$base/data; T=secret-token
start "$D" "$base/s1.log" HELIX_SERVER_TOKEN=$T HELIX_SERVER_BODY_LIMIT_BYTES=4096 || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
A=(-H "Authorization: Bearer $T")

expect "health without token" 200 "$(code $U/health)"
expect "metrics without token" 200 "$(code $U/metrics)"
expect "api without token" 401 "$(code $U/v1/topics)"
expect "api with wrong token" 401 "$(code -H 'Authorization: Bearer nope' $U/v1/topics)"
expect "api with token" 200 "$(code "${A[@]}" $U/v1/topics)"
contains "401 is JSON" "$(body $U/v1/topics)" '"code":"unauthorized"'
expect "unknown path" 404 "$(code "${A[@]}" $U/v1/nothing)"
contains "404 is JSON" "$(body "${A[@]}" $U/v1/nothing)" '"error"'
expect "wrong method" 405 "$(code "${A[@]}" -X PUT $U/v1/topics)"
big=$(head -c 8000 /dev/zero | tr '\0' 'a')
expect "body over limit" 413 "$(code "${A[@]}" -X POST $U/v1/topics -d "{\"name\":\"$big\"}")"
expect "malformed JSON" 400 "$(code "${A[@]}" -X POST $U/v1/topics -d '{"name":')"
expect "bigdata health" 200 "$(code "${A[@]}" $U/v1/bigdata/health)"
contains "event log checked" "$(body "${A[@]}" $U/v1/bigdata/health)" '"event_log":{"status":"healthy"'
contains "DESIGN topics created" "$(body "${A[@]}" $U/v1/topics)" '"helixagent.conversations","partitions":16'

expect "create topic" 201 "$(code "${A[@]}" -X POST $U/v1/topics -d '{"name":"orders","partitions":2}')"
expect "duplicate topic" 409 "$(code "${A[@]}" -X POST $U/v1/topics -d '{"name":"orders"}')"
expect "bad partitions" 400 "$(code "${A[@]}" -X POST $U/v1/topics -d '{"name":"x","partitions":0}')"
r=$(body "${A[@]}" -X POST $U/v1/topics/orders/records -d '{"records":[{"type":"order.created","key":"k1","data":{"n":1}},{"type":"order.created","key":"k1","data":{"n":2}}]}')
contains "produce returns offsets" "$r" '"offset":1'
expect "bad envelope rejected" 400 "$(code "${A[@]}" -X POST $U/v1/topics/orders/records -d '{"records":[{"type":"ok.one","data":{}},{"type":"BAD"}]}')"
expect "unknown topic" 404 "$(code "${A[@]}" -X POST $U/v1/topics/nope/records -d '{"type":"a.b","data":{}}')"
expect "small topic" 201 "$(code "${A[@]}" -X POST $U/v1/topics -d '{"name":"tiny","max_message_bytes":512}')"
pad=$(head -c 1500 /dev/zero | tr '\0' 'x')
expect "oversized record" 413 "$(code "${A[@]}" -X POST $U/v1/topics/tiny/records -d "{\"records\":[{\"type\":\"a.b\",\"data\":{}},{\"type\":\"a.b\",\"data\":{\"p\":\"$pad\"}}]}")"
contains "oversized wrote nothing" "$(body "${A[@]}" $U/v1/topics/tiny)" '"records":0'
expect "bad message schema" 400 "$(code "${A[@]}" -X POST $U/v1/topics/orders/records -d '{"type":"conversation.message.added","data":{"role":"robot"}}')"
p=$(echo "$r" | grep -o '"partition":[0-9]*' | head -1 | cut -d: -f2)
got=$(body "${A[@]}" "$U/v1/topics/orders/records?partition=$p&offset=0&max=10")
contains "read back first" "$got" '"data":{"n":1}'
contains "read back second" "$got" '"data":{"n":2}'
contains "nothing from the rejected batch" "$got" '"high_watermark":2'
expect "bad query param" 400 "$(code "${A[@]}" "$U/v1/topics/orders/records?offset=abc")"
other=$(body "${A[@]}" -H 'X-Helix-Tenant: other' "$U/v1/topics/orders/records?partition=$p")
contains "tenants do not see each other" "$other" '"records":[]'
expect "bad tenant header" 400 "$(code "${A[@]}" -H 'X-Helix-Tenant: a b' $U/v1/topics)"
contains "metrics count http requests" "$(body $U/metrics)" 'http_requests_total{method="GET",route="/v1/topics",code="200"}'
contains "metrics count records" "$(body $U/metrics)" 'kafka_producer_record_send_total{backend="embedded",topic="orders"} 2'

# A second server on the same data dir refuses to start, saying why.
timeout 10 "$HELIX_BIN" serve --data-dir "$D" --port 0 2>"$base/s2.log"; rc=$?
[ $rc -ne 0 ] && ok || bad "second server on the same data dir started"
contains "lock message" "$(cat "$base/s2.log")" "in use"

kill -TERM "$PID"; timeout 10 tail --pid="$PID" -f /dev/null; wait "$PID"; rc=$?
expect "SIGTERM exits 0" 0 "$rc"
contains "clean shutdown logged" "$(cat "$base/s1.log")" "stopped cleanly"

# Restart: data is still there.
start "$D" "$base/s3.log" || true
contains "records survive restart" "$(body "http://127.0.0.1:$PORT/v1/topics/orders/records?partition=$p")" '"data":{"n":2}'
kill -TERM "$PID"; wait "$PID"

# fsync=always: everything acknowledged survives kill -9.
start "$D" "$base/s4.log" HELIX_EVENT_LOG_FSYNC=always || true
U=http://127.0.0.1:$PORT
acked=0
for i in $(seq 1 40); do
  c=$(code -X POST $U/v1/topics/orders/records -d "{\"type\":\"order.created\",\"key\":\"kill\",\"data\":{\"i\":$i}}")
  [ "$c" = 201 ] && acked=$((acked+1))
done
kill -9 "$PID"; wait "$PID" 2>/dev/null
start "$D" "$base/s5.log" || true
U=http://127.0.0.1:$PORT
total=0
for part in 0 1; do
  n=$(body "$U/v1/topics/orders/records?partition=$part&max=1000" | grep -o '"data":{"i":' | wc -l)
  total=$((total+n))
done
expect "acknowledged records after kill -9" "$acked" "$total"
kill -TERM "$PID"; wait "$PID"

finish
