/* A record batch as it lies in a segment file: the 52-byte header, CRC32C,
 * the payload (none, lz4 or zstd) and the records in it. The first input
 * byte picks a mode: bit 0 set recomputes the CRC over the rest, so the
 * fuzzer reaches the decoders behind a CRC it cannot forge. Properties:
 *   - decoding never reads outside the input and never allocates more than
 *     the codec can produce (lz4 255x, zstd's stated frame size);
 *   - the iterator yields at most `count` records, each with an offset in
 *     [base, base + last_delta];
 *   - a batch whose records are sane (timestamps >= 0, offsets increasing)
 *     re-encodes, with each codec, to a batch that decodes to the same
 *     records (decode -> encode -> decode round trip). */
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "log/log_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

typedef struct recs {
    hx_log_record_t *r;
    hx_log_header_t *h; /* copies of every record's headers, back to back */
    size_t n, nh;
} recs_t;

/* Decodes batch (h already valid, payload present) into out, copying header
 * arrays (the iterator reuses its storage). 0, or the decoder's error. */
static int decode(const unsigned char *batch, const hx_batch_hdr_t *h, hx_buf_t *scratch, hx_buf_t *hdrs, recs_t *out)
{
    memset(out, 0, sizeof *out);
    const unsigned char *raw;
    int rc = hx_batch_raw(batch, h, scratch, &raw, NULL);
    if (rc)
        return rc;
    hx_batch_it_t it;
    hx_batch_it_init(&it, h, raw, hdrs);
    hx_log_record_t rec;
    size_t hcap = 0, rcap = 0; /* grown as records come: count is only a claim */
    while ((rc = hx_batch_it_next(&it, &rec)) == 1) {
        FZ_ASSERT(out->n < h->count, "iterator yields more than count=%u records", h->count);
        if (out->n == rcap) {
            rcap = rcap ? rcap * 2 : 16;
            out->r = realloc(out->r, rcap * sizeof *out->r);
            FZ_ASSERT(out->r, "out of memory");
        }
        FZ_ASSERT(rec.offset >= h->base && rec.offset <= h->base + (int64_t)h->last_delta,
                  "offset %lld outside [%lld, +%u]", (long long)rec.offset, (long long)h->base, h->last_delta);
        if (rec.n_headers) {
            if (out->nh + rec.n_headers > hcap) {
                hcap = (out->nh + rec.n_headers) * 2;
                out->h = realloc(out->h, hcap * sizeof *out->h);
                FZ_ASSERT(out->h, "out of memory");
            }
            memcpy(out->h + out->nh, rec.headers, rec.n_headers * sizeof *rec.headers);
            rec.headers = (const hx_log_header_t *)(uintptr_t)out->nh; /* index until the array stops moving */
            out->nh += rec.n_headers;
        }
        out->r[out->n++] = rec;
    }
    for (size_t i = 0; i < out->n; i++)
        if (out->r[i].n_headers)
            out->r[i].headers = out->h + (uintptr_t)out->r[i].headers;
    return rc < 0 ? rc : 0;
}

static void recs_free(recs_t *r)
{
    free(r->r);
    free(r->h);
}

static int same_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check_same(const recs_t *a, const recs_t *b)
{
    FZ_ASSERT(a->n == b->n, "round trip: %zu records became %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const hx_log_record_t *x = &a->r[i], *y = &b->r[i];
        FZ_ASSERT(x->offset == y->offset && x->timestamp_ms == y->timestamp_ms, "record %zu: offset/ts differ", i);
        FZ_ASSERT(same_bytes(x->key, x->key_len, y->key, y->key_len), "record %zu: key differs", i);
        FZ_ASSERT(!x->value == !y->value && same_bytes(x->value, x->value_len, y->value, y->value_len),
                  "record %zu: value differs", i);
        FZ_ASSERT(x->n_headers == y->n_headers, "record %zu: header count differs", i);
        for (size_t k = 0; k < x->n_headers; k++)
            FZ_ASSERT(same_bytes(x->headers[k].name, x->headers[k].name_len, y->headers[k].name, y->headers[k].name_len) &&
                          same_bytes(x->headers[k].value, x->headers[k].value_len, y->headers[k].value,
                                     y->headers[k].value_len),
                      "record %zu header %zu differs", i, k);
    }
}

static int sane(const recs_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->r[i].timestamp_ms < 0 || (i && r->r[i].offset <= r->r[i - 1].offset))
            return 0;
    return r->n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 + HX_BATCH_HDR)
        return 0;
    int fix_crc = data[0] & 1;
    size_t n = size - 1;
    unsigned char *b = malloc(n);
    FZ_ASSERT(b, "out of memory");
    memcpy(b, data + 1, n);
    hx_batch_hdr_t h;
    if (hx_batch_hdr_decode(b, &h) != 0 || h.stored_len > n - HX_BATCH_HDR) {
        free(b);
        return 0;
    }
    if (fix_crc) {
        uint32_t c = hx_crc32c(0, b, 48);
        hx_store_u32le(b + 48, hx_crc32c(c, b + HX_BATCH_HDR, h.stored_len));
        h.crc = hx_load_u32le(b + 48);
    }
    if (!hx_batch_crc_ok(b, &h)) {
        free(b);
        return 0;
    }
    hx_buf_t scratch = HX_BUF_INIT, hdrs = HX_BUF_INIT;
    recs_t a;
    if (decode(b, &h, &scratch, &hdrs, &a) == 0 && sane(&a)) {
        int64_t *offs = malloc(a.n * sizeof *offs);
        FZ_ASSERT(offs, "out of memory");
        for (size_t i = 0; i < a.n; i++)
            offs[i] = a.r[i].offset;
        for (int codec = HX_CODEC_NONE; codec <= HX_CODEC_ZSTD; codec++) {
            hx_batch_enc_t enc = {0};
            hx_err_t err = {0};
            FZ_ASSERT(hx_batch_encode(&enc, codec, h.base, h.last_delta, a.r, offs, a.n, 0, &err) == 0,
                      "re-encoding %zu records failed: %s", a.n, err.msg);
            hx_batch_hdr_t h2;
            FZ_ASSERT(hx_batch_hdr_decode(enc.out.data, &h2) == 0 && hx_batch_crc_ok(enc.out.data, &h2) &&
                          hx_batch_size(&h2) == enc.out.len,
                      "a fresh batch (codec %d) does not check out", codec);
            hx_buf_t s2 = HX_BUF_INIT, hd2 = HX_BUF_INIT;
            recs_t c;
            FZ_ASSERT(decode(enc.out.data, &h2, &s2, &hd2, &c) == 0, "a fresh batch (codec %d) does not decode", codec);
            check_same(&a, &c);
            recs_free(&c);
            hx_buf_free(&s2);
            hx_buf_free(&hd2);
            hx_batch_enc_free(&enc);
        }
        free(offs);
    }
    recs_free(&a);
    hx_buf_free(&scratch);
    hx_buf_free(&hdrs);
    free(b);
    return 0;
}
