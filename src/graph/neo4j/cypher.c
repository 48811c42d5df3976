/* The Neo4j backend's Cypher: every statement it can send. */
#include "graph/neo4j/cypher.h"

#include <stdio.h>
#include <string.h>

/* Defaults of a node a relationship creates before its entity upsert (a
 * stub: empty type and name), and of a new entity. */
#define NEW_NODE(v)                                                                                            \
    "ON CREATE SET " v ".created_at = e.ts, " v ".updated_at = e.ts, " v ".label = 'Entity', " v ".type = '', " v \
    ".name = '', " v ".description = '', " v ".aliases = [], " v ".aliases_text = '', " v ".mentions = 0, " v      \
    ".conf_sum = 0.0, " v ".confidence = 0.0, " v ".importance = 0.0\n"

/* An id named by an op resolves through a merge redirect first. */
#define RESOLVE(field, alias) "OPTIONAL MATCH (" alias ":HelixRedirect {tenant: e.tenant, id: e." field "})\n"

const char *const hx_cy_schema[] = {
    "CREATE INDEX entity_id_idx IF NOT EXISTS FOR (n:Entity) ON (n.tenant, n.id)",
    "CREATE INDEX entity_type_idx IF NOT EXISTS FOR (n:Entity) ON (n.tenant, n.type)",
    "CREATE INDEX entity_name_idx IF NOT EXISTS FOR (n:Entity) ON (n.tenant, n.name)",
    "CREATE FULLTEXT INDEX entity_fulltext IF NOT EXISTS FOR (n:Entity) ON EACH [n.name, n.aliases_text, n.description]",
    "CREATE LOOKUP INDEX rel_type_lookup_idx IF NOT EXISTS FOR ()-[r]-() ON EACH type(r)",
    "CREATE INDEX helix_redirect_idx IF NOT EXISTS FOR (r:HelixRedirect) ON (r.tenant, r.id)",
    "CREATE INDEX helix_cursor_idx IF NOT EXISTS FOR (c:HelixCursor) ON (c.name)",
};
const size_t hx_cy_schema_n = sizeof hx_cy_schema / sizeof hx_cy_schema[0];

/* Rows: {tenant, id, label, type, name, description (each NULL = keep),
 * aliases, props (p./j. keys, null removes), mentions, confidence, ts}.
 * Mentions add; confidence is mention-weighted (conf_sum / mentions);
 * importance follows the formula whenever mentions arrive (after a merge it
 * is the sum until then). */
const char *const hx_cy_entity_upsert =
    "UNWIND $batch AS e\n"
    RESOLVE("id", "rd")
    "WITH e, coalesce(rd.into, e.id) AS nid\n"
    "MERGE (n:Entity {tenant: e.tenant, id: nid})\n"
    NEW_NODE("n")
    "WITH e, n, n.mentions + e.mentions AS m, n.conf_sum + e.confidence * e.mentions AS cs,\n"
    "  reduce(acc = n.aliases, a IN e.aliases | CASE WHEN a IN acc THEN acc ELSE acc + a END)[0..32] AS al\n"
    "SET n.updated_at = e.ts, n.label = coalesce(e.label, n.label), n.type = coalesce(e.type, n.type),\n"
    "  n.name = coalesce(e.name, n.name), n.description = coalesce(e.description, n.description),\n"
    "  n.aliases = al, n.aliases_text = reduce(s = '', a IN al | s + ' ' + a),\n"
    "  n.mentions = m, n.conf_sum = cs, n.confidence = CASE WHEN m > 0 THEN cs / m ELSE 0.0 END,\n"
    "  n.importance = CASE WHEN e.mentions > 0 THEN log(1 + m) * (cs / m) ELSE n.importance END\n"
    "SET n += e.props\n"
    "FOREACH (_ IN CASE WHEN n.label = 'Conversation' THEN [1] ELSE [] END | SET n:Conversation)\n"
    "FOREACH (_ IN CASE WHEN n.label = 'User' THEN [1] ELSE [] END | SET n:User)";

/* Detach delete, with the redirects that point at the node. */
const char *const hx_cy_entity_delete =
    "UNWIND $batch AS e\n"
    RESOLVE("id", "rd")
    "WITH e, coalesce(rd.into, e.id) AS nid\n"
    "OPTIONAL MATCH (n:Entity {tenant: e.tenant, id: nid})\n"
    "OPTIONAL MATCH (x:HelixRedirect {tenant: e.tenant, into: nid})\n"
    "DETACH DELETE n, x";

const char *const hx_cy_cursor_set = "UNWIND $batch AS c\n"
                                     "MERGE (x:HelixCursor {name: c.name})\n"
                                     "SET x.value = c.value";

