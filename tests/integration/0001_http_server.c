/* In-process HTTP server on 127.0.0.1:0 driven with libcurl. */
#include "helix/hx_server.h"
#include "../hx_test.h"

#include <curl/curl.h>

static int g_port;

typedef struct {
    long status;
    hx_buf_t body;
    hx_buf_t headers;
} resp_t;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    hx_buf_append(ud, p, sz * n);
    return sz * n;
}

/* hdrs: NULL-terminated list of "Name: value". On c (its connection is
 * kept for the next call), and returns how many connections curl opened. */
static long http_on(CURL *c, const char *method, const char *path, const char *body, size_t body_len,
                    const char *const *hdrs, resp_t *r)
{
    memset(r, 0, sizeof *r);
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        hl = curl_slist_append(hl, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (!body)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* a reused handle forgets an earlier POST */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)body_len : -1L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(cc));
    long opened = -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
    hx_buf_cstr(&r->body);
    hx_buf_cstr(&r->headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return opened;
}

static void http(const char *method, const char *path, const char *body, size_t body_len,
                 const char *const *hdrs, resp_t *r)
{
    CURL *c = curl_easy_init();
    http_on(c, method, path, body, body_len, hdrs, r);
    curl_easy_cleanup(c);
}

static void resp_free(resp_t *r)
{
    hx_buf_free(&r->body);
    hx_buf_free(&r->headers);
}

static const char *b(resp_t *r) { return (const char *)r->body.data; }
static const char *h(resp_t *r) { return (const char *)r->headers.data; }

/* ---- test routes ---- */

static int h_records(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *limit = hx_req_query(req, "limit");
    const char *q = hx_req_query(req, "q");
    return hx_res_json(res, 200,
                       json_pack("{s:s,s:s?,s:s?,s:s,s:s}", "topic", hx_req_param(req, "t"),
                                 "limit", limit, "q", q, "tenant", hx_req_tenant(req),
                                 "method", hx_req_method(req)));
}

static int h_echo(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *j = hx_req_json(req, hx_req_err(req));
    if (!j)
        return HX_EINVAL;
    json_incref(j); /* the request owns j; hx_res_json steals a reference */
    hx_res_header(res, "X-Test", "yes");
    return hx_res_json(res, 201, j);
}

static int h_fail(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return hx_err_set(hx_req_err(req), HX_ENOTFOUND, "topic '%s' does not exist",
                      hx_req_param(req, "t"));
}

static int h_busy(hx_req_t *req, hx_res_t *res, void *ctx) { return HX_EUNAVAIL; }

static hx_health_t chk_ok(void *ctx, char *detail, size_t len)
{
    snprintf(detail, len, "fine");
    return HX_HEALTH_HEALTHY;
}

static int g_broken;
static hx_health_t chk_maybe(void *ctx, char *detail, size_t len)
{
    if (g_broken) {
        snprintf(detail, len, "cannot reach backend");
        return HX_HEALTH_UNHEALTHY;
    }
    return hx_health_check_dir_writable(ctx, detail, len) ? HX_HEALTH_UNHEALTHY : HX_HEALTH_HEALTHY;
}

static hx_server_t *start(hx_metrics_t *m, const char *token, hx_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->server.host, sizeof cfg->server.host, "127.0.0.1");
    cfg->server.port = 0;
    cfg->server.body_limit_bytes = 1024;
    cfg->server.threads = 2;
    if (token)
        snprintf(cfg->server.token, sizeof cfg->server.token, "%s", token);
    hx_server_t *srv = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_server_new(cfg, m, &srv, &err), 0);
    if (!srv) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    CHECK_INT(hx_server_route(srv, "GET", "/v1/topics/{t}/records", h_records, NULL, HX_ROLE_DEFAULT), 0);
    CHECK_INT(hx_server_route(srv, "POST", "/v1/topics/{t}/records", h_echo, NULL, HX_ROLE_DEFAULT), 0);
    CHECK_INT(hx_server_route(srv, "POST", "/v1/topics/{t}/records", h_echo, NULL, HX_ROLE_DEFAULT), HX_EEXIST);
    CHECK_INT(hx_server_route(srv, "GET", "/v1/topics/{t}", h_fail, NULL, HX_ROLE_DEFAULT), 0);
    CHECK_INT(hx_server_route(srv, "GET", "/v1/busy", h_busy, NULL, HX_ROLE_DEFAULT), 0);
    CHECK_INT(hx_server_start(srv, &err), 0);
    g_port = hx_server_port(srv);
    CHECK(g_port > 0);
    return srv;
}

