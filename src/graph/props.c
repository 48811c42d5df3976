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
#include "helix/hx_json_read.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

/* Decimal digits of v (int64 range), into out (>= 21 bytes); returns the length. */
size_t hx_graph_fmt_i64(int64_t v, char *out)
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

/* 1 when jansson writes s as "s" with only '"' and '\\' escaped, as
 * hx_buf_put_json_str does: valid UTF-8 (jansson refuses to dump anything
 * else) without control characters (jansson has short escapes for some). */
static int plain_str(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return 0;
    return hx_utf8_valid(s, n);
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

static int put_value(hx_buf_t *b, const json_t *v)
{
    char num[24];
    switch (json_typeof(v)) {
    case JSON_STRING: return hx_buf_put_json_str(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return hx_buf_append(b, num, hx_graph_fmt_i64(json_integer_value(v), num));
    case JSON_TRUE: return hx_buf_append(b, "true", 4);
    case JSON_FALSE: return hx_buf_append(b, "false", 5);
    case JSON_NULL: return hx_buf_append(b, "null", 4);
    case JSON_ARRAY: {
        int rc = hx_buf_putc(b, '[');
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            rc = rc ? rc : i ? hx_buf_putc(b, ',') : HX_OK;
            rc = rc ? rc : put_value(b, x);
        }
        return rc ? rc : hx_buf_putc(b, ']');
    }
    default: return HX_EINVAL;
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
        for (const char *c = keys[i]; *c && !rc; c++)
            if ((unsigned char)*c < 0x20) /* a control character in a key: jansson's escapes */
                rc = HX_EINVAL;
        rc = rc ? rc : i ? hx_buf_putc(b, ',') : HX_OK;
        rc = rc ? rc : hx_buf_put_json_str(b, keys[i], strlen(keys[i]));
        rc = rc ? rc : hx_buf_putc(b, ':');
        rc = rc ? rc : put_value(b, vals[i]);
    }
    rc = rc ? rc : hx_buf_putc(b, '}');
    if (rc == HX_EINVAL) {
        b->len = start;
        char *t = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
        rc = t ? hx_buf_puts(b, t) : HX_ENOMEM;
        free(t);
    }
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
    json_t *o = hx_jr_eat(r, '{') ? json_object() : NULL;
    if (!o)
        goto refuse;
    if (hx_jr_eat(r, '}'))
        return o;
    do {
        const char *k;
        size_t kn;
        if (hx_jr_string(r, &k, &kn) || !hx_jr_eat(r, ':') || json_object_get(o, k))
            goto refuse;
        char key[80];
        if (kn >= sizeof key || memchr(k, 0, kn))
            goto refuse;
        memcpy(key, k, kn + 1); /* k lives in the reader's scratch, which the value reuses */
        char c = hx_jr_peek(r);
        json_t *v = c == '{' ? NULL : read_value(r);
        if (!v || json_object_set_new_nocheck(o, key, v))
            goto refuse;
    } while (hx_jr_eat(r, ','));
    if (hx_jr_eat(r, '}'))
        return o;
refuse:
    json_decref(o);
    r->pos = at;
    return NULL;
}
