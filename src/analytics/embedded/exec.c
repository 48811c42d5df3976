/* The embedded query driver: answers from a rollup when the shared matcher
 * says one answers the query exactly, else scans a snapshot of the table's
 * parts granule by granule, skipping granules whose min/max rule out the
 * WHERE's simple conditions; then orders, limits and builds the result. */
#include "analytics/embedded/exec.h"
#include "helix/hx_clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- pruning ---------------------------------------------------------- */

typedef struct {
    int col;
    int isf;
    int op;                 /* HX_SQL_OP_* (comparison) or -1 = IN list, -2 = range [a, b] */
    int64_t a, b;           /* int domain: values or codes */
    double fa, fb;
    int64_t *list;
    int nlist;
    int fn;                 /* -1, or a monotonic function applied to the stats first */
} ptest_t;

typedef struct {
    const hx_sql_expr_t **c;
    int n, cap;
} conj_t;

static int add_conj(conj_t *cj, const hx_sql_expr_t *e)
{
    if (e->kind == HX_SQL_BINARY && e->op == HX_SQL_OP_AND)
        return add_conj(cj, e->args[0]) || add_conj(cj, e->args[1]);
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
static int prepare_tests(an_part_t *p, const conj_t *cj, const char *tenant, ptest_t *tests, int *ntests,
                         int64_t *lists, int *none)
{
    int nt = 0, nl = 0;
    *none = 0;
    int64_t tc = part_code(p, HX_AN_COL_TENANT, tenant, strlen(tenant));
    if (tc < 0) {
        *none = 1;
        return 0;
    }
    tests[nt++] = (ptest_t){HX_AN_COL_TENANT, 0, HX_SQL_OP_EQ, tc, 0, 0, 0, NULL, 0, -1};
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
        ptest_t t = {col, isf, 0, 0, 0, 0, 0, NULL, 0, fn};
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

static int test_ok(const ptest_t *t, const an_stat_t *st, hx_an_type_t coltype)
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

/* ---- output rows ------------------------------------------------------ */

typedef struct {
    xs_t *v;                 /* nvals per row */
    size_t n, cap;
    int nvals;
} rows_t;

/* Order-preserving 64-bit keys: rows then sort by integers. Strings get the
 * rank of their value among the distinct values of the column (equal
 * dictionary strings share a pointer, so most columns have few). */
typedef struct {
    const char *s;
    size_t len;
    uint32_t rank;
} dstr_t;

static int cmp_dstr(const void *a, const void *b)
{
    const dstr_t *x = a, *y = b;
    return hx_sql_cmp_s(x->s, x->len, y->s, y->len);
}

static uint64_t num_key(const xs_t *v)
{
    if (v->kind == XV_F) {
        double f = v->f == 0 ? 0 : v->f;
        uint64_t b;
        memcpy(&b, &f, 8);
        return b >> 63 ? ~b : b | (1ULL << 63);
    }
    return (uint64_t)v->i ^ (1ULL << 63);
}

static int string_ranks(const rows_t *rs, int col, uint64_t *keys, size_t stride)
{
    size_t n = rs->n, cap = 64, nd = 0;
    dstr_t *d = malloc(cap * sizeof *d);
    uint32_t *slot = calloc(n * 2 + 16, sizeof *slot), *which = malloc((n ? n : 1) * sizeof *which);
    size_t scap = n * 2 + 16;
    int rc = d && slot && which ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const xs_t *v = &rs->v[i * (size_t)rs->nvals + (size_t)col];
        size_t h = ((uintptr_t)v->s * 0x9e3779b97f4a7c15ULL + v->len) % scap;
        while (slot[h] && !(d[slot[h] - 1].s == v->s && d[slot[h] - 1].len == v->len))
            h = (h + 1) % scap;
        if (!slot[h]) {
            if (nd == cap) {
                dstr_t *nd2 = realloc(d, cap * 2 * sizeof *d);
                if (!nd2) {
                    rc = -1;
                    break;
                }
                d = nd2;
                cap *= 2;
            }
            d[nd] = (dstr_t){v->s ? v->s : "", v->len, (uint32_t)nd};
            slot[h] = (uint32_t)++nd;
        }
        which[i] = slot[h] - 1;
    }
    if (!rc) {
        uint32_t *rank_of = malloc((nd ? nd : 1) * sizeof *rank_of);
        qsort(d, nd, sizeof *d, cmp_dstr);
        uint32_t r = 0;
        for (size_t k = 0; rank_of && k < nd; k++) {
            if (k && hx_sql_cmp_s(d[k - 1].s, d[k - 1].len, d[k].s, d[k].len))
                r++;
            rank_of[d[k].rank] = r;
        }
        for (size_t i = 0; rank_of && i < n; i++)
            keys[i * stride] = rank_of[which[i]];
        rc = rank_of ? 0 : -1;
        free(rank_of);
    }
    free(d);
    free(slot);
    free(which);
    return rc;
}

typedef struct {
    const uint64_t *keys;
    size_t nk;
} kctx_t;

static int cmp_keys(const void *a, const void *b, void *ctx)
{
    const kctx_t *k = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const uint64_t *p = k->keys + x * k->nk, *q = k->keys + y * k->nk;
    for (size_t i = 0; i < k->nk; i++)
        if (p[i] != q[i])
            return p[i] < q[i] ? -1 : 1;
    return x < y ? -1 : 1; /* stable */
}

/* The rows' order (an index sort over normalized keys). */
static uint32_t *order_rows(const rows_t *rs, const hx_sql_query_t *q, int first)
{
    uint32_t *idx = malloc((rs->n ? rs->n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < rs->n; i++)
        idx[i] = (uint32_t)i;
    if (!q->norder || rs->n < 2)
        return idx;
    size_t nk = (size_t)q->norder;
    uint64_t *keys = malloc(rs->n * nk * sizeof *keys);
    if (!keys) {
        free(idx);
        return NULL;
    }
    for (int o = 0; o < q->norder; o++) {
        int col = first + o;
        if (q->order_by[o].e->type == HX_AN_T_STRING) {
            if (string_ranks(rs, col, keys + o, nk)) {
                free(keys);
                free(idx);
                return NULL;
            }
        } else {
            for (size_t i = 0; i < rs->n; i++) {
                const xs_t *v = &rs->v[i * (size_t)rs->nvals + (size_t)col];
                keys[i * nk + (size_t)o] = v->null || (v->kind == XV_F && v->f != v->f) ? UINT64_MAX : num_key(v);
            }
        }
        /* DESC reverses the order but keeps NULLs (UINT64_MAX) last. */
        if (q->order_by[o].desc)
            for (size_t i = 0; i < rs->n; i++) {
                uint64_t *k = &keys[i * nk + (size_t)o];
                if (*k != UINT64_MAX)
                    *k = UINT64_MAX - 1 - *k;
            }
    }
    kctx_t kc = {keys, nk};
    qsort_r(idx, rs->n, sizeof *idx, cmp_keys, &kc);
    free(keys);
    return idx;
}

/* Keeps the first `keep` rows in ORDER BY order. */
static int compact_rows(rows_t *rs, const hx_sql_query_t *q, int first, size_t keep)
{
    uint32_t *idx = order_rows(rs, q, first);
    xs_t *nv = malloc((rs->cap ? rs->cap : 1) * (size_t)rs->nvals * sizeof *nv);
    if (!idx || !nv) {
        free(idx);
        free(nv);
        return -1;
    }
    size_t w = (size_t)rs->nvals;
    for (size_t i = 0; i < keep && i < rs->n; i++)
        memcpy(nv + i * w, rs->v + idx[i] * w, w * sizeof *nv);
    free(rs->v);
    free(idx);
    rs->v = nv;
    rs->n = keep < rs->n ? keep : rs->n;
    return 0;
}

static int rows_add(rows_t *rs, xs_t **out)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        xs_t *nv = realloc(rs->v, cap * (size_t)rs->nvals * sizeof *nv);
        if (!nv)
            return -1;
        rs->v = nv;
        rs->cap = cap;
    }
    *out = rs->v + rs->n++ * (size_t)rs->nvals;
    return 0;
}

