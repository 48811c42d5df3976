#!/usr/bin/env bash
# `helix config check`: exit 0 on a good file, exit 2 naming key and line on bad ones.
set -u
tmp=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/cfgcli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

"$HELIX_BIN" config check "$HX_SOURCE_DIR/configs/helix.yaml" >/dev/null && ok || bad "shipped config rejected"

expect_error() { # file-content expected-substring
  printf '%s' "$1" > "$tmp/c.yaml"
  out=$("$HELIX_BIN" config check "$tmp/c.yaml" 2>&1); rc=$?
  [ $rc -eq 2 ] && ok || bad "exit $rc (want 2) for: $1"
  case "$out" in *"$2"*) ok ;; *) bad "message '$out' lacks '$2'" ;; esac
}
expect_error $'server:\n  port: 7061\n  bogus: 1\n' "c.yaml:3: unknown key 'server.bogus'"
expect_error $'server:\n  port: seven\n' "c.yaml:2: key 'server.port': expected an integer"
expect_error $'server:\n  port: 70000\n' "must be between 0 and 65535"
expect_error $'event_log:\n  fsync: weekly\n' "must be one of always|interval|never"

out=$("$HELIX_BIN" config check "$tmp/missing.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && ok || bad "missing file exit $rc"
case "$out" in *"cannot open config file"*) ok ;; *) bad "missing file message: $out" ;; esac

out=$(HELIX_SERVER_PORT=8123 "$HELIX_BIN" config show 2>&1)
case "$out" in *"port: 8123"*) ok ;; *) bad "env override not shown: $out" ;; esac
HELIX_SERVER_PORT=x "$HELIX_BIN" config show >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "bad env value accepted"

"$HELIX_BIN" config template | cmp -s - "$HX_SOURCE_DIR/configs/helix.yaml" && ok || bad "configs/helix.yaml differs from 'helix config template'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
