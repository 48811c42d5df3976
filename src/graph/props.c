/* Properties objects as text, both ways, without jansson's general codec
 * on the hot path: every entity the pipeline extracts carries a small one
 * ({"numbers":["16","7"]}), and json_dumps / json_loadb of it cost more
 * than the rest of its graph event. The writer gives exactly the bytes of
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) and the reader exactly the tree
 * of json_loadb(JSON_REJECT_DUPLICATES); each handles the shapes properties
 * have (flat objects of strings, integers, booleans, nulls and arrays of
 * them) and hands anything else to jansson, so no input is read or written
 * differently. */
#include "graph/graph_int.h"
#include "helix/hx_json.h"
#include "helix/hx_json_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

/* printf's "%.17g" of v, exactly (glibc prints the exact binary value
 * rounded half to even, as here), for 1e-4 <= |v| < 1e16, where 17
 * significant digits never take the exponent form; snprintf elsewhere.
 * Every confidence of every extracted entity is written with it, and
 * snprintf's general path was a sixth of an event's encode. */
size_t hx_graph_fmt_g17(double v, char *out)
{
    static const uint64_t pow5[28] = {1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull,
                                      390625ull, 1953125ull, 9765625ull, 48828125ull, 244140625ull,
                                      1220703125ull, 6103515625ull, 30517578125ull, 152587890625ull,
                                      762939453125ull, 3814697265625ull, 19073486328125ull, 95367431640625ull,
                                      476837158203125ull, 2384185791015625ull, 11920928955078125ull,
                                      59604644775390625ull, 298023223876953125ull, 1490116119384765625ull,
                                      7450580596923828125ull};
    const uint64_t lo = 10000000000000000ull, hi = 100000000000000000ull; /* 1e16, 1e17 */
    int neg = v < 0;
    double a = neg ? -v : v;
    if (!(a >= 1e-4 && a < 1e16))
        return (size_t)snprintf(out, 40, "%.17g", v);
    int bex;
    uint64_t m = (uint64_t)ldexp(frexp(a, &bex), 53); /* a = m * 2^(bex - 53), exactly */
    int q = bex - 53, e = (int)floor(log10(a));      /* e: the decimal exponent, maybe one off */
    uint64_t digits = 0;
    for (int tries = 0;; tries++) {
        int s = 16 - e; /* digits = round(a * 10^s) = round(m * 5^s * 2^(q + s)) */
        if (tries > 2 || s < 0 || s > 27)
            return (size_t)snprintf(out, 40, "%.17g", v);
        unsigned __int128 p = (unsigned __int128)m * pow5[s], t;
        int sh = q + s, up = 0;
        if (sh >= 0) {
            if (sh > 8)
                return (size_t)snprintf(out, 40, "%.17g", v);
            t = p << sh;
        } else if (sh > -120) {
            t = p >> -sh;
            unsigned __int128 rem = p - (t << -sh), half = (unsigned __int128)1 << (-sh - 1);
            up = rem > half || (rem == half && (t & 1));
        } else {
            return (size_t)snprintf(out, 40, "%.17g", v);
        }
        if (t >= hi) {
            e++;
            continue;
        }
        if (t < lo) {
            e--;
            continue;
        }
        digits = (uint64_t)t + (uint64_t)up;
        if (digits == hi) { /* rounded up to the next power of ten */
            digits = lo;
            e++;
        }
        break;
    }
    if (e < -4 || e >= 17)
        return (size_t)snprintf(out, 40, "%.17g", v);
    char d[17];
    for (int i = 16; i >= 0; i--, digits /= 10)
        d[i] = (char)('0' + digits % 10);
    int nd = 17;
    while (nd > 1 && d[nd - 1] == '0') /* %g drops trailing zeros */
        nd--;
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (e >= 0) {
        for (int i = 0; i <= e; i++)
            out[o++] = i < nd ? d[i] : '0';
        if (nd > e + 1) {
            out[o++] = '.';
            for (int i = e + 1; i < nd; i++)
                out[o++] = d[i];
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -e - 1; i++)
            out[o++] = '0';
        for (int i = 0; i < nd; i++)
            out[o++] = d[i];
    }
    out[o] = 0;
    return o;
}

/* 1 when jansson dumps the string as hx_buf_put_json_str writes it: when
 * it is valid UTF-8 (jansson refuses to dump anything else). */
static int plain_str(const json_t *v)
{
    return hx_utf8_valid(json_string_value(v), json_string_length(v));
}

static int plain_value(const json_t *v, int in_array)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return plain_str(v);
    case JSON_INTEGER:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL: return 1;
    case JSON_ARRAY: {
        if (in_array)
            return 0;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (!plain_value(x, 1)) return 0;
        return 1;
    }
    default: return 0; /* reals (jansson's own %.17g rules) and objects */
    }
}

