#!/usr/bin/env bash
# Proves the Bolt test server speaks real Bolt: the official neo4j-driver
# (npm, pinned, installed into the build tree) connects to hx-bolt-stub,
# authenticates, runs with parameters of every type, decodes records of every
# structure, commits a transaction and surfaces a FAILURE. The stub checks
# every message the driver sent against tests/bolt_server/driver_check.script.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/bolt_stub.sh"
. "$(dirname "$0")/lib/npm.sh"
src=${HX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
base=$(hx_tmpdir bolt-driver); HX_CLEAN_DIRS+=("$base")

hx_npm_peers neo4j-driver@5.28.3 || finish
script=$(hx_npm_script "$src/tests/bolt_server/driver_check.mjs")

hx_bolt_stub "$base" "$src/tests/bolt_server/driver_check.script" || finish
uri=$STUB_URI; stub_pid=$STUB_PID

out=$(timeout 60 node "$script" "$uri" 2>&1); rc=$?
echo "$out" | sed 's/^/  driver: /' >&2
expect "driver checks exit code" 0 "$rc"
contains "driver checks all passed" "$out" " 0 failed"
wait "$stub_pid"; src_rc=$?
expect "every scripted message matched (stub exit code)" 0 "$src_rc"
[ "$src_rc" -eq 0 ] || echo "stub: $(cat "$base/stub.err")" >&2
finish
