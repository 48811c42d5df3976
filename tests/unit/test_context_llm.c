/* The optional LLM summariser against loopback servers, for window
 * summaries and for the `full` strategy's global summary: one that fails
 * (HTTP 500) makes every call fall back to the extractive summary and the
 * response says so; one that answers puts its summaries in the output. */
#include "helix/hx_context.h"
#include "helix/hx_server.h"
#include "../hx_test.h"

static int fail_llm(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return hx_res_error(res, 500, "internal", "model exploded");
}

static int good_llm(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return hx_res_json(res, 200, json_pack("{s:[{s:{s:s,s:s}}]}", "choices", "message", "role", "assistant",
                                           "content", "Alice Chen chose PostgreSQL."));
}

/* Says how big its input was and whether it was the key-sentence selection. */
static int echo_llm(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *body = hx_req_json(req, hx_req_err(req));
    const char *in = json_string_value(json_object_get(json_array_get(json_object_get(body, "messages"), 1), "content"));
    char answer[128];
    snprintf(answer, sizeof answer, "input %zu bytes, %s", in ? strlen(in) : 0,
             in && strncmp(in, "[Key sentences of messages #1-#", 31) == 0 ? "key sentences" : "transcript");
    return hx_res_json(res, 200, json_pack("{s:[{s:{s:s,s:s}}]}", "choices", "message", "role", "assistant",
                                           "content", answer));
}

static json_t *run_n(hx_handler_fn fn, const char *dir, const char *strategy, int n)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_metrics_t *m = hx_metrics_new();
    hx_server_t *srv = NULL;
    hx_err_t e = {0};
    cfg.server.port = 0;
    CHECK_INT(hx_server_new(&cfg, m, &srv, &e), 0);
    hx_server_route(srv, "POST", "/v1/chat/completions", fn, NULL, HX_ROLE_DEFAULT);
    CHECK_INT(hx_server_start(srv, &e), 0);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    snprintf(cfg.infinite_context.llm.endpoint, sizeof cfg.infinite_context.llm.endpoint, "http://127.0.0.1:%d/v1",
             hx_server_port(srv));
    cfg.infinite_context.llm.timeout_ms = 2000;
    hx_broker_t *b = NULL;
    hx_context_t *ctx = NULL;
    json_t *out = NULL;
    CHECK_INT(hx_broker_open(&cfg, NULL, &b, &e), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &e), 0);
    CHECK_INT(hx_context_new(&cfg, b, NULL, &ctx, &e), 0);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s}", "role", i % 2 ? "assistant" : "user", "content",
                                             "Alice Chen compared PostgreSQL and Redis for the billing ledger. We "
                                             "decided on PostgreSQL with 3 replicas in Berlin."));
    json_t *body = json_pack("{s:o}", "messages", arr), *ing = NULL;
    CHECK_INT(hx_context_ingest(ctx, NULL, "conv-llm", body, &ing, &e), 0);
    json_decref(body);
    json_decref(ing);
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.conversation_id = "conv-llm";
    rq.strategy = strategy;
    rq.window_size = 10;
    rq.preserve_recent_count = 5;
    rq.target_ratio = 0.5;
    if (hx_context_replay(ctx, &rq, &out, &e))
        fprintf(stderr, "replay: %s\n", e.msg);
    hx_context_free(ctx);
    hx_broker_close(b);
    hx_server_free(srv);
    hx_metrics_free(m);
    return out;
}

static json_t *run(hx_handler_fn fn, const char *dir, const char *strategy)
{
    return run_n(fn, dir, strategy, 40);
}

static void test_fallback(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-fail");
    json_t *out = run(fail_llm, dir, "window_summary");
    CHECK(out != NULL);
    json_t *llm = json_object_get(json_object_get(out, "compression_stats"), "llm");
    CHECK(json_integer_value(json_object_get(llm, "windows")) >= 3);
    CHECK_INT(json_integer_value(json_object_get(llm, "ok")), 0);
    CHECK_INT(json_integer_value(json_object_get(llm, "fallbacks")), json_integer_value(json_object_get(llm, "windows")));
    CHECK_CONTAINS(json_string_value(json_object_get(llm, "fallback_reason")), "HTTP 500");
    json_t *first = json_array_get(json_object_get(out, "messages"), 0);
    CHECK_STR(json_string_value(json_object_get(first, "method")), "extractive");
    CHECK(json_is_true(json_object_get(json_object_get(out, "compression_stats"), "fits_budget")));
    json_decref(out);
    free(dir);
}

