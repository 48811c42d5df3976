/* `helix bench context`: generates realistic conversations (topics, named
 * entities, decisions, numbers, code) of 1K, 5K and 10K messages, ingests them
 * through the context engine into the event log, and times replay+compress
 * cold (caches cleared: the conversation is re-read from the log), warm, and
 * again after 10 new messages (the "compressing again after 10 new
 * messages costs little": the replayed state is extended by the new records
 * and closed windows' summaries come from the cache) for every strategy at
 * target_ratio 0.30. */
#include "bench/bench_int.h"
#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_context.h"
#include "helix/hx_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ingest(hx_context_t *ctx, const char *id, long n, uint64_t seed, hx_err_t *err)
{
    hx_bench_conv_t conv;
    hx_bench_conv_init(&conv, seed);
    for (long base = 0; base < n; base += 500) {
        json_t *arr = json_array();
        for (long i = base; i < n && i < base + 500; i++) {
            char buf[HX_BENCH_CONV_MSG_MAX];
            hx_bench_conv_next(&conv, buf, sizeof buf);
            json_array_append_new(arr, json_pack("{s:s,s:s}", "role", i % 2 ? "assistant" : "user", "content", buf));
        }
        json_t *body = json_pack("{s:o}", "messages", arr), *out = NULL;
        int rc = hx_context_ingest(ctx, "default", id, body, &out, err);
        json_decref(body);
        json_decref(out);
        if (rc)
            return rc;
    }
    return HX_OK;
}

static int timed(hx_context_t *ctx, const char *id, const char *strategy, double *ms, json_t **res, hx_err_t *err)
{
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.conversation_id = id;
    rq.strategy = strategy;
    rq.target_ratio = 0.30;
    uint64_t t0 = hx_mono_ns();
    int rc = hx_context_replay(ctx, &rq, res, err);
    *ms = (double)(hx_mono_ns() - t0) / 1e6;
    return rc;
}

static double st(json_t *r, const char *k)
{
    return json_number_value(json_object_get(json_object_get(r, "compression_stats"), k));
}

int hx_bench_context(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    char tmpl[64];
    const char *dir;
    int wrc = hx_bench_workdir(o, "context", tmpl, sizeof tmpl, &dir, err);
    if (wrc)
        return wrc;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = o->fsync;
    hx_broker_t *b = NULL;
    hx_context_t *ctx = NULL;
    int rc;
    json_t *res = json_object();
    if ((rc = hx_broker_open(&cfg, NULL, &b, err)) || (rc = hx_broker_ensure_builtin_topics(b, err)) ||
        (rc = hx_context_new(&cfg, b, NULL, &ctx, err)))
        goto done;
    static const long sizes[] = {1000, 5000, 10000};
    static const char *strategies[] = {"hybrid", "entity_graph", "window_summary", "full"};
    double cold10k = 0;
    for (int si = 0; si < 3; si++) {
        long n = o->messages > 0 && si == 2 ? o->messages : sizes[si];
        char id[64];
        snprintf(id, sizeof id, "bench-%ld", n);
        uint64_t t0 = hx_mono_ns();
        if ((rc = ingest(ctx, id, n, 1000 + (uint64_t)n, err)))
            goto done;
        double ingest_ms = (double)(hx_mono_ns() - t0) / 1e6;
        json_t *size = json_object(), *per = json_object();
        for (int k = 0; k < 4; k++) {
            double cold, warm, again;
            json_t *r1 = NULL, *r2 = NULL, *r3 = NULL;
            hx_context_cache_clear(ctx);
            /* then 10 new messages: the state is extended, closed windows reused */
            if ((rc = timed(ctx, id, strategies[k], &cold, &r1, err)) ||
                (rc = timed(ctx, id, strategies[k], &warm, &r2, err)) ||
                (rc = ingest(ctx, id, 10, 7 + (uint64_t)(n * 4 + k), err)) ||
                (rc = timed(ctx, id, strategies[k], &again, &r3, err))) {
                json_decref(r1);
                json_decref(r2);
                json_decref(size);
                json_decref(per);
                goto done;
            }
            json_t *ws = json_object_get(json_object_get(r3, "compression_stats"), "window_summaries");
            int wt = (int)json_integer_value(json_object_get(ws, "windows")),
                wr = (int)json_integer_value(json_object_get(ws, "reused"));
            json_t *row = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:b,s:s}", "replay_ms_cold", cold,
                                    "replay_ms_warm", warm, "compression_ratio", st(r1, "compression_ratio"),
                                    "quality_score", st(r1, "quality_score"), "entity_recall",
                                    st(r1, "entity_recall"), "term_recall", st(r1, "term_recall"), "rouge1_recall",
                                    st(r1, "rouge1_recall"), "escalated",
                                    json_is_true(json_object_get(json_object_get(r1, "compression_stats"),
                                                                 "escalated")),
                                    "chosen", json_string_value(json_object_get(
                                                  json_object_get(r1, "compression_stats"), "strategy")));
            json_object_set_new(row, "original_messages", json_integer((json_int_t)st(r1, "original_messages")));
            json_object_set_new(row, "recompress_after_10_ms", json_real(again));
            json_object_set_new(row, "recompress_windows", json_integer(wt));
            json_object_set_new(row, "recompress_windows_reused", json_integer(wr));
            if (k == 0) {
                json_object_update(size, row);
                if (si == 2)
                    cold10k = cold;
            }
            json_object_set_new(per, strategies[k], row);
            char v[160], m[64], wv[48] = "";
            snprintf(m, sizeof m, "%ldK msgs, %s", n / 1000, strategies[k]);
            if (wt)
                snprintf(wv, sizeof wv, " (%d/%d windows reused)", wr, wt);
            snprintf(v, sizeof v, "cold %.0f / warm %.2f / +10 msgs %.1f ms%s, r %.2f, q %.2f, er %.2f", cold, warm,
                     again, wv, st(r1, "compression_ratio"), st(r1, "quality_score"), st(r1, "entity_recall"));
            hx_bench_row("Context replay+compress", m, v, "<5 s", "<10 s",
                         hx_bench_verdict(cold / 1000.0, 5, 10, 0));
            json_decref(r1);
            json_decref(r2);
            json_decref(r3);
        }
        json_object_set_new(size, "messages", json_integer(n));
        json_object_set_new(size, "ingest_ms", json_real(ingest_ms));
        json_object_set_new(size, "strategies", per);
        char key[16];
        snprintf(key, sizeof key, "%ld", n);
        json_object_set_new(res, key, size);
    }
    json_object_set_new(res, "verdict_10k_cold", json_string(hx_bench_verdict(cold10k / 1000.0, 5, 10, 0)));
    json_object_set_new(res, "goal_10k_cold_ms", json_integer(250));
    json_object_set_new(res, "target_ratio", json_real(0.30));
done:
    hx_context_free(ctx);
    hx_broker_close(b);
    hx_bench_workdir_done(o, "context", dir);
    *out = res;
    return rc;
}
