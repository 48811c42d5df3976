#!/usr/bin/env bash
# What the README promises, run as written: the records example reads the
# partition its key went to; memory search for "oauth" finds "OAuth2"; a
# replay of a short conversation without max_tokens comes back whole;
# kafka_consumer_lag_records shows every group's partitions; CLI commands
# work while `helix serve` holds the data dir (over its HTTP API, saying so);
# a binary stdin line to `helix produce` is named as such; 600 query
# parameters get a 400, not a closed socket; `make install` (cmake --install)
# installs a working binary; scripts/benchmark-bigdata.sh runs the analytics
# bench for clickhouse; the README links nothing outside the repo.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir readme); HX_CLEAN_DIRS+=("$base")
SRC=${HX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D=$base/data
start "$D" "$base/s.log" || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT

# The event log example.
body -XPOST "$U/v1/topics" -d '{"name":"orders","partitions":3}' >/dev/null
r=$(body -XPOST "$U/v1/topics/orders/records" -d '{"records":[{"type":"order.created","key":"o1","data":{"total":42}}]}')
contains "o1 goes to partition 1 (as the README says)" "$r" '"partition":1'
contains "README reads that partition" "$(body "$U/v1/topics/orders/records?partition=1&offset=0&max=10")" '"total":42'
grep -q 'records?partition=1&offset=0' "$SRC/README.md"; expect "README example reads partition 1" 0 $?

# Memory search.
body -XPOST "$U/v1/memory" -H 'X-Helix-Tenant: acme' -d '{"user_id":"u1","content":"prefers OAuth2 with PKCE","tags":["auth"]}' >/dev/null
s=$(body -XPOST "$U/v1/memory/search" -H 'X-Helix-Tenant: acme' -d '{"query":"oauth","user_id":"u1"}')
contains "oauth finds OAuth2" "$s" 'prefers OAuth2 with PKCE'

# A short conversation replayed without max_tokens comes back whole.
body -X POST "$U/v1/conversations/c1/messages" -d '{"messages":[{"role":"user","content":"Alice picked PostgreSQL."},{"role":"assistant","content":"Noted: PostgreSQL for billing."}]}' >/dev/null
rp=$(body -X POST "$U/v1/context/replay" -d '{"conversation_id":"c1"}')
contains "short replay not compressed" "$rp" '"compressed":false'
contains "short replay keeps message 1" "$rp" 'Alice picked PostgreSQL.'
contains "short replay keeps message 2" "$rp" 'Noted: PostgreSQL for billing.'

# Consumer lag for every group and partition (the memory engine's group reads all 12 partitions).
n=0
for _ in $(seq 1 40); do
  n=$(body "$U/metrics" | grep -c '^kafka_consumer_lag_records{backend="embedded",group="helix-memory-[^"]*",topic="helixagent.memory.events"')
  [ "$n" -ge 12 ] && break; sleep 0.1
done
[ "$n" -ge 12 ] && ok || bad "kafka_consumer_lag_records for the memory group: $n of 12 partitions"

# CLI while the server holds the data dir.
out=$("$HELIX_BIN" topic list --data-dir "$D" 2>"$base/cli.err"); rc=$?
expect "topic list via the server" 0 "$rc"
contains "topic list shows orders" "$out" "orders"
contains "it says it uses the server" "$(cat "$base/cli.err")" "using the server's HTTP API"
out=$(HELIX_SERVER_PORT=$PORT "$HELIX_BIN" replay c1 --data-dir "$D" 2>/dev/null); rc=$?
expect "replay via the server" 0 "$rc"
contains "replay via the server whole" "$out" 'Alice picked PostgreSQL.'
echo '{"type":"order.created","key":"o2","data":{"total":7}}' | HELIX_SERVER_PORT=$PORT "$HELIX_BIN" produce orders --data-dir "$D" 2>/dev/null
expect "produce via the server" 0 $?
out=$(HELIX_SERVER_PORT=$PORT "$HELIX_BIN" consume orders --data-dir "$D" -e 2>/dev/null)
contains "consume via the server" "$out" '"total":7'
"$HELIX_BIN" consume orders -g g1 --data-dir "$D" -e >/dev/null 2>"$base/cli.err"; rc=$?
expect "consume -g via the server is refused" 2 "$rc"
contains "and says why" "$(cat "$base/cli.err")" "consumer groups are not on the HTTP API"
"$HELIX_BIN" topic list --server http://127.0.0.1:1 >/dev/null 2>"$base/cli.err"; rc=$?
expect "no server at --server" 1 "$rc"
contains "says no server answers" "$(cat "$base/cli.err")" "no helix server answers at http://127.0.0.1:1"

# helix produce with binary stdin.
printf 'ok\n\xff\xfe\x00bin\n' | "$HELIX_BIN" produce orders --server "$U" 2>"$base/cli.err"; rc=$?
expect "binary line exit" 2 "$rc"
contains "binary line named" "$(cat "$base/cli.err")" "stdin line 2: not valid UTF-8 at byte 1 (0xff)"
lacks "not out of memory" "$(cat "$base/cli.err")" "out of memory"

# Too many query parameters: a 400 with the envelope (libmicrohttpd's 32 KiB
# pool holds about 450 short ones; docs/http.md).
q=$(seq 1 400 | sed 's/^/a/; s/$/=1/' | paste -sd'&')
r=$(body -w ' %{http_code}' "$U/health?$q")
contains "400 parameters: 400" "$r" ' 400'
contains "400 parameters: envelope" "$r" '"code":"invalid_argument"'
expect "server still up" 200 "$(code "$U/health")"
# A clean stop after all of the above (under ASan: no request struct leaked).
kill -TERM "$PID"; wait "$PID"; expect "clean shutdown" 0 $?

# make install.
P=$base/prefix
cmake --install "$(dirname "$HELIX_BIN")" --prefix "$P" >/dev/null 2>&1; expect "install" 0 $?
"$P/bin/helix" version >/dev/null 2>&1; expect "installed helix runs" 0 $?
[ -f "$P/share/helix/helix.yaml" ] && ok || bad "installed config missing"
grep -q '^install:' "$SRC/Makefile" && grep -q 'PREFIX' "$SRC/Makefile"; expect "make install with PREFIX" 0 $?

# The benchmark wrapper.
# clickhouse runs `helix bench analytics` (docs/analytics.md), neo4j `helix bench graph` (docs/graph.md).
mkdir -p "$base/bench"
HELIX_BIN=$HELIX_BIN bash "$SRC/scripts/benchmark-bigdata.sh" clickhouse --messages 20000 --data-dir "$base/bench" \
  --json "$base/analytics.json" >/dev/null 2>"$base/bench.err"
expect "benchmark-bigdata.sh clickhouse" 0 $?
contains "the analytics bench verified its answers" "$(cat "$base/analytics.json")" '"verified": true'
HELIX_BIN=$HELIX_BIN bash "$SRC/scripts/benchmark-bigdata.sh" nonsense >/dev/null 2>&1; expect "bench usage" 2 $?

# The README links nothing outside the repo.
out=$(grep -nE '\]\((\.\./|/|https?://)|`\.\./' "$SRC/README.md" | grep -v 'localhost\|127.0.0.1')
expect "README links stay in the repo" "" "$out"
[ -f "$SRC/docs/architecture.md" ] && ok || bad "docs/architecture.md missing"
finish
