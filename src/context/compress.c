/* Compression driver: budget, the verbatim tail, strategy choice (hybrid
 * keeps the best candidate that fits), escalation below the quality
 * threshold, and the response JSON.
 *
 * Budget B: with max_tokens and no target_ratio, B = max_tokens (compress
 * only what does not fit); otherwise B = floor(target_ratio x original
 * tokens), capped by max_tokens. With neither given, B is at least
 * min_budget_tokens, so a short conversation is not cut to 30% of a few
 * tokens. A conversation within B is returned as is.
 * The last preserve_recent_count messages are kept verbatim, dropping the
 * oldest of them while they exceed B / TAIL_SHARE; the summaries get the
 * rest. */
#include "context/strategies.h"
#include "helix/hx_clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ctx_opts_resolve(const hx_config_t *cfg, const hx_ctx_request_t *rq, ctx_opts_t *o, hx_err_t *err);

#define TAIL_SHARE 8

int ctx_opts_resolve(const hx_config_t *cfg, const hx_ctx_request_t *rq, ctx_opts_t *o, hx_err_t *err)
{
    memset(o, 0, sizeof *o);
    const char *s = rq->strategy ? rq->strategy : cfg->infinite_context.compression.default_strategy;
    if (ctx_strategy_parse(s, &o->strategy))
        return hx_err_set(err, HX_EINVAL,
                          "compression_strategy '%s' is not one of hybrid, entity_graph, window_summary, full", s);
    if (rq->max_tokens < 0)
        return hx_err_set(err, HX_EINVAL, "max_tokens must be a positive integer");
    o->max_tokens = rq->max_tokens;
    if (rq->target_ratio != 0 && !(rq->target_ratio > 0 && rq->target_ratio <= 1))
        return hx_err_set(err, HX_EINVAL, "target_ratio must be in (0, 1]");
    o->ratio_given = rq->target_ratio > 0;
    o->ratio = o->ratio_given ? rq->target_ratio : cfg->infinite_context.compression.target_ratio;
    o->min_budget = cfg->infinite_context.compression.min_budget_tokens;
    if (rq->preserve_recent_count < -1)
        return hx_err_set(err, HX_EINVAL, "preserve_recent_count must be >= 0");
    o->preserve = rq->preserve_recent_count >= 0 ? rq->preserve_recent_count
                                                  : cfg->infinite_context.compression.preserve_recent_count;
    if (rq->window_size != -1 && rq->window_size < 2)
        return hx_err_set(err, HX_EINVAL, "window_size must be >= 2");
    o->window = rq->window_size >= 2 ? rq->window_size : cfg->infinite_context.compression.window_size;
    o->quality_threshold = cfg->infinite_context.compression.quality_threshold;
    int have_llm = cfg->infinite_context.llm.endpoint[0] != 0;
    if (rq->use_llm == 1 && !have_llm)
        return hx_err_set(err, HX_EINVAL, "use_llm needs an LLM endpoint; set infinite_context.llm.endpoint");
    o->use_llm = rq->use_llm == -1 ? have_llm : rq->use_llm == 1;
    o->llm = (ctx_llm_cfg_t){cfg->infinite_context.llm.endpoint, cfg->infinite_context.llm.model,
                             cfg->infinite_context.llm.api_key, cfg->infinite_context.llm.timeout_ms};
    return HX_OK;
}

typedef struct attempt {
    ctx_run_t run;
    ctx_plan_t plan;
    uint64_t budget;
    size_t preserved;
    json_t *candidates;
} attempt_t;

static void attempt_free(attempt_t *a)
{
    ctx_run_free(&a->run);
    pthread_mutex_destroy(&a->plan.mu);
    json_decref(a->candidates);
    memset(a, 0, sizeof *a);
}

static int better(const ctx_quality_t *a, const ctx_quality_t *b)
{
    if (a->fits != b->fits)
        return a->fits > b->fits;
    if (fabs(a->score - b->score) > 1e-9)
        return a->score > b->score;
    return a->tokens < b->tokens;
}

static int run_one(ctx_plan_t *p, ctx_strategy_t s, const ctx_msg_t *const *msgs, size_t n, uint64_t T,
                   uint64_t B, ctx_run_t *r)
{
    memset(r, 0, sizeof *r);
    r->strategy = s;
    int rc = s == CTX_S_WINDOW ? ctx_run_window(p, r) : s == CTX_S_FULL ? ctx_run_full(p, r) : ctx_run_entity(p, r);
    for (size_t i = p->n_old; i < n && !rc; i++)
        rc = ctx_items_push(r, &(ctx_item_t){.kind = CTX_I_VERBATIM, .msg = msgs[i]});
    if (!rc)
        rc = ctx_quality(p->g, r->items, r->n, T, B, &r->q);
    if (rc)
        ctx_run_free(r);
    return rc;
}

