# Starts our Bolt test server (hx-bolt-stub) on loopback for a shell test.
# Source after common.sh; then: hx_bolt_stub DIR SCRIPT...  sets STUB_URI and
# STUB_PID (also in pids[]), or records a FAIL and returns 1. The stub exits
# 0 when every script was played to its end: `wait "$STUB_PID"` checks it.
hx_bolt_stub() {
  local dir=$1; shift
  "$(dirname "$HELIX_BIN")/hx-bolt-stub" --timeout 60 "$@" >"$dir/stub.out" 2>"$dir/stub.err" &
  STUB_PID=$!; pids+=("$STUB_PID"); STUB_URI=""
  for _ in $(seq 1 100); do
    STUB_URI=$(grep -o 'bolt://127.0.0.1:[0-9]*' "$dir/stub.out" | head -1)
    [ -n "$STUB_URI" ] && return 0
    kill -0 "$STUB_PID" 2>/dev/null || break
    sleep 0.05
  done
  bad "hx-bolt-stub did not start: $(cat "$dir/stub.err")"; return 1
}
