// HX_TEST_PARTS: events pipeline restart
/* The knowledge graph's pipeline on the embedded broker: the event codec,
 * publish with read-your-writes, extraction from conversations and memory
 * writes, dedup of re-produced extraction records, invalid records, and a
 * restart that resumes from the store's cursors. */
#include "../hx_test.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_graph.h"
#include "helix/hx_topics.h"

#include <math.h>

static char *base;

typedef struct {
    hx_config_t cfg;
    hx_broker_t *b;
    hx_graph_t *g;
    char dir[512];
} env_t;

static int env_open(env_t *v, const char *name, int fresh)
{
    hx_config_defaults(&v->cfg);
    snprintf(v->cfg.node.data_dir, sizeof v->cfg.node.data_dir, "%s/%s", base, name);
    snprintf(v->dir, sizeof v->dir, "%s/graph", v->cfg.node.data_dir);
    v->cfg.event_log.fsync = HX_FSYNC_NEVER;
    v->cfg.graph.flush_ms = 5;
    hx_err_t e = {0};
    if (fresh)
        hx_rm_rf(v->cfg.node.data_dir);
    if (hx_broker_open(&v->cfg, NULL, &v->b, &e) || hx_broker_ensure_builtin_topics(v->b, &e)) {
        fprintf(stderr, "broker: %s\n", e.msg);
        return -1;
    }
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = &v->cfg;
    o.dir = v->dir;
    o.broker = v->b;
    o.node_id = "node-t";
    if (hx_graph_open(&o, &v->g, &e)) {
        fprintf(stderr, "graph: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void env_close(env_t *v)
{
    hx_graph_close(v->g);
    hx_broker_close(v->b);
    v->g = NULL;
    v->b = NULL;
}

static int64_t mentions(hx_graph_t *g, const char *tenant, const char *id)
{
    hx_graph_result_t r = {0};
    hx_err_t e = {0};
    int64_t m = hx_graph_get(g, tenant, id, &r, &e) || r.n_nodes != 1 ? -1 : r.nodes[0].mentions;
    hx_graph_result_free(&r);
    return m;
}

/* ---- codec ---- */

static void test_codec(void)
{
    const char *al[] = {"Al \"the\" one", "A\\B"};
    json_t *props = json_pack("{s:s,s:[i,i]}", "k", "v\n", "nums", 1, 2);
    hx_graph_op_t ops[] = {
        {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 5, .id = "a", .label = "Entity", .type = "person",
         .name = "Ann \xc3\xa9", .description = "d", .aliases = al, .n_aliases = 2, .properties = props, .mentions = 3,
         .confidence = 0.25},
        {.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t1", .ts_ms = 6, .from = "a", .to = "b", .rel_type = "KNOWS",
         .strength = 0.1, .strength_set = 1},
        {.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = "t1", .ts_ms = 7, .id = "a"},
        {.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = "t1", .ts_ms = 8, .id = "x", .into = "y"},
        {.kind = HX_GRAPH_OP_REL_DELETE, .tenant = "t1", .ts_ms = 9, .from = "a", .to = "b", .rel_type = "KNOWS"},
    };
    hx_graph_encode_opts_t eo = {.source = "n1", .partitions = 1, .src = "helixagent.conversations/2", .src_seq = 77};
    hx_graph_records_t rec;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_events_encode(ops, 5, &eo, &rec, &e), 0);
    /* one partition: consecutive kinds split envelopes, order kept */
    CHECK_INT(rec.n, 5);
    size_t k = 0;
    for (size_t i = 0; i < rec.n; i++) {
        hx_graph_ops_t out = {0};
        hx_graph_src_t src;
        CHECK_INT(hx_graph_events_decode(rec.msgs[i].value, rec.msgs[i].value_len, &out, &src, &e), 0);
        CHECK_STR(src.name, "helixagent.conversations/2");
        CHECK_INT(src.seq, 77 * 65536 + (int64_t)i); /* one partition: envelopes numbered in order */
        for (size_t j = 0; j < out.n; j++, k++) {
            const hx_graph_op_t *a = &ops[k], *b = &out.ops[j];
            CHECK_INT(b->kind, a->kind);
            CHECK_STR(b->tenant, "t1");
            CHECK_INT(b->ts_ms, a->ts_ms);
            if (a->kind == HX_GRAPH_OP_ENTITY_UPSERT) {
                CHECK_STR(b->name, a->name);
                CHECK_INT(b->n_aliases, 2);
                if (b->n_aliases == 2)
                    CHECK_STR(b->aliases[0], al[0]);
                CHECK(json_equal(b->properties, props));
                CHECK_INT(b->mentions, 3);
                CHECK(b->confidence == 0.25);
            } else if (a->kind == HX_GRAPH_OP_REL_UPSERT) {
                CHECK(b->strength == 0.1 && b->strength_set == 1);
                CHECK_STR(b->rel_type, "KNOWS");
            } else if (a->kind == HX_GRAPH_OP_ENTITY_MERGE) {
                CHECK_STR(b->into, "y");
            }
        }
        hx_graph_ops_free(&out);
    }
    CHECK_INT(k, 5);
    hx_graph_records_free(&rec);
    json_decref(props);

    /* items: bad input names the item and field; ids are derived */
    hx_graph_ops_t o = {0};
    const char *good = "{\"entities\":[{\"type\":\"person\",\"name\":\"Alice Chen\"}]}";
    CHECK_INT(hx_graph_items_parse("t1", 1, HX_GRAPH_OP_ENTITY_UPSERT, good, strlen(good), NULL, &o, &e), 0);
    char id[17];
    hx_graph_entity_id("t1", "person", "Alice Chen", id);
    CHECK(o.n == 1 && !strcmp(o.ops[0].id, id));
    hx_graph_ops_free(&o);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"entities\":[{\"id\":\"a\",\"type\":\"person\",\"nmae\":\"x\"}]}", "unknown field 'nmae'"},
        {"{\"entities\":[{\"id\":\"a\",\"type\":\"Person\"}]}", "entities[0].type"},
        {"{\"entities\":[{\"id\":\"a\",\"mentions\":-1}]}", "mentions"},
        {"{\"entities\":[{\"id\":\"a\"},{\"id\":\"b\",\"id\":\"c\"}]}", "entities[1].id appears twice"},
        {"{\"entities\":[{\"id\":\"a\",\"properties\":{\"m\":{\"x\":1}}}]}", "map"},
        {"{\"entities\":[{\"id\":\"a\"}],\"x\":1}", "only the field"},
        {"{\"entities\":[{\"id\":\"a\"}]} trailing", "unexpected text"},
        {"[1,2]", "must be a JSON object"},
        {"{\"entities\":[{\"id\":\"a\\u0000b\"}]}", "must be a string"},
        {"{\"entities\":[{\"id\":\"a\",\"name\":\"\xff\"}]}", "must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_graph_ops_t x = {0};
        e.msg[0] = 0;
        CHECK_INT(hx_graph_items_parse("t1", 1, HX_GRAPH_OP_ENTITY_UPSERT, bad[i].json, strlen(bad[i].json), NULL, &x,
                                       &e), HX_EINVAL);
        CHECK_CONTAINS(e.msg, bad[i].msg);
        hx_graph_ops_free(&x);
    }
    const char *rels = "{\"from\":\"a\",\"to\":\"b\",\"type\":\"KNOWS\"}"; /* one item; strength defaults to 1 */
    CHECK_INT(hx_graph_items_parse("t1", 1, HX_GRAPH_OP_REL_UPSERT, rels, strlen(rels), NULL, &o, &e), 0);
    CHECK(o.n == 1 && o.ops[0].strength == 1.0);
    hx_graph_ops_free(&o);
}

/* ---- pipeline ---- */

static int32_t produced_partition; /* of the last produce_message */

static void produce_message(hx_broker_t *b, const char *tenant, const char *conv, const char *user, const char *text,
                            int64_t *offset)
{
    hx_envelope_t e;
    hx_envelope_init(&e);
    e.v = 1;
    e.type = strdup(HX_EV_CONVERSATION_MESSAGE_ADDED);
    e.tenant = strdup(tenant);
    e.key = strdup(conv);
    e.data = json_pack("{s:s,s:s,s:s,s:s}", "message_id", "m", "role", "user", "content", text, "user_id", user);
    hx_err_t err = {0};
    hx_buf_t buf = HX_BUF_INIT;
    CHECK_INT(hx_envelope_fill_defaults(&e, "test", hx_now_ms(), &err), 0);
    CHECK_INT(hx_envelope_encode(&e, &buf, &err), 0);
    hx_msg_t m = {.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .key = conv, .key_len = strlen(conv),
                  .value = buf.data, .value_len = buf.len};
    hx_delivery_t d;
    CHECK_INT(hx_broker_produce(b, &m, 1, &d, &err), 0);
    if (offset)
        *offset = d.offset;
    produced_partition = d.partition;
    hx_buf_free(&buf);
    hx_envelope_free(&e);
}

static void test_publish_and_extract(void)
{
    env_t v;
    if (env_open(&v, "pipe", 1))
        return;
    /* publish waits until the consumer applied */
    hx_graph_op_t ops[] = {
        {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 1, .id = "a", .type = "person", .name = "Ann",
         .mentions = 2, .confidence = 1},
        {.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t1", .ts_ms = 1, .from = "a", .to = "b", .rel_type = "KNOWS",
         .strength = 1},
    };
    int applied = 0;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_publish(v.g, ops, 2, 5000, &applied, &e), 0);
    CHECK_INT(applied, 1);
    CHECK_INT(mentions(v.g, "t1", "a"), 2);
    /* bad ops: nothing produced */
    hx_graph_op_t bad = ops[0];
    bad.type = "Bad Type";
    CHECK_INT(hx_graph_publish(v.g, &bad, 1, 1000, &applied, &e), HX_EINVAL);

    /* extraction from conversations */
    produce_message(v.b, "t1", "conv-1", "u-1", "Alice Chen moved Redis to Berlin. Thanks!", NULL);
    produce_message(v.b, "t1", "conv-1", "u-1", "Great. Alice Chen will tune Redis next.", NULL);
    produce_message(v.b, "t2", "conv-1", "u-1", "Kenji Sato likes Redis.", NULL);
    CHECK_INT(hx_graph_sync(v.g, 1, 10000, &e), 0);
    char alice[17], redis[17], redis2[17];
    hx_graph_entity_id("t1", "person", "Alice Chen", alice);
    hx_graph_entity_id("t1", "technology", "Redis", redis);
    hx_graph_entity_id("t2", "technology", "Redis", redis2);
    CHECK_INT(mentions(v.g, "t1", alice), 2);
    CHECK_INT(mentions(v.g, "t1", redis), 2);
    CHECK_INT(mentions(v.g, "t2", redis2), 1);
    CHECK_INT(mentions(v.g, "t2", redis), -1); /* ids differ per tenant */
    hx_graph_result_t r = {0};
    CHECK_INT(hx_graph_conversation_entities(v.g, "t1", "conv-1", 10, &r, &e), 0);
    CHECK_INT(r.n_hits, 3); /* Alice Chen, Redis, Berlin */
    hx_graph_result_free(&r);
    hx_graph_related_q_t q = {.tenant = "t1", .id = alice, .depth = 1, .limit = 10, .rel_type = "CO_OCCURS"};
    CHECK_INT(hx_graph_related(v.g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 2);
    if (r.n_hits == 2) {
        CHECK_STR(r.hits[0].entity.id, redis); /* strength 2: one sentence, twice */
        CHECK(r.hits[0].via.strength == 2.0);
    }
    hx_graph_result_free(&r);

    /* memory writes are extracted too */
    hx_envelope_t me;
    hx_envelope_init(&me);
    me.v = 1;
    me.type = strdup(HX_EV_MEMORY_DELTA);
    me.tenant = strdup("t1");
    me.key = strdup("mem-1");
    me.data = json_pack("{s:[{s:s,s:{s:s,s:s,s:[i,s,{s:s}],s:{s:[[i,s,s]],s:[]}}}]}", "ops", "o", "n1", "d", "id",
                        "mem-1", "tenant", "t1", "ident", 5, "n1", "user_id", "u-2", "content", "live", 5, "n1",
                        "Priya Nair prefers ClickHouse.", "dead");
    hx_buf_t buf = HX_BUF_INIT;
    CHECK_INT(hx_envelope_fill_defaults(&me, "n1", hx_now_ms(), &e), 0);
    CHECK_INT(hx_envelope_encode(&me, &buf, &e), 0);
    hx_msg_t mm = {.topic = HX_TOPIC_MEMORY_EVENTS, .partition = 0, .key = "mem-1", .key_len = 5, .value = buf.data,
                   .value_len = buf.len};
    CHECK_INT(hx_broker_produce(v.b, &mm, 1, NULL, &e), 0);
    hx_buf_free(&buf);
    hx_envelope_free(&me);
    CHECK_INT(hx_graph_sync(v.g, 1, 10000, &e), 0);
    char priya[17], user2[17];
    hx_graph_entity_id("t1", "person", "Priya Nair", priya);
    hx_graph_entity_id("t1", "user", "u-2", user2);
    CHECK_INT(mentions(v.g, "t1", priya), 1);
    q = (hx_graph_related_q_t){.tenant = "t1", .id = user2, .depth = 1, .limit = 10, .direction = HX_GRAPH_DIR_OUT};
    CHECK_INT(hx_graph_related(v.g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 2); /* MENTIONS Priya Nair and ClickHouse */
    hx_graph_result_free(&r);

    /* A restarted extractor's records again, grouped differently: its
     * envelope holds the two applied messages (offsets 0 and 1) and a new
     * one (offset 3); only the new one's items are applied. */
    const char *texts[3] = {"Alice Chen moved Redis to Berlin. Thanks!", "Great. Alice Chen will tune Redis next.",
                            "Alice Chen visited Paris."};
    const int64_t at[3] = {0, 1, 3};
    hx_graph_extractor_t *x;
    CHECK_INT(hx_graph_extractor_new(&v.cfg, &x, &e), 0);
    hx_graph_ops_t xo = {0};
    int64_t offs[64];
    for (int i = 0; i < 3; i++) {
        size_t n0 = xo.n;
        hx_graph_message_t msg = {.tenant = "t1", .conversation_id = "conv-1", .user_id = "u-1", .content = texts[i],
                                  .ts_ms = 1};
        CHECK_INT(hx_graph_extract_message(x, &msg, &xo, &e), 0);
        for (size_t k = n0; k < xo.n && k < 64; k++)
            offs[k] = at[i];
    }
    CHECK(xo.n <= 64);
    hx_topic_info_t ti;
    CHECK_INT(hx_broker_topic_describe(v.b, HX_TOPIC_CONVERSATIONS, &ti, &e), 0);
    int32_t cp = (int32_t)hx_partition_for_key("conv-1", 6, (uint32_t)ti.config.partitions);
    hx_topic_info_free(&ti);
    char src[96];
    snprintf(src, sizeof src, "%s/%d", HX_TOPIC_CONVERSATIONS, cp);
    hx_graph_encode_opts_t eo = {.source = "node-t", .partitions = 8, .src = src, .src_offsets = offs};
    hx_graph_records_t rec;
    CHECK_INT(hx_graph_events_encode(xo.ops, xo.n, &eo, &rec, &e), 0);
    CHECK_INT(hx_broker_produce(v.b, rec.msgs, rec.n, NULL, &e), 0);
    hx_graph_records_free(&rec);
    hx_graph_ops_free(&xo);
    hx_graph_extractor_free(x);
    /* and a record that is no graph event at all */
    hx_msg_t junk = {.topic = HX_TOPIC_ENTITIES, .partition = 0, .value = "junk", .value_len = 4};
    CHECK_INT(hx_broker_produce(v.b, &junk, 1, NULL, &e), 0);
    CHECK_INT(hx_graph_sync(v.g, 0, 10000, &e), 0);
    CHECK_INT(mentions(v.g, "t1", alice), 3);
    CHECK_INT(mentions(v.g, "t1", redis), 2);
    char paris[17];
    hx_graph_entity_id("t1", "place", "Paris", paris);
    CHECK_INT(mentions(v.g, "t1", paris), 1);
    q = (hx_graph_related_q_t){.tenant = "t1", .id = alice, .depth = 1, .limit = 10, .rel_type = "CO_OCCURS"};
    CHECK_INT(hx_graph_related(v.g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 3); /* Redis and Berlin as before (Redis still at strength 2), and Paris */
    for (size_t i = 0; i < r.n_hits; i++)
        if (!strcmp(r.hits[i].entity.id, redis))
            CHECK(r.hits[i].via.strength == 2.0);
    hx_graph_result_free(&r);
    hx_graph_progress_t p;
    hx_graph_progress(v.g, &p);
    CHECK(p.duplicates_skipped >= 1);
    CHECK(p.messages_extracted >= 4);
    env_close(&v);
}

/* Restart: the store's cursors say where to resume; nothing twice. */
static void test_restart(void)
{
    env_t v;
    if (env_open(&v, "restart", 1))
        return;
    hx_err_t e = {0};
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            char id[16];
            snprintf(id, sizeof id, "e%d", i % 7);
            hx_graph_op_t op = {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 1, .id = id,
                                .type = "thing", .name = id, .mentions = 1, .confidence = 1};
            CHECK_INT(hx_graph_publish(v.g, &op, 1, 0, NULL, &e), 0);
        }
        produce_message(v.b, "t1", "c-r", "u", "Dana Ortiz fixed Kafka.", NULL);
        CHECK_INT(hx_graph_sync(v.g, 1, 10000, &e), 0);
        env_close(&v);
        if (env_open(&v, "restart", 0))
            return;
        CHECK_INT(hx_graph_sync(v.g, 1, 10000, &e), 0);
    }
    int64_t total = 0;
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        total += mentions(v.g, "t1", id);
    }
    CHECK_INT(total, 150);
    char dana[17];
    hx_graph_entity_id("t1", "person", "Dana Ortiz", dana);
    CHECK_INT(mentions(v.g, "t1", dana), 3);
    char detail[512];
    CHECK_INT(hx_graph_health(v.g, detail, sizeof detail), 0);
    env_close(&v);
}

