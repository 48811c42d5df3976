/* Which rollup, if any, answers a query exactly. Shared by both backends so
 * they answer the same queries from the same rollups. A rollup entry stands
 * for every row of one (tenant, bucket, dims); a query is answerable when
 * every row of an entry is treated alike by its WHERE and lands in one group,
 * and each aggregate can be computed from the entry's states. */
#include "analytics/sql/sql.h"

#include <stdio.h>

typedef struct {
    const hx_an_rollup_def_t *r;
    const char *why;
} match_t;

static int is_dim(const hx_an_rollup_def_t *r, int col)
{
    for (int d = 0; d < r->ndims; d++)
        if (r->dims[d] == col)
            return 1;
    return 0;
}

static int64_t fmod_pos(int64_t a, int64_t b)
{
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

/* Seconds one value of fn spans (toYYYYMM: whole days, which is what matters
 * for alignment). */
static int64_t fn_granularity(int fn)
{
    switch (fn) {
    case HX_SQL_FN_START_OF_MINUTE: return 60;
    case HX_SQL_FN_START_OF_HOUR: return 3600;
    default: return 86400;
    }
}

static int is_ts(const hx_sql_expr_t *e)
{
    return e->kind == HX_SQL_COL && e->col == HX_AN_COL_TIMESTAMP;
}

/* fn(...(timestamp)) with every function at or above the bucket. */
static int ts_function_ok(match_t *m, const hx_sql_expr_t *e)
{
    if (is_ts(e))
        return 1;
    if (e->kind != HX_SQL_CALL)
        return 0;
    if (fn_granularity(e->fn) % m->r->bucket_s != 0) {
        m->why = "a time function finer than the rollup's bucket";
        return 0;
    }
    return ts_function_ok(m, e->args[0]);
}

static int aligned(const match_t *m, int op, int64_t c)
{
    int64_t b = m->r->bucket_s;
    switch (op) {
    case HX_SQL_OP_GE:
    case HX_SQL_OP_LT: return fmod_pos(c, b) == 0;
    case HX_SQL_OP_GT:
    case HX_SQL_OP_LE: return fmod_pos(c + 1, b) == 0;
    }
    return 0;
}

/* Everything outside aggregates: only dims, bucket-compatible time functions
 * and bucket-aligned comparisons of timestamp. */
static int outside_ok(match_t *m, const hx_sql_expr_t *e)
{
    switch (e->kind) {
    case HX_SQL_CONST:
    case HX_SQL_INTERVAL:
    case HX_SQL_AGG: return 1;
    case HX_SQL_COL:
        if (e->col == HX_AN_COL_TIMESTAMP) {
            m->why = "timestamp used below the rollup's bucket";
            return 0;
        }
        if (!is_dim(m->r, e->col)) {
            m->why = "a column the rollup does not keep";
            return 0;
        }
        return 1;
    case HX_SQL_CALL:
        if (e->args[0]->kind == HX_SQL_CALL || is_ts(e->args[0]))
            return ts_function_ok(m, e);
        return outside_ok(m, e->args[0]);
    case HX_SQL_BINARY:
        if (e->op <= HX_SQL_OP_GE && is_ts(e->args[0]) && e->args[1]->kind == HX_SQL_CONST) {
            if (aligned(m, e->op, e->args[1]->v.i))
                return 1;
            m->why = "a timestamp bound that is not on a bucket boundary";
            return 0;
        }
        break;
    case HX_SQL_BETWEEN:
        if (is_ts(e->args[0]) && e->args[1]->kind == HX_SQL_CONST && e->args[2]->kind == HX_SQL_CONST) {
            if (aligned(m, HX_SQL_OP_GE, e->args[1]->v.i) && aligned(m, HX_SQL_OP_LE, e->args[2]->v.i))
                return 1;
            m->why = "a timestamp bound that is not on a bucket boundary";
            return 0;
        }
        break;
    default: break;
    }
    for (int i = 0; i < e->nargs; i++)
        if (!outside_ok(m, e->args[i]))
            return 0;
    return 1;
}

static int find_measure(const hx_an_rollup_def_t *r, hx_an_measure_kind_t kind, int col)
{
    for (int i = 0; i < r->nmeasures; i++)
        if (r->measures[i].kind == kind && (kind == HX_AN_M_COUNT || r->measures[i].col == col))
            return i;
    return -1;
}

/* Maps every aggregate to the rollup's states (and checks outside parts). */
static int map_aggs(match_t *m, hx_sql_expr_t *e)
{
    if (e->kind != HX_SQL_AGG) {
        if (e->kind == HX_SQL_COL || e->kind == HX_SQL_CONST)
            return 1;
        for (int i = 0; i < e->nargs; i++)
            if (!map_aggs(m, e->args[i]))
                return 0;
        return 1;
    }
    const hx_an_rollup_def_t *r = m->r;
    int col = e->nargs ? (e->args[0]->kind == HX_SQL_COL ? e->args[0]->col : -2) : -1;
    if (col == -2) {
        m->why = "an aggregate of an expression";
        return 0;
    }
    int a = -1, b = -1;
    switch (e->agg) {
    case HX_SQL_AGG_COUNT: a = find_measure(r, HX_AN_M_COUNT, -1); break;
    case HX_SQL_AGG_SUM: a = find_measure(r, HX_AN_M_SUM, col); break;
    case HX_SQL_AGG_AVG:
        a = find_measure(r, HX_AN_M_SUM, col);
        b = find_measure(r, HX_AN_M_COUNT, -1);
        if (b < 0)
            a = -1;
        break;
    case HX_SQL_AGG_MIN: a = find_measure(r, HX_AN_M_MIN, col); break;
    case HX_SQL_AGG_MAX: a = find_measure(r, HX_AN_M_MAX, col); break;
    case HX_SQL_AGG_QUANTILE: a = find_measure(r, HX_AN_M_QUANTILES, col); break;
    default: break;
    }
    if (a < 0) {
        m->why = "an aggregate the rollup keeps no state for";
        return 0;
    }
    e->m[0] = a;
    e->m[1] = b;
    return 1;
}

static void clear_marks(hx_sql_expr_t *e)
{
    e->m[0] = e->m[1] = -1;
    for (int i = 0; i < e->nargs; i++)
        clear_marks(e->args[i]);
}

static int try_rollup(hx_sql_query_t *q, match_t *m)
{
    for (int i = 0; i < q->nitems; i++)
        if (!outside_ok(m, q->items[i].e) || !map_aggs(m, q->items[i].e))
            return 0;
    for (int o = 0; o < q->norder; o++)
        if (!outside_ok(m, q->order_by[o].e) || !map_aggs(m, q->order_by[o].e))
            return 0;
    for (int g = 0; g < q->ngroup; g++)
        if (!outside_ok(m, q->group_by[g]))
            return 0;
    if (q->where && !outside_ok(m, q->where))
        return 0;
    return 1;
}

int hx_sql_rollup_fits(hx_sql_query_t *q, const hx_an_rollup_def_t *level)
{
    match_t m = {level, NULL};
    return q->aggregate && level->table == q->table && try_rollup(q, &m);
}

int hx_sql_match_rollup(hx_sql_query_t *q, char *why, size_t why_len)
{
    q->rollup = -1;
    for (int i = 0; i < q->nitems; i++)
        clear_marks(q->items[i].e);
    for (int o = 0; o < q->norder; o++)
        clear_marks(q->order_by[o].e);
    const char *reason = "no rollup for this table";
    if (!q->aggregate)
        reason = "not an aggregate query";
    for (int r = 0; q->aggregate && r < HX_AN_NROLLUPS; r++) {
        const hx_an_rollup_def_t *rd = hx_an_rollup((hx_an_rollup_t)r);
        if (rd->table != q->table)
            continue;
        match_t m = {rd, "not answerable"};
        if (try_rollup(q, &m)) {
            q->rollup = r;
            return 1;
        }
        reason = m.why;
        for (int i = 0; i < q->nitems; i++)
            clear_marks(q->items[i].e);
        for (int o = 0; o < q->norder; o++)
            clear_marks(q->order_by[o].e);
    }
    if (why && why_len)
        snprintf(why, why_len, "%s", reason);
    return 0;
}
