// HX_TEST_PARTS: embedded kafka
/* Replay through the index, on the embedded broker and on Kafka (the
 * in-process mock cluster): a replay from a seq or a
 * time reads only the records it needs, and what it returns equals the full
 * replay filtered afterwards, over a seeded random history of adds, retried
 * adds, updates (also of created_at), deletes and re-adds of deleted ids.
 * Also: ingest rejects updates and deletes of messages that do not exist
 * (404) and writes nothing of such a batch. */
#include "helix/hx_api_requests.h"
#include "helix/hx_context.h"
#include "helix/hx_hash.h"
#include "../hx_test.h"

static uint64_t rng = 20240605;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng >> 33) % n);
}

static int on_kafka; /* the "kafka" part: same tests on the mock cluster */

typedef struct {
    hx_broker_t *b;
    hx_context_t *ctx;
    char *dir;
} env_t;

static void env_open(env_t *v, const char *name)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_err_t e = {0};
    v->dir = hx_test_tmpdir(name);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", v->dir);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    if (on_kafka) {
        snprintf(cfg.backends.events, sizeof cfg.backends.events, "kafka");
        snprintf(cfg.kafka.bootstrap_servers, sizeof cfg.kafka.bootstrap_servers, "mock:1");
        cfg.kafka.producer.linger_ms = 1;
    }
    CHECK_INT(hx_broker_open(&cfg, NULL, &v->b, &e), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(v->b, &e), 0);
    CHECK_INT(hx_context_new(&cfg, v->b, NULL, &v->ctx, &e), 0);
}

static void env_close(env_t *v)
{
    hx_context_free(v->ctx);
    hx_broker_close(v->b);
    free(v->dir);
}

static int ingest(env_t *v, const char *conv, json_t *items, hx_err_t *e)
{
    json_t *body = json_pack("{s:o}", "messages", items), *out = NULL;
    int rc = hx_api_ctx_ingest_json(v->ctx, NULL, conv, body, &out, e);
    json_decref(body);
    json_decref(out);
    return rc;
}

/* Random history: ids m0..; live[] mirrors which exist. */
static void build_history(env_t *v, const char *conv, int steps)
{
    int live[400] = {0}, next = 0;
    hx_err_t e = {0};
    for (int s = 0; s < steps; s++) {
        json_t *items = json_array();
        int nb = 1 + (int)rnd(4);
        for (int k = 0; k < nb; k++) {
            char id[16], text[96];
            int r = (int)rnd(100), t = next ? (int)rnd((uint32_t)next) : 0;
            snprintf(text, sizeof text, "Step %d item %d: Alice Chen moved ticket T-%u to Berlin.", s, k, rnd(1000));
            json_int_t ca = 1000 + (json_int_t)rnd(100000);
            if ((r < 50 || !next) && next < 400) {
                snprintf(id, sizeof id, "m%d", next);
                live[next++] = 1;
                json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:I}", "message_id", id, "role",
                                                       rnd(2) ? "user" : "assistant", "content", text, "created_at",
                                                       ca));
                continue;
            }
            snprintf(id, sizeof id, "m%d", t);
            if (r < 65 && live[t]) /* update, sometimes moving created_at */
                json_array_append_new(items, rnd(2) ? json_pack("{s:s,s:s,s:s,s:I}", "op", "update", "message_id",
                                                                id, "content", text, "created_at", ca)
                                                    : json_pack("{s:s,s:s,s:s}", "op", "update", "message_id", id,
                                                                "content", text));
            else if (r < 78 && live[t]) {
                json_array_append_new(items, json_pack("{s:s,s:s}", "op", "delete", "message_id", id));
                live[t] = 0;
            } else if (r < 90 && live[t]) /* a retried add: replaces, keeps its seq */
                json_array_append_new(items, json_pack("{s:s,s:s,s:s}", "message_id", id, "role", "user",
                                                       "content", text));
            else if (!live[t]) { /* a deleted id added again: a new message */
                json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:I}", "message_id", id, "role", "assistant",
                                                       "content", text, "created_at", ca));
                live[t] = 1;
            }
        }
        if (json_array_size(items) == 0) {
            json_decref(items);
            continue;
        }
        int rc = ingest(v, conv, items, &e);
        CHECK_INT(rc, 0);
        if (rc)
            fprintf(stderr, "ingest: %s\n", e.msg);
    }
}

static json_t *messages(env_t *v, const char *conv, uint64_t from, int64_t since)
{
    json_t *out = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_context_messages(v->ctx, NULL, conv, from, since, 10000, &out, &e), 0);
    return out;
}

static json_t *replay(env_t *v, const char *conv, uint64_t from, int64_t since)
{
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.conversation_id = conv;
    rq.max_tokens = 1000000000; /* nothing to compress: the replayed messages verbatim */
    rq.from_seq = from;
    rq.since_ms = since;
    json_t *out = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_context_replay(v->ctx, &rq, &out, &e), 0);
    return out;
}

