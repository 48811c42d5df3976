/* The row codec's JSON scanner (see json_scan.h). */
#include "analytics/ingest/json_scan.h"
#include "helix/hx_id.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int js_peek(js_t *j)
{
    js_ws(j);
    if (j->p >= j->end)
        return 0;
    switch (*j->p) {
    case '"': return JS_STR;
    case '{': return JS_OBJ;
    case '[': return JS_ARR;
    case 't': return JS_TRUE;
    case 'f': return JS_FALSE;
    case 'n': return JS_NULL;
    default: return (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) ? JS_NUM : 0;
    }
}

int js_expect(js_t *j, char c)
{
    js_ws(j);
    if (j->p >= j->end || *j->p != c) {
        j->why = c == ':' ? "expected ':'" : c == '}' ? "expected ',' or '}'" : c == ']' ? "expected ',' or ']'"
                                                                                        : "unexpected character";
        return -1;
    }
    j->p++;
    return 0;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at p (0 if invalid). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int js_string(js_t *j, const char **s, size_t *n)
{
    js_ws(j);
    if (j->p >= j->end || *j->p != '"') {
        j->why = "expected a string";
        return -1;
    }
    const char *q = ++j->p;
    /* Eight bytes at a time while none is a quote, a backslash, a control
     * character or non-ASCII (any-byte tests: a hit may be a false alarm,
     * never a miss); the byte loop below takes over from the first hit. */
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (j->end - q >= 8) {
        uint64_t v, x, y;
        memcpy(&v, q, 8);
        x = v ^ (ones * '"');
        y = v ^ (ones * '\\');
        if ((((x - ones) & ~x) | ((y - ones) & ~y) | ((v - ones * 0x20) & ~v) | v) & highs)
            break;
        q += 8;
    }
    /* Fast path: no escapes. */
    while (q < j->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = j->p;
            *n = (size_t)(q - j->p);
            j->p = q + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20) {
            j->why = "control character in a string";
            j->p = q;
            return -1;
        }
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)q, (const unsigned char *)j->end);
            if (!l) {
                j->why = "invalid UTF-8 in a string";
                j->p = q;
                return -1;
            }
            q += l;
        } else {
            q++;
        }
    }
    if (q >= j->end) {
        j->why = "unterminated string";
        return -1;
    }
    /* Slow path: unescape into scratch (never longer than the input). */
    size_t need = (size_t)(j->end - j->p);
    if (need > j->scratch_cap) {
        size_t cap = j->scratch_cap ? j->scratch_cap : 256;
        while (cap < need)
            cap *= 2;
        char *ns = realloc(j->scratch, cap);
        if (!ns)
            return -2;
        j->scratch = ns;
        j->scratch_cap = cap;
    }
    char *o = j->scratch;
    size_t w = (size_t)(q - j->p);
    memcpy(o, j->p, w);
    while (q < j->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = o;
            *n = w;
            j->p = q + 1;
            return 0;
        }
        if (c < 0x20) {
            j->why = "control character in a string";
            j->p = q;
            return -1;
        }
        if (c == '\\') {
            if (q + 1 >= j->end)
                break;
            char e = q[1];
            q += 2;
            switch (e) {
            case '"': o[w++] = '"'; break;
            case '\\': o[w++] = '\\'; break;
            case '/': o[w++] = '/'; break;
            case 'b': o[w++] = '\b'; break;
            case 'f': o[w++] = '\f'; break;
            case 'n': o[w++] = '\n'; break;
            case 'r': o[w++] = '\r'; break;
            case 't': o[w++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (j->end - q < 4 || hex4(q, &cp)) {
                    j->why = "bad \\u escape";
                    j->p = q;
                    return -1;
                }
                q += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (j->end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) || lo < 0xdc00 ||
                        lo > 0xdfff) {
                        j->why = "unpaired surrogate in a \\u escape";
                        j->p = q;
                        return -1;
                    }
                    q += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    j->why = "unpaired surrogate in a \\u escape";
                    j->p = q;
                    return -1;
                }
                if (cp == 0) {
                    j->why = "NUL characters are not allowed in strings";
                    j->p = q;
                    return -1;
                }
                w += hx_utf8_put(o + w, cp);
                break;
            }
            default:
                j->why = "bad escape in a string";
                j->p = q - 2;
                return -1;
            }
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)q, (const unsigned char *)j->end);
            if (!l) {
                j->why = "invalid UTF-8 in a string";
                j->p = q;
                return -1;
            }
            memcpy(o + w, q, l);
            w += l;
            q += l;
        } else {
            o[w++] = (char)c;
            q++;
        }
    }
    j->why = "unterminated string";
    return -1;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int js_number(js_t *j, int *is_int, int64_t *ival, double *fval)
{
    js_ws(j);
    const char *p = j->p, *start = p;
    int neg = 0;
    if (p < j->end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= j->end || *p < '0' || *p > '9') {
        j->why = "expected a number";
        return -1;
    }
    uint64_t mant = 0;
    int digits = 0, exp10 = 0, frac = 0, big = 0;
    if (*p == '0') {
        p++;
        if (p < j->end && *p >= '0' && *p <= '9') {
            j->why = "numbers cannot have leading zeros";
            return -1;
        }
    } else {
        while (p < j->end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    digits++;
            } else {
                exp10++;
                big = 1;
            }
            p++;
        }
    }
    if (p < j->end && *p == '.') {
        frac = 1;
        p++;
        if (p >= j->end || *p < '0' || *p > '9') {
            j->why = "a digit must follow the decimal point";
            return -1;
        }
        while (p < j->end && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant)
                    digits++;
                exp10--;
            } else {
                big = 1;
            }
            p++;
        }
    }
    if (p < j->end && (*p == 'e' || *p == 'E')) {
        frac = 1;
        p++;
        int eneg = 0, e = 0;
        if (p < j->end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= j->end || *p < '0' || *p > '9') {
            j->why = "a digit must follow the exponent";
            return -1;
        }
        while (p < j->end && *p >= '0' && *p <= '9') {
            if (e < 100000)
                e = e * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -e : e;
    }
    j->p = p;
    *is_int = 0;
    if (!frac && !big && (mant <= (uint64_t)INT64_MAX || (neg && mant == (uint64_t)INT64_MAX + 1))) {
        *is_int = 1;
        *ival = neg ? (int64_t)(0 - mant) : (int64_t)mant;
        *fval = neg ? -(double)mant : (double)mant;
        return 0;
    }
    if (!big && mant < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        /* Both exact, so one correctly rounded operation (Clinger's fast path). */
        double v = exp10 < 0 ? (double)mant / pow10_exact[-exp10] : (double)mant * pow10_exact[exp10];
        *fval = neg ? -v : v;
    } else {
        char buf[128];
        size_t n = (size_t)(p - start);
        if (n >= sizeof buf) {
            j->why = "number too long";
            return -1;
        }
        memcpy(buf, start, n);
        buf[n] = 0;
        *fval = strtod(buf, NULL);
    }
    if (!isfinite(*fval)) {
        j->why = "number out of range";
        return -1;
    }
    return 0;
}

