/* Request accessors. Everything returned is borrowed from the request. */
#include "server/server_int.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

const char *hx_req_method(const hx_req_t *req) { return req->method; }
const char *hx_req_path(const hx_req_t *req) { return req->path; }
const char *hx_req_tenant(const hx_req_t *req) { return req->tenant; }
hx_role_t hx_req_role(const hx_req_t *req) { return req->role; }

hx_err_t *hx_req_err(hx_req_t *req) { return &req->err; }

const char *hx_req_param(const hx_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->match.nparams; i++)
        if (strcmp(req->match.names[i], name) == 0)
            return req->match.values[i];
    return NULL;
}

const char *hx_req_query(const hx_req_t *req, const char *name)
{
    return hx_query_get(&req->query, name);
}

int hx_req_query_int(hx_req_t *req, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
    return hx_query_int(hx_req_query(req, name), name, def, min, max, out, hx_req_err(req));
}

const char *hx_req_header(const hx_req_t *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *hx_req_body(const hx_req_t *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? hx_buf_cstr((hx_buf_t *)&req->body) : "";
}

json_t *hx_req_json(hx_req_t *req, hx_err_t *err)
{
    if (req->json)
        return req->json;
    if (req->body.len == 0) {
        hx_err_set(err, HX_EINVAL, "request body is empty; send a JSON document");
        return NULL;
    }
    json_error_t je;
    req->json = json_loadb((const char *)req->body.data, req->body.len, 0, &je);
    if (!req->json)
        hx_err_set(err, HX_EINVAL, "malformed JSON body at line %d column %d: %s", je.line,
                   je.column, je.text);
    return req->json;
}

void hx_req_reset(hx_req_t *req)
{
    free(req->uri);
    free(req->path);
    hx_query_free(&req->query);
    hx_route_match_free(&req->match);
    hx_buf_free(&req->body);
    json_decref(req->json);
    hx_res_clear(&req->res);
    memset(req, 0, sizeof *req);
}

void hx_req_free(hx_req_t *req)
{
    if (!req)
        return;
    hx_req_reset(req);
    free(req);
}
