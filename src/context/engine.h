/* The context engine object and its conversation index (engine.c, index.c,
 * ingest.c). */
#ifndef HX_CTX_ENGINE_H
#define HX_CTX_ENGINE_H

#include "context/ctx_internal.h"

/* ctx_rec_t.msg for records that belong to no message: completed events
 * (always replayed) and events a replay ignores (never fetched for a
 * filtered replay). */
#define CTX_REC_ALWAYS UINT32_MAX
#define CTX_REC_IGNORED (UINT32_MAX - 1)

typedef struct ctx_rec {
    int32_t part;
    int64_t off;
    uint64_t seq;
    int64_t ts;
    uint32_t msg;              /* index in ctx_convix_t.msgs, or CTX_REC_* */
} ctx_rec_t;

/* One message as the index sees it, following the rules of ctx_conv_apply:
 * enough to validate update/delete targets at ingest and to pick the records
 * a replay from a seq or time needs. A message id deleted and added again is
 * a new entry. */
typedef struct ctx_imsg {
    uint64_t seq;              /* seq of its added event */
    int64_t created_at;
    int live;
} ctx_imsg_t;

typedef struct ctx_convix {
    char *tenant, *id;
    uint64_t tag;
    ctx_rec_t *recs;           /* in the order the index read them */
    size_t n, cap;
    uint64_t max_seq;
    int64_t first_ts, last_ts;
    size_t adds, updates, deletes;
    int completed;
    ctx_imsg_t *msgs;
    size_t nmsg, capmsg;
    ctx_map_t by_id;           /* hash(message_id) -> its latest entry in msgs */
    int disordered;            /* a record's seq was not above every earlier one */
    /* Ingest: order_mu is held from seq assignment until the records are
     * queued, so one conversation's records reach the log in seq order while
     * other conversations proceed. next_seq and inflight are under c->mu. */
    pthread_mutex_t order_mu;
    uint64_t next_seq;         /* last seq handed out (>= max_seq once used) */
    int inflight;              /* ingests queued, not yet indexed */
} ctx_convix_t;

/* A record this engine produced that landed past the index's cursor of its
 * partition (another ingest's record, not yet indexed, lies before it). */
typedef struct ctx_parked {
    int64_t off;
    hx_envelope_t e;
} ctx_parked_t;

typedef struct ctx_park {
    ctx_parked_t *v;           /* by offset */
    size_t n, cap;
} ctx_park_t;

struct hx_context {
    hx_config_t cfg;
    hx_broker_t *b;
    pthread_mutex_t mu;        /* index and ingest */
    ctx_convix_t **convs;
    size_t nconv, capconv;
    ctx_map_t by_tag;
    int nparts;
    int64_t *scanned;          /* next offset to index per partition */
    ctx_park_t *park;          /* per partition */
    size_t parked;             /* records in park */
    int inflight;              /* ingests queued, not yet indexed (all conversations) */
    pthread_cond_t indexed_cv; /* an ingest's records were indexed */
    int64_t max_message_bytes;
    ctx_cache_t *cache;
    ctx_pool_t *pool;
    hx_histogram_child_t *m_dur;
    hx_gauge_child_t *m_ratio, *m_hit;
    atomic_ullong hits, misses;
};

uint64_t ctx_conv_tag(const char *tenant, const char *id);
/* The conversation if it has any record indexed, else NULL; c->mu held. */
ctx_convix_t *ctx_index_find(hx_context_t *c, const char *tenant, const char *id);
/* The conversation's entry, created empty if needed (ingest); c->mu held. */
ctx_convix_t *ctx_index_reserve(hx_context_t *c, const char *tenant, const char *id);
/* Indexes a record this engine produced, from its envelope and delivery,
 * in offset order per partition (one that lands past the cursor waits in
 * the park, and *e is taken: zeroed). Returns HX_EAGAIN when the partition
 * is unknown to the index (a catch-up is needed); c->mu held. */
int ctx_index_delivered(hx_context_t *c, int32_t part, int64_t off, hx_envelope_t *e);
/* Indexes what the log holds beyond the last call; c->mu held. */
int ctx_index_catch_up(hx_context_t *c, hx_err_t *err);
void ctx_index_free(hx_context_t *c);
/* The message with this id if it exists and is not deleted; c->mu held. */
const ctx_imsg_t *ctx_index_live_msg(const ctx_convix_t *cv, const char *message_id);

/* ingest.c: checks item i of an ingest and returns its event type and the
 * envelope data (a new object). */
int ctx_ingest_item(const hx_ctx_item_t *item, size_t i, const char **type, json_t **data, hx_err_t *err);

#endif
