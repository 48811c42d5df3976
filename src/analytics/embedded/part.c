/* Parts in memory: reference counts, mem parts built from inserted batches,
 * granule statistics. */
#include "analytics/embedded/emb.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <stdlib.h>
#include <string.h>

an_part_t *an_part_new(an_table_t *t)
{
    an_part_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->refs = 1;
    p->tab = t;
    p->partition = -1;
    p->gran_rows = (uint32_t)t->st->cfg.analytics.index_granularity;
    p->min_ts = INT64_MAX;
    p->max_ts = INT64_MIN;
    return p;
}

void an_vec_free(an_vec_t *v)
{
    free(v->i);
    free(v->f);
    free(v->code);
    free(v->off);
    free(v->str);
    memset(v, 0, sizeof *v);
}

size_t an_vec_bytes(const hx_an_column_def_t *c, const an_vec_t *v, size_t rows)
{
    if (c->type == HX_AN_T_STRING)
        return c->low_cardinality ? rows * 4 : (rows + 1) * 4 + (v->off ? v->off[rows] : 0);
    return rows * 8;
}

static void part_free(an_part_t *p)
{
    const hx_an_table_def_t *d = p->tab->def;
    if (!p->mem)
        an_cache_drop_part(&p->tab->st->cache, p);
    if (p->doomed && !p->mem)
        an_part_remove_files(p);
    for (int c = 0; c < d->ncols; c++) {
        an_vec_free(&p->v[c]);
        free(p->pd[c].to_store);
        free(p->pd[c].s);
        free(p->pd[c].len);
    }
    if (p->pending_rollup) {
        an_rollup_free(p->pending_rollup);
        free(p->pending_rollup);
    }
    free(p->stats);
    free(p->loc);
    free(p);
}

void an_part_ref(an_part_t *p)
{
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
}

void an_part_unref(an_part_t *p)
{
    if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        part_free(p);
}

int an_part_compute_stats(an_part_t *p, int local)
{
    const hx_an_table_def_t *d = p->tab->def;
    size_t g = p->gran_rows ? p->gran_rows : 8192;
    p->ngran = (p->rows + g - 1) / g;
    free(p->stats);
    p->stats = calloc(p->ngran ? p->ngran * (size_t)d->ncols : 1, sizeof *p->stats);
    if (!p->stats)
        return HX_ENOMEM;
    p->local_codes = local;
    p->min_ts = INT64_MAX;
    p->max_ts = INT64_MIN;
    for (size_t k = 0; k < p->ngran; k++) {
        size_t a = k * g, b = a + g < p->rows ? a + g : p->rows;
        for (int c = 0; c < d->ncols; c++) {
            an_stat_t *s = &p->stats[k * (size_t)d->ncols + (size_t)c];
            const an_vec_t *v = &p->v[c];
            if (d->cols[c].type == HX_AN_T_FLOAT64) {
                double lo = v->f[a], hi = v->f[a];
                for (size_t r = a + 1; r < b; r++) {
                    lo = v->f[r] < lo ? v->f[r] : lo;
                    hi = v->f[r] > hi ? v->f[r] : hi;
                }
                s->lo.f = lo;
                s->hi.f = hi;
            } else if (d->cols[c].type == HX_AN_T_STRING) {
                if (!d->cols[c].low_cardinality)
                    continue;
                uint32_t lo = v->code[a], hi = v->code[a];
                for (size_t r = a + 1; r < b; r++) {
                    lo = v->code[r] < lo ? v->code[r] : lo;
                    hi = v->code[r] > hi ? v->code[r] : hi;
                }
                s->lo.i = lo;
                s->hi.i = hi;
            } else {
                int64_t lo = v->i[a], hi = v->i[a];
                for (size_t r = a + 1; r < b; r++) {
                    lo = v->i[r] < lo ? v->i[r] : lo;
                    hi = v->i[r] > hi ? v->i[r] : hi;
                }
                s->lo.i = lo;
                s->hi.i = hi;
            }
        }
        an_stat_t *ts = &p->stats[k * (size_t)d->ncols + HX_AN_COL_TIMESTAMP];
        p->min_ts = ts->lo.i < p->min_ts ? ts->lo.i : p->min_ts;
        p->max_ts = ts->hi.i > p->max_ts ? ts->hi.i : p->max_ts;
    }
    return HX_OK;
}

/* Interns one LC column of a batch; runs of one value (common: a provider's
 * rows together) skip the dictionary. */
