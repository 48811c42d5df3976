/* The optional LLM summariser against loopback servers: one that fails
 * (HTTP 500) makes every window fall back to the extractive summary and the
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

static json_t *run(hx_handler_fn fn, const char *dir)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_metrics_t *m = hx_metrics_new();
    hx_server_t *srv = NULL;
    hx_err_t e = {0};
    cfg.server.port = 0;
    CHECK_INT(hx_server_new(&cfg, m, &srv, &e), 0);
    hx_server_route(srv, "POST", "/v1/chat/completions", fn, NULL);
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
    for (int i = 0; i < 40; i++)
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
    rq.strategy = "window_summary";
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

static void test_fallback(void)
{
    char *dir = hx_test_tmpdir("ctx-llm-fail");
    json_t *out = run(fail_llm, dir);
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
    json_t *out = run(good_llm, dir);
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

int main(void)
{
    RUN(test_fallback);
    RUN(test_success);
    return HX_TEST_DONE();
}
