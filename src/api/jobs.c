/* The batch job subsystem: the job runner over the lake and the /v1/jobs
 * routes (docs/lake.md). Jobs belong to the submitting tenant; scheduled
 * maintenance jobs belong to "system" and are visible to every tenant. */
#include "api/api.h"
#include "helix/hx_jobs.h"

#include <string.h>

#define JOBS(ctx) (((hx_app_t *)(ctx))->jobs)

static int submit(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object {\"type\",\"params\"}");
    static const char *const known[] = {"type", "params", NULL};
    int rc = hx_json_check_known(body, known, err);
    if (rc)
        return rc;
    const char *type = json_string_value(json_object_get(body, "type"));
    if (!type)
        return hx_err_set(err, HX_EINVAL, "type is required (compaction, retention, export, entity_extraction, "
                                          "analytics_backfill)");
    json_t *out;
    rc = hx_jobs_submit(JOBS(ctx), hx_req_tenant(req), hx_req_role(req) == HX_ROLE_ADMIN, type,
                        json_object_get(body, "params"), &out, err);
    return rc ? rc : hx_res_json(res, 202, out);
}

static int list(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t limit;
    int rc = hx_req_query_int(req, "limit", 100, 1, 10000, &limit);
    if (rc)
        return rc;
    json_t *out;
    rc = hx_jobs_list(JOBS(ctx), hx_req_tenant(req), hx_req_query(req, "state"), (int)limit, &out, hx_req_err(req));
    if (rc)
        return rc;
    json_object_set_new(out, "types", hx_jobs_types());
    return hx_res_json(res, 200, out);
}

static int get_one(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "job id");
    if (!id)
        return HX_EINVAL;
    json_t *out;
    int rc = hx_jobs_get(JOBS(ctx), hx_req_tenant(req), id, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int cancel(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "job id");
    if (!id)
        return HX_EINVAL;
    int64_t wait;
    int rc = hx_req_query_int(req, "wait_ms", 5000, 0, 60000, &wait);
    if (rc)
        return rc;
    json_t *out;
    rc = hx_jobs_cancel(JOBS(ctx), hx_req_tenant(req), id, (int)wait, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"POST", "/v1/jobs", submit, HX_ROLE_DEFAULT},
        {"GET", "/v1/jobs", list, HX_ROLE_DEFAULT},
        {"GET", "/v1/jobs/{id}", get_one, HX_ROLE_DEFAULT},
        {"DELETE", "/v1/jobs/{id}", cancel, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_jobs(hx_app_t *app, hx_err_t *err)
{
    hx_jobs_deps_t d = {app->lake, app->broker};
    return hx_jobs_open(app->cfg, &d, &app->jobs, err);
}

static void close_jobs(hx_app_t *app)
{
    hx_jobs_close(app->jobs);
    app->jobs = NULL;
}

const hx_subsystem_t hx_subsys_jobs = {"jobs", open_jobs, routes, NULL, close_jobs};
