/* The analytics conformance suite: one set of behaviour tests through the
 * public hx_analytics.h API, run against every backend
 * (tests/unit/test_analytics.c on the embedded store; the ClickHouse backend
 * runs it against a clickhouse-server it starts).
 *
 * The including file defines, before including this header:
 *   static void ac_configure(hx_config_t *cfg, const char *name);
 *       points cfg at a fresh, empty store of the backend (backends.analytics,
 *       node.data_dir / clickhouse.* ...); name is unique per test
 *   AC_QUANTILE_TOL (optional)  relative error allowed for quantile(q)(x)
 *       against the exact value at rank floor(q*(n-1)); default the sketch's
 *       HX_AN_QUANTILE_REL_ERROR (ClickHouse's quantile is sampled: wider)
 * Every test builds its data with a fixed seed and computes the expected
 * answers itself, exactly, in C. */
#ifndef HX_ANALYTICS_CONFORMANCE_H
#define HX_ANALYTICS_CONFORMANCE_H

#include "helix/hx_analytics.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"
#include "hx_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef AC_QUANTILE_TOL
#define AC_QUANTILE_TOL HX_AN_QUANTILE_REL_ERROR
#endif

static void ac_configure(hx_config_t *cfg, const char *name);

/* 2024-01-01 00:00:00 UTC: every test's data lies in the days after it. */
#define AC_T0 1704067200LL

static const char *ac_providers[] = {"openai", "anthropic", "google"};
static const char *ac_models[] = {"m-small", "m-large"};

typedef struct {
    hx_config_t cfg;
    hx_analytics_t *a;
    hx_broker_t *broker;
} ac_store_t;

static void ac_config(hx_config_t *cfg, const char *name)
{
    hx_config_defaults(cfg);
    cfg->analytics.ttl_days.provider_metrics = 0;
    cfg->analytics.ttl_days.debate_metrics = 0;
    cfg->analytics.ttl_days.debate_participants = 0;
    cfg->analytics.ttl_days.conversation_metrics = 0;
    cfg->analytics.flush_ms = 50;
    cfg->event_log.fsync = HX_FSYNC_NEVER;
    ac_configure(cfg, name);
}

static hx_analytics_t *ac_open_cfg(const hx_config_t *cfg, hx_broker_t *broker, int ingest)
{
    hx_analytics_opts_t o;
    hx_analytics_opts_defaults(&o);
    o.cfg = cfg;
    o.broker = broker;
    o.ingest = ingest;
    o.node_id = "test-node";
    hx_analytics_t *a = NULL;
    hx_err_t e = {0};
    if (hx_analytics_open(&o, &a, &e))
        fprintf(stderr, "analytics open: %s\n", e.msg);
    return a;
}

static hx_analytics_t *ac_open(const char *name, hx_config_t *cfg_out)
{
    hx_config_t cfg;
    ac_config(&cfg, name);
    if (cfg_out)
        *cfg_out = cfg;
    return ac_open_cfg(&cfg, NULL, 0);
}

/* A deterministic generator (xorshift64*). */
static uint64_t ac_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double ac_unif(uint64_t *s)
{
    return (double)(ac_rng(s) >> 11) / 9007199254740992.0;
}

typedef struct {
    size_t n;
    hx_an_provider_row_t *rows;
    char (*req)[24];
    const char **tenant;
} ac_dataset_t;

/* n provider rows over `days` days from AC_T0, two tenants (acme 3/4, other
 * 1/4), response times log-normal-ish per provider, 5% failures. */
static void ac_dataset(ac_dataset_t *d, size_t n, int days, uint64_t seed)
{
    d->n = n;
    d->rows = calloc(n, sizeof *d->rows);
    d->req = calloc(n, sizeof *d->req);
    d->tenant = calloc(n, sizeof *d->tenant);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        hx_an_provider_row_t *r = &d->rows[i];
        int p = (int)(ac_rng(&s) % 3), m = (int)(ac_rng(&s) % 2);
        r->timestamp = AC_T0 + (int64_t)(ac_rng(&s) % (uint64_t)(days * 86400));
        r->provider = ac_providers[p];
        r->model = ac_models[m];
        snprintf(d->req[i], sizeof d->req[i], "req-%zu", i);
        r->request_id = d->req[i];
        r->debate_id = i % 50 == 0 ? "deb-1" : "";
        r->round = (uint32_t)(i % 50 == 0 ? 1 + i / 50 % 3 : 0);
        double u = ac_unif(&s);
        r->response_time_ms = round((100.0 * (p + 1)) * exp(1.2 * (u - 0.5)) * 1000) / 1000;
        r->prompt_tokens = (uint32_t)(ac_rng(&s) % 500);
        r->completion_tokens = (uint32_t)(ac_rng(&s) % 300);
        r->tokens_used = r->prompt_tokens + r->completion_tokens;
        r->confidence = (double)(ac_rng(&s) % 1000) / 1000.0;
        r->success = ac_rng(&s) % 20 != 0;
        r->error_type = r->success ? "" : "timeout";
        d->tenant[i] = i % 4 == 3 ? "other" : "acme";
    }
}