/* ---- post-aggregation leaves ------------------------------------------ */

typedef struct {
    const hx_sql_expr_t *e;
    int key, agg;
} leafmap_t;

typedef struct {
    xgroups_t *g;
    size_t group;
    leafmap_t *m;
    int n, cap;
} leafctx_t;

static int map_leaves(leafctx_t *lc, const hx_sql_expr_t *e)
{
    for (int i = 0; i < lc->n; i++)
        if (lc->m[i].e == e)
            return 0;
    int key = -1, agg = -1;
    for (int k = 0; k < lc->g->nkeys && key < 0; k++)
        if (hx_sql_expr_equal(e, lc->g->keys[k]))
            key = k;
    if (key < 0 && e->kind == HX_SQL_AGG)
        for (int a = 0; a < lc->g->naggs && agg < 0; a++)
            if (lc->g->aggs[a].e == e || hx_sql_expr_equal(lc->g->aggs[a].e, e))
                agg = a;
    if (key >= 0 || agg >= 0) {
        if (lc->n == lc->cap) {
            int cap = lc->cap ? lc->cap * 2 : 16;
            leafmap_t *nm = realloc(lc->m, (size_t)cap * sizeof *nm);
            if (!nm)
                return -1;
            lc->m = nm;
            lc->cap = cap;
        }
        lc->m[lc->n++] = (leafmap_t){e, key, agg};
        return 0;
    }
    for (int i = 0; i < e->nargs; i++)
        if (map_leaves(lc, e->args[i]))
            return -1;
    return 0;
}

