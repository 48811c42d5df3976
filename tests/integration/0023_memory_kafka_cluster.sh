#!/usr/bin/env bash
# Three `helix serve` processes replicating memory through Kafka (the mock
# cluster of `helix kafka-mock`, 3 brokers), all on 127.0.0.1:
#  1. every node creates memories; all three PATCH one memory concurrently
#     (merge_all) and the nodes converge: equal version vectors, lists,
#     searches, GETs, replicated access counters;
#  2. the live versions of the shared memory are exactly the acknowledged
#     values minus those superseded by an acknowledged write that saw them
#     (the `write.superseded` of each answer): 0 lost writes, no phantoms;
#  3. node 3 is killed (-9) in the middle of a burst of creates, nodes 1-2
#     keep writing (creates, concurrent patches, a delete of a node-3 memory),
#     node 3 restarts from its data dir (snapshot + WAL): its own acknowledged
#     writes are there before it syncs, then it catches up and all converge
#     again with the same no-loss check over every acknowledged write.
# Every wait is bounded; the whole test takes ~20 s.
set -u
. "$(dirname "$0")/lib/common.sh"
d=$(hx_tmpdir memkafka); HX_CLEAN_DIRS+=("$d")
T0=$SECONDS

"$HELIX_BIN" kafka-mock --brokers 3 --bootstrap-file "$d/bs" >"$d/mock.out" 2>"$d/mock.err" &
pids+=("$!")
for _ in $(seq 1 100); do [ -s "$d/bs" ] && break; sleep 0.05; done
BS=$(cat "$d/bs" 2>/dev/null)
contains "kafka-mock on loopback" "$BS" "127.0.0.1:"
[ -n "$BS" ] || finish

# fsync=interval: a write is acknowledged once in the page cache, which
# survives kill -9. Snapshots every 2 s (incrementals every 1 s) so the killed
# node restarts from a snapshot plus the WAL; digests (heartbeats) every 0.5 s.
export HELIX_BACKENDS_EVENTS=kafka HELIX_KAFKA_BOOTSTRAP_SERVERS="$BS" HELIX_NODE_LOG_LEVEL=info \
  HELIX_EVENT_LOG_FSYNC=interval HELIX_DISTRIBUTED_MEMORY_CRDT_STRATEGY=merge_all \
  HELIX_DISTRIBUTED_MEMORY_SNAPSHOT_INTERVAL_SECONDS=2 HELIX_DISTRIBUTED_MEMORY_SYNC_DIGEST_INTERVAL_MS=500
declare -a PORT PID NODE
start() { # node-number log-suffix; sets PORT[n], PID[n]
  local n=$1 log=$d/n$1.$2.log
  "$HELIX_BIN" serve --data-dir "$d/n$n" --port 0 2>"$log" &
  PID[$n]=$!; pids+=("$!")
  PORT[$n]=""
  for _ in $(seq 1 200); do
    PORT[$n]=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's/.*://')
    [ -n "${PORT[$n]}" ] && return 0
    kill -0 "${PID[$n]}" 2>/dev/null || break
    sleep 0.05
  done
  bad "node $n did not start: $(tail -5 "$log")"; return 1
}
for n in 1 2 3; do start $n a || finish; done
U() { echo "http://127.0.0.1:${PORT[$1]}"; }
TH=(-H 'X-Helix-Tenant: t1' -H 'Content-Type: application/json')
get()  { curl -s --max-time 10 "${TH[@]}" "$(U "$1")$2"; }
# call node method path body outfile: prints the HTTP code, the body goes to outfile.
call() { curl -s --max-time 10 -o "$5" -w '%{http_code}' "${TH[@]}" -X "$2" "$(U "$1")$3" -d "$4"; }
status() { curl -s --max-time 10 "$(U "$1")/v1/memory/sync/status"; }
for n in 1 2 3; do NODE[$n]=$(status $n | jq -r .node_id); done
contains "node ids" "${NODE[1]} ${NODE[2]} ${NODE[3]}" "node-"

