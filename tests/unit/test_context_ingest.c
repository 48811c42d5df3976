// HX_TEST_PARTS: embedded kafka
/* Concurrent conversation ingest, on the embedded log and on Kafka (the
 * in-process mock cluster). Ingests of different conversations run side by
 * side and the index is fed the delivered envelopes (nothing read back), so
 * this checks what that must keep: every acknowledged message is there once,
 * each conversation's seqs are 1..n in log order with no gap, updates and
 * deletes racing with adds of the same conversation see them, and the index
 * built that way equals the one a restart rebuilds from the log. */
#include "helix/hx_api_requests.h"
#include "helix/hx_context.h"
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"
#include "../hx_test.h"

#include <pthread.h>

#define THREADS 6
#define CONVS 5     /* shared by every thread: same-conversation races */
#define PER_THREAD 60

static int on_kafka;
static hx_context_t *ctx;

static void open_engine(const char *dir, hx_broker_t **b)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_err_t e = {0};
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    if (on_kafka) {
        snprintf(cfg.backends.events, sizeof cfg.backends.events, "kafka");
        snprintf(cfg.kafka.bootstrap_servers, sizeof cfg.kafka.bootstrap_servers, "mock:1");
        cfg.kafka.producer.linger_ms = 1;
    }
    CHECK_INT(hx_broker_open(&cfg, NULL, b, &e), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(*b, &e), 0);
    CHECK_INT(hx_context_new(&cfg, *b, NULL, &ctx, &e), 0);
}

static int post(const char *conv, const char *body_text, json_t **out)
{
    json_t *body = json_loads(body_text, 0, NULL);
    hx_err_t e = {0};
    int rc = hx_api_ctx_ingest_json(ctx, NULL, conv, body, out, &e);
    json_decref(body);
    return rc;
}

typedef struct {
    int id, failed;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char conv[16], body[160];
        snprintf(conv, sizeof conv, "c%d", i % CONVS);
        snprintf(body, sizeof body, "{\"message_id\":\"t%d-%d\",\"role\":\"user\",\"content\":\"message %d of %d\"}",
                 w->id, i, i, w->id);
        json_t *out = NULL;
        if (post(conv, body, &out))
            w->failed++;
        json_decref(out);
        /* An update right behind its own add: it must find the message even
         * while other ingests of the conversation are in flight. */
        if (i % 7 == 0) {
            snprintf(body, sizeof body, "{\"op\":\"update\",\"message_id\":\"t%d-%d\",\"content\":\"edited %d\"}",
                     w->id, i, w->id);
            if (post(conv, body, &out))
                w->failed++;
            json_decref(out);
        }
    }
    return NULL;
}

/* Stats of every conversation, as one comparable string. */
static char *all_stats(void)
{
    json_t *all = json_object();
    for (int k = 0; k < CONVS; k++) {
        char conv[16];
        snprintf(conv, sizeof conv, "c%d", k);
        json_t *st = NULL, *msgs = NULL;
        hx_err_t e = {0};
        CHECK_INT(hx_context_stats(ctx, NULL, conv, &st, &e), 0);
        CHECK_INT(hx_context_messages(ctx, NULL, conv, 0, 0, 10000, &msgs, &e), 0);
        json_t *pick = json_pack("{s:O?,s:O?,s:O?,s:O?}", "messages", json_object_get(st, "messages"),
                                 "max_seq", json_object_get(st, "max_seq"), "records", json_object_get(st, "records"),
                                 "live", msgs);
        json_object_set_new(all, conv, pick);
        json_decref(st);
        json_decref(msgs);
    }
    char *s = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(all);
    return s;
}