static json_t *replay_stat(json_t *r, const char *k)
{
    return json_object_get(json_object_get(json_object_get(r, "compression_stats"), "replay"), k);
}

static void test_filtered_equals_full(void)
{
    env_t v;
    env_open(&v, "ctx-replay-filter");
    build_history(&v, "c", 300);
    json_t *all = messages(&v, "c", 0, 0);
    uint64_t max = (uint64_t)json_integer_value(json_object_get(all, "max_seq"));
    CHECK(max > 300);
    json_decref(all);
    const uint64_t froms[] = {2, max / 3, max / 2, max * 3 / 4, max - 5, max + 1};
    const int64_t sinces[] = {0, 50000, 95000};
    int partial_runs = 0;
    for (size_t i = 0; i < sizeof froms / sizeof *froms; i++)
        for (size_t k = 0; k < sizeof sinces / sizeof *sinces; k++) {
            /* reference: the full state (cached by an unfiltered read), filtered */
            hx_context_cache_clear(v.ctx);
            json_decref(messages(&v, "c", 0, 0));
            json_t *want = messages(&v, "c", froms[i], sinces[k]);
            json_t *want_r = replay(&v, "c", froms[i], sinces[k]);
            CHECK(json_is_false(replay_stat(want_r, "partial")));
            /* cold: only the records the filter needs */
            hx_context_cache_clear(v.ctx);
            json_t *got = messages(&v, "c", froms[i], sinces[k]);
            hx_context_cache_clear(v.ctx);
            json_t *got_r = replay(&v, "c", froms[i], sinces[k]);
            CHECK(json_equal(json_object_get(want, "messages"), json_object_get(got, "messages")));
            CHECK(json_equal(json_object_get(want_r, "messages"), json_object_get(got_r, "messages")));
            CHECK_INT(json_integer_value(json_object_get(want, "max_seq")),
                      json_integer_value(json_object_get(got, "max_seq")));
            if (json_is_true(replay_stat(got_r, "partial"))) {
                partial_runs++;
                CHECK(json_integer_value(replay_stat(got_r, "records_fetched")) * 2 <
                      json_integer_value(replay_stat(got_r, "records_indexed")));
            }
            if (!json_equal(json_object_get(want, "messages"), json_object_get(got, "messages")))
                fprintf(stderr, "from_seq %llu since %lld: filtered replay differs\n", (unsigned long long)froms[i],
                        (long long)sinces[k]);
            json_decref(want);
            json_decref(got);
            json_decref(want_r);
            json_decref(got_r);
        }
    CHECK(partial_runs >= 8); /* the later starting points read a fraction of the records */
    env_close(&v);
}

static void test_missing_targets_rejected(void)
{
    env_t v;
    env_open(&v, "ctx-replay-targets");
    hx_err_t e = {0};
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "message_id", "a", "role", "user", "content",
                                        "first", "message_id", "b", "role", "user", "content", "second"),
                     &e),
              0);
    /* unknown id, in a batch whose other items are fine: 404, nothing written */
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "op", "update", "message_id", "a",
                                        "content", "edited", "op", "update", "message_id", "zz", "content", "x"),
                     &e),
              HX_ENOTFOUND);
    CHECK_CONTAINS(e.msg, "'zz'");
    CHECK_CONTAINS(e.msg, "nothing of the batch was written");
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s}]", "op", "delete", "message_id", "zz"), &e), HX_ENOTFOUND);
    /* deleted earlier in the same batch */
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s},{s:s,s:s,s:s}]", "op", "delete", "message_id", "a", "op",
                                        "update", "message_id", "a", "content", "x"),
                     &e),
              HX_ENOTFOUND);
    CHECK_CONTAINS(e.msg, "deleted earlier in this batch");
    /* unknown conversation */
    CHECK_INT(ingest(&v, "other", json_pack("[{s:s,s:s}]", "op", "delete", "message_id", "a"), &e), HX_ENOTFOUND);
    json_t *m = messages(&v, "c", 0, 0);
    CHECK_INT(json_integer_value(json_object_get(m, "max_seq")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(m, "messages"), 0), "content")),
              "first");
    json_decref(m);
    /* added earlier in the same batch, and existing ones: accepted */
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s}]", "message_id", "n", "role", "user",
                                        "content", "new", "op", "update", "message_id", "n", "content", "newer", "op",
                                        "delete", "message_id", "b"),
                     &e),
              0);
    /* a deleted id cannot be deleted again, but can be added again */
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s}]", "op", "delete", "message_id", "b"), &e), HX_ENOTFOUND);
    CHECK_INT(ingest(&v, "c", json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "message_id", "b", "role", "user", "content",
                                        "back", "op", "delete", "message_id", "b"),
                     &e),
              0);
    m = messages(&v, "c", 0, 0);
    CHECK_INT(json_array_size(json_object_get(m, "messages")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(m, "messages"), 1), "content")),
              "newer");
    json_decref(m);
    env_close(&v);
}