/* Envelopes of several source records (hx-src-runs) against the cursors
 * kept per kind and tenant, across a restart: one source's two tenants
 * interleave, a record's relationship travels after a later record's
 * entity, and regrouped envelopes apply only their new records. */
static void produce_runs(env_t *v, const hx_graph_op_t *ops, const int64_t *offs, size_t n)
{
    hx_graph_encode_opts_t eo = {.source = "node-x", .partitions = 8, .src = "helixagent.conversations/5",
                                 .src_offsets = offs};
    hx_graph_records_t rec;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_events_encode(ops, n, &eo, &rec, &e), 0);
    CHECK_INT(hx_broker_produce(v->b, rec.msgs, rec.n, NULL, &e), 0);
    hx_graph_records_free(&rec);
}

static void test_runs_cursors(void)
{
    env_t v;
    if (env_open(&v, "runs", 1))
        return;
    hx_err_t e = {0};
    hx_graph_op_t x = {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 1, .id = "x", .type = "person",
                       .name = "x", .mentions = 1, .confidence = 1};
    hx_graph_op_t y = x, z = x, xy = {.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t1", .ts_ms = 1, .from = "x",
                                      .to = "y", .rel_type = "CO_OCCURS", .strength = 1};
    y.id = y.name = "y";
    /* z shares x's partition, so that only the tenant tells their cursors apart */
    static char zid[8];
    uint32_t px = hx_partition_for_key("x", 1, 8);
    for (int i = 0; i < 100; i++) {
        snprintf(zid, sizeof zid, "z%d", i);
        if (hx_partition_for_key(zid, strlen(zid), 8) == px)
            break;
    }
    z.id = z.name = zid;
    z.tenant = "t2";
    /* t1: x and y and x->y at 10, x again at 12; t2: z at 11 and 13 */
    hx_graph_op_t t1[] = {x, y, xy, x};
    int64_t t1_at[] = {10, 10, 10, 12};
    hx_graph_op_t t2[] = {z, z};
    int64_t t2_at[] = {11, 13};
    produce_runs(&v, t1, t1_at, 4);
    produce_runs(&v, t2, t2_at, 2);
    CHECK_INT(hx_graph_sync(v.g, 0, 10000, &e), 0);
    CHECK_INT(mentions(v.g, "t1", "x"), 2);
    CHECK_INT(mentions(v.g, "t2", zid), 2);
    env_close(&v);
    if (env_open(&v, "runs", 0))
        return;
    /* a restarted extractor's regrouping: t2 from 11 to 15, t1 from 10 to 14 */
    hx_graph_op_t t2b[] = {z, z, z};
    int64_t t2b_at[] = {11, 13, 15};
    hx_graph_op_t t1b[] = {x, y, xy, x, xy};
    int64_t t1b_at[] = {10, 10, 10, 12, 14};
    produce_runs(&v, t2b, t2b_at, 3);
    produce_runs(&v, t1b, t1b_at, 5);
    CHECK_INT(hx_graph_sync(v.g, 0, 10000, &e), 0);
    CHECK_INT(mentions(v.g, "t1", "x"), 2);
    CHECK_INT(mentions(v.g, "t1", "y"), 1);
    CHECK_INT(mentions(v.g, "t2", zid), 3);
    hx_graph_related_q_t q = {.tenant = "t1", .id = "x", .depth = 1, .limit = 10, .rel_type = "CO_OCCURS",
                              .direction = HX_GRAPH_DIR_OUT};
    hx_graph_result_t r = {0};
    CHECK_INT(hx_graph_related(v.g, &q, &r, &e), 0);
    CHECK_INT(r.n_hits, 1);
    if (r.n_hits == 1)
        CHECK(r.hits[0].via.strength == 2.0); /* offsets 10 and 14, once each */
    hx_graph_result_free(&r);
    hx_graph_progress_t p;
    hx_graph_progress(v.g, &p);
    CHECK(p.duplicates_skipped >= 2);
    env_close(&v);
}

