/* Private to src/graph/embedded: the in-memory graph (adjacency lists, id and
 * relationship hash maps, the fulltext index) and its durability (a
 * write-ahead log of applied batches plus periodic snapshots). docs/graph.md
 * explains why the store is native rather than SQLite.
 *
 * Concurrency: one rwlock. Apply (and snapshot serialisation) hold it for
 * writing / reading; queries hold it for reading. Node and relationship
 * slots are never reused while the process runs, so indices are stable;
 * dead slots are dropped when a snapshot is loaded. */
#ifndef HX_GRAPH_EMBEDDED_STORE_H
#define HX_GRAPH_EMBEDDED_STORE_H

#include "graph/graph_int.h"
#include "helix/hx_hash.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define ES_NONE UINT32_MAX

enum { ES_LIVE = 0, ES_DEAD = 1, ES_MERGED = 2 };
enum { ES_LABEL_ENTITY = 0, ES_LABEL_CONVERSATION = 1, ES_LABEL_USER = 2 };

typedef struct es_adj {
    uint32_t *r;                 /* relationship indices */
    uint32_t n, cap;
} es_adj_t;

#define ES_ID_INLINE 24

typedef struct es_node {
    /* tenant and a short id share the first cache line: an id lookup
     * compares them without chasing another pointer */
    uint16_t tenant, type;       /* interned; type 0 = "" (stub) */
    char idbuf[ES_ID_INLINE];    /* ids shorter than ES_ID_INLINE */
    char *idlong;                /* longer ids; NULL for short ones */
    char *name, *desc, *props;   /* props: compact JSON object text or NULL */
    char **aliases;
    uint8_t n_aliases, label, state;
    uint32_t merged_into;        /* ES_MERGED: the node it went into ... */
    uint32_t merged_gen;         /* ... while that node had this generation */
    uint32_t gen;                /* bumped on delete: redirects to an older life are dead */
    int64_t mentions;
    double conf_sum, importance;
    int64_t created, updated;
    es_adj_t out, in;
    float doclen;                /* weighted terms indexed */
    uint32_t *terms;             /* term indices this version is indexed under */
    uint32_t n_terms;
} es_node_t;

typedef struct es_rel {
    uint32_t from, to;
    uint32_t pos_out, pos_in;    /* index in from.out / to.in: O(1) removal */
    uint16_t type;               /* interned relationship type */
    uint8_t alive;
    double strength;
    char *props;
    int64_t created, updated;
    char id[17];
} es_rel_t;

/* A posting carries what scoring needs (tf, the document's length, its
 * tenant), so a search touches only the compact ftver array per posting:
 * ftver[node] != ver means the posting is stale (the node was re-indexed,
 * deleted or merged; each bumps the version). */
typedef struct es_posting {
    uint32_t node, ver;
    float tf, dl;
    uint32_t tenant;
} es_posting_t;

typedef struct es_df {
    uint32_t tenant, df;         /* live documents of tenant holding the term */
} es_df_t;

typedef struct es_term {
    char *s;
    es_posting_t *p;
    uint32_t n, cap, stale;
    es_df_t *dfs;
    uint32_t n_dfs;
} es_term_t;

/* Open-addressing table of u32 values with a cached hash; the owner decides
 * what matches. */
typedef struct es_slot {
    uint32_t val, hash;          /* together: one cache line per probe */
} es_slot_t;

typedef struct es_map {
    es_slot_t *e;
    uint32_t cap, used;          /* cap is a power of two; val ES_NONE = empty */
} es_map_t;

typedef struct es_strtab {       /* interned strings: index -> string, string -> index */
    char **s;
    uint32_t n, cap;
    es_map_t map;
} es_strtab_t;

typedef struct es_tenant_stats {
    double docs, len;            /* fulltext: documents and total weighted length */
    int64_t nodes, rels;
} es_tenant_stats_t;

typedef struct es_scratch es_scratch_t;

typedef struct es_store {
    pthread_rwlock_t lock;
    es_node_t *nodes;
    uint32_t *ftver;             /* per node, parallel to nodes: its fulltext version */
    uint32_t n_nodes, cap_nodes;
    es_rel_t *rels;
    uint32_t n_rels, cap_rels;
    es_map_t node_map;           /* (tenant, id) -> node */
    es_map_t rel_map;            /* (from, type, to) -> relationship */
    es_strtab_t tenants, types, rtypes, terms_tab;
    es_term_t *terms;            /* parallel to terms_tab */
    uint32_t terms_cap;
    es_tenant_stats_t *tstats;   /* parallel to tenants */
    uint32_t cap_tstats;
    int64_t live_nodes, live_rels;
    hx_graph_cursor_t *cursors;
    size_t n_cursors, cap_cursors;

    pthread_mutex_t pool_mu;     /* query scratch pool */
    es_scratch_t *pool;
    _Atomic uint64_t reads, loaded; /* cache figures: records read by queries / loaded from disk */
} es_store_t;

static inline const char *es_nid(const es_node_t *n)
{
    return n->idlong ? n->idlong : n->idbuf;
}

/* The id lookups every op makes (apply.c) and queries make (store.c): inline
 * so the apply loop's probes stay as tight as when both lived in one file. */
