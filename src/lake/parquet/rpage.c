/* Page decoding: walks a column chunk's pages (dictionary, data v1 and v2),
 * decompresses them and decodes levels and values into a column vector.
 * Every length and count from the file is checked before it is used. */
#include "lake/parquet/rd_int.h"

#include <stdlib.h>
#include <string.h>

#define PQ_MAX_RG_ROWS (1u << 24)

typedef struct sval {
    const unsigned char *p;
    uint32_t n;
} sval_t;

typedef struct dec {
    const hx_pq_colinfo_t *ci;
    int phys;
    size_t width;                /* fixed byte width of INT96/FIXED values */
    size_t ndict;
    int64_t *di;
    double *dd;
    sval_t *ds;
    unsigned char *dict_page;    /* owned: dictionary strings point into it */
    unsigned char *page;         /* scratch: decompressed page */
    size_t page_cap;
    uint32_t *u32;
    size_t u32_cap;
    int64_t *ti;
    double *td;
    sval_t *ts;
    size_t tcap;
    hx_buf_t sbuf;               /* DELTA_BYTE_ARRAY values */
} dec_t;

#define CORRUPT(...) hx_err_set(err, HX_ECORRUPT, __VA_ARGS__)

static int ensure_t(dec_t *d, size_t n)
{
    if (n <= d->tcap)
        return HX_OK;
    size_t nc = n < 1024 ? 1024 : n;
    int64_t *a = realloc(d->ti, nc * sizeof *a);
    if (a) d->ti = a;
    double *b = realloc(d->td, nc * sizeof *b);
    if (b) d->td = b;
    sval_t *c = realloc(d->ts, nc * sizeof *c);
    if (c) d->ts = c;
    if (!a || !b || !c)
        return HX_ENOMEM;
    d->tcap = nc;
    return HX_OK;
}

static uint32_t *ensure_u32(dec_t *d, size_t n)
{
    if (n > d->u32_cap) {
        uint32_t *p = realloc(d->u32, (n ? n : 1) * sizeof *p);
        if (!p)
            return NULL;
        d->u32 = p;
        d->u32_cap = n;
    }
    return d->u32;
}

/* The scratch buffer a page decompresses into, at least n bytes. */
static unsigned char *page_buf(dec_t *d, size_t n)
{
    if (n > d->page_cap || !d->page) {
        unsigned char *np = realloc(d->page, n ? n : 1);
        if (!np)
            return NULL;
        d->page = np;
        d->page_cap = n;
    }
    return d->page;
}

static int is_float(int phys) { return phys == PT_FLOAT || phys == PT_DOUBLE; }
static int is_bytes(int phys) { return phys == PT_BYTE_ARRAY || phys == PT_FIXED || phys == PT_INT96; }

static size_t fixed_width(const dec_t *d)
{
    switch (d->phys) {
    case PT_INT32: case PT_FLOAT: return 4;
    case PT_INT64: case PT_DOUBLE: return 8;
    default: return d->width;
    }
}

static int plain_decode(dec_t *d, const unsigned char *p, size_t len, size_t nv, hx_err_t *err)
{
    if (d->phys == PT_BOOLEAN) {
        if ((nv + 7) / 8 > len)
            return CORRUPT("PLAIN booleans: page too short");
        for (size_t i = 0; i < nv; i++)
            d->ti[i] = (p[i >> 3] >> (i & 7)) & 1;
        return HX_OK;
    }
    if (d->phys == PT_BYTE_ARRAY) {
        size_t pos = 0;
        for (size_t i = 0; i < nv; i++) {
            if (len - pos < 4)
                return CORRUPT("PLAIN strings: page too short");
            uint32_t n = hx_load_u32le(p + pos);
            pos += 4;
            if (n > len - pos)
                return CORRUPT("PLAIN string of %u bytes runs past its page", n);
            d->ts[i].p = p + pos;
            d->ts[i].n = n;
            pos += n;
        }
        return HX_OK;
    }
    size_t w = fixed_width(d);
    if (w == 0 || nv > len / w)
        return CORRUPT("PLAIN values: page holds fewer than %zu values", nv);
    for (size_t i = 0; i < nv; i++, p += w) {
        switch (d->phys) {
        case PT_INT32: d->ti[i] = (int32_t)hx_load_u32le(p); break;
        case PT_INT64: d->ti[i] = (int64_t)hx_load_u64le(p); break;
        case PT_FLOAT: { float f; memcpy(&f, p, 4); d->td[i] = f; break; }
        case PT_DOUBLE: memcpy(&d->td[i], p, 8); break;
        default: d->ts[i].p = p; d->ts[i].n = (uint32_t)w;
        }
    }
    return HX_OK;
}

