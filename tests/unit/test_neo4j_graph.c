// HX_TEST_PARTS: write read conformance
/* The Neo4j graph backend through the public hx_graph.h API against the
 * scripted Bolt server: the schema at open, every write path (entity upsert
 * with flattened properties, delete, relationship upsert/delete per type,
 * the split into neo4j.batch_size rows, merge in both directions, cursors)
 * in one transaction, every read path (get, related with a literal depth,
 * fulltext, shortest path) decoded into the engine's results, health,
 * FAILURE rollback, reconnect, and no retry when a COMMIT may have landed.
 * The scripts are built from the statement catalog, so the server checks
 * the exact Cypher and every parameter the backend sends.
 *
 * Of the graph conformance suite, the tests that need no Cypher engine run
 * here (ids; invalid batches refused with nothing sent to the server); the
 * rest compare answers with a reference computation, which a scripted
 * server cannot give. With HX_TEST_NEO4J_URI=bolt://... (and
 * HX_TEST_NEO4J_USER / HX_TEST_NEO4J_PASSWORD) the "conformance" part runs
 * the whole suite against that server instead, deleting every Helix node in
 * its default database before each test: point it at a disposable Neo4j
 * (docs/graph.md). */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../graph_conformance.h"
#include "../hx_test.h"
#include "bolt_stub.h"
#include "graph/neo4j/bolt.h"
#include "graph/neo4j/cypher.h"
#include "helix/hx_graph.h"
#include "helix/hx_logger.h"

#include <jansson.h>
#include <math.h>

static hx_buf_t sc;

#define LOGIN                                                                                           \
    "!: AUTO GOODBYE\n"                                                                                 \
    "C: HELLO {\"user_agent\": \"*\", \"bolt_agent\": \"*\"}\n"                                         \
    "S: SUCCESS {\"server\": \"Neo4j/5.26.0\"}\n"                                                       \
    "C: LOGON {\"scheme\": \"basic\", \"principal\": \"neo4j\", \"credentials\": \"pw\"}\n"             \
    "S: SUCCESS {}\n"

/* Appends: the client runs cypher with params (JSON), then the server answers
 * with fields and records (JSON arrays, may be NULL) or a failure code. */
static void run(const char *cypher, const char *params, const char *fields, const char *const *records)
{
    json_t *s = json_string(cypher);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    hx_buf_printf(&sc, "C: RUN %s %s {}\nC: PULL {\"n\": -1}\nS: SUCCESS {\"fields\": %s}\n", q, params,
                  fields ? fields : "[]");
    for (size_t i = 0; records && records[i]; i++)
        hx_buf_printf(&sc, "S: RECORD %s\n", records[i]);
    hx_buf_puts(&sc, "S: SUCCESS {}\n");
    free(q);
    json_decref(s);
}

static void run_fail(const char *cypher, const char *params, const char *code)
{
    json_t *s = json_string(cypher);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    hx_buf_printf(&sc,
                  "C: RUN %s %s {}\nC: PULL {\"n\": -1}\nS: FAILURE {\"code\": \"%s\", \"message\": \"scripted\"}\n"
                  "S: IGNORED\nC: RESET\nS: SUCCESS {}\n",
                  q, params, code);
    free(q);
    json_decref(s);
}

static void schema(void)
{
    hx_buf_puts(&sc, LOGIN);
    for (size_t i = 0; i < hx_cy_schema_n; i++)
        run(hx_cy_schema[i], "{}", NULL, NULL);
}

static const char *built(int (*fn)(hx_buf_t *, const char *, hx_err_t *), const char *type)
{
    static hx_buf_t b[8];
    static int k;
    hx_buf_t *x = &b[k++ % 8];
    fn(x, type, NULL);
    return hx_buf_cstr(x);
}

static hx_bolt_stub_t *stub;
static hx_config_t cfg;

static int batch_size = 1000;

