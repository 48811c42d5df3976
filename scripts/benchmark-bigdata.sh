#!/usr/bin/env bash
# The DESIGN.md performance table by engine role, a thin wrapper over
# `helix bench`:
#   scripts/benchmark-bigdata.sh kafka|clickhouse|neo4j|context|memory|all [helix bench options]
# kafka = the event log, clickhouse = the analytics store, neo4j = the graph
# store, whichever backend serves them. Options (--json FILE, --messages N,
# --backend ...) go to `helix bench` unchanged. A component that is not built
# yet says so and the script exits non-zero; `all` runs every built one first.
# HELIX_BIN picks the binary (default: ./build/helix, else helix on PATH).
set -u
cd "$(dirname "$0")/.."
helix=${HELIX_BIN:-}
if [ -z "$helix" ]; then
  if [ -x build/helix ]; then helix=build/helix; else helix=$(command -v helix || true); fi
fi
[ -n "$helix" ] || { echo "benchmark-bigdata: no helix binary: run 'make build' or set HELIX_BIN" >&2; exit 2; }

which=${1:-}
[ $# -gt 0 ] && shift
case "$which" in
  kafka|context|memory) exec "$helix" bench "$which" "$@" ;;
  clickhouse) exec "$helix" bench analytics "$@" ;;
  neo4j) exec "$helix" bench graph "$@" ;;
  all)
    "$helix" bench all "$@"; rc=$?
    # `helix bench --help` lists what is not built yet ("Not built yet: a, b.").
    pending=$("$helix" bench --help | sed -n 's/^Not built yet: \(.*\)\.$/\1/p')
    if [ -n "$pending" ]; then
      pending=$(echo "$pending" | sed 's/analytics/clickhouse (analytics)/; s/graph/neo4j (graph)/')
      echo "benchmark-bigdata: not built yet, so not measured: $pending" >&2
      [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc" ;;
  *) echo "usage: scripts/benchmark-bigdata.sh kafka|clickhouse|neo4j|context|memory|all [helix bench options]" >&2
     exit 2 ;;
esac
