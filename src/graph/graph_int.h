/* Private to src/graph: the engine struct, the consumers, the event codec's
 * JSON reader, and helpers every part shares. */
#ifndef HX_GRAPH_INT_H
#define HX_GRAPH_INT_H

#include "graph/backend.h"
#include "helix/hx_envelope.h"
#include "helix/hx_graph.h"
#include "helix/hx_id.h"

#include <pthread.h>
#include <stdatomic.h>

#define HX_GRAPH_TERM_MAX 64
#define HX_GRAPH_MENTIONS_MAX 1000000000000LL
#define HX_GRAPH_STRENGTH_MAX 1e12
#define HX_GRAPH_PARTS_MAX 1024
#define HX_GRAPH_QUERY_MAX 1024  /* bytes of a search query */
#define HX_GRAPH_TERMS_MAX 16    /* terms of a search query */

/* ---- arena (result.c) ---- */
void *hx_graph_arena_alloc(void **arena, size_t n); /* zeroed; creates the arena */
const char *hx_graph_arena_strn(void **arena, const char *s, size_t n);
void hx_graph_arena_free(void *arena);
/* Appends a zeroed op (the ops array may move). */
hx_graph_op_t *hx_graph_ops_add(hx_graph_ops_t *o);

/* ---- the event codec's kinds (events.c, events_read.c) ---- */
#define HX_GRAPH_KINDS 5
typedef struct hx_graph_kind {
    hx_graph_op_kind_t kind;
    const char *type, *batch_key; /* the event type; the data's array member */
} hx_graph_kind_t;
extern const hx_graph_kind_t hx_graph_kinds[HX_GRAPH_KINDS];
int hx_graph_kind_index(hx_graph_op_kind_t k); /* into hx_graph_kinds, or -1 */

/* ---- upserts merged inside an envelope (events_merge.c) ----
 * One per encode call. A slot is an envelope being filled (partition and
 * kind); gen tells its envelopes apart. For each coalescible op: hx_gm_find;
 * when fresh the caller writes the op and sets first_bytes to what it took;
 * else hx_gm_fold, and when that leaves it not held the caller writes the
 * pending item (hx_gm_op) and calls hx_gm_restart. At a slot's close,
 * hx_gm_drain hands each pending item to put. Strings stay the call's ops'. */
typedef struct hx_gm_rest {
    hx_graph_op_t op;            /* aliases and properties: below */
    const char **aliases;        /* owned array */
    size_t n_aliases, cap_aliases;
    json_t *props;               /* owned reference */
    double conf_sum, last_conf;  /* confidence x mentions, summed */
    int weighted;
    size_t bytes;                /* about what the item will take */
    int32_t next;                /* in its slot's list */
} hx_gm_rest_t;

typedef struct hx_gm_entry {
    uint64_t h;
    uint32_t op, slot, gen;      /* op: an op with the key */
    int32_t rest;                /* -1: none yet */
    size_t first_bytes;
    int used;
} hx_gm_entry_t;

typedef struct hx_gm {
    hx_gm_entry_t *map;
    size_t cap;
    hx_gm_rest_t *rests;
    size_t n_rests, cap_rests;
    int32_t *head, *tail;        /* per slot */
    size_t *pend_n, *pend_bytes; /* per slot: pending items and their bytes */
} hx_gm_t;

typedef int (*hx_gm_put_fn)(void *ctx, const hx_graph_op_t *op);
int hx_gm_init(hx_gm_t *m, size_t n_ops, size_t n_slots);
void hx_gm_free(hx_gm_t *m);
int hx_gm_coalescible(const hx_graph_op_t *op);
hx_gm_entry_t *hx_gm_find(hx_gm_t *m, const hx_graph_op_t *ops, size_t i, uint32_t slot, uint32_t gen, int *fresh);
int hx_gm_fold(hx_gm_t *m, hx_gm_entry_t *e, const hx_graph_op_t *op, int *held);
int hx_gm_restart(hx_gm_t *m, hx_gm_entry_t *e, const hx_graph_op_t *op);
void hx_gm_op(const hx_gm_rest_t *r, hx_graph_op_t *out);
int hx_gm_drain(hx_gm_t *m, uint32_t slot, hx_gm_put_fn put, void *ctx);

