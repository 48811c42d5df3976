// HX_TEST_PARTS: http schema insert outage
/* The ClickHouse layer against a real clickhouse-server started here (a
 * plain process on 127.0.0.1, config in a temp dir): the HTTP client, the
 * schema (idempotent, rollups that merge states), batch inserts with
 * retries, and an outage while inserting. A missing clickhouse-server
 * FAILS with the command that installs it. */
#include "analytics/clickhouse/ch.h"
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
                   .index_granularity = 8192,
                   .ttl_days = 30};
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

static int append_provider_row(hx_buf_t *b, int64_t ts, const char *provider, double rt, int ok, uint64_t off)
{
    /* _src is the provider's first letter: one log partition per provider. */
    return hx_buf_printf(b, "t1\t%" PRId64 "\t%s\tm1\treq\t\t0\t%.3f\t10\t20\t30\t0.5\t%d\t\t%d\t%" PRIu64 "\n",
                         ts, provider, rt, ok, provider[0] - 'a', off);
}

static void test_schema(void)
{
    if (start_server("ch_schema"))
        return;
    ch_conn_t *c = conn("helix_t", 0);
    hx_err_t err = {0};
    CHECK_INT(ch_schema_create(c, &err), 0);
    /* Idempotent: a second (and third) run at startup changes nothing. */
    CHECK_INT(ch_schema_create(c, &err), 0);
    CHECK_INT(ch_schema_create(c, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t'"), 10);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t' AND engine = "
                        "'AggregatingMergeTree'"),
              3);
    CHECK_INT(scalar(c, "SELECT count() FROM system.tables WHERE database = 'helix_t' AND engine = "
                        "'MaterializedView'"),
              3);
    hx_buf_t ddl = HX_BUF_INIT;
    CHECK_INT(ch_schema_ddl(c, &ddl), 0);
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "PARTITION BY toYYYYMM(timestamp)");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "index_granularity = 8192");
    CHECK_CONTAINS(hx_buf_cstr(&ddl), "quantileState(response_time_ms)");
    CHECK(!strstr(hx_buf_cstr(&ddl), "SummingMergeTree"));
    hx_buf_free(&ddl);

    /* The rollup keeps states: two batches in one hour merge exactly, and
     * the average is sum/count of all rows, not an average of averages. */
    hx_buf_t b = HX_BUF_INIT;
    int64_t h = 1700000000 - 1700000000 % 3600;
    for (int i = 0; i < 3; i++)
        append_provider_row(&b, h + i, "openai", 10, 1, (uint64_t)i);
    ch_batch_src_t s1 = {14, 0, 2};
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 3, &s1, NULL, &err), 0);
    hx_buf_reset(&b);
    append_provider_row(&b, h + 100, "openai", 100, 0, 3);
    ch_batch_src_t s2 = {14, 3, 3};
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 1, &s2, NULL, &err), 0);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly"), 4);
    CHECK_INT(scalar(c, "SELECT sumMerge(errors) FROM provider_metrics_hourly"), 1);
    CHECK_INT(scalar(c, "SELECT toInt64(sumMerge(response_time_sum) / countMerge(requests) * 100) FROM "
                        "provider_metrics_hourly"),
              3250);
    CHECK_INT(scalar(c, "SELECT toInt64(quantileMerge(0.5)(response_time_q)) FROM provider_metrics_hourly"), 10);
    CHECK_INT(scalar(c, "SELECT toInt64(maxMerge(response_time_max)) FROM provider_metrics_hourly"), 100);
    uint64_t offs[16];
    for (int i = 0; i < 16; i++)
        offs[i] = UINT64_MAX;
    CHECK_INT(ch_max_offsets(c, "provider_metrics", offs, 16, &err), 0);
    CHECK(offs[14] == 3);
    CHECK(offs[6] == UINT64_MAX);
    /* Re-creating the schema keeps the data. */
    CHECK_INT(ch_schema_create(c, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics"), 4);

    /* Retention: rows past ttl_days go, whole months by partition drop. */
    hx_buf_reset(&b);
    int64_t now = 1700000000;
    append_provider_row(&b, now - 200LL * 86400, "old", 1, 1, 10);
    append_provider_row(&b, now - 31LL * 86400, "old", 1, 1, 11);
    ch_batch_src_t s3 = {14, 10, 11};
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 2, &s3, NULL, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE provider = 'old'"), 2);
    CHECK_INT(ch_schema_retention(c, now, &err), 0);
    /* The mutation runs in the background; wait for it (bounded). */
    long long left = -1;
    for (int i = 0; i < 200 && left != 0; i++) {
        left = scalar(c, "SELECT count() FROM provider_metrics WHERE provider = 'old'");
        if (left)
            usleep(50000);
    }
    CHECK_INT(left, 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE provider = 'openai'"), 4);
    hx_buf_free(&b);
    ch_conn_close(c);
    stop_server();
}

static void test_insert(void)
{
    if (start_server("ch_insert"))
        return;
    ch_conn_t *c = conn("helix_i", 2);
    hx_err_t err = {0};
    CHECK_INT(ch_schema_create(c, &err), 0);
    /* Escaping: tabs, newlines and backslashes survive the round trip. */
    hx_buf_t b = HX_BUF_INIT;
    const char odd[] = "a\tb\nc\\d'e";
    CHECK_INT(hx_buf_puts(&b, "t1\t1700000000\t"), 0);
    CHECK_INT(ch_tsv_str(&b, odd, sizeof odd - 1), 0);
    CHECK_INT(hx_buf_puts(&b, "\tm\tr\t\t0\t"), 0);
    CHECK_INT(ch_tsv_f64(&b, NAN), 0);
    CHECK_INT(hx_buf_puts(&b, "\t1\t2\t3\t0.5\t1\t\t2\t0\n"), 0);
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 1, NULL, NULL, &err), 0);
    CHECK_INT(scalar(c, "SELECT length(provider) FROM provider_metrics"), (long long)sizeof odd - 1);
    CHECK_INT(scalar(c, "SELECT provider = 'a\\tb\\nc\\\\d\\'e' FROM provider_metrics"), 1);
    /* A malformed batch is refused at once (no retries) and lands nothing. */
    hx_buf_reset(&b);
    CHECK_INT(hx_buf_puts(&b, "t1\tnot-a-time\tx\n"), 0);
    int attempts = 0;
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 1, NULL, &attempts, &err), HX_EINVAL);
    CHECK_INT(attempts, 1);
    CHECK_CONTAINS(err.msg, "provider_metrics");
    CHECK_CONTAINS(err.msg, "not-a-time");
    CHECK(!strchr(err.msg, '\n'));
    /* 100K rows in one POST. */
    hx_buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        append_provider_row(&b, 1700000000 + i, "b", i % 1000, i % 10 != 0, (uint64_t)i);
    ch_batch_src_t s = {1, 0, 99999};
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 100000, &s, &attempts, &err), 0);
    CHECK_INT(attempts, 1);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics WHERE _src = 1"), 100000);
    CHECK_INT(scalar(c, "SELECT count() FROM system.parts WHERE database = 'helix_i' AND table = "
                        "'provider_metrics' AND active AND rows = 100000"),
              1);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly"), 100001);
    hx_buf_free(&b);
    ch_conn_close(c);
    stop_server();
}

