/* Applying a graph batch to Neo4j: one explicit transaction; runs of
 * consecutive ops of one kind (and one relationship type) become one
 * `UNWIND $batch AS e ...` statement of up to neo4j.batch_size rows each, in
 * the batch's order; merges run op by op; the cursors go last, in the same
 * transaction, so the consumer's positions commit with the data. */
#include "graph/neo4j/neo4j_int.h"
#include "helix/hx_hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen seen_t;
typedef struct wctx wctx_t;

static void put_kv_str(hx_buf_t *b, const char *k, const char *v)
{
    hx_ps_put_cstr(b, k);
    nj_put_opt_str(b, v);
}

static void put_kv_int(hx_buf_t *b, const char *k, int64_t v)
{
    hx_ps_put_cstr(b, k);
    hx_ps_put_int(b, v);
}

static int put_row(hx_buf_t *b, const hx_graph_op_t *op)
{
    int rc = 0;
    switch (op->kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT:
        hx_ps_put_map_header(b, 11);
        put_kv_str(b, "tenant", op->tenant);
        put_kv_str(b, "id", op->id);
        put_kv_str(b, "label", op->label);
        put_kv_str(b, "type", op->type);
        put_kv_str(b, "name", op->name);
        put_kv_str(b, "description", op->description);
        hx_ps_put_cstr(b, "aliases");
        hx_ps_put_list_header(b, (uint32_t)op->n_aliases);
        for (size_t i = 0; i < op->n_aliases; i++)
            hx_ps_put_cstr(b, op->aliases[i]);
        hx_ps_put_cstr(b, "props");
        rc = nj_put_props(b, op->properties);
        put_kv_int(b, "mentions", op->mentions);
        hx_ps_put_cstr(b, "confidence");
        hx_ps_put_float(b, op->confidence);
        put_kv_int(b, "ts", op->ts_ms);
        break;
    case HX_GRAPH_OP_ENTITY_DELETE:
        hx_ps_put_map_header(b, 2);
        put_kv_str(b, "tenant", op->tenant);
        put_kv_str(b, "id", op->id);
        break;
    case HX_GRAPH_OP_REL_UPSERT:
        hx_ps_put_map_header(b, 7);
        put_kv_str(b, "tenant", op->tenant);
        put_kv_str(b, "from", op->from);
        put_kv_str(b, "to", op->to);
        hx_ps_put_cstr(b, "strength");
        hx_ps_put_float(b, op->strength);
        hx_ps_put_cstr(b, "strength_set");
        hx_ps_put_bool(b, op->strength_set);
        hx_ps_put_cstr(b, "props");
        rc = nj_put_props(b, op->properties);
        put_kv_int(b, "ts", op->ts_ms);
        break;
    case HX_GRAPH_OP_REL_DELETE:
        hx_ps_put_map_header(b, 3);
        put_kv_str(b, "tenant", op->tenant);
        put_kv_str(b, "from", op->from);
        put_kv_str(b, "to", op->to);
        break;
    default:
        return HX_EINVAL;
    }
    return rc;
}

static int same_run(const hx_graph_op_t *a, const hx_graph_op_t *b)
{
    if (a->kind != b->kind || a->kind == HX_GRAPH_OP_ENTITY_MERGE)
        return 0;
    if (a->kind == HX_GRAPH_OP_REL_UPSERT || a->kind == HX_GRAPH_OP_REL_DELETE)
        return strcmp(a->rel_type, b->rel_type) == 0;
    return 1;
}

/* The node (entity ops) or node pair (relationship ops) a row writes. */
static uint64_t row_key(const hx_graph_op_t *op)
{
    if (op->kind == HX_GRAPH_OP_REL_UPSERT || op->kind == HX_GRAPH_OP_REL_DELETE) {
        uint64_t a = hx_hash64(op->from, strlen(op->from)), b = hx_hash64(op->to, strlen(op->to));
        return a * 0x9E3779B97F4A7C15ULL ^ b;
    }
    return hx_hash64(op->id, strlen(op->id));
}