static uint64_t get_bits(const unsigned char *p, size_t bitpos, int w)
{
    uint64_t v = 0;
    int got = 0, sh = (int)(bitpos & 7);
    size_t byte = bitpos >> 3;
    while (got < w) {
        v |= (uint64_t)(p[byte++] >> sh) << got;
        got += 8 - sh;
        sh = 0;
    }
    return w == 64 ? v : v & ((1ULL << w) - 1);
}

static int64_t rd_zz(const unsigned char *p, size_t len, size_t *pos, int *ok)
{
    uint64_t u = pq_uvar(p, len, pos, ok);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* DELTA_BINARY_PACKED: exactly nv values into out; *used = bytes consumed. */
static int dbp_decode(const unsigned char *p, size_t len, size_t nv, int is32, int64_t *out, size_t *used,
                      hx_err_t *err)
{
    size_t pos = 0;
    int ok = 1;
    uint64_t block = pq_uvar(p, len, &pos, &ok), mbs = pq_uvar(p, len, &pos, &ok);
    uint64_t total = pq_uvar(p, len, &pos, &ok);
    int64_t val = rd_zz(p, len, &pos, &ok);
    if (!ok || block == 0 || block % 128 || mbs == 0 || block % mbs || (block / mbs) % 32 || mbs > 256 ||
        block > (1u << 20))
        return CORRUPT("DELTA_BINARY_PACKED header is corrupt");
    if (total != nv)
        return CORRUPT("DELTA_BINARY_PACKED holds %llu values, the page %zu", (unsigned long long)total, nv);
    size_t per_mb = (size_t)(block / mbs), k = 0;
    if (nv)
        out[k++] = is32 ? (int32_t)val : val;
    while (k < nv) {
        int64_t min_delta = rd_zz(p, len, &pos, &ok);
        if (!ok || mbs > len - pos)
            return CORRUPT("DELTA_BINARY_PACKED block is truncated");
        const unsigned char *bw = p + pos;
        pos += (size_t)mbs;
        for (size_t m = 0; m < mbs && k < nv; m++) {
            int w = bw[m];
            if (w > 64)
                return CORRUPT("DELTA_BINARY_PACKED bit width %d", w);
            size_t bytes = per_mb * (size_t)w / 8;
            if (bytes > len - pos)
                return CORRUPT("DELTA_BINARY_PACKED miniblock is truncated");
            for (size_t j = 0; j < per_mb && k < nv; j++) {
                uint64_t delta = w ? get_bits(p + pos, j * (size_t)w, w) : 0;
                val = (int64_t)((uint64_t)val + (uint64_t)min_delta + delta);
                if (is32)
                    val = (int32_t)(uint32_t)val;
                out[k++] = val;
            }
            pos += bytes;
        }
    }
    *used = pos;
    return HX_OK;
}

static int delta_lengths(dec_t *d, const unsigned char *p, size_t len, size_t nv, size_t *used, hx_err_t *err)
{
    uint32_t *lens = ensure_u32(d, nv);
    int64_t *tmp = malloc((nv ? nv : 1) * sizeof *tmp);
    if (!lens || !tmp) {
        free(tmp);
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
    }
    int rc = dbp_decode(p, len, nv, 1, tmp, used, err);
    for (size_t i = 0; rc == HX_OK && i < nv; i++) {
        if (tmp[i] < 0)
            rc = CORRUPT("negative string length in a delta page");
        lens[i] = (uint32_t)tmp[i];
    }
    free(tmp);
    return rc;
}

static int values_decode(dec_t *d, int enc, const unsigned char *p, size_t len, size_t nv, hx_err_t *err)
{
    if (ensure_t(d, nv))
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
    switch (enc) {
    case ENC_PLAIN:
        return plain_decode(d, p, len, nv, err);
    case ENC_PLAIN_DICT:
    case ENC_RLE_DICT: {
        if (!d->dict_page && d->ndict == 0 && nv > 0)
            return CORRUPT("dictionary-encoded page without a dictionary page");
        if (len < 1 || p[0] > 32)
            return CORRUPT("dictionary index bit width is corrupt");
        uint32_t *ix = ensure_u32(d, nv);
        if (!ix)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
        if (pq_rle_decode(p + 1, len - 1, p[0], ix, nv))
            return CORRUPT("dictionary indices are corrupt");
        for (size_t i = 0; i < nv; i++) {
            if (ix[i] >= d->ndict)
                return CORRUPT("dictionary index %u past the %zu entries", ix[i], d->ndict);
            if (is_float(d->phys)) d->td[i] = d->dd[ix[i]];
            else if (is_bytes(d->phys)) d->ts[i] = d->ds[ix[i]];
            else d->ti[i] = d->di[ix[i]];
        }
        return HX_OK;
    }
    case ENC_RLE: {
        if (d->phys != PT_BOOLEAN)
            return hx_err_set(err, HX_EUNSUPPORTED, "RLE values for a non-boolean column are not supported");
        if (len < 4 || hx_load_u32le(p) > len - 4)
            return CORRUPT("RLE boolean page is corrupt");
        uint32_t *b = ensure_u32(d, nv);
        if (!b)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
        if (pq_rle_decode(p + 4, hx_load_u32le(p), 1, b, nv))
            return CORRUPT("RLE boolean page is corrupt");
        for (size_t i = 0; i < nv; i++)
            d->ti[i] = b[i];
        return HX_OK;
    }
    case ENC_DELTA_BP: {
        if (d->phys != PT_INT32 && d->phys != PT_INT64)
            return CORRUPT("DELTA_BINARY_PACKED on a non-integer column");
        size_t used;
        return dbp_decode(p, len, nv, d->phys == PT_INT32, d->ti, &used, err);
    }
    case ENC_DELTA_LBA: {
        if (d->phys != PT_BYTE_ARRAY)
            return CORRUPT("DELTA_LENGTH_BYTE_ARRAY on a non-byte-array column");
        size_t used;
        int rc = delta_lengths(d, p, len, nv, &used, err);
        if (rc)
            return rc;
        size_t pos = used;
        for (size_t i = 0; i < nv; i++) {
            if (d->u32[i] > len - pos)
                return CORRUPT("DELTA_LENGTH_BYTE_ARRAY runs past its page");
            d->ts[i].p = p + pos;
            d->ts[i].n = d->u32[i];
            pos += d->u32[i];
        }
        return HX_OK;
    }
    case ENC_DELTA_BA: {
        if (d->phys != PT_BYTE_ARRAY && d->phys != PT_FIXED)
            return CORRUPT("DELTA_BYTE_ARRAY on a non-byte-array column");
        size_t used = 0, used2 = 0;
        int64_t *pre = malloc((nv ? nv : 1) * sizeof *pre);
        if (!pre)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
        int rc = dbp_decode(p, len, nv, 1, pre, &used, err);
        if (!rc)
            rc = delta_lengths(d, p + used, len - used, nv, &used2, err);
        size_t pos = used + used2, total = 0;
        for (size_t i = 0; !rc && i < nv; i++) {
            if (pre[i] < 0 || (i == 0 && pre[i] != 0) || (i > 0 && (uint64_t)pre[i] > (uint64_t)pre[i - 1] +
                                                                                         d->u32[i - 1]))
                rc = CORRUPT("DELTA_BYTE_ARRAY prefix is longer than the previous value");
            else if (d->u32[i] > len - pos)
                rc = CORRUPT("DELTA_BYTE_ARRAY runs past its page");
            else {
                pos += d->u32[i];
                total += (size_t)pre[i] + d->u32[i];
                if (total > PQ_MAX_PAGE)
                    rc = CORRUPT("DELTA_BYTE_ARRAY values are too large");
            }
        }
        hx_buf_reset(&d->sbuf);
        if (!rc && hx_buf_reserve(&d->sbuf, total + 1))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
        pos = used + used2;
        size_t prev = 0;
        for (size_t i = 0; !rc && i < nv; i++) {
            size_t start = d->sbuf.len;
            memcpy(d->sbuf.data + d->sbuf.len, d->sbuf.data + prev, (size_t)pre[i]);
            d->sbuf.len += (size_t)pre[i];
            memcpy(d->sbuf.data + d->sbuf.len, p + pos, d->u32[i]);
            d->sbuf.len += d->u32[i];
            pos += d->u32[i];
            d->ts[i].p = d->sbuf.data + start;
            d->ts[i].n = (uint32_t)(d->sbuf.len - start);
            prev = start;
        }
        free(pre);
        return rc;
    }
    case ENC_BSS: {
        size_t w = fixed_width(d);
        if (d->phys == PT_BOOLEAN || d->phys == PT_BYTE_ARRAY || w == 0 || w > 16)
            return CORRUPT("BYTE_STREAM_SPLIT on an unsupported column type");
        if (nv > len / w)
            return CORRUPT("BYTE_STREAM_SPLIT page is too short");
        unsigned char *buf = malloc(nv * w + 1);
        if (!buf)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a page");
        for (size_t i = 0; i < nv; i++)
            for (size_t b = 0; b < w; b++)
                buf[i * w + b] = p[b * nv + i];
        int rc = is_bytes(d->phys) ? HX_EUNSUPPORTED : plain_decode(d, buf, nv * w, nv, err);
        free(buf);
        if (rc == HX_EUNSUPPORTED)
            return hx_err_set(err, rc, "BYTE_STREAM_SPLIT on fixed-length bytes is not supported");
        return rc;
    }
    default:
        return hx_err_set(err, HX_EUNSUPPORTED, "Parquet encoding %d is not supported", enc);
    }
}

static int dict_page(dec_t *d, const unsigned char *p, size_t len, size_t nv, hx_err_t *err)
{
    if (d->dict_page || d->ndict)
        return CORRUPT("a column chunk has two dictionary pages");
    d->dict_page = malloc(len ? len : 1);
    if (!d->dict_page)
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a dictionary");
    memcpy(d->dict_page, p, len);
    if (ensure_t(d, nv))
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a dictionary");
    int rc = plain_decode(d, d->dict_page, len, nv, err);
    if (rc)
        return rc;
    /* The decoded values become the dictionary; the scratch arrays regrow. */
    d->di = d->ti; d->dd = d->td; d->ds = d->ts;
    d->ti = NULL; d->td = NULL; d->ts = NULL;
    d->tcap = 0;
    d->ndict = nv;
    return HX_OK;
}

static int vec_alloc(hx_pq_vec_t *v, hx_pq_type_t t, size_t n)
{
    memset(v, 0, sizeof *v);
    v->type = t;
    v->n = n;
    v->valid = calloc(n ? n : 1, 1);
    if (t == HX_PQ_DOUBLE || t == HX_PQ_FLOAT)
        v->f64 = calloc(n ? n : 1, sizeof *v->f64);
    else if (t == HX_PQ_STRING || t == HX_PQ_BINARY)
        v->off = calloc(n + 1, sizeof *v->off);
    else
        v->i64 = calloc(n ? n : 1, sizeof *v->i64);
    return v->valid && (v->f64 || v->off || v->i64) ? HX_OK : HX_ENOMEM;
}

/* Places nv decoded values at rows [r0, r0+nrows) per the levels. */
static int scatter(dec_t *d, hx_pq_vec_t *v, hx_buf_t *sdata, size_t r0, size_t nrows, const uint32_t *lv,
                   size_t nv, hx_err_t *err)
{
    size_t j = 0;
    for (size_t r = 0; r < nrows; r++) {
        size_t row = r0 + r;
        int ok = lv ? lv[r] != 0 : 1;
        v->valid[row] = (uint8_t)ok;
        if (v->off)
            v->off[row] = sdata->len;
        if (!ok)
            continue;
        if (j >= nv)
            return CORRUPT("page has fewer values than its levels say");
        if (v->f64)
            v->f64[row] = d->td[j];
        else if (v->off) {
            if (hx_buf_append(sdata, d->ts[j].p, d->ts[j].n))
                return hx_err_set(err, HX_ENOMEM, "out of memory decoding strings");
        } else
            v->i64[row] = d->ti[j];
        j++;
    }
    if (v->off)
        v->off[r0 + nrows] = sdata->len;
    return HX_OK;
}

static int data_page(hx_pq_reader_t *r, dec_t *d, const pq_page_hdr_t *h, const unsigned char *body, int codec,
                     size_t nrows, hx_pq_vec_t *v, hx_buf_t *sdata, size_t row, hx_err_t *err)
{
    int optional = d->ci->optional;
    const unsigned char *lvp = NULL, *vals;
    size_t lvn = 0, vals_n;
    if (h->type == PAGE_DATA_V2) {
        size_t lev = (size_t)h->def_len + (size_t)h->rep_len;
        if (h->rep_len != 0)
            return CORRUPT("repetition levels in a flat column");
        if (lev > (size_t)h->compressed || lev > (size_t)h->uncompressed)
            return CORRUPT("page v2 levels are longer than the page");
        lvp = body;
        lvn = (size_t)h->def_len;
        size_t un = (size_t)h->uncompressed - lev, cn = (size_t)h->compressed - lev;
        if (h->is_compressed && codec != HX_PQ_NONE) {
            if (!page_buf(d, un))
                return hx_err_set(err, HX_ENOMEM, "out of memory decompressing a page");
            int rc = pq_decompress(codec, body + lev, cn, d->page, un, err);
            if (rc)
                return rc;
            vals = d->page;
        } else {
            if (cn != un)
                return CORRUPT("uncompressed page v2 sizes differ");
            vals = body + lev;
        }
        vals_n = un;
    } else {
        size_t un = (size_t)h->uncompressed;
        if (!page_buf(d, un))
            return hx_err_set(err, HX_ENOMEM, "out of memory decompressing a page");
        int rc = pq_decompress(codec, body, (size_t)h->compressed, d->page, un, err);
        if (rc)
            return rc;
        vals = d->page;
        vals_n = un;
        if (optional) {
            if (vals_n < 4 || hx_load_u32le(vals) > vals_n - 4)
                return CORRUPT("definition levels are longer than the page");
            lvn = hx_load_u32le(vals);
            lvp = vals + 4;
            vals += 4 + lvn;
            vals_n -= 4 + lvn;
        }
    }
    uint32_t *lv = NULL;
    size_t nv = nrows;
    if (optional) {
        /* Levels and indices share no scratch: levels get their own array. */
        lv = malloc((nrows ? nrows : 1) * sizeof *lv);
        if (!lv)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding levels");
        if (pq_rle_decode(lvp, lvn, 1, lv, nrows)) {
            free(lv);
            return CORRUPT("definition levels are corrupt");
        }
        nv = 0;
        for (size_t i = 0; i < nrows; i++)
            nv += lv[i];
    }
    int rc = values_decode(d, h->encoding, vals, vals_n, nv, err);
    if (!rc)
        rc = scatter(d, v, sdata, row, nrows, lv, nv, err);
    free(lv);
    (void)r;
    return rc;
}

static int read_chunk(hx_pq_reader_t *r, size_t rg, size_t col, hx_pq_vec_t *v, hx_err_t *err)
{
    const pq_chunk_t *ch = &r->m.rgs[rg].chunks[col];
    size_t n = (size_t)r->m.rgs[rg].num_rows;
    dec_t d;
    memset(&d, 0, sizeof d);
    d.ci = &r->cols[col];
    d.phys = ch->type;
    d.width = d.phys == PT_INT96 ? 12 : (size_t)r->m.schema[col + 1].type_length;
    hx_buf_t sdata = HX_BUF_INIT;
    int rc = vec_alloc(v, d.ci->type, n);
    if (rc) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory for %zu rows", n);
        goto out;
    }
    int64_t start = ch->data_page_offset;
    if (ch->dict_page_offset >= 4 && ch->dict_page_offset < start)
        start = ch->dict_page_offset;
    if (start < 4 || (uint64_t)start >= r->footer_start) {
        rc = CORRUPT("column chunk offset %lld is outside the file", (long long)start);
        goto out;
    }
    size_t pos = (size_t)start, row = 0, end = r->footer_start;
    while (row < n) {
        pq_page_hdr_t h;
        size_t used;
        if (pos >= end) {
            rc = CORRUPT("column chunk ends after %zu of %zu rows", row, n);
            goto out;
        }
        if ((rc = pq_page_hdr_decode(r->data + pos, end - pos, &h, &used, err)))
            goto out;
        pos += used;
        if ((size_t)h.compressed > end - pos) {
            rc = CORRUPT("page of %d bytes runs past the column chunk", h.compressed);
            goto out;
        }
        const unsigned char *body = r->data + pos;
        pos += (size_t)h.compressed;
        if (h.type == PAGE_DICT) {
            if (!page_buf(&d, (size_t)h.uncompressed)) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory decompressing a dictionary");
                goto out;
            }
            if ((rc = pq_decompress(ch->codec, body, (size_t)h.compressed, d.page, (size_t)h.uncompressed, err)) ||
                (rc = dict_page(&d, d.page, (size_t)h.uncompressed, (size_t)h.num_values, err)))
                goto out;
        } else if (h.type == PAGE_DATA || h.type == PAGE_DATA_V2) {
            size_t rows = (size_t)h.num_values;
            if (rows > n - row) {
                rc = CORRUPT("pages hold more rows than the row group's %zu", n);
                goto out;
            }
            if ((rc = data_page(r, &d, &h, body, ch->codec, rows, v, &sdata, row, err)))
                goto out;
            row += rows;
        }
        /* Index pages and unknown page types are skipped. */
    }
    if (v->off) {
        v->off[n] = sdata.len;
        v->data = sdata.data;
        sdata.data = NULL;
        if (!v->data)
            v->data = calloc(1, 1);
        if (!v->data)
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    }
out:
    if (rc)
        hx_err_wrap(err, "column '%s', row group %zu", d.ci->name, rg);
    hx_buf_free(&sdata);
    hx_buf_free(&d.sbuf);
    free(d.di); free(d.dd); free(d.ds);
    free(d.ti); free(d.td); free(d.ts);
    free(d.dict_page);
    free(d.page);
    free(d.u32);
    return rc;
}

