/* Internal structures shared by the files of src/server. */
#ifndef HX_SERVER_INT_H
#define HX_SERVER_INT_H

#include "helix/hx_buf.h"
#include "helix/hx_server.h"
#include "server/router.h"

#include <pthread.h>
#include <stdint.h>

struct MHD_Connection;
struct MHD_Daemon;

typedef struct hx_health_check {
    char *name;
    hx_health_fn fn;
    void *ctx;
} hx_health_check_t;

struct hx_server {
    char host[HX_CFG_STR];
    char token[HX_CFG_STR];
    int64_t body_limit;
    int threads;
    int port;
    int listen_fd;             /* ours until MHD takes it in hx_server_start */
    struct MHD_Daemon *daemon;
    hx_router_t router;
    hx_metrics_t *metrics;     /* borrowed */
    hx_counter_t *req_total;
    hx_histogram_t *req_duration;
    pthread_mutex_t health_mu;
    hx_health_check_t *checks;
    size_t nchecks;
};

typedef struct hx_res_header {
    char *name, *value;
} hx_res_header_t;

struct hx_res {
    int status;                /* 0 = nothing written yet */
    char *content_type;
    hx_buf_t body;
    hx_res_header_t *headers;
    size_t nheaders;
};

struct hx_req {
    hx_server_t *srv;
    struct MHD_Connection *conn;
    char *uri;                 /* raw request target, owned */
    char *path;                /* raw path without the query, owned */
    const char *method;        /* MHD-owned, lives as long as the request */
    hx_query_t query;
    hx_route_match_t match;
    const char *tenant;        /* header value or "default" */
    hx_role_t role;            /* of the request's credentials */
    hx_buf_t body;
    uint64_t body_seen;        /* bytes received, including discarded ones */
    int too_big;
    int started;               /* first access-handler call done */
    int queued;                /* a response was queued */
    int status;                /* status sent, for metrics */
    json_t *json;
    hx_err_t err;
    uint64_t t0_ns;
    hx_res_t res;
};

/* auth.c */
int hx_auth_check(const hx_server_t *srv, const char *authorization);
int hx_tenant_valid(const char *t);
/* response.c */
void hx_res_clear(hx_res_t *res);
/* request.c */
void hx_req_free(hx_req_t *req);
/* health.c: built-in handlers */
int hx_health_handler(hx_req_t *req, hx_res_t *res, void *ctx);
int hx_bigdata_health_handler(hx_req_t *req, hx_res_t *res, void *ctx);
int hx_metrics_handler(hx_req_t *req, hx_res_t *res, void *ctx);
void hx_health_free_all(hx_server_t *srv);

#endif