/* The graph engine on cfg, without consumers (NULL after printing why). */
static hx_graph_t *open_cfg(void)
{
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = &cfg;
    o.consume = o.extract = 0;
    hx_graph_t *g = NULL;
    hx_err_t err = {0};
    if (hx_graph_open(&o, &g, &err))
        fprintf(stderr, "open: %s\n", err.msg);
    return g;
}

static hx_graph_t *open_on(const char *const *scripts, size_t n)
{
    hx_err_t err = {0};
    if (hx_bolt_stub_start(scripts, n, &stub, &err)) {
        fprintf(stderr, "stub: %s\n", err.msg);
        return NULL;
    }
    hx_config_defaults(&cfg);
    snprintf(cfg.backends.graph, sizeof cfg.backends.graph, "neo4j");
    hx_bolt_stub_uri(stub, cfg.neo4j.uri, sizeof cfg.neo4j.uri);
    snprintf(cfg.neo4j.password, sizeof cfg.neo4j.password, "pw");
    cfg.neo4j.timeout_ms = 3000;
    cfg.neo4j.batch_size = batch_size;
    return open_cfg();
}

static void done(hx_graph_t *g)
{
    CHECK(g != NULL);
    hx_graph_close(g);
    hx_err_t err = {0};
    if (!stub)
        return;
    int rc = hx_bolt_stub_wait(stub, 3000, &err);
    if (rc)
        fprintf(stderr, "  stub: %s\n", err.msg);
    CHECK_INT(rc, 0);
    hx_bolt_stub_stop(stub);
    stub = NULL;
    hx_buf_free(&sc);
}

static hx_graph_op_t ent(const char *id, const char *type, const char *name, int64_t m, double c)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 1000, .id = id, .type = type,
                       .name = name, .mentions = m, .confidence = c};
    return o;
}

static hx_graph_op_t rel(const char *from, const char *type, const char *to, double s)
{
    hx_graph_op_t o = {.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t1", .ts_ms = 1000, .from = from, .to = to,
                       .rel_type = type, .strength = s};
    return o;
}

static int apply(hx_graph_t *g, const hx_graph_op_t *ops, size_t n, const hx_graph_cursor_t *cur, size_t nc,
                 hx_err_t *err)
{
    hx_graph_batch_t b = {.ops = ops, .n_ops = n, .cursors = cur, .n_cursors = nc};
    return hx_graph_apply(g, &b, err);
}

#define ROW_ALICE                                                                                            \
    "{\"tenant\": \"t1\", \"id\": \"alice\", \"label\": null, \"type\": \"person\", \"name\": \"Alice Chen\", " \
    "\"description\": \"Infra lead\", \"aliases\": [\"Ali\"], \"props\": {\"p.team\": \"infra\", \"j.team\": null, " \
    "\"p.langs\": [\"c\", \"go\"], \"j.langs\": null, \"p.meta\": null, \"j.meta\": \"[1,2.5]\", "           \
    "\"p.gone\": null, \"j.gone\": null}, \"mentions\": 2, \"confidence\": 0.5, \"ts\": 1000}"
#define ROW_BOB                                                                                              \
    "{\"tenant\": \"t1\", \"id\": \"bob\", \"label\": null, \"type\": \"person\", \"name\": \"Bob Li\", "     \
    "\"description\": null, \"aliases\": [], \"props\": {}, \"mentions\": 1, \"confidence\": 1.0, \"ts\": 1000}"
#define ROW_ENT(id)                                                                                          \
    "{\"tenant\": \"t1\", \"id\": \"" id "\", \"label\": null, \"type\": \"person\", \"name\": \"Bob Li\", "  \
    "\"description\": null, \"aliases\": [], \"props\": {}, \"mentions\": 1, \"confidence\": 1.0, \"ts\": 1000}"
#define REL(f, t, s) "{\"tenant\": \"t1\", \"from\": \"" f "\", \"to\": \"" t "\", \"strength\": " s ", \"strength_set\": false, \"props\": {}, \"ts\": 1000}"

