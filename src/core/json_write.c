/* JSON text written straight into a buffer, the bytes json_dumps gives
 * (hx_json.h): the write paths of memory and conversations serialize every
 * record and answer, and jansson's dump (a callback per piece, UTF-8
 * decoding per character, a loop check that prints each object's address)
 * cost more than building the values. */
#include "helix/hx_id.h"
#include "helix/hx_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int hx_json_write_str(hx_buf_t *b, const char *s, size_t n)
{
    /* jansson refuses to dump a string that is not UTF-8; hx_utf8_valid
     * refuses what it refuses (overlong forms, surrogates, past U+10FFFF) */
    if (!hx_utf8_valid(s, n))
        return HX_EINVAL;
    return hx_buf_reserve(b, n + 2) ? HX_ENOMEM : hx_buf_put_json_str(b, s, n);
}

int hx_json_write_int(hx_buf_t *b, int64_t v)
{
    char t[24];
    return hx_buf_append(b, t, hx_fmt_i64(v, t));
}

/* jansson writes a real as "%.17g" (".0" appended when that reads as an
 * integer). A value k / 2^10 below 2^30 has an exact decimal form of at
 * most 10 fraction digits and never an exponent under %.17g; when that form
 * has at most 17 significant digits it is exactly what printf prints (with
 * its trailing zeros cut): written here without printf. Such values (0.5,
 * 0.25, 1.0: a memory's default importance) are most reals a write carries.
 * 1 when v is not one of them. */
static int write_real_exact(hx_buf_t *b, double v)
{
    int neg = signbit(v) != 0;
    double a = neg ? -v : v;
    if (!(a < 1073741824.0))
        return 1; /* also NaN */
    double scaled = a * 1024.0; /* exact: a power of two */
    uint64_t k = (uint64_t)scaled;
    if ((double)k != scaled)
        return 1;
    uint64_t q = k * 9765625u; /* 5^10: a = q / 10^10 exactly, q < 2^64 */
    uint64_t ip = q / 10000000000u, fp = q % 10000000000u;
    char frac[10];
    int nf = 0, lead = 0;
    if (fp) {
        nf = 10;
        for (int i = 9; i >= 0; i--, fp /= 10)
            frac[i] = (char)('0' + fp % 10);
        while (frac[nf - 1] == '0')
            nf--;
        while (!ip && frac[lead] == '0')
            lead++;
    }
    int nint = 0;
    for (uint64_t t = ip; t; t /= 10)
        nint++;
    if (nint + nf - lead > 17)
        return 1; /* printf would round it */
    if (neg && hx_buf_putc(b, '-'))
        return -1;
    if (hx_json_write_int(b, (int64_t)ip) || hx_buf_putc(b, '.'))
        return -1;
    return hx_buf_append(b, nf ? frac : "0", nf ? (size_t)nf : 1) ? -1 : 0;
}

int hx_json_write_real(hx_buf_t *b, double v)
{
    if (!isfinite(v))
        return HX_EINVAL; /* jansson holds no such real */
    size_t start = b->len;
    int r = write_real_exact(b, v);
    if (r <= 0)
        return r ? HX_ENOMEM : HX_OK;
    b->len = start;
    /* jansson's rules: %.17g, ".0" when that reads as an integer, the
     * exponent without '+' and leading zeros */
    char t[48];
    int n = snprintf(t, sizeof t - 3, "%.17g", v);
    if (n < 0 || n >= (int)sizeof t - 3)
        return HX_EINVAL;
    if (!strchr(t, '.') && !strchr(t, 'e')) {
        memcpy(t + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(t, 'e');
    if (e) {
        char *d = e + 1, *from = e + 1;
        if (*from == '+')
            from++;
        else if (*from == '-')
            d++, from++;
        while (*from == '0' && from[1])
            from++;
        memmove(d, from, strlen(from) + 1);
        n = (int)strlen(t);
    }
    return hx_buf_append(b, t, (size_t)n);
}

static int dump_cb(const char *p, size_t n, void *ud) { return hx_buf_append(ud, p, n) ? -1 : 0; }

/* Deeper values go to jansson: its bytes for a part are the bytes it gives
 * within the whole. */
#define OWN_DEPTH 32

static int write_val(hx_buf_t *b, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return hx_json_write_str(b, json_string_value(v), json_string_length(v));
    case JSON_NULL: return hx_buf_append(b, "null", 4);
    case JSON_TRUE: return hx_buf_append(b, "true", 4);
    case JSON_FALSE: return hx_buf_append(b, "false", 5);
    case JSON_INTEGER: return hx_json_write_int(b, json_integer_value(v));
    case JSON_REAL: return hx_json_write_real(b, json_real_value(v));
    case JSON_OBJECT:
        if (depth < OWN_DEPTH) {
            int rc = hx_buf_putc(b, '{');
            const char *k;
            const json_t *m;
            size_t n = 0;
            json_object_foreach((json_t *)v, k, m)
            {
                rc = rc ? rc : (n++ && hx_buf_putc(b, ',')) ? HX_ENOMEM : hx_json_write_str(b, k, strlen(k));
                rc = rc ? rc : hx_buf_putc(b, ':');
                rc = rc ? rc : write_val(b, m, depth + 1);
            }
            return rc ? rc : hx_buf_putc(b, '}');
        }
        break;
    case JSON_ARRAY:
        if (depth < OWN_DEPTH) {
            int rc = hx_buf_putc(b, '[');
            for (size_t i = 0; i < json_array_size(v) && !rc; i++)
                rc = (i && hx_buf_putc(b, ',')) ? HX_ENOMEM : write_val(b, json_array_get(v, i), depth + 1);
            return rc ? rc : hx_buf_putc(b, ']');
        }
        break;
    default: break;
    }
    size_t start = b->len;
    if (json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY)) {
        b->len = start;
        return HX_EINVAL;
    }
    return HX_OK;
}

int hx_json_write(hx_buf_t *b, const json_t *v)
{
    if (!v)
        return HX_EINVAL;
    size_t start = b->len;
    int rc = write_val(b, v, 0);
    if (rc)
        b->len = start;
    return rc;
}