static int leaf_value(void *ctx, const hx_sql_expr_t *e, xs_t *out)
{
    leafctx_t *lc = ctx;
    for (int i = 0; i < lc->n; i++)
        if (lc->m[i].e == e) {
            if (lc->m[i].key >= 0)
                xg_key_value(lc->g, lc->group, lc->m[i].key, out);
            else
                xg_agg_value(lc->g, lc->m[i].agg, lc->group, out);
            return 1;
        }
    return 0;
}

/* ---- the driver ------------------------------------------------------- */

static void mark_cols(const hx_sql_expr_t *e, uint32_t *mask)
{
    if (e->kind == HX_SQL_COL)
        *mask |= 1u << e->col;
    for (int i = 0; i < e->nargs; i++)
        mark_cols(e->args[i], mask);
}

static int compile(xctx_t *x, const hx_sql_expr_t *e)
{
    if (xc_slot(x, e) < 0)
        return -1;
    for (int i = 0; i < e->nargs; i++)
        if (compile(x, e->args[i]))
            return -1;
    return 0;
}

static int check_deadline(xctx_t *x)
{
    if (x->o->deadline_ns && hx_mono_ns() > x->o->deadline_ns)
        return hx_err_set(x->err, HX_ETIMEOUT,
                          "query ran past analytics.query_timeout_ms (%lld ms); narrow it with WHERE or LIMIT",
                          (long long)x->o->timeout_ms);
    return HX_OK;
}

/* Output values of selected rows of the current batch (non-aggregate query). */
static int collect(xctx_t *x, rows_t *rs, int *full)
{
    hx_sql_query_t *q = x->q;
    xv_t vals[HX_AN_MAX_COLS * 4 + 64];
    int nv = q->nitems + q->norder;
    if (nv > (int)(sizeof vals / sizeof vals[0]))
        return hx_err_set(x->err, HX_EINVAL, "too many output columns");
    for (int i = 0; i < q->nitems; i++) {
        int rc = xc_eval(x, q->items[i].e, &vals[i]);
        if (rc)
            return rc;
    }
    for (int o = 0; o < q->norder; o++) {
        int rc = xc_eval(x, q->order_by[o].e, &vals[q->nitems + o]);
        if (rc)
            return rc;
    }
    int64_t limit = q->limit;
    for (size_t j = 0; j < x->nsel; j++) {
        if (limit >= 0 && !q->norder && (int64_t)rs->n >= limit) {
            *full = 1;
            return HX_OK;
        }
        xs_t *row;
        if (rows_add(rs, &row))
            return hx_err_set(x->err, HX_ENOMEM, "out of memory collecting rows");
        for (int k = 0; k < nv; k++)
            xc_row_value(&vals[k], x->sel[j], &row[k]);
        if ((int64_t)rs->n > x->o->max_rows && (limit < 0 || (!q->norder && limit > x->o->max_rows)))
            return hx_err_set(x->err, HX_ERANGE,
                              "the query returns more than analytics.query_max_rows (%lld) rows; add a LIMIT or "
                              "narrow the WHERE",
                              (long long)x->o->max_rows);
    }
    /* With ORDER BY ... LIMIT n only the best n rows matter. */
    if (limit >= 0 && q->norder && rs->n > (size_t)limit * 2 + 4096 && compact_rows(rs, q, q->nitems, (size_t)limit))
        return hx_err_set(x->err, HX_ENOMEM, "out of memory ordering rows");
    return HX_OK;
}

