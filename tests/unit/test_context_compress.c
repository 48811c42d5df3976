/* Context compression without a broker: the token estimator, every strategy,
 * preserve_recent, target_ratio, attributable summaries, quality fields, and
 * a seeded property test of the budget guarantee over random conversations. */
#include "helix/hx_context.h"
#include "../hx_test.h"

#include <math.h>

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng >> 33) % n);
}

static const char *names[] = {"Alice Chen", "Bob Li", "PostgreSQL", "KafkaCluster", "Redis", "GPT-4", "Berlin",
                              "ProjectHelix", "S3", "Dana Ortiz"};
static const char *words[] = {"latency", "budget", "schema", "migration", "index", "deploy", "cache", "query",
                              "replica", "throughput", "rollback", "incident", "review", "design", "ticket"};

/* A conversation of n messages; contents owned by the returned array. */
static hx_ctx_message_t *gen(size_t n, int explicit_tokens)
{
    hx_ctx_message_t *m = calloc(n, sizeof *m);
    static const char *roles[] = {"user", "assistant"};
    for (size_t i = 0; i < n; i++) {
        char buf[1024];
        size_t k = 0;
        int ns = 1 + (int)rnd(4);
        for (int s = 0; s < ns; s++) {
            int kind = (int)rnd(5);
            if (kind == 0)
                k += (size_t)snprintf(buf + k, sizeof buf - k, "Should %s handle the %s %s? ", names[rnd(10)],
                                      words[rnd(15)], words[rnd(15)]);
            else if (kind == 1)
                k += (size_t)snprintf(buf + k, sizeof buf - k, "We decided that %s will own the %s with %u ms. ",
                                      names[rnd(10)], words[rnd(15)], rnd(900));
            else
                k += (size_t)snprintf(buf + k, sizeof buf - k, "The %s of %s needs a %s and a %s soon. ",
                                      words[rnd(15)], names[rnd(10)], words[rnd(15)], words[rnd(15)]);
        }
        char id[32];
        snprintf(id, sizeof id, "m%zu", i);
        m[i] = (hx_ctx_message_t){.seq = i + 1, .message_id = strdup(id), .role = roles[i % 2],
                                  .content = strdup(buf), .tokens = explicit_tokens ? 5 + (int64_t)rnd(60) : 0};
    }
    return m;
}

static void gen_free(hx_ctx_message_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)m[i].message_id);
        free((char *)m[i].content);
    }
    free(m);
}

static json_t *compress(hx_ctx_message_t *m, size_t n, const char *strategy, int64_t max_tokens, double ratio,
                        int preserve)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.strategy = strategy;
    rq.max_tokens = max_tokens;
    rq.target_ratio = ratio;
    rq.preserve_recent_count = preserve;
    json_t *out = NULL;
    hx_err_t e = {0};
    int rc = hx_context_compress(&cfg, &rq, m, n, &out, &e);
    if (rc)
        fprintf(stderr, "compress: %s\n", e.msg);
    return out;
}

static int64_t stat_int(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(o, "compression_stats"), k));
}
static double stat_real(json_t *o, const char *k)
{
    return json_number_value(json_object_get(json_object_get(o, "compression_stats"), k));
}

/* Sum of the tokens the output really holds: summaries by the estimator. */
static int64_t output_tokens(json_t *o)
{
    int64_t t = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(o, "messages"), i, m)
    {
        if (json_is_true(json_object_get(m, "summary"))) {
            const char *c = json_string_value(json_object_get(m, "content"));
            CHECK_INT(json_integer_value(json_object_get(m, "tokens")), hx_context_estimate_tokens(c, strlen(c)));
            t += hx_context_estimate_tokens(c, strlen(c));
        } else {
            t += json_integer_value(json_object_get(m, "tokens"));
        }
    }
    return t;
}

static void test_estimator(void)
{
    CHECK_INT(hx_context_estimate_tokens("", 0), 0);
    CHECK_INT(hx_context_estimate_tokens("abc", 3), 1);
    CHECK_INT(hx_context_estimate_tokens("abcd", 4), 1);
    CHECK_INT(hx_context_estimate_tokens("abcde", 5), 2);
}

