/* The graph store conformance suite: one set of behaviour tests through the
 * public hx_graph.h API (hx_graph_apply + the queries, no broker), run
 * against every backend: tests/unit/test_graph.c on the embedded store; the
 * neo4j backend runs it against its Bolt test server where it can.
 *
 * The including file defines, before including this header:
 *   static hx_graph_t *open_graph(void);            a fresh, empty store
 *   static hx_graph_t *reopen_graph(hx_graph_t *g); closes g, opens the same
 *                                                   store again (NULL: the
 *                                                   backend cannot; the
 *                                                   durability test is skipped
 *                                                   with a note)
 * Scores are compared by order, never by value: the backends' BM25 differ. */
#ifndef HX_GRAPH_CONFORMANCE_H
#define HX_GRAPH_CONFORMANCE_H

#include "helix/hx_graph.h"
#include "hx_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hx_graph_t *open_graph(void);
static hx_graph_t *reopen_graph(hx_graph_t *g);

/* ---- op builders -------------------------------------------------------- */

static hx_graph_op_t gc_ent(const char *tenant, const char *id, const char *type, const char *name, int64_t mentions,
                            double confidence)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = tenant, .ts_ms = 1000, .id = id, .type = type,
                       .name = name, .mentions = mentions, .confidence = confidence};
    return o;
}

static hx_graph_op_t gc_rel(const char *tenant, const char *from, const char *type, const char *to, double strength)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = tenant, .ts_ms = 1000, .from = from, .to = to,
                       .rel_type = type, .strength = strength};
    return o;
}

static hx_graph_op_t gc_del(const char *tenant, const char *id)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = tenant, .ts_ms = 2000, .id = id};
    return o;
}

static hx_graph_op_t gc_merge(const char *tenant, const char *id, const char *into)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = tenant, .ts_ms = 3000, .id = id, .into = into};
    return o;
}

static int gc_apply(hx_graph_t *g, const hx_graph_op_t *ops, size_t n)
{
    hx_graph_batch_t b = {.ops = ops, .n_ops = n};
    hx_err_t e = {0};
    int rc = hx_graph_apply(g, &b, &e);
    if (rc)
        fprintf(stderr, "apply: %s\n", e.msg);
    return rc;
}

/* The entity id (or NULL when absent), with the result kept for fields. */
static int gc_get(hx_graph_t *g, const char *tenant, const char *id, hx_graph_result_t *r)
{
    memset(r, 0, sizeof *r);
    hx_err_t e = {0};
    return hx_graph_get(g, tenant, id, r, &e);
}

static int gc_has_alias(const hx_graph_entity_t *e, const char *a)
{
    for (size_t i = 0; i < e->n_aliases; i++)
        if (!strcmp(e->aliases[i], a))
            return 1;
    return 0;
}

static int gc_near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (1 + fabs(a) + fabs(b));
}

/* ---- entities ----------------------------------------------------------- */

static void test_graph_ids(void)
{
    char a[17], b[17], c[17], d[17];
    hx_graph_entity_id("default", "person", "Alice Chen", a);
    hx_graph_entity_id("default", "person", "  alice   CHEN ", b);
    hx_graph_entity_id("other", "person", "Alice Chen", c);
    hx_graph_entity_id("default", "organization", "Alice Chen", d);
    CHECK_INT(strlen(a), 16);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strcmp(a, d) != 0);
    char n[64];
    hx_graph_normalize_name("  Hello \t  World ", n, sizeof n);
    CHECK_STR(n, "hello world");
}

