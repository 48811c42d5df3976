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
const lines = readFileSync(0, 'utf8').split('\n').filter(Boolean);
// The analysis converts the whole schema on every call (about 800 function
// and procedure signatures: seconds per statement on this machine). Keep the
// signatures of the names the statements mention: a name not in Neo4j's
// registry is still unknown, and is still an error.
const words = new Set();
for (const line of lines)
  for (const w of JSON.parse(line).cypher.toLowerCase().match(/[a-z_][a-z0-9_.]*/g) || []) words.add(w);
const mentioned = reg => Object.fromEntries(Object.entries(reg).map(([ver, byName]) =>
  [ver, Object.fromEntries(Object.entries(byName).filter(([n]) => words.has(n.toLowerCase())))]));
const registry = {
  functions: mentioned(testData.mockSchema.functions), procedures: mentioned(testData.mockSchema.procedures),
};
function lint(cypher, params, reg = registry) {
  const parameters = {};
  for (const p of params) parameters[p] = samples[p];
  const schema = { ...testData.mockSchema, ...reg, parameters, labels: ['Entity', 'Conversation', 'User', 'HelixRedirect', 'HelixCursor'] };
  // Every error and warning counts, but "X is not present in the database":
  // the schema here is empty, the backend creates its labels and keys.
  return lintCypherQuery(cypher, schema).diagnostics.filter(d =>
    d.severity === 1 || (d.severity === 2 && !/is not present in the database/.test(d.message)));
}
// One analysis per parameter set over all its statements joined by ';'
// (much cheaper than one call per statement); each diagnostic is charged to
// the statement its offset falls in.
const groups = new Map();
for (const line of lines) {
  const st = JSON.parse(line);
  if (!groups.has(st.params)) groups.set(st.params, []);
  groups.get(st.params).push(st);
}
for (const [params, sts] of groups) {
  let text = '';
  const starts = [];
  for (const st of sts) { starts.push(text.length); text += st.cypher + ';\n'; }
  const bad = new Map();
  for (const d of lint(text, params ? params.split(',') : [])) {
    let k = 0;
    while (k + 1 < starts.length && starts[k + 1] <= d.offsets.start) k++;
    if (!bad.has(k)) bad.set(k, []);
    bad.get(k).push(d.message);
  }
  sts.forEach((st, k) => {
    if (!bad.has(k)) { passed++; return; }
    failed++;
    console.error(`FAIL ${st.name}:\n${st.cypher}\n  ` + bad.get(k).join('\n  '));
  });
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
const full = { functions: testData.mockSchema.functions, procedures: testData.mockSchema.procedures };
for (const [q, p] of mustFail) {
  if (lint(q, p, full).length > 0) passed++;
  else { failed++; console.error('FAIL: the linter accepted a bad statement: ' + q); }
}
if (lines.length < 50) { failed++; console.error(`FAIL: only ${lines.length} statements`); }
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
