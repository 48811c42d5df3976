/* Pure routing and query-string parsing (no I/O, no MHD), so they can be
 * fuzzed and unit-tested on their own. Internal to src/server. */
#ifndef HX_SERVER_ROUTER_H
#define HX_SERVER_ROUTER_H

#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

#define HX_ROUTE_MAX_SEGS 32
#define HX_ROUTE_MAX_PARAMS 8
#define HX_QUERY_MAX_PARAMS 128

typedef struct hx_route {
    char *method;
    char *pattern;
    size_t nsegs;
    char **segs;        /* literal text, or the param name when is_param[i] */
    unsigned char *is_param;
    void (*fn)(void);   /* the handler, opaque here */
    void *ctx;
    int role;           /* the server's hx_role_t, opaque here */
} hx_route_t;

typedef struct hx_router {
    hx_route_t *routes;
    size_t n, cap;
} hx_router_t;

typedef struct hx_route_match {
    const hx_route_t *route;      /* set when status == 200 */
    const char *pattern;          /* the pattern the path fits (200 and 405), for metrics */
    size_t nparams;
    const char *names[HX_ROUTE_MAX_PARAMS]; /* borrowed from the route */
    char *values[HX_ROUTE_MAX_PARAMS];      /* owned, decoded */
    char allow[128];              /* "GET, POST" when status == 405 */
} hx_route_match_t;

/* HX_EINVAL for a malformed pattern ("/a/{x"), HX_EEXIST for a duplicate. */
int hx_router_add(hx_router_t *r, const char *method, const char *pattern, void (*fn)(void), void *ctx,
                  hx_err_t *err);
/* Matches the raw (percent-encoded) path of len bytes. Segments are decoded
 * after splitting, so "%2F" stays inside a parameter. Returns 200, 404, 405
 * (m->allow lists the methods) or 400 (bad encoding). HEAD falls back to GET.
 * Call hx_route_match_free() whatever the result. */
int hx_router_match(const hx_router_t *r, const char *method, const char *path, size_t len,
                    hx_route_match_t *m);
void hx_route_match_free(hx_route_match_t *m);
void hx_router_free(hx_router_t *r);

typedef struct hx_query {
    size_t n;
    char *keys[HX_QUERY_MAX_PARAMS];
    char *values[HX_QUERY_MAX_PARAMS];
} hx_query_t;

/* Decodes %XX (and '+' as space when plus_space) into a new NUL-terminated
 * string (caller frees). HX_EINVAL for a bad escape or an encoded NUL. */
int hx_percent_decode(const char *s, size_t len, int plus_space, char **out);
/* Parses "a=1&b=x%20y&flag" (no leading '?'). HX_EINVAL on bad encoding or
 * more than HX_QUERY_MAX_PARAMS parameters. q is always safe to free. */
int hx_query_parse(const char *qs, size_t len, hx_query_t *q, hx_err_t *err);
const char *hx_query_get(const hx_query_t *q, const char *key);
void hx_query_free(hx_query_t *q);
/* The integer value s of query parameter name (NULL = absent: def, without
 * the range check); HX_EINVAL naming the parameter and [min, max] when s is
 * not a decimal integer in range. */
int hx_query_int(const char *s, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out, hx_err_t *err);

#endif
