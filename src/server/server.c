/* libmicrohttpd lifecycle and the per-request pipeline:
 * route match -> auth -> 404/405 -> tenant -> Content-Length limit ->
 * streamed body (counted, never buffered past the limit) -> handler ->
 * response -> metrics. */
#include "server/server_int.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libmicrohttpd keeps the request head and every query parameter in one
 * per-connection pool and drops the connection, unanswered, when it runs out.
 * 32 KiB (its default) holds the head of a request with up to ~450 short
 * parameters (~300 of 25 bytes), so the router's limit (HX_QUERY_MAX_PARAMS,
 * 128) answers 400 well past it. Not more: MHD zeroes the whole pool between
 * keep-alive requests, and that memset is paid by every request: 64 KiB cost
 * 2-3 us more of node CPU per request than 32 KiB (records 26-27 against 24
 * us, conversation messages 62-64 against 58-61), 256 KiB 10-20 us. */
#define HX_CONN_MEMORY (32 * 1024)

static int listen_socket(hx_server_t *srv, int port, hx_err_t *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(srv->host[0] ? srv->host : NULL, ps, &hints, &ai);
    if (gai)
        return hx_err_set(err, HX_ECONFIG, "cannot listen on %s:%d: %s; set server.host",
                          srv->host, port, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return hx_err_set(err, HX_EIO, "cannot listen on %s:%d: %s; set server.port or --port",
                          srv->host, port, strerror(e));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    srv->port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    srv->listen_fd = fd;
    return HX_OK;
}

int hx_server_new(const hx_config_t *cfg, hx_metrics_t *metrics, hx_server_t **out, hx_err_t *err)
{
    *out = NULL;
    if (cfg->server.port < 0 || cfg->server.port > 65535)
        return hx_err_set(err, HX_ECONFIG, "server.port %d is out of range 0..65535", cfg->server.port);
    hx_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return hx_err_set(err, HX_ENOMEM, "out of memory creating the HTTP server");
    srv->listen_fd = -1;
    pthread_mutex_init(&srv->health_mu, NULL);
    snprintf(srv->host, sizeof srv->host, "%s", cfg->server.host[0] ? cfg->server.host : "127.0.0.1");
    snprintf(srv->token, sizeof srv->token, "%s", cfg->server.token);
    int rc = hx_auth_init(srv, cfg, err); /* on failure it has freed what it made */
    if (rc) {
        pthread_mutex_destroy(&srv->health_mu);
        free(srv);
        return rc;
    }
    srv->body_limit = cfg->server.body_limit_bytes > 0 ? cfg->server.body_limit_bytes : 1048576;
    srv->threads = cfg->server.threads > 0 ? cfg->server.threads : 1;
    srv->metrics = metrics ? metrics : hx_metrics_default();
    srv->req_total = hx_metrics_counter(srv->metrics, "http_requests_total",
                                        "HTTP requests served, by method, route pattern and status.",
                                        "method,route,code");
    srv->req_duration = hx_metrics_histogram(srv->metrics, "http_request_duration_seconds",
                                             "HTTP request latency, by method and route pattern.",
                                             "method,route", NULL, 0);
    if (!srv->req_total || !srv->req_duration) {
        rc = hx_err_set(err, HX_ENOMEM, "cannot register the HTTP metrics");
        goto fail;
    }
    if ((rc = hx_server_route(srv, "GET", "/health", hx_health_handler, srv, HX_ROLE_DEFAULT)) ||
        (rc = hx_server_route(srv, "GET", "/metrics", hx_metrics_handler, srv, HX_ROLE_DEFAULT)) ||
        (rc = hx_server_route(srv, "GET", "/v1/bigdata/health", hx_bigdata_health_handler, srv, HX_ROLE_DEFAULT))) {
        hx_err_set(err, rc, "cannot register the built-in routes");
        goto fail;
    }
    if ((rc = listen_socket(srv, cfg->server.port, err)))
        goto fail;
    *out = srv;
    return HX_OK;
fail:
    hx_server_free(srv);
    return rc;
}

int hx_server_route(hx_server_t *srv, const char *method, const char *pattern, hx_handler_fn fn,
                    void *ctx, hx_role_t role)
{
    hx_err_t e;
    int rc = hx_router_add(&srv->router, method, pattern, (void (*)(void))fn, ctx, &e);
    if (rc)
        HX_WARN("http", "%s", e.msg);
    else
        srv->router.routes[srv->router.n - 1].role = (int)role;
    return rc;
}

int hx_server_routes(hx_server_t *srv, const hx_route_spec_t *routes, size_t n, void *ctx, hx_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = hx_server_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, ctx, routes[i].role);
        if (rc)
            return hx_err_set(err, rc, "registering %s %s", routes[i].method, routes[i].pattern);
    }
    return HX_OK;
}

