/* Private: what a graph store backend implements. src/graph/graph.c
 * dispatches the public hx_graph_* calls to these ops; everything generic
 * lives above them and is shared: validation of ops and queries (a backend
 * sees only valid input: ids, types, limits, depth 1..5 as checked by
 * hx_graph_op_validate and graph.c), the event codec, both consumers with
 * their batching and dedup, read-your-writes waits, metrics, and the JSON
 * forms of results.
 *
 * Backends: embedded (src/graph/embedded) and neo4j (src/graph/neo4j). A new
 * backend adds one row to the table in graph.c.
 *
 * Contract for every op (tests/graph_conformance.h checks it):
 *  - apply: the batch's ops in order with hx_graph.h's upsert/delete/merge
 *    semantics, and its cursors, in ONE transaction: after a crash either
 *    all of it is visible (with the cursors) or none. Returns only when it
 *    is committed (durable per the backend's policy: embedded follows
 *    event_log.fsync). Called by one thread at a time.
 *  - cursors: every stored cursor (*out malloc'd, caller frees).
 *  - get / related / search / path: read-only, concurrent with apply and
 *    with each other; results are built with the hx_graph_result_* helpers
 *    below, so graph.c renders every backend's answers in the same JSON.
 *    ENOTFOUND for an unknown id (after following merge redirects). Stub
 *    nodes (created by a relationship before their entity upsert) are real
 *    nodes with empty type and name.
 *  - stats: counts and the cache figures of neo4j_page_cache_hit_ratio.
 *  - health: a real check (the store is usable), detail says what was seen. */
#ifndef HX_GRAPH_BACKEND_H
#define HX_GRAPH_BACKEND_H

#include "helix/hx_graph.h"

typedef struct hx_graph_backend_ops {
    const char *name;          /* "embedded" | "neo4j": the backend label of metrics */
    void (*close)(void *impl);
    int (*health)(void *impl, char *detail, size_t len);
    int (*apply)(void *impl, const hx_graph_batch_t *batch, hx_err_t *err);
    int (*cursors)(void *impl, hx_graph_cursor_t **out, size_t *n, hx_err_t *err);
    int (*get)(void *impl, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err);
    int (*related)(void *impl, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err);
    int (*search)(void *impl, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err);
    int (*path)(void *impl, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err);
    int (*stats)(void *impl, hx_graph_stats_t *out, hx_err_t *err);
} hx_graph_backend_ops_t;

/* Each backend's constructor: fills *ops and *impl. o->cfg is valid for the
 * call only (copy what you keep). */
typedef int (*hx_graph_backend_open_fn)(const hx_graph_opts_t *o, const hx_graph_backend_ops_t **ops, void **impl,
                                        hx_err_t *err);

int hx_graph_embedded_open(const hx_graph_opts_t *o, const hx_graph_backend_ops_t **ops, void **impl,
                           hx_err_t *err);
int hx_graph_neo4j_open(const hx_graph_opts_t *o, const hx_graph_backend_ops_t **ops, void **impl, hx_err_t *err);

/* ---- building results (graph.c); every byte lives in the result's arena.
 * Each returns NULL / HX_ENOMEM when memory runs out. */
void *hx_graph_result_alloc(hx_graph_result_t *r, size_t n);          /* zeroed */
const char *hx_graph_result_str(hx_graph_result_t *r, const char *s); /* copy; NULL -> "" */
const char *hx_graph_result_strn(hx_graph_result_t *r, const char *s, size_t n);
/* Appends a zeroed element and returns it (pointers to earlier elements of
 * the same array may move: fill one element before adding the next). */
hx_graph_hit_t *hx_graph_result_add_hit(hx_graph_result_t *r);
hx_graph_entity_t *hx_graph_result_add_node(hx_graph_result_t *r);
hx_graph_rel_t *hx_graph_result_add_rel(hx_graph_result_t *r);
/* Copies e / rel (every string and the aliases) into r's arena. */
int hx_graph_result_copy_entity(hx_graph_result_t *r, hx_graph_entity_t *dst, const hx_graph_entity_t *src);
int hx_graph_result_copy_rel(hx_graph_result_t *r, hx_graph_rel_t *dst, const hx_graph_rel_t *src);

/* BM25 terms of text, for backends that index themselves (the embedded
 * store) and for checks: calls fn for each lowercase term (at most 64 bytes
 * each, longer runs cut); returns the number of terms. */
typedef void (*hx_graph_term_fn)(void *ctx, const char *term, size_t len);
size_t hx_graph_terms(const char *text, hx_graph_term_fn fn, void *ctx);

#endif