static void test_graph_upsert_get(void)
{
    hx_graph_t *g = open_graph();
    const char *al[] = {"Ali", "A. Chen"};
    json_t *props = json_pack("{s:s,s:i,s:[s,s]}", "team", "infra", "level", 3, "langs", "c", "go");
    hx_graph_op_t ops[3] = {gc_ent("t1", "alice", "person", "Alice Chen", 2, 0.8),
                            gc_ent("t1", "alice", NULL, NULL, 2, 0.4), gc_ent("t1", "bob", "person", "Bob Li", 1, 1)};
    ops[0].aliases = al;
    ops[0].n_aliases = 1;
    ops[0].properties = props;
    ops[0].description = "Infra lead";
    ops[1].aliases = al + 1;
    ops[1].n_aliases = 1;
    ops[1].ts_ms = 5000;
    CHECK_INT(gc_apply(g, ops, 3), 0);
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "alice", &r), 0);
    CHECK_INT(r.n_nodes, 1);
    if (r.n_nodes == 1) {
        const hx_graph_entity_t *e = &r.nodes[0];
        CHECK_STR(e->id, "alice");
        CHECK_STR(e->label, HX_GRAPH_LABEL_ENTITY);
        CHECK_STR(e->type, "person");
        CHECK_STR(e->name, "Alice Chen");
        CHECK_STR(e->description, "Infra lead");
        CHECK_INT(e->mentions, 4);
        CHECK(gc_near(e->confidence, 0.6));          /* (0.8*2 + 0.4*2) / 4 */
        CHECK(gc_near(e->importance, log(5.0) * 0.6)); /* ln(1 + 4) * 0.6 */
        CHECK(gc_has_alias(e, "Ali") && gc_has_alias(e, "A. Chen"));
        CHECK_INT(e->n_aliases, 2);
        CHECK_INT(e->created_at, 1000);
        CHECK_INT(e->updated_at, 5000);
        CHECK_INT(e->degree, 0);
        json_t *p = json_loads(e->properties, 0, NULL);
        CHECK(p && json_equal(p, props));
        json_decref(p);
    }
    hx_graph_result_free(&r);
    /* properties merge key by key; null removes */
    json_t *patch = json_pack("{s:n,s:i}", "team", "level", 4);
    hx_graph_op_t up = gc_ent("t1", "alice", NULL, NULL, 0, 0);
    up.properties = patch;
    CHECK_INT(gc_apply(g, &up, 1), 0);
    CHECK_INT(gc_get(g, "t1", "alice", &r), 0);
    if (r.n_nodes == 1) {
        json_t *p = json_loads(r.nodes[0].properties, 0, NULL);
        CHECK(p && !json_object_get(p, "team"));
        CHECK_INT(json_integer_value(json_object_get(p, "level")), 4);
        CHECK(json_array_size(json_object_get(p, "langs")) == 2);
        json_decref(p);
        CHECK_INT(r.nodes[0].mentions, 4); /* 0 mentions added */
    }
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "nobody", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    json_decref(props);
    json_decref(patch);
    hx_graph_close(g);
}

/* Invalid ops fail the whole batch and apply nothing. */
static void test_graph_validation(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t bad[][2] = {
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent("t1", "bad id/", "person", "X", 1, 1)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent("t1", "x", "Person!", "X", 1, 1)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent("t1", "x", "person", "X", -1, 1)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent("t1", "x", "person", "X", 1, 1.5)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_rel("t1", "ok", "lower_case", "x", 1)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_rel("t1", "ok", "KNOWS", "x", -1)},
        {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent(NULL, "x", "person", "X", 1, 1)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_graph_batch_t b = {.ops = bad[i], .n_ops = 2};
        hx_err_t e = {0};
        CHECK_INT(hx_graph_apply(g, &b, &e), HX_EINVAL);
        CHECK(e.msg[0] != 0);
    }
    json_t *nested = json_pack("{s:{s:i}}", "map", "a", 1); /* Neo4j cannot store maps */
    hx_graph_op_t o[2] = {gc_ent("t1", "ok", "person", "Ok", 1, 1), gc_ent("t1", "x", "person", "X", 1, 1)};
    o[1].properties = nested;
    hx_graph_batch_t b = {.ops = o, .n_ops = 2};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_apply(g, &b, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "map");
    json_decref(nested);
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "ok", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- relationships ------------------------------------------------------ */

static void test_graph_relationships(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t ops[] = {
        gc_ent("t1", "a", "person", "Ann", 1, 1), gc_ent("t1", "b", "person", "Ben", 1, 1),
        gc_rel("t1", "a", "KNOWS", "b", 1.5),     gc_rel("t1", "a", "KNOWS", "b", 1.0), /* accumulates */
        gc_rel("t1", "a", "WORKS_WITH", "b", 2),  gc_rel("t1", "a", "USES", "stubby", 1), /* stub endpoint */
    };
    CHECK_INT(gc_apply(g, ops, sizeof ops / sizeof ops[0]), 0);
    hx_graph_related_q_t q = {.tenant = "t1", .id = "a", .depth = 1, .limit = 10, .rel_type = "KNOWS"};
    hx_graph_result_t r = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    if (r.n_hits == 1) {
        CHECK_STR(r.hits[0].entity.id, "b");
        CHECK_STR(r.hits[0].via.type, "KNOWS");
        CHECK_STR(r.hits[0].via.from, "a");
        CHECK_STR(r.hits[0].via.to, "b");
        CHECK(gc_near(r.hits[0].via.strength, 2.5));
        CHECK_INT(r.hits[0].depth, 1);
        char rid[17];
        hx_graph_rel_id("t1", "a", "KNOWS", "b", rid);
        CHECK_STR(r.hits[0].via.id, rid);
    }
    hx_graph_result_free(&r);
    /* strength_set replaces; properties merge */
    json_t *p = json_pack("{s:s}", "since", "2024");
    hx_graph_op_t set = gc_rel("t1", "a", "KNOWS", "b", 0.25);
    set.strength_set = 1;
    set.properties = p;
    CHECK_INT(gc_apply(g, &set, 1), 0);
    CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
    if (r.n_hits == 1) {
        CHECK(gc_near(r.hits[0].via.strength, 0.25));
        CHECK_CONTAINS(r.hits[0].via.properties, "\"since\"");
    }
    hx_graph_result_free(&r);
    json_decref(p);
    /* the stub is a real node with empty type and name, later filled in */
    CHECK_INT(gc_get(g, "t1", "stubby", &r), 0);
    if (r.n_nodes == 1) {
        CHECK_STR(r.nodes[0].type, "");
        CHECK_STR(r.nodes[0].name, "");
        CHECK_INT(r.nodes[0].degree, 1);
    }
    hx_graph_result_free(&r);
    hx_graph_op_t fill = gc_ent("t1", "stubby", "technology", "Stubby", 1, 1);
    CHECK_INT(gc_apply(g, &fill, 1), 0);
    CHECK_INT(gc_get(g, "t1", "stubby", &r), 0);
    if (r.n_nodes == 1) {
        CHECK_STR(r.nodes[0].name, "Stubby");
        CHECK_INT(r.nodes[0].degree, 1);
    }
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "a", &r), 0);
    if (r.n_nodes == 1)
        CHECK_INT(r.nodes[0].degree, 3);
    hx_graph_result_free(&r);
    /* relationship delete */
    hx_graph_op_t rd = {.kind = HX_GRAPH_OP_REL_DELETE, .tenant = "t1", .from = "a", .to = "b", .rel_type = "KNOWS"};
    CHECK_INT(gc_apply(g, &rd, 1), 0);
    CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 0);
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "a", &r), 0);
    if (r.n_nodes == 1)
        CHECK_INT(r.nodes[0].degree, 2);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

