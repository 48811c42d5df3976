# npm peers of the tests (DESIGN.md: installed into the build tree with pinned
# versions, never committed). Source after common.sh:
#   . "$(dirname "$0")/lib/npm.sh"
#   hx_npm_peers neo4j-driver@5.28.3 || finish
# installs what is missing into $HX_NPM_DIR (default: npm-peers/ next to the
# helix binary) and, when that cannot be done, records a FAIL with the exact
# command to run, so a missing peer never passes silently. hx_npm_script
# FILE copies a test's .mjs into $HX_NPM_DIR so Node resolves the packages.
HX_NPM_DIR=${HX_NPM_DIR:-$(cd "$(dirname "$HELIX_BIN")" && pwd)/npm-peers}
hx_npm_peers() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    bad "Node.js 20 and npm are needed for this test (apt-get install nodejs npm), then: npm install --prefix '$HX_NPM_DIR' --no-audit --no-fund --save-exact $*"
    return 1
  fi
  mkdir -p "$HX_NPM_DIR"
  # CTest runs these tests in parallel: two npm installs into one prefix at
  # once prune each other's packages, so the check and the install hold a lock.
  local lock rc=0
  exec {lock}>"$HX_NPM_DIR/.lock"
  flock "$lock"
  _hx_npm_install "$@" || rc=1
  flock -u "$lock"
  exec {lock}>&-
  return $rc
}
_hx_npm_install() {
  local want=() spec name ver have
  for spec in "$@"; do
    name=${spec%@*}; ver=${spec##*@}
    have=$(node -p "require('$HX_NPM_DIR/node_modules/$name/package.json').version" 2>/dev/null || true)
    [ "$have" = "$ver" ] || want+=("$spec")
  done
  [ ${#want[@]} -eq 0 ] && return 0
  local cmd="npm install --prefix '$HX_NPM_DIR' --no-audit --no-fund --save-exact ${want[*]}"
  [ -f "$HX_NPM_DIR/package.json" ] || echo '{"name":"helix-test-peers","private":true}' > "$HX_NPM_DIR/package.json"
  echo "npm: installing ${want[*]} into $HX_NPM_DIR" >&2
  if ! timeout 600 npm install --prefix "$HX_NPM_DIR" --no-audit --no-fund --save-exact --loglevel=error "${want[@]}" >&2; then
    bad "could not install the npm peer(s) ${want[*]}; install them with: $cmd"; return 1
  fi
}
hx_npm_script() { cp "$1" "$HX_NPM_DIR/" && echo "$HX_NPM_DIR/$(basename "$1")"; }