/* A conversation sharing its partition with a busier one: its records are
 * sparse, so a replay reads them in several spans; every span must be read
 * (a cold replay once stopped after the first). */
static void test_sparse_records(void)
{
    env_t v;
    env_open(&v, "ctx-replay-sparse");
    char busy[32];
    uint32_t want = hx_partition_for_key("quiet", 5, 16);
    for (int i = 0;; i++) {
        snprintf(busy, sizeof busy, "busy-%d", i);
        if (hx_partition_for_key(busy, strlen(busy), 16) == want)
            break;
    }
    hx_err_t e = {0};
    for (int r = 0; r < 120; r++) {
        json_t *many = json_array();
        for (int k = 0; k < 6; k++)
            json_array_append_new(many, json_pack("{s:s,s:s}", "role", "user", "content", "busy chatter"));
        CHECK_INT(ingest(&v, busy, many, &e), 0);
        CHECK_INT(ingest(&v, "quiet", json_pack("[{s:s,s:s}]", "role", "assistant", "content", "quiet line"), &e), 0);
    }
    hx_context_cache_clear(v.ctx);
    json_t *m = messages(&v, "quiet", 0, 0);
    CHECK_INT(json_array_size(json_object_get(m, "messages")), 120);
    json_decref(m);
    hx_context_cache_clear(v.ctx);
    json_t *r = replay(&v, "quiet", 71, 0);
    CHECK_INT(json_array_size(json_object_get(r, "messages")), 50);
    CHECK(json_is_true(replay_stat(r, "partial")));
    CHECK_INT(json_integer_value(replay_stat(r, "records_fetched")), 50);
    json_decref(r);
    env_close(&v);
}

static json_t *replay_windows(env_t *v, const char *conv)
{
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.conversation_id = conv;
    rq.strategy = "window_summary";
    rq.target_ratio = 0.3;
    rq.window_size = 20;
    rq.preserve_recent_count = 5;
    json_t *out = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_context_replay(v->ctx, &rq, &out, &e), 0);
    return out;
}

/* After 10 new messages only the state's new records are read and the
 * closed windows' summaries come from the cache. (New messages of a similar
 * size keep the windows' share of the budget on its 1/200 step; see
 * docs/context.md.) */
static void test_recompress_reuses_windows(void)
{
    env_t v;
    env_open(&v, "ctx-replay-reuse");
    hx_err_t e = {0};
    for (int b = 0; b < 2; b++) {
        json_t *items = json_array();
        for (int i = 0; i < 100; i++)
            json_array_append_new(items, json_pack("{s:s,s:s}", "role", i % 2 ? "user" : "assistant", "content",
                                                   "Alice Chen moved the PostgreSQL migration to Berlin. We decided "
                                                   "on 3 replicas. What about Redis?"));
        CHECK_INT(ingest(&v, "w", items, &e), 0);
    }
    json_t *r1 = replay_windows(&v, "w");
    json_t *ws = json_object_get(json_object_get(r1, "compression_stats"), "window_summaries");
    CHECK_INT(json_integer_value(json_object_get(ws, "windows")), 10); /* 195 old messages / 20 */
    CHECK_INT(json_integer_value(json_object_get(ws, "reused")), 0);
    json_t *items = json_array();
    for (int i = 0; i < 10; i++)
        json_array_append_new(items, json_pack("{s:s,s:s}", "role", "user", "content",
                                               "Dana Ortiz moved the ClickHouse migration to Sydney. We decided "
                                               "on 5 replicas. What about Neo4j?"));
    CHECK_INT(ingest(&v, "w", items, &e), 0);
    json_t *r2 = replay_windows(&v, "w");
    json_t *st = json_object_get(r2, "compression_stats");
    ws = json_object_get(st, "window_summaries");
    CHECK_INT(json_integer_value(json_object_get(ws, "windows")), 11); /* 205 / 20 */
    CHECK(json_integer_value(json_object_get(ws, "reused")) >= 9); /* all closed windows */
    CHECK_INT(json_integer_value(replay_stat(r2, "records_fetched")), 10);
    CHECK(json_is_true(json_object_get(st, "fits_budget")));
    json_decref(r1);
    json_decref(r2);
    env_close(&v);
}

int main(int argc, char **argv)
{
    on_kafka = argc > 1 && strcmp(argv[1], "kafka") == 0;
    RUN(test_recompress_reuses_windows);
    RUN(test_sparse_records);
    RUN(test_filtered_equals_full);
    RUN(test_missing_targets_rejected);
    return HX_TEST_DONE();
}
