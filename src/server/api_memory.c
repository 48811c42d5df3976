/* HTTP API of the distributed memory (docs/memory.md). Every call is scoped
 * to the request's tenant (X-Helix-Tenant); errors are JSON with a 4xx. */
#include "helix/hx_api.h"
#include "helix/hx_memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int create(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *body = hx_req_json(req, hx_req_err(req)), *out = NULL;
    if (!body)
        return HX_EINVAL;
    int rc = hx_memory_create(ctx, hx_req_tenant(req), body, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 201, out);
}

static int get_one(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *out = NULL;
    int rc = hx_memory_get(ctx, hx_req_tenant(req), hx_req_param(req, "id"), 1, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int patch(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *body = hx_req_json(req, hx_req_err(req)), *out = NULL;
    if (!body)
        return HX_EINVAL;
    int rc = hx_memory_update(ctx, hx_req_tenant(req), hx_req_param(req, "id"), body, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int del(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_req_param(req, "id");
    int rc = hx_memory_delete(ctx, hx_req_tenant(req), id, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
}

static int list(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t limit;
    int rc = hx_req_query_int(req, "limit", 50, 1, 1000, &limit);
    if (rc)
        return rc;
    hx_memory_query_t q = {hx_req_query(req, "user_id"), hx_req_query(req, "type"), hx_req_query(req, "tag"),
                           hx_req_query(req, "category"), (int)limit};
    json_t *out = NULL;
    rc = hx_memory_list(ctx, hx_req_tenant(req), &q, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int search(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *body = hx_req_json(req, hx_req_err(req)), *out = NULL;
    if (!body)
        return HX_EINVAL;
    int rc = hx_memory_search(ctx, hx_req_tenant(req), body, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int conflicts(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t since, limit;
    int rc;
    if ((rc = hx_req_query_int(req, "since", 0, 0, INT64_MAX, &since)) || (rc = hx_req_query_int(req, "limit", 100, 1, 1000, &limit)))
        return rc;
    json_t *out = NULL;
    rc = hx_memory_conflicts(ctx, hx_req_tenant(req), since, (int)limit, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int status(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *out = NULL;
    int rc = hx_memory_sync_status(ctx, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int force(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t timeout;
    int rc = hx_req_query_int(req, "timeout_ms", 5000, 100, 60000, &timeout);
    if (rc)
        return rc;
    json_t *out = NULL;
    rc = hx_memory_sync_force(ctx, (int)timeout, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

int hx_api_memory_register(hx_server_t *srv, hx_memory_t *mem, hx_err_t *err)
{
    /* Literal routes first: the first matching pattern wins. */
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/memory/sync/status", status},
        {"POST", "/v1/memory/sync/force", force},
        {"GET", "/v1/memory/conflicts", conflicts},
        {"POST", "/v1/memory/search", search},
        {"POST", "/v1/memory", create},
        {"GET", "/v1/memory", list},
        {"GET", "/v1/memory/{id}", get_one},
        {"PATCH", "/v1/memory/{id}", patch},
        {"DELETE", "/v1/memory/{id}", del},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], mem, err);
}