static int attempt(const ctx_opts_t *o, const ctx_env_t *env, const ctx_gstats_t *g, ctx_strategy_t s, uint64_t T,
                   uint64_t B, attempt_t *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->plan.mu, NULL);
    const ctx_msg_t *const *msgs = g->msgs;
    size_t n = g->n, P = (size_t)o->preserve < n ? (size_t)o->preserve : n;
    uint64_t R = 0;
    for (size_t i = n - P; i < n; i++)
        R += msgs[i]->tokens;
    /* the verbatim tail takes at most TAIL_SHARE of the budget: past that,
     * its messages are worth less than what the summary keeps of the rest */
    while (P && R > B / TAIL_SHARE) {
        R -= msgs[n - P]->tokens;
        P--;
    }
    a->budget = B;
    a->preserved = P;
    a->plan = (ctx_plan_t){.o = o, .env = env, .g = g, .n_old = n - P, .S = B - R, .mu = a->plan.mu};
    for (size_t i = 0; i < n - P; i++)
        a->plan.old_tokens += msgs[i]->tokens;
    if (s != CTX_S_HYBRID)
        return run_one(&a->plan, s, msgs, n, T, B, &a->run);
    a->candidates = json_array();
    static const ctx_strategy_t order[] = {CTX_S_ENTITY_GRAPH, CTX_S_WINDOW, CTX_S_FULL};
    for (int k = 0; k < 3; k++) {
        ctx_run_t r;
        int rc = run_one(&a->plan, order[k], msgs, n, T, B, &r);
        if (rc)
            return rc;
        json_array_append_new(a->candidates,
                              json_pack("{s:s,s:f,s:I,s:b}", "strategy", ctx_strategy_name(order[k]), "quality_score",
                                        r.q.score, "compressed_tokens", (json_int_t)r.q.tokens, "fits_budget",
                                        r.q.fits));
        if (!a->run.items || better(&r.q, &a->run.q)) {
            ctx_run_free(&a->run);
            a->run = r;
        } else {
            ctx_run_free(&r);
        }
    }
    return HX_OK;
}