/* ---- merged upserts ---- */

/* The same random extraction-like ops (fixed seed), encoded record by
 * record, merged within records and merged across records, applied to
 * three stores: every node and relationship must come out the same, and
 * merging must really take items away. */
#define CO_IDS 6
#define CO_OPS 3000

static uint64_t co_rnd(uint64_t *s, uint64_t n)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (*s >> 33) % n;
}

static size_t co_items(const hx_graph_records_t *rec)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->n; i++) {
        hx_graph_ops_t out = {0};
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_decode(rec->msgs[i].value, rec->msgs[i].value_len, &out, NULL, &e), 0);
        n += out.n;
        hx_graph_ops_free(&out);
    }
    return n;
}

static void test_coalesce(void)
{
    static const char *ids[CO_IDS] = {"a", "b", "c", "d", "e", "f"};
    static const char *names[] = {"Alice", "alice", "ALICE"};
    static const char *al[] = {"Al", "Ally", "A. C.", "Lissa", "al"};
    static const double conf[] = {0.5, 0.75, 0.9, 1.0};
    static const char *rtypes[] = {"CO_OCCURS", "MENTIONS"};
    hx_graph_op_t *ops = calloc(CO_OPS, sizeof *ops);
    int64_t *offs = calloc(CO_OPS, sizeof *offs);
    json_t **props = calloc(CO_OPS, sizeof *props);
    uint64_t seed = 42;
    /* One time for all: an item takes its envelope's time (the newest of its
     * ops), and the three encodings close envelopes in different places. */
    int64_t off = 100, ts = 1000;
    for (size_t i = 0; i < CO_OPS; i++) {
        if (co_rnd(&seed, 4) == 0) /* a new source record */
            off += 1 + (int64_t)co_rnd(&seed, 3);
        offs[i] = off;
        hx_graph_op_t *op = &ops[i];
        if (co_rnd(&seed, 2)) {
            *op = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t", .ts_ms = ts,
                                  .id = ids[co_rnd(&seed, CO_IDS)], .label = "Entity", .type = "person",
                                  .name = co_rnd(&seed, 20) ? names[0] : names[co_rnd(&seed, 3)],
                                  .mentions = (int64_t)co_rnd(&seed, 4), .confidence = conf[co_rnd(&seed, 4)]};
            size_t na = co_rnd(&seed, 3);
            op->aliases = na ? &al[co_rnd(&seed, 3)] : NULL;
            op->n_aliases = na;
            uint64_t pk = co_rnd(&seed, 5);
            if (pk) {
                json_t *o = json_object();
                if (pk & 1)
                    json_object_set_new(o, "numbers", json_pack("[I]", (json_int_t)co_rnd(&seed, 100)));
                if (pk & 2)
                    json_object_set_new(o, "dates", json_pack("[s]", co_rnd(&seed, 2) ? "2026-01-02" : "May"));
                if (pk == 4)
                    json_object_set_new(o, "dates", json_null()); /* removes the key */
                op->properties = props[i] = o;
            }
        } else {
            size_t a = co_rnd(&seed, CO_IDS), b = (a + 1 + co_rnd(&seed, CO_IDS - 1)) % CO_IDS;
            *op = (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t", .ts_ms = ts, .from = ids[a],
                                  .to = ids[b], .rel_type = rtypes[co_rnd(&seed, 2)],
                                  .strength = co_rnd(&seed, 2) ? 1.0 : 0.5, .strength_set = co_rnd(&seed, 30) == 0};
        }
    }
    env_t v[3];
    size_t items[3] = {0};
    for (int m = 0; m < 3; m++) {
        char name[16];
        snprintf(name, sizeof name, "coalesce%d", m);
        if (env_open(&v[m], name, 1))
            goto cleanup;
        hx_graph_encode_opts_t eo = {.source = "node-x", .partitions = 4, .src = "helixagent.conversations/1",
                                     .src_offsets = offs, .coalesce = m, .max_items = 300};
        hx_graph_records_t rec;
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_encode(ops, CO_OPS, &eo, &rec, &e), 0);
        items[m] = co_items(&rec);
        CHECK_INT(hx_broker_produce(v[m].b, rec.msgs, rec.n, NULL, &e), 0);
        hx_graph_records_free(&rec);
        CHECK_INT(hx_graph_sync(v[m].g, 0, 10000, &e), 0);
    }
    CHECK_INT(items[0], CO_OPS);
    CHECK(items[1] < items[0]);
    CHECK(items[2] < items[1] / 4);
    for (int m = 1; m < 3; m++)
        for (size_t i = 0; i < CO_IDS; i++) {
            hx_graph_result_t r0 = {0}, r1 = {0};
            hx_err_t e = {0};
            CHECK_INT(hx_graph_get(v[0].g, "t", ids[i], &r0, &e), 0);
            CHECK_INT(hx_graph_get(v[m].g, "t", ids[i], &r1, &e), 0);
            if (r0.n_nodes == 1 && r1.n_nodes == 1) {
                const hx_graph_entity_t *a = &r0.nodes[0], *b = &r1.nodes[0];
                CHECK_STR(b->name, a->name);
                CHECK_INT(b->mentions, a->mentions);
                CHECK(fabs(b->confidence - a->confidence) < 1e-9);
                CHECK_INT(b->created_at, a->created_at);
                CHECK_INT(b->updated_at, a->updated_at);
                CHECK_STR(b->properties, a->properties);
                CHECK_INT(b->n_aliases, a->n_aliases);
                for (size_t k = 0; k < a->n_aliases && k < b->n_aliases; k++)
                    CHECK_STR(b->aliases[k], a->aliases[k]);
            } else {
                CHECK_INT(r1.n_nodes, r0.n_nodes);
            }
            hx_graph_result_free(&r0);
            hx_graph_result_free(&r1);
            hx_graph_related_q_t q = {.tenant = "t", .id = ids[i], .depth = 1, .limit = 100,
                                      .direction = HX_GRAPH_DIR_OUT};
            CHECK_INT(hx_graph_related(v[0].g, &q, &r0, &e), 0);
            CHECK_INT(hx_graph_related(v[m].g, &q, &r1, &e), 0);
            CHECK_INT(r1.n_hits, r0.n_hits);
            for (size_t k = 0; k < r0.n_hits && k < r1.n_hits; k++) {
                const hx_graph_rel_t *a = &r0.hits[k].via, *b = &r1.hits[k].via;
                CHECK_STR(b->id, a->id);
                CHECK(b->strength == a->strength);
                CHECK_INT(b->created_at, a->created_at);
                CHECK_INT(b->updated_at, a->updated_at);
            }
            hx_graph_result_free(&r0);
            hx_graph_result_free(&r1);
        }
