/* Column buffering for the writer: values, dictionary, statistics. */
#include "lake/parquet/wcol.h"

#include "helix/hx_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int phys_of[] = {PT_BOOLEAN, PT_INT32, PT_INT64, PT_DOUBLE, PT_BYTE_ARRAY, PT_INT64};

int pq_wcol_init(pq_wcol_t *c, const hx_pq_column_t *def, int dictionary)
{
    memset(c, 0, sizeof *c);
    c->def = *def;
    c->def.name = strdup(def->name);
    if (!c->def.name)
        return HX_ENOMEM;
    c->phys = phys_of[def->type];
    c->dict_on = dictionary && def->type != HX_PQ_BOOL;
    return HX_OK;
}

void pq_wcol_free(pq_wcol_t *c)
{
    free((char *)c->def.name);
    free(c->defs);
    free(c->i64);
    free(c->f64);
    free(c->soff);
    hx_buf_free(&c->sdata);
    free(c->idx);
    free(c->slots);
    free(c->dict_i);
    free(c->dict_off);
    free(c->dict_len);
    memset(c, 0, sizeof *c);
}

void pq_wcol_reset(pq_wcol_t *c, int dictionary)
{
    c->rows = c->nvals = 0;
    hx_buf_reset(&c->sdata);
    c->dict_on = dictionary && c->def.type != HX_PQ_BOOL;
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof *c->slots);
    c->ndict = 0;
    c->dict_bytes = 0;
    c->has_mm = 0;
    c->nulls = 0;
    c->raw_bytes = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return HX_OK;
    size_t nc = *cap ? *cap * 2 : 1024;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return HX_ENOMEM;
    *p = q;
    *cap = nc;
    return HX_OK;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int dict_rehash(pq_wcol_t *c)
{
    size_t ns = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *s = calloc(ns, sizeof *s);
    if (!s)
        return HX_ENOMEM;
    for (size_t k = 0; k < c->ndict; k++) {
        uint64_t h = c->def.type == HX_PQ_STRING ? hx_hash64(c->sdata.data + c->dict_off[k], c->dict_len[k])
                                                 : mix64((uint64_t)c->dict_i[k]);
        size_t j = (size_t)h & (ns - 1);
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = (uint32_t)k + 1;
    }
    free(c->slots);
    c->slots = s;
    c->nslots = ns;
    return HX_OK;
}

/* Finds or adds the value (bits for fixed types, or string value `vi`);
 * returns its entry, or -1 when the dictionary was abandoned. */
static int64_t dict_put(pq_wcol_t *c, int64_t bits, size_t vi, size_t limit)
{
    int is_str = c->def.type == HX_PQ_STRING;
    const unsigned char *sp = NULL;
    size_t sn = 0;
    uint64_t h;
    if (is_str) {
        sp = c->sdata.data + c->soff[vi];
        sn = (size_t)(c->soff[vi + 1] - c->soff[vi]);
        h = hx_hash64(sp, sn);
    } else {
        h = mix64((uint64_t)bits);
    }
    if ((c->ndict + 1) * 2 > c->nslots && dict_rehash(c))
        return -1;
    size_t j = (size_t)h & (c->nslots - 1);
    while (c->slots[j]) {
        size_t k = c->slots[j] - 1;
        if (is_str ? (c->dict_len[k] == sn && memcmp(c->sdata.data + c->dict_off[k], sp, sn) == 0)
                   : c->dict_i[k] == bits)
            return (int64_t)k;
        j = (j + 1) & (c->nslots - 1);
    }
    size_t add = is_str ? sn + 4 : (c->phys == PT_INT32 ? 4 : 8);
    if (c->dict_bytes + add > limit)
        return -1;
    if (grow((void **)&c->dict_i, &c->dict_cap, c->ndict + 1, sizeof *c->dict_i))
        return -1;
    if (is_str) {
        /* dict_off/dict_len grow in step with dict_i's capacity. */
        uint64_t *o = realloc(c->dict_off, c->dict_cap * sizeof *o);
        if (!o)
            return -1;
        c->dict_off = o;
        uint32_t *l = realloc(c->dict_len, c->dict_cap * sizeof *l);
        if (!l)
            return -1;
        c->dict_len = l;
        c->dict_off[c->ndict] = c->soff[vi];
        c->dict_len[c->ndict] = (uint32_t)sn;
    }
    c->dict_i[c->ndict] = bits;
    c->slots[j] = (uint32_t)c->ndict + 1;
    c->dict_bytes += add;
    return (int64_t)c->ndict++;
}

static int str_less(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r < 0 || (r == 0 && an < bn);
}