int hx_graph_props_put(hx_buf_t *b, const json_t *props)
{
    const char *keys[HX_GRAPH_PROPS_MAX];
    const json_t *vals[HX_GRAPH_PROPS_MAX];
    size_t n = 0;
    const char *k;
    json_t *v;
    int plain = json_is_object(props) && json_object_size(props) <= HX_GRAPH_PROPS_MAX;
    if (plain)
        json_object_foreach((json_t *)props, k, v) {
            if (!plain_value(v, 0) || !hx_utf8_valid(k, strlen(k))) {
                plain = 0;
                break;
            }
            /* insertion sort by strcmp: jansson's order for keys without NULs */
            size_t i = n++;
            for (; i > 0 && strcmp(keys[i - 1], k) > 0; i--) {
                keys[i] = keys[i - 1];
                vals[i] = vals[i - 1];
            }
            keys[i] = k;
            vals[i] = v;
        }
    if (!plain) {
        char *t = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
        int rc = t ? hx_buf_puts(b, t) : HX_ENOMEM;
        free(t);
        return rc;
    }
    size_t start = b->len;
    int rc = hx_buf_putc(b, '{');
    for (size_t i = 0; i < n && !rc; i++) {
        rc = i ? hx_buf_putc(b, ',') : HX_OK;
        rc = rc ? rc : hx_buf_put_json_str(b, keys[i], strlen(keys[i]));
        rc = rc ? rc : hx_buf_putc(b, ':');
        rc = rc ? rc : hx_json_write(b, vals[i]); /* a plain_value: the bytes jansson gives */
    }
    rc = rc ? rc : hx_buf_putc(b, '}');
    if (rc)
        b->len = start;
    return rc;
}

/* ---- reading ---- */

/* A primitive of the fast path (strings, integers of at most 15 digits,
 * which a double holds exactly, reals as strtod reads them, true, false,
 * null), or NULL. */
static json_t *read_primitive(hx_jr_t *r)
{
    const char *s;
    size_t n;
    double d;
    int is_int, b;
    switch (hx_jr_peek(r)) {
    case '"': return hx_jr_string(r, &s, &n) ? NULL : json_stringn_nocheck(s, n);
    case 't':
    case 'f': return hx_jr_bool(r, &b) ? NULL : json_boolean(b);
    case 'n': return hx_jr_null(r) ? NULL : json_null();
    default: {
        size_t at = r->pos;
        if (hx_jr_number(r, &d, &is_int))
            return NULL;
        if (!is_int)
            return json_real(d);
        size_t digits = r->pos - at - (r->p[at] == '-');
        return digits <= 15 ? json_integer((json_int_t)d) : NULL;
    }
    }
}

static json_t *read_value(hx_jr_t *r)
{
    if (hx_jr_peek(r) != '[')
        return read_primitive(r);
    r->pos++;
    json_t *a = json_array();
    if (!a || hx_jr_eat(r, ']'))
        return a;
    do {
        char c = hx_jr_peek(r);
        json_t *x = c == '[' || c == '{' ? NULL : read_primitive(r);
        if (!x || json_array_append_new(a, x)) {
            json_decref(a);
            return NULL;
        }
    } while (hx_jr_eat(r, ','));
    if (!hx_jr_eat(r, ']')) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *hx_graph_props_read(hx_jr_t *r)
{
    size_t at = r->pos;
    json_t *o = hx_jr_peek(r) == '{' ? json_object() : NULL;
    int first = 1, more;
    const char *k;
    size_t kn;
    if (!o)
        goto refuse;
    while ((more = hx_jr_member_next(r, &first, &k, &kn)) > 0) {
        char key[80];
        if (kn >= sizeof key || memchr(k, 0, kn))
            goto refuse;
        /* NUL-terminated, and k may be the reader's scratch, which the value reuses */
        memcpy(key, k, kn);
        key[kn] = 0;
        if (json_object_get(o, key))
            goto refuse;
        char c = hx_jr_peek(r);
        json_t *v = c == '{' ? NULL : read_value(r);
        if (!v || json_object_set_new_nocheck(o, key, v))
            goto refuse;
    }
    if (!more)
        return o;
refuse:
    json_decref(o);
    r->pos = at;
    return NULL;
}

char *hx_graph_props_dump(const json_t *props)
{
    hx_buf_t b = HX_BUF_INIT;
    if (hx_graph_props_put(&b, props)) {
        hx_buf_free(&b);
        return NULL;
    }
    return hx_buf_steal(&b);
}

json_t *hx_graph_props_load(const char *text, size_t flags)
{
    size_t n = strlen(text);
    hx_jr_t r;
    hx_jr_init(&r, text, n);
    json_t *o = hx_jr_peek(&r) == '{' ? hx_graph_props_read(&r) : NULL;
    hx_jr_ws(&r);
    if (o && r.pos != n) { /* more after the object: jansson's refusal */
        json_decref(o);
        o = NULL;
    }
    hx_jr_free(&r);
    return o ? o : json_loadb(text, n, flags, NULL);
}
