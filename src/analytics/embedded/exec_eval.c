/* Vectorised expression evaluation over one batch, and the scalar form used
 * after aggregation. String predicates on dictionary columns are decided once
 * per dictionary entry (a bitmap over codes), then per row by code. */
#include "analytics/embedded/exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int xc_slot(xctx_t *x, const hx_sql_expr_t *e)
{
    for (size_t i = 0; i < x->nslots; i++)
        if (x->slots[i].e == e)
            return (int)i;
    if (x->nslots == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 32;
        xslot_t *ns = realloc(x->slots, cap * sizeof *ns);
        if (!ns)
            return -1;
        x->slots = ns;
        x->cap = cap;
    }
    xslot_t *s = &x->slots[x->nslots];
    memset(s, 0, sizeof *s);
    s->e = e;
    s->code_eq = -2;
    return (int)x->nslots++;
}

static inline int64_t gi(const xv_t *v, size_t r)
{
    return v->is_const ? v->ci : v->kind == XV_F ? (int64_t)v->f[r] : v->i[r];
}

static inline double gf(const xv_t *v, size_t r)
{
    if (v->is_const)
        return v->kind == XV_F ? v->cf : (double)v->ci;
    return v->kind == XV_F ? v->f[r] : (double)v->i[r];
}

static inline void gs(const xv_t *v, size_t r, const char **s, size_t *len)
{
    if (v->is_const) {
        *s = v->cs;
        *len = v->clen;
    } else if (v->kind == XV_CODE) {
        const an_dent_t *d = an_dict_get(v->dict, v->code[r]);
        *s = d->s;
        *len = d->len;
    } else {
        *s = v->str + v->off[r];
        *len = v->off[r + 1] - v->off[r];
    }
}

static inline int truthy(const xv_t *v, size_t r)
{
    return v->kind == XV_F || (v->is_const && v->kind == XV_F) ? gf(v, r) != 0 : gi(v, r) != 0;
}

void xc_row_value(const xv_t *v, size_t r, xs_t *out)
{
    memset(out, 0, sizeof *out);
    if (v->kind == XV_CODE || v->kind == XV_STR) {
        out->kind = XV_STR;
        gs(v, r, &out->s, &out->len);
    } else if (v->kind == XV_F) {
        out->kind = XV_F;
        out->f = gf(v, r);
    } else {
        out->kind = XV_I;
        out->i = gi(v, r);
    }
}

static int oom(xctx_t *x)
{
    return hx_err_set(x->err, HX_ENOMEM, "out of memory running a query");
}

static int buf_i(xctx_t *x, xslot_t *s)
{
    if (!s->bi && !(s->bi = malloc(XB * sizeof *s->bi)))
        return oom(x);
    return HX_OK;
}

static int buf_f(xctx_t *x, xslot_t *s)
{
    if (!s->bf && !(s->bf = malloc(XB * sizeof *s->bf)))
        return oom(x);
    return HX_OK;
}

/* Column view of the current source. */
static int eval_col(xctx_t *x, const hx_sql_expr_t *e, xv_t *out)
{
    const hx_an_column_def_t *cd = &x->t->def->cols[e->col];
    memset(out, 0, sizeof *out);
    size_t b = x->base;
    if (x->ru) {
        const an_rollup_t *ru = x->ru;
        if (e->col == HX_AN_COL_TENANT) {
            out->kind = XV_CODE;
            out->code = ru->tenant + b;
            out->dict = &x->t->dict[0];
            return HX_OK;
        }
        if (e->col == HX_AN_COL_TIMESTAMP) {
            out->kind = XV_I;
            out->i = ru->t + b;
            return HX_OK;
        }
        for (int d = 0; d < ru->def->ndims; d++)
            if (ru->def->dims[d] == e->col) {
                out->kind = XV_CODE;
                out->code = ru->dim[d] + b;
                out->dict = &x->t->dict[e->col];
                return HX_OK;
            }
        return hx_err_set(x->err, HX_EINTERNAL, "rollup has no column %s", cd->name);
    }
    const an_vec_t *v = &x->cols[e->col];
    if (cd->type == HX_AN_T_FLOAT64) {
        out->kind = XV_F;
        out->f = v->f + b;
    } else if (cd->type == HX_AN_T_STRING && cd->low_cardinality) {
        out->kind = XV_CODE;
        out->code = v->code + b;
        out->dict = &x->t->dict[e->col];
    } else if (cd->type == HX_AN_T_STRING) {
        out->kind = XV_STR;
        out->off = v->off + b;
        out->str = v->str;
    } else {
        out->kind = XV_I;
        out->i = v->i + b;
    }
    return HX_OK;
}

