/* Built-in routes: /health (liveness), /metrics (Prometheus), and
 * /v1/bigdata/health (every registered component check, timed). */
#include "server/server_int.h"
#include "helix/hx_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_server_health_register(hx_server_t *srv, const char *name, hx_health_fn fn, void *ctx)
{
    if (!name || !*name || !fn)
        return HX_EINVAL;
    pthread_mutex_lock(&srv->health_mu);
    int rc = HX_OK;
    for (size_t i = 0; i < srv->nchecks; i++)
        if (strcmp(srv->checks[i].name, name) == 0)
            rc = HX_EEXIST;
    if (!rc) {
        hx_health_check_t *c = realloc(srv->checks, (srv->nchecks + 1) * sizeof *c);
        char *n = strdup(name);
        if (c)
            srv->checks = c;
        if (!c || !n) {
            free(n);
            rc = HX_ENOMEM;
        } else {
            c[srv->nchecks++] = (hx_health_check_t){n, fn, ctx};
        }
    }
    pthread_mutex_unlock(&srv->health_mu);
    return rc;
}

void hx_health_free_all(hx_server_t *srv)
{
    for (size_t i = 0; i < srv->nchecks; i++)
        free(srv->checks[i].name);
    free(srv->checks);
    srv->checks = NULL;
    srv->nchecks = 0;
}

int hx_health_handler(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return hx_res_json(res, 200, json_pack("{s:s}", "status", "ok"));
}

int hx_metrics_handler(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_server_t *srv = ctx;
    hx_buf_t b = HX_BUF_INIT;
    int rc = hx_metrics_render(srv->metrics, &b);
    if (!rc)
        rc = hx_res_text(res, 200, "text/plain; version=0.0.4; charset=utf-8",
                         b.data ? (const char *)b.data : "", b.len);
    hx_buf_free(&b);
    return rc;
}

int hx_bigdata_health_handler(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_server_t *srv = ctx;
    json_t *comps = json_object();
    if (!comps)
        return HX_ENOMEM;
    int any_unhealthy = 0, any_degraded = 0;
    pthread_mutex_lock(&srv->health_mu);
    for (size_t i = 0; i < srv->nchecks; i++) {
        char detail[512] = "";
        uint64_t t0 = hx_mono_ns();
        hx_health_t h = srv->checks[i].fn(srv->checks[i].ctx, detail, sizeof detail);
        double ms = (double)(hx_mono_ns() - t0) / 1e6;
        detail[sizeof detail - 1] = '\0';
        any_unhealthy |= h == HX_HEALTH_UNHEALTHY;
        any_degraded |= h == HX_HEALTH_DEGRADED;
        json_t *d = json_string(detail);
        json_object_set_new(comps, srv->checks[i].name,
                            json_pack("{s:s,s:o,s:f}", "status", hx_health_name(h), "detail",
                                      d ? d : json_string("(detail not valid UTF-8)"),
                                      "latency_ms", ms));
    }
    pthread_mutex_unlock(&srv->health_mu);
    const char *overall = any_unhealthy ? "unhealthy" : any_degraded ? "degraded" : "healthy";
    return hx_res_json(res, any_unhealthy ? 503 : 200,
                       json_pack("{s:s,s:o}", "status", overall, "components", comps));
}
