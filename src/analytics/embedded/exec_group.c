/* GROUP BY and aggregate states. Group ids come from a direct code table when
 * the only key is a dictionary column (GROUP BY provider), else from a hash
 * table over the key tuple. Aggregates update per selected row, or on a
 * rollup merge the entries' states. */
#include "analytics/embedded/exec.h"
#include "helix/hx_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct xset {
    uint64_t *v;
    uint32_t n, cap;
    int has_zero;
} xset_t;

static int set_add(xset_t *s, uint64_t h)
{
    if (h == 0) {
        s->has_zero = 1;
        return 0;
    }
    if ((uint64_t)(s->n + 1) * 2 > s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        uint64_t *nv = calloc(cap, sizeof *nv);
        if (!nv)
            return -1;
        for (uint32_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                uint32_t k = (uint32_t)(s->v[i] * 0x9e3779b97f4a7c15ULL >> 32) & (cap - 1);
                while (nv[k])
                    k = (k + 1) & (cap - 1);
                nv[k] = s->v[i];
            }
        free(s->v);
        s->v = nv;
        s->cap = cap;
    }
    uint32_t k = (uint32_t)(h * 0x9e3779b97f4a7c15ULL >> 32) & (s->cap - 1);
    while (s->v[k]) {
        if (s->v[k] == h)
            return 0;
        k = (k + 1) & (s->cap - 1);
    }
    s->v[k] = h;
    s->n++;
    return 0;
}

static int key_kind(const xctx_t *x, const hx_sql_expr_t *e)
{
    if (e->type == HX_AN_T_FLOAT64)
        return XV_F;
    if (e->type != HX_AN_T_STRING)
        return XV_I;
    if (e->kind == HX_SQL_COL && x->t->def->cols[e->col].low_cardinality)
        return XV_CODE;
    return XV_STR;
}

static int collect_aggs(xgroups_t *g, const hx_sql_expr_t *e, int rollup)
{
    if (e->kind == HX_SQL_AGG) {
        for (int i = 0; i < g->naggs; i++)
            if (g->aggs[i].e == e || hx_sql_expr_equal(g->aggs[i].e, e))
                return 0;
        xagg_t *na = realloc(g->aggs, (size_t)(g->naggs + 1) * sizeof *na);
        if (!na)
            return -1;
        g->aggs = na;
        xagg_t *a = &g->aggs[g->naggs++];
        memset(a, 0, sizeof *a);
        a->e = e;
        a->agg = e->agg;
        a->rollup_m[0] = e->m[0];
        a->rollup_m[1] = e->m[1];
        a->arg_float = e->nargs && e->args[0]->type == HX_AN_T_FLOAT64;
        (void)rollup;
        return 0;
    }
    for (int i = 0; i < e->nargs; i++)
        if (collect_aggs(g, e->args[i], rollup))
            return -1;
    return 0;
}

static int grow_groups(xgroups_t *g)
{
    size_t cap = g->cap ? g->cap * 2 : 64;
    uint64_t *kv = realloc(g->kv, cap * (size_t)(g->nkeys ? g->nkeys : 1) * sizeof *kv);
    if (!kv)
        return -1;
    g->kv = kv;
    for (int a = 0; a < g->naggs; a++) {
        xagg_t *s = &g->aggs[a];
#define GROW(arr, init)                                                                                          \
    do {                                                                                                         \
        void *np = realloc(s->arr, cap * sizeof *s->arr);                                                        \
        if (!np)                                                                                                 \
            return -1;                                                                                           \
        s->arr = np;                                                                                             \
        memset(s->arr + g->cap, init, (cap - g->cap) * sizeof *s->arr);                                          \
    } while (0)
        GROW(cnt, 0);
        GROW(si, 0);
        GROW(sf, 0);
        GROW(has, 0);
        if (s->agg == HX_SQL_AGG_MIN || s->agg == HX_SQL_AGG_MAX)
            GROW(best, 0);
        if (s->agg == HX_SQL_AGG_QUANTILE) {
            GROW(sk, 0);
            GROW(one, 0);
        }
        if (s->agg == HX_SQL_AGG_UNIQ)
            GROW(sets, 0);
#undef GROW
    }
    g->cap = cap;
    return 0;
}