static int const_view(const hx_sql_expr_t *e, xv_t *out)
{
    memset(out, 0, sizeof *out);
    out->is_const = 1;
    if (e->type == HX_AN_T_STRING) {
        out->kind = XV_STR;
        out->cs = e->v.s;
        out->clen = e->v.len;
    } else if (e->type == HX_AN_T_FLOAT64 && e->kind == HX_SQL_CONST) {
        out->kind = XV_F;
        out->cf = e->v.f;
    } else {
        out->kind = XV_I;
        out->ci = e->v.i;
    }
    return HX_OK;
}

/* Whether dictionary string s satisfies predicate e (a comparison with a
 * constant, IN, LIKE or BETWEEN of constants) on its first argument. */
static int string_pred(const hx_sql_expr_t *e, const char *s, size_t len)
{
    switch (e->kind) {
    case HX_SQL_BINARY: {
        const hx_sql_expr_t *c = e->args[1];
        return hx_sql_cmp_result(e->op, hx_sql_cmp_s(s, len, c->v.s, c->v.len));
    }
    case HX_SQL_IN: {
        int hit = 0;
        for (int i = 1; i < e->nargs && !hit; i++)
            hit = hx_sql_cmp_s(s, len, e->args[i]->v.s, e->args[i]->v.len) == 0;
        return hit != e->negated;
    }
    case HX_SQL_LIKE: return hx_sql_like(s, len, e->args[1]->v.s, e->args[1]->v.len) != e->negated;
    case HX_SQL_BETWEEN: {
        int in = hx_sql_cmp_s(s, len, e->args[1]->v.s, e->args[1]->v.len) >= 0 &&
                 hx_sql_cmp_s(s, len, e->args[2]->v.s, e->args[2]->v.len) <= 0;
        return in != e->negated;
    }
    default: return 0;
    }
}

static int consts_from(const hx_sql_expr_t *e, int first)
{
    for (int i = first; i < e->nargs; i++)
        if (e->args[i]->kind != HX_SQL_CONST)
            return 0;
    return 1;
}

/* A predicate on a dictionary column decided per code. */
static int code_pred(xctx_t *x, xslot_t *sl, const xv_t *col, int64_t *out)
{
    const hx_sql_expr_t *e = sl->e;
    if (e->kind == HX_SQL_BINARY && (e->op == HX_SQL_OP_EQ || e->op == HX_SQL_OP_NE)) {
        if (sl->code_eq == -2) {
            uint32_t code;
            sl->code_eq = an_dict_find((an_dict_t *)col->dict, e->args[1]->v.s, e->args[1]->v.len, &code)
                              ? -1
                              : (int64_t)code;
        }
        int eq = e->op == HX_SQL_OP_EQ;
        int64_t c = sl->code_eq;
        for (size_t r = 0; r < x->n; r++)
            out[r] = ((int64_t)col->code[r] == c) == eq;
        return HX_OK;
    }
    if (!sl->bm_done) {
        uint32_t n = an_dict_size(col->dict);
        if (!(sl->bm = malloc(n ? n : 1)))
            return oom(x);
        for (uint32_t c = 0; c < n; c++) {
            const an_dent_t *d = an_dict_get(col->dict, c);
            sl->bm[c] = (uint8_t)string_pred(e, d->s, d->len);
        }
        sl->bm_n = n;
        sl->bm_done = 1;
    }
    for (size_t r = 0; r < x->n; r++) {
        uint32_t c = col->code[r];
        if (c < sl->bm_n) {
            out[r] = sl->bm[c];
        } else {
            const an_dent_t *d = an_dict_get(col->dict, c);
            out[r] = string_pred(e, d->s, d->len);
        }
    }
    return HX_OK;
}

