/* Routes DESIGN.md promises whose subsystems are not built yet: each answers
 * 501 not_implemented naming what is missing. A subsystem that lands deletes
 * its rows here and adds its own file to subsystems.c. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

typedef struct pending {
    const char *method, *pattern, *what;
} pending_t;

static const pending_t routes_pending[] = {
    {"GET", "/v1/learning/insights", "cross-session learning"},
    {"GET", "/v1/learning/patterns", "cross-session learning"},
};

static int not_built(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const pending_t *p = ctx;
    return hx_res_error(res, 501, "not_implemented", "%s %s needs %s, which this version of Helix does not have yet",
                        p->method, p->pattern, p->what);
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
    return HX_OK;
}

const hx_subsystem_t hx_subsys_pending = {"pending", NULL, routes, NULL, NULL};