static void ac_dataset_free(ac_dataset_t *d)
{
    free(d->rows);
    free(d->req);
    free(d->tenant);
}

static void ac_insert_dataset(hx_analytics_t *a, const ac_dataset_t *d, size_t batch)
{
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    hx_err_t e = {0};
    for (size_t i = 0; i < d->n; i++) {
        CHECK_INT(hx_an_batch_add_provider(&b, d->tenant[i], &d->rows[i], &e), 0);
        if (b.rows == batch || i + 1 == d->n) {
            int rc = hx_analytics_insert(a, &b, &e);
            if (rc)
                fprintf(stderr, "insert: %s\n", e.msg);
            CHECK_INT(rc, 0);
            hx_an_batch_reset(&b);
        }
    }
    hx_an_batch_free(&b);
}

static hx_an_result_t ac_query_opts(hx_analytics_t *a, const char *tenant, const char *sql,
                                    const hx_an_query_opts_t *o, int want_rc)
{
    hx_an_result_t r;
    memset(&r, 0, sizeof r);
    hx_err_t e = {0};
    int rc = hx_analytics_query(a, tenant, sql, strlen(sql), o, &r, &e);
    if (rc != want_rc)
        fprintf(stderr, "query [%s]: rc %d (%s), want %d\n", sql, rc, e.msg, want_rc);
    CHECK_INT(rc, want_rc);
    return r;
}

static hx_an_result_t ac_query(hx_analytics_t *a, const char *tenant, const char *sql, int force_raw)
{
    hx_an_query_opts_t o = {NULL, 0, AC_T0 + 100 * 86400, force_raw};
    return ac_query_opts(a, tenant, sql, &o, 0);
}

static int ac_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The exact value at rank floor(q * (n - 1)); sorts v. */
static double ac_exact_quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, ac_cmp_double);
    return v[(size_t)floor(q * (double)(n - 1))];
}

static int ac_close(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fabs(want) + 1e-9;
}

/* ---- tests ---------------------------------------------------------------- */

/* Counts and sums per provider are exact, per tenant, on both paths; avg and
 * quantiles are right within their bounds; rollup and raw agree. */