static inline uint32_t es_hash32(const void *p, size_t n)
{
    uint64_t h = hx_hash64(p, n);
    return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t es_node_hash(uint32_t tenant, const char *id)
{
    char buf[HX_GRAPH_ID_MAX + 4];
    size_t n = strlen(id);
    if (n > HX_GRAPH_ID_MAX)
        n = HX_GRAPH_ID_MAX;
    buf[0] = (char)(tenant & 0xff);
    buf[1] = (char)(tenant >> 8);
    memcpy(buf + 2, id, n);
    return es_hash32(buf, n + 2);
}

/* The slot of (tenant, id) whose es_node_hash is h. */
static inline uint32_t es_node_slot_h(const es_store_t *s, uint32_t tenant, const char *id, uint32_t h)
{
    const es_map_t *m = &s->node_map;
    for (uint32_t i = h & (m->cap - 1); m->e[i].val != ES_NONE; i = (i + 1) & (m->cap - 1)) {
        const es_node_t *n = &s->nodes[m->e[i].val];
        if (m->e[i].hash == h && n->tenant == tenant && !strcmp(es_nid(n), id))
            return m->e[i].val;
    }
    return ES_NONE;
}

/* ---- store.c ---- */
int es_store_init(es_store_t *s);
void es_store_free(es_store_t *s);
/* Tenant index or ES_NONE when the tenant has nothing. */
uint32_t es_tenant_find(const es_store_t *s, const char *tenant);
/* Node slot of (tenant, id) as stored (not following merges), or ES_NONE. */
uint32_t es_node_slot(const es_store_t *s, uint32_t tenant, const char *id);
/* Follows merge redirects from slot: the live node, or ES_NONE when the chain
 * ends at a deleted one. */
uint32_t es_follow(const es_store_t *s, uint32_t slot);
/* The live node (tenant, id) names after following merges, or ES_NONE. */
uint32_t es_node_resolve(const es_store_t *s, uint32_t tenant, const char *id);
/* Views pointing into the store (valid under the lock). aliases needs room
 * for HX_GRAPH_ALIASES_MAX pointers. */
void es_node_view(const es_store_t *s, uint32_t idx, hx_graph_entity_t *v, const char **aliases);
void es_rel_view(const es_store_t *s, uint32_t idx, hx_graph_rel_t *v);
const char *es_str(const es_strtab_t *t, uint32_t i);
uint32_t es_intern(es_strtab_t *t, const char *s, int create); /* ES_NONE: absent / ENOMEM */
/* Internal building blocks the snapshot loader also uses. */
uint32_t es_node_new(es_store_t *s, uint32_t tenant, const char *id);
int es_rel_link(es_store_t *s, uint32_t from, uint16_t type, uint32_t to, uint32_t *out);
int es_cursor_set(es_store_t *s, const char *name, int64_t value);
es_tenant_stats_t *es_tstats(es_store_t *s, uint32_t tenant);
/* Building blocks of apply.c. es_node_new_h: es_node_new with the id's
 * es_node_hash h known. */
uint32_t es_node_new_h(es_store_t *s, uint32_t tenant, const char *id, uint32_t h);
void es_node_strings_free(es_node_t *n);
uint32_t es_rel_find(const es_store_t *s, uint32_t from, uint16_t type, uint32_t to);
int es_rel_index(es_store_t *s, uint32_t r);
int es_adj_push(es_adj_t *a, uint32_t r, uint32_t *pos);
void es_rel_set_id(es_store_t *s, es_rel_t *r);

/* ---- apply.c ---- */
/* Applies ops and cursors to memory (the caller holds the write lock). Only
 * HX_ENOMEM can fail, and then the store is unusable (the caller stops). */
int es_store_apply(es_store_t *s, const hx_graph_batch_t *b);

/* ---- fulltext.c ---- */
/* (Re)indexes a live node's name, aliases and description; unindex retires
 * its postings. Both keep the tenant's BM25 statistics. */
int es_ft_index(es_store_t *s, uint32_t idx);
void es_ft_unindex(es_store_t *s, uint32_t idx);
int es_ft_search(es_store_t *s, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err);

/* ---- query.c ---- */
es_scratch_t *es_scratch_get(es_store_t *s);
void es_scratch_put(es_store_t *s, es_scratch_t *x);
void es_scratch_free_all(es_store_t *s);
/* Fresh marks for a query over n slots; returns the epoch value. */
uint32_t es_scratch_begin(es_scratch_t *x, uint32_t n);
struct es_scratch {
    es_scratch_t *next;
    uint32_t cap, epoch;
    uint32_t *mark, *dist, *via, *list;
    double *score;
    uint32_t n_list, cap_list;
    int failed;                  /* ENOMEM while growing */
};
int es_scratch_push(es_scratch_t *x, uint32_t v);
/* Ranked candidates: depth ascending, a descending, b descending, id
 * ascending; a bounded heap keeps the best k (worst at the root). */
typedef struct es_cand {
    uint32_t node;
    int depth;
    double a, b;
} es_cand_t;
int es_cand_before(const es_store_t *s, const es_cand_t *x, const es_cand_t *y);
void es_cand_push(const es_store_t *s, es_cand_t *h, size_t *n, size_t k, es_cand_t c);
void es_cand_sort(const es_store_t *s, es_cand_t *h, size_t n); /* best first */
int es_get(es_store_t *s, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err);
int es_related(es_store_t *s, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int es_path(es_store_t *s, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int es_add_entity(es_store_t *s, hx_graph_result_t *r, hx_graph_entity_t *dst, uint32_t idx);
int es_add_rel(es_store_t *s, hx_graph_result_t *r, hx_graph_rel_t *dst, uint32_t idx);

/* ---- codec.c: the binary form of a batch (WAL payload) ---- */
int es_batch_encode(const hx_graph_batch_t *b, hx_buf_t *out);
/* Decodes into ops (owned by out) and cursors (*cur malloc'd). */
int es_batch_decode(const unsigned char *p, size_t n, hx_graph_ops_t *out, hx_graph_cursor_t **cur, size_t *n_cur,
                    hx_err_t *err);

#endif
