/* The Neo4j graph backend (backends.graph: neo4j): the ops table, open with
 * the idempotent schema, health from a real query, stats and cursors. */
#include "graph/neo4j/neo4j_int.h"
#include "helix/hx_logger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int schema_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    (void)ctx;
    /* Schema statements cannot share a transaction with each other's data
     * or with writes: each runs in auto-commit. */
    for (size_t i = 0; i < hx_cy_schema_n; i++) {
        int rc = hx_bolt_run(c, hx_cy_schema[i], NULL, NULL, err);
        if (rc) {
            hx_err_wrap(err, "neo4j schema (%.40s...)", hx_cy_schema[i]);
            return rc;
        }
    }
    return 0;
}

static void nj_close(void *impl)
{
    nj_t *nj = impl;
    if (!nj)
        return;
    hx_bolt_pool_free(nj->pool);
    free(nj);
}

typedef struct hctx {
    char *detail;
    size_t len;
    const char *uri;
} hctx_t;

static int health_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    hctx_t *h = ctx;
    hx_bolt_result_t res = {0};
    int rc = hx_bolt_run(c, hx_cy_health, NULL, &res, err);
    if (!rc) {
        const hx_ps_value_t *n = hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "name"));
        const hx_ps_value_t *v = hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "version"));
        const hx_ps_value_t *e = hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "edition"));
        const char *name = n && n->type == HX_PS_STRING ? n->u.s : "Neo4j";
        snprintf(h->detail, h->len, "neo4j at %s: %s %s (%s), Bolt server %s", h->uri, name,
                 v && v->type == HX_PS_STRING ? v->u.s : "?", e && e->type == HX_PS_STRING ? e->u.s : "?",
                 hx_bolt_server_agent(c));
    }
    hx_bolt_result_free(&res);
    return rc;
}

static int nj_health(void *impl, char *detail, size_t len)
{
    nj_t *nj = impl;
    hx_err_t err = {0};
    hctx_t h = {detail, len, nj->uri};
    int rc = hx_bolt_pool_with(nj->pool, health_fn, &h, &err);
    if (rc)
        snprintf(detail, len, "neo4j at %s: %s", nj->uri, err.msg);
    return rc ? HX_EUNAVAIL : 0;
}

static int count_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    hx_graph_stats_t *st = ctx;
    const char *const q[2] = {hx_cy_count_nodes, hx_cy_count_rels};
    int64_t *out[2] = {&st->nodes, &st->relationships};
    for (int i = 0; i < 2; i++) {
        hx_bolt_result_t res = {0};
        int rc = hx_bolt_run(c, q[i], NULL, &res, err);
        const hx_ps_value_t *v = rc ? NULL : hx_bolt_result_get(&res, 0, 0);
        *out[i] = v && v->type == HX_PS_INT ? v->u.i : 0;
        hx_bolt_result_free(&res);
        if (rc)
            return rc;
    }
    return 0;
}

/* Neo4j 5 exposes no page cache figures through Cypher (JMX is gone), and
 * the store size needs file access: both are reported unknown rather than
 * made up (hits = misses = 0, store_bytes = -1). */
static int nj_stats(void *impl, hx_graph_stats_t *out, hx_err_t *err)
{
    nj_t *nj = impl;
    memset(out, 0, sizeof *out);
    out->store_bytes = -1;
    out->transactions = atomic_load(&nj->transactions);
    return hx_bolt_pool_with(nj->pool, count_fn, out, err);
}

typedef struct cctx {
    hx_graph_cursor_t **out;
    size_t *n;
} cctx_t;

static int cursors_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    cctx_t *x = ctx;
    hx_bolt_result_t res = {0};
    int rc = hx_bolt_run(c, hx_cy_cursors, NULL, &res, err);
    if (!rc && res.n_records) {
        hx_graph_cursor_t *cur = calloc(res.n_records, sizeof *cur);
        if (!cur)
            rc = hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
        size_t k = 0;
        for (size_t i = 0; cur && i < res.n_records; i++) {
            const hx_ps_value_t *name = hx_bolt_result_get(&res, i, 0), *val = hx_bolt_result_get(&res, i, 1);
            if (!name || name->type != HX_PS_STRING || !val || val->type != HX_PS_INT)
                continue;
            snprintf(cur[k].name, sizeof cur[k].name, "%s", name->u.s);
            cur[k++].value = val->u.i;
        }
        *x->out = cur;
        *x->n = k;
    }
    hx_bolt_result_free(&res);
    return rc;
}

static int nj_cursors(void *impl, hx_graph_cursor_t **out, size_t *n, hx_err_t *err)
{
    *out = NULL;
    *n = 0;
    cctx_t x = {out, n};
    return hx_bolt_pool_with(((nj_t *)impl)->pool, cursors_fn, &x, err);
}

static const hx_graph_backend_ops_t nj_ops = {
    .name = "neo4j",
    .close = nj_close,
    .health = nj_health,
    .apply = nj_apply,
    .cursors = nj_cursors,
    .get = nj_get,
    .related = nj_related,
    .search = nj_search,
    .path = nj_path,
    .stats = nj_stats,
};

int hx_graph_neo4j_open(const hx_graph_opts_t *o, const hx_graph_backend_ops_t **ops, void **impl, hx_err_t *err)
{
    const hx_config_t *cfg = o->cfg;
    nj_t *nj = calloc(1, sizeof *nj);
    if (!nj)
        return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    snprintf(nj->uri, sizeof nj->uri, "%s", cfg->neo4j.uri);
    nj->batch_size = cfg->neo4j.batch_size;
    atomic_init(&nj->transactions, 0);
    hx_bolt_opts_t bo = {0};
    bo.uri = cfg->neo4j.uri;
    bo.user = cfg->neo4j.user;
    bo.password = cfg->neo4j.password;
    bo.database = cfg->neo4j.database;
    bo.io_timeout_ms = cfg->neo4j.timeout_ms;
    bo.connect_timeout_ms = cfg->neo4j.timeout_ms < 10000 ? cfg->neo4j.timeout_ms : 10000;
    int rc = hx_bolt_pool_new(&bo, cfg->neo4j.pool_size, &nj->pool, err);
    if (!rc)
        rc = hx_bolt_pool_with(nj->pool, schema_fn, NULL, err);
    if (rc) {
        hx_err_wrap(err, "opening the Neo4j graph backend (backends.graph: neo4j, neo4j.uri %s)", nj->uri);
        nj_close(nj);
        return rc;
    }
    HX_INFO("graph", "neo4j backend at %s (database %s, pool %d, %d rows per statement)", nj->uri,
            *cfg->neo4j.database ? cfg->neo4j.database : "default", cfg->neo4j.pool_size, nj->batch_size);
    *ops = &nj_ops;
    *impl = nj;
    return 0;
}
