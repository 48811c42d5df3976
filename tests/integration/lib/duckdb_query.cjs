// Runs SQL statements in DuckDB (from @duckdb/node-api, installed into the
// build tree by lib/duckdb.sh) and prints each result as one JSON line:
// an array of row objects, values converted to JSON-safe forms by DuckDB.
// Usage: node duckdb_query.cjs NODE_MODULES_DIR 'SQL' ['SQL'...]
const path = require('path');
const { DuckDBInstance } = require(path.resolve(process.argv[2], '@duckdb/node-api'));
(async () => {
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await inst.connect();
  for (const sql of process.argv.slice(3)) {
    const r = await c.runAndReadAll(sql);
    process.stdout.write(JSON.stringify(r.getRowObjectsJson()) + '\n');
  }
})().catch((e) => { console.error('duckdb: ' + e.message); process.exit(1); });