const char *const hx_cy_merge_types = "MATCH (f:Entity {tenant: $tenant, id: $from})-[r]-()\n"
                                      "RETURN DISTINCT type(r) AS type";

/* Sums into `into`, keeps from's name and aliases as aliases, re-points the
 * redirects that led to from, leaves one from -> into, removes from (the
 * relationships between the two go with it). */
const char *const hx_cy_merge_finish =
    "MATCH (f:Entity {tenant: $tenant, id: $from})\n"
    "MATCH (i:Entity {tenant: $tenant, id: $into})\n"
    "WITH f, i, i.mentions + f.mentions AS m, i.conf_sum + f.conf_sum AS cs, i.importance + f.importance AS imp,\n"
    "  reduce(acc = i.aliases, a IN [f.name] + f.aliases |\n"
    "    CASE WHEN a = '' OR a = i.name OR a IN acc THEN acc ELSE acc + a END)[0..32] AS al\n"
    "SET i.mentions = m, i.conf_sum = cs, i.importance = imp, i.confidence = CASE WHEN m > 0 THEN cs / m ELSE 0.0 END,\n"
    "  i.aliases = al, i.aliases_text = reduce(s = '', a IN al | s + ' ' + a), i.updated_at = $ts\n"
    "WITH f\n"
    "OPTIONAL MATCH (x:HelixRedirect {tenant: $tenant, into: $from})\n"
    "SET x.into = $into\n"
    "WITH DISTINCT f\n"
    "MERGE (rd:HelixRedirect {tenant: $tenant, id: $from})\n"
    "SET rd.into = $into\n"
    "DETACH DELETE f";

const char *const hx_cy_resolve = "OPTIONAL MATCH (rd:HelixRedirect {tenant: $tenant, id: $id})\n"
                                  "WITH coalesce(rd.into, $id) AS nid\n"
                                  "MATCH (n:Entity {tenant: $tenant, id: nid})\n"
                                  "RETURN n.id AS id";

const char *const hx_cy_get = "OPTIONAL MATCH (rd:HelixRedirect {tenant: $tenant, id: $id})\n"
                              "WITH coalesce(rd.into, $id) AS nid\n"
                              "MATCH (n:Entity {tenant: $tenant, id: nid})\n"
                              "RETURN n, size([(n)--() | 1]) AS degree";

/* $query is a Lucene query the backend builds from the terms (each one
 * alphanumeric, joined by OR), so user text never reaches Lucene syntax. */
const char *const hx_cy_search =
    "CALL db.index.fulltext.queryNodes('entity_fulltext', $query) YIELD node, score\n"
    "WHERE node.tenant = $tenant AND (size($types) = 0 OR node.type IN $types)\n"
    "WITH node, score ORDER BY score DESC, node.id ASC\n"
    "WITH collect({n: node, score: score}) AS rows\n"
    "WITH size(rows) AS total, rows[0..$limit] AS page\n"
    "UNWIND page AS row\n"
    "WITH total, row, row.n AS m\n"
    "RETURN total, m AS n, row.score AS score, size([(m)--() | 1]) AS degree";

const char *const hx_cy_cursors = "MATCH (x:HelixCursor)\n"
                                  "RETURN x.name AS name, x.value AS value ORDER BY name";

const char *const hx_cy_health = "CALL dbms.components() YIELD name, versions, edition\n"
                                 "RETURN name, versions[0] AS version, edition";

const char *const hx_cy_count_nodes = "MATCH (n:Entity) RETURN count(n) AS n";
const char *const hx_cy_count_rels = "MATCH ()-[r]->() RETURN count(r) AS n";

int hx_cy_type_ok(const char *t)
{
    if (!t || !(*t >= 'A' && *t <= 'Z'))
        return 0;
    size_t n = 0;
    for (; *t; t++, n++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '_'))
            return 0;
    return n <= 64;
}

static int need_type(const char *t, hx_err_t *err)
{
    return hx_cy_type_ok(t) ? 0
                            : hx_err_set(err, HX_EINVAL, "relationship type '%s' must match [A-Z][A-Z0-9_]{0,63}",
                                         t ? t : "(null)");
}

#define RESOLVE_ENDS                                  \
    RESOLVE("from", "rf")                         \
    RESOLVE("to", "rt")                           \
    "WITH e, coalesce(rf.into, e.from) AS fid, coalesce(rt.into, e.to) AS tid\n"