static int new_group(xgroups_t *g, const uint64_t *key, uint32_t *out)
{
    if (g->n >= 50000000)
        return -2;
    if (g->n == g->cap && grow_groups(g))
        return -1;
    if (g->nkeys)
        memcpy(g->kv + g->n * (size_t)g->nkeys, key, (size_t)g->nkeys * sizeof *key);
    *out = (uint32_t)g->n++;
    return 0;
}

int xg_init(xctx_t *x, xgroups_t *g)
{
    hx_sql_query_t *q = x->q;
    memset(g, 0, sizeof *g);
    if (q->ngroup > 32)
        return hx_err_set(x->err, HX_EINVAL, "GROUP BY takes at most 32 expressions");
    g->nkeys = q->ngroup;
    for (int k = 0; k < g->nkeys; k++) {
        g->keys[k] = q->group_by[k];
        g->key_kind[k] = key_kind(x, q->group_by[k]);
        if (g->key_kind[k] == XV_CODE)
            g->key_dict[k] = &x->t->dict[q->group_by[k]->col];
    }
    for (int i = 0; i < q->nitems; i++)
        if (collect_aggs(g, q->items[i].e, x->rollup_mode))
            return hx_err_set(x->err, HX_ENOMEM, "out of memory");
    for (int o = 0; o < q->norder; o++)
        if (collect_aggs(g, q->order_by[o].e, x->rollup_mode))
            return hx_err_set(x->err, HX_ENOMEM, "out of memory");
    if (x->rollup_mode)
        for (int a = 0; a < g->naggs; a++) {
            xagg_t *s = &g->aggs[a];
            /* On a rollup the state column decides: sum/min/max of a Float64
             * column are doubles, of integers int64. */
            if (s->rollup_m[0] >= 0 && s->agg != HX_SQL_AGG_QUANTILE)
                s->arg_float = !an_measure_is_int(x->ru->def, s->rollup_m[0]);
        }
    uint32_t z;
    if (!g->nkeys && new_group(g, NULL, &z)) /* no GROUP BY: one row, even over no rows */
        return hx_err_set(x->err, HX_ENOMEM, "out of memory");
    return HX_OK;
}

void xg_free(xgroups_t *g)
{
    for (int a = 0; a < g->naggs; a++) {
        xagg_t *s = &g->aggs[a];
        if (s->sk)
            for (size_t i = 0; i < g->n; i++)
                an_qacc_free(&s->sk[i]);
        if (s->sets)
            for (size_t i = 0; i < g->n; i++)
                free(s->sets[i].v);
        free(s->cnt);
        free(s->si);
        free(s->sf);
        free(s->has);
        free(s->best);
        free(s->sk);
        free(s->one);
        free(s->sets);
    }
    free(g->aggs);
    free(g->kv);
    free(g->slots);
    free(g->direct);
    for (size_t i = 0; i < g->nstr; i++)
        free(g->strs[i]);
    free(g->strs);
    free(g->slen);
    free(g->sslots);
    memset(g, 0, sizeof *g);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* Interns a STR key's bytes: the id stands for the string in key tuples. */
static int intern_str(xgroups_t *g, const char *s, size_t len, uint64_t *id)
{
    uint64_t h = hx_hash64(s, len);
    if ((g->nstr + 1) * 2 > g->sscap) {
        size_t cap = g->sscap ? g->sscap * 2 : 1024;
        uint32_t *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < g->nstr; i++) {
            size_t k = hx_hash64(g->strs[i], g->slen[i]) & (cap - 1);
            while (ns[k])
                k = (k + 1) & (cap - 1);
            ns[k] = (uint32_t)i + 1;
        }
        free(g->sslots);
        g->sslots = ns;
        g->sscap = cap;
    }
    size_t k = h & (g->sscap - 1);
    while (g->sslots[k]) {
        uint32_t i = g->sslots[k] - 1;
        if (g->slen[i] == len && !memcmp(g->strs[i], s, len)) {
            *id = i;
            return 0;
        }
        k = (k + 1) & (g->sscap - 1);
    }
    if (g->nstr == g->strcap) {
        size_t cap = g->strcap ? g->strcap * 2 : 256;
        char **ns = realloc(g->strs, cap * sizeof *ns);
        uint32_t *nl = realloc(g->slen, cap * sizeof *nl);
        if (ns)
            g->strs = ns;
        if (nl)
            g->slen = nl;
        if (!ns || !nl)
            return -1;
        g->strcap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = 0;
    g->strs[g->nstr] = copy;
    g->slen[g->nstr] = (uint32_t)len;
    g->sslots[k] = (uint32_t)g->nstr + 1;
    *id = g->nstr++;
    return 0;
}

static int rehash_groups(xgroups_t *g)
{
    size_t cap = g->scap ? g->scap * 2 : 1024;
    uint32_t *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        uint64_t h = 0;
        for (int k = 0; k < g->nkeys; k++)
            h = mix(h, g->kv[i * (size_t)g->nkeys + (size_t)k]);
        size_t s = h & (cap - 1);
        while (ns[s])
            s = (s + 1) & (cap - 1);
        ns[s] = (uint32_t)i + 1;
    }
    free(g->slots);
    g->slots = ns;
    g->scap = cap;
    return 0;
}