static void to_cell(hx_an_result_t *r, hx_an_cell_t *cell, hx_an_type_t type, const xs_t *v)
{
    if (v->null) {
        cell->is_null = 1;
        return;
    }
    if (type == HX_AN_T_STRING) {
        hx_an_result_set_str(r, cell, v->s ? v->s : "", v->len);
    } else if (type == HX_AN_T_FLOAT64) {
        double f = v->kind == XV_F ? v->f : (double)v->i;
        if (!isfinite(f))
            cell->is_null = 1;
        else
            cell->f = f;
    } else {
        cell->i = v->kind == XV_F ? (int64_t)v->f : v->i;
    }
}

static int emit(xctx_t *x, rows_t *rs, hx_an_result_t *out)
{
    hx_sql_query_t *q = x->q;
    uint32_t *idx = order_rows(rs, q, q->nitems);
    if (!idx)
        return hx_err_set(x->err, HX_ENOMEM, "out of memory ordering rows");
    size_t n = rs->n;
    if (q->limit >= 0 && (size_t)q->limit < n)
        n = (size_t)q->limit;
    if ((int64_t)n > x->o->max_rows) {
        free(idx);
        return hx_err_set(x->err, HX_ERANGE,
                          "the query returns %zu rows, more than analytics.query_max_rows (%lld); add a LIMIT", n,
                          (long long)x->o->max_rows);
    }
    int rc = hx_an_result_begin(out, q, x->err);
    for (size_t i = 0; i < n && !rc; i++) {
        hx_an_cell_t *cells = hx_an_result_add_row(out);
        if (!cells) {
            rc = hx_err_set(x->err, HX_ENOMEM, "out of memory building the result");
            break;
        }
        const xs_t *row = rs->v + idx[i] * (size_t)rs->nvals;
        for (int c = 0; c < q->nitems; c++)
            to_cell(out, &cells[c], q->items[c].e->type, &row[c]);
    }
    free(idx);
    return rc;
}

static int finish_groups(xctx_t *x, xgroups_t *g, rows_t *rs)
{
    hx_sql_query_t *q = x->q;
    leafctx_t lc = {g, 0, NULL, 0, 0};
    int rc = HX_OK;
    for (int i = 0; i < q->nitems && !rc; i++)
        if (map_leaves(&lc, q->items[i].e))
            rc = hx_err_set(x->err, HX_ENOMEM, "out of memory");
    for (int o = 0; o < q->norder && !rc; o++)
        if (map_leaves(&lc, q->order_by[o].e))
            rc = hx_err_set(x->err, HX_ENOMEM, "out of memory");
    for (size_t gi = 0; gi < g->n && !rc; gi++) {
        lc.group = gi;
        xs_t *row;
        if (rows_add(rs, &row)) {
            rc = hx_err_set(x->err, HX_ENOMEM, "out of memory building groups");
            break;
        }
        for (int i = 0; i < q->nitems; i++)
            xc_scalar(q->items[i].e, leaf_value, &lc, &row[i]);
        for (int o = 0; o < q->norder; o++)
            xc_scalar(q->order_by[o].e, leaf_value, &lc, &row[q->nitems + o]);
    }
    free(lc.m);
    return rc;
}