int hx_cy_rel_upsert(hx_buf_t *out, const char *type, hx_err_t *err)
{
    int rc = need_type(type, err);
    if (rc)
        return rc;
    hx_buf_reset(out);
    /* Rows: {tenant, from, to, strength, strength_set, props, ts}. */
    return hx_buf_printf(out,
                         "UNWIND $batch AS e\n" RESOLVE_ENDS "MERGE (a:Entity {tenant: e.tenant, id: fid})\n" NEW_NODE(
                             "a") "MERGE (b:Entity {tenant: e.tenant, id: tid})\n" NEW_NODE("b")
                         "MERGE (a)-[r:`%s`]->(b)\n"
                         "ON CREATE SET r.created_at = e.ts, r.strength = 0.0\n"
                         "SET r.strength = CASE WHEN e.strength_set THEN e.strength ELSE r.strength + e.strength END,\n"
                         "  r.updated_at = e.ts\n"
                         "SET r += e.props",
                         type);
}

int hx_cy_rel_delete(hx_buf_t *out, const char *type, hx_err_t *err)
{
    int rc = need_type(type, err);
    if (rc)
        return rc;
    hx_buf_reset(out);
    return hx_buf_printf(out,
                         "UNWIND $batch AS e\n" RESOLVE_ENDS
                         "MATCH (a:Entity {tenant: e.tenant, id: fid})-[r:`%s`]->(b:Entity {tenant: e.tenant, id: tid})\n"
                         "DELETE r",
                         type);
}

/* A duplicate of an existing relationship of into sums its strength into
 * it; properties merge (from's win), created_at keeps the older. */
int hx_cy_merge_move(hx_buf_t *out, const char *type, int outgoing, hx_err_t *err)
{
    int rc = need_type(type, err);
    if (rc)
        return rc;
    hx_buf_reset(out);
    const char *l = outgoing ? "" : "<", *r = outgoing ? ">" : "";
    return hx_buf_printf(
        out,
        "MATCH (f:Entity {tenant: $tenant, id: $from})\n"
        "MATCH (i:Entity {tenant: $tenant, id: $into})\n"
        "MATCH (f)%s-[r:`%s`]-%s(x)\n"
        "WHERE x <> i AND x <> f\n"
        "WITH i, x, r, properties(r) AS p\n"
        "MERGE (i)%s-[m:`%s`]-%s(x)\n"
        "WITH r, m, p, coalesce(m.strength, 0.0) AS s0, m.created_at AS c0, m.updated_at AS u0\n"
        "SET m += p\n"
        "SET m.strength = s0 + coalesce(p.strength, 0.0),\n"
        "  m.created_at = CASE WHEN c0 IS NULL OR p.created_at < c0 THEN p.created_at ELSE c0 END,\n"
        "  m.updated_at = CASE WHEN u0 IS NULL OR p.updated_at > u0 THEN p.updated_at ELSE u0 END\n"
        "DELETE r",
        l, type, r, l, type, r);
}

int hx_cy_related(hx_buf_t *out, int depth, int dir, const char *rel_type, hx_err_t *err)
{
    if (depth < 1 || depth > 5)
        return hx_err_set(err, HX_EINVAL, "depth must be 1..5, got %d", depth);
    if (dir < 0 || dir > 2)
        return hx_err_set(err, HX_EINVAL, "direction must be both, out or in");
    if (rel_type) {
        int rc = need_type(rel_type, err);
        if (rc)
            return rc;
    }
    char type[80] = "";
    if (rel_type)
        snprintf(type, sizeof type, ":`%s`", rel_type);
    hx_buf_reset(out);
    /* Every node reached within depth, at its shortest distance; its via
     * candidates are the last relationships of its shortest paths (exactly
     * the traversable relationships from a node one hop nearer). Ranking
     * past the strongest via (smaller relationship id) is done by the caller. */
    return hx_buf_printf(
        out,
        "MATCH (s:Entity {tenant: $tenant, id: $id})\n"
        "MATCH p = (s)%s-[%s*1..%d]-%s(x:Entity)\n"
        "WHERE x <> s AND x.tenant = $tenant AND all(r IN relationships(p) WHERE r.strength >= $min_strength)\n"
        "WITH x, length(p) AS len, last(relationships(p)) AS r\n"
        "WITH x, min(len) AS depth, collect({len: len, r: r}) AS c\n"
        "WHERE $type IS NULL OR x.type = $type\n"
        "WITH x, depth, [e IN c WHERE e.len = depth | e.r] AS vias\n"
        "WITH x, depth, vias, reduce(b = -1.0, v IN vias | CASE WHEN v.strength > b THEN v.strength ELSE b END) AS best\n"
        "ORDER BY depth ASC, best DESC, x.importance DESC, x.id ASC\n"
        "WITH collect({n: x, depth: depth,\n"
        "  vias: [v IN vias WHERE v.strength = best | {from: startNode(v).id, to: endNode(v).id, rel: v}]}) AS rows\n"
        "WITH size(rows) AS total, rows[0..$limit] AS page\n"
        "UNWIND page AS row\n"
        "WITH total, row, row.n AS m\n"
        "RETURN total, m AS n, row.depth AS depth, row.vias AS vias, size([(m)--() | 1]) AS degree",
        dir == 2 ? "<" : "", type, depth, dir == 1 ? ">" : "");
}