static void test_ac_group_by_provider(void)
{
    hx_analytics_t *a = ac_open("group", NULL);
    CHECK(a != NULL);
    if (!a)
        return;
    ac_dataset_t d;
    ac_dataset(&d, 20000, 10, 42);
    ac_insert_dataset(a, &d, 3000);
    hx_err_t e = {0};
    CHECK_INT(hx_analytics_flush(a, &e), 0);
    const char *sql = "SELECT provider, count() AS c, sum(tokens_used) AS t, avg(response_time_ms) AS a, "
                      "quantile(0.95)(response_time_ms) AS p95, count() - sum(success) AS errors, "
                      "min(response_time_ms) AS lo, max(response_time_ms) AS hi "
                      "FROM provider_metrics GROUP BY provider ORDER BY provider";
    for (int raw = 0; raw < 2; raw++) {
        hx_an_result_t r = ac_query(a, "acme", sql, raw);
        CHECK_INT(r.nrows, 3);
        CHECK_INT(r.ncols, 8);
        CHECK_STR(r.source, raw ? "raw" : "rollup");
        for (size_t row = 0; row < r.nrows; row++) {
            const char *prov = hx_an_result_cell(&r, row, 0)->s;
            uint64_t cnt = 0, tok = 0, errs = 0;
            double sum = 0, lo = 1e300, hi = -1e300;
            double *v = malloc(d.n * sizeof *v);
            size_t nv = 0;
            for (size_t i = 0; i < d.n; i++)
                if (!strcmp(d.tenant[i], "acme") && !strcmp(d.rows[i].provider, prov)) {
                    cnt++;
                    tok += d.rows[i].tokens_used;
                    errs += !d.rows[i].success;
                    sum += d.rows[i].response_time_ms;
                    v[nv++] = d.rows[i].response_time_ms;
                    lo = fmin(lo, d.rows[i].response_time_ms);
                    hi = fmax(hi, d.rows[i].response_time_ms);
                }
            CHECK_INT(hx_an_result_cell(&r, row, 1)->i, cnt);
            CHECK_INT(hx_an_result_cell(&r, row, 2)->i, tok);
            CHECK(ac_close(hx_an_result_cell(&r, row, 3)->f, sum / (double)cnt, 1e-9));
            double exact = ac_exact_quantile(v, nv, 0.95);
            double got = hx_an_result_cell(&r, row, 4)->f;
            if (!ac_close(got, exact, AC_QUANTILE_TOL))
                fprintf(stderr, "p95 of %s: got %f, exact %f\n", prov, got, exact);
            CHECK(ac_close(got, exact, AC_QUANTILE_TOL));
            CHECK_INT(hx_an_result_cell(&r, row, 5)->i, errs);
            CHECK(hx_an_result_cell(&r, row, 6)->f == lo);
            CHECK(hx_an_result_cell(&r, row, 7)->f == hi);
            free(v);
        }
        CHECK_STR(r.cols[0].name, "provider");
        CHECK_INT(r.cols[1].type, HX_AN_T_UINT64);
        CHECK_INT(r.cols[3].type, HX_AN_T_FLOAT64);
        hx_an_result_free(&r);
    }
    /* Rows inserted after the flush (not yet in any part) count on both paths
     * alike: the rollup answer equals the raw one, quantiles included. */
    ac_dataset_t more;
    ac_dataset(&more, 3000, 10, 43);
    ac_insert_dataset(a, &more, 1000);
    hx_an_result_t rr = ac_query(a, "acme", sql, 0), rw = ac_query(a, "acme", sql, 1);
    CHECK_STR(rr.source, "rollup");
    CHECK_INT(rr.nrows, rw.nrows);
    for (size_t i = 0; i < rr.nrows && i < rw.nrows; i++) {
        CHECK_INT(hx_an_result_cell(&rr, i, 1)->i, hx_an_result_cell(&rw, i, 1)->i);
        CHECK_INT(hx_an_result_cell(&rr, i, 2)->i, hx_an_result_cell(&rw, i, 2)->i);
        CHECK(ac_close(hx_an_result_cell(&rr, i, 3)->f, hx_an_result_cell(&rw, i, 3)->f, 1e-9));
        CHECK(ac_close(hx_an_result_cell(&rr, i, 4)->f, hx_an_result_cell(&rw, i, 4)->f, 2 * AC_QUANTILE_TOL));
    }
    hx_an_result_free(&rr);
    hx_an_result_free(&rw);
    /* At a rollup's own grain (one state per group) too. */
    const char *hourly = "SELECT toStartOfHour(timestamp) AS h, provider, count(), quantile(0.9)(response_time_ms) "
                         "FROM provider_metrics GROUP BY h, provider ORDER BY h, provider";
    rr = ac_query(a, "acme", hourly, 0);
    rw = ac_query(a, "acme", hourly, 1);
    CHECK_STR(rr.source, "rollup");
    CHECK_INT(rr.nrows, rw.nrows);
    for (size_t i = 0; i < rr.nrows && i < rw.nrows; i++) {
        CHECK_INT(hx_an_result_cell(&rr, i, 2)->i, hx_an_result_cell(&rw, i, 2)->i);
        CHECK(hx_an_result_cell(&rr, i, 3)->f == hx_an_result_cell(&rw, i, 3)->f || AC_QUANTILE_TOL > 0.011);
    }
    hx_an_result_free(&rr);
    hx_an_result_free(&rw);
    ac_dataset_free(&more);
    /* Tenants never see each other's rows. */
    hx_an_result_t r = ac_query(a, "other", "SELECT count() FROM provider_metrics", 0);
    CHECK_INT(r.nrows, 1);
    CHECK_INT(r.nrows ? hx_an_result_cell(&r, 0, 0)->i : -1, d.n / 4 + 3000 / 4);
    hx_an_result_free(&r);
    r = ac_query(a, "nobody", "SELECT count(), avg(response_time_ms) FROM provider_metrics", 0);
    CHECK_INT(r.nrows, 1);
    CHECK(r.nrows && hx_an_result_cell(&r, 0, 0)->i == 0 && hx_an_result_cell(&r, 0, 1)->is_null);
    hx_an_result_free(&r);
    ac_dataset_free(&d);
    hx_analytics_close(a);
}

