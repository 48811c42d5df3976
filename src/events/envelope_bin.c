/* The envelope's binary frame (inside the event log). */
#include "helix/hx_envelope.h"

#include <stdlib.h>
#include <string.h>

#define FRAME_MAGIC 'H'

static unsigned char *put_uv(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *put_sv(unsigned char *p, const void *s, size_t n)
{
    p = put_uv(p, n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

static size_t hstrlen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* The frame of e with data given as compact JSON text: sized first, then
 * written with one reserve (every record of every topic is framed here). */
static int encode_frame(const hx_envelope_t *e, const char *data, size_t data_len, hx_buf_t *out, hx_err_t *err)
{
    const char *str[5] = {e->id, e->type, e->source, e->tenant, e->key};
    size_t len[5], need = 2 + 10 + 10 + 10 + 10 + data_len;
    for (int i = 0; i < 5; i++) {
        len[i] = str[i] ? strlen(str[i]) : 0;
        need += 10 + len[i];
    }
    for (size_t i = 0; i < e->n_headers; i++)
        need += 20 + hstrlen(e->headers[i].name) + hstrlen(e->headers[i].value);
    if (hx_buf_reserve(out, need))
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding an envelope");
    unsigned char *p = out->data + out->len;
    *p++ = FRAME_MAGIC;
    *p++ = (uint8_t)e->v;
    for (int i = 0; i < 5; i++)
        p = put_sv(p, str[i] ? str[i] : "", len[i]);
    p = put_uv(p, ((uint64_t)e->ts << 1) ^ (uint64_t)(e->ts >> 63)); /* zigzag */
    p = put_uv(p, e->seq);
    p = put_uv(p, e->n_headers);
    for (size_t i = 0; i < e->n_headers; i++) {
        p = put_sv(p, e->headers[i].name, hstrlen(e->headers[i].name));
        p = put_sv(p, e->headers[i].value, hstrlen(e->headers[i].value));
    }
    p = put_sv(p, data, data_len);
    out->len = (size_t)(p - out->data);
    return HX_OK;
}

int hx_envelope_encode(const hx_envelope_t *e, hx_buf_t *out, hx_err_t *err)
{
    int rc = hx_envelope_validate(e, err);
    if (rc)
        return rc;
    char *data = json_dumps(e->data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!data)
        return hx_err_set(err, HX_EINVAL, "field 'data' cannot be encoded as JSON");
    rc = encode_frame(e, data, strlen(data), out, err);
    free(data);
    return rc;
}

int hx_envelope_encode_data(const hx_envelope_t *e, const char *data, size_t data_len, hx_buf_t *out, hx_err_t *err)
{
    hx_envelope_t head = *e;
    head.data = json_null(); /* a singleton: nothing to free */
    int rc = hx_envelope_validate(&head, err);
    return rc ? rc : encode_frame(e, data, data_len, out, err);
}

int hx_envelope_source_is(const void *p, size_t len, const char *source)
{
    hx_rd_t r;
    hx_rd_init(&r, p, len);
    uint8_t magic, v;
    const unsigned char *s;
    size_t n;
    if (hx_rd_u8(&r, &magic) || magic != FRAME_MAGIC || hx_rd_u8(&r, &v))
        return 0;
    for (int i = 0; i < 3; i++) /* id, type, source */
        if (hx_rd_bytes(&r, &s, &n))
            return 0;
    return n == strlen(source) && memcmp(s, source, n) == 0;
}

/* Reads a length-prefixed string of at most max bytes without NULs. */
static int get_str(hx_rd_t *r, size_t max, char **dst)
{
    const unsigned char *p;
    size_t n;
    if (hx_rd_bytes(r, &p, &n) || n > max || memchr(p, 0, n))
        return HX_ECORRUPT;
    *dst = malloc(n + 1);
    if (!*dst)
        return HX_ENOMEM;
    memcpy(*dst, p, n);
    (*dst)[n] = '\0';
    return HX_OK;
}

/* raw != NULL: data is not parsed; raw / raw_len point at its bytes in p. */
static int decode(const void *p, size_t len, hx_envelope_t *e, const char **raw, size_t *raw_len, hx_err_t *err)
{
    hx_rd_t r;
    hx_rd_init(&r, p, len);
    hx_envelope_init(e);
    uint8_t magic = 0, ver = 0;
    uint64_t nh = 0;
    int rc = HX_ECORRUPT;
    const char *what = "header";
    if (hx_rd_u8(&r, &magic) || hx_rd_u8(&r, &ver) || magic != FRAME_MAGIC || ver != HX_ENVELOPE_VERSION)
        goto fail;
    e->v = ver;
    what = "strings";
    if (get_str(&r, HX_ENV_ID_MAX, &e->id) || get_str(&r, HX_ENV_TYPE_MAX, &e->type) ||
        get_str(&r, HX_ENV_SOURCE_MAX, &e->source) || get_str(&r, HX_ENV_TENANT_MAX, &e->tenant) ||
        get_str(&r, HX_ENV_KEY_MAX, &e->key))
        goto fail;
    what = "ts/seq";
    if (hx_rd_svarint(&r, &e->ts) || hx_rd_uvarint(&r, &e->seq))
        goto fail;
    what = "headers";
    if (hx_rd_uvarint(&r, &nh) || nh > HX_ENV_HEADERS_MAX)
        goto fail;
    if (nh && !(e->headers = calloc(nh, sizeof *e->headers)))
        goto oom;
    for (; e->n_headers < nh; e->n_headers++)
        if (get_str(&r, HX_ENV_HEADER_NAME_MAX, &e->headers[e->n_headers].name) ||
            get_str(&r, HX_ENV_HEADER_VALUE_MAX, &e->headers[e->n_headers].value)) {
            e->n_headers++; /* free the half-filled pair too */
            goto fail;
        }
    what = "data";
    const unsigned char *d;
    size_t dn;
    if (hx_rd_bytes(&r, &d, &dn))
        goto fail;
    json_error_t je;
    if (raw) {
        *raw = (const char *)d;
        *raw_len = dn;
        e->data = json_null();
    } else if (!(e->data = json_loadb((const char *)d, dn, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je))) {
        goto fail;
    }
    what = "trailing bytes";
    if (hx_rd_left(&r) != 0)
        goto fail;
    hx_err_t verr;
    if (hx_envelope_validate(e, &verr)) {
        rc = hx_err_set(err, HX_ECORRUPT, "envelope frame holds an invalid envelope: %s", verr.msg);
        hx_envelope_free(e);
        return rc;
    }
    return HX_OK;
oom:
    rc = HX_ENOMEM;
fail:
    hx_envelope_free(e);
    if (rc == HX_ENOMEM)
        return hx_err_set(err, rc, "out of memory decoding an envelope");
    return hx_err_set(err, HX_ECORRUPT, "malformed envelope frame (%s) at byte %zu of %zu", what, r.pos, len);
}

int hx_envelope_decode(const void *p, size_t len, hx_envelope_t *e, hx_err_t *err)
{
    return decode(p, len, e, NULL, NULL, err);
}

int hx_envelope_decode_raw(const void *p, size_t len, hx_envelope_t *e, const char **data, size_t *data_len,
                           hx_err_t *err)
{
    return decode(p, len, e, data, data_len, err);
}

/* A length-prefixed string of at most max bytes without NULs, borrowed. */
static int view_str(hx_rd_t *r, size_t max, const char **s, size_t *n)
{
    const unsigned char *p;
    if (hx_rd_bytes(r, &p, n) || *n > max || memchr(p, 0, *n))
        return HX_ECORRUPT;
    *s = (const char *)p;
    return HX_OK;
}

int hx_envelope_peek(const void *p, size_t len, hx_envelope_view_t *v, hx_err_t *err)
{
    hx_rd_t r;
    hx_rd_init(&r, p, len);
    memset(v, 0, sizeof *v);
    uint8_t magic = 0, ver = 0;
    uint64_t nh = 0;
    const char *what = "header";
    if (hx_rd_u8(&r, &magic) || hx_rd_u8(&r, &ver) || magic != FRAME_MAGIC || ver != HX_ENVELOPE_VERSION)
        goto fail;
    what = "strings";
    if (view_str(&r, HX_ENV_ID_MAX, &v->id, &v->id_len) || view_str(&r, HX_ENV_TYPE_MAX, &v->type, &v->type_len) ||
        view_str(&r, HX_ENV_SOURCE_MAX, &v->source, &v->source_len) ||
        view_str(&r, HX_ENV_TENANT_MAX, &v->tenant, &v->tenant_len) ||
        view_str(&r, HX_ENV_KEY_MAX, &v->key, &v->key_len) || !v->tenant_len || !v->type_len)
        goto fail;
    what = "ts/seq";
    if (hx_rd_svarint(&r, &v->ts) || hx_rd_uvarint(&r, &v->seq) || v->ts < 0)
        goto fail;
    what = "headers";
    if (hx_rd_uvarint(&r, &nh) || nh > HX_ENV_HEADERS_MAX)
        goto fail;
    v->headers = r.p + r.pos;
    for (uint64_t i = 0; i < nh; i++) {
        const char *s;
        size_t n;
        if (view_str(&r, HX_ENV_HEADER_NAME_MAX, &s, &n) || !n || view_str(&r, HX_ENV_HEADER_VALUE_MAX, &s, &n))
            goto fail;
    }
    v->n_headers = (size_t)nh;
    v->headers_len = (size_t)(r.p + r.pos - (const unsigned char *)v->headers);
    what = "data";
    const unsigned char *d;
    if (hx_rd_bytes(&r, &d, &v->data_len))
        goto fail;
    v->data = (const char *)d;
    what = "trailing bytes";
    if (hx_rd_left(&r) != 0)
        goto fail;
    return HX_OK;
fail:
    return hx_err_set(err, HX_ECORRUPT, "malformed envelope frame (%s) at byte %zu of %zu", what, r.pos, len);
}

int hx_envelope_encoder_init(hx_envelope_encoder_t *enc, const hx_envelope_t *e, hx_err_t *err)
{
    hx_envelope_t probe = *e;
    probe.id = (char *)"x";
    probe.key = (char *)"";
    probe.ts = 0;
    probe.data = json_null();
    enc->e = e;
    return hx_envelope_validate(&probe, err);
}

int hx_envelope_encoder_put(const hx_envelope_encoder_t *enc, const char *id, const char *key, int64_t ts,
                            const char *data, size_t data_len, hx_buf_t *out, hx_err_t *err)
{
    size_t idn = strlen(id), keyn = strlen(key);
    if (!idn || idn > HX_ENV_ID_MAX)
        return hx_err_set(err, HX_EINVAL, "field 'id' must be 1..%d bytes", HX_ENV_ID_MAX);
    if (keyn > HX_ENV_KEY_MAX)
        return hx_err_set(err, HX_EINVAL, "field 'key' must be at most %d bytes", HX_ENV_KEY_MAX);
    if (ts < 0)
        return hx_err_set(err, HX_EINVAL, "field 'ts' must be a non-negative integer (ms since epoch)");
    if (!data || !data_len)
        return hx_err_set(err, HX_EINVAL, "field 'data' is required");
    hx_envelope_t e = *enc->e;
    e.id = (char *)id;
    e.key = (char *)key;
    e.ts = ts;
    return encode_frame(&e, data, data_len, out, err);
}
