/* Route table and matcher (pure). Routes are tried in registration order;
 * the first whose pattern and method match wins. */
#include "server/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void route_free(hx_route_t *rt)
{
    for (size_t i = 0; i < rt->nsegs; i++)
        free(rt->segs[i]);
    free(rt->segs);
    free(rt->is_param);
    free(rt->method);
    free(rt->pattern);
}

int hx_router_add(hx_router_t *r, const char *method, const char *pattern, void (*fn)(void), void *ctx,
                  hx_err_t *err)
{
    if (!method || !*method || !pattern || pattern[0] != '/')
        return hx_err_set(err, HX_EINVAL, "route pattern '%s' must start with '/'",
                          pattern ? pattern : "(null)");
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].pattern, pattern) == 0)
            return hx_err_set(err, HX_EEXIST, "route %s %s is already registered", method, pattern);
    hx_route_t rt = {0};
    rt.method = strdup(method);
    rt.pattern = strdup(pattern);
    rt.segs = calloc(HX_ROUTE_MAX_SEGS, sizeof *rt.segs);
    rt.is_param = calloc(HX_ROUTE_MAX_SEGS, 1);
    rt.fn = fn;
    rt.ctx = ctx;
    int rc = HX_ENOMEM;
    if (!rt.method || !rt.pattern || !rt.segs || !rt.is_param)
        goto fail;
    size_t nparams = 0;
    const char *p = pattern + 1;
    while (1) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (rt.nsegs == HX_ROUTE_MAX_SEGS) {
            rc = hx_err_set(err, HX_EINVAL, "route pattern '%s' has too many segments", pattern);
            goto fail;
        }
        int param = n >= 2 && p[0] == '{' && p[n - 1] == '}';
        if (param) {
            if (n == 2 || memchr(p + 1, '{', n - 2) || memchr(p + 1, '}', n - 2) ||
                ++nparams > HX_ROUTE_MAX_PARAMS) {
                rc = hx_err_set(err, HX_EINVAL, "route pattern '%s' has a bad or extra {param}", pattern);
                goto fail;
            }
            rt.segs[rt.nsegs] = strndup(p + 1, n - 2);
        } else {
            if (memchr(p, '{', n) || memchr(p, '}', n)) {
                rc = hx_err_set(err, HX_EINVAL, "route pattern '%s': a {param} must be a whole segment",
                                pattern);
                goto fail;
            }
            rt.segs[rt.nsegs] = strndup(p, n);
        }
        if (!rt.segs[rt.nsegs])
            goto fail;
        rt.is_param[rt.nsegs++] = (unsigned char)param;
        if (!e)
            break;
        p = e + 1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        hx_route_t *nr = realloc(r->routes, cap * sizeof *nr);
        if (!nr)
            goto fail;
        r->routes = nr;
        r->cap = cap;
    }
    r->routes[r->n++] = rt;
    return HX_OK;
fail:
    if (rc == HX_ENOMEM)
        hx_err_set(err, rc, "out of memory adding route %s", pattern);
    route_free(&rt);
    return rc;
}

void hx_router_free(hx_router_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    free(r->routes);
    memset(r, 0, sizeof *r);
}

void hx_route_match_free(hx_route_match_t *m)
{
    for (size_t i = 0; i < m->nparams; i++)
        free(m->values[i]);
    m->nparams = 0;
    m->route = NULL;
    m->pattern = NULL;
}

/* Does the decoded path (segs) fit route rt? Fills m's params when it does. */
static int fits(const hx_route_t *rt, char **segs, size_t nsegs, hx_route_match_t *m, int fill)
{
    if (rt->nsegs != nsegs)
        return 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (rt->is_param[i] ? segs[i][0] == '\0' : strcmp(rt->segs[i], segs[i]) != 0)
            return 0;
    }
    if (fill) {
        for (size_t i = 0; i < nsegs; i++)
            if (rt->is_param[i]) {
                m->names[m->nparams] = rt->segs[i];
                m->values[m->nparams++] = segs[i];
                segs[i] = NULL; /* ownership moves to m */
            }
    }
    return 1;
}

int hx_router_match(const hx_router_t *r, const char *method, const char *path, size_t len,
                    hx_route_match_t *m)
{
    memset(m, 0, sizeof *m);
    if (len == 0 || path[0] != '/')
        return 404;
    char *segs[HX_ROUTE_MAX_SEGS];
    size_t nsegs = 0;
    int status = 404;
    size_t i = 1;
    while (1) {
        size_t e = i;
        while (e < len && path[e] != '/')
            e++;
        if (nsegs == HX_ROUTE_MAX_SEGS)
            goto out; /* deeper than any route can be */
        if (hx_percent_decode(path + i, e - i, 0, &segs[nsegs])) {
            status = 400;
            goto out;
        }
        nsegs++;
        if (e >= len)
            break;
        i = e + 1;
    }
    int is_head = strcmp(method, "HEAD") == 0;
    const hx_route_t *get_fallback = NULL;
    for (size_t k = 0; k < r->n; k++) {
        const hx_route_t *rt = &r->routes[k];
        if (!fits(rt, segs, nsegs, m, 0))
            continue;
        if (!m->pattern)
            m->pattern = rt->pattern;
        if (strcmp(rt->method, method) == 0) {
            fits(rt, segs, nsegs, m, 1);
            m->route = rt;
            m->pattern = rt->pattern;
            status = 200;
            goto out;
        }
        if (is_head && !get_fallback && strcmp(rt->method, "GET") == 0)
            get_fallback = rt;
        /* Collect Allow without duplicates. */
        size_t ml = strlen(rt->method), al = strlen(m->allow);
        int dup = 0;
        for (const char *p = m->allow; (p = strstr(p, rt->method)); p += ml)
            if ((p == m->allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
                dup = 1;
        if (!dup && al + ml + 3 < sizeof m->allow)
            snprintf(m->allow + al, sizeof m->allow - al, "%s%s", al ? ", " : "", rt->method);
        status = 405;
    }
    if (get_fallback) {
        fits(get_fallback, segs, nsegs, m, 1);
        m->route = get_fallback;
        m->pattern = get_fallback->pattern;
        m->allow[0] = '\0';
        status = 200;
    }
out:
    for (size_t k = 0; k < nsegs; k++)
        free(segs[k]);
    return status;
}
