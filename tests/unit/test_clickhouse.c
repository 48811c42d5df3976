// HX_TEST_PARTS: http schema insert query outage
/* The ClickHouse layer against a real clickhouse-server started here (a
 * plain process on 127.0.0.1, config in a temp dir): the HTTP client, the
 * schema (idempotent, rollups that merge states), batch inserts with
 * retries, and an outage while inserting. A missing clickhouse-server
 * FAILS with the command that installs it. */
#include "analytics/clickhouse/clickhouse.h"
#include "helix/hx_clock.h"
#include "helix/hx_clickhouse_local.h"
#include "helix/hx_fs.h"
#include "helix/hx_http_client.h"
#include "../hx_test.h"

#include <inttypes.h>
#include <math.h>

static hx_ch_local_t *srv;
static char *dir;

static int start_server(const char *name)
{
    dir = hx_test_tmpdir(name);
    hx_err_t err = {0};
    if (hx_ch_local_start(dir, 0, 60000, &srv, &err)) {
        fprintf(stderr, "cannot start clickhouse-server: %s\n", err.msg);
        CHECK(!"clickhouse-server started");
        return -1;
    }
    return 0;
}

static void stop_server(void)
{
    hx_ch_local_free(srv);
    srv = NULL;
    hx_rm_rf(dir);
    free(dir);
}

static ch_conn_t *conn(const char *db, int retries)
{
    ch_opts_t o = {.url = hx_ch_local_url(srv),
                   .database = db,
                   .user = "default",
                   .timeout_ms = 10000,
                   .connect_timeout_ms = 1000,
                   .insert_retries = retries,
                   .retry_backoff_ms = 50,
                   .index_granularity = 8192};
    ch_conn_t *c = NULL;
    hx_err_t err = {0};
    int rc = ch_conn_open(&o, &c, &err);
    CHECK_INT(rc, 0);
    return c;
}