static int cmp_rows(int op, const xv_t *a, const xv_t *b, size_t r, int strings, int floats)
{
    if (strings) {
        const char *s1, *s2;
        size_t l1, l2;
        gs(a, r, &s1, &l1);
        gs(b, r, &s2, &l2);
        return hx_sql_cmp_result(op, hx_sql_cmp_s(s1, l1, s2, l2));
    }
    if (floats)
        return hx_sql_cmp_result(op, hx_sql_cmp_f(gf(a, r), gf(b, r)));
    return hx_sql_cmp_result(op, hx_sql_cmp_i(gi(a, r), gi(b, r)));
}

static int eval_binary(xctx_t *x, xslot_t *sl, const hx_sql_expr_t *e, xv_t *out)
{
    xv_t a, b;
    int rc = xc_eval(x, e->args[0], &a);
    if (!rc)
        rc = xc_eval(x, e->args[1], &b);
    if (rc)
        return rc;
    size_t n = x->n;
    memset(out, 0, sizeof *out);
    if (e->op <= HX_SQL_OP_GE) {
        if ((rc = buf_i(x, sl)))
            return rc;
        out->kind = XV_I;
        out->i = sl->bi;
        int strings = e->args[0]->type == HX_AN_T_STRING;
        if (strings && a.kind == XV_CODE && b.is_const)
            return code_pred(x, sl, &a, sl->bi);
        int floats = a.kind == XV_F || b.kind == XV_F;
        if (!strings && !floats && !a.is_const && b.is_const) {
            int64_t c = b.ci;
            const int64_t *ai = a.i;
            switch (e->op) { /* the common shapes, without per-row dispatch */
            case HX_SQL_OP_EQ: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] == c; return HX_OK;
            case HX_SQL_OP_NE: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] != c; return HX_OK;
            case HX_SQL_OP_LT: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] < c; return HX_OK;
            case HX_SQL_OP_LE: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] <= c; return HX_OK;
            case HX_SQL_OP_GT: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] > c; return HX_OK;
            default: for (size_t r = 0; r < n; r++) sl->bi[r] = ai[r] >= c; return HX_OK;
            }
        }
        for (size_t r = 0; r < n; r++)
            sl->bi[r] = cmp_rows(e->op, &a, &b, r, strings, floats);
        return HX_OK;
    }
    if (e->op == HX_SQL_OP_AND || e->op == HX_SQL_OP_OR) {
        if ((rc = buf_i(x, sl)))
            return rc;
        out->kind = XV_I;
        out->i = sl->bi;
        if (e->op == HX_SQL_OP_AND)
            for (size_t r = 0; r < n; r++)
                sl->bi[r] = truthy(&a, r) && truthy(&b, r);
        else
            for (size_t r = 0; r < n; r++)
                sl->bi[r] = truthy(&a, r) || truthy(&b, r);
        return HX_OK;
    }
    if (e->type == HX_AN_T_FLOAT64) {
        if ((rc = buf_f(x, sl)))
            return rc;
        out->kind = XV_F;
        out->f = sl->bf;
        for (size_t r = 0; r < n; r++) {
            double p = gf(&a, r), q = gf(&b, r);
            sl->bf[r] = e->op == HX_SQL_OP_ADD ? p + q : e->op == HX_SQL_OP_SUB ? p - q : e->op == HX_SQL_OP_MUL ? p * q : p / q;
        }
        return HX_OK;
    }
    if ((rc = buf_i(x, sl)))
        return rc;
    out->kind = XV_I;
    out->i = sl->bi;
    /* Date +- INTERVAL: the interval is in seconds, a Date in days. */
    int64_t da = e->type == HX_AN_T_DATE && e->args[0]->kind == HX_SQL_INTERVAL ? 86400 : 1;
    int64_t db = e->type == HX_AN_T_DATE && e->args[1]->kind == HX_SQL_INTERVAL ? 86400 : 1;
    for (size_t r = 0; r < n; r++) {
        uint64_t p = (uint64_t)(gi(&a, r) / da), q = (uint64_t)(gi(&b, r) / db);
        sl->bi[r] = (int64_t)(e->op == HX_SQL_OP_ADD ? p + q : e->op == HX_SQL_OP_SUB ? p - q : p * q);
    }
    return HX_OK;
}

