#!/usr/bin/env bash
# kill -9 during conversation ingest over HTTP: four writers post batches of
# messages to their own conversations; the server is killed mid-stream,
# restarted on the same data dir, and every acknowledged message must be
# there, once, in order (seq 1..N without gaps), with its content; replay
# works on the recovered conversations. Three rounds, writes continuing
# across restarts.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir ctxkill); HX_CLEAN_DIRS+=("$base")
D=$base/data
ROUNDS=${HX_KILL_ROUNDS:-3}

# writer W ROUND: posts batches of 5 messages to conversation kill-W until
# the server stops answering; appends "message_id" of each acked message.
writer() {
  local w=$1 r=$2 i=0 st m
  while :; do
    m="{\"messages\":["
    for k in 1 2 3 4 5; do m+="{\"message_id\":\"w$w-r$r-$i-$k\",\"role\":\"user\",\"content\":\"round $r batch $i part $k of writer $w\"},"; done
    m=${m%,}']}'
    st=$(curl -s -o "$base/resp.$w" -w '%{http_code}' --max-time 5 -X POST "$U/v1/conversations/kill-$w/messages" -d "$m") || break
    [ "$st" = 201 ] || break
    for k in 1 2 3 4 5; do echo "w$w-r$r-$i-$k"; done >> "$base/acked.$w"
    i=$((i+1))
  done
}

for w in 1 2 3 4; do : > "$base/acked.$w"; done
for r in $(seq 1 "$ROUNDS"); do
  start "$D" "$base/s$r.log" || { finish; }
  U=http://127.0.0.1:$PORT
  wp=()
  for w in 1 2 3 4; do writer "$w" "$r" & wp+=($!); done
  sleep 1.5
  kill -9 "$PID"
  for p in "${wp[@]}"; do wait "$p" 2>/dev/null; done
  wait "$PID" 2>/dev/null
done

start "$D" "$base/final.log" || { finish; }
U=http://127.0.0.1:$PORT
total=0
for w in 1 2 3 4; do
  n=$(wc -l < "$base/acked.$w"); total=$((total+n))
  got=$(body "$U/v1/conversations/kill-$w/messages?from_seq=1&limit=10000")
  ids=$(printf '%s' "$got" | jq -r '.messages[].message_id')
  seqs=$(printf '%s' "$got" | jq -r '.messages[].seq' | tr '\n' ' ')
  # Every acknowledged message survived, in acknowledgement order.
  missing=$(comm -23 <(sort "$base/acked.$w") <(printf '%s\n' "$ids" | sort) | head -3)
  expect "writer $w: acked messages all present" "" "$missing"
  expect "writer $w: in order" "$(cat "$base/acked.$w")" "$(printf '%s\n' "$ids" | grep -Fx -f "$base/acked.$w")"
  dups=$(printf '%s\n' "$ids" | sort | uniq -d | head -3)
  expect "writer $w: no duplicates" "" "$dups"
  cnt=$(printf '%s\n' "$ids" | grep -c .)
  expect "writer $w: dense seqs" "$(seq -s ' ' 1 "$cnt") " "$seqs"
  last=$(tail -1 "$base/acked.$w")
  [ -n "$last" ] && contains "writer $w: content kept" "$got" "\"message_id\":\"$last\""
  rp=$(body -X POST "$U/v1/context/replay" -d "{\"conversation_id\":\"kill-$w\",\"max_tokens\":200}")
  contains "writer $w: replay after recovery" "$rp" '"fits_budget":true'
done
[ "$total" -gt 100 ] && ok || bad "only $total messages acknowledged over $ROUNDS rounds"
echo "acknowledged messages: $total over $ROUNDS kill -9 rounds" >&2
finish
