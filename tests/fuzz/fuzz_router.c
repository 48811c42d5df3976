/* Fuzzes the pure router matcher and query parser: input bytes up to the
 * first '?' are the path, the rest the query string; the first byte picks
 * the method. */
#include "server/router.h"

#include <stdint.h>
#include <string.h>

static void noop(void) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *methods[] = {"GET", "POST", "DELETE", "HEAD"};
    hx_router_t r = {0};
    hx_router_add(&r, "GET", "/health", noop, NULL, NULL);
    hx_router_add(&r, "GET", "/v1/topics/{t}/records", noop, NULL, NULL);
    hx_router_add(&r, "POST", "/v1/topics/{t}/records", noop, NULL, NULL);
    hx_router_add(&r, "GET", "/v1/{a}/{b}/{c}", noop, NULL, NULL);
    const char *method = methods[size ? data[0] % 4 : 0];
    const char *p = (const char *)data + (size ? 1 : 0);
    size_t n = size ? size - 1 : 0;
    const char *q = memchr(p, '?', n);
    size_t plen = q ? (size_t)(q - p) : n;

    hx_route_match_t m;
    int st = hx_router_match(&r, method, p, plen, &m);
    if (st == 200 && (!m.route || !m.pattern))
        __builtin_trap();
    if (st == 405 && m.allow[0] == '\0')
        __builtin_trap();
    for (size_t i = 0; i < m.nparams; i++)
        if (!m.values[i][0]) /* params are never empty */
            __builtin_trap();
    hx_route_match_free(&m);

    if (q) {
        hx_query_t qs;
        hx_err_t err;
        hx_query_parse(q + 1, n - plen - 1, &qs, &err);
        for (size_t i = 0; i < qs.n; i++)
            (void)hx_query_get(&qs, qs.keys[i]);
        hx_query_free(&qs);
    }
    hx_router_free(&r);
    return 0;
}
