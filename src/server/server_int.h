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

/* The keys file as last read, and what identified that version on disk. */
typedef struct hx_auth_keys {
    pthread_mutex_t mu;
    char path[HX_CFG_STR + 16];
    hx_keyring_t ring;
    int exists;                /* the file exists: auth is on even with no token */
    long long dev, ino, size, mtime_ns; /* stat of the version in ring */
    int watch_fd;              /* inotify on the file's directory; -1 = stat every request */
} hx_auth_keys_t;

struct hx_server {
    char host[HX_CFG_STR];
    char token[HX_CFG_STR];
    hx_auth_keys_t keys;
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
    const char *tenant;        /* the key's tenant, or (admin) the header's; "default" */
    char key_tenant[HX_TENANT_MAX + 1]; /* copy of the key's tenant (the ring may be reloaded) */
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
/* Reads the keys file of cfg (a missing file is fine; a bad one is
 * HX_ECONFIG naming the line). */
int hx_auth_init(hx_server_t *srv, const hx_config_t *cfg, hx_err_t *err);
void hx_auth_free(hx_server_t *srv);
/* Resolves the credentials of a request: fills req->role and req->tenant
 * (the key's) or writes the 401. Returns 1 when it wrote a response. */
int hx_auth_request(hx_server_t *srv, hx_req_t *req, const char *authorization);
/* Applies X-Helix-Tenant: the key's own tenant, or any for admin keys; else
 * writes the 403 (400 for a malformed name). Returns 1 when it wrote one. */
int hx_auth_tenant(hx_req_t *req, const char *tenant_header);
/* response.c */
void hx_res_clear(hx_res_t *res);
/* request.c */
void hx_req_free(hx_req_t *req);
/* Frees what req holds and zeroes it, as calloc left it: for reuse. */
void hx_req_reset(hx_req_t *req);
/* health.c: built-in handlers */
int hx_health_handler(hx_req_t *req, hx_res_t *res, void *ctx);
int hx_bigdata_health_handler(hx_req_t *req, hx_res_t *res, void *ctx);
int hx_metrics_handler(hx_req_t *req, hx_res_t *res, void *ctx);
void hx_health_free_all(hx_server_t *srv);

#endif