static void test_graph_delete(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t ops[] = {gc_ent("t1", "a", "person", "Ann Gale", 1, 1), gc_ent("t1", "b", "person", "Ben Gale", 1, 1),
                           gc_rel("t1", "a", "KNOWS", "b", 1), gc_rel("t1", "b", "KNOWS", "a", 1),
                           gc_del("t1", "a"), gc_del("t1", "never-existed")};
    CHECK_INT(gc_apply(g, ops, sizeof ops / sizeof ops[0]), 0);
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "a", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "b", &r), 0);
    if (r.n_nodes == 1)
        CHECK_INT(r.nodes[0].degree, 0); /* detached both ways */
    hx_graph_result_free(&r);
    hx_graph_search_q_t sq = {.tenant = "t1", .query = "gale", .limit = 10};
    hx_err_t e = {0};
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_search(g, &sq, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    if (r.n_hits == 1)
        CHECK_STR(r.hits[0].entity.id, "b");
    hx_graph_result_free(&r);
    /* re-creating a deleted id starts afresh */
    hx_graph_op_t again = gc_ent("t1", "a", "person", "Ann Gale", 1, 1);
    CHECK_INT(gc_apply(g, &again, 1), 0);
    CHECK_INT(gc_get(g, "t1", "a", &r), 0);
    if (r.n_nodes == 1)
        CHECK_INT(r.nodes[0].mentions, 1);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

static void test_graph_merge(void)
{
    hx_graph_t *g = open_graph();
    const char *al[] = {"Bobby"};
    hx_graph_op_t ops[] = {
        gc_ent("t1", "bob", "person", "Bob Li", 3, 1.0),    gc_ent("t1", "rob", "person", "Robert Li", 1, 0.5),
        gc_ent("t1", "x", "technology", "Redis", 1, 1),      gc_ent("t1", "y", "technology", "Kafka", 1, 1),
        gc_rel("t1", "bob", "USES", "x", 1),                 gc_rel("t1", "rob", "USES", "x", 2), /* duplicate: sums */
        gc_rel("t1", "y", "USED_BY", "bob", 4),              /* incoming: must move too */
        gc_rel("t1", "bob", "KNOWS", "rob", 1),              /* between the two: dropped */
    };
    ops[0].aliases = al;
    ops[0].n_aliases = 1;
    CHECK_INT(gc_apply(g, ops, sizeof ops / sizeof ops[0]), 0);
    hx_graph_result_t r;
    double imp_bob = 0, imp_rob = 0;
    if (!gc_get(g, "t1", "bob", &r) && r.n_nodes == 1)
        imp_bob = r.nodes[0].importance;
    hx_graph_result_free(&r);
    if (!gc_get(g, "t1", "rob", &r) && r.n_nodes == 1)
        imp_rob = r.nodes[0].importance;
    hx_graph_result_free(&r);
    hx_graph_op_t m = gc_merge("t1", "bob", "rob");
    CHECK_INT(gc_apply(g, &m, 1), 0);
    CHECK_INT(gc_get(g, "t1", "rob", &r), 0);
    if (r.n_nodes == 1) {
        const hx_graph_entity_t *e = &r.nodes[0];
        CHECK_INT(e->mentions, 4);
        CHECK(gc_near(e->importance, imp_bob + imp_rob));
        CHECK(gc_has_alias(e, "Bob Li") && gc_has_alias(e, "Bobby"));
        CHECK_STR(e->name, "Robert Li");
        CHECK_INT(e->degree, 2); /* USES x (merged), USED_BY from y */
    }
    hx_graph_result_free(&r);
    hx_graph_related_q_t q = {.tenant = "t1", .id = "rob", .depth = 1, .limit = 10};
    hx_err_t e = {0};
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 2);
    for (size_t i = 0; i < r.n_hits; i++) {
        if (!strcmp(r.hits[i].entity.id, "x")) {
            CHECK(gc_near(r.hits[i].via.strength, 3));
            CHECK_STR(r.hits[i].via.from, "rob");
        } else {
            CHECK_STR(r.hits[i].entity.id, "y");
            CHECK_STR(r.hits[i].via.to, "rob");
            CHECK_STR(r.hits[i].via.type, "USED_BY");
        }
    }
    hx_graph_result_free(&r);
    /* the merged id redirects: get answers for the target, upserts land there */
    CHECK_INT(gc_get(g, "t1", "bob", &r), 0);
    if (r.n_nodes == 1)
        CHECK_STR(r.nodes[0].id, "rob");
    hx_graph_result_free(&r);
    hx_graph_op_t later = gc_ent("t1", "bob", "person", "Bob Li", 2, 1.0);
    CHECK_INT(gc_apply(g, &later, 1), 0);
    CHECK_INT(gc_get(g, "t1", "rob", &r), 0);
    if (r.n_nodes == 1) {
        CHECK_INT(r.nodes[0].mentions, 6);
        CHECK_STR(r.nodes[0].name, "Robert Li"); /* a redirected upsert keeps the target's name */
    }
    hx_graph_result_free(&r);
    /* merging into itself or with an unknown side is a no-op in a batch */
    hx_graph_op_t noop[] = {gc_merge("t1", "rob", "rob"), gc_merge("t1", "ghost", "rob"), gc_merge("t1", "x", "ghost")};
    CHECK_INT(gc_apply(g, noop, 3), 0);
    CHECK_INT(gc_get(g, "t1", "x", &r), 0);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- related against a reference BFS ------------------------------------ */

#define GC_N 60
#define GC_R 170

typedef struct {
    char id[8];
    char type[16];
    double importance_key; /* mentions drive importance */
} gc_node_t;

typedef struct {
    int from, to;
    const char *type;
    double strength;
} gc_edge_t;

static gc_node_t gc_nodes[GC_N];
static gc_edge_t gc_edges[GC_R];

static uint32_t gc_rnd(uint64_t *s, uint32_t n)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*s >> 33) % n);
}

