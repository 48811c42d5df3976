/* Record batch encoding: a fixed 52-byte header, then the record payload,
 * compressed as one unit with the topic's codec and protected by CRC32C over
 * header and payload. Layout in docs/event-log.md. */
#include "log_internal.h"

#include "helix/hx_hash.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ZSTD_LEVEL 1

const char *hx_codec_name(hx_codec_t c)
{
    switch (c) {
    case HX_CODEC_LZ4: return "lz4";
    case HX_CODEC_ZSTD: return "zstd";
    default: return "none";
    }
}

int hx_codec_parse(const char *s, hx_codec_t *out)
{
    if (!s) return HX_EINVAL;
    if (strcmp(s, "none") == 0) *out = HX_CODEC_NONE;
    else if (strcmp(s, "lz4") == 0) *out = HX_CODEC_LZ4;
    else if (strcmp(s, "zstd") == 0) *out = HX_CODEC_ZSTD;
    else return HX_EINVAL;
    return HX_OK;
}

size_t hx_log_record_size(const hx_log_record_t *r)
{
    size_t n = r->key_len + (r->value ? r->value_len : 0);
    for (size_t i = 0; i < r->n_headers; i++)
        n += r->headers[i].name_len + r->headers[i].value_len;
    return n;
}

static inline unsigned char *put_uv(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static inline unsigned char *put_sv(unsigned char *p, int64_t v)
{
    return put_uv(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline unsigned char *put_raw(unsigned char *p, const void *src, size_t n)
{
    if (n)
        memcpy(p, src, n);
    return p + n;
}

void hx_batch_enc_free(hx_batch_enc_t *e)
{
    hx_buf_free(&e->raw);
    hx_buf_free(&e->out);
    if (e->zcctx)
        ZSTD_freeCCtx(e->zcctx);
    e->zcctx = NULL;
}

static void hdr_store(unsigned char *p, const hx_batch_hdr_t *h)
{
    hx_store_u32le(p, HX_BATCH_MAGIC);
    hx_store_u32le(p + 4, h->stored_len);
    hx_store_u32le(p + 8, h->raw_len);
    hx_store_u64le(p + 12, (uint64_t)h->base);
    hx_store_u32le(p + 20, h->last_delta);
    hx_store_u32le(p + 24, h->count);
    hx_store_u64le(p + 28, (uint64_t)h->first_ts);
    hx_store_u64le(p + 36, (uint64_t)h->max_ts);
    p[44] = h->codec;
    p[45] = 0;
    p[46] = 0;
    p[47] = 0;
}

int hx_batch_hdr_decode(const unsigned char *p, hx_batch_hdr_t *h)
{
    if (hx_load_u32le(p) != HX_BATCH_MAGIC)
        return HX_ECORRUPT;
    h->stored_len = hx_load_u32le(p + 4);
    h->raw_len = hx_load_u32le(p + 8);
    h->base = (int64_t)hx_load_u64le(p + 12);
    h->last_delta = hx_load_u32le(p + 20);
    h->count = hx_load_u32le(p + 24);
    h->first_ts = (int64_t)hx_load_u64le(p + 28);
    h->max_ts = (int64_t)hx_load_u64le(p + 36);
    h->codec = p[44];
    h->crc = hx_load_u32le(p + 48);
    if (h->stored_len > HX_BATCH_MAX_STORED || h->raw_len > HX_BATCH_MAX_STORED || h->base < 0 ||
        h->count == 0 || h->count > h->last_delta + 1u || h->last_delta > INT32_MAX ||
        h->codec > HX_CODEC_ZSTD || (h->codec == HX_CODEC_NONE && h->raw_len != h->stored_len))
        return HX_ECORRUPT;
    return HX_OK;
}

int hx_batch_crc_ok(const unsigned char *batch, const hx_batch_hdr_t *h)
{
    uint32_t c = hx_crc32c(0, batch, 48);
    c = hx_crc32c(c, batch + HX_BATCH_HDR, h->stored_len);
    return c == h->crc;
}

int hx_batch_encode(hx_batch_enc_t *e, int codec, int64_t base, uint32_t last_delta,
                    const hx_log_record_t *recs, const int64_t *offsets, size_t n, int64_t now_ms,
                    hx_err_t *err)
{
    hx_batch_hdr_t h = {0};
    h.base = base;
    h.last_delta = last_delta;
    h.count = (uint32_t)n;
    h.first_ts = recs[0].timestamp_ms < 0 ? now_ms : recs[0].timestamp_ms;
    h.max_ts = h.first_ts;

    /* Raw payload: size each record's worst case once, then write in place. */
    hx_buf_reset(&e->raw);
    for (size_t i = 0; i < n; i++) {
        const hx_log_record_t *r = &recs[i];
        size_t need = 50 + r->key_len + (r->value ? r->value_len : 0) + r->n_headers * 20;
        for (size_t k = 0; k < r->n_headers; k++)
            need += r->headers[k].name_len + r->headers[k].value_len;
        if (hx_buf_reserve(&e->raw, need))
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding a batch of %zu records", n);
        int64_t ts = r->timestamp_ms < 0 ? now_ms : r->timestamp_ms;
        if (ts > h.max_ts)
            h.max_ts = ts;
        int64_t off = offsets ? offsets[i] : base + (int64_t)i;
        unsigned char *p = e->raw.data + e->raw.len;
        p = put_uv(p, (uint64_t)(off - base));
        p = put_sv(p, ts - h.first_ts);
        p = put_uv(p, r->key ? r->key_len : 0);
        if (r->key)
            p = put_raw(p, r->key, r->key_len);
        if (r->value) {
            p = put_sv(p, (int64_t)r->value_len);
            p = put_raw(p, r->value, r->value_len);
        } else {
            p = put_sv(p, -1);
        }
        p = put_uv(p, r->n_headers);
        for (size_t k = 0; k < r->n_headers; k++) {
            const hx_log_header_t *hd = &r->headers[k];
            p = put_uv(p, hd->name_len);
            p = put_raw(p, hd->name, hd->name_len);
            p = put_uv(p, hd->value_len);
            p = put_raw(p, hd->value, hd->value_len);
        }
        e->raw.len = (size_t)(p - e->raw.data);
    }
    if (e->raw.len > HX_BATCH_MAX_STORED)
        return hx_err_set(err, HX_ETOOBIG, "batch of %zu records is %zu bytes, over the 1 GiB batch limit", n,
                          e->raw.len);
    h.raw_len = (uint32_t)e->raw.len;

    hx_buf_reset(&e->out);
    size_t bound = e->raw.len;
    if (codec == HX_CODEC_LZ4)
        bound = (size_t)LZ4_compressBound((int)e->raw.len);
    else if (codec == HX_CODEC_ZSTD)
        bound = ZSTD_compressBound(e->raw.len);
    if (hx_buf_reserve(&e->out, HX_BATCH_HDR + bound))
        return hx_err_set(err, HX_ENOMEM, "out of memory compressing a batch");
    unsigned char *dst = e->out.data + HX_BATCH_HDR;
    size_t stored = 0;
    h.codec = HX_CODEC_NONE;
    if (codec == HX_CODEC_LZ4) {
        int c = LZ4_compress_default((const char *)e->raw.data, (char *)dst, (int)e->raw.len, (int)bound);
        if (c > 0 && (size_t)c < e->raw.len) {
            stored = (size_t)c;
            h.codec = HX_CODEC_LZ4;
        }
    } else if (codec == HX_CODEC_ZSTD) {
        if (!e->zcctx && !(e->zcctx = ZSTD_createCCtx()))
            return hx_err_set(err, HX_ENOMEM, "out of memory creating a zstd context");
        size_t c = ZSTD_compressCCtx(e->zcctx, dst, bound, e->raw.data, e->raw.len, ZSTD_LEVEL);
        if (!ZSTD_isError(c) && c < e->raw.len) {
            stored = c;
            h.codec = HX_CODEC_ZSTD;
        }
    }
    /* Incompressible payloads are stored raw; the header says so per batch. */
    if (h.codec == HX_CODEC_NONE) {
        memcpy(dst, e->raw.data, e->raw.len);
        stored = e->raw.len;
    }
    h.stored_len = (uint32_t)stored;
    hdr_store(e->out.data, &h);
    uint32_t crc = hx_crc32c(0, e->out.data, 48);
    crc = hx_crc32c(crc, dst, stored);
    hx_store_u32le(e->out.data + 48, crc);
    e->out.len = HX_BATCH_HDR + stored;
    return HX_OK;
}

int hx_batch_raw(const unsigned char *batch, const hx_batch_hdr_t *h, hx_buf_t *scratch,
                 const unsigned char **raw, hx_err_t *err)
{
    const unsigned char *src = batch + HX_BATCH_HDR;
    if (h->codec == HX_CODEC_NONE) {
        *raw = src;
        return HX_OK;
    }
    /* Check the claimed size before allocating it: LZ4 expands at most 255x,
     * and a zstd frame states its size. A damaged header (CRC collisions
     * happen; hx_log_read can skip verification) must not cost a GiB. */
    if (h->codec == HX_CODEC_LZ4 && (uint64_t)h->raw_len > (uint64_t)h->stored_len * 255 + 16)
        return hx_err_set(err, HX_ECORRUPT, "lz4 batch at offset %lld claims %u bytes from %u", (long long)h->base,
                          h->raw_len, h->stored_len);
    if (h->codec == HX_CODEC_ZSTD) {
        unsigned long long fs = ZSTD_getFrameContentSize(src, h->stored_len);
        if (fs == ZSTD_CONTENTSIZE_ERROR || (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs != h->raw_len))
            return hx_err_set(err, HX_ECORRUPT, "zstd batch at offset %lld is not a frame of %u bytes",
                              (long long)h->base, h->raw_len);
    }
    hx_buf_reset(scratch);
    if (hx_buf_reserve(scratch, h->raw_len + 1))
        return hx_err_set(err, HX_ENOMEM, "out of memory decompressing a batch");
    if (h->codec == HX_CODEC_LZ4) {
        int d = LZ4_decompress_safe((const char *)src, (char *)scratch->data, (int)h->stored_len,
                                    (int)h->raw_len);
        if (d < 0 || (uint32_t)d != h->raw_len)
            return hx_err_set(err, HX_ECORRUPT, "lz4 batch at offset %lld does not decompress",
                              (long long)h->base);
    } else {
        size_t d = ZSTD_decompress(scratch->data, h->raw_len, src, h->stored_len);
        if (ZSTD_isError(d) || d != h->raw_len)
            return hx_err_set(err, HX_ECORRUPT, "zstd batch at offset %lld does not decompress",
                              (long long)h->base);
    }
    scratch->len = h->raw_len;
    *raw = scratch->data;
    return HX_OK;
}

void hx_batch_it_init(hx_batch_it_t *it, const hx_batch_hdr_t *h, const unsigned char *raw, hx_buf_t *hdrs)
{
    hx_rd_init(&it->rd, raw, h->raw_len);
    it->h = h;
    it->left = h->count;
    it->hdrs = hdrs;
}

int hx_batch_it_next(hx_batch_it_t *it, hx_log_record_t *rec)
{
    if (it->left == 0)
        return 0;
    hx_rd_t *r = &it->rd;
    uint64_t delta, klen, nh;
    int64_t tsd, vlen;
    const unsigned char *k = NULL, *v = NULL;
    hx_rd_uvarint(r, &delta);
    hx_rd_svarint(r, &tsd);
    hx_rd_uvarint(r, &klen);
    if (r->ok && klen)
        hx_rd_raw(r, (size_t)klen, &k);
    hx_rd_svarint(r, &vlen);
    if (r->ok && vlen >= 0)
        hx_rd_raw(r, (size_t)vlen, &v);
    hx_rd_uvarint(r, &nh);
    if (!r->ok || delta > it->h->last_delta || vlen < -1 || nh > hx_rd_left(r))
        return HX_ECORRUPT;
    hx_buf_reset(it->hdrs);
    if (nh && hx_buf_reserve(it->hdrs, (size_t)nh * sizeof(hx_log_header_t)))
        return HX_ENOMEM;
    hx_log_header_t *hs = (hx_log_header_t *)(void *)it->hdrs->data;
    for (uint64_t i = 0; i < nh; i++) {
        const unsigned char *p;
        size_t n;
        if (hx_rd_bytes(r, &p, &n))
            return HX_ECORRUPT;
        hs[i].name = p;
        hs[i].name_len = n;
        if (hx_rd_bytes(r, &p, &n))
            return HX_ECORRUPT;
        hs[i].value = p;
        hs[i].value_len = n;
    }
    rec->offset = it->h->base + (int64_t)delta;
    rec->timestamp_ms = it->h->first_ts + tsd;
    rec->key = k;
    rec->key_len = (size_t)klen;
    /* A present empty value needs a non-NULL pointer to stay distinct from a tombstone. */
    rec->value = vlen >= 0 ? (v ? (const void *)v : (const void *)"") : NULL;
    rec->value_len = vlen >= 0 ? (size_t)vlen : 0;
    rec->headers = nh ? hs : NULL;
    rec->n_headers = (size_t)nh;
    it->left--;
    return 1;
}