typedef struct {
    an_part_t *p;
    uint32_t pinned;
    an_vec_t cols[HX_AN_MAX_COLS];
} snap_t;

static int scan_part(xctx_t *x, snap_t *sp, uint32_t need, const conj_t *cj, xgroups_t *g, rows_t *rs, int *full)
{
    an_part_t *p = sp->p;
    ptest_t tests[64];
    int64_t lists[64 * 64];
    int ntests = 0, none = 0;
    prepare_tests(p, cj, x->q->tenant, tests, &ntests, lists, &none);
    if (none || !p->rows)
        return HX_OK;
    const hx_an_table_def_t *d = x->t->def;
    size_t ncols = (size_t)d->ncols;
    for (size_t k = 0; k < p->ngran && !*full; k++) {
        int ok = 1;
        for (int i = 0; i < ntests && ok; i++)
            ok = test_ok(&tests[i], &p->stats[k * ncols + (size_t)tests[i].col], d->cols[tests[i].col].type);
        if (!ok)
            continue;
        for (int c = 0; c < d->ncols; c++) {
            if (!(need & (1u << c)) || (sp->pinned & (1u << c)))
                continue;
            const an_vec_t *v;
            int rc = an_part_column(p, c, &v, x->err);
            if (rc)
                return rc;
            sp->cols[c] = *v;
            sp->pinned |= 1u << c;
        }
        size_t a = k * p->gran_rows, b = a + p->gran_rows < p->rows ? a + p->gran_rows : p->rows;
        for (size_t s = a; s < b && !*full; s += XB) {
            x->cols = sp->cols;
            x->base = s;
            x->n = b - s < XB ? b - s : XB;
            x->batch++;
            x->rows_read += x->n;
            int rc = check_deadline(x);
            if (!rc)
                rc = xc_select(x);
            if (!rc)
                rc = x->q->aggregate ? xg_consume(x, g) : collect(x, rs, full);
            if (rc)
                return rc;
        }
    }
    return HX_OK;
}