static int js_lit(js_t *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n)) {
        j->why = "unexpected word (expected true, false or null)";
        return -1;
    }
    j->p += n;
    return 0;
}

int js_skip(js_t *j, int depth)
{
    if (depth > 64) {
        j->why = "nested too deeply";
        return -1;
    }
    const char *s;
    size_t n;
    int is_int;
    int64_t i;
    double f;
    switch (js_peek(j)) {
    case JS_STR: return js_string(j, &s, &n);
    case JS_NUM: return js_number(j, &is_int, &i, &f);
    case JS_TRUE: return js_lit(j, "true");
    case JS_FALSE: return js_lit(j, "false");
    case JS_NULL: return js_lit(j, "null");
    case JS_ARR:
        j->p++;
        if (js_peek(j) == 0 && j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        for (;;) {
            int rc = js_skip(j, depth + 1);
            if (rc)
                return rc;
            js_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return js_expect(j, ']');
        }
    case JS_OBJ:
        j->p++;
        js_ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return 0;
        }
        for (;;) {
            int rc = js_string(j, &s, &n);
            if (!rc)
                rc = js_expect(j, ':');
            if (!rc)
                rc = js_skip(j, depth + 1);
            if (rc)
                return rc;
            js_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return js_expect(j, '}');
        }
    }
    j->why = "expected a JSON value";
    return -1;
}

void js_free(js_t *j)
{
    free(j->scratch);
    j->scratch = NULL;
    j->scratch_cap = 0;
}