static void test_concurrent_ingest(void)
{
    char *dir = hx_test_tmpdir(on_kafka ? "ingest-kafka" : "ingest");
    hx_broker_t *b = NULL;
    open_engine(dir, &b);
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker_t){t, 0};
        pthread_create(&th[t], NULL, worker, &w[t]);
    }
    int failed = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        failed += w[t].failed;
    }
    CHECK_INT(failed, 0);
    /* Every message once; seqs dense from 1, in order. */
    for (int k = 0; k < CONVS; k++) {
        char conv[16];
        snprintf(conv, sizeof conv, "c%d", k);
        json_t *msgs = NULL;
        hx_err_t e = {0};
        CHECK_INT(hx_context_messages(ctx, NULL, conv, 0, 0, 10000, &msgs, &e), 0);
        json_t *arr = json_object_get(msgs, "messages");
        CHECK_INT((int)json_array_size(arr), THREADS * PER_THREAD / CONVS);
        size_t i;
        json_t *m;
        int64_t prev = 0;
        int ordered = 1, edited = 0;
        json_array_foreach(arr, i, m)
        {
            int64_t seq = json_integer_value(json_object_get(m, "seq"));
            ordered &= seq > prev;
            prev = seq;
            edited += strncmp(json_string_value(json_object_get(m, "content")), "edited", 6) == 0;
        }
        CHECK(ordered);
        CHECK(edited > 0);
        json_decref(msgs);
        json_t *st = NULL;
        CHECK_INT(hx_context_stats(ctx, NULL, conv, &st, &e), 0);
        /* adds + updates of this conversation, seqs 1..n without a gap */
        int want = 0;
        for (int i = k; i < PER_THREAD; i += CONVS)
            want += THREADS * (1 + (i % 7 == 0));
        CHECK_INT(json_integer_value(json_object_get(st, "records")), want);
        CHECK_INT(json_integer_value(json_object_get(st, "max_seq")), want);
        json_decref(st);
    }
    char *live = all_stats();
    hx_context_free(ctx);
    ctx = NULL;
    if (!on_kafka) {
        /* The index a restart rebuilds from the log is the same one. */
        hx_broker_close(b);
        open_engine(dir, &b);
        char *rebuilt = all_stats();
        CHECK_STR(rebuilt, live);
        free(rebuilt);
        hx_context_free(ctx);
        ctx = NULL;
    }
    free(live);
    hx_broker_close(b);
    free(dir);
}

/* The text forms of one-message ingest: the body read from its text gives
 * the items its tree gives (and only bodies the tree path accepts), the
 * answer is the bytes json_dumps gives for it, and the records on the topic
 * hold data in json_dumps' form (a decoded record encodes to the same bytes). */
