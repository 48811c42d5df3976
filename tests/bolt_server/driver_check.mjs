// Drives hx-bolt-stub with the official neo4j-driver: connect, authenticate,
// auto-commit run with parameters of every type, records of every structure,
// a managed write transaction (BEGIN/RUN/PULL/COMMIT), a FAILURE that must
// surface with its code, and close. Prints "N passed, N failed".
import neo4j from 'neo4j-driver';

const uri = process.argv[2];
let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) passed++;
  else { failed++; console.error('FAIL: ' + what); }
}

const driver = neo4j.driver(uri, neo4j.auth.basic('neo4j', 'secret'), {
  userAgent: 'helix-driver-check', maxConnectionPoolSize: 1, connectionTimeout: 5000,
});
try {
  const info = await driver.getServerInfo();
  check(info.agent === 'Neo4j/5.26.0', 'server agent ' + info.agent);
  check(Number(info.protocolVersion) >= 5, 'negotiated Bolt 5.x, got ' + info.protocolVersion);

  const session = driver.session({ database: 'neo4j' });
  const params = {
    i: neo4j.int(-129), f: 1.5, s: 'Größe', t: true, z: null, l: [neo4j.int(1), 'a'],
    m: { k: 'v' }, big: 'xyz'.repeat(70000),
    d: new neo4j.types.Date(neo4j.int(2022), neo4j.int(1), neo4j.int(8)),
    pt: new neo4j.types.Point(neo4j.int(7203), 1.0, 2.0),
  };
  const res = await session.run('RETURN $p AS p', params);
  const rec = res.records[0];
  const n = rec.get('n');
  check(n.labels[0] === 'Entity' && n.properties.name === 'Ada', 'node ' + JSON.stringify(n));
  check(n.elementId === '4:db:1', 'node element id ' + n.elementId);
  const r = rec.get('r');
  check(r.type === 'KNOWS' && r.properties.strength === 0.5, 'relationship ' + JSON.stringify(r));
  check(r.startNodeElementId === '4:db:1' && r.endNodeElementId === '4:db:2', 'relationship ends');
  const p = rec.get('path');
  check(p.segments.length === 2 && p.end.properties.name === 'Cy', 'path of 2 segments ending at Cy');
  check(p.segments[1].relationship.startNodeElementId === '4:db:3', 'backward segment points from Cy');
  const when = rec.get('when');
  check(when[0].toString() === '2022-01-08', 'date ' + when[0]);
  check(when[1].toString() === '00:00:00.000000001+01:00', 'time ' + when[1]);
  check(when[2].toString() === '2022-01-08T10:00:00Z', 'datetime ' + when[2]);
  check(when[3].timeZoneId === 'Europe/Paris', 'datetime zone ' + when[3]);
  check(when[4].toString() === '2022-01-08T10:00:00.000000005', 'local datetime ' + when[4]);
  check(when[5].toString() === 'P1M2DT3.000000004S', 'duration ' + when[5]);
  check(when[6].srid.toNumber() === 4979 && when[6].z === 3.0, 'point3d ' + when[6]);
  check(rec.get('big').length === 200000, 'a 200000-byte string over chunks');
  check(rec.get('bytes') instanceof Int8Array && rec.get('bytes').length === 2, 'bytes');
  check(neo4j.isInt(rec.get('int')) && rec.get('int').toString() === '-9223372036854775808', 'int64 min');
  check(res.summary.counters !== undefined, 'summary');

  const ids = await session.executeWrite(async tx => {
    const w = await tx.run('UNWIND $batch AS e MERGE (n:Entity {id: e.id}) RETURN n.id AS id',
      { batch: [{ id: 'e1' }, { id: 'e2' }] });
    return w.records.map(x => x.get('id'));
  });
  check(ids.join(',') === 'e1,e2', 'transaction result ' + ids);

  try {
    await session.run('RETURN nope(');
    check(false, 'a FAILURE must reject');
  } catch (e) {
    check(e.code === 'Neo.ClientError.Statement.SyntaxError', 'failure code ' + e.code);
    check(String(e.message).includes("Invalid input '('"), 'failure message ' + e.message);
  }
  const again = await session.run('RETURN 1 AS x');
  check(again.records[0].get('x').toNumber() === 1, 'usable after the failure');
  await session.close();
} catch (e) {
  failed++;
  console.error('FAIL: ' + (e.stack || e));
} finally {
  await driver.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