/* One transaction: runs of one kind become one UNWIND each, in order, then
 * the cursors, then COMMIT; the schema ran first at open. */
static void test_write_batch(void)
{
    schema();
    hx_buf_puts(&sc, "C: BEGIN {}\nS: SUCCESS {}\n");
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_ALICE ", " ROW_BOB "]}", NULL, NULL);
    /* The same pair twice: two statements, so the second adds to the first. */
    run(built(hx_cy_rel_upsert, "KNOWS"), "{\"batch\": [" REL("alice", "bob", "1.5") "]}", NULL, NULL);
    run(built(hx_cy_rel_upsert, "KNOWS"), "{\"batch\": [" REL("alice", "bob", "1.0") "]}", NULL, NULL);
    run(built(hx_cy_rel_upsert, "USES"), "{\"batch\": [" REL("alice", "redis", "1.0") "]}", NULL, NULL);
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_BOB "]}", NULL, NULL);
    run(hx_cy_entity_delete, "{\"batch\": [{\"tenant\": \"t1\", \"id\": \"carol\"}]}", NULL, NULL);
    run(built(hx_cy_rel_delete, "KNOWS"), "{\"batch\": [{\"tenant\": \"t1\", \"from\": \"alice\", \"to\": \"bob\"}]}",
        NULL, NULL);
    run(hx_cy_cursor_set, "{\"batch\": [{\"name\": \"helix-graph/0\", \"value\": 42}]}", NULL, NULL);
    hx_buf_puts(&sc, "C: COMMIT\nS: SUCCESS {\"bookmark\": \"b\"}\n");
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    const char *al[] = {"Ali"};
    json_t *props = json_pack("{s:s,s:[s,s],s:[i,f],s:n}", "team", "infra", "langs", "c", "go", "meta", 1, 2.5,
                              "gone");
    hx_graph_op_t ops[7] = {ent("alice", "person", "Alice Chen", 2, 0.5), ent("bob", "person", "Bob Li", 1, 1.0),
                            rel("alice", "KNOWS", "bob", 1.5),          rel("alice", "KNOWS", "bob", 1.0),
                            rel("alice", "USES", "redis", 1.0),         ent("bob", "person", "Bob Li", 1, 1.0),
                            {.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = "t1", .id = "carol", .ts_ms = 1}};
    ops[0].aliases = al;
    ops[0].n_aliases = 1;
    ops[0].description = "Infra lead";
    ops[0].properties = props;
    hx_graph_op_t all[8];
    memcpy(all, ops, sizeof ops);
    all[7] = (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_DELETE, .tenant = "t1", .from = "alice", .to = "bob",
                             .rel_type = "KNOWS"};
    hx_graph_cursor_t cur = {"helix-graph/0", 42};
    hx_err_t err = {0};
    int rc = apply(g, all, 8, &cur, 1, &err);
    if (rc)
        fprintf(stderr, "  apply: %s\n", err.msg);
    CHECK_INT(rc, 0);
    json_decref(props);
    done(g);
}

/* neo4j.batch_size splits a long run into several statements of one
 * transaction, and so does a node written twice in a run; a FAILURE rolls
 * the whole batch back (RESET) and says why. */
