#!/usr/bin/env bash
# Every Cypher statement the Neo4j graph backend can send, in every variant
# (hx-cypher-statements), checked by Neo4j's own parser and semantic analysis
# from npm (@neo4j-cypher/language-support, pinned, installed into the build
# tree): syntax and semantic errors, unknown procedures, unbound parameters
# and deprecations fail. About a minute of CPU: the analysis costs ~0.6 s a
# statement, so the bound is generous for a loaded machine.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/npm.sh"
src=${HX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
dump="$(dirname "$HELIX_BIN")/hx-cypher-statements"
base=$(hx_tmpdir cypher-lint); HX_CLEAN_DIRS+=("$base")

hx_npm_peers @neo4j-cypher/language-support@2.0.0-next.38 || finish
script=$(hx_npm_script "$src/tests/bolt_server/cypher_lint.mjs")
"$dump" >"$base/statements.jsonl" 2>"$base/dump.err"
expect "hx-cypher-statements exit code" 0 "$?"
n=$(wc -l <"$base/statements.jsonl")
echo "linting $n statements" >&2
# The package declares Node >= 24 but runs on the machine's Node 20; its
# engine warning is not an error.
out=$(timeout 280 node "$script" <"$base/statements.jsonl" 2>&1); rc=$?
echo "$out" | tail -40 | sed 's/^/  lint: /' >&2
expect "linter exit code" 0 "$rc"
contains "every statement passed the linter" "$out" " 0 failed"
finish