cleanup:
    for (int m = 0; m < 3; m++)
        if (v[m].g)
            env_close(&v[m]);
    for (size_t i = 0; i < CO_OPS; i++)
        json_decref(props[i]);
    free(props);
    free(offs);
    free(ops);
}

/* A merged item travels under the newest record it holds: a record whose
 * upserts all folded into an earlier one's item is still covered, so a
 * restarted extractor's record-by-record envelope of it is dropped. */
static void test_coalesce_runs(void)
{
    env_t v;
    if (env_open(&v, "coalesce-runs", 1))
        return;
    hx_err_t e = {0};
    hx_graph_op_t x = {.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t1", .ts_ms = 1, .id = "x", .type = "person",
                       .name = "x", .mentions = 1, .confidence = 1};
    hx_graph_op_t ops[] = {x, x, x};
    int64_t at[] = {10, 11, 12};
    hx_graph_encode_opts_t eo = {.source = "node-x", .partitions = 8, .src = "helixagent.conversations/5",
                                 .src_offsets = at, .coalesce = 2};
    hx_graph_records_t rec;
    CHECK_INT(hx_graph_events_encode(ops, 3, &eo, &rec, &e), 0);
    CHECK_INT(rec.n, 1);
    CHECK_INT(co_items(&rec), 2);
    CHECK_INT(hx_broker_produce(v.b, rec.msgs, rec.n, NULL, &e), 0);
    hx_graph_records_free(&rec);
    /* the re-read: 11 and 12 again, then 13 */
    hx_graph_op_t again[] = {x, x, x};
    int64_t again_at[] = {11, 12, 13};
    eo.src_offsets = again_at;
    eo.coalesce = 1;
    CHECK_INT(hx_graph_events_encode(again, 3, &eo, &rec, &e), 0);
    CHECK_INT(hx_broker_produce(v.b, rec.msgs, rec.n, NULL, &e), 0);
    hx_graph_records_free(&rec);
    CHECK_INT(hx_graph_sync(v.g, 0, 10000, &e), 0);
    CHECK_INT(mentions(v.g, "t1", "x"), 4);
    env_close(&v);
}