static void gc_build(hx_graph_t *g, const char *tenant)
{
    static const char *types[] = {"person", "technology", "place"};
    static const char *rtypes[] = {"KNOWS", "USES", "CO_OCCURS"};
    hx_graph_op_t *ops = calloc(GC_N + GC_R, sizeof *ops);
    uint64_t s = 42;
    for (int i = 0; i < GC_N; i++) {
        snprintf(gc_nodes[i].id, sizeof gc_nodes[i].id, "n%02d", i);
        snprintf(gc_nodes[i].type, sizeof gc_nodes[i].type, "%s", types[i % 3]);
        ops[i] = gc_ent(tenant, gc_nodes[i].id, gc_nodes[i].type, gc_nodes[i].id, 1 + (i * 7) % 13, 1);
    }
    int n = 0;
    while (n < GC_R) {
        int a = (int)gc_rnd(&s, GC_N), b = (int)gc_rnd(&s, GC_N);
        /* skewed: low ids are hubs */
        if (gc_rnd(&s, 2))
            a = (int)gc_rnd(&s, 8);
        if (a == b)
            continue;
        const char *t = rtypes[gc_rnd(&s, 3)];
        int dup = 0;
        for (int k = 0; k < n; k++)
            dup |= gc_edges[k].from == a && gc_edges[k].to == b && gc_edges[k].type == t;
        if (dup)
            continue;
        /* distinct strengths: the ranking is fully determined */
        gc_edges[n] = (gc_edge_t){a, b, t, 0.5 + (double)gc_rnd(&s, 1000) / 100.0 + n * 1e-5};
        ops[GC_N + n] = gc_rel(tenant, gc_nodes[a].id, t, gc_nodes[b].id, gc_edges[n].strength);
        n++;
    }
    CHECK_INT(gc_apply(g, ops, GC_N + GC_R), 0);
    free(ops);
}

