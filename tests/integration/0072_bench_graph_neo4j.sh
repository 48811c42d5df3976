#!/usr/bin/env bash
# `helix bench graph --backend neo4j --uri ...`: the options are checked, and
# the bench reaches the server at --uri with the HELIX_NEO4J_* credentials
# (here our Bolt test server, refusing them: the bench must stop with
# Neo4j's reason, not measure anything). Measuring a real Neo4j is in
# docs/graph.md; no Neo4j can run on the build machines.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/bolt_stub.sh"
src=${HX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
base=$(hx_tmpdir bench-neo4j); HX_CLEAN_DIRS+=("$base")

out=$("$HELIX_BIN" bench graph --backend neo4j 2>&1); rc=$?
expect "no --uri: usage error" 2 "$rc"
contains "no --uri: says what is missing" "$out" "needs --uri"
out=$("$HELIX_BIN" bench kafka --backend neo4j --uri bolt://127.0.0.1:7687 2>&1); rc=$?
expect "neo4j for the kafka bench: usage error" 2 "$rc"

cat >"$base/refuse.script" <<'S'
C: HELLO {"user_agent": "*", "bolt_agent": "*"}
S: SUCCESS {"server": "Neo4j/5.26.0"}
C: LOGON {"scheme": "basic", "principal": "bench", "credentials": "wrong"}
S: FAILURE {"code": "Neo.ClientError.Security.Unauthorized", "message": "The client is unauthorized due to authentication failure."}
S: <EXIT>
S
hx_bolt_stub "$base" "$base/refuse.script" || finish
uri=$STUB_URI; stub_pid=$STUB_PID
out=$(HELIX_NEO4J_USER=bench HELIX_NEO4J_PASSWORD=wrong timeout 60 "$HELIX_BIN" bench graph --backend neo4j \
      --uri "$uri" --messages 1000 --data-dir "$base/data" 2>&1); rc=$?
expect "refused credentials: runtime failure" 1 "$rc"
contains "the reason is Neo4j's" "$out" "Neo.ClientError.Security.Unauthorized"
contains "the knobs to fix are named" "$out" "neo4j.password"
wait "$stub_pid"; expect "the server saw HELLO and LOGON with the env credentials" 0 "$?"
finish
