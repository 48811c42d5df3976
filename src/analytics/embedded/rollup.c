/* Rollup tables: one entry per (tenant, time bucket, dims) holding mergeable
 * states (counts, sums, min, max, quantile sketches) in columns, so a query
 * scans them with the same vector code as table rows. */
#include "analytics/embedded/emb.h"
#include "analytics/sql/sql.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int an_measure_is_int(const hx_an_rollup_def_t *def, int m)
{
    const hx_an_measure_def_t *md = &def->measures[m];
    if (md->kind == HX_AN_M_COUNT)
        return 1;
    if (md->kind == HX_AN_M_QUANTILES)
        return 0;
    return hx_an_type_is_int(hx_an_table(def->table)->cols[md->col].type);
}

int an_rollup_init(an_rollup_t *r, const hx_an_rollup_def_t *def)
{
    memset(r, 0, sizeof *r);
    r->def = def;
    r->scap = 1024;
    r->slots = calloc(r->scap, sizeof *r->slots);
    return r->slots ? HX_OK : HX_ENOMEM;
}

int an_rollup_init_level(an_rollup_t *r, const hx_an_rollup_def_t *base, int64_t bucket_s, int ndims)
{
    int rc = an_rollup_init(r, base);
    if (rc)
        return rc;
    r->ldef = *base;
    r->ldef.bucket_s = bucket_s;
    r->ldef.ndims = ndims;
    r->def = &r->ldef;
    return HX_OK;
}