static void test_basics(void)
{
    hx_metrics_t *m = hx_metrics_new();
    hx_config_t cfg;
    hx_server_t *srv = start(m, NULL, &cfg);
    char *dir = hx_test_tmpdir("http");
    CHECK_INT(hx_server_health_register(srv, "disk", chk_maybe, dir), 0);
    CHECK_INT(hx_server_health_register(srv, "events", chk_ok, NULL), 0);
    resp_t r;

    http("GET", "/health", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(b(&r), "{\"status\":\"ok\"}");
    resp_free(&r);

    http("GET", "/v1/topics/a%2Fb%20c/records?limit=10&q=x%3Dy+z", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(b(&r), "\"topic\":\"a/b c\"");
    CHECK_CONTAINS(b(&r), "\"limit\":\"10\"");
    CHECK_CONTAINS(b(&r), "\"q\":\"x=y z\"");
    CHECK_CONTAINS(b(&r), "\"tenant\":\"default\"");
    resp_free(&r);

    http("GET", "/v1/topics/t/records", NULL, 0, (const char *[]){"X-Helix-Tenant: acme.eu-1", NULL}, &r);
    CHECK_CONTAINS(b(&r), "\"tenant\":\"acme.eu-1\"");
    resp_free(&r);
    http("GET", "/v1/topics/t/records", NULL, 0, (const char *[]){"X-Helix-Tenant: bad tenant!", NULL}, &r);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(b(&r), "X-Helix-Tenant");
    resp_free(&r);

    http("GET", "/nope", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 404);
    CHECK_CONTAINS(b(&r), "{\"error\":{\"code\":\"not_found\"");
    CHECK_CONTAINS(h(&r), "application/json");
    resp_free(&r);

    http("DELETE", "/v1/topics/t/records", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 405);
    CHECK_CONTAINS(h(&r), "Allow: GET, POST");
    CHECK_CONTAINS(b(&r), "\"code\":\"method_not_allowed\"");
    resp_free(&r);

    http("POST", "/v1/topics/t/records", "{\"a\":[1,2]}", 11, NULL, &r);
    CHECK_INT(r.status, 201);
    CHECK_STR(b(&r), "{\"a\":[1,2]}");
    CHECK_CONTAINS(h(&r), "X-Test: yes");
    resp_free(&r);

    http("POST", "/v1/topics/t/records", "{\"a\":", 5, NULL, &r);
    CHECK_INT(r.status, 400);
    CHECK_CONTAINS(b(&r), "\"code\":\"invalid_argument\"");
    CHECK_CONTAINS(b(&r), "malformed JSON");
    resp_free(&r);

    char big[4096];
    memset(big, ' ', sizeof big);
    http("POST", "/v1/topics/t/records", big, sizeof big, NULL, &r);
    CHECK_INT(r.status, 413);
    CHECK_CONTAINS(b(&r), "\"code\":\"too_large\"");
    resp_free(&r);
    /* chunked: no Content-Length, so the limit is enforced while streaming */
    http("POST", "/v1/topics/t/records", big, sizeof big,
         (const char *[]){"Transfer-Encoding: chunked", NULL}, &r);
    CHECK_INT(r.status, 413);
    resp_free(&r);

    http("GET", "/v1/topics/zz", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 404);
    CHECK_STR(b(&r), "{\"error\":{\"code\":\"not_found\",\"message\":\"topic 'zz' does not exist\"}}");
    resp_free(&r);
    http("GET", "/v1/busy", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 503);
    CHECK_CONTAINS(b(&r), "\"code\":\"unavailable\"");
    resp_free(&r);

    http("GET", "/v1/bigdata/health", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(b(&r), "\"status\":\"healthy\"");
    CHECK_CONTAINS(b(&r), "\"events\":{\"status\":\"healthy\",\"detail\":\"fine\",\"latency_ms\":");
    CHECK_CONTAINS(b(&r), "is writable");
    resp_free(&r);
    g_broken = 1;
    http("GET", "/v1/bigdata/health", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 503);
    CHECK_CONTAINS(b(&r), "\"status\":\"unhealthy\"");
    CHECK_CONTAINS(b(&r), "cannot reach backend");
    resp_free(&r);
    g_broken = 0;

    http("GET", "/metrics", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(h(&r), "text/plain; version=0.0.4; charset=utf-8");
    CHECK_CONTAINS(b(&r), "# TYPE http_requests_total counter");
    CHECK_CONTAINS(b(&r), "http_requests_total{method=\"GET\",route=\"/health\",code=\"200\"} 1\n");
    CHECK_CONTAINS(b(&r), "http_requests_total{method=\"GET\",route=\"/v1/topics/{t}/records\",code=\"200\"} 2\n");
    CHECK_CONTAINS(b(&r), "http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1\n");
    CHECK_CONTAINS(b(&r), "http_requests_total{method=\"DELETE\",route=\"/v1/topics/{t}/records\",code=\"405\"} 1\n");
    CHECK_CONTAINS(b(&r), "http_requests_total{method=\"POST\",route=\"/v1/topics/{t}/records\",code=\"413\"} 2\n");
    CHECK_CONTAINS(b(&r), "http_request_duration_seconds_count{method=\"GET\",route=\"/health\"} 1\n");
    resp_free(&r);

    /* port in use */
    hx_config_t busy = cfg;
    busy.server.port = g_port;
    hx_server_t *srv2 = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_server_new(&busy, m, &srv2, &err), HX_EIO);
    char want[128];
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%d: Address already in use; set server.port or --port", g_port);
    CHECK_STR(err.msg, want);
    CHECK(srv2 == NULL);

    hx_server_stop(srv);
    hx_server_free(srv);
    hx_metrics_free(m);
    rmdir(dir);
    free(dir);
}

static void test_auth(void)
{
    hx_metrics_t *m = hx_metrics_new();
    hx_config_t cfg;
    hx_server_t *srv = start(m, "s3cret", &cfg);
    resp_t r;
    http("GET", "/v1/topics/t/records", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 401);
    CHECK_CONTAINS(h(&r), "WWW-Authenticate: Bearer");
    CHECK_CONTAINS(b(&r), "\"code\":\"unauthorized\"");
    resp_free(&r);
    http("GET", "/v1/topics/t/records", NULL, 0, (const char *[]){"Authorization: Bearer s3cre", NULL}, &r);
    CHECK_INT(r.status, 401);
    resp_free(&r);
    http("GET", "/v1/topics/t/records", NULL, 0, (const char *[]){"Authorization: Bearer s3cretX", NULL}, &r);
    CHECK_INT(r.status, 401);
    resp_free(&r);
    http("GET", "/v1/topics/t/records", NULL, 0, (const char *[]){"Authorization: Bearer s3cret", NULL}, &r);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    http("GET", "/v1/bigdata/health", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 401);
    resp_free(&r);
    http("GET", "/health", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    http("GET", "/metrics", NULL, 0, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(b(&r), "code=\"401\"");
    resp_free(&r);
    hx_server_free(srv); /* free without stop also stops */
    hx_metrics_free(m);
}

/* Requests on one keep-alive connection share the server's request
 * object (reused, not reallocated): nothing of one may reach the next. */
static void test_keepalive(void)
{
    hx_metrics_t *m = hx_metrics_new();
    hx_config_t cfg;
    hx_server_t *srv = start(m, "s3cret", &cfg);
    CURL *c = curl_easy_init();
    resp_t r;
    http_on(c, "GET", "/v1/topics/a/records?limit=5&q=x", NULL, 0,
            (const char *[]){"Authorization: Bearer s3cret", "X-Helix-Tenant: t1", NULL}, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(b(&r), "\"tenant\":\"t1\"");
    CHECK_CONTAINS(b(&r), "\"limit\":\"5\"");
    resp_free(&r);
    CHECK_INT(http_on(c, "GET", "/v1/topics/b/records", NULL, 0, (const char *[]){"Authorization: Bearer s3cret", NULL},
                      &r),
              0); /* the same connection */
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(b(&r), "\"tenant\":\"default\"");
    CHECK_CONTAINS(b(&r), "\"topic\":\"b\"");
    CHECK_CONTAINS(b(&r), "\"limit\":null,\"q\":null");
    resp_free(&r);
    CHECK_INT(http_on(c, "POST", "/v1/topics/b/records", "{\"a\":1}", 7,
                      (const char *[]){"Authorization: Bearer s3cret", "Content-Type: application/json", NULL}, &r),
              0);
    CHECK_INT(r.status, 201);
    CHECK_CONTAINS(b(&r), "\"a\":1");
    resp_free(&r);
    CHECK_INT(http_on(c, "POST", "/v1/topics/b/records", "", 0,
                      (const char *[]){"Authorization: Bearer s3cret", "Content-Type: application/json", NULL}, &r),
              0);
    CHECK_INT(r.status, 400); /* nor its body */
    CHECK_CONTAINS(b(&r), "body is empty");
    resp_free(&r);
    CHECK_INT(http_on(c, "GET", "/v1/topics/b/records", NULL, 0, NULL, &r), 0);
    CHECK_INT(r.status, 401); /* the previous request's role is not kept */
    resp_free(&r);
    curl_easy_cleanup(c);
    hx_server_free(srv);
    hx_metrics_free(m);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(test_basics);
    RUN(test_auth);
    RUN(test_keepalive);
    curl_global_cleanup();
    return HX_TEST_DONE();
}