static json_t *roles_json(unsigned roles)
{
    static const char *names[] = {"user", "assistant", "system", "tool"};
    json_t *a = json_array();
    for (int i = 0; i < 4; i++)
        if (roles & (1u << i))
            json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *item_json(const ctx_gstats_t *g, const ctx_item_t *it)
{
    if (it->kind == CTX_I_VERBATIM) {
        json_t *j = ctx_msg_json(it->msg);
        json_object_set_new(j, "summary", json_false());
        return j;
    }
    json_t *src = json_array();
    uint64_t last = 0;
    for (size_t p = 0; p < it->n_picks; p++) {
        uint64_t s = g->msgs[it->base + it->picks[p].m]->seq;
        if (s != last)
            json_array_append_new(src, json_integer((json_int_t)s));
        last = s;
    }
    return json_pack("{s:s,s:s,s:I,s:b,s:s,s:s,s:I,s:I,s:i,s:o,s:o}", "role", "system", "content", it->text, "tokens",
                     (json_int_t)it->tokens, "summary", 1, "kind",
                     it->kind == CTX_I_FACTS ? "entity_facts" : "summary", "method", it->llm ? "llm" : "extractive",
                     "from_seq", (json_int_t)it->from_seq, "to_seq", (json_int_t)it->to_seq, "message_count",
                     (int)it->n_msgs, "roles", roles_json(it->roles), "source_seqs", src);
}

static json_t *entities_json(const ctx_gstats_t *g)
{
    size_t top[50], nt = 0;
    for (size_t e = 0; e < g->n_ents; e++) {
        uint32_t c = g->ent_count[e];
        if (!g->ent_strong[e])
            continue;
        if (nt == 50 && c <= g->ent_count[top[49]])
            continue;
        size_t k = nt < 50 ? nt++ : 49;
        while (k > 0 && g->ent_count[top[k - 1]] < c) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = e;
    }
    json_t *a = json_array();
    for (size_t k = 0; k < nt; k++) {
        const ctx_msg_t *m = g->msgs[g->ent_msg[top[k]]];
        char name[200];
        ctx_ent_text(m->content, &m->an->ents[g->ent_sent[top[k]]], name, sizeof name);
        json_array_append_new(a, json_pack("{s:s,s:i,s:I}", "name", name, "mentions", (int)g->ent_count[top[k]],
                                           "first_seq", (json_int_t)m->seq));
    }
    return a;
}

static void add_quality(json_t *st, const ctx_quality_t *q)
{
    json_object_set_new(st, "entity_recall", json_real(q->entity_recall));
    json_object_set_new(st, "term_recall", json_real(q->term_recall));
    json_object_set_new(st, "rouge1_recall", json_real(q->rouge1_recall));
    json_object_set_new(st, "name_recall", json_real(q->name_recall));
    json_object_set_new(st, "detail_recall", json_real(q->detail_recall));
    json_object_set_new(st, "date_recall", json_real(q->date_recall));
    json_object_set_new(st, "fits_budget", json_boolean(q->fits));
    json_object_set_new(st, "quality_score", json_real(q->score));
    json_object_set_new(st, "quality_method", json_string(CTX_QUALITY_METHOD));
}

int ctx_compress(const ctx_opts_t *o, const ctx_env_t *env, const ctx_msg_t *const *msgs, size_t n, json_t **out,
                 hx_err_t *err)
{
    uint64_t t0 = hx_mono_ns(), T = 0;
    for (size_t i = 0; i < n; i++)
        T += msgs[i]->tokens;
    uint64_t B;
    if (o->max_tokens > 0 && !o->ratio_given)
        B = (uint64_t)o->max_tokens;
    else {
        B = (uint64_t)floor(o->ratio * (double)T);
        if (o->max_tokens > 0 && B > (uint64_t)o->max_tokens)
            B = (uint64_t)o->max_tokens;
        else if (o->max_tokens <= 0 && !o->ratio_given && o->min_budget > 0 && B < (uint64_t)o->min_budget)
            B = (uint64_t)o->min_budget;
    }
    ctx_gstats_t g;
    int with_graph = o->strategy == CTX_S_HYBRID || o->strategy == CTX_S_ENTITY_GRAPH;
    if (ctx_gstats_build(&g, msgs, n, env->pool, 1 | with_graph))
        return hx_err_set(err, HX_ENOMEM, "out of memory analysing the conversation");
    attempt_t best = {0};
    json_t *esc = json_array();
    int rc, compressed = T > B;
    if (!compressed) {
        pthread_mutex_init(&best.plan.mu, NULL);
        best.plan = (ctx_plan_t){.o = o, .env = env, .g = &g, .n_old = 0, .mu = best.plan.mu};
        best.budget = B;
        best.preserved = n;
        rc = run_one(&best.plan, CTX_S_FULL, msgs, n, T, T, &best.run);
    } else {
        rc = attempt(o, env, &g, o->strategy, T, B, &best);
    }
    if (rc)
        goto fail;
    if (compressed && best.run.q.score < o->quality_threshold) {
        /* another strategy at the same budget first, then one step (+0.05) to a
         * less aggressive ratio, so a requested 0.30 never goes past 0.35 */
        if (o->strategy != CTX_S_HYBRID) {
            for (int s = CTX_S_ENTITY_GRAPH; s <= CTX_S_FULL; s++) {
                if ((ctx_strategy_t)s == o->strategy)
                    continue;
                attempt_t a;
                if ((rc = attempt(o, env, &g, (ctx_strategy_t)s, T, B, &a)))
                    goto fail;
                int take = better(&a.run.q, &best.run.q);
                json_array_append_new(esc, json_pack("{s:s,s:s,s:f,s:b}", "action", "strategy", "to",
                                                     ctx_strategy_name((ctx_strategy_t)s), "quality_score",
                                                     a.run.q.score, "kept", take));
                if (take) {
                    attempt_free(&best);
                    best = a;
                } else {
                    attempt_free(&a);
                }
            }
        }
        double r = (double)best.budget / (double)T;
        for (int step = 0; step < 1 && best.run.q.score < o->quality_threshold; step++) {
            double nr = r + 0.05;
            uint64_t nb = (uint64_t)floor(nr * (double)T);
            if (o->max_tokens > 0 && nb > (uint64_t)o->max_tokens)
                nb = (uint64_t)o->max_tokens;
            if (nb <= best.budget || nr > 1) {
                json_array_append_new(esc, json_pack("{s:s,s:s}", "action", "none", "reason",
                                                     "the budget cannot grow: max_tokens or the whole conversation"));
                break;
            }
            attempt_t a;
            if ((rc = attempt(o, env, &g, o->strategy == CTX_S_HYBRID ? CTX_S_HYBRID : best.run.strategy, T, nb,
                              &a)))
                goto fail;
            json_array_append_new(esc, json_pack("{s:s,s:f,s:f,s:f}", "action", "ratio", "from", r, "to",
                                                 (double)nb / (double)T, "quality_score", a.run.q.score));
            r = (double)nb / (double)T;
            if (a.run.q.score > best.run.q.score) {
                attempt_free(&best);
                best = a;
            } else {
                attempt_free(&a);
            }
        }
    }
    json_t *msgs_j = json_array();
    for (size_t i = 0; i < best.run.n; i++)
        json_array_append_new(msgs_j, item_json(&g, &best.run.items[i]));
    const ctx_quality_t *q = &best.run.q;
    json_t *st = json_pack("{s:s,s:I,s:I,s:I,s:I,s:f}", "strategy",
                           compressed ? ctx_strategy_name(best.run.strategy) : "none", "original_messages",
                           (json_int_t)n, "compressed_messages", (json_int_t)best.run.n, "original_tokens",
                           (json_int_t)T, "compressed_tokens", (json_int_t)q->tokens, "compression_ratio", q->ratio);
    add_quality(st, q);
    json_object_set_new(st, "requested_strategy", json_string(ctx_strategy_name(o->strategy)));
    json_object_set_new(st, "budget_tokens", json_integer((json_int_t)best.budget));
    json_object_set_new(st, "target_ratio", o->ratio_given || o->max_tokens <= 0 ? json_real(o->ratio) : json_null());
    json_object_set_new(st, "max_tokens", o->max_tokens > 0 ? json_integer(o->max_tokens) : json_null());
    json_object_set_new(st, "preserved_recent", json_integer((json_int_t)best.preserved));
    json_object_set_new(st, "summarised_messages", json_integer((json_int_t)best.plan.n_old));
    json_object_set_new(st, "escalated", json_boolean(json_array_size(esc) > 0));
    json_object_set_new(st, "escalation", esc);
    esc = NULL;
    if (best.candidates)
        json_object_set(st, "candidates", best.candidates);
    if (best.plan.win_total)
        json_object_set_new(st, "window_summaries", json_pack("{s:i,s:i}", "windows", best.plan.win_total,
                                                              "reused", best.plan.win_reused));
    if (o->use_llm)
        json_object_set_new(st, "llm",
                            json_pack("{s:i,s:i,s:i,s:i,s:i,s:s}", "calls", best.plan.llm_windows + best.plan.llm_global,
                                      "windows", best.plan.llm_windows, "global", best.plan.llm_global, "ok",
                                      best.plan.llm_ok, "fallbacks", best.plan.llm_fallbacks, "fallback_reason",
                                      best.plan.llm_reason));
    json_object_set_new(st, "duration_ms", json_real((double)(hx_mono_ns() - t0) / 1e6));
    json_object_set_new(st, "cache_hit", json_false());
    *out = json_pack("{s:o,s:o,s:I,s:b,s:o}", "messages", msgs_j, "entities", entities_json(&g), "total_tokens",
                     (json_int_t)q->tokens, "compressed", compressed, "compression_stats", st);
    attempt_free(&best);
    ctx_gstats_free(&g);
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory building the response");
fail:
    json_decref(esc);
    attempt_free(&best);
    ctx_gstats_free(&g);
    return rc == HX_ENOMEM ? hx_err_set(err, rc, "out of memory compressing the conversation") : rc;
}

int hx_context_compress(const hx_config_t *cfg, const hx_ctx_request_t *rq, const hx_ctx_message_t *msgs, size_t n,
                        json_t **out, hx_err_t *err)
{
    ctx_opts_t o;
    int rc = ctx_opts_resolve(cfg, rq, &o, err);
    if (rc)
        return rc;
    o.use_llm = 0;
    ctx_conv_t cv;
    if (ctx_conv_init(&cv))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    const ctx_msg_t **live = NULL;
    size_t nl = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = ctx_conv_add_plain(&cv, &msgs[i], err);
    if (!rc && ctx_conv_live(&cv, &live, &nl))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    ctx_env_t env = {0};
    if (!rc)
        rc = ctx_compress(&o, &env, live, nl, out, err);
    free(live);
    ctx_conv_free(&cv);
    return rc;
}

void hx_ctx_request_defaults(hx_ctx_request_t *r)
{
    memset(r, 0, sizeof *r);
    r->preserve_recent_count = -1;
    r->window_size = -1;
    r->use_llm = -1;
}