# Each node's consumer joins its own group (~3 s on the mock): wait until
# every node hears both peers' digests, i.e. it consumes.
peers_up() { for n in 1 2 3; do [ "$(status $n | jq '[.peers[] | select(.status == "up")] | length')" = 2 ] || return 1; done; }
wait_peers() { local t=$SECONDS; until peers_up; do [ $((SECONDS - t)) -lt "$1" ] || return 1; sleep 0.2; done; }
wait_peers 20 && ok || bad "peers not all up after 20 s: $(status 1)"

# Every acknowledged write goes to acked.jsonl as {id, hlc, node, content|null, superseded}.
: >"$d/acked.jsonl"
record() { # code want file content-or-empty
  [ "$1" = "$2" ] || return 1
  jq -c --arg c "$4" '{id, hlc: .write.hlc, node: .write.node, content: (if $c == "" then null else $c end),
                       superseded: .write.superseded}' "$3" >>"$d/acked.jsonl"
}
create() { # node id content [extra json fields]
  local c; c=$(call "$1" POST /v1/memory "{\"id\":\"$2\",\"user_id\":\"u1\",\"content\":\"$3\"${4:-}}" "$d/r.$1.$2")
  record "$c" 201 "$d/r.$1.$2" "$3" || bad "create $2 on node $1: $c $(cat "$d/r.$1.$2")"
}
patch_bg() { # node id content tag outbase: concurrent PATCH, answer kept for later
  call "$1" PATCH "/v1/memory/$2" "{\"content\":\"$3\",\"tags\":[\"$4\"]}" "$5.body" >"$5.code"
}
collect() { # outbase content
  record "$(cat "$1.code")" 200 "$1.body" "$2" || bad "patch $2: $(cat "$1.code") $(cat "$1.body")"
}

# Converged: no queued deltas, equal version vectors, equal lists (whole
# views: content, siblings, tags, metadata, access counters), equal searches.
view() {
  local s; s=$(status "$1")
  printf '%s\n%s\n%s\n' "$(jq -S -c '[.publish_queue, .vector_clock]' <<<"$s")" \
    "$(get "$1" '/v1/memory?limit=1000' | jq -S -c '.memories | sort_by(.id)')" \
    "$(curl -s --max-time 10 "${TH[@]}" -X POST "$(U "$1")/v1/memory/search" \
        -d '{"query":"fact shared value","limit":100}' | jq -c '[.memories[] | [.id, .score]]')"
}
converged() {
  view 1 >"$d/v1"; view 2 >"$d/v2"; view 3 >"$d/v3"
  [ "$(head -c1 "$d/v1")" = "[" ] && [ "$(sed -n 1p "$d/v1" | jq '.[0]')" = 0 ] &&
    cmp -s "$d/v1" "$d/v2" && cmp -s "$d/v1" "$d/v3"
}
wait_converged() { # label seconds
  local t=$SECONDS
  until converged; do
    if [ $((SECONDS - t)) -ge "$2" ]; then
      bad "$1: not converged after $2 s"; diff "$d/v1" "$d/v2" | head -c 1500 >&2; diff "$d/v1" "$d/v3" | head -c 1500 >&2
      return 1
    fi
    sleep 0.2
  done
  ok
}