void an_rollup_free(an_rollup_t *r)
{
    if (!r->def)
        return;
    free(r->tenant);
    free(r->t);
    for (int d = 0; d < HX_AN_ROLLUP_MAX_DIMS; d++)
        free(r->dim[d]);
    for (int m = 0; m < r->def->nmeasures; m++) {
        free(r->mi[m]);
        free(r->mf[m]);
        if (r->ms[m])
            for (size_t i = 0; i < r->n; i++)
                an_sketch_free(&r->ms[m][i]);
        free(r->ms[m]);
    }
    free(r->slots);
    memset(r, 0, sizeof *r);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static uint64_t key_hash(uint32_t tenant, int64_t t, const uint32_t *dims, int nd)
{
    uint64_t h = mix((uint64_t)tenant, (uint64_t)t);
    for (int d = 0; d < nd; d++)
        h = mix(h, dims[d]);
    return h;
}

static int same_key(const an_rollup_t *r, size_t i, uint32_t tenant, int64_t t, const uint32_t *dims)
{
    if (r->tenant[i] != tenant || r->t[i] != t)
        return 0;
    for (int d = 0; d < r->def->ndims; d++)
        if (r->dim[d][i] != dims[d])
            return 0;
    return 1;
}

static int grow_entries(an_rollup_t *r)
{
    size_t cap = r->cap ? r->cap * 2 : 256;
    const hx_an_rollup_def_t *def = r->def;
#define GROW(arr)                                                                                                \
    do {                                                                                                         \
        void *np = realloc(arr, cap * sizeof *(arr));                                                            \
        if (!np)                                                                                                 \
            return HX_ENOMEM;                                                                                    \
        arr = np;                                                                                                \
    } while (0)
    GROW(r->tenant);
    GROW(r->t);
    for (int d = 0; d < def->ndims; d++)
        GROW(r->dim[d]);
    for (int m = 0; m < def->nmeasures; m++) {
        if (def->measures[m].kind == HX_AN_M_QUANTILES)
            GROW(r->ms[m]);
        else if (an_measure_is_int(def, m))
            GROW(r->mi[m]);
        else
            GROW(r->mf[m]);
    }
#undef GROW
    r->cap = cap;
    return HX_OK;
}

static int rehash(an_rollup_t *r, uint32_t scap)
{
    uint32_t *slots = calloc(scap, sizeof *slots);
    if (!slots)
        return HX_ENOMEM;
    uint32_t dims[HX_AN_ROLLUP_MAX_DIMS];
    for (size_t i = 0; i < r->n; i++) {
        for (int d = 0; d < r->def->ndims; d++)
            dims[d] = r->dim[d][i];
        uint32_t k = (uint32_t)key_hash(r->tenant[i], r->t[i], dims, r->def->ndims) & (scap - 1);
        while (slots[k])
            k = (k + 1) & (scap - 1);
        slots[k] = (uint32_t)i + 1;
    }
    free(r->slots);
    r->slots = slots;
    r->scap = scap;
    return HX_OK;
}

/* Index of the entry for the key, created empty when new; -1 on ENOMEM. */
static int64_t entry(an_rollup_t *r, uint32_t tenant, int64_t t, const uint32_t *dims)
{
    const hx_an_rollup_def_t *def = r->def;
    uint32_t k = (uint32_t)key_hash(tenant, t, dims, def->ndims) & (r->scap - 1);
    for (;;) {
        uint32_t s = r->slots[k];
        if (!s)
            break;
        if (same_key(r, s - 1, tenant, t, dims))
            return s - 1;
        k = (k + 1) & (r->scap - 1);
    }
    if (r->n == r->cap && grow_entries(r))
        return -1;
    size_t i = r->n++;
    r->tenant[i] = tenant;
    r->t[i] = t;
    for (int d = 0; d < def->ndims; d++)
        r->dim[d][i] = dims[d];
    for (int m = 0; m < def->nmeasures; m++) {
        hx_an_measure_kind_t kind = def->measures[m].kind;
        if (kind == HX_AN_M_QUANTILES) {
            an_sketch_init(&r->ms[m][i]);
        } else if (r->mi[m]) { /* grow_entries gave int measures mi, the others mf */
            r->mi[m][i] = kind == HX_AN_M_MIN ? INT64_MAX : kind == HX_AN_M_MAX ? INT64_MIN : 0;
        } else {
            r->mf[m][i] = kind == HX_AN_M_MIN ? INFINITY : kind == HX_AN_M_MAX ? -INFINITY : 0;
        }
    }
    r->slots[k] = (uint32_t)i + 1;
    if ((uint64_t)r->n * 2 > r->scap && rehash(r, r->scap * 2)) {
        r->n--;
        return -1;
    }
    return (int64_t)i;
}

int an_rollup_add_rows(an_rollup_t *r, const an_vec_t *cols, size_t from, size_t to)
{
    const hx_an_rollup_def_t *def = r->def;
    const hx_an_table_def_t *td = hx_an_table(def->table);
    int64_t b = def->bucket_s, last_t = INT64_MIN;
    uint32_t dims[HX_AN_ROLLUP_MAX_DIMS], last_dims[HX_AN_ROLLUP_MAX_DIMS], last_tenant = UINT32_MAX;
    int64_t idx = -1;
    /* Each measure's kind and input column, looked up once, not per row. */
    struct {
        hx_an_measure_kind_t kind;
        const double *f;
        const int64_t *i;
    } mr[HX_AN_ROLLUP_MAX_MEASURES];
    const uint32_t *dcol[HX_AN_ROLLUP_MAX_DIMS];
    for (int m = 0; m < def->nmeasures; m++) {
        const hx_an_measure_def_t *md = &def->measures[m];
        mr[m].kind = md->kind;
        mr[m].f = NULL;
        mr[m].i = NULL;
        if (md->kind == HX_AN_M_COUNT)
            continue;
        if (td->cols[md->col].type == HX_AN_T_FLOAT64)
            mr[m].f = cols[md->col].f;
        else
            mr[m].i = cols[md->col].i;
    }
    for (int d = 0; d < def->ndims; d++)
        dcol[d] = cols[def->dims[d]].code;
    const uint32_t *tenants = cols[HX_AN_COL_TENANT].code;
    const int64_t *ts = cols[HX_AN_COL_TIMESTAMP].i;
    for (size_t row = from; row < to; row++) {
        uint32_t tenant = tenants[row];
        int64_t t = hx_sql_floor_div(ts[row], b) * b;
        int same = idx >= 0 && tenant == last_tenant && t == last_t;
        for (int d = 0; d < def->ndims; d++) {
            dims[d] = dcol[d][row];
            same = same && dims[d] == last_dims[d];
        }
        if (!same) {
            if ((idx = entry(r, tenant, t, dims)) < 0)
                return HX_ENOMEM;
            last_tenant = tenant;
            last_t = t;
            memcpy(last_dims, dims, sizeof dims);
        }
        for (int m = 0; m < def->nmeasures; m++) {
            const double *f = mr[m].f;
            const int64_t *iv = mr[m].i;
            switch (mr[m].kind) {
            case HX_AN_M_COUNT: r->mi[m][idx]++; break;
            case HX_AN_M_SUM:
                if (f)
                    r->mf[m][idx] += f[row];
                else
                    r->mi[m][idx] = (int64_t)((uint64_t)r->mi[m][idx] + (uint64_t)iv[row]);
                break;
            case HX_AN_M_MIN:
                if (f)
                    r->mf[m][idx] = f[row] < r->mf[m][idx] ? f[row] : r->mf[m][idx];
                else
                    r->mi[m][idx] = iv[row] < r->mi[m][idx] ? iv[row] : r->mi[m][idx];
                break;
            case HX_AN_M_MAX:
                if (f)
                    r->mf[m][idx] = f[row] > r->mf[m][idx] ? f[row] : r->mf[m][idx];
                else
                    r->mi[m][idx] = iv[row] > r->mi[m][idx] ? iv[row] : r->mi[m][idx];
                break;
            case HX_AN_M_QUANTILES:
                if (an_sketch_add(&r->ms[m][idx], f ? f[row] : (double)iv[row]))
                    return HX_ENOMEM;
                break;
            default: break;
            }
        }
    }
    return HX_OK;
}

/* Combines entry j of src into entry i of dst. */
static int combine(an_rollup_t *dst, size_t i, const an_rollup_t *src, size_t j)
{
    const hx_an_rollup_def_t *def = dst->def;
    for (int m = 0; m < def->nmeasures; m++) {
        hx_an_measure_kind_t kind = def->measures[m].kind;
        if (kind == HX_AN_M_QUANTILES) {
            if (an_sketch_merge(&dst->ms[m][i], &src->ms[m][j]))
                return HX_ENOMEM;
        } else if (dst->mi[m]) {
            int64_t a = dst->mi[m][i], b = src->mi[m][j];
            dst->mi[m][i] = kind == HX_AN_M_MIN ? (b < a ? b : a)
                            : kind == HX_AN_M_MAX ? (b > a ? b : a)
                                                  : (int64_t)((uint64_t)a + (uint64_t)b);
        } else {
            double a = dst->mf[m][i], b = src->mf[m][j];
            dst->mf[m][i] = kind == HX_AN_M_MIN ? (b < a ? b : a) : kind == HX_AN_M_MAX ? (b > a ? b : a) : a + b;
        }
    }
    return HX_OK;
}

int an_rollup_merge(an_rollup_t *dst, const an_rollup_t *src)
{
    uint32_t dims[HX_AN_ROLLUP_MAX_DIMS];
    for (size_t j = 0; j < src->n; j++) {
        for (int d = 0; d < src->def->ndims; d++)
            dims[d] = src->dim[d][j];
        int64_t i = entry(dst, src->tenant[j], src->t[j], dims);
        if (i < 0 || combine(dst, (size_t)i, src, j))
            return HX_ENOMEM;
    }
    return HX_OK;
}

int an_rollup_derive(an_rollup_t *dst, const an_rollup_t *src)
{
    int64_t b = dst->def->bucket_s;
    uint32_t dims[HX_AN_ROLLUP_MAX_DIMS];
    for (size_t j = 0; j < src->n; j++) {
        for (int d = 0; d < dst->def->ndims; d++)
            dims[d] = src->dim[d][j];
        int64_t i = entry(dst, src->tenant[j], hx_sql_floor_div(src->t[j], b) * b, dims);
        if (i < 0 || combine(dst, (size_t)i, src, j))
            return HX_ENOMEM;
    }
    return HX_OK;
}

int an_rollup_expire(an_rollup_t *r, int64_t cutoff)
{
    const hx_an_rollup_def_t *def = r->def;
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->t[i] < cutoff) {
            for (int m = 0; m < def->nmeasures; m++)
                if (r->ms[m])
                    an_sketch_free(&r->ms[m][i]);
            continue;
        }
        if (w != i) {
            r->tenant[w] = r->tenant[i];
            r->t[w] = r->t[i];
            for (int d = 0; d < def->ndims; d++)
                r->dim[d][w] = r->dim[d][i];
            for (int m = 0; m < def->nmeasures; m++) {
                if (r->ms[m])
                    r->ms[m][w] = r->ms[m][i];
                else if (r->mi[m])
                    r->mi[m][w] = r->mi[m][i];
                else
                    r->mf[m][w] = r->mf[m][i];
            }
        }
        w++;
    }
    if (w == r->n)
        return HX_OK;
    r->n = w;
    return rehash(r, r->scap);
}

