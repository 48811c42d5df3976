/* The context engine object and its conversation index (engine.c, index.c,
 * ingest.c). */
#ifndef HX_CTX_ENGINE_H
#define HX_CTX_ENGINE_H

#include "context/ctx_internal.h"

typedef struct ctx_rec {
    int32_t part;
    int64_t off;
    uint64_t seq;
    int64_t ts;
} ctx_rec_t;

typedef struct ctx_convix {
    char *tenant, *id;
    uint64_t tag;
    ctx_rec_t *recs;           /* in the order the index read them */
    size_t n, cap;
    uint64_t max_seq;
    int64_t first_ts, last_ts;
    size_t adds, updates, deletes;
    int completed;
} ctx_convix_t;

struct hx_context {
    hx_config_t cfg;
    hx_broker_t *b;
    pthread_mutex_t mu;        /* index and ingest */
    ctx_convix_t **convs;
    size_t nconv, capconv;
    ctx_map_t by_tag;
    int nparts;
    int64_t *scanned;          /* next offset to index per partition */
    int64_t max_message_bytes;
    ctx_cache_t *cache;
    ctx_pool_t *pool;
    hx_histogram_child_t *m_dur;
    hx_gauge_child_t *m_ratio, *m_hit;
    atomic_ullong hits, misses;
};

uint64_t ctx_conv_tag(const char *tenant, const char *id);
ctx_convix_t *ctx_index_find(hx_context_t *c, const char *tenant, const char *id);
/* Indexes what the log holds beyond the last call; c->mu held. */
int ctx_index_catch_up(hx_context_t *c, hx_err_t *err);
void ctx_index_free(hx_context_t *c);

#endif