/* Hourly series of one provider for one day, from the rollup and raw. */
static void test_ac_hourly_series(void)
{
    hx_analytics_t *a = ac_open("series", NULL);
    CHECK(a != NULL);
    if (!a)
        return;
    ac_dataset_t d;
    ac_dataset(&d, 12000, 3, 7);
    ac_insert_dataset(a, &d, 12000);
    const char *sql = "SELECT toStartOfHour(timestamp) AS h, count() AS c, quantile(0.5)(response_time_ms) AS p50 "
                      "FROM provider_metrics WHERE provider = {p:String} AND timestamp >= {from:DateTime} AND "
                      "timestamp < {from:DateTime} + INTERVAL 1 DAY GROUP BY h ORDER BY h";
    hx_an_param_t params[] = {{"p", "google"}, {"from", "2024-01-02 00:00:00"}};
    for (int raw = 0; raw < 2; raw++) {
        hx_an_query_opts_t o = {params, 2, 0, raw};
        hx_an_result_t r = ac_query_opts(a, "acme", sql, &o, 0);
        CHECK_INT(r.nrows, 24);
        CHECK_STR(r.source, raw ? "raw" : "rollup");
        for (size_t row = 0; row < r.nrows; row++) {
            int64_t h = hx_an_result_cell(&r, row, 0)->i;
            CHECK_INT(h, AC_T0 + 86400 + (int64_t)row * 3600);
            double v[2000];
            size_t nv = 0;
            for (size_t i = 0; i < d.n; i++)
                if (!strcmp(d.tenant[i], "acme") && !strcmp(d.rows[i].provider, "google") &&
                    d.rows[i].timestamp >= h && d.rows[i].timestamp < h + 3600 && nv < 2000)
                    v[nv++] = d.rows[i].response_time_ms;
            CHECK_INT(hx_an_result_cell(&r, row, 1)->i, nv);
            CHECK(ac_close(hx_an_result_cell(&r, row, 2)->f, ac_exact_quantile(v, nv, 0.5), AC_QUANTILE_TOL));
        }
        CHECK_INT(r.cols[0].type, HX_AN_T_DATETIME);
        json_t *j = hx_an_cell_json(&r, 0, 0);
        CHECK_STR(json_string_value(j), "2024-01-02 00:00:00");
        json_decref(j);
        hx_an_result_free(&r);
    }
    ac_dataset_free(&d);
    hx_analytics_close(a);
}