typedef struct {
    int node, depth, via; /* via: edge index */
    double imp;
} gc_ref_t;

static int gc_ref_cmp(const void *pa, const void *pb)
{
    const gc_ref_t *a = pa, *b = pb;
    if (a->depth != b->depth)
        return a->depth - b->depth;
    double sa = gc_edges[a->via].strength, sb = gc_edges[b->via].strength;
    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->imp != b->imp)
        return a->imp > b->imp ? -1 : 1;
    return strcmp(gc_nodes[a->node].id, gc_nodes[b->node].id);
}

/* The reference answer of hx_graph_related on the fixed graph. */
static size_t gc_reference(int start, int depth, const char *rel, double min_s, hx_graph_dir_t dir, const char *type,
                           const double *imp, gc_ref_t *out)
{
    int dist[GC_N], via[GC_N];
    for (int i = 0; i < GC_N; i++)
        dist[i] = -1, via[i] = -1;
    dist[start] = 0;
    for (int d = 1; d <= depth; d++) {
        for (int k = 0; k < GC_R; k++) {
            const gc_edge_t *e = &gc_edges[k];
            if ((rel && strcmp(rel, e->type)) || e->strength < min_s)
                continue;
            for (int side = 0; side < 2; side++) {
                int u = side ? e->to : e->from, v = side ? e->from : e->to;
                if ((side == 0 && dir == HX_GRAPH_DIR_IN) || (side == 1 && dir == HX_GRAPH_DIR_OUT))
                    continue;
                if (dist[u] != d - 1 || (dist[v] != -1 && dist[v] != d))
                    continue;
                dist[v] = d;
                if (via[v] < 0 || e->strength > gc_edges[via[v]].strength)
                    via[v] = k;
            }
        }
    }
    size_t n = 0;
    for (int i = 0; i < GC_N; i++)
        if (i != start && dist[i] > 0 && (!type || !strcmp(type, gc_nodes[i].type)))
            out[n++] = (gc_ref_t){i, dist[i], via[i], imp[i]};
    qsort(out, n, sizeof *out, gc_ref_cmp);
    return n;
}

