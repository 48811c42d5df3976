/* The RLE/bit-packed hybrid (definition levels, dictionary indices, boolean
 * RLE) and the page codecs. */
#include "lake/parquet/pq_int.h"

#include <snappy-c.h>
#include <string.h>
#include <zstd.h>

int pq_bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static int put_uvar(hx_buf_t *b, uint64_t v)
{
    return hx_buf_put_uvarint(b, v);
}

static int put_bitpacked(const uint32_t *v, size_t n, int w, hx_buf_t *out)
{
    /* n is a multiple of 8 except for the final group, padded with zeros. */
    size_t groups = (n + 7) / 8;
    if (put_uvar(out, (uint64_t)groups << 1 | 1))
        return HX_ENOMEM;
    size_t bytes = groups * (size_t)w;
    if (hx_buf_reserve(out, bytes))
        return HX_ENOMEM;
    unsigned char *p = out->data + out->len;
    memset(p, 0, bytes);
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t x = i < n ? v[i] : 0;
        acc |= x << bits;
        bits += w;
        while (bits >= 8) {
            p[o++] = (unsigned char)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    out->len += bytes;
    return HX_OK;
}

static int put_run(uint32_t val, size_t count, int w, hx_buf_t *out)
{
    if (put_uvar(out, (uint64_t)count << 1))
        return HX_ENOMEM;
    for (int b = 0; b < (w + 7) / 8; b++)
        if (hx_buf_putc(out, (unsigned char)(val >> (8 * b))))
            return HX_ENOMEM;
    return HX_OK;
}

int pq_rle_encode(const uint32_t *v, size_t n, int w, hx_buf_t *out)
{
    size_t lit = 0, i = 0;   /* literal run is v[lit..i) */
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i])
            r++;
        if (r >= 8) {
            /* A literal must hold whole groups of 8: lend it values of the run. */
            size_t pad = (8 - (i - lit) % 8) % 8;
            if (r - pad >= 8) {
                if (i - lit + pad && put_bitpacked(v + lit, i - lit + pad, w, out))
                    return HX_ENOMEM;
                if (put_run(v[i], r - pad, w, out))
                    return HX_ENOMEM;
                i += r;
                lit = i;
                continue;
            }
        }
        i += r;
        /* Keep literal runs bounded so one header never spans the whole page. */
        if (i - lit >= 512 && (i - lit) % 8 == 0) {
            if (put_bitpacked(v + lit, i - lit, w, out))
                return HX_ENOMEM;
            lit = i;
        }
    }
    if (i > lit && put_bitpacked(v + lit, i - lit, w, out))
        return HX_ENOMEM;
    return HX_OK;
}

uint64_t pq_uvar(const unsigned char *p, size_t len, size_t *pos, int *ok)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) {
            *ok = 0;
            return 0;
        }
        unsigned char c = p[(*pos)++];
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            return v;
    }
    *ok = 0;
    return 0;
}

static void unpack(const unsigned char *p, size_t count, int w, uint32_t *out)
{
    if (w == 0) {
        memset(out, 0, count * sizeof *out);
        return;
    }
    if (w == 1) {
        for (size_t i = 0; i < count; i++)
            out[i] = (p[i >> 3] >> (i & 7)) & 1;
        return;
    }
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    uint32_t mask = w == 32 ? 0xFFFFFFFFu : ((1u << w) - 1);
    for (size_t i = 0; i < count; i++) {
        while (bits < w) {
            acc |= (uint64_t)p[o++] << bits;
            bits += 8;
        }
        out[i] = (uint32_t)acc & mask;
        acc >>= w;
        bits -= w;
    }
}

int pq_rle_decode(const unsigned char *p, size_t len, int w, uint32_t *out, size_t n)
{
    if (w < 0 || w > 32)
        return HX_ECORRUPT;
    size_t pos = 0, done = 0;
    int ok = 1;
    int vb = (w + 7) / 8;
    while (done < n) {
        uint64_t h = pq_uvar(p, len, &pos, &ok);
        if (!ok)
            return HX_ECORRUPT;
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups == 0 || (w > 0 && groups > (len - pos) / (size_t)w))
                return HX_ECORRUPT;
            size_t count = groups > SIZE_MAX / 8 ? SIZE_MAX : (size_t)groups * 8;
            size_t bytes = (size_t)groups * (size_t)w;
            size_t take = count < n - done ? count : n - done;
            /* Unpack whole bytes only: take values need ceil(take*w/8) bytes. */
            unpack(p + pos, take, w, out + done);
            pos += bytes;
            done += take;
        } else {
            uint64_t count = h >> 1;
            if ((size_t)vb > len - pos || count == 0)
                return HX_ECORRUPT;
            uint32_t val = 0;
            for (int b = 0; b < vb; b++)
                val |= (uint32_t)p[pos + (size_t)b] << (8 * b);
            pos += (size_t)vb;
            if (w < 32 && (val >> w))
                return HX_ECORRUPT;
            size_t take = count < n - done ? (size_t)count : n - done;
            for (size_t i = 0; i < take; i++)
                out[done + i] = val;
            done += take;
        }
    }
    return HX_OK;
}