int hx_server_port(const hx_server_t *srv)
{
    if (srv->daemon) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (di && di->port)
            return di->port;
    }
    return srv->port;
}

static const char *method_label(const char *m)
{
    static const char *known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER"; /* arbitrary client methods must not grow the label set */
}

/* Per connection: the request on_uri allocated and the access handler has not
 * taken over yet. libmicrohttpd calls on_completed only for requests that
 * reached the access handler, so one it drops earlier (a request head too
 * big for the connection's memory pool, a malformed header) is freed here
 * when the connection closes. */
typedef struct hx_conn {
    hx_req_t *pending;
    /* The last finished request, zeroed, for the next one on this
     * connection: a 3 KiB calloc per request made glibc consolidate its
     * fast bins each time (about 1% of a request's CPU). */
    hx_req_t *spare;
} hx_conn_t;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(hx_conn_t)); /* NULL: on_uri just cannot track */
        return;
    }
    hx_conn_t *c = *socket_context;
    if (c) {
        hx_req_free(c->pending);
        free(c->spare);
        free(c);
    }
    *socket_context = NULL;
}

static hx_conn_t *conn_slot(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    hx_conn_t *c = conn_slot(conn);
    if (!c)
        return NULL; /* out of memory at connect: on_request drops it */
    hx_req_free(c->pending); /* a previous request on this connection that never reached the handler */
    hx_req_t *req = c->spare ? c->spare : calloc(1, sizeof *req);
    c->spare = NULL;
    c->pending = req;
    if (!req)
        return NULL;
    req->srv = cls;
    req->t0_ns = hx_mono_ns();
    req->uri = strdup(uri ? uri : "");
    req->tenant = "default";
    req->role = HX_ROLE_READER; /* until hx_auth_request says otherwise */
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    hx_server_t *srv = cls;
    hx_req_t *req = *con_cls;
    if (!req)
        return;
    hx_conn_t *c = conn_slot(conn);
    if (c && c->pending == req)
        c->pending = NULL;
    if (req->status) {
        char code[8];
        snprintf(code, sizeof code, "%d", req->status);
        const char *route = req->match.pattern ? req->match.pattern : "unmatched";
        const char *m = method_label(req->method);
        hx_counter_inc_labels(srv->req_total, (const char *[]){m, route, code}, 1);
        hx_histogram_observe_labels(srv->req_duration, (const char *[]){m, route},
                                    (double)(hx_mono_ns() - req->t0_ns) / 1e9);
    }
    if (c && !c->spare) {
        hx_req_reset(req);
        c->spare = req;
    } else {
        hx_req_free(req);
    }
    *con_cls = NULL;
}

