/* Building a part from the rows of other parts (a flush of mem parts, a
 * merge, a TTL rewrite): select the partition's live rows, give every LC
 * column a sorted local dictionary, sort by the table's ORDER BY (a radix
 * sort of packed keys when they fit 64 bits) and gather the columns. */
#include "analytics/embedded/emb.h"
#include "analytics/sql/scalar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int an_partition_of(int64_t ts)
{
    return (int)hx_sql_yyyymm_of_days(hx_sql_floor_div(ts, 86400));
}

/* [lo, hi) in seconds of partition yyyymm. */
static void partition_bounds(int64_t yyyymm, int64_t *lo, int64_t *hi)
{
    int64_t y = yyyymm / 100;
    int m = (int)(yyyymm % 100);
    *lo = hx_sql_days_from_civil(y, m, 1) * 86400;
    *hi = (m == 12 ? hx_sql_days_from_civil(y + 1, 1, 1) : hx_sql_days_from_civil(y, m + 1, 1)) * 86400;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int an_partitions_of(an_part_t *const *src, size_t nsrc, int64_t **out, size_t *n, hx_err_t *err)
{
    size_t cap = 8, cnt = 0;
    int64_t *parts = malloc(cap * sizeof *parts);
    if (!parts)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t s = 0; s < nsrc; s++) {
        an_part_t *p = src[s];
        if (!p->rows)
            continue;
        int a = an_partition_of(p->min_ts), b = an_partition_of(p->max_ts);
        const an_vec_t *ts = NULL;
        if (a != b) {
            int rc = an_part_column(p, HX_AN_COL_TIMESTAMP, &ts, err);
            if (rc) {
                free(parts);
                return rc;
            }
        }
        /* The months from the part's first row to its last with their ends,
         * so a row's partition is a few compares, not a calendar conversion. */
        int64_t ends[64];
        int ids[64], nb = 0, covered = a == b;
        for (int m = a; !covered && nb < 64;) {
            int64_t lo, hi;
            partition_bounds(m, &lo, &hi);
            ids[nb] = m;
            ends[nb++] = hi;
            covered = m >= b;
            m = an_partition_of(hi);
        }
        int last = -1;
        for (size_t r = 0; r < (a == b ? 1 : p->rows); r++) {
            int pt = a;
            if (a != b && covered) {
                int k = 0;
                while (k < nb - 1 && ts->i[r] >= ends[k])
                    k++;
                pt = ids[k];
            } else if (a != b) {
                pt = an_partition_of(ts->i[r]);
            }
            if (pt == last)
                continue;
            last = pt;
            int seen = 0;
            for (size_t k = 0; k < cnt && !seen; k++)
                seen = parts[k] == pt;
            if (seen)
                continue;
            if (cnt == cap) {
                int64_t *np = realloc(parts, cap * 2 * sizeof *np);
                if (!np) {
                    free(parts);
                    if (ts)
                        an_part_unpin(p, HX_AN_COL_TIMESTAMP);
                    return hx_err_set(err, HX_ENOMEM, "out of memory");
                }
                parts = np;
                cap *= 2;
            }
            parts[cnt++] = pt;
        }
        if (ts)
            an_part_unpin(p, HX_AN_COL_TIMESTAMP);
    }
    qsort(parts, cnt, sizeof *parts, cmp_i64);
    *out = parts;
    *n = cnt;
    return HX_OK;
}

typedef struct {
    uint32_t src, row;
} rowref_t;

static int cmp_codes(const void *a, const void *b, void *ctx)
{
    const an_dict_t *dict = ctx;
    const an_dent_t *x = an_dict_get(dict, *(const uint32_t *)a);
    const an_dent_t *y = an_dict_get(dict, *(const uint32_t *)b);
    return hx_sql_cmp_s(x->s, x->len, y->s, y->len);
}

typedef struct sref {
    const char *s;
    uint32_t len, i;
} sref_t;

