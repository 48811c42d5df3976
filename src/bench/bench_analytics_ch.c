/* `helix bench analytics` on ClickHouse: where the server comes from, and
 * --compare (embedded and ClickHouse one after another in one run).
 *
 * --backend clickhouse --url URL measures the server at URL in a database of
 * its own (helix_bench_<pid>, dropped afterwards); without --url it starts a
 * private clickhouse-server in the bench's work dir, like the tests do. */
#include "analytics/clickhouse/ch.h"
#include "helix/hx_bench.h"
#include "helix/hx_clickhouse_local.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hx_bench_ch_setup(const hx_bench_opts_t *o, const char *dir, hx_config_t *cfg, hx_bench_ch_t *ch, hx_err_t *err)
{
    memset(ch, 0, sizeof *ch);
    snprintf(cfg->backends.analytics, sizeof cfg->backends.analytics, "clickhouse");
    snprintf(cfg->clickhouse.database, sizeof cfg->clickhouse.database, "helix_bench_%d", (int)getpid());
    if (o->url && *o->url) {
        snprintf(cfg->clickhouse.url, sizeof cfg->clickhouse.url, "%s", o->url);
        return HX_OK;
    }
    char sdir[1024];
    snprintf(sdir, sizeof sdir, "%s/clickhouse", dir);
    if (!o->quiet)
        fprintf(stderr, "bench analytics: starting a private clickhouse-server in %s (or pass --url)\n", sdir);
    int rc = hx_ch_local_start(sdir, 0, 60000, &ch->server, err);
    if (rc)
        return rc;
    snprintf(cfg->clickhouse.url, sizeof cfg->clickhouse.url, "%s", hx_ch_local_url(ch->server));
    return HX_OK;
}

void hx_bench_ch_done(const hx_config_t *cfg, hx_bench_ch_t *ch)
{
    if (ch->server) {
        hx_ch_local_free(ch->server);
        ch->server = NULL;
        return;
    }
    /* A server we were pointed at keeps nothing of the bench (the HTTP
     * phase's database included, bench_analytics_http.c). */
    ch_opts_t co = {.url = cfg->clickhouse.url,
                    .database = cfg->clickhouse.database,
                    .user = cfg->clickhouse.user,
                    .password = cfg->clickhouse.password,
                    .timeout_ms = cfg->clickhouse.timeout_ms,
                    .connect_timeout_ms = cfg->clickhouse.connect_timeout_ms,
                    .ca_file = cfg->clickhouse.tls.ca_file,
                    .cert_file = cfg->clickhouse.tls.cert_file,
                    .key_file = cfg->clickhouse.tls.key_file,
                    .insecure = cfg->clickhouse.tls.insecure_skip_verify};
    ch_conn_t *c = NULL;
    hx_err_t err = {0};
    char sql[160];
    int rc = ch_conn_open(&co, &c, &err);
    for (int i = 0; !rc && i < 2; i++) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", cfg->clickhouse.database, i ? "_http" : "");
        rc = ch_exec(c, sql, NULL, 0, NULL, 0, NULL, &err);
    }
    if (rc)
        fprintf(stderr, "bench analytics: could not drop %s: %s\n", cfg->clickhouse.database, err.msg);
    ch_conn_close(c);
}

static const char *ratio_keys[] = {"insert_rows_per_sec", "http_insert_rows_per_sec", "query_a_p50_ms",
                                   "query_a_p95_ms",      "query_b1_p50_ms",          "query_b1_p95_ms",
                                   "query_b2_p50_ms",     "query_b2_p95_ms"};

int hx_bench_analytics_compare(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_bench_opts_t eo = *o, co = *o;
    eo.backend = "embedded";
    co.backend = "clickhouse";
    eo.compare = co.compare = 0;
    /* A kept work dir gets one subdir per backend: the HTTP phase's log
     * must start empty for each. */
    char ed[1024], cd[1024];
    if (o->data_dir) {
        snprintf(ed, sizeof ed, "%s/embedded", o->data_dir);
        snprintf(cd, sizeof cd, "%s/clickhouse", o->data_dir);
        mkdir(o->data_dir, 0755);
        mkdir(ed, 0755);
        mkdir(cd, 0755);
        eo.data_dir = ed;
        co.data_dir = cd;
    }
    json_t *emb = NULL, *ch = NULL;
    hx_err_t e1 = {0}, e2 = {0};
    int rc1 = hx_bench_analytics(&eo, &emb, &e1);
    int rc2 = hx_bench_analytics(&co, &ch, &e2);
    json_t *res = json_object(), *ratio = json_object();
    json_object_set_new(res, "embedded", emb ? emb : json_object());
    json_object_set_new(res, "clickhouse", ch ? ch : json_object());
    /* ClickHouse over embedded: above 1 for times means embedded is faster,
     * below 1 for rates likewise. */
    int faster_everywhere = emb && ch;
    for (size_t i = 0; i < sizeof ratio_keys / sizeof ratio_keys[0]; i++) {
        json_t *a = json_object_get(emb, ratio_keys[i]), *b = json_object_get(ch, ratio_keys[i]);
        if (!json_is_number(a) || !json_is_number(b) || json_number_value(a) <= 0)
            continue;
        double r = json_number_value(b) / json_number_value(a);
        json_object_set_new(ratio, ratio_keys[i], json_real(r));
        int rate = strstr(ratio_keys[i], "_per_sec") != NULL;
        if (rate ? r >= 1 : r <= 1)
            faster_everywhere = 0;
        /* Printed as how many times faster the embedded store is. */
        double emb_x = rate ? 1 / r : r;
        char v[96];
        snprintf(v, sizeof v, "embedded %.2fx %s", emb_x >= 1 ? emb_x : 1 / emb_x,
                 emb_x >= 1 ? "faster" : "SLOWER");
        hx_bench_row("Analytics compare", ratio_keys[i], v, "embedded faster", "-", emb_x > 1 ? "Target" : "Poor");
    }
    json_object_set_new(res, "ratio_clickhouse_over_embedded", ratio);
    json_object_set_new(res, "embedded_faster_everywhere", json_boolean(faster_everywhere));
    *out = res;
    if (rc1)
        return hx_err_set(err, rc1, "embedded: %s", e1.msg);
    if (rc2)
        return hx_err_set(err, rc2, "clickhouse: %s", e2.msg);
    return HX_OK;
}