# No lost write: on node $1, for every memory with acknowledged content
# writes, the live versions (version + conflicts) are exactly the acknowledged
# values minus those superseded by an acknowledged write (which saw them);
# a deleted memory must be gone.
# Prints the number of violations.
check_no_loss() {
  get "$1" '/v1/memory?limit=1000' >"$d/list.$1"
  jq -c -n --slurpfile acked "$d/acked.jsonl" --slurpfile list "$d/list.$1" '
    ($list[0].memories | map({key: .id, value: ([.version + {content}] + .conflicts
                                                 | map("\(.hlc)/\(.node)/\(.content)") | sort)}) | from_entries) as $live
    | [$acked[] | .superseded[]? | "\(.[0])/\(.[1])"] as $sup
    | [$acked[] | select(.deleted) | .id] as $deleted
    | [$acked[] | select(.content != null and (.id | IN($deleted[]) | not))] | group_by(.id)
    | map(.[0].id as $id
          | ([.[] | select(("\(.hlc)/\(.node)" | IN($sup[])) | not) | "\(.hlc)/\(.node)/\(.content)"] | sort) as $want
          | select(($live[$id] // ["<missing>"]) != $want) | {id: $id, want: $want, live: $live[$id]})
    + [$deleted[] | select($live[.] != null) | {id: ., deleted_but_live: $live[.]}]' >"$d/loss.$1"
  jq length "$d/loss.$1"
}

# --- 1. writes on every node, concurrent patches, convergence -------------
for n in 1 2 3; do
  for i in 1 2 3 4; do create $n "m$n-$i" "fact $i from node $n" ',"tags":["n'$n'"]'; done
done
create 1 shared "shared value v0" ',"metadata":{"owner":"n1"}'
t=$SECONDS
has_shared() { get "$1" '/v1/memory?limit=1000' | jq -e '.memories | any(.id == "shared")' >/dev/null; }
until has_shared 2 && has_shared 3; do # lists, not GET: a GET counts an access
  [ $((SECONDS - t)) -lt 10 ] || { bad "shared memory not replicated in 10 s"; break; }
  sleep 0.05
done
# Four rounds of three simultaneous PATCHes (one per node) on the same memory.
bg=()
for r in 1 2 3 4; do
  for n in 1 2 3; do patch_bg $n shared "shared value r$r n$n" "r$r-n$n" "$d/p.$r.$n" & bg+=("$!"); done
  wait "${bg[@]}"; bg=()
done
for r in 1 2 3 4; do for n in 1 2 3; do collect "$d/p.$r.$n" "shared value r$r n$n"; done; done
expect "acknowledged writes in phase 1" 25 "$(wc -l <"$d/acked.jsonl")"
wait_converged "phase 1" 15
echo "converged after phase 1 at $((SECONDS - T0)) s; shared has $(get 1 '/v1/memory?limit=1000' | jq '.memories[] | select(.id == "shared") | .conflicts | length') sibling(s)"
for n in 1 2 3; do expect "no lost write on node $n (phase 1)" 0 "$(check_no_loss $n)"; done
[ -s "$d/loss.1" ] && [ "$(cat "$d/loss.1")" != "[]" ] && echo "loss detail: $(cat "$d/loss.1")" >&2
expect "12 + 1 memories everywhere" 13 "$(get 3 '/v1/memory?limit=1000' | jq .count)"
# GET counts an access on each node; the grow-only counter replicates.
for n in 1 2 3; do get $n /v1/memory/shared | jq -S -c 'del(.access_count)' >"$d/g$n"; done
cmp -s "$d/g1" "$d/g2" && cmp -s "$d/g1" "$d/g3" && ok || bad "GET differs across nodes: $(cat "$d/g1" "$d/g2" "$d/g3")"
wait_converged "after reads" 10
expect "access counter replicated" 3 "$(get 3 '/v1/memory?limit=1000' | jq '.memories[] | select(.id == "shared") | .access_count')"
expect "merge_all on every node" "merge_all merge_all merge_all" "$(for n in 1 2 3; do status $n | jq -r .strategy; done | xargs)"
contains "tenant isolation" "$(curl -s --max-time 10 -H 'X-Helix-Tenant: t2' "$(U 2)/v1/memory")" '"count":0'

# --- 2. kill -9 node 3 mid-burst, keep writing on 1 and 2, restart 3 -----
t=$SECONDS
until ls "$d"/n3/memory/snapshots/*-full.snap >/dev/null 2>&1; do
  [ $((SECONDS - t)) -lt 10 ] || { bad "node 3 wrote no full snapshot in 10 s"; break; }
  sleep 0.1
done
create 3 after-snap "fact written after the snapshot"
( for i in $(seq 1 40); do
    c=$(call 3 POST /v1/memory "{\"id\":\"burst-$i\",\"user_id\":\"u1\",\"content\":\"burst fact $i\"}" "$d/b.$i")
    [ "$c" = 201 ] && echo "burst-$i" >>"$d/burst.acked"
  done ) &
burst=$!
for _ in $(seq 1 100); do [ -s "$d/burst.acked" ] && break; sleep 0.05; done
sleep 0.1
kill -9 "${PID[3]}"; wait "${PID[3]}" 2>/dev/null; wait "$burst"; t_kill=$SECONDS
nb=$(cat "$d/burst.acked" 2>/dev/null | wc -l)
[ "$nb" -ge 1 ] && ok || bad "no burst write acknowledged before the kill"
for i in $(sed 's/burst-//' "$d/burst.acked" 2>/dev/null); do
  jq -c --arg c "burst fact $i" '{id, hlc: .write.hlc, node: .write.node, content: $c, superseded: .write.superseded}' \
    "$d/b.$i" >>"$d/acked.jsonl"
done

for n in 1 2; do for i in 1 2 3; do create $n "down$n-$i" "fact $i while node 3 was down"; done; done
for r in 5 6 7; do
  for n in 1 2; do patch_bg $n shared "shared value r$r n$n" "r$r-n$n" "$d/p.$r.$n" & bg+=("$!"); done
  wait "${bg[@]}"; bg=()
done
for r in 5 6 7; do for n in 1 2; do collect "$d/p.$r.$n" "shared value r$r n$n"; done; done
expect "delete a node-3 memory while it is down" 200 "$(call 1 DELETE /v1/memory/m3-1 '' /dev/null)"
echo '{"id":"m3-1","deleted":true}' >>"$d/acked.jsonl"
c=$(call 2 PATCH /v1/memory/m3-2 '{"tags":["edited"],"metadata":{"by":"n2"}}' "$d/r.m32")
expect "patch a node-3 memory while it is down" 200 "$c"

start 3 b || finish
t_up=$SECONDS
contains "restart restores the snapshot" "$(cat "$d/n3.b.log")" "restored snapshot"
expect "same node id after restart" "${NODE[3]}" "$(status 3 | jq -r .node_id)"
# Before it has caught up (the group join takes seconds), node 3 already
# holds every write it acknowledged: snapshot + WAL, not Kafka.
l=$(get 3 '/v1/memory?limit=1000' | jq -c '[.memories[].id]')
for id in m3-1 m3-2 m3-3 m3-4 after-snap $(cat "$d/burst.acked"); do
  contains "node 3 kept its own acknowledged $id" "$l" "\"$id\""
done
wait_converged "after restart" 25
echo "converged after the restart at $((SECONDS - T0)) s (node 3 down $((t_up - t_kill)) s, caught up $((SECONDS - t_up)) s after its restart)"
# Fresh digests (heartbeats) follow the replayed backlog.
wait_peers 10
for n in 1 2 3; do expect "no lost write on node $n (after restart)" 0 "$(check_no_loss $n)"; done
[ "$(cat "$d/loss.3")" != "[]" ] && echo "loss detail: $(cat "$d/loss.3")" >&2
expect "delete reached the restarted node" 404 "$(call 3 GET /v1/memory/m3-1 '' /dev/null)"
r=$(get 3 /v1/memory/m3-2)
contains "patch reached the restarted node" "$r" '"edited"'
contains "metadata reached the restarted node" "$r" '"by":"n2"'
# 12 first + shared + after-snap + 6 written while node 3 was down - 1 deleted
expect "every acknowledged memory on every node" 19 \
  "$(get 1 '/v1/memory?limit=1000' | jq '[.memories[].id | select(startswith("burst-") | not)] | length')"
n_burst=$(get 3 '/v1/memory?limit=1000' | jq '[.memories[].id | select(startswith("burst-"))] | length')
[ "$n_burst" -ge "$nb" ] && ok || bad "burst: $nb acknowledged, $n_burst present"
c=$(for n in 1 2 3; do get $n '/v1/memory/conflicts?since=0&limit=1000' | jq .conflicts_resolved_total; done | jq -s add)
[ "${c:-0}" -gt 0 ] && ok || bad "concurrent patches recorded no conflict resolution: $c"
r=$(curl -s --max-time 15 -X POST "$(U 3)/v1/memory/sync/force?timeout_ms=8000")
contains "sync/force from the restarted node" "$r" '"in_sync":true'
contains "both peers answered" "$r" '"peers_answered":2'
wait_peers 10 && ok || bad "not every node sees 2 peers up: $(for n in 1 2 3; do status $n | jq -c '[.node_id, .peers]'; done)"
for n in 1 2 3; do expect "node $n not degraded" false "$(status $n | jq .degraded)"; done

kill -TERM "${PID[1]}" "${PID[2]}" "${PID[3]}"
for n in 1 2 3; do wait "${PID[$n]}"; expect "node $n stops cleanly" 0 "$?"; done
finish