static int cmp_sref(const void *x, const void *y)
{
    const sref_t *a = x, *b = y;
    int c = hx_sql_cmp_s(a->s, a->len, b->s, b->len);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

static int bits_for(uint64_t v)
{
    int b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

/* Stable LSD radix sort of (key, idx) over the low `bits` bits. */
static int radix_sort(uint64_t *key, uint32_t *idx, size_t n, int bits)
{
    if (n < 2 || bits == 0)
        return HX_OK;
    uint64_t *k2 = malloc(n * sizeof *k2);
    uint32_t *i2 = malloc(n * sizeof *i2);
    if (!k2 || !i2) {
        free(k2);
        free(i2);
        return HX_ENOMEM;
    }
    enum { D = 11, B = 1 << D };
    size_t cnt[B];
    uint64_t *ka = key, *kb = k2;
    uint32_t *ia = idx, *ib = i2;
    int passes = 0;
    for (int shift = 0; shift < bits; shift += D) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(ka[i] >> shift) & (B - 1)]++;
        if (cnt[(ka[0] >> shift) & (B - 1)] == n)
            continue; /* every key has this digit: nothing moves */
        size_t sum = 0;
        for (int d = 0; d < B; d++) {
            size_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t pos = cnt[(ka[i] >> shift) & (B - 1)]++;
            kb[pos] = ka[i];
            ib[pos] = ia[i];
        }
        uint64_t *tk = ka;
        ka = kb;
        kb = tk;
        uint32_t *ti = ia;
        ia = ib;
        ib = ti;
        passes++;
    }
    if (passes & 1) {
        memcpy(key, ka, n * sizeof *key);
        memcpy(idx, ia, n * sizeof *idx);
    }
    free(k2);
    free(i2);
    return HX_OK;
}

/* Comparator fallback when the packed key does not fit: compares rank arrays. */
typedef struct {
    uint64_t **ranks;
    int n;
} ranks_t;

