/* The SQL layer's entry points (parse + bind into one arena) and the tree
 * helpers both backends use. */
#include "analytics/sql/sql_int.h"

#include <string.h>

int hx_sql_has_agg(const hx_sql_expr_t *e)
{
    if (e->kind == HX_SQL_AGG)
        return 1;
    for (int i = 0; i < e->nargs; i++)
        if (hx_sql_has_agg(e->args[i]))
            return 1;
    return 0;
}

int hx_sql_expr_equal(const hx_sql_expr_t *a, const hx_sql_expr_t *b)
{
    if (a == b)
        return 1;
    if (a->kind != b->kind || a->nargs != b->nargs)
        return 0;
    switch (a->kind) {
    case HX_SQL_COL:
        if (a->col != b->col)
            return 0;
        break;
    case HX_SQL_CONST:
        if (a->type == HX_AN_T_STRING || b->type == HX_AN_T_STRING)
            return a->type == b->type && a->v.len == b->v.len && !memcmp(a->v.s, b->v.s, a->v.len);
        if (a->type == HX_AN_T_FLOAT64 || b->type == HX_AN_T_FLOAT64)
            return a->type == b->type && (a->v.f == b->v.f || (a->v.f != a->v.f && b->v.f != b->v.f));
        /* Integer constants compare by value: 1 = 1 folds to UInt8 1, which prints as 1. */
        if ((a->type == HX_AN_T_DATETIME) != (b->type == HX_AN_T_DATETIME) ||
            (a->type == HX_AN_T_DATE) != (b->type == HX_AN_T_DATE))
            return 0;
        return a->v.i == b->v.i;
    case HX_SQL_CALL:
        if (a->fn != b->fn)
            return 0;
        break;
    case HX_SQL_AGG:
        if (a->agg != b->agg || (a->agg == HX_SQL_AGG_QUANTILE && a->q != b->q))
            return 0;
        break;
    case HX_SQL_BINARY:
    case HX_SQL_UNARY:
        if (a->op != b->op)
            return 0;
        break;
    case HX_SQL_IN:
    case HX_SQL_BETWEEN:
    case HX_SQL_LIKE:
        if (a->negated != b->negated)
            return 0;
        break;
    case HX_SQL_INTERVAL: return a->v.i == b->v.i;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!hx_sql_expr_equal(a->args[i], b->args[i]))
            return 0;
    return 1;
}

int hx_sql_parse(const char *sql, size_t len, const char *tenant, const hx_an_param_t *params, size_t nparams,
                 int64_t now_s, hx_sql_query_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!sql)
        return hx_err_set(err, HX_EINVAL, "SQL error: no statement");
    if (len > SQL_MAX_LEN)
        return hx_err_set(err, HX_EINVAL, "SQL error: statement of %zu bytes is over the limit of %d", len,
                          SQL_MAX_LEN);
    sql_arena_t arena = {0};
    hx_sql_query_t *q = sql_alloc(&arena, sizeof *q);
    if (!q)
        return hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    sql_lexer_t lx = {sql, len, 0, &arena, {0}, err};
    sql_raw_stmt_t st;
    int rc = sql_parse_raw(&lx, &st);
    if (!rc) {
        sql_bind_ctx_t bc = {sql, len, &arena, params, nparams, now_s, err};
        rc = sql_bind(&bc, &st, q);
    }
    if (!rc && !(q->tenant = sql_strndup(&arena, tenant ? tenant : "default", strlen(tenant ? tenant : "default"))))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    if (rc) {
        sql_arena_free(&arena);
        return rc;
    }
    q->now_s = now_s;
    /* The arena holds q itself; keep its head in q so free finds it. */
    sql_arena_t *keep = sql_alloc(&arena, sizeof *keep);
    if (!keep) {
        sql_arena_free(&arena);
        return hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    }
    *keep = arena;
    q->arena_ = keep;
    *out = q;
    return HX_OK;
}

void hx_sql_free(hx_sql_query_t *q)
{
    if (!q)
        return;
    sql_arena_t a = *(sql_arena_t *)q->arena_;
    sql_arena_free(&a);
}