/* WHERE, IN, LIKE, BETWEEN, ORDER BY, LIMIT, time functions, empty results. */
static void test_ac_sql_semantics(void)
{
    hx_analytics_t *a = ac_open("sem", NULL);
    CHECK(a != NULL);
    if (!a)
        return;
    ac_dataset_t d;
    ac_dataset(&d, 5000, 40, 99);
    ac_insert_dataset(a, &d, 1000);
    hx_err_t e = {0};
    CHECK_INT(hx_analytics_flush(a, &e), 0);
    uint64_t in = 0, like = 0, between = 0, month_jan = 0, fails = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (strcmp(d.tenant[i], "acme"))
            continue;
        const hx_an_provider_row_t *r = &d.rows[i];
        in += !strcmp(r->provider, "openai") || !strcmp(r->provider, "google");
        like += !strcmp(r->model, "m-large");
        between += r->tokens_used >= 100 && r->tokens_used <= 400;
        month_jan += r->timestamp < AC_T0 + 31 * 86400;
        fails += !r->success && r->response_time_ms > 150;
    }
    struct {
        const char *sql;
        uint64_t want;
    } cases[] = {
        {"SELECT count() FROM provider_metrics WHERE provider IN ('openai', 'google')", in},
        {"SELECT count() FROM provider_metrics WHERE provider NOT IN ('openai', 'google')", 0},
        {"SELECT count() FROM provider_metrics WHERE model LIKE '%large'", like},
        {"SELECT count() FROM provider_metrics WHERE tokens_used BETWEEN 100 AND 400", between},
        {"SELECT count() FROM provider_metrics WHERE toYYYYMM(timestamp) = 202401", month_jan},
        {"SELECT count() FROM provider_metrics WHERE NOT success AND response_time_ms > 150", fails},
        {"SELECT count() FROM provider_metrics WHERE provider = 'nobody'", 0},
    };
    uint64_t acme = d.n - d.n / 4;
    cases[1].want = acme - in;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hx_an_result_t r = ac_query(a, "acme", cases[k].sql, 0);
        CHECK_INT(r.nrows, 1);
        if (r.nrows && (uint64_t)hx_an_result_cell(&r, 0, 0)->i != cases[k].want)
            fprintf(stderr, "[%s]: got %lld want %llu\n", cases[k].sql, (long long)hx_an_result_cell(&r, 0, 0)->i,
                    (unsigned long long)cases[k].want);
        CHECK(r.nrows && (uint64_t)hx_an_result_cell(&r, 0, 0)->i == cases[k].want);
        hx_an_result_free(&r);
    }
    /* ORDER BY ... DESC LIMIT: the 5 slowest requests of acme. */
    double *v = malloc(d.n * sizeof *v);
    size_t nv = 0;
    for (size_t i = 0; i < d.n; i++)
        if (!strcmp(d.tenant[i], "acme"))
            v[nv++] = d.rows[i].response_time_ms;
    qsort(v, nv, sizeof *v, ac_cmp_double);
    hx_an_result_t r = ac_query(a, "acme",
                                "SELECT request_id, response_time_ms FROM provider_metrics ORDER BY "
                                "response_time_ms DESC, request_id LIMIT 5",
                                0);
    CHECK_INT(r.nrows, 5);
    for (size_t i = 0; i < r.nrows; i++)
        CHECK(hx_an_result_cell(&r, i, 1)->f == v[nv - 1 - i]);
    CHECK_STR(r.source, "raw");
    hx_an_result_free(&r);
    free(v);
    /* Daily groups over 40 days: every day present, counts add up. */
    r = ac_query(a, "acme", "SELECT toDate(timestamp) AS day, count() AS n FROM provider_metrics GROUP BY day "
                            "ORDER BY day",
                 0);
    CHECK_INT(r.nrows, 40);
    uint64_t total = 0;
    for (size_t i = 0; i < r.nrows; i++)
        total += (uint64_t)hx_an_result_cell(&r, i, 1)->i;
    CHECK_INT(total, acme);
    CHECK_INT(r.cols[0].type, HX_AN_T_DATE);
    json_t *j = hx_an_cell_json(&r, 0, 0);
    CHECK_STR(json_string_value(j), "2024-01-01");
    json_decref(j);
    hx_an_result_free(&r);
    /* uniq is exact on small sets. */
    r = ac_query(a, "acme", "SELECT uniq(model), uniq(provider) FROM provider_metrics", 0);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 2 && hx_an_result_cell(&r, 0, 1)->i == 3);
    hx_an_result_free(&r);
    /* An aggregate over no rows: count 0, avg null; a GROUP BY over none: no rows. */
    r = ac_query(a, "acme", "SELECT count(), avg(response_time_ms), quantile(0.5)(response_time_ms) FROM "
                            "provider_metrics WHERE provider = 'x'",
                 0);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 0 && hx_an_result_cell(&r, 0, 1)->is_null &&
          hx_an_result_cell(&r, 0, 2)->is_null);
    hx_an_result_free(&r);
    r = ac_query(a, "acme", "SELECT provider, count() FROM provider_metrics WHERE provider = 'x' GROUP BY provider",
                 0);
    CHECK_INT(r.nrows, 0);
    hx_an_result_free(&r);
    ac_dataset_free(&d);
    hx_analytics_close(a);
}

/* Errors name the problem; limits give clear errors. */
static void test_ac_errors_and_limits(void)
{
    hx_config_t cfg;
    ac_config(&cfg, "limits");
    cfg.analytics.query_max_rows = 10;
    hx_analytics_t *a = ac_open_cfg(&cfg, NULL, 0);
    CHECK(a != NULL);
    if (!a)
        return;
    ac_dataset_t d;
    ac_dataset(&d, 100, 2, 5);
    ac_insert_dataset(a, &d, 100);
    hx_an_query_opts_t o = {NULL, 0, 0, 0};
    hx_an_result_t r = ac_query_opts(a, "acme", "SELECT request_id FROM provider_metrics", &o, HX_ERANGE);
    hx_an_result_free(&r);
    r = ac_query_opts(a, "acme", "SELECT request_id FROM provider_metrics LIMIT 10", &o, 0);
    CHECK_INT(r.nrows, 10);
    hx_an_result_free(&r);
    hx_err_t e = {0};
    const char *bad = "SELECT * FROM system.parts";
    CHECK_INT(hx_analytics_query(a, "acme", bad, strlen(bad), &o, &r, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "position 14");
    bad = "DROP TABLE provider_metrics";
    CHECK_INT(hx_analytics_query(a, "acme", bad, strlen(bad), &o, &r, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "only SELECT");
    /* A batch for the wrong shape is refused. */
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    CHECK_INT(hx_an_batch_add_debate(&b, NULL, "acme", &(hx_an_debate_row_t){0}, &e), HX_EINVAL);
    hx_an_batch_free(&b);
    ac_dataset_free(&d);
    hx_analytics_close(a);
}

static void ac_add_debates(hx_analytics_t *a)
{
    hx_an_batch_t db, pb;
    hx_an_batch_init(&db, HX_AN_DEBATE_METRICS);
    hx_an_batch_init(&pb, HX_AN_DEBATE_PARTICIPANTS);
    hx_err_t e = {0};
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "deb-%d", i);
        int w = i % 3;
        hx_an_participant_row_t ps[3];
        for (int k = 0; k < 3; k++)
            ps[k] = (hx_an_participant_row_t){ac_providers[k], ac_models[k % 2], k ? "con" : "pro",
                                              100.0 * (k + 1), (uint32_t)(10 * (k + 1)), 0.5, k == w};
        hx_an_debate_row_t r = {AC_T0 + i * 3600, id, "conv-1", "topic", ac_providers[w], ac_models[w % 2],
                                i % 5 == 4 ? "abandoned" : "successful", (uint32_t)(2 + i % 3), 0.75,
                                1000.0 + i, ps, 3};
        CHECK_INT(hx_an_batch_add_debate(&db, &pb, "acme", &r, &e), 0);
    }
    CHECK_INT(hx_analytics_insert(a, &db, &e), 0);
    CHECK_INT(hx_analytics_insert(a, &pb, &e), 0);
    hx_an_batch_free(&db);
    hx_an_batch_free(&pb);
}