static int group_of(xgroups_t *g, const uint64_t *key, uint32_t *out)
{
    if ((g->n + 1) * 2 > g->scap && rehash_groups(g))
        return -1;
    uint64_t h = 0;
    for (int k = 0; k < g->nkeys; k++)
        h = mix(h, key[k]);
    size_t s = h & (g->scap - 1);
    while (g->slots[s]) {
        uint32_t i = g->slots[s] - 1;
        if (!memcmp(g->kv + i * (size_t)g->nkeys, key, (size_t)g->nkeys * sizeof *key)) {
            *out = i;
            return 0;
        }
        s = (s + 1) & (g->scap - 1);
    }
    int rc = new_group(g, key, out);
    if (!rc)
        g->slots[s] = *out + 1;
    return rc;
}

static uint64_t float_key(double f)
{
    if (f == 0)
        f = 0; /* -0.0 and 0.0 are one group */
    if (f != f)
        return 0x7ff8000000000000ULL;
    uint64_t b;
    memcpy(&b, &f, 8);
    return b;
}

static int group_ids(xctx_t *x, xgroups_t *g, uint32_t *gid)
{
    size_t ns = x->nsel;
    if (!g->nkeys) {
        memset(gid, 0, ns * sizeof *gid);
        return 0;
    }
    xv_t kv[32];
    for (int k = 0; k < g->nkeys; k++) {
        int rc = xc_eval(x, g->keys[k], &kv[k]);
        if (rc)
            return rc;
    }
    if (g->nkeys == 1 && g->key_kind[0] == XV_CODE && !kv[0].is_const) {
        for (size_t j = 0; j < ns; j++) {
            uint32_t c = kv[0].code[x->sel[j]];
            if (c >= g->direct_n) {
                uint32_t n = an_dict_size(g->key_dict[0]);
                if (n <= c)
                    n = c + 1;
                uint32_t *nd = realloc(g->direct, n * sizeof *nd);
                if (!nd)
                    return -1;
                memset(nd + g->direct_n, 0, (n - g->direct_n) * sizeof *nd);
                g->direct = nd;
                g->direct_n = n;
            }
            if (!g->direct[c]) {
                uint64_t key = c;
                uint32_t id;
                int rc = new_group(g, &key, &id);
                if (rc)
                    return rc;
                g->direct[c] = id + 1;
            }
            gid[j] = g->direct[c] - 1;
        }
        return 0;
    }
    uint64_t key[32];
    for (size_t j = 0; j < ns; j++) {
        uint32_t r = x->sel[j];
        for (int k = 0; k < g->nkeys; k++) {
            const xv_t *v = &kv[k];
            switch (g->key_kind[k]) {
            case XV_CODE: key[k] = v->is_const ? 0 : v->code[r]; break;
            case XV_F: key[k] = float_key(v->is_const ? v->cf : v->f[r]); break;
            case XV_STR: {
                const char *s = v->is_const ? v->cs : v->str + v->off[r];
                size_t len = v->is_const ? v->clen : v->off[r + 1] - v->off[r];
                if (v->kind == XV_CODE) {
                    const an_dent_t *d = an_dict_get(v->dict, v->code[r]);
                    s = d->s;
                    len = d->len;
                }
                if (intern_str(g, s, len, &key[k]))
                    return -1;
                break;
            }
            default: key[k] = (uint64_t)(v->is_const ? v->ci : v->i[r]); break;
            }
        }
        int rc = group_of(g, key, &gid[j]);
        if (rc)
            return rc;
    }
    return 0;
}

