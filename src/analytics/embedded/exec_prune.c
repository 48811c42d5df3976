/* Granule pruning: the WHERE's top-level AND of simple conditions (column op
 * constant, IN, BETWEEN, monotonic time functions of timestamp) and the
 * tenant, tested against each granule's min/max. LowCardinality strings are
 * tested as codes: a disk part's sorted dictionary turns string ranges into
 * code ranges; a mem part's store codes only serve equality. */
#include "analytics/embedded/exec.h"

#include <string.h>



int xp_add_conj(xp_conj_t *cj, const hx_sql_expr_t *e)
{
    if (e->kind == HX_SQL_BINARY && e->op == HX_SQL_OP_AND)
        return xp_add_conj(cj, e->args[0]) || xp_add_conj(cj, e->args[1]);
    if (cj->n == cj->cap) {
        int cap = cj->cap ? cj->cap * 2 : 8;
        const hx_sql_expr_t **nc = realloc(cj->c, (size_t)cap * sizeof *nc);
        if (!nc)
            return -1;
        cj->c = nc;
        cj->cap = cap;
    }
    cj->c[cj->n++] = e;
    return 0;
}

static int is_lc(const an_table_t *t, int col)
{
    return t->def->cols[col].type == HX_AN_T_STRING && t->def->cols[col].low_cardinality;
}

