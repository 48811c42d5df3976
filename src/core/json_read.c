/* The strict JSON reader of hx_json_read.h (RFC 8259 grammar). */
#include "helix/hx_json_read.h"
#include "helix/hx_id.h"
#include "helix/hx_error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void hx_jr_init(hx_jr_t *r, const char *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->n = n;
}

void hx_jr_free(hx_jr_t *r)
{
    free(r->scratch);
    r->scratch = NULL;
    r->scratch_cap = 0;
}

void hx_jr_ws(hx_jr_t *r)
{
    while (r->pos < r->n) {
        char c = r->p[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        r->pos++;
    }
}

char hx_jr_peek(hx_jr_t *r)
{
    hx_jr_ws(r);
    return r->pos < r->n ? r->p[r->pos] : 0;
}

int hx_jr_eat(hx_jr_t *r, char c)
{
    if (hx_jr_peek(r) != c)
        return 0;
    r->pos++;
    return 1;
}

static int hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return HX_EINVAL;
        *v = *v << 4 | (uint32_t)d;
    }
    return HX_OK;
}

/* Bytes of v that may be '"', '\\' or a control character (exact when
 * 0; a set bit may be a false alarm only after a true one). */
static inline uint64_t stop_bytes(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return ((q - ones) & ~q & high) | ((b - ones) & ~b & high) | ((v - ones * 0x20) & ~v & high);
}

int hx_jr_string(hx_jr_t *r, const char **s, size_t *len)
{
    if (!hx_jr_eat(r, '"'))
        return HX_EINVAL;
    size_t start = r->pos, end = start;
    int esc = 0;
    for (;;) {
        /* whole words while none of their bytes can stop the string (as in hx_jr_plain) */
        uint64_t v;
        while (end + 8 <= r->n && (memcpy(&v, r->p + end, 8), !stop_bytes(v)))
            end += 8;
        if (end >= r->n || r->p[end] == '"')
            break;
        unsigned char c = (unsigned char)r->p[end];
        if (c < 0x20)
            return HX_EINVAL;
        if (c == '\\') {
            esc = 1;
            end++;
        }
        end++;
    }
    if (end >= r->n)
        return HX_EINVAL;
    r->pos = end + 1;
    /* the output is never longer than the input */
    if (end - start + 1 > r->scratch_cap) {
        size_t cap = (end - start + 1) * 2;
        char *p = realloc(r->scratch, cap);
        if (!p)
            return HX_EINVAL;
        r->scratch = p;
        r->scratch_cap = cap;
    }
    if (!esc) {
        if (!hx_utf8_valid(r->p + start, end - start))
            return HX_EINVAL;
        memcpy(r->scratch, r->p + start, end - start);
        r->scratch[end - start] = 0;
        *s = r->scratch;
        *len = end - start;
        return HX_OK;
    }
    char *o = r->scratch;
    size_t k = 0;
    for (size_t i = start; i < end; i++) {
        /* the run up to the next escape in one copy */
        const char *bs = memchr(r->p + i, '\\', end - i);
        size_t run = bs ? (size_t)(bs - (r->p + i)) : end - i;
        memcpy(o + k, r->p + i, run);
        k += run;
        i += run;
        if (i >= end)
            break;
        char c = r->p[++i];
        switch (c) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (end - i < 5 || hex4(r->p + i + 1, &cp))
                return HX_EINVAL;
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - i < 7 || r->p[i + 1] != '\\' || r->p[i + 2] != 'u' || hex4(r->p + i + 3, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return HX_EINVAL;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
                return HX_EINVAL;
            }
            k += hx_utf8_put(o + k, cp);
            break;
        }
        default: return HX_EINVAL;
        }
    }
    o[k] = 0;
    if (!hx_utf8_valid(o, k))
        return HX_EINVAL;
    *s = o;
    *len = k;
    return HX_OK;
}

/* Plain decimals of at most 15 significant digits ("0.25", "12", "-3.5"):
 * mantissa / 10^k with both exact doubles is correctly rounded, the same
 * value strtod gives, without its cost (every strength and confidence of
 * every event passes here). 0 when the text needs strtod. */
static int fast_decimal(const char *p, size_t n, double *v)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = 0, digits = 0, frac = -1;
    uint64_t m = 0;
    if (i < n && p[i] == '-')
        neg = 1, i++;
    for (; i < n; i++) {
        char c = p[i];
        if (c == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (c < '0' || c > '9')
            return 0; /* an exponent: strtod */
        if (++digits > 15)
            return 0;
        m = m * 10 + (uint64_t)(c - '0');
        if (frac >= 0)
            frac++;
    }
    if (!digits || frac > 22)
        return 0;
    double d = (double)m / pow10[frac > 0 ? frac : 0];
    *v = neg ? -d : d;
    return 1;
}