static void test_success(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-ok");
    json_t *out = run(good_llm, dir, "window_summary");
    CHECK(out != NULL);
    json_t *llm = json_object_get(json_object_get(out, "compression_stats"), "llm");
    CHECK(json_integer_value(json_object_get(llm, "ok")) >= 3);
    CHECK_INT(json_integer_value(json_object_get(llm, "fallbacks")), 0);
    json_t *first = json_array_get(json_object_get(out, "messages"), 0);
    CHECK_STR(json_string_value(json_object_get(first, "method")), "llm");
    CHECK_CONTAINS(json_string_value(json_object_get(first, "content")), "Alice Chen chose PostgreSQL.");
    json_decref(out);
    free(dir);
}

static void test_full_fallback(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-full-fail");
    json_t *out = run(fail_llm, dir, "full");
    CHECK(out != NULL);
    json_t *st = json_object_get(out, "compression_stats"), *llm = json_object_get(st, "llm");
    CHECK_STR(json_string_value(json_object_get(st, "strategy")), "full");
    CHECK_INT(json_integer_value(json_object_get(llm, "global")), 1);
    CHECK_INT(json_integer_value(json_object_get(llm, "windows")), 0);
    CHECK_INT(json_integer_value(json_object_get(llm, "calls")), 1);
    CHECK_INT(json_integer_value(json_object_get(llm, "ok")), 0);
    CHECK_INT(json_integer_value(json_object_get(llm, "fallbacks")), 1);
    CHECK_CONTAINS(json_string_value(json_object_get(llm, "fallback_reason")), "HTTP 500");
    json_t *first = json_array_get(json_object_get(out, "messages"), 0);
    CHECK(json_is_true(json_object_get(first, "summary")));
    CHECK_STR(json_string_value(json_object_get(first, "method")), "extractive");
    /* the verbatim tail is capped at an eighth of the budget (docs/context.md) */
    json_int_t kept = json_integer_value(json_object_get(st, "preserved_recent"));
    CHECK(kept >= 1 && kept <= 5);
    CHECK_INT(json_integer_value(json_object_get(first, "message_count")), 40 - kept);
    CHECK(json_is_true(json_object_get(st, "fits_budget")));
    json_decref(out);
    free(dir);
}

static void test_full_success(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-full-ok");
    json_t *out = run(good_llm, dir, "full");
    CHECK(out != NULL);
    json_t *st = json_object_get(out, "compression_stats"), *llm = json_object_get(st, "llm");
    CHECK_INT(json_integer_value(json_object_get(llm, "global")), 1);
    CHECK_INT(json_integer_value(json_object_get(llm, "ok")), 1);
    CHECK_INT(json_integer_value(json_object_get(llm, "fallbacks")), 0);
    json_t *msgs = json_object_get(out, "messages"), *first = json_array_get(msgs, 0);
    CHECK_STR(json_string_value(json_object_get(first, "method")), "llm");
    json_int_t kept = json_integer_value(json_object_get(st, "preserved_recent"));
    char head[64];
    snprintf(head, sizeof head, "[LLM summary of messages #1-#%d", (int)(40 - kept));
    CHECK_CONTAINS(json_string_value(json_object_get(first, "content")), head);
    CHECK_CONTAINS(json_string_value(json_object_get(first, "content")), "Alice Chen chose PostgreSQL.");
    CHECK_INT(json_array_size(msgs), 1 + kept); /* one global summary + the preserved tail */
    CHECK(json_is_true(json_object_get(st, "fits_budget")));
    json_decref(out);
    free(dir);
}

/* A global summary of a long conversation sends the LLM the extractive
 * selection of its key sentences, capped at 256 KiB, not the transcript. */
static void test_full_long_input(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-full-long");
    json_t *out = run_n(echo_llm, dir, "full", 3000); /* ~370 KB of transcript */
    CHECK(out != NULL);
    const char *c = json_string_value(json_object_get(json_array_get(json_object_get(out, "messages"), 0), "content"));
    CHECK_CONTAINS(c, "key sentences");
    size_t bytes = 0;
    const char *p = c ? strstr(c, "input ") : NULL;
    if (p)
        bytes = strtoul(p + 6, NULL, 10);
    CHECK(bytes > 1000 && bytes <= 256 * 1024);
    json_decref(out);
    free(dir);
}

int main(void)
{
    RUN(test_full_long_input);
    RUN(test_full_fallback);
    RUN(test_full_success);
    RUN(test_fallback);
    RUN(test_success);
    return HX_TEST_DONE();
}
