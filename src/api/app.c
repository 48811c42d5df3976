/* Opening, mounting and closing the subsystem table (hx_app.h). */
#include "helix/hx_app.h"
#include "helix/hx_logger.h"

#include <string.h>

int hx_app_open(hx_app_t *app, const hx_config_t *cfg, hx_metrics_t *metrics, hx_err_t *err)
{
    size_t n;
    const hx_subsystem_t *const *t = hx_subsystems(&n);
    memset(app, 0, sizeof *app);
    app->cfg = cfg;
    app->metrics = metrics;
    if (n > sizeof app->opened)
        return hx_err_set(err, HX_EINTERNAL, "too many subsystems (%zu)", n);
    for (size_t i = 0; i < n; i++) {
        if (t[i]->open) {
            int rc = t[i]->open(app, err);
            if (rc) {
                hx_err_wrap(err, "%s", t[i]->name);
                hx_app_close(app);
                return rc;
            }
        }
        app->opened[i] = 1;
    }
    return HX_OK;
}

int hx_app_mount(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    size_t n;
    const hx_subsystem_t *const *t = hx_subsystems(&n);
    for (size_t i = 0; i < n; i++) {
        if (!app->opened[i])
            continue;
        int rc;
        if (t[i]->routes && (rc = t[i]->routes(app, srv, err)))
            return hx_err_wrap(err, "%s routes", t[i]->name), rc;
        if (t[i]->health && (rc = hx_server_health_register(srv, t[i]->name, t[i]->health, app)))
            return hx_err_set(err, rc, "%s: cannot register its health check", t[i]->name);
    }
    return HX_OK;
}

void hx_app_close(hx_app_t *app)
{
    size_t n;
    const hx_subsystem_t *const *t = hx_subsystems(&n);
    for (size_t i = n; i-- > 0;) {
        if (app->opened[i] && t[i]->close)
            t[i]->close(app);
        app->opened[i] = 0;
    }
}