int hx_jr_number(hx_jr_t *r, double *v, int *is_int)
{
    hx_jr_ws(r);
    size_t i = r->pos;
    int integer = 1;
    if (i < r->n && r->p[i] == '-')
        i++;
    if (i >= r->n)
        return HX_EINVAL;
    if (r->p[i] == '0')
        i++;
    else if (r->p[i] >= '1' && r->p[i] <= '9')
        while (i < r->n && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
    else
        return HX_EINVAL;
    if (i < r->n && r->p[i] == '.') {
        integer = 0;
        size_t d = ++i;
        while (i < r->n && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
        if (i == d)
            return HX_EINVAL;
    }
    if (i < r->n && (r->p[i] == 'e' || r->p[i] == 'E')) {
        integer = 0;
        i++;
        if (i < r->n && (r->p[i] == '+' || r->p[i] == '-'))
            i++;
        size_t d = i;
        while (i < r->n && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
        if (i == d)
            return HX_EINVAL;
    }
    size_t len = i - r->pos;
    if (fast_decimal(r->p + r->pos, len, v)) {
        if (is_int)
            *is_int = integer;
        r->pos = i;
        return HX_OK;
    }
    char buf[64];
    if (len >= sizeof buf)
        return HX_EINVAL;
    memcpy(buf, r->p + r->pos, len);
    buf[len] = 0;
    *v = strtod(buf, NULL);
    if (!isfinite(*v))
        return HX_EINVAL;
    if (is_int)
        *is_int = integer;
    r->pos = i;
    return HX_OK;
}

static int literal(hx_jr_t *r, const char *lit)
{
    hx_jr_ws(r);
    size_t n = strlen(lit);
    if (r->n - r->pos < n || memcmp(r->p + r->pos, lit, n))
        return HX_EINVAL;
    r->pos += n;
    return HX_OK;
}

int hx_jr_bool(hx_jr_t *r, int *v)
{
    if (!literal(r, "true")) {
        *v = 1;
        return HX_OK;
    }
    if (!literal(r, "false")) {
        *v = 0;
        return HX_OK;
    }
    return HX_EINVAL;
}

int hx_jr_null(hx_jr_t *r)
{
    return literal(r, "null");
}

int hx_jr_plain(hx_jr_t *r, const char **s, size_t *len)
{
    if (hx_jr_peek(r) != '"')
        return 0;
    const unsigned char *p = (const unsigned char *)r->p;
    size_t i = r->pos + 1, n = r->n;
    uint64_t hi = 0;
    /* Eight bytes at a time through the plain run: long message texts are
     * most of what the text readers scan. */
    while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (stop_bytes(v))
            break;
        hi |= v;
        i += 8;
    }
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        hi |= c;
    }
    if (i >= n || p[i] != '"' ||
        ((hi & 0x8080808080808080ull) && !hx_utf8_valid(r->p + r->pos + 1, i - r->pos - 1)))
        return 0;
    *s = r->p + r->pos + 1;
    *len = i - r->pos - 1;
    r->pos = i + 1;
    return 1;
}

int hx_jr_member_next(hx_jr_t *r, int *first, const char **key, size_t *key_len)
{
    if (*first) {
        *first = 0;
        if (!hx_jr_eat(r, '{'))
            return HX_EINVAL;
        if (hx_jr_eat(r, '}'))
            return 0;
    } else if (!hx_jr_eat(r, ',')) {
        return hx_jr_eat(r, '}') ? 0 : HX_EINVAL;
    }
    /* plain first: most keys have no escapes, and then nothing is copied */
    if ((!hx_jr_plain(r, key, key_len) && hx_jr_string(r, key, key_len)) || !hx_jr_eat(r, ':'))
        return HX_EINVAL;
    return 1;
}

/* A string checked as hx_jr_string checks it, without copying it when it
 * has no escapes (skipped values are most of what some readers see). */
static int skip_string(hx_jr_t *r)
{
    const char *s;
    size_t n;
    return hx_jr_plain(r, &s, &n) ? HX_OK : hx_jr_string(r, &s, &n);
}

/* A number checked as hx_jr_number checks it: an integer shorter than its
 * strtod buffer is always finite, so it needs no conversion (the memory
 * engine's clocks, skipped by the extractor, have 19 digits). */
static int skip_number(hx_jr_t *r)
{
    size_t i = r->pos;
    if (i < r->n && r->p[i] == '-')
        i++;
    if (i < r->n && r->p[i] == '0')
        i++;
    else if (i < r->n && r->p[i] >= '1' && r->p[i] <= '9')
        while (i < r->n && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
    else
        i = r->pos + 64; /* not a number: hx_jr_number says so */
    if (i - r->pos < 64 && !(i < r->n && (r->p[i] == '.' || r->p[i] == 'e' || r->p[i] == 'E'))) {
        r->pos = i;
        return HX_OK;
    }
    double d;
    return hx_jr_number(r, &d, NULL);
}

static int skip(hx_jr_t *r, int depth)
{
    if (depth > HX_JR_DEPTH_MAX)
        return HX_EINVAL;
    char c = hx_jr_peek(r);
    int b;
    switch (c) {
    case '"': return skip_string(r);
    case '{': {
        int first = 1, more;
        const char *k;
        size_t kn;
        while ((more = hx_jr_member_next(r, &first, &k, &kn)) > 0)
            if (skip(r, depth + 1))
                return HX_EINVAL;
        return more;
    }
    case '[':
        r->pos++;
        if (hx_jr_eat(r, ']'))
            return HX_OK;
        do {
            if (skip(r, depth + 1))
                return HX_EINVAL;
        } while (hx_jr_eat(r, ','));
        return hx_jr_eat(r, ']') ? HX_OK : HX_EINVAL;
    case 't':
    case 'f': return hx_jr_bool(r, &b);
    case 'n': return hx_jr_null(r);
    default: return skip_number(r);
    }
}

int hx_jr_skip(hx_jr_t *r, size_t *start, size_t *end)
{
    hx_jr_ws(r);
    *start = r->pos;
    int rc = skip(r, 0);
    *end = r->pos;
    return rc;
}