static int better(int agg, const xs_t *cand, const xs_t *cur)
{
    int c = hx_sql_cmp_s(cand->s, cand->len, cur->s, cur->len);
    return agg == HX_SQL_AGG_MIN ? c < 0 : c > 0;
}

static int update_raw(xctx_t *x, xgroups_t *g, xagg_t *s, const uint32_t *gid)
{
    size_t ns = x->nsel;
    if (s->agg == HX_SQL_AGG_COUNT) {
        for (size_t j = 0; j < ns; j++)
            s->cnt[gid[j]]++;
        return 0;
    }
    xv_t v;
    int rc = xc_eval(x, s->e->args[0], &v);
    if (rc)
        return rc;
    const uint32_t *sel = x->sel;
    int isf = v.kind == XV_F;
    switch (s->agg) {
    case HX_SQL_AGG_SUM:
        if (s->arg_float)
            for (size_t j = 0; j < ns; j++)
                s->sf[gid[j]] += v.is_const ? (isf ? v.cf : (double)v.ci) : isf ? v.f[sel[j]] : (double)v.i[sel[j]];
        else
            for (size_t j = 0; j < ns; j++)
                s->si[gid[j]] = (int64_t)((uint64_t)s->si[gid[j]] + (uint64_t)(v.is_const ? v.ci : v.i[sel[j]]));
        return 0;
    case HX_SQL_AGG_AVG:
        for (size_t j = 0; j < ns; j++) {
            s->sf[gid[j]] += v.is_const ? (isf ? v.cf : (double)v.ci) : isf ? v.f[sel[j]] : (double)v.i[sel[j]];
            s->cnt[gid[j]]++;
        }
        return 0;
    case HX_SQL_AGG_MIN:
    case HX_SQL_AGG_MAX: {
        int mn = s->agg == HX_SQL_AGG_MIN;
        for (size_t j = 0; j < ns; j++) {
            uint32_t gi = gid[j], r = sel[j];
            if (v.kind == XV_CODE || v.kind == XV_STR) {
                xs_t cand;
                xc_row_value(&v, r, &cand);
                if (!s->has[gi] || better(s->agg, &cand, &s->best[gi])) {
                    s->best[gi] = cand;
                    s->has[gi] = 1;
                }
            } else if (isf) {
                double f = v.is_const ? v.cf : v.f[r];
                if (!s->has[gi] || (mn ? f < s->sf[gi] : f > s->sf[gi]))
                    s->sf[gi] = f;
                s->has[gi] = 1;
            } else {
                int64_t i = v.is_const ? v.ci : v.i[r];
                if (!s->has[gi] || (mn ? i < s->si[gi] : i > s->si[gi]))
                    s->si[gi] = i;
                s->has[gi] = 1;
            }
        }
        return 0;
    }
    case HX_SQL_AGG_UNIQ:
        for (size_t j = 0; j < ns; j++) {
            uint32_t r = sel[j];
            uint64_t h;
            if (v.kind == XV_CODE && !v.is_const) {
                h = mix(0x51, v.code[r]);
            } else if (v.kind == XV_STR || v.kind == XV_CODE) {
                const char *str;
                size_t len;
                xs_t sv;
                xc_row_value(&v, r, &sv);
                str = sv.s;
                len = sv.len;
                h = hx_hash64(str, len);
            } else if (isf) {
                h = mix(0x52, float_key(v.is_const ? v.cf : v.f[r]));
            } else {
                h = mix(0x53, (uint64_t)(v.is_const ? v.ci : v.i[r]));
            }
            if (set_add(&s->sets[gid[j]], h))
                return -1;
        }
        return 0;
    case HX_SQL_AGG_QUANTILE:
        for (size_t j = 0; j < ns; j++) {
            uint32_t gi = gid[j];
            double f = v.is_const ? (isf ? v.cf : (double)v.ci) : isf ? v.f[sel[j]] : (double)v.i[sel[j]];
            if (s->one[gi]) { /* a rollup state read in place so far: now the group accumulates */
                if (an_qacc_merge(&s->sk[gi], s->one[gi]))
                    return -1;
                s->one[gi] = NULL;
            }
            if (an_qacc_add(&s->sk[gi], f))
                return -1;
        }
        return 0;
    }
    return 0;
}