static int eval_members(xctx_t *x, xslot_t *sl, const hx_sql_expr_t *e, xv_t *out)
{
    xv_t a;
    int rc = xc_eval(x, e->args[0], &a);
    if (rc || (rc = buf_i(x, sl)))
        return rc;
    memset(out, 0, sizeof *out);
    out->kind = XV_I;
    out->i = sl->bi;
    size_t n = x->n;
    int strings = e->args[0]->type == HX_AN_T_STRING;
    if (strings && a.kind == XV_CODE && consts_from(e, 1))
        return code_pred(x, sl, &a, sl->bi);
    if (e->kind == HX_SQL_LIKE) {
        for (size_t r = 0; r < n; r++) {
            const char *s;
            size_t len;
            gs(&a, r, &s, &len);
            sl->bi[r] = hx_sql_like(s, len, e->args[1]->v.s, e->args[1]->v.len) != e->negated;
        }
        return HX_OK;
    }
    xv_t m[3];
    int floats = a.kind == XV_F;
    if (e->kind == HX_SQL_BETWEEN) {
        if ((rc = xc_eval(x, e->args[1], &m[1])) || (rc = xc_eval(x, e->args[2], &m[2])))
            return rc;
        floats = floats || m[1].kind == XV_F || m[2].kind == XV_F;
        for (size_t r = 0; r < n; r++) {
            int in = cmp_rows(HX_SQL_OP_GE, &a, &m[1], r, strings, floats) &&
                     cmp_rows(HX_SQL_OP_LE, &a, &m[2], r, strings, floats);
            sl->bi[r] = in != e->negated;
        }
        return HX_OK;
    }
    /* IN (constants) */
    for (int i = 1; i < e->nargs; i++)
        floats = floats || e->args[i]->type == HX_AN_T_FLOAT64;
    for (size_t r = 0; r < n; r++) {
        int hit = 0;
        for (int i = 1; i < e->nargs && !hit; i++) {
            const_view(e->args[i], &m[0]);
            hit = cmp_rows(HX_SQL_OP_EQ, &a, &m[0], r, strings, floats);
        }
        sl->bi[r] = hit != e->negated;
    }
    return HX_OK;
}

int xc_eval(xctx_t *x, const hx_sql_expr_t *e, xv_t *out)
{
    int si = xc_slot(x, e);
    if (si < 0)
        return oom(x);
    xslot_t *sl = &x->slots[si];
    if (sl->seen == x->batch) {
        *out = sl->val;
        return HX_OK;
    }
    int rc = HX_OK;
    xv_t v, a;
    memset(&v, 0, sizeof v);
    switch (e->kind) {
    case HX_SQL_COL: rc = eval_col(x, e, &v); break;
    case HX_SQL_CONST:
    case HX_SQL_INTERVAL: rc = const_view(e, &v); break;
    case HX_SQL_CALL:
        if ((rc = xc_eval(x, e->args[0], &a)) || (rc = buf_i(x, &x->slots[si])))
            break;
        sl = &x->slots[si];
        for (size_t r = 0; r < x->n; r++)
            sl->bi[r] = hx_sql_fn_apply(e->fn, e->args[0]->type, gi(&a, r));
        v.kind = XV_I;
        v.i = sl->bi;
        break;
    case HX_SQL_UNARY:
        if ((rc = xc_eval(x, e->args[0], &a)))
            break;
        sl = &x->slots[si];
        if (e->op == HX_SQL_OP_NOT || a.kind != XV_F) {
            if ((rc = buf_i(x, sl)))
                break;
            for (size_t r = 0; r < x->n; r++)
                sl->bi[r] = e->op == HX_SQL_OP_NOT ? !truthy(&a, r) : (int64_t)(0 - (uint64_t)gi(&a, r));
            v.kind = XV_I;
            v.i = sl->bi;
        } else {
            if ((rc = buf_f(x, sl)))
                break;
            for (size_t r = 0; r < x->n; r++)
                sl->bf[r] = -gf(&a, r);
            v.kind = XV_F;
            v.f = sl->bf;
        }
        break;
    case HX_SQL_BINARY:
        rc = eval_binary(x, sl, e, &v);
        break;
    case HX_SQL_IN:
    case HX_SQL_BETWEEN:
    case HX_SQL_LIKE:
        rc = eval_members(x, sl, e, &v);
        break;
    default: rc = hx_err_set(x->err, HX_EINTERNAL, "aggregate evaluated per row");
    }
    if (rc)
        return rc;
    sl = &x->slots[si]; /* slots may have moved while evaluating arguments */
    sl->val = v;
    sl->seen = x->batch;
    *out = v;
    return HX_OK;
}