int hx_pq_read_rowgroup(hx_pq_reader_t *r, size_t rg, const int *cols, size_t ncols, hx_pq_batch_t *b, hx_err_t *err)
{
    memset(b, 0, sizeof *b);
    if (rg >= r->m.nrg)
        return hx_err_set(err, HX_EINVAL, "row group %zu does not exist (the file has %zu)", rg, r->m.nrg);
    if ((uint64_t)r->m.rgs[rg].num_rows > PQ_MAX_RG_ROWS)
        return hx_err_set(err, HX_ETOOBIG, "row group %zu has %lld rows; Helix reads at most %u per row group", rg,
                          (long long)r->m.rgs[rg].num_rows, PQ_MAX_RG_ROWS);
    if (!cols)
        ncols = r->m.ncols;
    b->cols = calloc(ncols ? ncols : 1, sizeof *b->cols);
    b->vecs = calloc(ncols ? ncols : 1, sizeof *b->vecs);
    if (!b->cols || !b->vecs)
        return hx_err_set(err, HX_ENOMEM, "out of memory reading a row group");
    b->nrows = (size_t)r->m.rgs[rg].num_rows;
    for (size_t i = 0; i < ncols; i++) {
        int c = cols ? cols[i] : (int)i;
        if (c < 0 || (size_t)c >= r->m.ncols)
            return hx_err_set(err, HX_EINVAL, "column %d does not exist (the file has %zu)", c, r->m.ncols);
        b->cols[i] = c;
        b->ncols = i + 1;
        int rc = read_chunk(r, rg, (size_t)c, &b->vecs[i], err);
        if (rc)
            return rc;
    }
    return HX_OK;
}

void hx_pq_batch_free(hx_pq_batch_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncols; i++) {
        free(b->vecs[i].valid);
        free(b->vecs[i].i64);
        free(b->vecs[i].f64);
        free(b->vecs[i].off);
        free(b->vecs[i].data);
    }
    free(b->vecs);
    free(b->cols);
    memset(b, 0, sizeof *b);
}
