/* Constant folding: a node whose arguments are all constants becomes a
 * constant, computed with the same scalar rules the executors use. */
#include "analytics/sql/scalar.h"
#include "analytics/sql/sql_int.h"

#include <math.h>

static int all_const(const hx_sql_expr_t *e)
{
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i]->kind != HX_SQL_CONST && e->args[i]->kind != HX_SQL_INTERVAL)
            return 0;
    return 1;
}

static double num_f(const hx_sql_expr_t *c)
{
    return c->type == HX_AN_T_FLOAT64 ? c->v.f : (double)c->v.i;
}

/* Three-way comparison of two constants of comparable types. */
static int cmp_const(const hx_sql_expr_t *a, const hx_sql_expr_t *b)
{
    if (a->type == HX_AN_T_STRING)
        return hx_sql_cmp_s(a->v.s, a->v.len, b->v.s, b->v.len);
    if (a->type == HX_AN_T_FLOAT64 || b->type == HX_AN_T_FLOAT64)
        return hx_sql_cmp_f(num_f(a), num_f(b));
    int64_t x = a->type == HX_AN_T_DATE && b->type == HX_AN_T_DATETIME ? a->v.i * 86400 : a->v.i;
    int64_t y = b->type == HX_AN_T_DATE && a->type == HX_AN_T_DATETIME ? b->v.i * 86400 : b->v.i;
    return hx_sql_cmp_i(x, y);
}

static int truthy(const hx_sql_expr_t *c)
{
    return c->type == HX_AN_T_FLOAT64 ? c->v.f != 0 : c->v.i != 0;
}

int sql_fold(sql_bind_ctx_t *bc, hx_sql_expr_t **ep)
{
    hx_sql_expr_t *e = *ep;
    if (!all_const(e) || e->kind == HX_SQL_AGG || e->kind == HX_SQL_CONST || e->kind == HX_SQL_INTERVAL)
        return HX_OK;
    hx_sql_expr_t *c = sql_new_node(bc->arena, HX_SQL_CONST, e->pos);
    if (!c)
        return hx_err_set(bc->err, HX_ENOMEM, "out of memory folding SQL");
    c->type = e->type;
    hx_sql_expr_t *a = e->nargs > 0 ? e->args[0] : NULL, *b = e->nargs > 1 ? e->args[1] : NULL;
    switch (e->kind) {
    case HX_SQL_CALL: c->v.i = hx_sql_fn_apply(e->fn, a->type, a->v.i); break;
    case HX_SQL_UNARY:
        if (e->op == HX_SQL_OP_NOT)
            c->v.i = !truthy(a);
        else if (a->type == HX_AN_T_FLOAT64)
            c->v.f = -a->v.f;
        else if (a->v.i == INT64_MIN)
            return HX_OK;
        else
            c->v.i = -a->v.i;
        break;
    case HX_SQL_BINARY:
        if (e->op <= HX_SQL_OP_GE) {
            c->v.i = hx_sql_cmp_result(e->op, cmp_const(a, b));
        } else if (e->op == HX_SQL_OP_AND) {
            c->v.i = truthy(a) && truthy(b);
        } else if (e->op == HX_SQL_OP_OR) {
            c->v.i = truthy(a) || truthy(b);
        } else if (e->type == HX_AN_T_FLOAT64) {
            double x = num_f(a), y = num_f(b), r;
            switch (e->op) {
            case HX_SQL_OP_ADD: r = x + y; break;
            case HX_SQL_OP_SUB: r = x - y; break;
            case HX_SQL_OP_MUL: r = x * y; break;
            default: r = x / y; break;
            }
            if (!isfinite(r))
                return HX_OK; /* left to run time: inf / nan show as null */
            c->v.f = r;
        } else {
            /* Integers, DateTime +- seconds, Date +- days. */
            int64_t x = a->v.i, y = b->v.i, r;
            if (e->type == HX_AN_T_DATE) {
                if (a->kind == HX_SQL_INTERVAL)
                    x /= 86400;
                if (b->kind == HX_SQL_INTERVAL)
                    y /= 86400;
            }
            int over = 0;
            switch (e->op) {
            case HX_SQL_OP_ADD: over = __builtin_add_overflow(x, y, &r); break;
            case HX_SQL_OP_SUB: over = __builtin_sub_overflow(x, y, &r); break;
            default: over = __builtin_mul_overflow(x, y, &r); break;
            }
            if (over)
                return sql_error_at(bc->err, bc->src, bc->len, e->pos, "integer overflow in a constant");
            c->v.i = r;
        }
        break;
    case HX_SQL_IN: {
        int hit = 0;
        for (int i = 1; i < e->nargs && !hit; i++)
            hit = cmp_const(a, e->args[i]) == 0;
        c->v.i = hit != e->negated;
        break;
    }
    case HX_SQL_BETWEEN: {
        int in = cmp_const(a, e->args[1]) >= 0 && cmp_const(a, e->args[2]) <= 0;
        int c1 = cmp_const(a, e->args[1]), c2 = cmp_const(a, e->args[2]);
        if (c1 == 2 || c2 == 2)
            in = 0;
        c->v.i = in != e->negated;
        break;
    }
    case HX_SQL_LIKE: c->v.i = hx_sql_like(a->v.s, a->v.len, b->v.s, b->v.len) != e->negated; break;
    default: return HX_OK;
    }
    *ep = c;
    return HX_OK;
}