/* On a rollup: merge the entries' states. */
static int update_rollup(xctx_t *x, xagg_t *s, const uint32_t *gid)
{
    const an_rollup_t *ru = x->ru;
    size_t ns = x->nsel, b = x->base;
    int m0 = s->rollup_m[0], m1 = s->rollup_m[1];
    const uint32_t *sel = x->sel;
    switch (s->agg) {
    case HX_SQL_AGG_COUNT:
        for (size_t j = 0; j < ns; j++)
            s->cnt[gid[j]] += (uint64_t)ru->mi[m0][b + sel[j]];
        return 0;
    case HX_SQL_AGG_SUM:
        if (s->arg_float)
            for (size_t j = 0; j < ns; j++)
                s->sf[gid[j]] += ru->mf[m0][b + sel[j]];
        else
            for (size_t j = 0; j < ns; j++)
                s->si[gid[j]] = (int64_t)((uint64_t)s->si[gid[j]] + (uint64_t)ru->mi[m0][b + sel[j]]);
        return 0;
    case HX_SQL_AGG_AVG:
        for (size_t j = 0; j < ns; j++) {
            size_t e = b + sel[j];
            s->sf[gid[j]] += ru->mf[m0] ? ru->mf[m0][e] : (double)ru->mi[m0][e];
            s->cnt[gid[j]] += (uint64_t)ru->mi[m1][e];
        }
        return 0;
    case HX_SQL_AGG_MIN:
    case HX_SQL_AGG_MAX: {
        int mn = s->agg == HX_SQL_AGG_MIN;
        for (size_t j = 0; j < ns; j++) {
            uint32_t gi = gid[j];
            size_t e = b + sel[j];
            if (s->arg_float) {
                double f = ru->mf[m0][e];
                if (!s->has[gi] || (mn ? f < s->sf[gi] : f > s->sf[gi]))
                    s->sf[gi] = f;
            } else {
                int64_t i = ru->mi[m0][e];
                if (!s->has[gi] || (mn ? i < s->si[gi] : i > s->si[gi]))
                    s->si[gi] = i;
            }
            s->has[gi] = 1;
        }
        return 0;
    }
    case HX_SQL_AGG_QUANTILE:
        /* A group fed by one entry (GROUP BY at the level's own grain) reads
         * that state in place; a second entry starts an accumulator. The
         * table stays read-locked until the result is built. */
        for (size_t j = 0; j < ns; j++) {
            uint32_t gi = gid[j];
            const an_sketch_t *src = &ru->ms[m0][b + sel[j]];
            if (!s->sk[gi].count && !s->one[gi]) {
                s->one[gi] = src;
                /* Its counts live in their own allocation: fetch the top
                 * buckets (where high quantiles are found) while we go on. */
                if (src->pos.n)
                    __builtin_prefetch((const uint32_t *)src->pos.counts + src->pos.n - 1);
                continue;
            }
            if (s->one[gi]) {
                if (an_qacc_merge(&s->sk[gi], s->one[gi]))
                    return -1;
                s->one[gi] = NULL;
            }
            if (an_qacc_merge(&s->sk[gi], src))
                return -1;
        }
        return 0;
    }
    return hx_err_set(x->err, HX_EINTERNAL, "aggregate without a rollup state");
}

