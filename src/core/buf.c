#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_buf_reserve(hx_buf_t *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return HX_OK;
    size_t need = b->len + extra + 1; /* +1 keeps room for hx_buf_cstr's NUL */
    if (need < b->len)
        return HX_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return HX_ENOMEM;
    b->data = p;
    b->cap = cap;
    return HX_OK;
}

int hx_buf_append(hx_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return HX_OK;
    int rc = hx_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return HX_OK;
}

int hx_buf_putc(hx_buf_t *b, unsigned char c) { return hx_buf_append(b, &c, 1); }
int hx_buf_puts(hx_buf_t *b, const char *s) { return hx_buf_append(b, s, strlen(s)); }

/* jansson's compact form, so text we write and text jansson dumps agree
 * byte for byte (the records text reader relies on it): the short escapes,
 * \u00XX in upper case for the other control characters, the rest as is. */
int hx_buf_put_json_str(hx_buf_t *b, const char *s, size_t n)
{
    /* Room for the plain case up front, more only at an escape, and plain
     * stores in between: graph events write every id and name through here. */
    static const char hex[] = "0123456789ABCDEF";
    if (n > SIZE_MAX - 2 || hx_buf_reserve(b, n + 2))
        return HX_ENOMEM;
    unsigned char *o = b->data + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s, *end = p + n; p < end; p++) {
        unsigned char c = *p;
        if (c != '"' && c != '\\' && c >= 0x20) {
            *o++ = c;
            continue;
        }
        b->len = (size_t)(o - b->data);
        if (hx_buf_reserve(b, (size_t)(end - p) + 6)) /* this byte takes up to 6, the rest 1 each, the quote */
            return HX_ENOMEM;
        o = b->data + b->len;
        *o++ = '\\';
        switch (c) {
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '"':
        case '\\': *o++ = c; break;
        default:
            o[0] = 'u', o[1] = '0', o[2] = '0', o[3] = (unsigned char)hex[c >> 4], o[4] = (unsigned char)hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return HX_OK;
}

size_t hx_fmt_i64(int64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = 0;
    return o;
}

int hx_buf_printf(hx_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return HX_EINVAL;
    int rc = hx_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return HX_OK;
}

const char *hx_buf_cstr(hx_buf_t *b)
{
    if (hx_buf_reserve(b, 1))
        return NULL;
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

void hx_buf_reset(hx_buf_t *b) { b->len = 0; }

void hx_buf_free(hx_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *hx_buf_steal(hx_buf_t *b)
{
    if (!hx_buf_cstr(b))
        return NULL;
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

int hx_buf_put_u8(hx_buf_t *b, uint8_t v) { return hx_buf_append(b, &v, 1); }

int hx_buf_put_u16le(hx_buf_t *b, uint16_t v)
{
    unsigned char p[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    return hx_buf_append(b, p, 2);
}

int hx_buf_put_u32le(hx_buf_t *b, uint32_t v)
{
    unsigned char p[4];
    hx_store_u32le(p, v);
    return hx_buf_append(b, p, 4);
}

int hx_buf_put_u64le(hx_buf_t *b, uint64_t v)
{
    unsigned char p[8];
    hx_store_u64le(p, v);
    return hx_buf_append(b, p, 8);
}

int hx_buf_put_uvarint(hx_buf_t *b, uint64_t v)
{
    unsigned char p[10];
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return hx_buf_append(b, p, n);
}

int hx_buf_put_svarint(hx_buf_t *b, int64_t v)
{
    return hx_buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int hx_buf_put_bytes(hx_buf_t *b, const void *p, size_t n)
{
    int rc = hx_buf_put_uvarint(b, n);
    return rc ? rc : hx_buf_append(b, p, n);
}

void hx_rd_init(hx_rd_t *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->ok = 1;
}

static int rd_fail(hx_rd_t *r)
{
    r->ok = 0;
    return HX_ECORRUPT;
}

int hx_rd_raw(hx_rd_t *r, size_t n, const unsigned char **p)
{
    if (!r->ok || r->len - r->pos < n)
        return rd_fail(r);
    *p = r->p + r->pos;
    r->pos += n;
    return HX_OK;
}

int hx_rd_u8(hx_rd_t *r, uint8_t *v)
{
    const unsigned char *p;
    if (hx_rd_raw(r, 1, &p))
        return HX_ECORRUPT;
    *v = p[0];
    return HX_OK;
}

int hx_rd_u16le(hx_rd_t *r, uint16_t *v)
{
    const unsigned char *p;
    if (hx_rd_raw(r, 2, &p))
        return HX_ECORRUPT;
    *v = (uint16_t)(p[0] | p[1] << 8);
    return HX_OK;
}

int hx_rd_u32le(hx_rd_t *r, uint32_t *v)
{
    const unsigned char *p;
    if (hx_rd_raw(r, 4, &p))
        return HX_ECORRUPT;
    *v = hx_load_u32le(p);
    return HX_OK;
}

int hx_rd_u64le(hx_rd_t *r, uint64_t *v)
{
    const unsigned char *p;
    if (hx_rd_raw(r, 8, &p))
        return HX_ECORRUPT;
    *v = hx_load_u64le(p);
    return HX_OK;
}

int hx_rd_uvarint(hx_rd_t *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t c;
        if (hx_rd_u8(r, &c))
            return HX_ECORRUPT;
        if (shift == 63 && c > 1)
            return rd_fail(r);
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return HX_OK;
        }
    }
    return rd_fail(r);
}

int hx_rd_svarint(hx_rd_t *r, int64_t *v)
{
    uint64_t u;
    if (hx_rd_uvarint(r, &u))
        return HX_ECORRUPT;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return HX_OK;
}

int hx_rd_bytes(hx_rd_t *r, const unsigned char **p, size_t *n)
{
    uint64_t len;
    if (hx_rd_uvarint(r, &len))
        return HX_ECORRUPT;
    if (len > hx_rd_left(r))
        return rd_fail(r);
    *n = (size_t)len;
    return hx_rd_raw(r, (size_t)len, p);
}
