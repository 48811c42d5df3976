#!/usr/bin/env bash
# Makes DuckDB's Node.js API available to the tests and prints its
# node_modules directory. It is installed from npm into the build tree
# (next to $HELIX_BIN, never committed) at a pinned version; when it is
# missing and cannot be installed this exits 1 saying which command installs it.
# Sourced: hx_duckdb_require sets DUCKDB_MODULES. Run: prints the directory.
HX_DUCKDB_VERSION=1.5.6-r.1
hx_duckdb_dir() { echo "$(cd "$(dirname "${HELIX_BIN:?HELIX_BIN must name the built helix}")" && pwd)/npm"; }
hx_duckdb_require() {
  local dir; dir=$(hx_duckdb_dir)
  local mod=$dir/node_modules/@duckdb/node-api
  local cmd="npm install --prefix $dir @duckdb/node-api@$HX_DUCKDB_VERSION"
  if ! command -v node >/dev/null; then
    echo "FAIL: Node.js is needed to run DuckDB for this test; install Node.js 20, then: $cmd" >&2; return 1
  fi
  mkdir -p "$dir"
  # Two tests may ask at once: one installs, the other waits.
  ( flock 9
    if [ ! -f "$mod/package.json" ] || ! grep -q "\"version\": \"$HX_DUCKDB_VERSION\"" "$mod/package.json"; then
      timeout 300 npm install --silent --no-audit --no-fund --prefix "$dir" "@duckdb/node-api@$HX_DUCKDB_VERSION" >"$dir/install.log" 2>&1
    fi ) 9>"$dir/.lock"
  if ! node -e "require('$mod')" 2>/dev/null; then
    echo "FAIL: @duckdb/node-api is missing and could not be installed ($(tail -3 "$dir/install.log" 2>/dev/null | tr '\n' ' ')); install it with: $cmd" >&2
    return 1
  fi
  DUCKDB_MODULES=$dir/node_modules
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  hx_duckdb_require || exit 1
  echo "$DUCKDB_MODULES"
fi