int xg_consume(xctx_t *x, xgroups_t *g)
{
    if (!x->nsel)
        return HX_OK;
    uint32_t gid[XB];
    int rc = group_ids(x, g, gid);
    if (rc == -2)
        return hx_err_set(x->err, HX_ERANGE, "GROUP BY makes more than 50000000 groups; group by fewer values");
    if (rc < 0)
        return hx_err_set(x->err, HX_ENOMEM, "out of memory grouping rows");
    if (rc)
        return rc;
    for (int a = 0; a < g->naggs; a++) {
        rc = x->rollup_mode ? update_rollup(x, &g->aggs[a], gid) : update_raw(x, g, &g->aggs[a], gid);
        if (rc < 0)
            return hx_err_set(x->err, HX_ENOMEM, "out of memory aggregating rows");
        if (rc)
            return rc;
    }
    return HX_OK;
}

void xg_key_value(const xgroups_t *g, size_t i, int k, xs_t *out)
{
    uint64_t v = g->kv[i * (size_t)g->nkeys + (size_t)k];
    memset(out, 0, sizeof *out);
    switch (g->key_kind[k]) {
    case XV_CODE: {
        const an_dent_t *d = an_dict_get(g->key_dict[k], (uint32_t)v);
        out->kind = XV_STR;
        out->s = d->s;
        out->len = d->len;
        break;
    }
    case XV_STR:
        out->kind = XV_STR;
        out->s = g->strs[v];
        out->len = g->slen[v];
        break;
    case XV_F:
        out->kind = XV_F;
        memcpy(&out->f, &v, 8);
        break;
    default:
        out->kind = XV_I;
        out->i = (int64_t)v;
    }
}

void xg_agg_value(const xgroups_t *g, int a, size_t i, xs_t *out)
{
    const xagg_t *s = &g->aggs[a];
    memset(out, 0, sizeof *out);
    out->kind = XV_I;
    switch (s->agg) {
    case HX_SQL_AGG_COUNT: out->i = (int64_t)s->cnt[i]; return;
    case HX_SQL_AGG_SUM:
        if (s->arg_float) {
            out->kind = XV_F;
            out->f = s->sf[i];
        } else {
            out->i = s->si[i];
        }
        return;
    case HX_SQL_AGG_AVG:
        out->kind = XV_F;
        if (!s->cnt[i])
            out->null = 1;
        else
            out->f = s->sf[i] / (double)s->cnt[i];
        return;
    case HX_SQL_AGG_MIN:
    case HX_SQL_AGG_MAX:
        if (!s->has[i]) {
            out->null = 1;
        } else if (s->e->args[0]->type == HX_AN_T_STRING) {
            *out = s->best[i];
        } else if (s->arg_float) {
            out->kind = XV_F;
            out->f = s->sf[i];
        } else {
            out->i = s->si[i];
        }
        return;
    case HX_SQL_AGG_UNIQ: out->i = (int64_t)(s->sets[i].n + (uint32_t)s->sets[i].has_zero); return;
    case HX_SQL_AGG_QUANTILE:
        out->kind = XV_F;
        if (s->one[i])
            out->f = an_sketch_quantile(s->one[i], s->e->q);
        else if (!s->sk[i].count)
            out->null = 1;
        else
            out->f = an_qacc_quantile(&s->sk[i], s->e->q);
        return;
    }
}
