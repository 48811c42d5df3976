/* The data lake subsystem: the lake engine with its archiver (consumer
 * group helix-lake) and the /v1/datalake routes (docs/lake.md). Every read
 * and delete is scoped to the request's tenant. */
#include "api/api.h"
#include "helix/hx_lake.h"

#include <string.h>

#define LAKE(ctx) (((hx_app_t *)(ctx))->lake)

static int datasets(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *out;
    int rc = hx_lake_datasets_json(LAKE(ctx), hx_req_tenant(req), &out, hx_req_err(req));
    if (rc)
        return rc;
    json_object_set_new(out, "archiver", hx_lake_archiver_status(LAKE(ctx)));
    return hx_res_json(res, 200, out);
}

static int partitions(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *ds = hx_api_path_id(req, "dataset", "dataset");
    if (!ds)
        return HX_EINVAL;
    json_t *out;
    int rc = hx_lake_partitions_json(LAKE(ctx), hx_req_tenant(req), ds, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int conversation(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    json_t *out;
    int rc = hx_lake_conversation_json(LAKE(ctx), hx_req_tenant(req), id, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int conversation_delete(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    json_t *out;
    int rc = hx_lake_conversation_delete(LAKE(ctx), hx_req_tenant(req), id, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

/* Writes what the archiver buffered now (tests, before a backup). */
static int flush(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t timeout;
    int rc = hx_req_query_int(req, "timeout_ms", 10000, 10, 120000, &timeout);
    if (!rc)
        rc = hx_lake_archiver_flush(LAKE(ctx), (int)timeout, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, hx_lake_archiver_status(LAKE(ctx)));
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    /* Literal routes first: the first matching pattern wins. */
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/datalake/datasets", datasets, HX_ROLE_DEFAULT},
        {"POST", "/v1/datalake/flush", flush, HX_ROLE_ADMIN},
        {"GET", "/v1/datalake/{dataset}/partitions", partitions, HX_ROLE_DEFAULT},
        {"GET", "/v1/datalake/conversations/{id}", conversation, HX_ROLE_DEFAULT},
        {"DELETE", "/v1/datalake/conversations/{id}", conversation_delete, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_lake(hx_app_t *app, hx_err_t *err)
{
    return hx_lake_open(app->cfg, app->broker, &app->lake, err);
}

static hx_health_t health(void *ctx, char *detail, size_t len)
{
    return hx_lake_health(LAKE(ctx), detail, len) == 0 ? HX_HEALTH_HEALTHY : HX_HEALTH_DEGRADED;
}

static void close_lake(hx_app_t *app)
{
    hx_lake_close(app->lake);
    app->lake = NULL;
}

const hx_subsystem_t hx_subsys_lake = {"lake", open_lake, routes, health, close_lake};