int hx_cy_path(hx_buf_t *out, int max_depth, hx_err_t *err)
{
    if (max_depth < 1 || max_depth > 10)
        return hx_err_set(err, HX_EINVAL, "max_depth must be 1..10, got %d", max_depth);
    hx_buf_reset(out);
    return hx_buf_printf(out,
                         "MATCH (a:Entity {tenant: $tenant, id: $from})\n"
                         "MATCH (b:Entity {tenant: $tenant, id: $to})\n"
                         "MATCH p = shortestPath((a)-[*..%d]-(b))\n"
                         "RETURN p, [m IN nodes(p) | size([(m)--() | 1])] AS degrees",
                         max_depth);
}

int hx_cy_each(hx_cy_each_fn fn, void *ctx)
{
    char name[96];
    for (size_t i = 0; i < hx_cy_schema_n; i++) {
        snprintf(name, sizeof name, "schema[%zu]", i);
        fn(ctx, name, "", hx_cy_schema[i]);
    }
    static const struct {
        const char *name, *params;
        const char *const *text;
    } fixed[] = {
        {"entity_upsert", "batch", &hx_cy_entity_upsert},
        {"entity_delete", "batch", &hx_cy_entity_delete},
        {"cursor_set", "batch", &hx_cy_cursor_set},
        {"merge_types", "tenant,from", &hx_cy_merge_types},
        {"merge_finish", "tenant,from,into,ts", &hx_cy_merge_finish},
        {"resolve", "tenant,id", &hx_cy_resolve},
        {"get", "tenant,id", &hx_cy_get},
        {"search", "tenant,query,types,limit", &hx_cy_search},
        {"cursors", "", &hx_cy_cursors},
        {"health", "", &hx_cy_health},
        {"count_nodes", "", &hx_cy_count_nodes},
        {"count_rels", "", &hx_cy_count_rels},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        fn(ctx, fixed[i].name, fixed[i].params, *fixed[i].text);
    static const char *const types[] = {"CO_OCCURS", "MENTIONED_IN", "MENTIONS", "USES_2"};
    hx_buf_t b = HX_BUF_INIT;
    int rc = 0;
    for (size_t t = 0; t < sizeof types / sizeof types[0] && !rc; t++) {
        snprintf(name, sizeof name, "rel_upsert[%s]", types[t]);
        if (!(rc = hx_cy_rel_upsert(&b, types[t], NULL)))
            fn(ctx, name, "batch", hx_buf_cstr(&b));
        snprintf(name, sizeof name, "rel_delete[%s]", types[t]);
        if (!rc && !(rc = hx_cy_rel_delete(&b, types[t], NULL)))
            fn(ctx, name, "batch", hx_buf_cstr(&b));
        for (int o = 0; o < 2 && !rc; o++) {
            snprintf(name, sizeof name, "merge_move[%s,%s]", types[t], o ? "out" : "in");
            if (!(rc = hx_cy_merge_move(&b, types[t], o, NULL)))
                fn(ctx, name, "tenant,from,into", hx_buf_cstr(&b));
        }
    }
    static const char *const dirs[] = {"both", "out", "in"};
    for (int d = 1; d <= 5 && !rc; d++)
        for (int dir = 0; dir < 3 && !rc; dir++)
            for (int f = 0; f < 2 && !rc; f++) {
                snprintf(name, sizeof name, "related[depth=%d,%s,%s]", d, dirs[dir], f ? "CO_OCCURS" : "any");
                if (!(rc = hx_cy_related(&b, d, dir, f ? "CO_OCCURS" : NULL, NULL)))
                    fn(ctx, name, "tenant,id,min_strength,type,limit", hx_buf_cstr(&b));
            }
    for (int d = 1; d <= 10 && !rc; d++) {
        snprintf(name, sizeof name, "path[max_depth=%d]", d);
        if (!(rc = hx_cy_path(&b, d, NULL)))
            fn(ctx, name, "tenant,from,to", hx_buf_cstr(&b));
    }
    hx_buf_free(&b);
    return rc;
}
