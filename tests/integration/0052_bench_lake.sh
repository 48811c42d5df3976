#!/usr/bin/env bash
# `helix bench lake` runs end to end (smaller: 100K metric rows), writes the
# JSON keys of its issue with verified=true, and its files are no larger than
# DuckDB's for the same rows, codec and day partitioning. Speed is the
# bench's business, not this test's.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/duckdb.sh"
base=$(hx_tmpdir benchlake); HX_CLEAN_DIRS+=("$base")
hx_duckdb_require || { echo "0 passed, 1 failed"; exit 1; }
duck() { node "$HX_SOURCE_DIR/tests/integration/lib/duckdb_query.cjs" "$DUCKDB_MODULES" "$@"; }

out=$("$HELIX_BIN" bench lake --messages 100000 --data-dir "$base/d" --json "$base/b.json" 2>&1)
expect "bench exit" 0 $?
contains "table" "$out" "Data lake (Parquet)"
for k in write_rows_per_sec write_mb_per_sec bytes_per_row read_rows_per_sec codec verified; do
  expect "key $k" true "$(jq "has(\"$k\")" "$base/b.json")"
done
expect "verified" true "$(jq '.verified' "$base/b.json")"
expect "codec" '"zstd"' "$(jq '.codec' "$base/b.json")"
expect "duckdb reads the bench lake" '[{"n":"100000"}]' \
  "$(duck "select count(*) n from read_parquet('$base/d/zstd/provider_metrics/**/*.parquet', hive_partitioning=true)")"
for c in zstd snappy; do
  duck "copy (select * exclude (year, month, day), year, month, day from read_parquet('$base/d/$c/provider_metrics/**/*.parquet', hive_partitioning=true)) to '$base/duck-$c' (format parquet, compression $c, partition_by (year, month, day))" >/dev/null
  ours=$(du -sb "$base/d/$c/provider_metrics" | cut -f1); theirs=$(du -sb "$base/duck-$c" | cut -f1)
  [ "$ours" -le "$theirs" ] && ok || bad "$c: our files $ours bytes > DuckDB's $theirs"
done
finish
