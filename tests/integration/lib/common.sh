# Shared by the shell integration tests (source it right after `set -u`):
#   . "$(dirname "$0")/lib/common.sh"
#   base=$(hx_tmpdir NAME)        # removed, with every pid in pids[], on exit
# Then ok/bad/expect/contains/lacks count checks, start launches `helix serve`
# on a free loopback port, code/body are curl with a deadline, and finish
# prints "N passed, N failed" and exits non-zero on any failure.
pass=0; fail=0
pids=()
HX_CLEAN_DIRS=()
hx_tmpdir() { # NAME: a fresh dir under $HX_TEST_TMP
  local d
  d=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/$1.XXXXXX") || exit 1
  echo "$d"
}
hx_cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for d in "${HX_CLEAN_DIRS[@]}"; do rm -rf "$d"; done
}
trap hx_cleanup EXIT
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
expect() { [ "$2" = "$3" ] && ok || bad "$1: want '$2', got '$3'"; }      # name want got
contains() { case "$2" in *"$3"*) ok ;; *) bad "$1: '$2' lacks '$3'" ;; esac; } # name haystack needle
lacks() { case "$2" in *"$3"*) bad "$1: '$2' has '$3'" ;; *) ok ;; esac; }
# start DATA_DIR LOG [VAR=value...]: runs `helix serve --port 0` with the
# given environment; sets PORT and PID (also appended to pids). Waits up to
# HX_START_SECONDS (default 5) for the "listening on" line.
start() {
  local dir=$1 log=$2; shift 2
  env HELIX_NODE_LOG_LEVEL=info "$@" "$HELIX_BIN" serve --data-dir "$dir" --port 0 2>"$log" &
  PID=$!; pids+=("$PID"); PORT=""
  local tries=$(( ${HX_START_SECONDS:-5} * 20 ))
  for _ in $(seq 1 "$tries"); do
    PORT=$(grep -so 'listening on http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's/.*://')
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  bad "server did not start: $(tail -20 "$log")"; return 1
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time "${HX_CURL_SECONDS:-10}" "$@"; }
body() { curl -s --max-time "${HX_CURL_SECONDS:-10}" "$@"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