static enum MHD_Result queue(hx_req_t *req)
{
    hx_res_t *res = &req->res;
    /* The body's buffer is handed to MHD (it frees it), not copied. */
    size_t len = res->body.len;
    char *body = len ? hx_buf_steal(&res->body) : NULL;
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(res->body.len, res->body.data, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (res->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t i = 0; i < res->nheaders; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    req->queued = 1;
    req->status = res->status;
    return ok;
}

/* Checks that need only the request head. Returns 1 if it wrote a response. */
static int screen(hx_server_t *srv, hx_req_t *req)
{
    hx_res_t *res = &req->res;
    if (!req->uri)
        return hx_res_error(res, 500, "out_of_memory", "out of memory"), 1;
    const char *q = strchr(req->uri, '?');
    size_t plen = q ? (size_t)(q - req->uri) : strlen(req->uri);
    req->path = strndup(req->uri, plen);
    if (!req->path)
        return hx_res_error(res, 500, "out_of_memory", "out of memory"), 1;
    int st = hx_router_match(&srv->router, req->method, req->uri, plen, &req->match);
    int public = strcmp(req->path, "/health") == 0 || strcmp(req->path, "/metrics") == 0;
    if (public) {
        req->role = HX_ROLE_READER;
        snprintf(req->key_tenant, sizeof req->key_tenant, "default");
        req->tenant = req->key_tenant;
    } else if (hx_auth_request(srv, req, hx_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION))) {
        return 1;
    }
    if (st == 404)
        return hx_res_error(res, 404, "not_found", "no route for %s %.200s", req->method,
                            req->path), 1;
    if (st == 400)
        return hx_res_error(res, 400, "invalid_argument",
                            "the path has a bad percent-escape or an encoded NUL"), 1;
    if (st == 405) {
        hx_res_error(res, 405, "method_not_allowed", "%s is not allowed on %.200s; allowed: %s",
                     req->method, req->path, req->match.allow);
        hx_res_header(res, MHD_HTTP_HEADER_ALLOW, req->match.allow);
        return 1;
    }
    hx_err_t e;
    if (q && hx_query_parse(q + 1, strlen(q + 1), &req->query, &e))
        return hx_res_error(res, hx_err_http_status(e.code), hx_strerror(e.code), "%s", e.msg), 1;
    hx_role_t need = (hx_role_t)req->match.route->role;
    if (need == HX_ROLE_DEFAULT)
        need = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ? HX_ROLE_READER
                                                                                    : HX_ROLE_WRITER;
    if (req->role < need)
        return hx_res_error(res, 403, "forbidden", "%s %.200s needs the %s role; this key has the %s role",
                            req->method, req->path, hx_role_name(need), hx_role_name(req->role)), 1;
    if (!public && hx_auth_tenant(req, hx_req_header(req, "X-Helix-Tenant")))
        return 1;
    const char *cl = hx_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)srv->body_limit)
        return hx_res_error(res, 413, "too_large",
                            "request body of %s bytes is over the %lld-byte limit (server.body_limit_bytes)",
                            cl, (long long)srv->body_limit), 1;
    return 0;
}

static void dispatch(hx_req_t *req)
{
    hx_res_t *res = &req->res;
    if (req->too_big) {
        hx_res_error(res, 413, "too_large",
                     "request body is over the %lld-byte limit (server.body_limit_bytes)",
                     (long long)req->srv->body_limit);
        return;
    }
    const hx_route_t *rt = req->match.route;
    hx_handler_fn fn = (hx_handler_fn)rt->fn;
    int rc = fn(req, res, rt->ctx);
    if (res->status)
        return;
    if (rc < 0)
        hx_res_error(res, hx_err_http_status(rc), hx_strerror(rc), "%s",
                     req->err.msg[0] ? req->err.msg : hx_strerror(rc));
    else
        hx_res_text(res, 204, NULL, "", 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    hx_server_t *srv = cls;
    hx_req_t *req = *con_cls;
    if (!req)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (req->queued) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (!req->started) {
        hx_conn_t *c = conn_slot(conn);
        if (c && c->pending == req)
            c->pending = NULL; /* on_completed frees it from now on */
        req->started = 1;
        req->conn = conn;
        req->method = method;
        if (screen(srv, req))
            return queue(req);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        req->body_seen += n;
        if (!req->too_big && req->body_seen > (uint64_t)srv->body_limit) {
            /* MHD cannot answer mid-body: drop what we have, count the
             * rest and answer 413 once the body ends. */
            req->too_big = 1;
            hx_buf_free(&req->body);
        }
        if (!req->too_big && hx_buf_append(&req->body, upload, n))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    dispatch(req);
    return queue(req);
}

int hx_server_start(hx_server_t *srv, hx_err_t *err)
{
    if (srv->daemon)
        return HX_OK;
    if (srv->listen_fd < 0)
        return hx_err_set(err, HX_EINVAL, "the HTTP server was stopped and cannot be restarted");
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(srv->listen_fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem pool[] = {
        {srv->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)srv->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HX_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_ARRAY, pool,
        MHD_OPTION_END);
    if (!srv->daemon)
        return hx_err_set(err, HX_EIO, "cannot start the HTTP server on %s:%d (libmicrohttpd refused)",
                          srv->host, srv->port);
    srv->listen_fd = -1; /* MHD owns and closes it now */
    HX_INFO("http", "listening on %s:%d with %d threads", srv->host, hx_server_port(srv), srv->threads);
    return HX_OK;
}

void hx_server_stop(hx_server_t *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        srv->port = hx_server_port(srv);
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
}

void hx_server_free(hx_server_t *srv)
{
    if (!srv)
        return;
    hx_server_stop(srv);
    hx_router_free(&srv->router);
    hx_health_free_all(srv);
    hx_auth_free(srv);
    pthread_mutex_destroy(&srv->health_mu);
    free(srv);
}