/* First local code whose string is >= s (upper: > s). */
static int64_t pd_bound(const an_pdict_t *pd, const char *s, size_t len, int upper)
{
    uint32_t lo = 0, hi = pd->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = hx_sql_cmp_s(pd->s[mid], pd->len[mid], s, len);
        if (c < 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Code of string s in the part's domain (local for disk parts), or -1. */
static int64_t part_code(an_part_t *p, int col, const char *s, size_t len)
{
    if (p->local_codes) {
        int64_t k = pd_bound(&p->pd[col], s, len, 0);
        const an_pdict_t *pd = &p->pd[col];
        return k < pd->n && !hx_sql_cmp_s(pd->s[k], pd->len[k], s, len) ? k : -1;
    }
    uint32_t code;
    return an_dict_find(&p->tab->dict[col], s, len, &code) ? -1 : (int64_t)code;
}

/* Tests for one part from the conjuncts; *none when the part cannot match. */
int xp_prepare(an_part_t *p, const xp_conj_t *cj, const char *tenant, xp_test_t *tests, int *ntests,
               int64_t *lists, int *none)
{
    int nt = 0, nl = 0;
    *none = 0;
    int64_t tc = part_code(p, HX_AN_COL_TENANT, tenant, strlen(tenant));
    if (tc < 0) {
        *none = 1;
        return 0;
    }
    tests[nt++] = (xp_test_t){HX_AN_COL_TENANT, 0, HX_SQL_OP_EQ, tc, 0, 0, 0, NULL, 0, -1};
    for (int i = 0; i < cj->n && nt < 64; i++) {
        const hx_sql_expr_t *e = cj->c[i];
        const hx_sql_expr_t *x = e->nargs ? e->args[0] : NULL;
        int fn = -1;
        if (x && x->kind == HX_SQL_CALL && x->args[0]->kind == HX_SQL_COL &&
            (x->args[0]->type == HX_AN_T_DATETIME || x->args[0]->type == HX_AN_T_DATE)) {
            fn = x->fn; /* every time function here is monotonic */
            x = x->args[0];
        }
        if (!x || x->kind != HX_SQL_COL)
            continue;
        int col = x->col, lc = is_lc(p->tab, col);
        int isf = p->tab->def->cols[col].type == HX_AN_T_FLOAT64;
        if (p->tab->def->cols[col].type == HX_AN_T_STRING && !lc)
            continue;
        xp_test_t t = {col, isf, 0, 0, 0, 0, 0, NULL, 0, fn};
        if (e->kind == HX_SQL_BINARY && e->op <= HX_SQL_OP_GE && e->args[1]->kind == HX_SQL_CONST) {
            const hx_sql_expr_t *c = e->args[1];
            t.op = e->op;
            if (lc) {
                if (!p->local_codes && e->op != HX_SQL_OP_EQ)
                    continue;
                if (e->op == HX_SQL_OP_EQ) {
                    if ((t.a = part_code(p, col, c->v.s, c->v.len)) < 0) {
                        *none = 1;
                        return 0;
                    }
                } else if (e->op == HX_SQL_OP_NE) {
                    continue;
                } else {
                    int upper = e->op == HX_SQL_OP_LE || e->op == HX_SQL_OP_GT;
                    t.a = pd_bound(&p->pd[col], c->v.s, c->v.len, upper);
                    t.op = e->op == HX_SQL_OP_LT || e->op == HX_SQL_OP_LE ? HX_SQL_OP_LT : HX_SQL_OP_GE;
                }
            } else if (isf) {
                t.fa = c->type == HX_AN_T_FLOAT64 ? c->v.f : (double)c->v.i;
            } else {
                if (c->type == HX_AN_T_FLOAT64)
                    continue;
                t.a = c->v.i;
            }
        } else if (e->kind == HX_SQL_IN && !e->negated && e->nargs - 1 <= 64) {
            t.op = -1;
            t.list = lists + nl;
            for (int k = 1; k < e->nargs; k++) {
                const hx_sql_expr_t *c = e->args[k];
                int64_t v;
                if (lc) {
                    if ((v = part_code(p, col, c->v.s, c->v.len)) < 0)
                        continue;
                } else if (isf || c->type == HX_AN_T_FLOAT64) {
                    t.op = -3; /* float IN: not pruned */
                    break;
                } else {
                    v = c->v.i;
                }
                if (nl < 64 * 64)
                    lists[nl++] = v, t.nlist++;
            }
            if (t.op == -3)
                continue;
            if (!t.nlist) {
                *none = 1;
                return 0;
            }
        } else if (e->kind == HX_SQL_BETWEEN && !e->negated && e->args[1]->kind == HX_SQL_CONST &&
                   e->args[2]->kind == HX_SQL_CONST) {
            t.op = -2;
            const hx_sql_expr_t *lo = e->args[1], *hi = e->args[2];
            if (lc) {
                if (!p->local_codes)
                    continue;
                t.a = pd_bound(&p->pd[col], lo->v.s, lo->v.len, 0);
                t.b = pd_bound(&p->pd[col], hi->v.s, hi->v.len, 1) - 1;
            } else if (isf) {
                t.fa = lo->type == HX_AN_T_FLOAT64 ? lo->v.f : (double)lo->v.i;
                t.fb = hi->type == HX_AN_T_FLOAT64 ? hi->v.f : (double)hi->v.i;
            } else {
                if (lo->type == HX_AN_T_FLOAT64 || hi->type == HX_AN_T_FLOAT64)
                    continue;
                t.a = lo->v.i;
                t.b = hi->v.i;
            }
        } else {
            continue;
        }
        tests[nt++] = t;
    }
    *ntests = nt;
    return 0;
}

int xp_test_ok(const xp_test_t *t, const an_stat_t *st, hx_an_type_t coltype)
{
    if (t->isf) {
        double lo = st->lo.f, hi = st->hi.f;
        if (lo != lo || hi != hi)
            return 1;
        switch (t->op) {
        case HX_SQL_OP_EQ: return lo <= t->fa && t->fa <= hi;
        case HX_SQL_OP_NE: return !(lo == hi && lo == t->fa);
        case HX_SQL_OP_LT: return lo < t->fa;
        case HX_SQL_OP_LE: return lo <= t->fa;
        case HX_SQL_OP_GT: return hi > t->fa;
        case HX_SQL_OP_GE: return hi >= t->fa;
        case -2: return lo <= t->fb && hi >= t->fa;
        }
        return 1;
    }
    int64_t lo = st->lo.i, hi = st->hi.i;
    if (t->fn >= 0) {
        lo = hx_sql_fn_apply(t->fn, coltype, lo);
        hi = hx_sql_fn_apply(t->fn, coltype, hi);
    }
    switch (t->op) {
    case HX_SQL_OP_EQ: return lo <= t->a && t->a <= hi;
    case HX_SQL_OP_NE: return !(lo == hi && lo == t->a);
    case HX_SQL_OP_LT: return lo < t->a;
    case HX_SQL_OP_LE: return lo <= t->a;
    case HX_SQL_OP_GT: return hi > t->a;
    case HX_SQL_OP_GE: return hi >= t->a;
    case -1:
        for (int k = 0; k < t->nlist; k++)
            if (lo <= t->list[k] && t->list[k] <= hi)
                return 1;
        return 0;
    case -2: return lo <= t->b && hi >= t->a;
    }
    return 1;
}