int an_exec(an_store_t *s, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out, hx_err_t *err)
{
    an_table_t *t = &s->tabs[q->table];
    xctx_t x = {.st = s, .t = t, .q = q, .o = o, .err = err};
    xgroups_t g = {0};
    rows_t rs = {0};
    snap_t *snap = NULL;
    size_t nsnap = 0;
    conj_t cj = {0};
    int rc = HX_OK, full = 0, locked = 0;
    memset(out, 0, sizeof *out);
    rs.nvals = q->nitems + q->norder;
    if (!(x.sel = malloc(XB * sizeof *x.sel)))
        return hx_err_set(err, HX_ENOMEM, "out of memory running a query");
    int use_rollup = !o->force_raw && t->rollup && hx_sql_match_rollup(q, NULL, 0);
    x.rollup_mode = use_rollup;
    x.tenant_known = an_dict_find(&t->dict[HX_AN_COL_TENANT], q->tenant, strlen(q->tenant), &x.tenant_code) == 0;
    /* Every node gets its slot before evaluation, so slots never move under it. */
    int bad = 0;
    for (int i = 0; i < q->nitems; i++)
        bad |= compile(&x, q->items[i].e);
    for (int i = 0; i < q->norder; i++)
        bad |= compile(&x, q->order_by[i].e);
    for (int i = 0; i < q->ngroup; i++)
        bad |= compile(&x, q->group_by[i]);
    if (q->where)
        bad |= compile(&x, q->where);
    if (bad) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory running a query");
        goto cleanup;
    }
    if (use_rollup) {
        /* The level with the fewest entries that still answers exactly, and
         * the mem parts (rows not yet in any rollup), under one lock so a
         * flush moving rows from one to the other is seen whole or not. */
        pthread_rwlock_rdlock(&t->lock);
        locked = 1;
        x.ru = t->rollup;
        for (int l = 1; l < t->nlv; l++)
            if (t->lv[l].n < x.ru->n && hx_sql_rollup_fits(q, t->lv[l].def))
                x.ru = &t->lv[l];
        hx_sql_match_rollup(q, NULL, 0); /* the annotations of the base (same measures) */
        snap = calloc(t->nparts ? t->nparts : 1, sizeof *snap);
        for (size_t i = 0; snap && i < t->nparts; i++)
            if (t->parts[i]->mem) {
                an_part_ref(t->parts[i]);
                snap[nsnap++].p = t->parts[i];
            }
        if (!snap) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory running a query");
            goto cleanup;
        }
    }
    if (q->aggregate && (rc = xg_init(&x, &g)))
        goto cleanup;
    if (!x.tenant_known)
        goto finish;
    if (use_rollup) {
        const an_rollup_t *ru = x.ru;
        for (size_t b = 0; b < ru->n && !rc; b += XB) {
            x.base = b;
            x.n = ru->n - b < XB ? ru->n - b : XB;
            x.batch++;
            x.rows_read += x.n;
            rc = check_deadline(&x);
            if (!rc)
                rc = xc_select(&x);
            if (!rc)
                rc = xg_consume(&x, &g);
        }
        /* Still locked: groups may read rollup states in place. */
        x.ru = NULL;
        x.rollup_mode = 0;
        uint32_t need = 1u << HX_AN_COL_TENANT;
        for (int i = 0; i < q->nitems; i++)
            mark_cols(q->items[i].e, &need);
        for (int i = 0; i < q->ngroup; i++)
            mark_cols(q->group_by[i], &need);
        if (q->where)
            mark_cols(q->where, &need);
        if (!rc && q->where && add_conj(&cj, q->where))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory running a query");
        for (size_t i = 0; i < nsnap && !rc; i++)
            rc = scan_part(&x, &snap[i], need, &cj, &g, &rs, &full);
        goto finish;
    }
    /* A snapshot: the parts are referenced, so merges and flushes may swap
     * them in the table while this query reads the old ones. */
    pthread_rwlock_rdlock(&t->lock);
    snap = calloc(t->nparts ? t->nparts : 1, sizeof *snap);
    if (snap)
        for (size_t i = 0; i < t->nparts; i++) {
            an_part_ref(t->parts[i]);
            snap[nsnap++].p = t->parts[i];
        }
    pthread_rwlock_unlock(&t->lock);
    if (!snap) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory running a query");
        goto cleanup;
    }
    uint32_t need = 1u << HX_AN_COL_TENANT;
    for (int i = 0; i < q->nitems; i++)
        mark_cols(q->items[i].e, &need);
    for (int i = 0; i < q->norder; i++)
        mark_cols(q->order_by[i].e, &need);
    for (int i = 0; i < q->ngroup; i++)
        mark_cols(q->group_by[i], &need);
    if (q->where) {
        mark_cols(q->where, &need);
        if (add_conj(&cj, q->where)) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory running a query");
            goto cleanup;
        }
    }
    for (size_t i = 0; i < nsnap && !rc && !full; i++)
        rc = scan_part(&x, &snap[i], need, &cj, &g, &rs, &full);
finish:
    if (!rc && q->aggregate)
        rc = finish_groups(&x, &g, &rs);
    if (!rc)
        rc = emit(&x, &rs, out);
    if (!rc) {
        out->rows_read = x.rows_read;
        out->source = use_rollup ? "rollup" : "raw";
        out->rollup = use_rollup ? hx_an_rollup((hx_an_rollup_t)q->rollup)->name : NULL;
    }
cleanup:
    if (locked)
        pthread_rwlock_unlock(&t->lock);
    if (rc)
        hx_an_result_free(out);
    xg_free(&g);
    free(rs.v);
    for (size_t i = 0; i < nsnap; i++) {
        for (int c = 0; c < HX_AN_MAX_COLS; c++)
            if (snap[i].pinned & (1u << c))
                an_part_unpin(snap[i].p, c);
        an_part_unref(snap[i].p);
    }
    free(snap);
    free(cj.c);
    for (size_t i = 0; i < x.nslots; i++) {
        free(x.slots[i].bi);
        free(x.slots[i].bf);
        free(x.slots[i].bm);
    }
    free(x.slots);
    free(x.sel);
    return rc;
}