size_t an_rollup_bytes(const an_rollup_t *r)
{
    size_t per = 4 + 8 + (size_t)r->def->ndims * 4 + (size_t)r->def->nmeasures * 8;
    size_t b = r->cap * per + r->scap * 4;
    for (int m = 0; m < r->def->nmeasures; m++)
        if (r->ms[m])
            for (size_t i = 0; i < r->n; i++)
                b += an_sketch_bytes(&r->ms[m][i]);
    return b;
}

int an_rollup_encode(const an_rollup_t *r, uint32_t *const *to_local, hx_buf_t *out)
{
    const hx_an_rollup_def_t *def = r->def;
    int rc = hx_buf_put_uvarint(out, r->n);
    for (size_t i = 0; i < r->n && !rc; i++) {
        rc = hx_buf_put_uvarint(out, to_local[HX_AN_COL_TENANT][r->tenant[i]]);
        rc = rc ? rc : hx_buf_put_svarint(out, r->t[i]);
        for (int d = 0; d < def->ndims && !rc; d++)
            rc = hx_buf_put_uvarint(out, to_local[def->dims[d]][r->dim[d][i]]);
        for (int m = 0; m < def->nmeasures && !rc; m++) {
            if (r->ms[m]) {
                rc = an_sketch_encode(&r->ms[m][i], out);
            } else if (r->mi[m]) {
                rc = hx_buf_put_svarint(out, r->mi[m][i]);
            } else {
                uint64_t bits;
                memcpy(&bits, &r->mf[m][i], 8);
                rc = hx_buf_put_u64le(out, bits);
            }
        }
    }
    return rc;
}