static void test_strategies(void)
{
    rng = 42;
    size_t n = 600;
    hx_ctx_message_t *m = gen(n, 0);
    const char *ss[] = {"window_summary", "entity_graph", "full", "hybrid"};
    for (int s = 0; s < 4; s++) {
        json_t *o = compress(m, n, ss[s], 0, 0.30, 20);
        CHECK(o != NULL);
        if (!o)
            continue;
        CHECK(json_is_true(json_object_get(o, "compressed")));
        double ratio = stat_real(o, "compression_ratio");
        if (ratio < 0.25 || ratio > 0.35)
            fprintf(stderr, "%s ratio %.3f\n", ss[s], ratio);
        CHECK(ratio >= 0.25 && ratio <= 0.35);
        CHECK(json_is_true(json_object_get(json_object_get(o, "compression_stats"), "fits_budget")));
        CHECK(output_tokens(o) <= stat_int(o, "budget_tokens"));
        CHECK_INT(output_tokens(o), stat_int(o, "compressed_tokens"));
        double er = stat_real(o, "entity_recall");
        if (er < 0.9)
            fprintf(stderr, "%s entity_recall %.3f\n", ss[s], er);
        CHECK(er >= 0.9);
        double q = stat_real(o, "quality_score");
        CHECK(q > 0 && q <= 1);
        CHECK(json_string_value(json_object_get(json_object_get(o, "compression_stats"), "quality_method")) != NULL);
        /* the last of the 20 asked for that fit an eighth of the budget are
         * verbatim and in order; summaries name their range */
        json_t *msgs = json_object_get(o, "messages");
        size_t k = json_array_size(msgs), kept = (size_t)stat_int(o, "preserved_recent");
        CHECK(kept >= 10 && kept <= 20);
        CHECK(k > kept);
        for (size_t i = 0; i < kept && k > kept; i++) {
            json_t *x = json_array_get(msgs, k - kept + i);
            CHECK(json_is_false(json_object_get(x, "summary")));
            CHECK_INT(json_integer_value(json_object_get(x, "seq")), n - kept + i + 1);
        }
        json_t *first = json_array_get(msgs, 0);
        CHECK(json_is_true(json_object_get(first, "summary")));
        CHECK(json_integer_value(json_object_get(first, "from_seq")) >= 1);
        CHECK(json_array_size(json_object_get(first, "roles")) >= 1);
        if (strcmp(ss[s], "entity_graph") == 0)
            CHECK_STR(json_string_value(json_object_get(first, "kind")), "entity_facts");
        if (strcmp(ss[s], "hybrid") == 0)
            CHECK_INT(json_array_size(json_object_get(json_object_get(o, "compression_stats"), "candidates")), 3);
        CHECK(json_array_size(json_object_get(o, "entities")) > 5);
        json_decref(o);
    }
    gen_free(m, n);
}

static void test_small_fits(void)
{
    rng = 7;
    hx_ctx_message_t *m = gen(10, 0);
    json_t *o = compress(m, 10, NULL, 100000, 0, -1);
    CHECK(o && json_is_false(json_object_get(o, "compressed")));
    CHECK_INT(json_array_size(json_object_get(o, "messages")), 10);
    CHECK(stat_real(o, "quality_score") > 0.99);
    json_decref(o);
    gen_free(m, 10);
}

static void test_bad_options(void)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.strategy = "magic";
    json_t *o = NULL;
    hx_err_t e = {0};
    hx_ctx_message_t one = {1, "a", "user", "hello", 0, 0};
    CHECK_INT(hx_context_compress(&cfg, &rq, &one, 1, &o, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "window_summary");
    hx_ctx_request_defaults(&rq);
    rq.target_ratio = 1.5;
    CHECK_INT(hx_context_compress(&cfg, &rq, &one, 1, &o, &e), HX_EINVAL);
    hx_ctx_request_defaults(&rq);
    rq.use_llm = 1;
    CHECK_INT(hx_context_compress(&cfg, &rq, &one, 1, &o, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "infinite_context.llm.endpoint");
}

/* Property: whatever the conversation, strategy, budget and preserve count,
 * the output fits max_tokens. Fixed seeds so a failure reproduces. */
static void test_budget_property(void)
{
    const char *ss[] = {"window_summary", "entity_graph", "full", "hybrid"};
    int bad = 0;
    for (int seed = 1; seed <= 60; seed++) {
        rng = (uint64_t)seed * 7919;
        size_t n = 1 + rnd(300);
        hx_ctx_message_t *m = gen(n, seed % 3 == 0);
        int64_t max = 1 + rnd(3000);
        double ratio = rnd(2) ? 0 : 0.05 + rnd(90) / 100.0;
        int preserve = (int)rnd(60);
        json_t *o = compress(m, n, ss[seed % 4], max, ratio, preserve);
        CHECK(o != NULL);
        if (o) {
            int64_t t = output_tokens(o);
            if (t > max) {
                bad++;
                fprintf(stderr, "seed %d: %lld tokens > max %lld (%s)\n", seed, (long long)t, (long long)max,
                        ss[seed % 4]);
            }
            CHECK(json_is_true(json_object_get(json_object_get(o, "compression_stats"), "fits_budget")));
            json_decref(o);
        }
        gen_free(m, n);
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    RUN(test_estimator);
    RUN(test_strategies);
    RUN(test_small_fits);
    RUN(test_bad_options);
    RUN(test_budget_property);
    return HX_TEST_DONE();
}