/* String min/max over plain values; dictionary columns take theirs from
 * the dictionary when the chunk is written, which is far cheaper. */
static void track_str(pq_wcol_t *c, size_t k)
{
    uint64_t off = c->soff[k];
    uint32_t n = (uint32_t)(c->soff[k + 1] - off);
    const unsigned char *p = c->sdata.data + off;
    if (!c->has_mm) {
        c->smin_off = c->smax_off = off;
        c->smin_n = c->smax_n = n;
        c->has_mm = 1;
        return;
    }
    if (str_less(p, n, c->sdata.data + c->smin_off, c->smin_n)) {
        c->smin_off = off;
        c->smin_n = n;
    }
    if (str_less(c->sdata.data + c->smax_off, c->smax_n, p, n)) {
        c->smax_off = off;
        c->smax_n = n;
    }
}

/* The dictionary is built when the chunk is written, one column at a time:
 * its hash table stays in cache, where building it row by row across every
 * column's table did not (it was most of the write profile). */
int pq_wcol_build_dict(pq_wcol_t *c, size_t limit)
{
    int is_str = c->def.type == HX_PQ_STRING;
    if (c->dict_on && c->nvals) {
        if (grow((void **)&c->idx, &c->cap_idx, c->nvals, sizeof *c->idx))
            return HX_ENOMEM;
        for (size_t k = 0; k < c->nvals; k++) {
            /* Mostly-distinct columns (ids, times) gain nothing from a
             * dictionary: give up early. */
            if (k == 16384 && c->ndict * 2 > k) {
                c->dict_on = 0;
                break;
            }
            int64_t bits = 0;
            if (c->def.type == HX_PQ_DOUBLE)
                memcpy(&bits, &c->f64[k], 8);
            else if (!is_str)
                bits = c->i64[k];
            int64_t e = dict_put(c, bits, k, limit);
            if (e < 0) {
                c->dict_on = 0;
                break;
            }
            c->idx[k] = (uint32_t)e;
        }
    }
    if (!c->nvals)
        c->dict_on = 0;
    /* Keep the dictionary only where it is smaller than the plain values:
     * a mostly-distinct column of a small chunk (ids, times) never is. */
    if (c->dict_on) {
        size_t bw = (size_t)pq_bit_width((uint32_t)(c->ndict ? c->ndict - 1 : 0));
        size_t plain = is_str ? c->raw_bytes : c->nvals * (c->phys == PT_INT32 ? 4 : 8);
        if (c->dict_bytes + c->nvals * bw / 8 >= plain - plain / 8)
            c->dict_on = 0;
    }
    /* Plain string columns take min/max from every value. */
    for (size_t k = 0; is_str && !c->dict_on && k < c->nvals; k++)
        track_str(c, k);
    return HX_OK;
}

int pq_wcol_add(pq_wcol_t *c, const hx_pq_value_t *v, size_t dict_limit, hx_err_t *err)
{
    (void)dict_limit;
    if (v->is_null && !c->def.optional)
        return hx_err_set(err, HX_EINVAL, "column '%s' is required and got a null", c->def.name);
    /* UTF-8 and INT32 range were checked by the writer for the whole row. */
    if (!v->is_null && c->def.type == HX_PQ_STRING && v->v.str.n > UINT32_MAX)
        return hx_err_set(err, HX_ETOOBIG, "column '%s': a string of %zu bytes is over 4 GiB", c->def.name,
                          v->v.str.n);
    if (c->def.optional) {
        if (grow((void **)&c->defs, &c->cap_rows, c->rows + 1, 1))
            return hx_err_set(err, HX_ENOMEM, "out of memory buffering column '%s'", c->def.name);
        c->defs[c->rows] = !v->is_null;
    }
    c->rows++;
    if (v->is_null) {
        c->nulls++;
        return HX_OK;
    }
    size_t k = c->nvals;
    int rc = HX_OK;
    int64_t bits = 0;
    switch (c->def.type) {
    case HX_PQ_DOUBLE: {
        if ((rc = grow((void **)&c->f64, &c->cap_vals, k + 1, sizeof *c->f64)))
            break;
        double d = v->v.d;
        c->f64[k] = d;
        memcpy(&bits, &d, 8);
        c->raw_bytes += 8;
        if (!isnan(d)) {
            if (!c->has_mm) { c->dmin = c->dmax = d; c->has_mm = 1; }
            else { if (d < c->dmin) c->dmin = d; if (d > c->dmax) c->dmax = d; }
        }
        break;
    }
    case HX_PQ_STRING:
        if ((rc = grow((void **)&c->soff, &c->cap_vals, k + 2, sizeof *c->soff)))
            break;
        if (k == 0)
            c->soff[0] = c->sdata.len;
        if ((rc = hx_buf_append(&c->sdata, v->v.str.s, v->v.str.n)))
            break;
        c->soff[k + 1] = c->sdata.len;
        c->raw_bytes += v->v.str.n + 4;
        break;
    default:
        if ((rc = grow((void **)&c->i64, &c->cap_vals, k + 1, sizeof *c->i64)))
            break;
        bits = c->def.type == HX_PQ_BOOL ? (v->v.i != 0) : v->v.i;
        c->i64[k] = bits;
        c->raw_bytes += c->def.type == HX_PQ_BOOL ? 1 : (c->phys == PT_INT32 ? 4 : 8);
        if (!c->has_mm) { c->imin = c->imax = bits; c->has_mm = 1; }
        else { if (bits < c->imin) c->imin = bits; if (bits > c->imax) c->imax = bits; }
    }
    if (rc)
        return hx_err_set(err, HX_ENOMEM, "out of memory buffering column '%s'", c->def.name);
    c->nvals++;
    return HX_OK;
}

