/* Query-string parsing and percent-decoding (pure). */
#include "server/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hx_percent_decode(const char *s, size_t len, int plus_space, char **out)
{
    *out = NULL;
    char *d = malloc(len + 1);
    if (!d)
        return HX_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                goto bad;
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        /* C strings cannot carry NUL; reject rather than truncate silently. */
        if (c == '\0')
            goto bad;
        d[k++] = c;
    }
    d[k] = '\0';
    *out = d;
    return HX_OK;
bad:
    free(d);
    return HX_EINVAL;
}

int hx_query_parse(const char *qs, size_t len, hx_query_t *q, hx_err_t *err)
{
    memset(q, 0, sizeof *q);
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && qs[e] != '&')
            e++;
        if (e > i) {
            if (q->n == HX_QUERY_MAX_PARAMS)
                return hx_err_set(err, HX_EINVAL, "query string has more than %d parameters",
                                  HX_QUERY_MAX_PARAMS);
            size_t eq = i;
            while (eq < e && qs[eq] != '=')
                eq++;
            int rc = hx_percent_decode(qs + i, eq - i, 1, &q->keys[q->n]);
            if (!rc)
                rc = eq < e ? hx_percent_decode(qs + eq + 1, e - eq - 1, 1, &q->values[q->n])
                            : hx_percent_decode("", 0, 1, &q->values[q->n]);
            if (rc) {
                free(q->keys[q->n]);
                q->keys[q->n] = NULL;
                if (rc == HX_ENOMEM)
                    return hx_err_set(err, rc, "out of memory parsing the query string");
                return hx_err_set(err, HX_EINVAL,
                                  "query string has a bad percent-escape near '%.*s'",
                                  (int)(e - i > 64 ? 64 : e - i), qs + i);
            }
            q->n++;
        }
        i = e + 1;
    }
    return HX_OK;
}

const char *hx_query_get(const hx_query_t *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->keys[i], key) == 0)
            return q->values[i];
    return NULL;
}

void hx_query_free(hx_query_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->keys[i]);
        free(q->values[i]);
    }
    q->n = 0;
}

int hx_query_int(const char *s, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out, hx_err_t *err)
{
    *out = def;
    if (!s)
        return HX_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* strtoll accepts leading space and '+'; a query value is digits with an optional '-'. */
    if (!*s || *end || errno || v < min || v > max || (*s != '-' && (*s < '0' || *s > '9')))
        return hx_err_set(err, HX_EINVAL, "query parameter '%.64s' must be an integer between %lld and %lld", name,
                          (long long)min, (long long)max);
    *out = v;
    return HX_OK;
}