static int cmp_rows(const void *a, const void *b, void *ctx)
{
    const ranks_t *rk = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    for (int k = 0; k < rk->n; k++)
        if (rk->ranks[k][x] != rk->ranks[k][y])
            return rk->ranks[k][x] < rk->ranks[k][y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

typedef struct {
    an_table_t *t;
    const an_vec_t *(*cols)[HX_AN_MAX_COLS];
    an_part_t *const *src;
    size_t nsrc;
    rowref_t *rows;                  /* grouped by source, ascending rows within one */
    size_t n;
    size_t *run;                     /* nsrc + 1: source s owns rows [run[s], run[s + 1]) */
    int sorted_runs;                 /* every source is in ORDER BY order */
    uint32_t *lmap[HX_AN_MAX_COLS];  /* store code -> local code, per LC column */
} build_t;

/* k-way merge of the sorted runs into perm: a binary heap of run heads,
 * ordered by packed key (or rank tuple) and then run, which keeps equal keys
 * in source order. */
static int run_less(const build_t *b, const uint64_t *key, const ranks_t *rk, size_t ia, size_t ib, size_t ra,
                    size_t rb)
{
    if (key) {
        if (key[ia] != key[ib])
            return key[ia] < key[ib];
    } else {
        for (int k = 0; k < rk->n; k++)
            if (rk->ranks[k][ia] != rk->ranks[k][ib])
                return rk->ranks[k][ia] < rk->ranks[k][ib];
    }
    (void)b;
    return ra < rb;
}

static int merge_runs(build_t *b, const uint64_t *key, const ranks_t *rk, uint32_t *perm)
{
    size_t k = 0, *heap = malloc((b->nsrc ? b->nsrc : 1) * sizeof *heap), *pos = malloc((b->nsrc ? b->nsrc : 1) * sizeof *pos);
    if (!heap || !pos) {
        free(heap);
        free(pos);
        return HX_ENOMEM;
    }
    for (size_t s = 0; s < b->nsrc; s++)
        pos[s] = b->run[s];
#define HEAD(r) (pos[r])
#define LESS(x, y) run_less(b, key, rk, HEAD(x), HEAD(y), x, y)
    for (size_t s = 0; s < b->nsrc; s++) {
        if (pos[s] == b->run[s + 1])
            continue;
        size_t i = k++;
        heap[i] = s;
        while (i && LESS(heap[i], heap[(i - 1) / 2])) {
            size_t t = heap[i];
            heap[i] = heap[(i - 1) / 2];
            heap[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    }
    size_t out = 0;
    while (k) {
        size_t r = heap[0];
        perm[out++] = (uint32_t)pos[r]++;
        if (pos[r] == b->run[r + 1])
            heap[0] = heap[--k];
        for (size_t i = 0;;) {
            size_t l = 2 * i + 1, m = i;
            if (l < k && LESS(heap[l], heap[m]))
                m = l;
            if (l + 1 < k && LESS(heap[l + 1], heap[m]))
                m = l + 1;
            if (m == i)
                break;
            size_t t = heap[i];
            heap[i] = heap[m];
            heap[m] = t;
            i = m;
        }
    }
#undef HEAD
#undef LESS
    free(heap);
    free(pos);
    return HX_OK;
}

static void build_free(build_t *b)
{
    for (size_t s = 0; s < b->nsrc; s++)
        for (int c = 0; c < b->t->def->ncols; c++)
            if (b->cols && b->cols[s][c])
                an_part_unpin(b->src[s], c);
    free(b->cols);
    free(b->rows);
    free(b->run);
    for (int c = 0; c < HX_AN_MAX_COLS; c++)
        free(b->lmap[c]);
}

static int local_dict(build_t *b, an_pdict_t *pd, int c)
{
    an_dict_t *dict = &b->t->dict[c];
    uint32_t dn = an_dict_size(dict);
    uint32_t *map = malloc((dn ? dn : 1) * sizeof *map);
    uint32_t *distinct = NULL;
    if (!map)
        return HX_ENOMEM;
    memset(map, 0xff, (dn ? dn : 1) * sizeof *map);
    size_t nd = 0, cap = 64;
    distinct = malloc(cap * sizeof *distinct);
    if (!distinct) {
        free(map);
        return HX_ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++) {
        uint32_t code = b->cols[b->rows[i].src][c]->code[b->rows[i].row];
        if (map[code] != UINT32_MAX)
            continue;
        map[code] = 0;
        if (nd == cap) {
            uint32_t *nx = realloc(distinct, cap * 2 * sizeof *nx);
            if (!nx) {
                free(map);
                free(distinct);
                return HX_ENOMEM;
            }
            distinct = nx;
            cap *= 2;
        }
        distinct[nd++] = code;
    }
    qsort_r(distinct, nd, sizeof *distinct, cmp_codes, dict);
    pd->n = (uint32_t)nd;
    pd->to_store = distinct;
    pd->s = malloc((nd ? nd : 1) * sizeof *pd->s);
    pd->len = malloc((nd ? nd : 1) * sizeof *pd->len);
    b->lmap[c] = map;
    if (!pd->s || !pd->len)
        return HX_ENOMEM;
    for (size_t k = 0; k < nd; k++) {
        const an_dent_t *e = an_dict_get(dict, distinct[k]);
        pd->s[k] = e->s;
        pd->len[k] = e->len;
        map[distinct[k]] = (uint32_t)k;
    }
    return HX_OK;
}

/* Permutation of b->rows in ORDER BY order. */
static int sort_rows(build_t *b, uint32_t **perm_out)
{
    const hx_an_table_def_t *d = b->t->def;
    size_t n = b->n;
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    uint64_t *ranks[HX_AN_MAX_COLS] = {0};
    int bits[HX_AN_MAX_COLS] = {0}, total = 0, rc = HX_OK;
    if (!perm)
        return HX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    if (b->sorted_runs && b->nsrc == 1) {
        /* One sorted source (a TTL rewrite): its rows are in order already. */
        *perm_out = perm;
        return HX_OK;
    }
    for (int k = 0; k < d->norder && !rc; k++) {
        int c = d->order_by[k];
        if (!(ranks[k] = malloc((n ? n : 1) * sizeof *ranks[k]))) {
            rc = HX_ENOMEM;
            break;
        }
        if (d->cols[c].type == HX_AN_T_STRING && d->cols[c].low_cardinality) {
            uint64_t mx = 0;
            for (size_t i = 0; i < n; i++) {
                ranks[k][i] = b->lmap[c][b->cols[b->rows[i].src][c]->code[b->rows[i].row]];
                mx = ranks[k][i] > mx ? ranks[k][i] : mx;
            }
            bits[k] = bits_for(mx);
        } else if (d->cols[c].type == HX_AN_T_STRING) {
            /* Plain strings: rank by sorting the values. */
            sref_t *refs = malloc((n ? n : 1) * sizeof *refs);
            if (!refs) {
                rc = HX_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++) {
                const an_vec_t *v = b->cols[b->rows[i].src][c];
                uint32_t r = b->rows[i].row;
                refs[i].s = v->str + v->off[r];
                refs[i].len = v->off[r + 1] - v->off[r];
                refs[i].i = (uint32_t)i;
            }
            qsort(refs, n, sizeof *refs, cmp_sref);
            uint64_t rank = 0;
            for (size_t i = 0; i < n; i++) {
                if (i && hx_sql_cmp_s(refs[i - 1].s, refs[i - 1].len, refs[i].s, refs[i].len))
                    rank++;
                ranks[k][refs[i].i] = rank;
            }
            bits[k] = bits_for(rank);
            free(refs);
        } else {
            int64_t mn = INT64_MAX, mx = INT64_MIN;
            for (size_t i = 0; i < n; i++) {
                int64_t v = b->cols[b->rows[i].src][c]->i[b->rows[i].row];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            for (size_t i = 0; i < n; i++)
                ranks[k][i] = (uint64_t)b->cols[b->rows[i].src][c]->i[b->rows[i].row] - (uint64_t)mn;
            bits[k] = n ? bits_for((uint64_t)mx - (uint64_t)mn) : 0;
        }
        total += bits[k];
    }
    uint64_t *key = NULL;
    if (!rc && total <= 64) {
        if (!(key = calloc(n ? n : 1, sizeof *key)))
            rc = HX_ENOMEM;
        for (int k = 0; k < d->norder && key; k++)
            if (bits[k])
                for (size_t i = 0; i < n; i++)
                    key[i] = bits[k] == 64 ? ranks[k][i] : (key[i] << bits[k]) | ranks[k][i];
    }
    if (!rc && b->sorted_runs) {
        /* Every source is sorted: merge the runs, reading each in order. */
        ranks_t rk = {ranks, d->norder};
        rc = merge_runs(b, key, &rk, perm);
    } else if (!rc && key) {
        rc = radix_sort(key, perm, n, total);
    } else if (!rc) {
        ranks_t rk = {ranks, d->norder};
        qsort_r(perm, n, sizeof *perm, cmp_rows, &rk);
    }
    free(key);
    for (int k = 0; k < d->norder; k++)
        free(ranks[k]);
    if (rc) {
        free(perm);
        return rc;
    }
    *perm_out = perm;
    return HX_OK;
}

/* One fixed-width column (es bytes a value) in output order, reading source
 * s's values at base[s]. */
static int gather_fixed(const build_t *b, const rowref_t *ord, const void *const *base, size_t es, void **out)
{
    size_t n = b->n;
    unsigned char *dst = malloc((n ? n : 1) * es);
    if (!dst)
        return HX_ENOMEM;
    if (es == 8)
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8, (const unsigned char *)base[ord[i].src] + (size_t)ord[i].row * 8, 8);
    else
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4, (const unsigned char *)base[ord[i].src] + (size_t)ord[i].row * 4, 4);
    *out = dst;
    return HX_OK;
}

/* Copies the rows into p's columns in perm order: the row references are
 * put in output order once, and each column reads through an array of its
 * sources' vectors, so the inner loops are one indexed load and a store. */
static int gather(build_t *b, an_part_t *p, const uint32_t *perm)
{
    const hx_an_table_def_t *d = b->t->def;
    size_t n = b->n, ns = b->nsrc ? b->nsrc : 1;
    rowref_t *ord = malloc((n ? n : 1) * sizeof *ord);
    const void **base = malloc(ns * sizeof *base);
    int rc = ord && base ? HX_OK : HX_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++)
        ord[i] = b->rows[perm[i]];
    for (int c = 0; c < d->ncols && !rc; c++) {
        an_vec_t *v = &p->v[c];
        const hx_an_column_def_t *cd = &d->cols[c];
        int lc = cd->type == HX_AN_T_STRING && cd->low_cardinality;
        if (cd->type == HX_AN_T_STRING && !lc) {
            size_t len = 0;
            for (size_t i = 0; i < n; i++) {
                const an_vec_t *sv = b->cols[ord[i].src][c];
                len += sv->off[ord[i].row + 1] - sv->off[ord[i].row];
            }
            if (len > UINT32_MAX) {
                rc = HX_ETOOBIG;
                break;
            }
            if (!(v->off = malloc((n + 1) * sizeof *v->off)) || !(v->str = malloc(len ? len : 1))) {
                rc = HX_ENOMEM;
                break;
            }
            v->off[0] = 0;
            for (size_t i = 0; i < n; i++) {
                const an_vec_t *sv = b->cols[ord[i].src][c];
                uint32_t a = sv->off[ord[i].row], l = sv->off[ord[i].row + 1] - a;
                memcpy(v->str + v->off[i], sv->str + a, l);
                v->off[i + 1] = v->off[i] + l;
            }
        } else {
            for (size_t s = 0; s < b->nsrc; s++)
                base[s] = cd->type == HX_AN_T_FLOAT64 ? (const void *)b->cols[s][c]->f
                          : lc                         ? (const void *)b->cols[s][c]->code
                                                       : (const void *)b->cols[s][c]->i;
            void *out = NULL;
            if ((rc = gather_fixed(b, ord, base, lc ? 4 : 8, &out)))
                break;
            if (cd->type == HX_AN_T_FLOAT64)
                v->f = out;
            else if (lc)
                v->code = out;
            else
                v->i = out;
        }
        p->bytes_mem += an_vec_bytes(cd, v, n);
    }
    free(ord);
    free(base);
    return rc;
}

/* Statistics in local codes for LC columns (what the files and pruning use). */
static int local_stats(build_t *b, an_part_t *p)
{
    const hx_an_table_def_t *d = b->t->def;
    uint32_t *saved[HX_AN_MAX_COLS] = {0};
    int rc = HX_OK;
    for (int c = 0; c < d->ncols && !rc; c++) {
        if (!b->lmap[c])
            continue;
        uint32_t *loc = malloc((p->rows ? p->rows : 1) * sizeof *loc);
        if (!loc) {
            rc = HX_ENOMEM;
            break;
        }
        for (size_t i = 0; i < p->rows; i++)
            loc[i] = b->lmap[c][p->v[c].code[i]];
        saved[c] = p->v[c].code;
        p->v[c].code = loc;
    }
    if (!rc)
        rc = an_part_compute_stats(p, 1);
    for (int c = 0; c < d->ncols; c++)
        if (saved[c]) {
            free(p->v[c].code);
            p->v[c].code = saved[c];
        }
    return rc;
}

int an_part_sort(an_part_t *p)
{
    an_table_t *t = p->tab;
    const hx_an_table_def_t *d = t->def;
    const an_vec_t *(*cols)[HX_AN_MAX_COLS] = calloc(1, sizeof *cols);
    build_t b = {.t = t, .cols = cols, .src = &p, .nsrc = 1, .n = p->rows, .run = NULL};
    an_pdict_t pd[HX_AN_MAX_COLS];
    memset(pd, 0, sizeof pd);
    uint32_t *perm = NULL;
    int rc = cols ? HX_OK : HX_ENOMEM;
    if (!rc && !(b.rows = malloc((p->rows ? p->rows : 1) * sizeof *b.rows)))
        rc = HX_ENOMEM;
    for (int c = 0; !rc && c < d->ncols; c++)
        cols[0][c] = &p->v[c];
    for (size_t r = 0; !rc && r < p->rows; r++)
        b.rows[r] = (rowref_t){0, (uint32_t)r};
    for (int k = 0; !rc && k < d->norder; k++) {
        int c = d->order_by[k];
        if (d->cols[c].type == HX_AN_T_STRING && d->cols[c].low_cardinality)
            rc = local_dict(&b, &pd[c], c);
    }
    if (!rc)
        rc = sort_rows(&b, &perm);
    an_part_t tmp = *p;
    memset(tmp.v, 0, sizeof tmp.v);
    if (!rc)
        rc = gather(&b, &tmp, perm);
    if (!rc) {
        for (int c = 0; c < d->ncols; c++) {
            an_vec_free(&p->v[c]);
            p->v[c] = tmp.v[c];
        }
        p->sorted = 1;
    } else {
        for (int c = 0; c < d->ncols; c++)
            an_vec_free(&tmp.v[c]);
    }
    for (int c = 0; c < HX_AN_MAX_COLS; c++) {
        free(pd[c].to_store);
        free(pd[c].s);
        free(pd[c].len);
        free(b.lmap[c]);
    }
    free(perm);
    free(b.rows);
    free(cols);
    return rc;
}

/* Writes p (columns in p->v) and hands its columns to the cache. */
int an_part_write_built(an_part_t *p, uint32_t *const *lmap, const an_rollup_t *rollup, hx_err_t *err);

int an_part_build(an_table_t *t, an_part_t *const *src, size_t nsrc, int64_t partition, int64_t cutoff, int level,
                  an_part_t **out, hx_err_t *err)
{
    const hx_an_table_def_t *d = t->def;
    build_t b = {.t = t, .src = src, .nsrc = nsrc};
    an_part_t *p = NULL;
    uint32_t *perm = NULL;
    an_rollup_t ru = {0};
    int rc = HX_OK;
    *out = NULL;
    b.cols = calloc(nsrc ? nsrc : 1, sizeof *b.cols);
    if (!b.cols) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory building a part");
        goto cleanup;
    }
    size_t total = 0;
    for (size_t s = 0; s < nsrc; s++) {
        for (int c = 0; c < d->ncols && !rc; c++)
            rc = an_part_column(src[s], c, &b.cols[s][c], err);
        if (rc)
            goto cleanup;
        total += src[s]->rows;
    }
    if (total > UINT32_MAX) {
        rc = hx_err_set(err, HX_ETOOBIG, "a part holds at most 4294967295 rows");
        goto cleanup;
    }
    if (!(b.rows = malloc((total ? total : 1) * sizeof *b.rows))) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory building a part of %zu rows", total);
        goto cleanup;
    }
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (partition >= 0)
        partition_bounds(partition, &lo, &hi);
    if (cutoff > lo)
        lo = cutoff;
    if (!(b.run = malloc((nsrc + 1) * sizeof *b.run))) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory building a part");
        goto cleanup;
    }
    b.sorted_runs = 1;
    for (size_t s = 0; s < nsrc; s++) {
        const int64_t *ts = b.cols[s][HX_AN_COL_TIMESTAMP]->i;
        b.run[s] = b.n;
        b.sorted_runs &= src[s]->sorted;
        for (size_t r = 0; r < src[s]->rows; r++)
            if (ts[r] >= lo && ts[r] < hi)
                b.rows[b.n++] = (rowref_t){(uint32_t)s, (uint32_t)r};
    }
    b.run[nsrc] = b.n;
    if (!b.n)
        goto cleanup;
    if (!(p = an_part_new(t))) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory building a part");
        goto cleanup;
    }
    p->rows = b.n;
    p->level = level;
    p->partition = partition;
    p->sorted = 1;
    for (int c = 0; c < d->ncols && !rc; c++)
        if (d->cols[c].type == HX_AN_T_STRING && d->cols[c].low_cardinality)
            rc = local_dict(&b, &p->pd[c], c);
    if (!rc)
        rc = sort_rows(&b, &perm);
    if (!rc)
        rc = gather(&b, p, perm);
    if (!rc)
        rc = local_stats(&b, p);
    if (!rc && t->rollup) {
        rc = an_rollup_init(&ru, t->rollup->def);
        if (!rc)
            rc = an_rollup_add_rows(&ru, p->v, 0, p->rows);
    }
    if (rc) {
        rc = hx_err_set(err, rc, rc == HX_ETOOBIG ? "a part's strings exceed 4 GiB" : "out of memory building a part "
                                                                                     "of %zu rows",
                        b.n);
        goto cleanup;
    }
    p->id = __atomic_fetch_add(&t->st->next_id, 1, __ATOMIC_RELAXED);
    snprintf(p->name, sizeof p->name, "%06lld_%llu_%d", (long long)partition, (unsigned long long)p->id, level);
    rc = an_part_write_built(p, b.lmap, t->rollup ? &ru : NULL, err);
    if (!rc && t->rollup) {
        /* Kept for the commit, which adds it to the table's rollup when the
         * rows are new to the store (ingest). */
        if (!(p->pending_rollup = malloc(sizeof *p->pending_rollup)))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory building a part");
        else {
            *p->pending_rollup = ru;
            memset(&ru, 0, sizeof ru);
        }
    }
cleanup:
    an_rollup_free(&ru);
    free(perm);
    build_free(&b);
    if (rc) {
        an_part_unref(p);
        return rc;
    }
    *out = p;
    return HX_OK;
}
