/* Files and codecs of the embedded store. */
#include "analytics/embedded/emb.h"

#include <lz4.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

enum { CODEC_NONE = 0, CODEC_LZ4 = 1, CODEC_ZSTD = 2 };

int an_codec_id(const char *codec)
{
    if (!strcmp(codec, "lz4"))
        return CODEC_LZ4;
    if (!strcmp(codec, "zstd"))
        return CODEC_ZSTD;
    return CODEC_NONE;
}

int an_compress(const char *codec, const void *src, size_t n, hx_buf_t *out, hx_err_t *err)
{
    int id = an_codec_id(codec);
    if (n > (size_t)LZ4_MAX_INPUT_SIZE)
        return hx_err_set(err, HX_ETOOBIG, "granule of %zu bytes is too large to compress", n);
    size_t bound = id == CODEC_LZ4 ? (size_t)LZ4_compressBound((int)n) : id == CODEC_ZSTD ? ZSTD_compressBound(n) : n;
    if (hx_buf_reserve(out, bound))
        return hx_err_set(err, HX_ENOMEM, "out of memory compressing a granule");
    size_t w;
    if (id == CODEC_LZ4) {
        /* Acceleration 2: a little less ratio for faster flushes and merges. */
        int r = LZ4_compress_fast(src, (char *)out->data + out->len, (int)n, (int)bound, 2);
        if (r <= 0)
            return hx_err_set(err, HX_EINTERNAL, "lz4 failed to compress a granule");
        w = (size_t)r;
    } else if (id == CODEC_ZSTD) {
        w = ZSTD_compress(out->data + out->len, bound, src, n, 1);
        if (ZSTD_isError(w))
            return hx_err_set(err, HX_EINTERNAL, "zstd failed: %s", ZSTD_getErrorName(w));
    } else {
        memcpy(out->data + out->len, src, n);
        w = n;
    }
    out->len += w;
    return HX_OK;
}

int an_decompress(int codec, const void *src, size_t n, void *dst, size_t rlen)
{
    if (codec == CODEC_LZ4) {
        int r = LZ4_decompress_safe(src, dst, (int)n, (int)rlen);
        return r >= 0 && (size_t)r == rlen ? HX_OK : HX_ECORRUPT;
    }
    if (codec == CODEC_ZSTD) {
        size_t r = ZSTD_decompress(dst, rlen, src, n);
        return !ZSTD_isError(r) && r == rlen ? HX_OK : HX_ECORRUPT;
    }
    if (n != rlen)
        return HX_ECORRUPT;
    memcpy(dst, src, n);
    return HX_OK;
}
