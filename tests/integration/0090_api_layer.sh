#!/usr/bin/env bash
# The API layer: routes not built yet answer 501 not_implemented, bad ids in
# paths are a 400 before anything is written (and every handler answers
# JSON), role requirements reach the router, and the subsystem table shows on
# /v1/bigdata/health.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir api); HX_CLEAN_DIRS+=("$base")

start "$base/data" "$base/s.log" || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT

# Not built yet: 501 with the error envelope.
for r in "GET /v1/learning/insights" "GET /v1/learning/patterns"; do
  set -- $r
  expect "$r status" 501 "$(code -X "$1" "$U$2")"
  contains "$r envelope" "$(body -X "$1" "$U$2")" '"code":"not_implemented"'
done

# Invalid UTF-8 in a conversation id: 400, JSON, and nothing written.
r=$(body -w ' %{http_code}' -X POST "$U/v1/conversations/%ff%fe/messages" -d '{"role":"user","content":"x"}')
contains "bad id post status" "$r" ' 400'
contains "bad id post envelope" "$r" '"code":"invalid_argument"'
contains "bad id names the id" "$r" 'not valid UTF-8'
expect "bad id get" 400 "$(code "$U/v1/conversations/%ff%fe/messages")"
expect "bad id stats" 400 "$(code "$U/v1/context/stats/%ff%fe")"
expect "control char id" 400 "$(code "$U/v1/conversations/a%09b/messages")"
expect "bad memory id" 400 "$(code "$U/v1/memory/%c0%af")"
expect "bad replay id" 400 "$(code -X POST "$U/v1/context/replay" -d '{"conversation_id":"\u0001"}')"
recs=$(body "$U/v1/topics/helixagent.conversations")
contains "nothing written" "$recs" '"records":0'
long=$(printf 'a%.0s' $(seq 1 300))
expect "too long id" 400 "$(code "$U/v1/context/stats/$long")"

# The table's components, each with a status.
h=$(body "$U/v1/bigdata/health")
for c in event_log memory analytics graph; do contains "health $c" "$h" "\"$c\":{"; done
finish