/* ---- validation (validate.c) ---- */
int hx_graph_id_valid(const char *s);
int hx_graph_tenant_valid(const char *s); /* the envelope's tenant: [A-Za-z0-9._-]{1,64} */
int hx_graph_type_valid(const char *s);
int hx_graph_rel_type_valid(const char *s);
int hx_graph_label_valid(const char *s);
int hx_graph_props_validate(const json_t *props, const char *what, hx_err_t *err);

/* ---- the engine ---- */
typedef struct hx_graph_progress_a {
    _Atomic uint64_t records_applied, ops_applied, duplicates_skipped, invalid_records;
    _Atomic uint64_t messages_extracted, events_produced;
} hx_graph_progress_a_t;

struct hx_graph {
    hx_config_t cfg;
    const hx_graph_backend_ops_t *ops;
    void *impl;
    hx_broker_t *broker;
    hx_metrics_t *metrics;
    char node_id[HX_ENV_SOURCE_MAX + 1];
    int32_t parts;                     /* of helixagent.entities.updates; 0 without a broker */

    /* What the graph consumer has applied: next offset per partition of
     * helixagent.entities.updates (-1 unknown), for read-your-writes waits. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t *applied;
    int consumer_failing, extract_failing;  /* consecutive failures (health) */
    char consumer_err[HX_ERR_MSG_MAX], extract_err[HX_ERR_MSG_MAX];

    pthread_mutex_t apply_mu;          /* one transaction at a time */
    hx_graph_progress_a_t prog;
    uint64_t transactions;

    volatile int stop;
    pthread_t consumer_th, extract_th;
    int consumer_started, extract_started;

    /* metrics */
    hx_counter_child_t *m_tx, *m_ops, *m_extracted, *m_produced, *m_invalid;
    hx_gauge_child_t *m_hit_ratio, *m_store_bytes, *m_nodes, *m_rels, *m_extract_lag, *m_apply_lag;
    int64_t metrics_refreshed_ms;
};

/* A consumer's health: failing counts consecutive failures (reset by 0);
 * msg (may be NULL: keep) is the last error. which: 0 graph consumer, 1
 * extractor. */
void hx_graph_set_status(hx_graph_t *g, int which, int failing, const char *msg);

/* Applies a batch (validated) under apply_mu and counts it. */
int hx_graph_apply_locked(hx_graph_t *g, const hx_graph_batch_t *b, hx_err_t *err);
/* Refreshes the store gauges from the backend's stats (at most once a second
 * unless force). */
void hx_graph_refresh_metrics(hx_graph_t *g, int force);

/* consumer.c / extract/consumer.c: thread bodies (arg = hx_graph_t). */
void *hx_graph_consumer_main(void *arg);
void *hx_graph_extract_main(void *arg);

/* ---- properties as text (props.c) ---- */
struct hx_jr;
/* printf("%.17g", v) into out (at least 40 bytes); the length. */
size_t hx_graph_fmt_g17(double v, char *out);
/* Appends props as json_dumps(JSON_COMPACT | JSON_SORT_KEYS) writes it. */
int hx_graph_props_put(hx_buf_t *b, const json_t *props);
/* The object at the reader, as json_loadb(JSON_REJECT_DUPLICATES) builds
 * it (a new reference), for the shapes properties have; NULL, with the
 * reader where it was, for anything else (the caller asks jansson). */
json_t *hx_graph_props_read(struct hx_jr *r);
/* json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS) and json_loads(text,
 * flags, NULL), with the paths above. */
char *hx_graph_props_dump(const json_t *props);
json_t *hx_graph_props_load(const char *text, size_t flags);

#endif
