/* The HTTP half of `helix bench analytics`: a helix serve in this process
 * (every subsystem, embedded log and store), two clients POSTing NDJSON
 * bodies of the generated rows to /v1/analytics/provider_metrics/rows, then
 * waiting until the ingest consumer stored them. The rate is end to end:
 * rows / (first POST .. every row queryable), the way ClickHouse's number for
 * a TSV POST is. */
#include "bench/bench_analytics_data.h"
#include "bench/bench_int.h"
#include "helix/hx_app.h"
#include "helix/hx_clock.h"
#include "helix/hx_server.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODIES 20
#define CLIENTS 2

typedef struct {
    char **body;
    size_t *len;
    int n;
} bodies_t;

typedef struct {
    const bodies_t *b;
    int id, port;
    int failed;
    char msg[256];
} client_t;

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    client_t *c = ctx;
    size_t len = sz * n, have = strlen(c->msg);
    if (have + 1 < sizeof c->msg) {
        size_t k = len < sizeof c->msg - have - 1 ? len : sizeof c->msg - have - 1;
        memcpy(c->msg + have, p, k);
        c->msg[have + k] = 0;
    }
    return len;
}

static void *client_main(void *arg)
{
    client_t *c = arg;
    CURL *h = curl_easy_init();
    if (!h) {
        c->failed = 1;
        return NULL;
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/analytics/provider_metrics/rows", c->port);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    hdr = curl_slist_append(hdr, "X-Helix-Tenant: bench");
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    for (int i = c->id; i < c->b->n && !c->failed; i += CLIENTS) {
        c->msg[0] = 0;
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->b->body[i]);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->b->len[i]);
        long code = 0;
        if (curl_easy_perform(h) != CURLE_OK || curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
            code != 202)
            c->failed = 1;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

static int make_bodies(const ba_data_t *d, bodies_t *b, hx_err_t *err)
{
    b->n = BODIES;
    b->body = calloc(BODIES, sizeof *b->body);
    b->len = calloc(BODIES, sizeof *b->len);
    if (!b->body || !b->len)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    size_t per = (d->n + BODIES - 1) / BODIES;
    for (int k = 0; k < BODIES; k++) {
        hx_buf_t buf = HX_BUF_INIT;
        for (size_t i = (size_t)k * per; i < d->n && i < (size_t)(k + 1) * per; i++) {
            const hx_an_batch_t *bt = &d->batches[i / BA_BATCH];
            size_t r = i % BA_BATCH, ml, rl;
            const char *model = hx_an_batch_str(bt, 3, r, &ml), *req = hx_an_batch_str(bt, 4, r, &rl);
            if (hx_buf_printf(&buf,
                              "{\"timestamp\":%lld,\"provider\":\"%s\",\"model\":\"%.*s\",\"request_id\":\"%.*s\","
                              "\"response_time_ms\":%.17g,\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                              "\"tokens_used\":%u,\"confidence\":%.6f,\"success\":%s%s}\n",
                              (long long)d->ts[i], ba_providers[d->prov[i]], (int)ml, model, (int)rl, req, d->rt[i],
                              (long long)bt->cols[8].i[r], (long long)bt->cols[9].i[r], d->tokens[i],
                              bt->cols[11].f[r], d->success[i] ? "true" : "false",
                              d->success[i] ? "" : ",\"error_type\":\"timeout\"")) {
                hx_buf_free(&buf);
                return hx_err_set(err, HX_ENOMEM, "out of memory building request bodies");
            }
        }
        b->len[k] = buf.len;
        b->body[k] = (char *)buf.data;
    }
    return HX_OK;
}

static void free_bodies(bodies_t *b)
{
    for (int k = 0; b->body && k < b->n; k++)
        free(b->body[k]);
    free(b->body);
    free(b->len);
}

int ba_http_insert(const hx_bench_opts_t *o, const ba_data_t *d, const char *dir, json_t *out, int *verified,
                   hx_err_t *err)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s/http", dir);
    snprintf(cfg.node.log_level, sizeof cfg.node.log_level, "warn");
    cfg.server.port = 0;
    cfg.server.threads = 2;
    cfg.server.body_limit_bytes = 256 * 1024 * 1024;
    cfg.event_log.fsync = o->fsync;
    cfg.analytics.batch_rows = 100000;
    if (o->backend && !strcmp(o->backend, "clickhouse")) {
        /* The in-process phase's server, in a database of its own. */
        snprintf(cfg.backends.analytics, sizeof cfg.backends.analytics, "clickhouse");
        snprintf(cfg.clickhouse.url, sizeof cfg.clickhouse.url, "%s", o->url ? o->url : "");
        snprintf(cfg.clickhouse.database, sizeof cfg.clickhouse.database, "helix_bench_%d_http", (int)getpid());
    }
    bodies_t b = {0};
    hx_metrics_t *metrics = hx_metrics_new();
    hx_server_t *srv = NULL;
    hx_app_t app = {0};
    int rc = metrics ? make_bodies(d, &b, err) : hx_err_set(err, HX_ENOMEM, "out of memory");
    if (!rc)
        rc = hx_config_node_id(&cfg, err);
    if (!rc)
        rc = hx_server_new(&cfg, metrics, &srv, err);
    if (!rc)
        rc = hx_app_open(&app, &cfg, metrics, err);
    if (!rc)
        rc = hx_app_mount(&app, srv, err);
    if (!rc)
        rc = hx_server_start(srv, err);
    if (rc)
        goto done;
    client_t cl[CLIENTS];
    pthread_t th[CLIENTS];
    uint64_t t0 = hx_mono_ns();
    double cpu0 = hx_bench_process_cpu();
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (client_t){&b, i, hx_server_port(srv), 0, ""};
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    int failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        if (cl[i].failed) {
            failed = 1;
            rc = hx_err_set(err, HX_EIO, "POST .../rows failed: %s", cl[i].msg);
        }
    }
    uint64_t t_ack = hx_mono_ns();
    if (!failed)
        rc = hx_analytics_ingest_wait(app.analytics, 300000, err);
    uint64_t t_done = hx_mono_ns();
    double cpu = hx_bench_process_cpu() - cpu0;
    if (rc)
        goto done;
    /* The transport lost and added nothing: count and token sum over the rows. */
    const char *sql = "SELECT count(), sum(tokens_used) FROM provider_metrics";
    hx_an_result_t r;
    uint64_t tokens = 0;
    for (size_t i = 0; i < d->n; i++)
        tokens += d->tokens[i];
    if ((rc = hx_analytics_query(app.analytics, "bench", sql, strlen(sql), NULL, &r, err)))
        goto done;
    *verified = r.nrows == 1 && (size_t)hx_an_result_cell(&r, 0, 0)->i == d->n &&
                (uint64_t)hx_an_result_cell(&r, 0, 1)->i == tokens;
    if (!*verified)
        fprintf(stderr, "bench analytics: HTTP path stored %lld rows (want %zu)\n",
                r.nrows ? (long long)hx_an_result_cell(&r, 0, 0)->i : -1LL, d->n);
    hx_an_result_free(&r);
    json_object_set_new(out, "http_insert_rows_per_sec", json_real((double)d->n / ((double)(t_done - t0) / 1e9)));
    json_object_set_new(out, "http_ack_rows_per_sec", json_real((double)d->n / ((double)(t_ack - t0) / 1e9)));
    /* Every thread of the process: the server, ingest, the clients and the
     * other subsystems reading the same topic (the lake archiver). */
    json_object_set_new(out, "http_cpu_s_per_mrow", json_real(cpu / ((double)d->n / 1e6)));
    json_object_set_new(out, "http_bodies", json_integer(BODIES));
    json_object_set_new(out, "http_clients", json_integer(CLIENTS));
done:
    hx_server_free(srv);
    hx_app_close(&app);
    hx_metrics_free(metrics);
    free_bodies(&b);
    return rc;
}