/* The typed queries behind the endpoints. */
static void test_ac_endpoints(void)
{
    hx_analytics_t *a = ac_open("endpoints", NULL);
    CHECK(a != NULL);
    if (!a)
        return;
    ac_dataset_t d;
    ac_dataset(&d, 6000, 2, 11);
    ac_insert_dataset(a, &d, 2000);
    ac_add_debates(a);
    hx_err_t e = {0};
    hx_an_provider_stats_t s;
    CHECK_INT(hx_analytics_provider_stats(a, "acme", "openai", NULL, AC_T0, AC_T0 + 86400, HX_AN_HOUR, &s, &e), 0);
    uint64_t req = 0, errs = 0, tok = 0;
    for (size_t i = 0; i < d.n; i++)
        if (!strcmp(d.tenant[i], "acme") && !strcmp(d.rows[i].provider, "openai") &&
            d.rows[i].timestamp < AC_T0 + 86400) {
            req++;
            errs += !d.rows[i].success;
            tok += d.rows[i].tokens_used;
        }
    CHECK_INT(s.totals.requests, req);
    CHECK_INT(s.totals.errors, errs);
    CHECK_INT(s.totals.tokens, tok);
    CHECK(ac_close(s.totals.error_rate, (double)errs / (double)req, 1e-12));
    CHECK_INT(s.nseries, 24);
    uint64_t sum = 0;
    for (size_t i = 0; i < s.nseries; i++) {
        sum += s.series[i].requests;
        CHECK(s.series[i].p50_ms <= s.series[i].p95_ms && s.series[i].p95_ms <= s.series[i].p99_ms);
        CHECK(i == 0 || s.series[i].t > s.series[i - 1].t);
    }
    CHECK_INT(sum, req);
    CHECK_STR(s.source, "rollup");
    hx_an_provider_stats_free(&s);
    /* Unknown provider: empty series, zeros, never NaN. */
    CHECK_INT(hx_analytics_provider_stats(a, "acme", "nope", NULL, AC_T0, AC_T0 + 86400, HX_AN_MINUTE, &s, &e), 0);
    CHECK_INT(s.nseries, 0);
    CHECK(s.totals.requests == 0 && s.totals.error_rate == 0 && s.totals.p95_ms == 0 && s.totals.avg_ms == 0);
    hx_an_provider_stats_free(&s);
    /* A model filter and minute buckets (raw path). */
    CHECK_INT(hx_analytics_provider_stats(a, "acme", "openai", "m-small", AC_T0, AC_T0 + 3600, HX_AN_MINUTE, &s, &e),
              0);
    uint64_t want = 0;
    for (size_t i = 0; i < d.n; i++)
        want += !strcmp(d.tenant[i], "acme") && !strcmp(d.rows[i].provider, "openai") &&
                !strcmp(d.rows[i].model, "m-small") && d.rows[i].timestamp < AC_T0 + 3600;
    CHECK_INT(s.totals.requests, want);
    CHECK(s.nseries <= 60);
    hx_an_provider_stats_free(&s);

    hx_an_debate_t db;
    CHECK_INT(hx_analytics_debate(a, "acme", "deb-4", &db, &e), 0);
    CHECK_INT(db.debate.nrows, 1);
    CHECK_INT(db.participants.nrows, 3);
    json_t *row = hx_an_result_row_object(&db.debate, 0);
    CHECK_STR(json_string_value(json_object_get(row, "winner_provider")), "anthropic");
    CHECK_STR(json_string_value(json_object_get(row, "outcome")), "abandoned");
    json_decref(row);
    hx_an_debate_free(&db);
    CHECK_INT(hx_analytics_debate(a, "acme", "deb-none", &db, &e), HX_ENOTFOUND);
    CHECK_INT(hx_analytics_debate(a, "other", "deb-4", &db, &e), HX_ENOTFOUND);
    /* deb-1 has provider_metrics rows: its rounds. */
    CHECK_INT(hx_analytics_debate(a, "acme", "deb-1", &db, &e), 0);
    CHECK(db.rounds.nrows >= 1);
    hx_an_debate_free(&db);

    hx_an_result_t lb;
    CHECK_INT(hx_analytics_leaderboard(a, "acme", AC_T0, AC_T0 + 2 * 86400, &lb, &e), 0);
    CHECK_INT(lb.nrows, 3);
    uint64_t won = 0;
    for (size_t i = 0; i < lb.nrows; i++) {
        won += (uint64_t)hx_an_result_cell(&lb, i, 6)->i;
        CHECK_INT(hx_an_result_cell(&lb, i, 5)->i, 30); /* every provider took part in all 30 */
        CHECK(ac_close(hx_an_result_cell(&lb, i, 7)->f, (double)hx_an_result_cell(&lb, i, 6)->i / 30.0, 1e-12));
    }
    CHECK_INT(won, 30);
    CHECK(hx_an_result_cell(&lb, 0, 1)->i >= hx_an_result_cell(&lb, 1, 1)->i);
    hx_an_result_free(&lb);

    /* Debate rollup: per winner and outcome. */
    hx_an_result_t r = ac_query(a, "acme", "SELECT winner_provider, outcome, count(), sum(rounds) FROM debate_metrics "
                                           "GROUP BY winner_provider, outcome ORDER BY winner_provider, outcome",
                                0);
    CHECK_STR(r.source, "rollup");
    uint64_t debates = 0;
    for (size_t i = 0; i < r.nrows; i++)
        debates += (uint64_t)hx_an_result_cell(&r, i, 2)->i;
    CHECK_INT(debates, 30);
    hx_an_result_free(&r);
    ac_dataset_free(&d);
    hx_analytics_close(a);
}