/* The server goes away between batches and mid-retry: the insert fails
 * with HX_EUNAVAIL after its retries (the caller keeps the batch), then
 * succeeds once the server is back; the same batch sent again after an
 * ambiguous failure is recognised and not stored twice. */
static void test_outage(void)
{
    if (start_server("ch_outage"))
        return;
    ch_conn_t *c = conn("helix_o", 2);
    hx_err_t err = {0};
    CHECK_INT(ch_schema_create(c, &err), 0);
    hx_buf_t b = HX_BUF_INIT;
    for (int i = 0; i < 10; i++)
        append_provider_row(&b, 1700000000 + i, "p", 5, 1, (uint64_t)i);
    ch_batch_src_t s = {15, 0, 9};
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b, 10, &s, NULL, &err), 0);

    CHECK_INT(hx_ch_local_stop(srv, &err), 0);
    hx_buf_t b2 = HX_BUF_INIT;
    for (int i = 10; i < 20; i++)
        append_provider_row(&b2, 1700000000 + i, "p", 5, 1, (uint64_t)i);
    ch_batch_src_t s2 = {15, 10, 19};
    int attempts = 0;
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b2, 10, &s2, &attempts, &err), HX_EUNAVAIL);
    CHECK_CONTAINS(err.msg, "unreachable");
    CHECK(attempts >= 1);
    CHECK_INT(ch_ping(c, &err), HX_EUNAVAIL);

    int rrc = hx_ch_local_restart(srv, &err);
    CHECK_INT(rrc, 0);
    if (rrc)
        fprintf(stderr, "restart: %s\n", err.msg);
    CHECK_INT(ch_ping(c, &err), 0);
    CHECK_INT(ch_insert_tsv(c, "provider_metrics", &b2, 10, &s2, &attempts, &err), 0);
    CHECK_INT(scalar(c, "SELECT count() FROM provider_metrics"), 20);
    CHECK_INT(scalar(c, "SELECT uniqExact(_offset) FROM provider_metrics"), 20);
    CHECK_INT(scalar(c, "SELECT countMerge(requests) FROM provider_metrics_hourly"), 20);
    hx_buf_free(&b);
    hx_buf_free(&b2);
    ch_conn_close(c);
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
    if (!part || !strcmp(part, "outage"))
        RUN(test_outage);
    return HX_TEST_DONE();
}
