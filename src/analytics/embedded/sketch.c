/* DDSketch with dense bucket stores. gamma = (1 + a) / (1 - a); bucket i
 * holds |x| in (gamma^(i-1), gamma^i] and reports 2 gamma^i / (gamma + 1),
 * within a relative error a of every value in it. Stores stay tight (their
 * range is the span of indices seen), so a merge is one pass of adds the
 * compiler vectorises. */
#include "analytics/embedded/sketch.h"
#include "helix/hx_analytics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA ((1.0 + HX_AN_QUANTILE_REL_ERROR) / (1.0 - HX_AN_QUANTILE_REL_ERROR))
#define MIN_ABS 1e-9
#define MAX_INDEX 40000
/* 1 / ln(gamma) for the 1% error; checked against log() by the unit test. */
#define INV_LOG_GAMMA 49.99833328888678

int32_t an_sketch_index(double a)
{
    double i = ceil(log(a) * INV_LOG_GAMMA);
    if (i > MAX_INDEX)
        return MAX_INDEX;
    if (i < -MAX_INDEX)
        return -MAX_INDEX;
    return (int32_t)i;
}

static double bucket_value(int32_t i)
{
    return 2.0 * pow(GAMMA, i) / (GAMMA + 1.0);
}

/* ---- stores (es = 4 for sketches, 8 for accumulators) -------------------- */

/* Makes [i, i + len) part of the store's range. */
static int cover(an_bstore_t *st, int32_t i, uint32_t len, size_t es)
{
    if (st->n == 0) {
        if (st->cap < len) {
            /* A store started by one value grows to the spread of the next
             * few (typically tens of buckets): room for that now saves the
             * reallocs, which cost more than the adds. */
            uint32_t cap = len < 64 ? 64 : len;
            void *c = realloc(st->counts, cap * es);
            if (!c)
                return -1;
            st->counts = c;
            st->cap = cap;
        }
        st->lo = i;
        st->n = len;
        memset(st->counts, 0, len * es);
        return 0;
    }
    int64_t lo = st->lo < i ? st->lo : i;
    int64_t hi = (int64_t)st->lo + st->n > (int64_t)i + len ? (int64_t)st->lo + st->n : (int64_t)i + len;
    uint32_t n = (uint32_t)(hi - lo);
    if (lo == st->lo && n == st->n)
        return 0;
    if (n > st->cap) {
        /* Room on both sides, so a growing range does not move every time. */
        uint32_t cap = st->cap * 2 > n + 16 ? st->cap * 2 : n + 16;
        void *c = realloc(st->counts, cap * es);
        if (!c)
            return -1;
        st->counts = c;
        st->cap = cap;
    }
    char *base = st->counts;
    if (lo < st->lo) {
        size_t shift = (size_t)(st->lo - lo);
        memmove(base + shift * es, base, st->n * es);
        memset(base, 0, shift * es);
    }
    size_t used = (size_t)((int64_t)st->lo + st->n - lo);
    if (n > used)
        memset(base + used * es, 0, (n - used) * es);
    st->lo = (int32_t)lo;
    st->n = n;
    return 0;
}

static int add_one(an_bstore_t *st, int32_t i, uint64_t n, size_t es)
{
    if (st->n == 0 || i < st->lo || i >= st->lo + (int32_t)st->n)
        if (cover(st, i, 1, es))
            return -1;
    if (es == 4)
        ((uint32_t *)st->counts)[i - st->lo] += (uint32_t)n;
    else
        ((uint64_t *)st->counts)[i - st->lo] += n;
    return 0;
}

static int add_value(an_sketch_t *s, double v, uint64_t n, size_t es)
{
    if (v != v || !n)
        return 0;
    double a = fabs(v);
    if (a < MIN_ABS) {
        s->zeros += n;
        s->count += n;
        return 0;
    }
    if (add_one(v > 0 ? &s->pos : &s->neg, an_sketch_index(a), n, es))
        return HX_ENOMEM;
    s->count += n;
    return 0;
}

static void add32(uint32_t *restrict d, const uint32_t *restrict s, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        d[k] += s[k];
}

static void add64(uint64_t *restrict d, const uint32_t *restrict s, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        d[k] += s[k];
}

static int merge_store(an_bstore_t *d, size_t des, const an_bstore_t *src)
{
    if (!src->n)
        return 0;
    if (cover(d, src->lo, src->n, des))
        return -1;
    uint32_t off = (uint32_t)(src->lo - d->lo);
    if (des == 4)
        add32((uint32_t *)d->counts + off, src->counts, src->n);
    else
        add64((uint64_t *)d->counts + off, src->counts, src->n);
    return 0;
}

/* Bucket k of the ascending value order: negatives (largest magnitude
 * first), then the zero bucket (k == nneg), then positives. */
#define QWALK(T)                                                                                                 \
    do {                                                                                                         \
        const T *nc = s->neg.counts, *pc = s->pos.counts;                                                        \
        int64_t nneg = s->neg.n;                                                                                 \
        if (rank <= s->count / 2) {                                                                              \
            uint64_t seen = 0;                                                                                   \
            for (int64_t k = nneg - 1; k >= 0; k--)                                                              \
                if ((seen += nc[k]) > rank)                                                                      \
                    return -bucket_value(s->neg.lo + (int32_t)k);                                                \
            if ((seen += s->zeros) > rank)                                                                       \
                return 0;                                                                                        \
            for (uint32_t k = 0; k < s->pos.n; k++)                                                              \
                if ((seen += pc[k]) > rank)                                                                      \
                    return bucket_value(s->pos.lo + (int32_t)k);                                                 \
        } else { /* high quantiles: count from the top */                                                        \
            uint64_t above = s->count - 1 - rank, seen = 0;                                                      \
            for (int64_t k = (int64_t)s->pos.n - 1; k >= 0; k--)                                                 \
                if ((seen += pc[k]) > above)                                                                     \
                    return bucket_value(s->pos.lo + (int32_t)k);                                                 \
            if ((seen += s->zeros) > above)                                                                      \
                return 0;                                                                                        \
            for (int64_t k = 0; k < nneg; k++)                                                                   \
                if ((seen += nc[k]) > above)                                                                     \
                    return -bucket_value(s->neg.lo + (int32_t)k);                                                \
        }                                                                                                        \
    } while (0)