/* The log is the source of truth: published rows and conversation events are
 * ingested once, also across a restart. */
static void test_ac_ingest(void)
{
    hx_config_t cfg;
    ac_config(&cfg, "ingest");
    hx_broker_t *b = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_broker_open(&cfg, NULL, &b, &e), 0);
    if (!b)
        return;
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &e), 0);
    hx_analytics_t *a = ac_open_cfg(&cfg, b, 1);
    CHECK(a != NULL);
    if (!a) {
        hx_broker_close(b);
        return;
    }
    const char *body = "[{\"provider\":\"openai\",\"model\":\"gpt\",\"response_time_ms\":120.5,\"success\":true,"
                       "\"tokens_used\":10,\"timestamp\":\"2024-01-01 10:00:00\"},"
                       "{\"provider\":\"openai\",\"model\":\"gpt\",\"response_time_ms\":80,\"success\":false,"
                       "\"error_type\":\"rate_limit\",\"tokens_used\":5,\"timestamp\":1704103200}]";
    hx_an_batch_t rows, parts;
    hx_an_batch_init(&rows, HX_AN_PROVIDER_METRICS);
    hx_an_batch_init(&parts, HX_AN_DEBATE_PARTICIPANTS);
    CHECK_INT(hx_an_rows_parse(HX_AN_PROVIDER_METRICS, "acme", AC_T0, body, strlen(body), &rows, &parts, &e), 0);
    CHECK_INT(rows.rows, 2);
    size_t events = 0;
    CHECK_INT(hx_analytics_publish(a, &rows, NULL, &events, &e), 0);
    CHECK_INT(events, 2);
    /* A conversation: 3 added (one with given tokens), 1 updated, 1 deleted. */
    const char *msgs[][3] = {{HX_EV_CONVERSATION_MESSAGE_ADDED, "user", "hello there, how are you?"},
                             {HX_EV_CONVERSATION_MESSAGE_ADDED, "assistant", "fine"},
                             {HX_EV_CONVERSATION_MESSAGE_ADDED, "tool", "x"},
                             {HX_EV_CONVERSATION_MESSAGE_UPDATED, "user", "hello"},
                             {HX_EV_CONVERSATION_MESSAGE_DELETED, NULL, NULL}};
    for (int i = 0; i < 5; i++) {
        hx_envelope_t env;
        hx_envelope_init(&env);
        env.v = 1;
        env.id = strdup("");
        env.type = strdup(msgs[i][0]);
        env.source = strdup("test");
        env.tenant = strdup("acme");
        env.key = strdup("conv-9");
        env.ts = (AC_T0 + 3 * 3600 + 60 * i) * 1000;
        env.seq = (uint64_t)i + 1;
        char data[256];
        snprintf(data, sizeof data, "{\"message_id\":\"m%d\",\"role\":\"%s\",\"content\":\"%s\"%s,\"user_id\":\"u1\"}",
                 i < 3 ? i : 0, msgs[i][1] ? msgs[i][1] : "user", msgs[i][2] ? msgs[i][2] : "",
                 i == 2 ? ",\"tokens\":7" : "");
        env.data = json_loads(data, 0, NULL);
        free(env.id);
        env.id = NULL;
        hx_envelope_fill_defaults(&env, "test", hx_now_ms(), &e);
        hx_buf_t frame = HX_BUF_INIT;
        CHECK_INT(hx_envelope_encode(&env, &frame, &e), 0);
        hx_msg_t m = {.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .key = "conv-9", .key_len = 6,
                      .value = frame.data, .value_len = frame.len};
        CHECK_INT(hx_broker_produce(b, &m, 1, NULL, &e), 0);
        hx_buf_free(&frame);
        hx_envelope_free(&env);
    }
    int rc = hx_analytics_ingest_wait(a, 20000, &e);
    if (rc)
        fprintf(stderr, "ingest wait: %s\n", e.msg);
    CHECK_INT(rc, 0);
    hx_an_result_t r = ac_query(a, "acme", "SELECT count(), sum(tokens_used), count() - sum(success) FROM "
                                           "provider_metrics",
                                0);
    CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 2 && hx_an_result_cell(&r, 0, 1)->i == 15 &&
          hx_an_result_cell(&r, 0, 2)->i == 1);
    hx_an_result_free(&r);
    const char *conv = "SELECT sum(messages_added), sum(messages_updated), sum(messages_deleted), sum(tokens), "
                       "sum(role_user), sum(role_assistant), sum(role_tool), toStartOfHour(timestamp) AS h "
                       "FROM conversation_metrics WHERE conversation_id = 'conv-9' GROUP BY h";
    r = ac_query(a, "acme", conv, 0);
    CHECK_INT(r.nrows, 1);
    if (r.nrows) {
        CHECK_INT(hx_an_result_cell(&r, 0, 0)->i, 3);
        CHECK_INT(hx_an_result_cell(&r, 0, 1)->i, 1);
        CHECK_INT(hx_an_result_cell(&r, 0, 2)->i, 1);
        CHECK_INT(hx_an_result_cell(&r, 0, 3)->i, 7 + 1 + 7); /* ceil(25/4) + ceil(4/4) + given 7 */
        CHECK_INT(hx_an_result_cell(&r, 0, 4)->i, 1);
        CHECK_INT(hx_an_result_cell(&r, 0, 5)->i, 1);
        CHECK_INT(hx_an_result_cell(&r, 0, 6)->i, 1);
        CHECK_INT(hx_an_result_cell(&r, 0, 7)->i, AC_T0 + 3 * 3600);
    }
    hx_an_result_free(&r);
    /* Restart: nothing is ingested twice; new events still arrive. */
    hx_analytics_close(a);
    a = ac_open_cfg(&cfg, b, 1);
    CHECK(a != NULL);
    if (a) {
        CHECK_INT(hx_analytics_publish(a, &rows, NULL, &events, &e), 0);
        CHECK_INT(hx_analytics_ingest_wait(a, 20000, &e), 0);
        r = ac_query(a, "acme", "SELECT count() FROM provider_metrics", 0);
        CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 4);
        hx_an_result_free(&r);
        r = ac_query(a, "acme", "SELECT sum(messages_added) FROM conversation_metrics", 0);
        CHECK(r.nrows == 1 && hx_an_result_cell(&r, 0, 0)->i == 3);
        hx_an_result_free(&r);
        hx_analytics_close(a);
    }
    hx_an_batch_free(&rows);
    hx_an_batch_free(&parts);
    hx_broker_close(b);
}

#define RUN_ANALYTICS_CONFORMANCE()                                                                              \
    do {                                                                                                         \
        RUN(test_ac_group_by_provider);                                                                          \
        RUN(test_ac_hourly_series);                                                                              \
        RUN(test_ac_sql_semantics);                                                                              \
        RUN(test_ac_errors_and_limits);                                                                          \
        RUN(test_ac_endpoints);                                                                                  \
        RUN(test_ac_ingest);                                                                                     \
    } while (0)

#endif