static void test_graph_related(void)
{
    hx_graph_t *g = open_graph();
    gc_build(g, "t1");
    double imp[GC_N];
    for (int i = 0; i < GC_N; i++) {
        hx_graph_result_t r;
        imp[i] = 0;
        if (!gc_get(g, "t1", gc_nodes[i].id, &r) && r.n_nodes == 1)
            imp[i] = r.nodes[0].importance;
        hx_graph_result_free(&r);
    }
    static const struct {
        int start, depth;
        const char *rel;
        double min_s;
        hx_graph_dir_t dir;
        const char *type;
        int limit;
    } cases[] = {
        {0, 1, NULL, 0, HX_GRAPH_DIR_BOTH, NULL, 1000}, {0, 2, NULL, 0, HX_GRAPH_DIR_BOTH, NULL, 1000},
        {3, 3, NULL, 0, HX_GRAPH_DIR_BOTH, NULL, 1000}, {5, 5, NULL, 0, HX_GRAPH_DIR_BOTH, NULL, 1000},
        {1, 2, "KNOWS", 0, HX_GRAPH_DIR_BOTH, NULL, 1000}, {2, 3, NULL, 5.0, HX_GRAPH_DIR_BOTH, NULL, 1000},
        {0, 2, NULL, 0, HX_GRAPH_DIR_OUT, NULL, 1000},  {30, 3, NULL, 0, HX_GRAPH_DIR_IN, NULL, 1000},
        {0, 2, NULL, 0, HX_GRAPH_DIR_BOTH, "place", 1000}, {0, 2, NULL, 0, HX_GRAPH_DIR_BOTH, NULL, 7},
        {4, 4, "USES", 2.0, HX_GRAPH_DIR_OUT, "technology", 1000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gc_ref_t ref[GC_N];
        size_t nref = gc_reference(cases[c].start, cases[c].depth, cases[c].rel, cases[c].min_s, cases[c].dir,
                                   cases[c].type, imp, ref);
        hx_graph_related_q_t q = {.tenant = "t1", .id = gc_nodes[cases[c].start].id, .depth = cases[c].depth,
                                  .limit = cases[c].limit, .type = cases[c].type, .rel_type = cases[c].rel,
                                  .min_strength = cases[c].min_s, .direction = cases[c].dir};
        hx_graph_result_t r = {0};
        hx_err_t e = {0};
        CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
        size_t want = nref < (size_t)cases[c].limit ? nref : (size_t)cases[c].limit;
        CHECK_INT(r.n_hits, want);
        CHECK_INT(r.total, nref);
        int same = r.n_hits == want;
        for (size_t i = 0; same && i < want; i++) {
            const gc_edge_t *ve = &gc_edges[ref[i].via];
            same = !strcmp(r.hits[i].entity.id, gc_nodes[ref[i].node].id) && r.hits[i].depth == ref[i].depth &&
                   !strcmp(r.hits[i].via.type, ve->type) && !strcmp(r.hits[i].via.from, gc_nodes[ve->from].id) &&
                   !strcmp(r.hits[i].via.to, gc_nodes[ve->to].id) && gc_near(r.hits[i].via.strength, ve->strength);
            if (!same)
                fprintf(stderr, "case %zu: hit %zu is %s (depth %d), reference %s (depth %d)\n", c, i,
                        r.hits[i].entity.id, r.hits[i].depth, gc_nodes[ref[i].node].id, ref[i].depth);
        }
        CHECK(same);
        hx_graph_result_free(&r);
    }
    /* errors */
    hx_graph_related_q_t q = {.tenant = "t1", .id = "n00", .depth = 0, .limit = 10};
    hx_graph_result_t r = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_related(g, &q, &r, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "depth");
    q.depth = 6;
    CHECK_INT(hx_graph_related(g, &q, &r, &e), HX_EINVAL);
    q.depth = 2;
    q.limit = 0;
    CHECK_INT(hx_graph_related(g, &q, &r, &e), HX_EINVAL);
    q.limit = 10;
    q.id = "missing";
    CHECK_INT(hx_graph_related(g, &q, &r, &e), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- search ------------------------------------------------------------- */

static void test_graph_search(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t ops[] = {
        gc_ent("t1", "pg", "technology", "PostgreSQL Database", 1, 1),
        gc_ent("t1", "pgc", "technology", "PostgreSQL", 1, 1),
        gc_ent("t1", "mysql", "technology", "MySQL Database", 1, 1),
        gc_ent("t1", "alice", "person", "Alice Chen", 1, 1),
        gc_ent("t1", "desc", "person", "Dana Ortiz", 1, 1),
        gc_ent("t2", "other", "technology", "PostgreSQL Database", 1, 1),
    };
    ops[4].description = "runs the postgresql fleet";
    CHECK_INT(gc_apply(g, ops, sizeof ops / sizeof ops[0]), 0);
    hx_graph_search_q_t q = {.tenant = "t1", .query = "postgresql DATABASE", .limit = 10};
    hx_graph_result_t r = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 4); /* pg, pgc, mysql, desc; never t2's */
    if (r.n_hits == 4) {
        CHECK_STR(r.hits[0].entity.id, "pg"); /* both terms */
        for (size_t i = 1; i < r.n_hits; i++)
            CHECK(r.hits[i].score <= r.hits[i - 1].score && r.hits[i].score > 0);
        for (size_t i = 0; i < r.n_hits; i++)
            CHECK(strcmp(r.hits[i].entity.id, "other") != 0);
    }
    hx_graph_result_free(&r);
    const char *types[] = {"person"};
    q.types = types;
    q.n_types = 1;
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    if (r.n_hits == 1)
        CHECK_STR(r.hits[0].entity.id, "desc");
    hx_graph_result_free(&r);
    q.types = NULL;
    q.n_types = 0;
    q.limit = 2;
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 2);
    hx_graph_result_free(&r);
    q.query = "nothingmatches";
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 0);
    hx_graph_result_free(&r);
    q.query = "  ,, ";
    CHECK_INT(hx_graph_search(g, &q, &r, &e), HX_EINVAL);
    q.query = "alice";
    q.limit = 0;
    CHECK_INT(hx_graph_search(g, &q, &r, &e), HX_EINVAL);
    hx_graph_result_free(&r);
    /* renames re-index: the old name no longer matches */
    hx_graph_op_t ren = gc_ent("t1", "alice", NULL, "Alicia Chen", 0, 0);
    CHECK_INT(gc_apply(g, &ren, 1), 0);
    q.query = "alice";
    q.limit = 10;
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 0);
    hx_graph_result_free(&r);
    q.query = "ALICIA";
    CHECK_INT(hx_graph_search(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- path --------------------------------------------------------------- */

static int gc_path_valid(const hx_graph_result_t *r, const char *from, const char *to)
{
    if (r->n_nodes == 0 || r->n_rels + 1 != r->n_nodes)
        return 0;
    if (strcmp(r->nodes[0].id, from) || strcmp(r->nodes[r->n_nodes - 1].id, to))
        return 0;
    for (size_t i = 0; i < r->n_rels; i++) {
        const hx_graph_rel_t *x = &r->rels[i];
        const char *a = r->nodes[i].id, *b = r->nodes[i + 1].id;
        if (!((!strcmp(x->from, a) && !strcmp(x->to, b)) || (!strcmp(x->from, b) && !strcmp(x->to, a))))
            return 0;
    }
    return 1;
}

static void test_graph_path(void)
{
    hx_graph_t *g = open_graph();
    gc_build(g, "t1");
    hx_graph_op_t iso = gc_ent("t1", "island", "place", "Island", 1, 1);
    CHECK_INT(gc_apply(g, &iso, 1), 0);
    for (int t = 0; t < 20; t++) {
        int a = (t * 13) % GC_N, b = (t * 29 + 7) % GC_N;
        /* reference length: BFS ignoring direction and type */
        int dist[GC_N];
        for (int i = 0; i < GC_N; i++)
            dist[i] = -1;
        dist[a] = 0;
        for (int d = 1; d <= 10; d++)
            for (int k = 0; k < GC_R; k++) {
                int u = gc_edges[k].from, v = gc_edges[k].to;
                if (dist[u] == d - 1 && dist[v] < 0)
                    dist[v] = d;
                if (dist[v] == d - 1 && dist[u] < 0)
                    dist[u] = d;
            }
        hx_graph_path_q_t q = {.tenant = "t1", .from = gc_nodes[a].id, .to = gc_nodes[b].id, .max_depth = 10};
        hx_graph_result_t r = {0};
        hx_err_t e = {0};
        int rc = hx_graph_path(g, &q, &r, &e);
        if (dist[b] < 0) {
            CHECK_INT(rc, HX_ENOTFOUND);
        } else {
            CHECK_INT(rc, 0);
            CHECK_INT(r.n_rels, dist[b]);
            CHECK(gc_path_valid(&r, gc_nodes[a].id, gc_nodes[b].id));
        }
        hx_graph_result_free(&r);
        if (dist[b] > 1) { /* a bound below the distance finds nothing */
            q.max_depth = dist[b] - 1;
            CHECK_INT(hx_graph_path(g, &q, &r, &e), HX_ENOTFOUND);
            hx_graph_result_free(&r);
        }
    }
    hx_graph_path_q_t q = {.tenant = "t1", .from = "n00", .to = "island", .max_depth = 10};
    hx_graph_result_t r = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_path(g, &q, &r, &e), HX_ENOTFOUND);
    q.to = "n00";
    CHECK_INT(hx_graph_path(g, &q, &r, &e), 0);
    CHECK(r.n_nodes == 1 && r.n_rels == 0);
    hx_graph_result_free(&r);
    q.to = "nope";
    CHECK_INT(hx_graph_path(g, &q, &r, &e), HX_ENOTFOUND);
    q.to = "n01";
    q.max_depth = 11;
    CHECK_INT(hx_graph_path(g, &q, &r, &e), HX_EINVAL);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- tenants ------------------------------------------------------------ */

static void test_graph_tenants(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t ops[] = {gc_ent("t1", "same", "person", "Shared Name", 5, 1),
                           gc_ent("t2", "same", "person", "Shared Name", 1, 0.5),
                           gc_ent("t2", "only2", "person", "Second Tenant", 1, 1),
                           gc_rel("t2", "same", "KNOWS", "only2", 1)};
    CHECK_INT(gc_apply(g, ops, 4), 0);
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "same", &r), 0);
    if (r.n_nodes == 1)
        CHECK_INT(r.nodes[0].mentions, 5);
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "only2", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    hx_graph_related_q_t q = {.tenant = "t1", .id = "same", .depth = 5, .limit = 10};
    hx_err_t e = {0};
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_related(g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 0);
    hx_graph_result_free(&r);
    hx_graph_search_q_t sq = {.tenant = "t1", .query = "second tenant", .limit = 10};
    CHECK_INT(hx_graph_search(g, &sq, &r, &e), 0);
    CHECK_INT(r.n_hits, 0);
    hx_graph_result_free(&r);
    hx_graph_path_q_t pq = {.tenant = "t1", .from = "same", .to = "only2", .max_depth = 5};
    CHECK_INT(hx_graph_path(g, &pq, &r, &e), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    /* deletes and merges stay inside their tenant */
    hx_graph_op_t d = gc_del("t1", "same");
    CHECK_INT(gc_apply(g, &d, 1), 0);
    CHECK_INT(gc_get(g, "t2", "same", &r), 0);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* ---- cursors, durability, replay ---------------------------------------- */

static void test_graph_cursors_durable(void)
{
    hx_graph_t *g = open_graph();
    hx_graph_op_t ops[] = {gc_ent("t1", "a", "person", "Ann Marsh", 2, 1), gc_ent("t1", "b", "place", "Berlin", 1, 1),
                           gc_rel("t1", "a", "LIVES_IN", "b", 1)};
    hx_graph_cursor_t cur[2] = {{"helixagent.entities.updates/0", 17}, {"helixagent.entities.updates/3", 4}};
    hx_graph_batch_t b = {.ops = ops, .n_ops = 3, .cursors = cur, .n_cursors = 2};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_apply(g, &b, &e), 0);
    cur[0].value = 20; /* a cursor-only batch moves the cursor */
    hx_graph_batch_t b2 = {.cursors = cur, .n_cursors = 1};
    CHECK_INT(hx_graph_apply(g, &b2, &e), 0);
    g = reopen_graph(g);
    if (!g) {
        fprintf(stderr, "note: this backend cannot reopen a store; durability not checked here\n");
        return;
    }
    hx_graph_cursor_t *got = NULL;
    size_t n = 0;
    CHECK_INT(hx_graph_cursors(g, &got, &n, &e), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(got[i].name, "helixagent.entities.updates/0"))
            seen += got[i].value == 20;
        if (!strcmp(got[i].name, "helixagent.entities.updates/3"))
            seen += got[i].value == 4;
    }
    CHECK_INT(seen, 2);
    free(got);
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "a", &r), 0);
    if (r.n_nodes == 1) {
        CHECK_INT(r.nodes[0].mentions, 2);
        CHECK_INT(r.nodes[0].degree, 1);
    }
    hx_graph_result_free(&r);
    hx_graph_search_q_t sq = {.tenant = "t1", .query = "marsh", .limit = 10};
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_search(g, &sq, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* The same ops in different batch splits give the same graph. */
static void test_graph_replay_same(void)
{
    enum { N = 400 };
    hx_graph_op_t *ops = calloc(N, sizeof *ops);
    char (*ids)[16] = calloc(N, 16);
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        int a = (int)gc_rnd(&s, 40), b = (int)gc_rnd(&s, 40), k = (int)gc_rnd(&s, 10);
        snprintf(ids[i], 16, "e%02d", a);
        if (k < 4)
            ops[i] = gc_ent("t1", ids[i], "person", ids[i], 1, 0.1 * (k + 1));
        else if (k < 8)
            ops[i] = gc_rel("t1", ids[i], "CO_OCCURS", ids[(i + b) % (i + 1)], 0.5);
        else if (k == 8)
            ops[i] = gc_del("t1", ids[i]);
        else
            ops[i] = gc_merge("t1", ids[i], ids[(i + b) % (i + 1)]);
    }
    hx_graph_t *g1 = open_graph(), *g2 = open_graph();
    CHECK_INT(gc_apply(g1, ops, N), 0);
    for (int i = 0; i < N; i += 7)
        CHECK_INT(gc_apply(g2, ops + i, i + 7 <= N ? 7 : (size_t)(N - i)), 0);
    for (int a = 0; a < 40; a++) {
        char id[16];
        snprintf(id, sizeof id, "e%02d", a);
        hx_graph_result_t r1, r2;
        int rc1 = gc_get(g1, "t1", id, &r1), rc2 = gc_get(g2, "t1", id, &r2);
        CHECK_INT(rc1, rc2);
        if (!rc1 && !rc2 && r1.n_nodes == 1 && r2.n_nodes == 1) {
            CHECK_STR(r1.nodes[0].id, r2.nodes[0].id);
            CHECK_INT(r1.nodes[0].mentions, r2.nodes[0].mentions);
            CHECK_INT(r1.nodes[0].degree, r2.nodes[0].degree);
            CHECK(gc_near(r1.nodes[0].importance, r2.nodes[0].importance));
        }
        hx_graph_result_free(&r1);
        hx_graph_result_free(&r2);
    }
    hx_graph_close(g1);
    hx_graph_close(g2);
    free(ops);
    free(ids);
}

/* Every shared test, in order. */
static void run_graph_conformance(void)
{
    RUN(test_graph_ids);
    RUN(test_graph_upsert_get);
    RUN(test_graph_validation);
    RUN(test_graph_relationships);
    RUN(test_graph_delete);
    RUN(test_graph_merge);
    RUN(test_graph_related);
    RUN(test_graph_search);
    RUN(test_graph_path);
    RUN(test_graph_tenants);
    RUN(test_graph_cursors_durable);
    RUN(test_graph_replay_same);
}

#endif
