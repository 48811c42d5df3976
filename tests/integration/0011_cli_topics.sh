#!/usr/bin/env bash
# kcat-style CLI on the embedded log: topic create/list/describe/delete,
# produce from stdin, consume directly and through a group that resumes.
set -u
d=$(mkdir -p "${HX_TEST_TMP:-/tmp}" && mktemp -d "${HX_TEST_TMP:-/tmp}/cli.XXXXXX")
trap 'rm -rf "$d"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
H() { timeout 30 "$HELIX_BIN" "$@" --data-dir "$d/data" 2>>"$d/err"; }
expect() { [ "$2" = "$3" ] && ok || bad "$1: want '$2', got '$3'"; }

H topic create demo --partitions 3 --compression zstd >/dev/null; expect "create" 0 $?
H topic create demo >/dev/null; expect "duplicate create fails" 1 $?
H topic create bad/name >/dev/null; expect "bad name is a usage error" 2 $?
H topic list | grep -qx demo; expect "list" 0 $?
seq 1 50 | sed 's/^/line /' | H produce demo -k user-1; expect "produce" 0 $?
printf '{"type":"order.created","data":{"n":7}}\n' | H produce demo; expect "produce envelope" 0 $?
printf '{"type":"conversation.message.added","data":{"role":"robot"}}\n' | H produce demo; expect "schema error exit" 2 $?
expect "direct consume sees all" 51 "$(H consume demo -e | wc -l)"
expect "key order kept" "line 1" "$(H consume demo -e | grep user-1 | head -1 | grep -o 'line [0-9]*')"
expect "offset N" 1 "$(H consume demo -p "$(H consume demo -e | grep user-1 | head -1 | grep -o '"partition":[0-9]*' | cut -d: -f2)" -o 49 -e | wc -l)"
expect "group first 20" 20 "$(H consume demo -g g1 -c 20 | wc -l)"
expect "group resumes" 31 "$(H consume demo -g g1 -e | wc -l)"
expect "group from end" 0 "$(H consume demo -g g2 -o end -e | wc -l)"
H topic describe demo | grep -q "compression zstd"; expect "describe" 0 $?
H consume demo -o nowhere >/dev/null; expect "bad -o" 2 $?
H topic delete demo >/dev/null; expect "delete" 0 $?
H topic describe demo >/dev/null; expect "describe deleted" 1 $?
grep -q "does not exist" "$d/err"; expect "helpful unknown-topic message" 0 $?

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
