#!/usr/bin/env bash
# `helix clickhouse-run` and the shell helper every ClickHouse test uses: a
# private clickhouse-server on a free loopback port answers /ping, keeps its
# data across a stop/restart on the same port, and is gone after a stop.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/clickhouse.sh"
base=$(hx_tmpdir ch_run); HX_CLEAN_DIRS+=("$base")

ch_start "$base/ch" || finish
expect "ping" "Ok." "$(curl -s --max-time 5 "$CH_URL/ping")"
contains "url is loopback" "$CH_URL" "http://127.0.0.1:"
expect "version is a release" "1" "$(chq 'SELECT toUInt8(version() >= '\''18.16'\'')')"
chq 'CREATE TABLE t (x UInt32) ENGINE = MergeTree() ORDER BY x' >/dev/null
curl -s --max-time 5 "$CH_URL/?query=INSERT%20INTO%20t%20FORMAT%20TSV" --data-binary $'1\n2\n3\n' >/dev/null
expect "rows" "3" "$(chq 'SELECT count() FROM t')"
expect "config in the test dir" "1" "$(grep -c "<path>$base/ch/data/</path>" "$base/ch/config.xml")"
expect "listens only on loopback" "1" "$(grep -c '<listen_host>127.0.0.1</listen_host>' "$base/ch/config.xml")"

port=$CH_PORT
start_s=$(date +%s)
ch_stop
expect "stopped in time" "1" "$(( $(date +%s) - start_s <= 12 ))"
expect "down after stop" "000" "$(code "http://127.0.0.1:$port/ping")"

ch_restart || finish
expect "same port after restart" "$port" "$CH_PORT"
expect "data kept across restart" "3" "$(chq 'SELECT count() FROM t')"

# The wrapper killed hard takes the server with it (PR_SET_PDEATHSIG).
srv=$(pgrep -P "$CH_PID" | head -1)
kill -9 "$CH_PID"; wait "$CH_PID" 2>/dev/null; CH_PID=""
for _ in $(seq 1 100); do kill -0 "$srv" 2>/dev/null || break; sleep 0.05; done
expect "server gone with its wrapper" "1" "$(kill -0 "$srv" 2>/dev/null && echo 0 || echo 1)"

# Bad usage is a usage error.
"$HELIX_BIN" clickhouse-run >/dev/null 2>&1; expect "no --dir" "2" "$?"
finish
