// Feeds every statement the Neo4j backend can send (JSON lines on stdin, from
// hx-cypher-statements) to Neo4j's own Cypher parser and semantic analysis
// (@neo4j-cypher/language-support, the engine of Neo4j's editors), with the
// real procedure and function signatures it ships. A syntax error, a
// semantic error, an unknown procedure or function, a parameter the backend
// does not bind, a deprecation or any other warning (a cartesian product...)
// fails the statement. Also checks the linter
// itself catches what the original backend got wrong (a parameter in *1..n).
import { lintCypherQuery, testData } from '@neo4j-cypher/language-support';
import { readFileSync } from 'node:fs';

// Sample values give the analysis the types the backend binds.
const samples = {
  batch: [{ tenant: 't', id: 'a' }], tenant: 't', id: 'a', from: 'a', to: 'b', into: 'b', ts: 1,
  query: 'ada OR lovelace', types: ['person'], limit: 10, min_strength: 0.0, type: 'person',
};
let passed = 0, failed = 0;
function lint(cypher, params) {
  const parameters = {};
  for (const p of params) parameters[p] = samples[p];
  const schema = { ...testData.mockSchema, parameters, labels: ['Entity', 'Conversation', 'User', 'HelixRedirect', 'HelixCursor'] };
  // Every error and warning counts, but "X is not present in the database":
  // the schema here is empty, the backend creates its labels and keys.
  return lintCypherQuery(cypher, schema).diagnostics.filter(d =>
    d.severity === 1 || (d.severity === 2 && !/is not present in the database/.test(d.message)));
}
const lines = readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const line of lines) {
  const st = JSON.parse(line);
  const params = st.params ? st.params.split(',') : [];
  const bad = lint(st.cypher, params);
  if (bad.length === 0) { passed++; continue; }
  failed++;
  console.error(`FAIL ${st.name}:\n${st.cypher}\n  ` + bad.map(d => d.message).join('\n  '));
}
// The linter must be able to fail: these are wrong on purpose.
const mustFail = [
  ['MATCH (s:Entity {id: $id})-[*1..$depth]-(x) RETURN x', ['id', 'depth']],
  ['MATCH (n:Entity {id: $id}) RETURN m', ['id']],
  ['MATCH (n:Entity {id: $id}) RETURN n', []],
  ['CALL db.index.fulltext.queryNodez("entity_fulltext", "x") YIELD node RETURN node', []],
  ['MATCH (n:Entity RETURN n', []],
  ['MATCH (n:Entity) RETURN id(n)', []],
  ['MATCH (a:Entity), (b:Entity) RETURN a, b', []],
];
for (const [q, p] of mustFail) {
  if (lint(q, p).length > 0) passed++;
  else { failed++; console.error('FAIL: the linter accepted a bad statement: ' + q); }
}
if (lines.length < 50) { failed++; console.error(`FAIL: only ${lines.length} statements`); }
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