static void test_write_split_and_failure(void)
{
    schema();
    hx_buf_puts(&sc, "C: BEGIN {}\nS: SUCCESS {}\n");
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_ENT("a") ", " ROW_ENT("b") "]}", NULL, NULL); /* batch_size */
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_ENT("c") "]}", NULL, NULL);
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_ENT("c") "]}", NULL, NULL); /* c again: a new statement */
    hx_buf_puts(&sc, "C: COMMIT\nS: SUCCESS {}\nC: BEGIN {}\nS: SUCCESS {}\n");
    run_fail(hx_cy_entity_upsert, "{\"batch\": [" ROW_BOB "]}", "Neo.TransientError.Transaction.LockClientStopped");
    const char *s[] = {hx_buf_cstr(&sc)};
    batch_size = 2;
    hx_graph_t *g = open_on(s, 1);
    batch_size = 1000;
    if (!g)
        return done(NULL);
    hx_graph_op_t ops[4] = {ent("a", "person", "Bob Li", 1, 1.0), ent("b", "person", "Bob Li", 1, 1.0),
                            ent("c", "person", "Bob Li", 1, 1.0), ent("c", "person", "Bob Li", 1, 1.0)};
    hx_graph_op_t bob = ent("bob", "person", "Bob Li", 1, 1.0);
    hx_err_t err = {0};
    CHECK_INT(apply(g, ops, 4, NULL, 0, &err), 0);
    CHECK_INT(apply(g, &bob, 1, NULL, 0, &err), HX_EAGAIN);
    CHECK_CONTAINS(err.msg, "Neo.TransientError.Transaction.LockClientStopped");
    done(g);
}

static const char *resolve_p(const char *id)
{
    static char b[4][96];
    static int k;
    char *x = b[k++ % 4];
    snprintf(x, 96, "{\"tenant\": \"t1\", \"id\": \"%s\"}", id);
    return x;
}

/* Merge: both ids resolved, every relationship type of from moved in both
 * directions, then the sums and the redirect; all in one transaction. A
 * merge of an unknown id is a no-op. */
static void test_merge(void)
{
    schema();
    hx_buf_puts(&sc, "C: BEGIN {}\nS: SUCCESS {}\n");
    const char *bob[] = {"[\"bob\"]", NULL}, *rob[] = {"[\"rob\"]", NULL};
    run(hx_cy_resolve, resolve_p("bob"), "[\"id\"]", bob);
    run(hx_cy_resolve, resolve_p("rob"), "[\"id\"]", rob);
    const char *types[] = {"[\"USES\"]", "[\"USED_BY\"]", NULL};
    run(hx_cy_merge_types, "{\"tenant\": \"t1\", \"from\": \"bob\"}", "[\"type\"]", types);
    const char *ids = "{\"tenant\": \"t1\", \"from\": \"bob\", \"into\": \"rob\"}";
    hx_buf_t m = HX_BUF_INIT;
    for (int t = 0; t < 2; t++)
        for (int out = 0; out < 2; out++) {
            hx_cy_merge_move(&m, t ? "USED_BY" : "USES", out, NULL);
            run(hx_buf_cstr(&m), ids, NULL, NULL);
        }
    hx_buf_free(&m);
    run(hx_cy_merge_finish, "{\"tenant\": \"t1\", \"from\": \"bob\", \"into\": \"rob\", \"ts\": 3000}", NULL, NULL);
    run(hx_cy_resolve, resolve_p("ghost"), "[\"id\"]", NULL);
    hx_buf_puts(&sc, "C: COMMIT\nS: SUCCESS {}\n");
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    hx_graph_op_t ops[2] = {{.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = "t1", .ts_ms = 3000, .id = "bob", .into = "rob"},
                            {.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = "t1", .ts_ms = 3000, .id = "ghost", .into = "rob"}};
    hx_err_t err = {0};
    int rc = apply(g, ops, 2, NULL, 0, &err);
    if (rc)
        fprintf(stderr, "  apply: %s\n", err.msg);
    CHECK_INT(rc, 0);
    done(g);
}

#define NODE(id, extra) "{\"$N\": [1, [\"Entity\"], {\"tenant\": \"t1\", \"id\": \"" id "\", \"label\": \"Entity\", " \
    "\"type\": \"person\", \"name\": \"N " id "\", \"description\": \"\", \"aliases\": [\"A\", \"B\"], " \
    "\"mentions\": 4, \"confidence\": 0.6, \"importance\": 0.9656, \"created_at\": 1000, \"updated_at\": 5000" extra \
    "}, \"4:x:" id "\"]}"