static long long scalar(ch_conn_t *c, const char *sql)
{
    hx_buf_t out = HX_BUF_INIT;
    hx_err_t err = {0};
    int rc = ch_exec(c, sql, NULL, 0, NULL, 1, &out, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", sql, err.msg);
    long long v = rc ? -1 : atoll(hx_buf_cstr(&out));
    hx_buf_free(&out);
    return v;
}

static void test_http(void)
{
    if (start_server("ch_http"))
        return;
    hx_http_opts_t o = {.timeout_ms = 5000};
    hx_http_resp_t r = {0};
    hx_err_t err = {0};
    char url[128];
    snprintf(url, sizeof url, "%s/ping", hx_ch_local_url(srv));
    CHECK_INT(hx_http_request_once(&o, "GET", url, NULL, NULL, 0, &r, &err), 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(hx_buf_cstr(&r.body), "Ok.\n");
    /* A body larger than the limit is an error, not a truncated answer. */
    snprintf(url, sizeof url, "%s/?query=SELECT+number+FROM+numbers(100000)", hx_ch_local_url(srv));
    o.max_response_bytes = 1000;
    CHECK_INT(hx_http_request_once(&o, "GET", url, NULL, NULL, 0, &r, &err), HX_ETOOBIG);
    hx_http_resp_free(&r);

    /* ClickHouse's errors keep its message and map to a code. */
    ch_conn_t *c = conn("default", 0);
    CHECK_INT(ch_ping(c, &err), 0);
    CHECK_INT(ch_exec(c, "SELEC 1", NULL, 0, NULL, 1, NULL, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "Syntax error");
    CHECK_INT(ch_exec(c, "SELECT * FROM nope_table", NULL, 0, NULL, 1, NULL, &err), HX_ENOTFOUND);
    CHECK_INT(ch_exec(c, "CREATE TABLE x (a UInt8) ENGINE = Memory", NULL, 0, "readonly=1", 1, NULL, &err), HX_EAUTH);
    CHECK_INT(ch_exec(c, "SELECT number FROM system.numbers LIMIT 100", NULL, 0,
                      "readonly=1&max_result_rows=10&result_overflow_mode=throw", 1, NULL, &err),
              HX_ETOOBIG);
    ch_conn_close(c);

    /* Wrong password: an auth error naming the server. */
    ch_opts_t bad = {.url = hx_ch_local_url(srv), .database = "default", .user = "default", .password = "wrong",
                     .timeout_ms = 5000};
    CHECK_INT(ch_conn_open(&bad, &c, &err), 0);
    CHECK_INT(ch_exec(c, "SELECT 1", NULL, 0, NULL, 0, NULL, &err), HX_EAUTH);
    ch_conn_close(c);

    /* Nothing listening: unavailable, with advice. */
    int port = hx_ch_local_port(srv);
    stop_server();
    char down[64];
    snprintf(down, sizeof down, "http://127.0.0.1:%d", port);
    ch_opts_t od = {.url = down, .database = "default", .timeout_ms = 2000, .connect_timeout_ms = 500};
    CHECK_INT(ch_conn_open(&od, &c, &err), 0);
    CHECK_INT(ch_ping(c, &err), HX_EUNAVAIL);
    CHECK_INT(ch_exec(c, "SELECT 1", NULL, 0, NULL, 0, NULL, &err), HX_EUNAVAIL);
    CHECK_CONTAINS(err.msg, "unreachable");
    ch_conn_close(c);
    ch_opts_t ou = {.url = "127.0.0.1:8123", .database = "x"};
    CHECK_INT(ch_conn_open(&ou, &c, &err), HX_ECONFIG);
    CHECK_CONTAINS(err.msg, "clickhouse.url");
    ch_opts_t odb = {.url = down, .database = "a;DROP"};
    CHECK_INT(ch_conn_open(&odb, &c, &err), HX_ECONFIG);
}

static hx_config_t cfg_for(const char *db)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.backends.analytics, sizeof cfg.backends.analytics, "clickhouse");
    snprintf(cfg.clickhouse.url, sizeof cfg.clickhouse.url, "%s", hx_ch_local_url(srv));
    snprintf(cfg.clickhouse.database, sizeof cfg.clickhouse.database, "%s", db);
    cfg.clickhouse.retry_backoff_ms = 20;
    cfg.clickhouse.insert_retries = 2;
    return cfg;
}

typedef struct {
    const hx_an_backend_ops_t *ops;
    void *impl;
} be_t;

static be_t be_open(const hx_config_t *cfg)
{
    hx_analytics_opts_t o;
    memset(&o, 0, sizeof o);
    o.cfg = cfg;
    be_t be = {0};
    hx_err_t err = {0};
    int rc = hx_an_clickhouse_open(&o, &be.ops, &be.impl, &err);
    if (rc)
        fprintf(stderr, "open: %s\n", err.msg);
    CHECK_INT(rc, 0);
    return be;
}

/* n provider rows in hour AC_H of two providers; response time i ms. */
#define T_H 1704067200LL
static void provider_batch(hx_an_batch_t *b, const char *tenant, int n, int first)
{
    hx_err_t err = {0};
    for (int i = first; i < first + n; i++) {
        hx_an_provider_row_t r = {.timestamp = T_H + i % 3600,
                                  .provider = i % 2 ? "openai" : "anthropic",
                                  .model = "m1",
                                  .request_id = "r",
                                  .response_time_ms = i,
                                  .tokens_used = 3,
                                  .success = i % 10 != 0};
        CHECK_INT(hx_an_batch_add_provider(b, tenant, &r, &err), 0);
    }
}

static int64_t max_rows = 1000;
static hx_an_result_t run(be_t *be, const char *tenant, const char *sql, int force_raw, int *rc_out,
                          hx_err_t *err)
{
    hx_an_result_t r;
    memset(&r, 0, sizeof r);
    hx_sql_query_t *q = NULL;
    int rc = hx_sql_parse(sql, strlen(sql), tenant, NULL, 0, T_H + 86400, &q, err);
    if (!rc) {
        hx_an_exec_opts_t o = {.max_rows = max_rows, .timeout_ms = 5000, .force_raw = force_raw};
        o.deadline_ns = hx_mono_ns() + 5000000000ull;
        rc = be->ops->query(be->impl, q, &o, &r, err);
    }
    hx_sql_free(q);
    if (rc_out)
        *rc_out = rc;
    else if (rc)
        fprintf(stderr, "%s: %s\n", sql, err->msg);
    return r;
}

/* A fresh server and a backend on database db: 0, or -1 (reported). */
static int fixture(const char *name, const char *db, hx_config_t *cfg, be_t *be)
{
    memset(be, 0, sizeof *be);
    if (start_server(name))
        return -1;
    *cfg = cfg_for(db);
    *be = be_open(cfg);
    if (be->ops)
        return 0;
    stop_server();
    return -1;
}

static void test_schema(void)
{
    if (start_server("ch_schema"))
        return;
    hx_config_t cfg = cfg_for("helix_t");
    be_t a = be_open(&cfg);
    /* Idempotent: a second open (and a second node) runs the DDL again. */
    be_t b2 = be_open(&cfg);
    if (!a.ops || !b2.ops)
        goto out;
    ch_conn_t *c = conn("helix_t", 0);
    hx_err_t err = {0};
    CHECK_INT(ch_schema_create(c, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t'"), 17);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t' AND engine = "
                        "'AggregatingMergeTree'"),
              3);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t' AND engine = "
                        "'MaterializedView'"),
              8);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t' AND engine = 'MergeTree'"), 4);
    hx_buf_t ddl = HX_BUF_INIT;
    CHECK_INT(ch_schema_ddl(c, &ddl), 0);
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "PARTITION BY toYYYYMM(timestamp) ORDER BY (tenant, provider, model, timestamp)");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "index_granularity = 8192");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "quantileState(toFloat64(f0))");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "ENGINE = Null");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "AggregateFunction(count)");
    CHECK(!strstr(hx_buf_cstr(&ddl), "SummingMergeTree"));
    CHECK(!strstr(hx_buf_cstr(&ddl), " TTL "));
    hx_buf_free(&ddl);
    char detail[256];
    CHECK_INT(a.ops->health(a.impl, detail, sizeof detail), 0);
    CHECK_CONTAINS(detail, "18.");

    /* Rollups keep states: two batches in one hour merge exactly; avg is
     * sum/count over all rows, not an average of the batches' averages. */
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    provider_batch(&b, "t1", 3, 0);
    CHECK_INT(a.ops->insert(a.impl, &b, &err), 0);
    hx_an_batch_reset(&b);
    provider_batch(&b, "t1", 1, 100);
    CHECK_INT(a.ops->insert(a.impl, &b, &err), 0);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly"), 4);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics"), 4);
    CHECK_INT(scalar(c, "SELECT toInt64(sumMerge(response_time_ms_sum) / countMerge(requests) * 100) FROM "
                        "provider_metrics_hourly"),
              2575);
    CHECK_INT(scalar(c, "SELECT sumMerge(successes) FROM provider_metrics_hourly"), 2);
    CHECK_INT(scalar(c, "SELECT toInt64(maxMerge(response_time_ms_max)) FROM provider_metrics_hourly"), 100);
    /* Re-creating the schema keeps the data. */
    CHECK_INT(ch_schema_create(c, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics"), 4);

    /* Retention (18.16 has no TTL): rows past ttl_days go. */
    hx_an_batch_reset(&b);
    hx_an_provider_row_t old = {.timestamp = T_H - 200LL * 86400, .provider = "old", .model = "m"};
    CHECK_INT(hx_an_batch_add_provider(&b, "t1", &old, &err), 0);
    old.timestamp = T_H - 31LL * 86400;
    CHECK_INT(hx_an_batch_add_provider(&b, "t1", &old, &err), 0);
    CHECK_INT(a.ops->insert(a.impl, &b, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE provider = 'old'"), 2);
    c->ttl_days[HX_AN_PROVIDER_METRICS] = 30;
    CHECK_INT(ch_schema_retention(c, T_H, &err), 0);
    long long left = -1;
    for (int i = 0; i < 200 && left != 0; i++) { /* the mutation runs in the background */
        left = scalar(c, "SELECT count() FROM provider_metrics WHERE provider = 'old'");
        if (left)
            usleep(50000);
    }
    CHECK_INT(left, 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE provider != 'old'"), 4);
    hx_an_table_stats_t st;
    CHECK_INT(a.ops->table_stats(a.impl, HX_AN_PROVIDER_METRICS, &st, &err), 0);
    CHECK_INT(st.rows, 4);
    CHECK(st.parts >= 1 && st.partitions >= 1);
    CHECK(a.ops->memory_bytes(a.impl) > 0);
    hx_an_batch_free(&b);
    ch_conn_close(c);
out:
    if (a.ops)
        a.ops->close(a.impl);
    if (b2.ops)
        b2.ops->close(b2.impl);
    stop_server();
}

static void test_insert(void)
{
    if (start_server("ch_insert"))
        return;
    ch_conn_t *c = conn("helix_i", 2);
    hx_err_t err = {0};
    CHECK_INT(ch_schema_create(c, &err), 0);
    hx_config_t cfg = cfg_for("helix_i");
    be_t be = be_open(&cfg);
    if (!be.ops)
        goto out;
    /* Escaping: tabs, newlines, quotes and backslashes survive; NaN is 0. */
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    hx_an_provider_row_t odd = {.timestamp = T_H, .provider = "a\tb\nc\\d'e", .model = "m",
                                .response_time_ms = NAN};
    CHECK_INT(hx_an_batch_add_provider(&b, "t1", &odd, &err), 0);
    CHECK_INT(be.ops->insert(be.impl, &b, &err), 0);
    CHECK_INT(scalar(c, "SELECT length(provider) FROM provider_metrics"), 9);
    CHECK_INT(scalar(c, "SELECT provider = 'a\\tb\\nc\\\\d\\'e' FROM provider_metrics"), 1);
    CHECK_INT(scalar(c, "SELECT toInt64(response_time_ms) FROM provider_metrics"), 0);
    /* A malformed body is refused at once (no retries) and lands nothing. */
    hx_buf_t bad = HX_BUF_INIT;
    CHECK_INT(hx_buf_puts(&bad, "\x01\x05" "ab"), 0); /* a string shorter than its length */
    int attempts = 0;
    CHECK_INT(ch_insert_rows(c, &bad, 1, 0, 0, 0, &attempts, NULL, &err), HX_EINVAL);
    CHECK_INT(attempts, 1);
    CHECK(!strchr(err.msg, '\n'));
    hx_buf_free(&bad);
    /* 100K rows in one POST, one part. */
    hx_an_batch_reset(&b);
    provider_batch(&b, "t2", 100000, 0);
    uint64_t t0 = hx_mono_ns();
    hx_buf_t enc = HX_BUF_INIT;
    CHECK_INT(ch_encode_batch(&b, &enc), 0);
    uint64_t t1 = hx_mono_ns();
    CHECK_INT(be.ops->insert(be.impl, &b, &err), 0);
    fprintf(stderr, "100000 rows: encode %.0f ms (%zu bytes), insert %.0f ms\n", (double)(t1 - t0) / 1e6, enc.len,
            (double)(hx_mono_ns() - t1) / 1e6);
    hx_buf_free(&enc);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE tenant = 't2'"), 100000);
    CHECK_INT(scalar(c, "SELECT count() FROM system.parts WHERE database = 'helix_i' AND table = "
                        "'provider_metrics' AND active AND rows = 100000"),
              1);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly WHERE tenant = 't2'"), 100000);
    hx_an_batch_free(&b);
    be.ops->close(be.impl);
out:
    ch_conn_close(c);
    stop_server();
}

/* The SQL subset rewritten for ClickHouse: raw and rollup answers agree,
 * tenants never see each other, limits give clear errors. */
static void test_query(void)
{
    hx_config_t cfg;
    be_t be;
    if (fixture("ch_query", "helix_q", &cfg, &be))
        return;
    hx_err_t err = {0};
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    provider_batch(&b, "acme", 1000, 0);
    provider_batch(&b, "other", 10, 0);
    CHECK_INT(be.ops->insert(be.impl, &b, &err), 0);
    const char *sql = "SELECT provider, count() AS n, sum(tokens_used), avg(response_time_ms), "
                      "quantile(0.5)(response_time_ms), max(response_time_ms) FROM provider_metrics "
                      "GROUP BY provider ORDER BY provider";
    for (int raw = 0; raw < 2; raw++) {
        hx_an_result_t r = run(&be, "acme", sql, raw, NULL, &err);
        CHECK_STR(r.source, raw ? "raw" : "rollup");
        CHECK_INT(r.nrows, 2);
        if (r.nrows == 2) {
            CHECK_STR(hx_an_result_cell(&r, 0, 0)->s, "anthropic");
            CHECK_INT(hx_an_result_cell(&r, 0, 1)->i, 500);
            CHECK_INT(hx_an_result_cell(&r, 0, 2)->i, 1500);
            CHECK(fabs(hx_an_result_cell(&r, 0, 3)->f - 499.0) < 1e-9); /* 0, 2, ..., 998 */
            CHECK(fabs(hx_an_result_cell(&r, 1, 4)->f - 500.0) < 10);
            CHECK(fabs(hx_an_result_cell(&r, 0, 5)->f - 998) < 1e-9);
            CHECK_STR(r.cols[1].name, "n");
            CHECK(r.rows_read > 0);
        }
        hx_an_result_free(&r);
    }
    /* Series by hour, DateTime back as epoch seconds; WHERE with IN/LIKE/BETWEEN. */
    hx_an_result_t r = run(&be, "acme",
                           "SELECT toStartOfHour(timestamp) AS h, count() FROM provider_metrics WHERE provider IN "
                           "('openai') AND model LIKE 'm%' AND response_time_ms BETWEEN 1 AND 99 GROUP BY h",
                           0, NULL, &err);
    CHECK_INT(r.nrows, 1);
    if (r.nrows == 1) {
        CHECK_INT(hx_an_result_cell(&r, 0, 0)->i, T_H);
        CHECK_INT(hx_an_result_cell(&r, 0, 1)->i, 50);
    }
    hx_an_result_free(&r);
    /* Other tenant: 10 rows, never acme's. */
    r = run(&be, "other", "SELECT count() FROM provider_metrics", 0, NULL, &err);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 10);
    hx_an_result_free(&r);
    /* No rows: min is null, count 0. */
    r = run(&be, "nobody", "SELECT count(), min(response_time_ms), avg(response_time_ms) FROM provider_metrics", 0,
            NULL, &err);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 0 && hx_an_result_cell(&r, 0, 1)->is_null &&
          hx_an_result_cell(&r, 0, 2)->is_null);
    hx_an_result_free(&r);
    /* Row limit: a clear out-of-range error. */
    r = run(&be, "acme", "SELECT min(timestamp), max(timestamp) FROM provider_metrics", 0, NULL, &err);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == T_H && hx_an_result_cell(&r, 0, 1)->i == T_H + 999);
    CHECK_STR(r.source, "raw");
    hx_an_result_free(&r);
    int rc = 0;
    max_rows = 100;
    r = run(&be, "acme", "SELECT request_id FROM provider_metrics", 0, &rc, &err);
    max_rows = 1000;
    CHECK_INT(rc, HX_ERANGE);
    CHECK_CONTAINS(err.msg, "query_max_rows");
    hx_an_result_free(&r);
    hx_an_batch_free(&b);
    be.ops->close(be.impl);
    stop_server();
}

/* Ingest commits store rows and offsets in one INSERT; during an outage a
 * commit fails after its retries and stores nothing; once the server is
 * back the same commit goes through, and the offsets read back. */
static void test_outage(void)
{
    hx_config_t cfg;
    be_t be;
    if (fixture("ch_outage", "helix_o", &cfg, &be))
        return;
    hx_err_t err = {0};
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    provider_batch(&b, "t1", 10, 0);
    hx_an_batch_t *bs[] = {&b};
    hx_an_offsets_t next, got;
    hx_an_offsets_clear(&next);
    next.next[HX_AN_SRC_PROVIDERS][2] = 10;
    CHECK_INT(be.ops->ingest_commit(be.impl, bs, 1, &next, &err), 0);

    CHECK_INT(hx_ch_local_stop(srv, &err), 0);
    next.next[HX_AN_SRC_PROVIDERS][2] = 20;
    CHECK_INT(be.ops->ingest_commit(be.impl, bs, 1, &next, &err), HX_EUNAVAIL);
    CHECK_CONTAINS(err.msg, "unreachable");
    char detail[256];
    CHECK_INT(be.ops->health(be.impl, detail, sizeof detail), HX_EUNAVAIL);

    int rrc = hx_ch_local_restart(srv, &err);
    CHECK_INT(rrc, 0);
    if (rrc)
        fprintf(stderr, "restart: %s\n", err.msg);
    CHECK_INT(be.ops->health(be.impl, detail, sizeof detail), 0);
    CHECK_INT(be.ops->stored_offsets(be.impl, &got, &err), 0);
    CHECK_INT(got.next[HX_AN_SRC_PROVIDERS][2], 10); /* the failed commit left nothing */
    CHECK_INT(be.ops->ingest_commit(be.impl, bs, 1, &next, &err), 0);
    CHECK_INT(be.ops->stored_offsets(be.impl, &got, &err), 0);
    CHECK_INT(got.next[HX_AN_SRC_PROVIDERS][2], 20);
    CHECK_INT(got.next[HX_AN_SRC_PROVIDERS][1], -1);
    ch_conn_t *c = conn("helix_o", 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics"), 20);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly"), 20);

    /* The answer lost, the insert applied: a client deadline far shorter
     * than the insert takes. The retry must find the commit (or be refused
     * while it still runs), never store it twice. */
    hx_an_batch_reset(&b);
    provider_batch(&b, "lost", 300000, 0);
    hx_buf_t rb = HX_BUF_INIT;
    CHECK_INT(ch_encode_batch(&b, &rb), 0);
    uint64_t seq = (uint64_t)hx_now_us();
    CHECK_INT(ch_encode_offset(seq, HX_AN_SRC_PROVIDERS, 5, 300000, &rb), 0);
    ch_opts_t fast = {.url = hx_ch_local_url(srv), .database = "helix_o", .timeout_ms = 100, .insert_retries = 12,
                      .retry_backoff_ms = 100};
    ch_conn_t *fc = NULL;
    CHECK_INT(ch_conn_open(&fast, &fc, &err), 0);
    int attempts = 0;
    int irc = ch_insert_rows(fc, &rb, 300001, seq, HX_AN_SRC_PROVIDERS, 5, &attempts, NULL, &err);
    CHECK_INT(irc, 0);
    if (irc)
        fprintf(stderr, "lost-answer insert: %s\n", err.msg);
    fprintf(stderr, "lost-answer insert: %d POST(s)\n", attempts);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE tenant = 'lost'"), 300000);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly WHERE tenant = 'lost'"), 300000);
    ch_conn_close(fc);
    hx_buf_free(&rb);
    ch_conn_close(c);
    /* A new handle (a restarted node) resumes from the same offsets. */
    be.ops->close(be.impl);
    be = be_open(&cfg);
    CHECK_INT(be.ops->stored_offsets(be.impl, &got, &err), 0);
    CHECK_INT(got.next[HX_AN_SRC_PROVIDERS][2], 20);
    hx_an_batch_free(&b);
    be.ops->close(be.impl);
    stop_server();
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : NULL;
    if (!part || !strcmp(part, "http"))
        RUN(test_http);
    if (!part || !strcmp(part, "schema"))
        RUN(test_schema);
    if (!part || !strcmp(part, "insert"))
        RUN(test_insert);
    if (!part || !strcmp(part, "query"))
        RUN(test_query);
    if (!part || !strcmp(part, "outage"))
        RUN(test_outage);
    return HX_TEST_DONE();
}
