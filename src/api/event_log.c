/* The event log subsystem: opens the broker (embedded log or Kafka), makes
 * sure the DESIGN.md topics exist, and mounts /v1/topics and /v1/groups. */
#include "api/api.h"
#include "helix/hx_broker.h"

static int open_log(hx_app_t *app, hx_err_t *err)
{
    int rc = hx_broker_open(app->cfg, app->metrics, &app->broker, err);
    if (!rc && (rc = hx_broker_ensure_builtin_topics(app->broker, err))) {
        hx_broker_close(app->broker);
        app->broker = NULL;
    }
    return rc;
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    int rc;
    if ((rc = hx_api_topics_routes(app, srv, err)) || (rc = hx_api_records_routes(app, srv, err)) ||
        (rc = hx_api_groups_routes(app, srv, err)))
        return rc;
    return HX_OK;
}

/* An unreachable Kafka degrades the node (local work goes on, producers
 * retry); a failing local log (HX_EIO) makes it unhealthy. */
static hx_health_t health(void *ctx, char *detail, size_t len)
{
    hx_app_t *app = ctx;
    int rc = hx_broker_health(app->broker, detail, len);
    return rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EUNAVAIL ? HX_HEALTH_DEGRADED : HX_HEALTH_UNHEALTHY;
}

static void close_log(hx_app_t *app)
{
    hx_broker_close(app->broker);
    app->broker = NULL;
}

const hx_subsystem_t hx_subsys_event_log = {"event_log", open_log, routes, health, close_log};