#define RELV(type, s) "{\"$R\": [9, 1, 2, \"" type "\", {\"strength\": " s ", \"created_at\": 1, \"updated_at\": 2, \"p.since\": \"2024\"}, \"5:x\", \"4:a\", \"4:b\"]}"

/* get decodes the node (flattened properties back to JSON, aliases,
 * counters) and its degree; an unknown id is ENOTFOUND. */
static void test_get(void)
{
    schema();
    const char *rows[] = {"[" NODE("alice", ", \"p.team\": \"infra\", \"p.langs\": [\"c\", \"go\"], \"j.meta\": \"[1,2.5]\"") ", 3]", NULL};
    run(hx_cy_get, resolve_p("alice"), "[\"n\", \"degree\"]", rows);
    run(hx_cy_get, resolve_p("nobody"), "[\"n\", \"degree\"]", NULL);
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    hx_graph_result_t r = {0};
    hx_err_t err = {0};
    CHECK_INT(hx_graph_get(g, "t1", "alice", &r, &err), 0);
    if (r.n_nodes == 1) {
        const hx_graph_entity_t *e = &r.nodes[0];
        CHECK_STR(e->id, "alice");
        CHECK_STR(e->name, "N alice");
        CHECK_INT(e->n_aliases, 2);
        CHECK_INT(e->mentions, 4);
        CHECK_INT(e->degree, 3);
        CHECK_INT(e->updated_at, 5000);
        CHECK(fabs(e->confidence - 0.6) < 1e-12);
        json_t *p = json_loads(e->properties, 0, NULL), *want = json_pack("{s:s,s:[s,s],s:[i,f]}", "team", "infra",
                                                                           "langs", "c", "go", "meta", 1, 2.5);
        CHECK(p && json_equal(p, want));
        json_decref(p);
        json_decref(want);
    }
    hx_graph_result_free(&r);
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_get(g, "t1", "nobody", &r, &err), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    done(g);
}

/* related: the start resolved, the depth a literal in the pattern, the
 * filters as parameters; among equally strong vias the smaller id wins. */
static void test_related(void)
{
    schema();
    const char *start[] = {"[\"a\"]", NULL};
    run(hx_cy_resolve, resolve_p("a"), "[\"id\"]", start);
    hx_buf_t q = HX_BUF_INIT;
    hx_cy_related(&q, 2, 1, "KNOWS", NULL);
    const char *rows[] = {
        "[2, " NODE("b", "") ", 1, [{\"from\": \"a\", \"to\": \"b\", \"rel\": " RELV("KNOWS", "2.5") "}], 1]",
        "[2, " NODE("c", "") ", 2, [{\"from\": \"b\", \"to\": \"c\", \"rel\": " RELV("KNOWS", "1.0") "}, "
        "{\"from\": \"x\", \"to\": \"c\", \"rel\": " RELV("KNOWS", "1.0") "}], 2]",
        NULL};
    run(hx_buf_cstr(&q), "{\"tenant\": \"t1\", \"id\": \"a\", \"min_strength\": 0.5, \"type\": null, \"limit\": 10}",
        "[\"total\", \"n\", \"depth\", \"vias\", \"degree\"]", rows);
    hx_buf_free(&q);
    run(hx_cy_resolve, resolve_p("missing"), "[\"id\"]", NULL);
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    hx_graph_related_q_t rq = {.tenant = "t1", .id = "a", .depth = 2, .limit = 10, .rel_type = "KNOWS",
                               .min_strength = 0.5, .direction = HX_GRAPH_DIR_OUT};
    hx_graph_result_t r = {0};
    hx_err_t err = {0};
    CHECK_INT(hx_graph_related(g, &rq, &r, &err), 0);
    CHECK_INT(r.n_hits, 2);
    CHECK_INT(r.total, 2);
    if (r.n_hits == 2) {
        CHECK_STR(r.hits[0].entity.id, "b");
        CHECK_INT(r.hits[0].depth, 1);
        CHECK_STR(r.hits[0].via.from, "a");
        CHECK(fabs(r.hits[0].via.strength - 2.5) < 1e-12);
        CHECK_CONTAINS(r.hits[0].via.properties, "\"since\"");
        char want[17], other[17];
        hx_graph_rel_id("t1", "a", "KNOWS", "b", want);
        CHECK_STR(r.hits[0].via.id, want);
        hx_graph_rel_id("t1", "b", "KNOWS", "c", want);
        hx_graph_rel_id("t1", "x", "KNOWS", "c", other);
        CHECK_STR(r.hits[1].via.id, strcmp(want, other) < 0 ? want : other);
        CHECK_INT(r.hits[1].entity.degree, 2);
    }
    hx_graph_result_free(&r);
    memset(&r, 0, sizeof r);
    rq.id = "missing";
    CHECK_INT(hx_graph_related(g, &rq, &r, &err), HX_ENOTFOUND);
    rq.depth = 6; /* refused before anything is sent */
    CHECK_INT(hx_graph_related(g, &rq, &r, &err), HX_EINVAL);
    hx_graph_result_free(&r);
    done(g);
}