/* A set of row keys for one run; a (rare) false "seen" only splits a run
 * early, which is harmless. */
#define SEEN_SLOTS 4096
typedef struct seen {
    uint64_t slot[SEEN_SLOTS];
    int used;
} seen_t;

static int seen_add(seen_t *s, uint64_t k)
{
    k |= 1; /* 0 marks an empty slot */
    for (size_t i = k % SEEN_SLOTS;; i = (i + 1) % SEEN_SLOTS) {
        if (s->slot[i] == k)
            return 1;
        if (!s->slot[i]) {
            s->slot[i] = k;
            s->used++;
            return 0;
        }
    }
}

/* ops[i..j) as one UNWIND statement. */
struct wctx {
    nj_t *nj;
    const hx_graph_batch_t *b;
    hx_buf_t params, stmt;
    seen_t seen;
};

static int run_rows(hx_bolt_conn_t *c, wctx_t *w, size_t i, size_t j, hx_err_t *err)
{
    const hx_graph_op_t *ops = w->b->ops;
    const char *cypher;
    int rc = 0;
    switch (ops[i].kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT: cypher = hx_cy_entity_upsert; break;
    case HX_GRAPH_OP_ENTITY_DELETE: cypher = hx_cy_entity_delete; break;
    case HX_GRAPH_OP_REL_UPSERT:
        if ((rc = hx_cy_rel_upsert(&w->stmt, ops[i].rel_type, err)))
            return rc;
        cypher = hx_buf_cstr(&w->stmt);
        break;
    case HX_GRAPH_OP_REL_DELETE:
        if ((rc = hx_cy_rel_delete(&w->stmt, ops[i].rel_type, err)))
            return rc;
        cypher = hx_buf_cstr(&w->stmt);
        break;
    default:
        return hx_err_set(err, HX_EINTERNAL, "neo4j: op kind %d in a row run", ops[i].kind);
    }
    hx_buf_reset(&w->params);
    hx_ps_put_map_header(&w->params, 1);
    hx_ps_put_cstr(&w->params, "batch");
    hx_ps_put_list_header(&w->params, (uint32_t)(j - i));
    for (size_t k = i; k < j && !rc; k++)
        rc = put_row(&w->params, &ops[k]);
    if (rc)
        return hx_err_set(err, rc, "neo4j: cannot encode graph op %zu", i);
    return hx_bolt_run(c, cypher, &w->params, NULL, err);
}

static int params_ids(hx_buf_t *p, const char *tenant, const char *from, const char *into, int64_t ts)
{
    hx_buf_reset(p);
    hx_ps_put_map_header(p, (into ? 3u : 2u) + (ts >= 0 ? 1u : 0u));
    put_kv_str(p, "tenant", tenant);
    put_kv_str(p, "from", from);
    if (into)
        put_kv_str(p, "into", into);
    if (ts >= 0)
        put_kv_int(p, "ts", ts);
    return 0;
}

/* Moves every relationship of from (both directions, each of its types) to
 * into, then sums the nodes and leaves a redirect. */
