/* Private to the Neo4j graph backend (src/graph/neo4j/neo4j_*.c). */
#ifndef HX_NEO4J_INT_H
#define HX_NEO4J_INT_H

#include "graph/backend.h"
#include "graph/neo4j/bolt.h"
#include "graph/neo4j/cypher.h"

#include <stdatomic.h>

typedef struct nj {
    hx_bolt_pool_t *pool;
    char uri[256];
    int batch_size;
    atomic_uint_fast64_t transactions;   /* committed batches since open */
} nj_t;

/* ---- parameters (neo4j_params.c) ---- */
/* A graph properties object as flattened node/relationship properties
 * (p.KEY primitive or list of one primitive type, j.KEY JSON text of the
 * rest; both keys of a name are always written, one of them null, so a
 * value changing form leaves nothing behind; null removes). */
int nj_put_props(hx_buf_t *b, const json_t *props);
/* The inverse: the p./j. keys of a node or relationship property map as
 * compact JSON object text in r's arena ("{}" when none). */
const char *nj_props_json(hx_graph_result_t *r, const hx_ps_value_t *props);
/* PackStream string or null. */
int nj_put_opt_str(hx_buf_t *b, const char *s);

/* ---- reads (neo4j_read.c) ---- */
int nj_get(void *impl, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err);
int nj_related(void *impl, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int nj_search(void *impl, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int nj_path(void *impl, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err);
/* The id after merge redirects into *out (a copy in buf), HX_ENOTFOUND
 * when there is no such node. */
int nj_resolve(hx_bolt_conn_t *c, const char *tenant, const char *id, char *buf, size_t len, hx_err_t *err);

/* ---- writes (neo4j_write.c) ---- */
int nj_apply(void *impl, const hx_graph_batch_t *batch, hx_err_t *err);

#endif