/* An extractor that produced a poll's events merged and died before
 * committing: its successor reads those records again, and must merge them
 * only record by record (the window after a join), or the graph consumer
 * would apply the first one's records a second time. */
#define WIN_MSGS 300
static void test_coalesce_window(void)
{
    env_t v;
    hx_config_defaults(&v.cfg);
    snprintf(v.cfg.node.data_dir, sizeof v.cfg.node.data_dir, "%s/window", base);
    v.cfg.event_log.fsync = HX_FSYNC_NEVER;
    hx_rm_rf(v.cfg.node.data_dir);
    hx_err_t e = {0};
    hx_broker_t *b = NULL;
    hx_graph_extractor_t *x = NULL;
    hx_graph_ops_t ops = {0};
    int64_t *offs = calloc(WIN_MSGS * 16, sizeof *offs);
    CHECK_INT(hx_broker_open(&v.cfg, NULL, &b, &e), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &e), 0);
    CHECK_INT(hx_graph_extractor_new(&v.cfg, &x, &e), 0);
    if (!b || !x || !offs)
        goto cleanup;
    const char *text = "Alice Chen moved Redis to Berlin.";
    for (int i = 0; i < WIN_MSGS; i++) {
        int64_t off;
        produce_message(b, "t1", "conv-w", "u-w", text, &off);
        if (i >= 100)
            continue;
        size_t n0 = ops.n;
        hx_graph_message_t m = {.tenant = "t1", .conversation_id = "conv-w", .user_id = "u-w", .content = text,
                                .ts_ms = 1};
        CHECK_INT(hx_graph_extract_message(x, &m, &ops, &e), 0);
        for (size_t k = n0; k < ops.n; k++)
            offs[k] = off;
    }
    char src[64];
    snprintf(src, sizeof src, "%s/%d", HX_TOPIC_CONVERSATIONS, produced_partition);
    int parts;
    int64_t maxb;
    CHECK_INT(hx_broker_topic_limits(b, HX_TOPIC_ENTITIES, &parts, &maxb, &e), 0);
    hx_graph_encode_opts_t eo = {.source = "node-t", .partitions = parts, .src = src, .src_offsets = offs,
                                 .coalesce = 2};
    hx_graph_records_t rec;
    CHECK_INT(hx_graph_events_encode(ops.ops, ops.n, &eo, &rec, &e), 0);
    CHECK_INT(hx_broker_produce(b, rec.msgs, rec.n, NULL, &e), 0);
    hx_graph_records_free(&rec);
    hx_broker_close(b);
    b = NULL;
    /* the successor: nothing of helix-graph-extract was committed */
    if (env_open(&v, "window", 0))
        goto cleanup;
    CHECK_INT(hx_graph_sync(v.g, 1, 20000, &e), 0);
    char alice[17];
    hx_graph_entity_id("t1", "person", "Alice Chen", alice);
    CHECK_INT(mentions(v.g, "t1", alice), WIN_MSGS);
    env_close(&v);
cleanup:
    hx_graph_ops_free(&ops);
    hx_graph_extractor_free(x);
    hx_broker_close(b);
    free(offs);
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    base = hx_test_tmpdir("graph-pipe");
    if (!strcmp(part, "all") || !strcmp(part, "events"))
        RUN(test_codec);
    if (!strcmp(part, "all") || !strcmp(part, "events"))
        RUN(test_coalesce);
    if (!strcmp(part, "all") || !strcmp(part, "restart"))
        RUN(test_coalesce_runs);
    if (!strcmp(part, "all") || !strcmp(part, "restart"))
        RUN(test_coalesce_window);
    if (!strcmp(part, "all") || !strcmp(part, "pipeline"))
        RUN(test_publish_and_extract);
    if (!strcmp(part, "all") || !strcmp(part, "restart"))
        RUN(test_restart);
    if (!strcmp(part, "all") || !strcmp(part, "restart"))
        RUN(test_runs_cursors);
    hx_rm_rf(base);
    free(base);
    return HX_TEST_DONE();
}