int pq_compress(int codec, int zstd_level, const void *in, size_t n, hx_buf_t *out, void **zctx, hx_err_t *err)
{
    if (codec == HX_PQ_NONE)
        return hx_buf_append(out, in, n) ? hx_err_set(err, HX_ENOMEM, "out of memory compressing a page") : 0;
    if (codec == HX_PQ_SNAPPY) {
        size_t cap = snappy_max_compressed_length(n);
        if (hx_buf_reserve(out, cap))
            return hx_err_set(err, HX_ENOMEM, "out of memory compressing a page");
        size_t got = cap;
        if (snappy_compress(in, n, (char *)out->data + out->len, &got) != SNAPPY_OK)
            return hx_err_set(err, HX_EINTERNAL, "snappy_compress failed on a %zu-byte page", n);
        out->len += got;
        return HX_OK;
    }
    if (codec == HX_PQ_ZSTD) {
        if (!*zctx && !(*zctx = ZSTD_createCCtx()))
            return hx_err_set(err, HX_ENOMEM, "out of memory creating a zstd context");
        size_t cap = ZSTD_compressBound(n);
        if (hx_buf_reserve(out, cap))
            return hx_err_set(err, HX_ENOMEM, "out of memory compressing a page");
        size_t got = ZSTD_compressCCtx(*zctx, out->data + out->len, cap, in, n, zstd_level ? zstd_level : 3);
        if (ZSTD_isError(got))
            return hx_err_set(err, HX_EINTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(got));
        out->len += got;
        return HX_OK;
    }
    return hx_err_set(err, HX_EUNSUPPORTED, "codec %d is not supported for writing (use none, snappy or zstd)", codec);
}

int pq_decompress(int codec, const void *in, size_t n, void *out, size_t out_n, hx_err_t *err)
{
    if (codec == HX_PQ_NONE) {
        if (n != out_n)
            return hx_err_set(err, HX_ECORRUPT, "uncompressed page is %zu bytes, header says %zu", n, out_n);
        if (n)
            memcpy(out, in, n);
        return HX_OK;
    }
    if (codec == HX_PQ_SNAPPY) {
        size_t len;
        if (snappy_uncompressed_length(in, n, &len) != SNAPPY_OK || len != out_n)
            return hx_err_set(err, HX_ECORRUPT, "snappy page does not decompress to its declared %zu bytes", out_n);
        size_t got = out_n;
        if (snappy_uncompress(in, n, out, &got) != SNAPPY_OK || got != out_n)
            return hx_err_set(err, HX_ECORRUPT, "snappy page is corrupt");
        return HX_OK;
    }
    if (codec == HX_PQ_ZSTD) {
        size_t got = ZSTD_decompress(out, out_n, in, n);
        if (ZSTD_isError(got) || got != out_n)
            return hx_err_set(err, HX_ECORRUPT, "zstd page does not decompress to its declared %zu bytes", out_n);
        return HX_OK;
    }
    return hx_err_set(err, HX_EUNSUPPORTED, "compression codec %s (%d) is not supported; Helix reads none, snappy, zstd",
                      hx_pq_codec_name(codec), codec);
}

const char *hx_pq_codec_name(int codec)
{
    static const char *names[] = {"none", "snappy", "gzip", "lzo", "brotli", "lz4", "zstd", "lz4_raw"};
    return codec >= 0 && codec < 8 ? names[codec] : "unknown";
}

int hx_pq_codec_parse(const char *s, hx_pq_codec_t *out, hx_err_t *err)
{
    if (!strcmp(s, "none") || !strcmp(s, "uncompressed"))
        *out = HX_PQ_NONE;
    else if (!strcmp(s, "snappy"))
        *out = HX_PQ_SNAPPY;
    else if (!strcmp(s, "zstd"))
        *out = HX_PQ_ZSTD;
    else
        return hx_err_set(err, HX_EINVAL, "unknown Parquet codec '%s' (use none, snappy or zstd)", s);
    return HX_OK;
}