int an_rollup_decode(an_rollup_t *r, hx_rd_t *rd, const an_pdict_t *pd)
{
    const hx_an_rollup_def_t *def = r->def;
    uint64_t n;
    if (hx_rd_uvarint(rd, &n) || n > (1u << 30))
        return HX_ECORRUPT;
    an_rollup_t one;
    int rc = an_rollup_init(&one, def);
    if (rc)
        return rc;
    uint32_t dims[HX_AN_ROLLUP_MAX_DIMS];
    for (uint64_t k = 0; k < n && !rc; k++) {
        uint64_t tl, dl;
        int64_t t;
        if (hx_rd_uvarint(rd, &tl) || tl >= pd[HX_AN_COL_TENANT].n || hx_rd_svarint(rd, &t)) {
            rc = HX_ECORRUPT;
            break;
        }
        for (int d = 0; d < def->ndims && !rc; d++) {
            if (hx_rd_uvarint(rd, &dl) || dl >= pd[def->dims[d]].n)
                rc = HX_ECORRUPT;
            else
                dims[d] = pd[def->dims[d]].to_store[dl];
        }
        if (rc)
            break;
        /* Decode into a one-entry rollup, then merge: duplicates combine. */
        one.n = 0;
        memset(one.slots, 0, one.scap * sizeof *one.slots);
        int64_t i = entry(&one, pd[HX_AN_COL_TENANT].to_store[tl], t, dims);
        if (i < 0) {
            rc = HX_ENOMEM;
            break;
        }
        for (int m = 0; m < def->nmeasures && !rc; m++) {
            if (one.ms[m]) {
                an_sketch_clear(&one.ms[m][0]);
                rc = an_sketch_decode(&one.ms[m][0], rd);
            } else if (one.mi[m]) {
                rc = hx_rd_svarint(rd, &one.mi[m][0]) ? HX_ECORRUPT : 0;
            } else {
                uint64_t bits;
                rc = hx_rd_u64le(rd, &bits) ? HX_ECORRUPT : 0;
                memcpy(&one.mf[m][0], &bits, 8);
            }
        }
        if (!rc)
            rc = an_rollup_merge(r, &one);
        for (int m = 0; m < def->nmeasures; m++)
            if (one.ms[m])
                an_sketch_free(&one.ms[m][0]);
        one.n = 0;
    }
    an_rollup_free(&one);
    return rc;
}
