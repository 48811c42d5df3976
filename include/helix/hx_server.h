/* HTTP server on libmicrohttpd: routing with {param} patterns, bearer auth,
 * tenant header, JSON errors, body limits, /health, /metrics and
 * /v1/bigdata/health. Conventions are described in docs/http.md.
 *
 * Ownership: the server owns its routes, requests and responses. Every string
 * returned by an hx_req_* accessor (and the json_t from hx_req_json) is
 * borrowed and valid until the handler returns; copy what you keep. */
#ifndef HX_SERVER_H
#define HX_SERVER_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_health.h"
#include "helix/hx_keys.h"
#include "helix/hx_metrics.h"

#include <jansson.h>

#include "helix/hx_json.h"
#include <stddef.h>

typedef struct hx_server hx_server_t;
typedef struct hx_req hx_req_t;
typedef struct hx_res hx_res_t;

/* Returns 0 (response written, or 204 if none), or a negative HX_E* code: if
 * the handler wrote no response, the server sends the JSON error
 * {hx_err_http_status(code), hx_strerror(code), hx_req_err(req)->msg}. */
typedef int (*hx_handler_fn)(hx_req_t *req, hx_res_t *res, void *ctx);

/* Reads server.{host,port,token,body_limit_bytes,threads} from cfg (copied;
 * cfg need not outlive the call) and binds the listen socket, so a busy port
 * fails here: "cannot listen on 127.0.0.1:7061: Address already in use; set
 * server.port or --port" (HX_EIO). Port 0 binds an ephemeral port. metrics is
 * borrowed and must outlive the server; NULL = hx_metrics_default(). */
int hx_server_new(const hx_config_t *cfg, hx_metrics_t *metrics, hx_server_t **out, hx_err_t *err);
/* Adds a route. pattern is "/literal/{name}/..." ({name} matches one
 * non-empty path segment). Register every route and health check before
 * hx_server_start(). HX_EEXIST for a duplicate method+pattern. */
int hx_server_route(hx_server_t *srv, const char *method, const char *pattern, hx_handler_fn fn,
                    void *ctx, hx_role_t role);
/* Registers n routes that share ctx, in order (the first matching pattern
 * wins, so list literal routes before {param} ones). */
typedef struct hx_route_spec {
    const char *method, *pattern;
    hx_handler_fn fn;
    hx_role_t role;            /* the least role allowed; HX_ROLE_DEFAULT as above */
} hx_route_spec_t;
int hx_server_routes(hx_server_t *srv, const hx_route_spec_t *routes, size_t n, void *ctx, hx_err_t *err);
int hx_server_start(hx_server_t *srv, hx_err_t *err);
/* Waits for in-flight requests and stops; the server cannot be restarted. */
void hx_server_stop(hx_server_t *srv);
void hx_server_free(hx_server_t *srv); /* stops first if needed; NULL ok */
int hx_server_port(const hx_server_t *srv); /* the bound port (useful with port 0) */

/* ---- health (statuses in hx_health.h) ---- */
/* name is copied; ctx borrowed. */
int hx_server_health_register(hx_server_t *srv, const char *name, hx_health_fn fn, void *ctx);

/* ---- request (borrowed strings, valid until the handler returns) ---- */
const char *hx_req_method(const hx_req_t *req);
const char *hx_req_path(const hx_req_t *req);   /* as sent, without the query, not decoded */
const char *hx_req_param(const hx_req_t *req, const char *name); /* path param, decoded; NULL if absent */
const char *hx_req_query(const hx_req_t *req, const char *name); /* first value, decoded; NULL if absent */
/* Integer query parameter: def when absent; HX_EINVAL naming the parameter
 * and the range (set on hx_req_err(req)) when not an integer in [min, max]. */
int hx_req_query_int(hx_req_t *req, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);
const char *hx_req_header(const hx_req_t *req, const char *name); /* case-insensitive; NULL if absent */
/* The tenant every engine call of this request is scoped to: the API key's
 * tenant, or (admin keys only) the X-Helix-Tenant header; "default" when
 * neither names one. */
const char *hx_req_tenant(const hx_req_t *req);
hx_role_t hx_req_role(const hx_req_t *req); /* the role of the request's key (admin when auth is off) */
/* Raw body (NUL-terminated for convenience; len excludes the NUL). Never NULL. */
const char *hx_req_body(const hx_req_t *req, size_t *len);
/* Parses the body as JSON once; the request owns the result (do not decref;
 * json_incref to keep it). NULL with HX_EINVAL in err when the body is empty
 * or malformed (line/column in the message) - return HX_EINVAL to send 400. */
json_t *hx_req_json(hx_req_t *req, hx_err_t *err);
/* An error slot the server reports if the handler returns a negative code
 * without writing a response. */
hx_err_t *hx_req_err(hx_req_t *req);

/* ---- response (last call wins) ---- */
/* Sends body (steals the reference, even on failure) as application/json. */
int hx_res_json(hx_res_t *res, int status, json_t *body);
/* Copies text; content_type NULL = "text/plain; charset=utf-8". */
int hx_res_text(hx_res_t *res, int status, const char *content_type, const char *text, size_t len);
/* The same with a body the handler built: its bytes move into the answer
 * without a copy; *body is left empty (still the caller's to free). */
int hx_res_buf(hx_res_t *res, int status, const char *content_type, hx_buf_t *body);
/* {"error":{"code":code,"message":fmt...}} */
int hx_res_error(hx_res_t *res, int http_status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a header (copied). */
int hx_res_header(hx_res_t *res, const char *name, const char *value);

#endif