static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void test_text_forms(void)
{
    char *dir = hx_test_tmpdir(on_kafka ? "text-kafka" : "text");
    hx_broker_t *b = NULL;
    open_engine(dir, &b);
    static const char *const bodies[] = {
        "{\"role\":\"user\",\"content\":\"plain\"}",
        " {\"role\" : \"assistant\", \"content\":\"q\\\"b\\\\s\\/\\u0001\\n\\t\\r\\b\\f \\u00e9 \\ud83d\\ude00 \xc3\xa9\","
        "\"model\":\"m\",\"provider\":null,\"tokens\":12,\"created_at\":1700000000000,\"user_id\":\"u<1>\","
        "\"session_id\":\"s\",\"message_id\":\"id-\\u00e9\"}\n",
        "{\"op\":\"update\",\"message_id\":\"id-\\u00e9\",\"content\":\"edited\",\"tokens\":null,\"role\":\"user\"}",
        "{\"op\":\"add\",\"role\":\"system\",\"content\":\"x\",\"tokens\":-0}",
        "{\"op\":\"complete\"}",
        "{\"op\":\"delete\",\"message_id\":\"id-\\u00e9\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"content\":\"b\"}]}",
        /* refused by the text reader, some by the tree path too */
        "{\"role\":\"user\",\"content\":\"dup\",\"content\":\"dup2\"}",
        "{\"role\":\"user\",\"content\":\"big\",\"tokens\":99999999999999999999}",
        "{\"role\":\"user\",\"content\":\"real\",\"tokens\":1.0}",
        "{\"role\":\"user\",\"content\":\"neg\",\"tokens\":-1}",
        "{\"op\":\"nope\"}",
        "{\"op\":null}",
        "{\"role\":\"user\",\"content\":\"x\"} trailing",
        "{\"role\":\"user\",\"content\":\"\\ud800\"}",
        "{\"role\":\"user\",\"content\":\"nul\\u0000\"}",
        "{\"role\":\"user\",\"content\":\"bad \xc0\xaf\"}",
        "{\"role\":\"user\",\"content\":\"x\",\"extra\":1}",
        "[]",
    };
    for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        const char *bt = bodies[k];
        hx_ctx_ingest_t fast, tree;
        int frc = hx_api_ctx_ingest_parse_text(bt, strlen(bt), &fast);
        json_t *body = json_loadb(bt, strlen(bt), 0, NULL);
        hx_err_t e = {0};
        int trc = body ? hx_api_ctx_ingest_parse(body, &tree, &e) : HX_EINVAL;
        CHECK(frc == HX_OK || frc == HX_EAGAIN);
        if (frc == HX_OK) {
            CHECK_INT(trc, 0);
            CHECK_INT((int)fast.n, 1);
            if (!trc && tree.n == 1) {
                const hx_ctx_item_t *x = &fast.items[0], *y = &tree.items[0];
                CHECK(x->op == y->op && x->tokens == y->tokens && x->created_at == y->created_at);
                CHECK(same_str(x->message_id, y->message_id) && same_str(x->role, y->role) &&
                      same_str(x->content, y->content) && same_str(x->model, y->model) &&
                      same_str(x->provider, y->provider) && same_str(x->user_id, y->user_id) &&
                      same_str(x->session_id, y->session_id));
            }
        }
        if (k < 7)
            CHECK_INT(frc, k == 6 ? HX_EAGAIN : HX_OK); /* the batch is the tree's */
        if (frc == HX_OK) {
            fast.conversation_id = "conv-text";
            hx_buf_t out = HX_BUF_INIT;
            CHECK_INT(hx_context_ingest_text(ctx, &fast, &out, &e), 0);
            json_t *ans = json_loadb((const char *)out.data, out.len, 0, NULL);
            char *dumped = json_dumps(ans, JSON_COMPACT);
            CHECK_STR(hx_buf_cstr(&out), dumped ? dumped : "(not JSON)");
            json_t *ev = json_array_get(json_object_get(ans, "events"), 0);
            hx_fetch_t f = {0};
            CHECK_INT(hx_broker_fetch(b, HX_TOPIC_CONVERSATIONS, (int32_t)json_integer_value(json_object_get(ev, "partition")),
                                      json_integer_value(json_object_get(ev, "offset")), 1, 1 << 20, &f, &e),
                      0);
            CHECK_INT((int)f.count, 1);
            if (f.count == 1) {
                hx_envelope_t env;
                CHECK_INT(hx_envelope_decode(f.msgs[0].value, f.msgs[0].value_len, &env, &e), 0);
                hx_buf_t again = HX_BUF_INIT;
                CHECK_INT(hx_envelope_encode(&env, &again, &e), 0);
                CHECK(again.len == f.msgs[0].value_len && !memcmp(again.data, f.msgs[0].value, again.len));
                hx_buf_free(&again);
                hx_envelope_free(&env);
            }
            hx_fetch_free(&f);
            free(dumped);
            json_decref(ans);
            hx_buf_free(&out);
            hx_api_ctx_ingest_free(&fast);
        }
        if (!trc)
            hx_api_ctx_ingest_free(&tree);
        json_decref(body);
    }
    hx_context_free(ctx);
    ctx = NULL;
    hx_broker_close(b);
    free(dir);
}

int main(int argc, char **argv)
{
    on_kafka = argc > 1 && strcmp(argv[1], "kafka") == 0;
    RUN(test_concurrent_ingest);
    RUN(test_text_forms);
    return HX_TEST_DONE();
}
