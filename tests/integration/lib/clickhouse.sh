# A private clickhouse-server for shell integration tests (source it after
# common.sh). It runs under `helix clickhouse-run`, which writes the config
# into the given dir, starts clickhouse-server as a plain process on
# 127.0.0.1, waits for /ping, and stops it on SIGTERM (the server also dies
# with the wrapper, so the EXIT trap's kill -9 leaves nothing behind).
#   ch_start DIR [PORT]   sets CH_URL, CH_PORT, CH_PID (also in pids[]); fails the test when it cannot start
#   ch_stop               stops it (bounded: the wrapper escalates to SIGKILL after 10 s)
#   ch_restart            starts it again on the same port and data
#   chq SQL [PARAMS]      runs one statement over HTTP and prints the answer
CH_DIR=""; CH_URL=""; CH_PORT=0; CH_PID=""
ch_start() {
  CH_DIR=$1; local port=${2:-0}; mkdir -p "$CH_DIR"
  if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ] && [ -z "${HX_CLICKHOUSE_SERVER:-}" ]; then
    bad "clickhouse-server is not installed: run 'bash scripts/deps.sh' (or apt-get install clickhouse-server clickhouse-client)"
    return 1
  fi
  "$HELIX_BIN" clickhouse-run --dir "$CH_DIR" --port "$port" >"$CH_DIR/url" 2>"$CH_DIR/run.log" &
  CH_PID=$!; pids+=("$CH_PID")
  for _ in $(seq 1 600); do
    CH_URL=$(head -1 "$CH_DIR/url" 2>/dev/null)
    [ -n "$CH_URL" ] && { CH_PORT=${CH_URL##*:}; return 0; }
    kill -0 "$CH_PID" 2>/dev/null || break
    sleep 0.05
  done
  bad "clickhouse-server did not start: $(tail -5 "$CH_DIR/run.log")"; return 1
}
ch_stop() {
  [ -n "$CH_PID" ] || return 0
  kill -TERM "$CH_PID" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$CH_PID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$CH_PID" 2>/dev/null; wait "$CH_PID" 2>/dev/null; CH_PID=""
}
ch_restart() { ch_stop; ch_start "$CH_DIR" "$CH_PORT"; }
chq() { curl -s --max-time "${HX_CURL_SECONDS:-10}" "$CH_URL/?${2:-}" --data-binary "$1"; }
