/* The memory subsystem: the CRDT engine in <data_dir>/memory, replicated
 * through the broker with the node's persistent id, and its HTTP API
 * (docs/memory.md). Every call is scoped to the request's tenant. */
#include "api/api.h"
#include "helix/hx_api_requests.h"
#include "helix/hx_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM(ctx) (((hx_app_t *)(ctx))->memory)

static int create(hx_req_t *req, hx_res_t *res, void *ctx)
{
    /* A body of the usual shape is read from its text and the answer is
     * written as text: no jansson tree either way. Any other body (or a bad
     * one) takes the tree path, which answers as it always did. */
    size_t len;
    const char *text = hx_req_body(req, &len);
    hx_memory_write_t w;
    char *arena;
    hx_buf_t out = HX_BUF_INIT;
    int rc;
    if (hx_api_memory_write_parse_text(text, len, &w, &arena) == HX_OK) {
        rc = hx_memory_create_text(MEM(ctx), hx_req_tenant(req), &w, &out, hx_req_err(req));
        free(arena);
    } else {
        json_t *body = hx_req_json(req, hx_req_err(req));
        if (!body)
            return HX_EINVAL;
        rc = hx_api_memory_create_text(MEM(ctx), hx_req_tenant(req), body, &out, hx_req_err(req));
    }
    if (!rc)
        rc = hx_res_buf(res, 201, "application/json", &out);
    hx_buf_free(&out);
    return rc;
}

static int get_one(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "memory id");
    if (!id)
        return HX_EINVAL;
    json_t *out = NULL;
    int rc = hx_memory_get(MEM(ctx), hx_req_tenant(req), id, 1, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int patch(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "memory id");
    if (!id)
        return HX_EINVAL;
    json_t *body = hx_req_json(req, hx_req_err(req)), *out = NULL;
    if (!body)
        return HX_EINVAL;
    int rc = hx_api_memory_update_json(MEM(ctx), hx_req_tenant(req), id, body, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int del(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "memory id");
    if (!id)
        return HX_EINVAL;
    int rc = hx_memory_delete(MEM(ctx), hx_req_tenant(req), id, hx_req_err(req));
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
    rc = hx_memory_list(MEM(ctx), hx_req_tenant(req), &q, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int search(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *body = hx_req_json(req, hx_req_err(req)), *out = NULL;
    if (!body)
        return HX_EINVAL;
    int rc = hx_memory_search(MEM(ctx), hx_req_tenant(req), body, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int conflicts(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t since, limit;
    int rc;
    if ((rc = hx_req_query_int(req, "since", 0, 0, INT64_MAX, &since)) || (rc = hx_req_query_int(req, "limit", 100, 1, 1000, &limit)))
        return rc;
    json_t *out = NULL;
    rc = hx_memory_conflicts(MEM(ctx), hx_req_tenant(req), since, (int)limit, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

/* The node-wide status counts every tenant's writes; a non-admin key sees
 * the sync health of the node (peers, lag, reachability) and its own
 * tenant's memory count, nothing that counts other tenants' data. */
static json_t *tenant_status(hx_memory_t *m, const char *tenant, json_t *all, hx_err_t *err)
{
    static const char *const keep[] = {"node_id", "backend", "strategy", "sync_lag_ms", "max_sync_lag_ms",
                                       "broker_reachable", "degraded", NULL};
    json_t *j = json_object();
    for (size_t i = 0; keep[i]; i++) {
        json_t *v = json_object_get(all, keep[i]);
        if (v)
            json_object_set(j, keep[i], v);
    }
    json_t *peers = json_array(), *p;
    size_t i;
    json_array_foreach(json_object_get(all, "peers"), i, p)
        json_array_append_new(peers, json_pack("{s:O,s:O,s:O}", "node_id", json_object_get(p, "node_id"), "status",
                                               json_object_get(p, "status"), "in_sync", json_object_get(p, "in_sync")));
    json_object_set_new(j, "peers", peers);
    hx_memory_query_t q = {0};
    q.limit = 1;
    json_t *l = NULL;
    if (hx_memory_list(m, tenant, &q, &l, err)) {
        json_decref(j);
        return NULL;
    }
    json_object_set(j, "memories", json_object_get(l, "total_matches"));
    json_decref(l);
    json_object_set_new(j, "tenant", json_string(tenant));
    json_object_set_new(j, "scope", json_string("tenant"));
    return j;
}

static int status(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *out = NULL;
    int rc = hx_memory_sync_status(MEM(ctx), &out, hx_req_err(req));
    if (rc)
        return rc;
    if (hx_req_role(req) != HX_ROLE_ADMIN) {
        json_t *t = tenant_status(MEM(ctx), hx_req_tenant(req), out, hx_req_err(req));
        json_decref(out);
        if (!t)
            return hx_req_err(req)->code ? hx_req_err(req)->code : HX_ENOMEM;
        out = t;
    } else {
        json_object_set_new(out, "scope", json_string("node"));
    }
    return hx_res_json(res, 200, out);
}

static int force(hx_req_t *req, hx_res_t *res, void *ctx)
{
    int64_t timeout;
    int rc = hx_req_query_int(req, "timeout_ms", 5000, 100, 60000, &timeout);
    if (rc)
        return rc;
    json_t *out = NULL;
    rc = hx_memory_sync_force(MEM(ctx), (int)timeout, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    /* Literal routes first: the first matching pattern wins. */
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/memory/sync/status", status, HX_ROLE_DEFAULT},
        {"POST", "/v1/memory/sync/force", force, HX_ROLE_ADMIN},
        {"GET", "/v1/memory/conflicts", conflicts, HX_ROLE_DEFAULT},
        {"POST", "/v1/memory/search", search, HX_ROLE_READER},
        {"POST", "/v1/memory", create, HX_ROLE_DEFAULT},
        {"GET", "/v1/memory", list, HX_ROLE_DEFAULT},
        {"GET", "/v1/memory/{id}", get_one, HX_ROLE_DEFAULT},
        {"PATCH", "/v1/memory/{id}", patch, HX_ROLE_DEFAULT},
        {"DELETE", "/v1/memory/{id}", del, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_memory(hx_app_t *app, hx_err_t *err)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/memory", app->cfg->node.data_dir);
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = app->cfg;
    o.dir = dir;
    o.node_id = app->cfg->node.node_id;
    o.broker = app->broker;
    o.metrics = app->metrics;
    return hx_memory_open(&o, &app->memory, err);
}

static hx_health_t health(void *ctx, char *detail, size_t len)
{
    int rc = hx_memory_health(MEM(ctx), detail, len);
    return rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EIO ? HX_HEALTH_UNHEALTHY : HX_HEALTH_DEGRADED;
}

static void close_memory(hx_app_t *app)
{
    hx_memory_close(app->memory);
    app->memory = NULL;
}

const hx_subsystem_t hx_subsys_memory = {"memory", open_memory, routes, health, close_memory};