/* Longest prefix of at most PQ_STAT_MAX bytes ending on a UTF-8 boundary. */
static size_t utf8_cut(const unsigned char *s, size_t n)
{
    if (n <= PQ_STAT_MAX)
        return n;
    size_t k = PQ_STAT_MAX;
    while (k > 0 && (s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

void pq_wcol_stats(const pq_wcol_t *c, pq_chunk_t *ch)
{
    ch->null_count = c->nulls;
    ch->has_nulls = 1;
    ch->has_min = ch->has_max = 0;
    uint64_t smin_off = c->smin_off, smax_off = c->smax_off;
    uint32_t smin_n = c->smin_n, smax_n = c->smax_n;
    int has_mm = c->has_mm;
    if (c->def.type == HX_PQ_STRING && c->dict_on) {
        has_mm = c->ndict > 0;
        for (size_t k = 0; k < c->ndict; k++) {
            const unsigned char *p = c->sdata.data + c->dict_off[k];
            if (k == 0 || str_less(p, c->dict_len[k], c->sdata.data + smin_off, smin_n)) {
                smin_off = c->dict_off[k];
                smin_n = c->dict_len[k];
            }
            if (k == 0 || str_less(c->sdata.data + smax_off, smax_n, p, c->dict_len[k])) {
                smax_off = c->dict_off[k];
                smax_n = c->dict_len[k];
            }
        }
    }
    if (!has_mm)
        return;
    switch (c->def.type) {
    case HX_PQ_DOUBLE:
        memcpy(ch->minb, &c->dmin, 8);
        memcpy(ch->maxb, &c->dmax, 8);
        ch->min_n = ch->max_n = 8;
        break;
    case HX_PQ_STRING: {
        const unsigned char *mn = c->sdata.data + smin_off, *mx = c->sdata.data + smax_off;
        size_t mn_n = smin_n, mx_n = smax_n;
        ch->min_n = utf8_cut(mn, mn_n);
        memcpy(ch->minb, mn, ch->min_n);
        ch->has_min = 1;
        size_t k = utf8_cut(mx, mx_n);
        if (k < mx_n) {
            /* A truncated max must still be an upper bound: bump its last
             * byte, which is only safe (and valid UTF-8) for ASCII below DEL. */
            if (k == 0 || mx[k - 1] >= 0x7E)
                return;
            memcpy(ch->maxb, mx, k);
            ch->maxb[k - 1]++;
        } else {
            memcpy(ch->maxb, mx, k);
        }
        ch->max_n = k;
        ch->has_max = 1;
        return;
    }
    case HX_PQ_INT32:
    case HX_PQ_BOOL: {
        if (c->def.type == HX_PQ_BOOL) {
            ch->minb[0] = (unsigned char)c->imin;
            ch->maxb[0] = (unsigned char)c->imax;
            ch->min_n = ch->max_n = 1;
        } else {
            hx_store_u32le(ch->minb, (uint32_t)(int32_t)c->imin);
            hx_store_u32le(ch->maxb, (uint32_t)(int32_t)c->imax);
            ch->min_n = ch->max_n = 4;
        }
        break;
    }
    default:
        hx_store_u64le(ch->minb, (uint64_t)c->imin);
        hx_store_u64le(ch->maxb, (uint64_t)c->imax);
        ch->min_n = ch->max_n = 8;
    }
    ch->has_min = ch->has_max = 1;
}