int xc_select(xctx_t *x)
{
    size_t n = x->n, k = 0;
    const uint32_t *ten = x->ru ? x->ru->tenant + x->base : x->cols[HX_AN_COL_TENANT].code + x->base;
    uint32_t tc = x->tenant_code;
    if (!x->q->where) {
        for (size_t r = 0; r < n; r++)
            if (ten[r] == tc)
                x->sel[k++] = (uint32_t)r;
        x->nsel = k;
        return HX_OK;
    }
    xv_t w;
    int rc = xc_eval(x, x->q->where, &w);
    if (rc)
        return rc;
    for (size_t r = 0; r < n; r++)
        if (ten[r] == tc && truthy(&w, r))
            x->sel[k++] = (uint32_t)r;
    x->nsel = k;
    return HX_OK;
}

/* ---- scalar evaluation after aggregation ---- */

static void set_i(xs_t *o, int64_t v)
{
    memset(o, 0, sizeof *o);
    o->kind = XV_I;
    o->i = v;
}

static void set_null(xs_t *o)
{
    memset(o, 0, sizeof *o);
    o->kind = XV_I;
    o->null = 1;
}

static double sf(const xs_t *v)
{
    return v->kind == XV_F ? v->f : (double)v->i;
}

int xs_compare(const xs_t *a, const xs_t *b)
{
    int an = a->null || (a->kind == XV_F && a->f != a->f), bn = b->null || (b->kind == XV_F && b->f != b->f);
    if (an || bn)
        return an == bn ? 0 : an ? 1 : -1; /* NULL and NaN sort last */
    if (a->kind == XV_STR || b->kind == XV_STR)
        return hx_sql_cmp_s(a->s ? a->s : "", a->len, b->s ? b->s : "", b->len);
    if (a->kind == XV_F || b->kind == XV_F) {
        double x = sf(a), y = sf(b);
        return x < y ? -1 : x > y;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_scalar(int op, const xs_t *a, const xs_t *b)
{
    if (a->kind == XV_STR || b->kind == XV_STR)
        return hx_sql_cmp_result(op, hx_sql_cmp_s(a->s ? a->s : "", a->len, b->s ? b->s : "", b->len));
    if (a->kind == XV_F || b->kind == XV_F)
        return hx_sql_cmp_result(op, hx_sql_cmp_f(sf(a), sf(b)));
    return hx_sql_cmp_result(op, hx_sql_cmp_i(a->i, b->i));
}

static void const_scalar(const hx_sql_expr_t *e, xs_t *o)
{
    memset(o, 0, sizeof *o);
    if (e->type == HX_AN_T_STRING) {
        o->kind = XV_STR;
        o->s = e->v.s;
        o->len = e->v.len;
    } else if (e->type == HX_AN_T_FLOAT64 && e->kind == HX_SQL_CONST) {
        o->kind = XV_F;
        o->f = e->v.f;
    } else {
        set_i(o, e->v.i);
    }
}

void xc_scalar(const hx_sql_expr_t *e, xc_leaf_fn leaf, void *ctx, xs_t *o)
{
    if (leaf(ctx, e, o))
        return;
    xs_t a, b;
    switch (e->kind) {
    case HX_SQL_CONST:
    case HX_SQL_INTERVAL: const_scalar(e, o); return;
    case HX_SQL_CALL:
        xc_scalar(e->args[0], leaf, ctx, &a);
        if (a.null)
            return set_null(o);
        set_i(o, hx_sql_fn_apply(e->fn, e->args[0]->type, a.i));
        return;
    case HX_SQL_UNARY:
        xc_scalar(e->args[0], leaf, ctx, &a);
        if (a.null)
            return set_null(o);
        if (e->op == HX_SQL_OP_NOT)
            return set_i(o, a.kind == XV_F ? a.f == 0 : a.i == 0);
        if (a.kind == XV_F) {
            *o = a;
            o->f = -a.f;
            return;
        }
        return set_i(o, (int64_t)(0 - (uint64_t)a.i));
    case HX_SQL_BINARY:
        xc_scalar(e->args[0], leaf, ctx, &a);
        xc_scalar(e->args[1], leaf, ctx, &b);
        if (a.null || b.null)
            return set_null(o);
        if (e->op <= HX_SQL_OP_GE)
            return set_i(o, cmp_scalar(e->op, &a, &b));
        if (e->op == HX_SQL_OP_AND)
            return set_i(o, sf(&a) != 0 && sf(&b) != 0);
        if (e->op == HX_SQL_OP_OR)
            return set_i(o, sf(&a) != 0 || sf(&b) != 0);
        if (e->type == HX_AN_T_FLOAT64) {
            double p = sf(&a), q = sf(&b);
            memset(o, 0, sizeof *o);
            o->kind = XV_F;
            o->f = e->op == HX_SQL_OP_ADD ? p + q : e->op == HX_SQL_OP_SUB ? p - q : e->op == HX_SQL_OP_MUL ? p * q : p / q;
            return;
        } else {
            int64_t da = e->type == HX_AN_T_DATE && e->args[0]->kind == HX_SQL_INTERVAL ? 86400 : 1;
            int64_t db = e->type == HX_AN_T_DATE && e->args[1]->kind == HX_SQL_INTERVAL ? 86400 : 1;
            uint64_t p = (uint64_t)(a.i / da), q = (uint64_t)(b.i / db);
            return set_i(o, (int64_t)(e->op == HX_SQL_OP_ADD ? p + q : e->op == HX_SQL_OP_SUB ? p - q : p * q));
        }
    case HX_SQL_IN: {
        xc_scalar(e->args[0], leaf, ctx, &a);
        if (a.null)
            return set_null(o);
        int hit = 0;
        for (int i = 1; i < e->nargs && !hit; i++) {
            const_scalar(e->args[i], &b);
            hit = cmp_scalar(HX_SQL_OP_EQ, &a, &b);
        }
        return set_i(o, hit != e->negated);
    }
    case HX_SQL_BETWEEN: {
        xs_t lo, hi;
        xc_scalar(e->args[0], leaf, ctx, &a);
        xc_scalar(e->args[1], leaf, ctx, &lo);
        xc_scalar(e->args[2], leaf, ctx, &hi);
        if (a.null || lo.null || hi.null)
            return set_null(o);
        int in = cmp_scalar(HX_SQL_OP_GE, &a, &lo) && cmp_scalar(HX_SQL_OP_LE, &a, &hi);
        return set_i(o, in != e->negated);
    }
    case HX_SQL_LIKE:
        xc_scalar(e->args[0], leaf, ctx, &a);
        if (a.null)
            return set_null(o);
        return set_i(o, hx_sql_like(a.s ? a.s : "", a.len, e->args[1]->v.s, e->args[1]->v.len) != e->negated);
    default: set_null(o); return;
    }
}