static double quantile(const an_sketch_t *s, double q, size_t es)
{
    if (!s->count)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)floor(q * (double)(s->count - 1));
    if (es == 4)
        QWALK(uint32_t);
    else
        QWALK(uint64_t);
    return 0;
}

/* ---- sketches ------------------------------------------------------------ */

void an_sketch_init(an_sketch_t *s)
{
    memset(s, 0, sizeof *s);
}

void an_sketch_free(an_sketch_t *s)
{
    free(s->pos.counts);
    free(s->neg.counts);
    memset(s, 0, sizeof *s);
}

void an_sketch_clear(an_sketch_t *s)
{
    s->count = s->zeros = 0;
    s->pos.n = s->neg.n = 0;
}

int an_sketch_add_n(an_sketch_t *s, double v, uint64_t n)
{
    return add_value(s, v, n, 4);
}

int an_sketch_add(an_sketch_t *s, double v)
{
    return add_value(s, v, 1, 4);
}

int an_sketch_merge(an_sketch_t *d, const an_sketch_t *s)
{
    if (merge_store(&d->pos, 4, &s->pos) || merge_store(&d->neg, 4, &s->neg))
        return HX_ENOMEM;
    d->zeros += s->zeros;
    d->count += s->count;
    return 0;
}

double an_sketch_quantile(const an_sketch_t *s, double q)
{
    return quantile(s, q, 4);
}

size_t an_sketch_bytes(const an_sketch_t *s)
{
    return sizeof *s + (s->pos.cap + s->neg.cap) * sizeof(uint32_t);
}

static unsigned char *put_uv(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* The same varints hx_buf_put_uvarint writes, into room reserved once:
 * a rollup part holds one sketch per entry, each with up to hundreds of
 * (mostly zero) bucket counts. */
static int store_encode(const an_bstore_t *st, hx_buf_t *out)
{
    const uint32_t *c = st->counts;
    uint32_t a = 0, b = st->n;
    while (a < b && !c[a])
        a++;
    while (b > a && !c[b - 1])
        b--;
    if (hx_buf_reserve(out, 20 + (size_t)(b - a) * 5))
        return HX_ENOMEM;
    int64_t lo = b > a ? st->lo + (int32_t)a : 0;
    unsigned char *p = out->data + out->len;
    p = put_uv(p, ((uint64_t)lo << 1) ^ (uint64_t)(lo >> 63));
    p = put_uv(p, b - a);
    for (uint32_t k = a; k < b; k++) {
        if (c[k] < 0x80)
            *p++ = (unsigned char)c[k];
        else
            p = put_uv(p, c[k]);
    }
    out->len = (size_t)(p - out->data);
    return HX_OK;
}

int an_sketch_encode(const an_sketch_t *s, hx_buf_t *out)
{
    int rc = hx_buf_put_uvarint(out, s->zeros);
    rc = rc ? rc : store_encode(&s->pos, out);
    return rc ? rc : store_encode(&s->neg, out);
}

static int store_decode(an_bstore_t *st, hx_rd_t *r, uint64_t *total)
{
    int64_t lo;
    uint64_t n;
    if (hx_rd_svarint(r, &lo) || hx_rd_uvarint(r, &n) || n > 2 * MAX_INDEX + 1 || lo < -MAX_INDEX ||
        lo + (int64_t)n > MAX_INDEX + 1)
        return HX_ECORRUPT;
    if (!n)
        return 0;
    if (cover(st, (int32_t)lo, (uint32_t)n, 4))
        return HX_ENOMEM;
    uint32_t *c = st->counts;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t v;
        if (hx_rd_uvarint(r, &v) || v > UINT32_MAX)
            return HX_ECORRUPT;
        c[lo - st->lo + (int64_t)k] += (uint32_t)v;
        *total += v;
    }
    return 0;
}

int an_sketch_decode(an_sketch_t *s, hx_rd_t *r)
{
    uint64_t z, total = 0;
    if (hx_rd_uvarint(r, &z))
        return HX_ECORRUPT;
    int rc = store_decode(&s->pos, r, &total);
    rc = rc ? rc : store_decode(&s->neg, r, &total);
    if (rc)
        return rc;
    s->zeros += z;
    s->count += z + total;
    return 0;
}

/* ---- query accumulators -------------------------------------------------- */

void an_qacc_init(an_qacc_t *a)
{
    memset(a, 0, sizeof *a);
}

void an_qacc_free(an_qacc_t *a)
{
    an_sketch_free(a);
}

int an_qacc_add(an_qacc_t *a, double v)
{
    return add_value(a, v, 1, 8);
}

int an_qacc_merge(an_qacc_t *a, const an_sketch_t *s)
{
    if (merge_store(&a->pos, 8, &s->pos) || merge_store(&a->neg, 8, &s->neg))
        return HX_ENOMEM;
    a->zeros += s->zeros;
    a->count += s->count;
    return 0;
}

double an_qacc_quantile(const an_qacc_t *a, double q)
{
    return quantile(a, q, 8);
}
