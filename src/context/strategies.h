/* Compression plan and strategy runners (strategies.c, compress.c). */
#ifndef HX_CTX_STRATEGIES_H
#define HX_CTX_STRATEGIES_H

#include "context/ctx_compress.h"

typedef struct ctx_plan {
    const ctx_opts_t *o;
    const ctx_env_t *env;
    const ctx_gstats_t *g;
    size_t n_old;              /* messages summarised; the rest are verbatim */
    uint64_t old_tokens;
    uint64_t S;                /* token budget of the summaries */
    pthread_mutex_t mu;        /* counters below */
    int llm_windows, llm_global, llm_ok, llm_fallbacks;
    char llm_reason[256];
    int win_total, win_reused; /* window summaries built / taken from the cache */
} ctx_plan_t;

typedef struct ctx_run {
    ctx_item_t *items;
    size_t n, cap;
    ctx_quality_t q;
    ctx_strategy_t strategy;
} ctx_run_t;

int ctx_items_push(ctx_run_t *r, const ctx_item_t *it);
void ctx_run_free(ctx_run_t *r);
int ctx_run_window(ctx_plan_t *p, ctx_run_t *r);
int ctx_run_full(ctx_plan_t *p, ctx_run_t *r);
int ctx_run_entity(ctx_plan_t *p, ctx_run_t *r);

#endif