static int intern_column(an_dict_t *dict, const hx_an_col_t *bc, const uint32_t *keep, size_t n, uint32_t *out)
{
    const char *last = NULL;
    size_t last_len = 0;
    uint32_t last_code = 0;
    for (size_t k = 0; k < n; k++) {
        size_t r = keep ? keep[k] : k;
        const char *s = bc->str + bc->off[r];
        size_t len = bc->off[r + 1] - bc->off[r];
        if (last && len == last_len && (len == 0 || memcmp(s, last, len) == 0)) {
            out[k] = last_code;
            continue;
        }
        int rc = an_dict_intern(dict, s, len, &last_code);
        if (rc)
            return rc;
        last = s;
        last_len = len;
        out[k] = last_code;
    }
    return HX_OK;
}

int an_mempart_from_batch(an_table_t *t, const hx_an_batch_t *b, int64_t cutoff, int sort, an_part_t **out,
                          size_t *dropped, hx_err_t *err)
{
    const hx_an_table_def_t *d = t->def;
    *out = NULL;
    *dropped = 0;
    uint32_t *keep = NULL;
    size_t n = b->rows;
    const int64_t *ts = b->cols[HX_AN_COL_TIMESTAMP].i;
    size_t old = 0;
    for (size_t r = 0; r < b->rows; r++)
        old += ts[r] < cutoff;
    if (old) {
        if (!(keep = malloc(b->rows * sizeof *keep)))
            return hx_err_set(err, HX_ENOMEM, "out of memory inserting %zu rows", b->rows);
        n = 0;
        for (size_t r = 0; r < b->rows; r++)
            if (ts[r] >= cutoff)
                keep[n++] = (uint32_t)r;
        *dropped = old;
    }
    if (!n) {
        free(keep);
        return HX_OK;
    }
    an_part_t *p = an_part_new(t);
    if (!p) {
        free(keep);
        return hx_err_set(err, HX_ENOMEM, "out of memory inserting %zu rows", n);
    }
    p->mem = 1;
    p->rows = n;
    p->created_ms = (uint64_t)hx_now_ms();
    int rc = HX_OK;
    for (int c = 0; c < d->ncols && !rc; c++) {
        const hx_an_col_t *bc = &b->cols[c];
        an_vec_t *v = &p->v[c];
        switch (d->cols[c].type) {
        case HX_AN_T_FLOAT64:
            if (!(v->f = malloc(n * sizeof *v->f))) {
                rc = HX_ENOMEM;
                break;
            }
            if (keep)
                for (size_t k = 0; k < n; k++)
                    v->f[k] = bc->f[keep[k]];
            else
                memcpy(v->f, bc->f, n * sizeof *v->f);
            break;
        case HX_AN_T_STRING:
            if (d->cols[c].low_cardinality) {
                if (!(v->code = malloc(n * sizeof *v->code)))
                    rc = HX_ENOMEM;
                else
                    rc = intern_column(&t->dict[c], bc, keep, n, v->code);
                break;
            }
            if (!(v->off = malloc((n + 1) * sizeof *v->off))) {
                rc = HX_ENOMEM;
                break;
            }
            if (!keep) {
                memcpy(v->off, bc->off, (n + 1) * sizeof *v->off);
                size_t len = bc->off[n];
                if (!(v->str = malloc(len ? len : 1)))
                    rc = HX_ENOMEM;
                else if (len)
                    memcpy(v->str, bc->str, len);
            } else {
                size_t len = 0;
                for (size_t k = 0; k < n; k++)
                    len += bc->off[keep[k] + 1] - bc->off[keep[k]];
                if (!(v->str = malloc(len ? len : 1))) {
                    rc = HX_ENOMEM;
                    break;
                }
                v->off[0] = 0;
                for (size_t k = 0; k < n; k++) {
                    size_t a = bc->off[keep[k]], l = bc->off[keep[k] + 1] - a;
                    memcpy(v->str + v->off[k], bc->str + a, l);
                    v->off[k + 1] = v->off[k] + (uint32_t)l;
                }
            }
            break;
        default:
            if (!(v->i = malloc(n * sizeof *v->i))) {
                rc = HX_ENOMEM;
                break;
            }
            if (keep)
                for (size_t k = 0; k < n; k++)
                    v->i[k] = bc->i[keep[k]];
            else
                memcpy(v->i, bc->i, n * sizeof *v->i);
            break;
        }
        p->bytes_mem += an_vec_bytes(&d->cols[c], v, n);
    }
    free(keep);
    if (!rc && sort)
        rc = an_part_sort(p);
    if (!rc)
        rc = an_part_compute_stats(p, 0);
    if (rc) {
        an_part_unref(p);
        return hx_err_set(err, rc, rc == HX_ETOOBIG ? "a low-cardinality column of %s has too many distinct values"
                                                    : "out of memory inserting into %s",
                          d->name);
    }
    *out = p;
    return HX_OK;
}
