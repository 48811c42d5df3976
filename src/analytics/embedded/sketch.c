/* DDSketch with dense bucket stores. gamma = (1 + a) / (1 - a); bucket i
 * holds |x| in (gamma^(i-1), gamma^i] and reports 2 gamma^i / (gamma + 1),
 * within a relative error a of every value in it. */
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

/* Makes [i, i + len) part of the store's range. */
static int store_cover(an_bstore_t *st, int32_t i, uint32_t len)
{
    if (st->n == 0) {
        if (st->cap < len) {
            uint32_t cap = len < 32 ? 32 : len;
            uint64_t *c = realloc(st->counts, cap * sizeof *c);
            if (!c)
                return -1;
            st->counts = c;
            st->cap = cap;
        }
        st->lo = i;
        st->n = len;
        memset(st->counts, 0, len * sizeof *st->counts);
        return 0;
    }
    int64_t lo = st->lo < i ? st->lo : i;
    int64_t hi = (int64_t)st->lo + st->n > (int64_t)i + len ? (int64_t)st->lo + st->n : (int64_t)i + len;
    uint32_t n = (uint32_t)(hi - lo);
    if (n > st->cap) {
        uint32_t cap = st->cap * 2 > n ? st->cap * 2 : n;
        uint64_t *c = realloc(st->counts, cap * sizeof *c);
        if (!c)
            return -1;
        st->counts = c;
        st->cap = cap;
    }
    if (lo < st->lo) {
        uint32_t shift = (uint32_t)(st->lo - lo);
        memmove(st->counts + shift, st->counts, st->n * sizeof *st->counts);
        memset(st->counts, 0, shift * sizeof *st->counts);
    }
    uint32_t used = (uint32_t)((int64_t)st->lo + st->n - lo);
    if (n > used)
        memset(st->counts + used, 0, (n - used) * sizeof *st->counts);
    st->lo = (int32_t)lo;
    st->n = n;
    return 0;
}

int an_sketch_add_n(an_sketch_t *s, double v, uint64_t n)
{
    if (v != v || !n)
        return 0;
    double a = fabs(v);
    if (a < MIN_ABS) {
        s->zeros += n;
        s->count += n;
        return 0;
    }
    an_bstore_t *st = v > 0 ? &s->pos : &s->neg;
    int32_t i = an_sketch_index(a);
    if (st->n == 0 || i < st->lo || i >= st->lo + (int32_t)st->n)
        if (store_cover(st, i, 1))
            return HX_ENOMEM;
    st->counts[i - st->lo] += n;
    s->count += n;
    return 0;
}

int an_sketch_add(an_sketch_t *s, double v)
{
    return an_sketch_add_n(s, v, 1);
}

static int store_merge(an_bstore_t *d, const an_bstore_t *src)
{
    if (!src->n)
        return 0;
    /* Trim zero edges of src so merged ranges stay tight. */
    uint32_t a = 0, b = src->n;
    while (a < b && !src->counts[a])
        a++;
    while (b > a && !src->counts[b - 1])
        b--;
    if (a == b)
        return 0;
    if (store_cover(d, src->lo + (int32_t)a, b - a))
        return -1;
    uint64_t *dc = d->counts + (src->lo + (int32_t)a - d->lo);
    const uint64_t *sc = src->counts + a;
    for (uint32_t k = 0; k < b - a; k++)
        dc[k] += sc[k];
    return 0;
}

int an_sketch_merge(an_sketch_t *d, const an_sketch_t *s)
{
    if (store_merge(&d->pos, &s->pos) || store_merge(&d->neg, &s->neg))
        return HX_ENOMEM;
    d->zeros += s->zeros;
    d->count += s->count;
    return 0;
}

double an_sketch_quantile(const an_sketch_t *s, double q)
{
    if (!s->count)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)floor(q * (double)(s->count - 1));
    uint64_t seen = 0;
    /* Ascending values: most negative first (highest neg index), zeros, positives. */
    for (int64_t k = (int64_t)s->neg.n - 1; k >= 0; k--) {
        seen += s->neg.counts[k];
        if (seen > rank)
            return -bucket_value(s->neg.lo + (int32_t)k);
    }
    seen += s->zeros;
    if (seen > rank)
        return 0;
    for (uint32_t k = 0; k < s->pos.n; k++) {
        seen += s->pos.counts[k];
        if (seen > rank)
            return bucket_value(s->pos.lo + (int32_t)k);
    }
    return s->pos.n ? bucket_value(s->pos.lo + (int32_t)s->pos.n - 1) : 0;
}

size_t an_sketch_bytes(const an_sketch_t *s)
{
    return sizeof *s + (s->pos.cap + s->neg.cap) * sizeof(uint64_t);
}

static int store_encode(const an_bstore_t *st, hx_buf_t *out)
{
    uint32_t a = 0, b = st->n;
    while (a < b && !st->counts[a])
        a++;
    while (b > a && !st->counts[b - 1])
        b--;
    int rc = hx_buf_put_svarint(out, b > a ? st->lo + (int32_t)a : 0);
    rc = rc ? rc : hx_buf_put_uvarint(out, b - a);
    for (uint32_t k = a; k < b && !rc; k++)
        rc = hx_buf_put_uvarint(out, st->counts[k]);
    return rc;
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
    if (store_cover(st, (int32_t)lo, (uint32_t)n))
        return HX_ENOMEM;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t c;
        if (hx_rd_uvarint(r, &c))
            return HX_ECORRUPT;
        st->counts[lo - st->lo + (int64_t)k] += c;
        *total += c;
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
