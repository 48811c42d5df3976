#!/usr/bin/env bash
# The CLI and `helix serve` on the kafka backend, against `helix kafka-mock`
# in another process: topics, produce, consume (direct and through a group
# that resumes), serve's health turning degraded when the cluster goes away.
set -u
. "$(dirname "$0")/lib/common.sh"
d=$(hx_tmpdir kcli); HX_CLEAN_DIRS+=("$d")

"$HELIX_BIN" kafka-mock --brokers 0 >/dev/null 2>&1; expect "bad --brokers is a usage error" 2 $?
"$HELIX_BIN" kafka-mock --brokers 3 --topic demo:3 --topic bench:4 --bootstrap-file "$d/bs" >"$d/mock.out" 2>"$d/mock.err" &
MOCK=$!; pids+=("$MOCK")
for _ in $(seq 1 100); do [ -s "$d/bs" ] && break; sleep 0.05; done
BS=$(cat "$d/bs" 2>/dev/null)
contains "bootstrap printed" "$(head -1 "$d/mock.out")" "127.0.0.1:"
expect "same address in file and stdout" "$BS" "$(head -1 "$d/mock.out")"

export HELIX_BACKENDS_EVENTS=kafka HELIX_KAFKA_BOOTSTRAP_SERVERS="$BS" HELIX_NODE_LOG_LEVEL=error
H() { timeout 60 "$HELIX_BIN" "$@" --data-dir "$d/data" 2>>"$d/err"; }

H topic list | grep -qx helixagent.conversations; expect "built-in topics hosted by kafka-mock" 0 $?
H topic list | grep -qx demo; expect "--topic created" 0 $?
H topic describe demo | grep -q "3 partition(s)"; expect "describe partitions" 0 $?
H topic create other >/dev/null; expect "create on the mock explains itself" 1 $?
grep -q "kafka-mock --topic other" "$d/err"; expect "advice names kafka-mock --topic" 0 $?
seq 1 30 | sed 's/^/line /' | H produce demo -k user-1; expect "produce" 0 $?
seq 31 40 | sed 's/^/line /' | H produce demo; expect "produce keyless" 0 $?
expect "direct consume sees all" 40 "$(H consume demo -e | wc -l)"
expect "key order kept" "line 1" "$(H consume demo -e | grep user-1 | head -1 | grep -o 'line [0-9]*')"
expect "group first 15" 15 "$(H consume demo -g g1 -c 15 | wc -l)"
expect "group resumes at its commit" 25 "$(H consume demo -g g1 -e | wc -l)"

# bench against "any Kafka" (here the mock in the other process) with an existing topic;
# 2 s fixed-rate runs: this checks that the bench works there, not its numbers (ASan under load took 90 s with 10 s runs).
timeout 60 "$HELIX_BIN" bench kafka --backend kafka >/dev/null 2>&1; expect "--backend kafka needs --bootstrap" 2 $?
timeout 90 "$HELIX_BIN" bench kafka --backend kafka --bootstrap "$BS" --topic bench --messages 1000 --seconds 2 \
  --json "$d/bench.json" >/dev/null 2>>"$d/err"; expect "bench on kafka" 0 $?
contains "bench verified every message" "$(cat "$d/bench.json" 2>/dev/null)" '"verified": true'
contains "bench names its backend" "$(cat "$d/bench.json" 2>/dev/null)" '"backend": "kafka"'

# serve on kafka: healthy, then degraded with the reason once the cluster is gone.
# A short delivery timeout: produces (and shutdown) give up 5 s into the outage.
HX_START_SECONDS=60 start "$d/srv" "$d/serve.log" HELIX_KAFKA_PRODUCER_DELIVERY_TIMEOUT_MS=5000 || finish
SRV=$PID
U=http://127.0.0.1:$PORT
contains "serve says kafka" "$(grep -o 'events=[a-z]*' "$d/serve.log" | head -1)" "events=kafka"
H2=$(body $U/v1/bigdata/health)
contains "event log healthy on kafka" "$H2" '"event_log":{"status":"healthy"'
expect "HTTP produce to kafka" 201 "$(code -XPOST $U/v1/topics/demo/records \
  -d '{"records":[{"key":"k","type":"demo.event","data":{"n":1}}]}')"
kill -9 "$MOCK"
sleep 0.5
H3=$(HX_CURL_SECONDS=15 body $U/v1/bigdata/health)
contains "degraded without the cluster" "$H3" '"event_log":{"status":"degraded"'
contains "reason given" "$H3" "unreachable"
# Stopping with the cluster gone is bounded by the delivery timeout.
kill -TERM "$SRV"
for _ in $(seq 1 600); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SRV" 2>/dev/null; expect "serve stops within 60 s with the cluster gone" 1 $?

finish
