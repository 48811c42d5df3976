#!/usr/bin/env bash
# Conversation ingest over HTTP survives kill -9: 4 clients post messages to
# 8 conversations concurrently (ingests of different conversations run side
# by side, the index is fed from the delivered envelopes); the server is
# killed with SIGKILL mid-stream; after a restart every acknowledged (201)
# message is there exactly once, and each conversation's seqs are 1..n.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir conv-kill9); HX_CLEAN_DIRS+=("$base")
T=kill9-token
A=(-H "Authorization: Bearer $T" -H 'Content-Type: application/json')
start "$base/data" "$base/s1.log" HELIX_SERVER_TOKEN=$T || finish
U=http://127.0.0.1:$PORT
client() { # N: posts until the server is gone; acked ids to acked.N
  local n=$1 i=0
  while [ $i -lt 2000 ]; do
    local c=c$(( (i + n) % 8 )) id=m$n-$i
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${A[@]}" -X POST "$U/v1/conversations/$c/messages" \
      -d "{\"message_id\":\"$id\",\"role\":\"user\",\"content\":\"client $n message $i\"}") || break
    [ "$got" = 201 ] && echo "$c $id" >>"$base/acked.$n"
    [ "$got" = 000 ] && break
    i=$((i + 1))
  done
}
for n in 1 2 3 4; do client $n & done
sleep 2
kill -9 "$PID"
wait 2>/dev/null
cat "$base"/acked.* >"$base/acked" 2>/dev/null
acked=$(wc -l <"$base/acked")
[ "$acked" -gt 20 ] && ok || bad "too few acknowledged writes before the kill: $acked"
start "$base/data" "$base/s2.log" HELIX_SERVER_TOKEN=$T || finish
U=http://127.0.0.1:$PORT
lost=0; dup=0; gaps=0
for c in c0 c1 c2 c3 c4 c5 c6 c7; do
  body "${A[@]}" "$U/v1/conversations/$c/messages?limit=10000" >"$base/$c.json"
  jq -r '.messages[].message_id' "$base/$c.json" 2>/dev/null | sort >"$base/$c.have"
  dup=$((dup + $(uniq -d "$base/$c.have" | wc -l)))
  grep "^$c " "$base/acked" | cut -d' ' -f2 | sort >"$base/$c.want"
  lost=$((lost + $(comm -23 "$base/$c.want" "$base/$c.have" | wc -l)))
  # seqs dense from 1: the n-th message (all adds here) has seq n
  gaps=$((gaps + $(jq '[.messages[].seq] as $s | [range(0; $s | length)] | map(. + 1) != $s' "$base/$c.json" 2>/dev/null | grep -c true)))
done
expect "acknowledged messages lost after kill -9 (of $acked)" 0 "$lost"
expect "duplicated messages" 0 "$dup"
expect "conversations with seq gaps" 0 "$gaps"
finish