/* search: the Lucene query is built from the terms only. */
static void test_search(void)
{
    schema();
    const char *rows[] = {"[1, " NODE("ada", "") ", 2.75, 0]", NULL};
    run(hx_cy_search, "{\"tenant\": \"t1\", \"query\": \"ada OR lovelace\", \"types\": [\"person\"], \"limit\": 5}",
        "[\"total\", \"n\", \"score\", \"degree\"]", rows);
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    const char *types[] = {"person"};
    hx_graph_search_q_t q = {.tenant = "t1", .query = "Ada: Lovelace*~", .types = types, .n_types = 1, .limit = 5};
    hx_graph_result_t r = {0};
    hx_err_t err = {0};
    CHECK_INT(hx_graph_search(g, &q, &r, &err), 0);
    CHECK_INT(r.n_hits, 1);
    if (r.n_hits == 1) {
        CHECK_STR(r.hits[0].entity.id, "ada");
        CHECK(fabs(r.hits[0].score - 2.75) < 1e-12);
    }
    hx_graph_result_free(&r);
    done(g);
}

/* path: shortestPath with a literal bound, decoded hop by hop with each
 * relationship's real direction; none is ENOTFOUND; from == to is the node. */
static void test_path(void)
{
    schema();
    const char *a[] = {"[\"a\"]", NULL}, *c[] = {"[\"c\"]", NULL};
    run(hx_cy_resolve, resolve_p("a"), "[\"id\"]", a);
    run(hx_cy_resolve, resolve_p("c"), "[\"id\"]", c);
    hx_buf_t q = HX_BUF_INIT;
    hx_cy_path(&q, 4, NULL);
    const char *rows[] = {"[{\"$P\": [[" NODE("a", "") ", " NODE("b", "") ", " NODE("c", "") "], "
                          "[{\"$r\": [7, \"KNOWS\", {\"strength\": 1.0}, \"5:7\"]}, {\"$r\": [8, \"USES\", {\"strength\": 2.0}, \"5:8\"]}], "
                          "[1, 1, -2, 2]]}, [1, 2, 1]]",
                          NULL};
    const char *params = "{\"tenant\": \"t1\", \"from\": \"a\", \"to\": \"c\"}";
    run(hx_buf_cstr(&q), params, "[\"p\", \"degrees\"]", rows);
    run(hx_cy_resolve, resolve_p("a"), "[\"id\"]", a);
    run(hx_cy_resolve, resolve_p("c"), "[\"id\"]", c);
    run(hx_buf_cstr(&q), params, "[\"p\", \"degrees\"]", NULL);
    run(hx_cy_resolve, resolve_p("a"), "[\"id\"]", a);
    run(hx_cy_resolve, resolve_p("a"), "[\"id\"]", a);
    const char *one[] = {"[" NODE("a", "") ", 1]", NULL};
    run(hx_cy_get, resolve_p("a"), "[\"n\", \"degree\"]", one);
    hx_buf_free(&q);
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    hx_graph_path_q_t pq = {.tenant = "t1", .from = "a", .to = "c", .max_depth = 4};
    hx_graph_result_t r = {0};
    hx_err_t err = {0};
    CHECK_INT(hx_graph_path(g, &pq, &r, &err), 0);
    CHECK_INT(r.n_nodes, 3);
    CHECK_INT(r.n_rels, 2);
    if (r.n_rels == 2) {
        CHECK_STR(r.rels[0].from, "a");
        CHECK_STR(r.rels[1].from, "c"); /* c -USES-> b, walked backwards */
        CHECK_STR(r.rels[1].to, "b");
        CHECK_INT(r.nodes[1].degree, 2);
    }
    hx_graph_result_free(&r);
    memset(&r, 0, sizeof r);
    CHECK_INT(hx_graph_path(g, &pq, &r, &err), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    memset(&r, 0, sizeof r);
    pq.to = "a";
    CHECK_INT(hx_graph_path(g, &pq, &r, &err), 0);
    CHECK_INT(r.n_nodes, 1);
    hx_graph_result_free(&r);
    done(g);
}

/* Health runs a real query and reports the server; cursors read back. */
static void test_health_cursors(void)
{
    schema();
    const char *rows[] = {"[\"Neo4j Kernel\", \"5.26.0\", \"community\"]", NULL};
    run(hx_cy_health, "{}", "[\"name\", \"version\", \"edition\"]", rows);
    const char *cur[] = {"[\"helix-graph/0\", 42]", "[\"helix-graph/1\", 7]", NULL};
    run(hx_cy_cursors, "{}", "[\"name\", \"value\"]", cur);
    const char *s[] = {hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 1);
    if (!g)
        return done(NULL);
    char detail[512];
    CHECK_INT(hx_graph_health(g, detail, sizeof detail), 0);
    CHECK_CONTAINS(detail, "5.26.0");
    CHECK_CONTAINS(detail, "community");
    hx_graph_cursor_t *c = NULL;
    size_t n = 0;
    hx_err_t err = {0};
    CHECK_INT(hx_graph_cursors(g, &c, &n, &err), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(c[1].name, "helix-graph/1");
        CHECK_INT(c[0].value, 42);
    }
    free(c);
    CHECK_STR(hx_graph_backend(g), "neo4j");
    done(g);
}

/* The server drops the connection mid-batch: nothing was committed, so the
 * batch runs again on a new connection. When it drops after COMMIT went
 * out, the outcome is unknown and the batch is NOT repeated (its mentions
 * would count twice): the error says so and no third connection comes. */
static void test_reconnect(void)
{
    schema();
    hx_buf_puts(&sc, "C: BEGIN {}\nS: <EXIT>\n");
    char *first = hx_buf_steal(&sc);
    hx_buf_puts(&sc, LOGIN "C: BEGIN {}\nS: SUCCESS {}\n");
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_BOB "]}", NULL, NULL);
    hx_buf_puts(&sc, "C: COMMIT\nS: SUCCESS {}\nC: BEGIN {}\nS: SUCCESS {}\n");
    run(hx_cy_entity_upsert, "{\"batch\": [" ROW_BOB "]}", NULL, NULL);
    hx_buf_puts(&sc, "C: COMMIT\nS: <EXIT>\n");
    const char *s[] = {first, hx_buf_cstr(&sc)};
    hx_graph_t *g = open_on(s, 2);
    if (!g) {
        free(first);
        return done(NULL);
    }
    hx_graph_op_t op = ent("bob", "person", "Bob Li", 1, 1.0);
    hx_err_t err = {0};
    int rc = apply(g, &op, 1, NULL, 0, &err);
    if (rc)
        fprintf(stderr, "  apply: %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK(apply(g, &op, 1, NULL, 0, &err) < 0);
    done(g);
    free(first);
}

/* ---- conformance ---- */
static const char *real_uri(void)
{
    const char *u = getenv("HX_TEST_NEO4J_URI");
    return u && *u ? u : NULL;
}

/* A real server: wipe what Helix stores, then open on it. */
static hx_graph_t *open_real(void)
{
    hx_config_defaults(&cfg);
    snprintf(cfg.backends.graph, sizeof cfg.backends.graph, "neo4j");
    snprintf(cfg.neo4j.uri, sizeof cfg.neo4j.uri, "%s", real_uri());
    const char *user = getenv("HX_TEST_NEO4J_USER"), *pw = getenv("HX_TEST_NEO4J_PASSWORD");
    snprintf(cfg.neo4j.user, sizeof cfg.neo4j.user, "%s", user ? user : "neo4j");
    snprintf(cfg.neo4j.password, sizeof cfg.neo4j.password, "%s", pw ? pw : "");
    hx_bolt_opts_t bo = {.uri = cfg.neo4j.uri, .user = cfg.neo4j.user, .password = cfg.neo4j.password};
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (hx_bolt_open(&bo, &c, &err) ||
        hx_bolt_run(c, "MATCH (n) WHERE n:Entity OR n:HelixRedirect OR n:HelixCursor DETACH DELETE n", NULL, NULL,
                    &err)) {
        fprintf(stderr, "neo4j at %s: %s\n", cfg.neo4j.uri, err.msg);
        hx_bolt_close(c);
        return NULL;
    }
    hx_bolt_close(c);
    return open_cfg();
}

static hx_graph_t *open_graph(void)
{
    if (real_uri())
        return open_real();
    /* Only the schema and one read that finds nothing: any write the
     * backend sent would differ from the script and fail the test. */
    schema();
    run(hx_cy_get, resolve_p("ok"), "[\"n\", \"degree\"]", NULL);
    static char *text;
    free(text);
    text = hx_buf_steal(&sc);
    const char *s[] = {text};
    return open_on(s, 1);
}

static hx_graph_t *reopen_graph(hx_graph_t *g)
{
    hx_graph_close(g);
    return real_uri() ? open_cfg() : NULL;
}

static void test_conformance_subset(void)
{
    test_graph_ids();
    test_graph_validation(); /* closes its graph */
    hx_err_t err = {0};
    int rc = stub ? hx_bolt_stub_wait(stub, 3000, &err) : HX_EINTERNAL;
    if (rc)
        fprintf(stderr, "  stub: %s\n", err.msg);
    CHECK_INT(rc, 0);
    hx_bolt_stub_stop(stub);
    stub = NULL;
}

int main(int argc, char **argv)
{
    hx_logger_set_level(HX_LVL_WARN);
    const char *part = argc > 1 ? argv[1] : "all";
    int all = !strcmp(part, "all");
    if (all || !strcmp(part, "write")) {
        RUN(test_write_batch);
        RUN(test_write_split_and_failure);
        RUN(test_merge);
        RUN(test_reconnect);
    }
    if (all || !strcmp(part, "read")) {
        RUN(test_get);
        RUN(test_related);
        RUN(test_search);
        RUN(test_path);
        RUN(test_health_cursors);
    }
    if ((all || !strcmp(part, "conformance")) && real_uri()) {
        fprintf(stderr, "conformance suite against the Neo4j at %s\n", real_uri());
        hx_graph_t *probe = open_real(); /* the suite's tests assume their store opens */
        CHECK(probe != NULL);
        hx_graph_close(probe);
        if (probe)
            run_graph_conformance();
    } else if (all || !strcmp(part, "conformance")) {
        RUN(test_conformance_subset);
    }
    return HX_TEST_DONE();
}
