/* Routes DESIGN.md promises whose subsystems are not built yet: each answers
 * 501 not_implemented naming what is missing, and the component shows as
 * "disabled" on /v1/bigdata/health. A subsystem that lands deletes its rows
 * here and adds its own file to subsystems.c. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

typedef struct pending {
    const char *method, *pattern, *what;
} pending_t;

static const pending_t routes_pending[] = {
    {"GET", "/v1/knowledge/related/{entity_id}", "the knowledge graph"},
    {"POST", "/v1/knowledge/search", "the knowledge graph"},
    {"GET", "/v1/knowledge/path", "the knowledge graph"},
    {"GET", "/v1/learning/insights", "cross-session learning"},
    {"GET", "/v1/learning/patterns", "cross-session learning"},
    {"GET", "/v1/datalake/datasets", "the data lake"},
    {"GET", "/v1/datalake/{dataset}/partitions", "the data lake"},
    {"GET", "/v1/jobs/{id}", "the batch job runner"},
    {"GET", "/v1/jobs", "the batch job runner"},
    {"POST", "/v1/jobs", "the batch job runner"},
};

static const struct {
    const char *name, *detail;
} health_pending[] = {
    {"graph", "knowledge graph not built yet"},
};

static int not_built(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const pending_t *p = ctx;
    return hx_res_error(res, 501, "not_implemented", "%s %s needs %s, which this version of Helix does not have yet",
                        p->method, p->pattern, p->what);
}

static hx_health_t disabled(void *ctx, char *detail, size_t len)
{
    snprintf(detail, len, "%s", (const char *)ctx);
    return HX_HEALTH_DISABLED;
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    for (size_t i = 0; i < sizeof routes_pending / sizeof routes_pending[0]; i++) {
        const pending_t *p = &routes_pending[i];
        /* HX_ROLE_READER: a caller learns what is missing, not a 403 for a route that does nothing. */
        int rc = hx_server_route(srv, p->method, p->pattern, not_built, (void *)p, HX_ROLE_READER);
        if (rc)
            return hx_err_set(err, rc, "registering %s %s", p->method, p->pattern);
    }
    for (size_t i = 0; i < sizeof health_pending / sizeof health_pending[0]; i++)
        if (hx_server_health_register(srv, health_pending[i].name, disabled, (void *)health_pending[i].detail))
            return hx_err_set(err, HX_ENOMEM, "registering the %s health entry", health_pending[i].name);
    return HX_OK;
}

const hx_subsystem_t hx_subsys_pending = {"pending", NULL, routes, NULL, NULL};