static int run_merge(hx_bolt_conn_t *c, wctx_t *w, const hx_graph_op_t *op, hx_err_t *err)
{
    char from[HX_GRAPH_ID_MAX + 1], into[HX_GRAPH_ID_MAX + 1];
    int rc = nj_resolve(c, op->tenant, op->id, from, sizeof from, err);
    if (rc == HX_ENOTFOUND)
        return 0; /* absent: a no-op in a batch */
    if (!rc)
        rc = nj_resolve(c, op->tenant, op->into, into, sizeof into, err);
    if (rc == HX_ENOTFOUND || (!rc && strcmp(from, into) == 0))
        return 0;
    if (rc)
        return rc;
    hx_bolt_result_t types = {0};
    params_ids(&w->params, op->tenant, from, NULL, -1);
    rc = hx_bolt_run(c, hx_cy_merge_types, &w->params, &types, err);
    for (size_t i = 0; !rc && i < types.n_records; i++) {
        const hx_ps_value_t *t = hx_bolt_result_get(&types, i, 0);
        if (!t || t->type != HX_PS_STRING || !hx_cy_type_ok(t->u.s)) {
            rc = hx_err_set(err, HX_EUNSUPPORTED,
                            "neo4j: entity '%s' has a relationship type Helix cannot name in Cypher (%s); merge it "
                            "in Neo4j directly",
                            from, t && t->type == HX_PS_STRING ? t->u.s : "not a string");
            break;
        }
        params_ids(&w->params, op->tenant, from, into, -1);
        for (int out = 0; out < 2 && !rc; out++)
            if (!(rc = hx_cy_merge_move(&w->stmt, t->u.s, out, err)))
                rc = hx_bolt_run(c, hx_buf_cstr(&w->stmt), &w->params, NULL, err);
    }
    hx_bolt_result_free(&types);
    if (rc)
        return rc;
    params_ids(&w->params, op->tenant, from, into, op->ts_ms);
    return hx_bolt_run(c, hx_cy_merge_finish, &w->params, NULL, err);
}

static int run_cursors(hx_bolt_conn_t *c, wctx_t *w, hx_err_t *err)
{
    const hx_graph_batch_t *b = w->b;
    hx_buf_reset(&w->params);
    hx_ps_put_map_header(&w->params, 1);
    hx_ps_put_cstr(&w->params, "batch");
    hx_ps_put_list_header(&w->params, (uint32_t)b->n_cursors);
    for (size_t i = 0; i < b->n_cursors; i++) {
        hx_ps_put_map_header(&w->params, 2);
        put_kv_str(&w->params, "name", b->cursors[i].name);
        put_kv_int(&w->params, "value", b->cursors[i].value);
    }
    return hx_bolt_run(c, hx_cy_cursor_set, &w->params, NULL, err);
}

static int apply_tx(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    wctx_t *w = ctx;
    const hx_graph_batch_t *b = w->b;
    size_t max = (size_t)(w->nj->batch_size > 0 ? w->nj->batch_size : 1000);
    int rc = hx_bolt_begin(c, 1, err);
    size_t i = 0;
    while (!rc && i < b->n_ops) {
        if (b->ops[i].kind == HX_GRAPH_OP_ENTITY_MERGE) {
            rc = run_merge(c, w, &b->ops[i], err);
            i++;
            continue;
        }
        /* A run never writes one node (or node pair) twice: Cypher runs a
         * statement clause by clause over all its rows, so a second row
         * would read the counters from before the first row's SET (lost
         * mentions and strength). A repeat starts the next statement. */
        memset(w->seen.slot, 0, sizeof w->seen.slot);
        w->seen.used = 0;
        seen_add(&w->seen, row_key(&b->ops[i]));
        size_t j = i + 1;
        while (j < b->n_ops && j - i < max && w->seen.used < SEEN_SLOTS / 2 && same_run(&b->ops[i], &b->ops[j]) &&
               !seen_add(&w->seen, row_key(&b->ops[j])))
            j++;
        rc = run_rows(c, w, i, j, err);
        i = j;
    }
    if (!rc && b->n_cursors)
        rc = run_cursors(c, w, err);
    if (!rc)
        return hx_bolt_commit(c, err);
    if (hx_bolt_in_tx(c))
        hx_bolt_rollback(c, NULL);
    return rc;
}

int nj_apply(void *impl, const hx_graph_batch_t *batch, hx_err_t *err)
{
    nj_t *nj = impl;
    if (batch->n_ops == 0 && batch->n_cursors == 0)
        return 0;
    wctx_t *w = calloc(1, sizeof *w);
    if (!w)
        return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    w->nj = nj;
    w->b = batch;
    int rc = hx_bolt_pool_with(nj->pool, apply_tx, w, err);
    hx_buf_free(&w->params);
    hx_buf_free(&w->stmt);
    free(w);
    if (!rc)
        atomic_fetch_add(&nj->transactions, 1);
    else
        hx_err_wrap(err, "neo4j graph batch of %zu ops", batch->n_ops);
    return rc;
}
