/* `helix bench analytics`: 1M generated provider_metrics rows over 60 days
 * (5 providers x 3 models, random arrival order), inserted in process in
 * batches of 10K and through POST /v1/analytics/provider_metrics/rows, then
 * 100 runs each of (a) the hourly series of one provider for one day, (b1)
 * GROUP BY provider with count/avg/quantile(0.95) over all rows and (b2)
 * GROUP BY toStartOfHour(timestamp), provider. Every answer (rollup and raw
 * path) is checked against an exact computation over the generated rows:
 * counts exact, averages to 1e-9, quantiles within the sketch's bound. */
#include "bench/bench_analytics_data.h"
#include "bench/bench_int.h"
#include "helix/hx_clock.h"
#include "helix/hx_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROWS 1000000
#define RUNS 100
#define RAW_RUNS 10

const char *const ba_providers[BA_PROVIDERS] = {"openai", "anthropic", "google", "mistral", "deepseek"};
const char *const ba_models[BA_MODELS] = {"small", "medium", "large"};

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double unif(uint64_t *s)
{
    return ((double)(rng(s) >> 11) + 0.5) / 9007199254740992.0;
}

void ba_free(ba_data_t *d)
{
    for (size_t i = 0; i < d->nbatches; i++)
        hx_an_batch_free(&d->batches[i]);
    free(d->batches);
    free(d->prov);
    free(d->model);
    free(d->ts);
    free(d->rt);
    free(d->tokens);
    free(d->success);
    memset(d, 0, sizeof *d);
}

int ba_generate(ba_data_t *d, size_t n, int64_t t0, hx_err_t *err)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->t0 = t0;
    d->nbatches = (n + BA_BATCH - 1) / BA_BATCH;
    d->prov = malloc(n);
    d->model = malloc(n);
    d->ts = malloc(n * sizeof *d->ts);
    d->rt = malloc(n * sizeof *d->rt);
    d->tokens = malloc(n * sizeof *d->tokens);
    d->success = malloc(n);
    d->batches = calloc(d->nbatches, sizeof *d->batches);
    if (!d->prov || !d->model || !d->ts || !d->rt || !d->tokens || !d->success || !d->batches) {
        ba_free(d);
        return hx_err_set(err, HX_ENOMEM, "out of memory generating %zu rows", n);
    }
    uint64_t s = 0x5eed5eed12345ULL;
    char model[48], req[32];
    for (size_t b = 0; b < d->nbatches; b++) {
        hx_an_batch_init(&d->batches[b], HX_AN_PROVIDER_METRICS);
        for (size_t i = b * BA_BATCH; i < n && i < (b + 1) * BA_BATCH; i++) {
            int p = (int)(rng(&s) % BA_PROVIDERS), m = (int)(rng(&s) % BA_MODELS);
            double z = sqrt(-2 * log(unif(&s))) * cos(6.283185307179586 * unif(&s));
            double rt = round(180.0 * (1 + 0.35 * p) * (1 + 0.6 * m) * exp(0.5 * z) * 1000) / 1000;
            d->prov[i] = (uint8_t)p;
            d->model[i] = (uint8_t)m;
            d->ts[i] = t0 + (int64_t)(rng(&s) % (uint64_t)(BA_DAYS * 86400));
            d->rt[i] = rt;
            d->tokens[i] = 100 + (uint32_t)(rng(&s) % 1900);
            d->success[i] = rng(&s) % 100 >= 3;
            snprintf(model, sizeof model, "%s-%s", ba_providers[p], ba_models[m]);
            snprintf(req, sizeof req, "req-%zu", i);
            hx_an_provider_row_t r = {.timestamp = d->ts[i], .provider = ba_providers[p], .model = model,
                                      .request_id = req, .response_time_ms = rt,
                                      .prompt_tokens = d->tokens[i] / 3,
                                      .completion_tokens = d->tokens[i] - d->tokens[i] / 3,
                                      .tokens_used = d->tokens[i], .confidence = 0.5 + 0.5 * unif(&s),
                                      .success = d->success[i], .error_type = d->success[i] ? "" : "timeout"};
            if (hx_an_batch_add_provider(&d->batches[b], "bench", &r, err)) {
                ba_free(d);
                return err ? err->code : HX_ENOMEM;
            }
        }
    }
    return HX_OK;
}

/* ---- exact answers ----------------------------------------------------- */

typedef struct {
    uint64_t count;
    double sum;
    double *v;
    size_t nv;
} exact_t;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Groups rows by key(row) < nkeys (rows with key < 0 are left out). */
static exact_t *exact_groups(const ba_data_t *d, size_t nkeys, long (*key)(const ba_data_t *, size_t, void *),
                             void *ctx)
{
    exact_t *g = calloc(nkeys, sizeof *g);
    long *k = malloc(d->n * sizeof *k);
    if (!g || !k) {
        free(g);
        free(k);
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++)
        if ((k[i] = key(d, i, ctx)) >= 0)
            g[k[i]].count++;
    for (size_t j = 0; j < nkeys; j++)
        g[j].v = malloc((g[j].count ? g[j].count : 1) * sizeof(double));
    for (size_t i = 0; i < d->n; i++)
        if (k[i] >= 0) {
            exact_t *e = &g[k[i]];
            e->sum += d->rt[i];
            e->v[e->nv++] = d->rt[i];
        }
    for (size_t j = 0; j < nkeys; j++)
        qsort(g[j].v, g[j].nv, sizeof(double), cmp_d);
    free(k);
    return g;
}

static void exact_free(exact_t *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++)
        free(g[i].v);
    free(g);
}

static int prov_index(const char *s)
{
    for (int p = 0; p < BA_PROVIDERS; p++)
        if (!strcmp(s, ba_providers[p]))
            return p;
    return -1;
}

/* Checks row r of a (count, avg, p95) result against e. */
static int check_row(const hx_an_result_t *res, size_t r, int first, const exact_t *e, double qtol, double qrank,
                     const char *what)
{
    const hx_an_cell_t *c = hx_an_result_cell(res, r, (size_t)first), *a = hx_an_result_cell(res, r, (size_t)first + 1),
                       *q = hx_an_result_cell(res, r, (size_t)first + 2);
    double exact_q = e->nv ? e->v[(size_t)floor(0.95 * (double)(e->nv - 1))] : 0, avg = e->sum / (double)e->count;
    int q_ok = !q->is_null && fabs(q->f - exact_q) <= qtol * fabs(exact_q) + 1e-9;
    if (!q_ok && !q->is_null && qrank > 0 && e->nv) {
        /* Sampled, interpolated quantiles (ClickHouse): between the exact
         * values qrank of rank below and above. */
        double lo = (0.95 - qrank) * (double)(e->nv - 1), hi = (0.95 + qrank) * (double)(e->nv - 1);
        size_t ilo = lo < 0 ? 0 : (size_t)floor(lo), ihi = (size_t)ceil(hi) >= e->nv ? e->nv - 1 : (size_t)ceil(hi);
        q_ok = q->f >= e->v[ilo] - 1e-9 && q->f <= e->v[ihi] + 1e-9;
    }
    int ok = (uint64_t)c->i == e->count && !a->is_null && fabs(a->f - avg) <= 1e-9 * fabs(avg) && q_ok;
    if (!ok)
        fprintf(stderr, "bench analytics: %s row %zu wrong: count %lld/%llu avg %.6f/%.6f p95 %.4f/%.4f\n", what, r,
                (long long)c->i, (unsigned long long)e->count, a->f, avg, q->f, exact_q);
    return ok;
}

typedef struct {
    int64_t day0;
    int provider;
    double qtol;               /* the backend's quantile bound: relative error */
    double qrank;              /* or rank error (0 = none) */
} a_ctx_t;

static long key_a(const ba_data_t *d, size_t i, void *ctx)
{
    const a_ctx_t *c = ctx;
    if (d->prov[i] != c->provider || d->ts[i] < c->day0 || d->ts[i] >= c->day0 + 86400)
        return -1;
    return (long)((d->ts[i] - c->day0) / 3600);
}

static long key_b1(const ba_data_t *d, size_t i, void *ctx)
{
    (void)ctx;
    return d->prov[i];
}

static long key_b2(const ba_data_t *d, size_t i, void *ctx)
{
    (void)ctx;
    return (long)((d->ts[i] - d->t0) / 3600) * BA_PROVIDERS + d->prov[i];
}

static int verify(int which, const hx_an_result_t *r, const ba_data_t *d, exact_t *ex, const a_ctx_t *ac)
{
    int ok = 1;
    if (which == 0) {
        size_t want = 0;
        for (int h = 0; h < 24; h++)
            want += ex[h].count > 0;
        ok = r->nrows == want;
        for (size_t i = 0; ok && i < r->nrows; i++) {
            long h = (long)((hx_an_result_cell(r, i, 0)->i - ac->day0) / 3600);
            ok = h >= 0 && h < 24 && check_row(r, i, 1, &ex[h], ac->qtol, ac->qrank, "(a)");
        }
    } else if (which == 1) {
        ok = r->nrows == BA_PROVIDERS;
        for (size_t i = 0; ok && i < r->nrows; i++) {
            int p = prov_index(hx_an_result_cell(r, i, 0)->s);
            ok = p >= 0 && check_row(r, i, 1, &ex[p], ac->qtol, ac->qrank, "(b1)");
        }
    } else {
        size_t want = 0, groups = (size_t)BA_DAYS * 24 * BA_PROVIDERS;
        for (size_t g = 0; g < groups; g++)
            want += ex[g].count > 0;
        ok = r->nrows == want;
        for (size_t i = 0; ok && i < r->nrows; i++) {
            long h = (long)((hx_an_result_cell(r, i, 0)->i - d->t0) / 3600);
            int p = prov_index(hx_an_result_cell(r, i, 1)->s);
            ok = h >= 0 && h < BA_DAYS * 24 && p >= 0 && check_row(r, i, 2, &ex[h * BA_PROVIDERS + p], ac->qtol, ac->qrank, "(b2)");
        }
    }
    if (!ok && r->nrows == 0)
        fprintf(stderr, "bench analytics: query %d returned no rows\n", which);
    return ok;
}

/* *acked_ns: when the last insert returned (rows visible to queries); the
 * flush after it makes them durable. */
static int insert_all(hx_analytics_t *a, const ba_data_t *d, uint64_t *acked_ns, hx_err_t *err)
{
    for (size_t b = 0; b < d->nbatches; b++) {
        int rc;
        while ((rc = hx_analytics_insert(a, &d->batches[b], err)) == HX_EAGAIN)
            hx_sleep_ms(1); /* backpressure: the flusher is behind */
        if (rc)
            return rc;
    }
    *acked_ns = hx_mono_ns();
    return hx_analytics_flush(a, err);
}

typedef struct {
    double p50, p95;
    const char *source;
    int ok;
} qstat_t;

static int time_query(hx_analytics_t *a, const char *sql, int runs, int force_raw, int which, const ba_data_t *d,
                      exact_t *ex, const a_ctx_t *ac, qstat_t *st, hx_err_t *err)
{
    hx_latency_t *lat = hx_latency_new();
    if (!lat)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    st->ok = 1;
    for (int i = 0; i < runs; i++) {
        hx_an_query_opts_t o = {NULL, 0, 0, force_raw};
        hx_an_result_t r;
        uint64_t t0 = hx_mono_ns();
        int rc = hx_analytics_query(a, "bench", sql, strlen(sql), &o, &r, err);
        uint64_t t1 = hx_mono_ns();
        if (rc) {
            hx_latency_free(lat);
            return rc;
        }
        hx_latency_record(lat, t1 - t0);
        st->source = !strcmp(r.source, "rollup") ? "rollup" : "raw";
        if (i == 0 || i == runs - 1)
            st->ok = st->ok && verify(which, &r, d, ex, ac);
        hx_an_result_free(&r);
    }
    st->p50 = (double)hx_latency_percentile(lat, 50) / 1e6;
    st->p95 = (double)hx_latency_percentile(lat, 95) / 1e6;
    hx_latency_free(lat);
    return HX_OK;
}

static void row_ms(const char *metric, const qstat_t *q, double goal)
{
    char v[96];
    snprintf(v, sizeof v, "p95 %.3f ms (p50 %.3f, %s)%s", q->p95, q->p50, q->source,
             q->p95 < goal ? "" : " goal missed");
    hx_bench_row("Analytics (ClickHouse)", metric, v, "<50 ms", "<100 ms", hx_bench_verdict(q->p95, 50, 100, 0));
}

int hx_bench_analytics(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    char tmpl[64];
    const char *dir;
    int rc = hx_bench_workdir(o, "analytics", tmpl, sizeof tmpl, &dir, err);
    if (rc)
        return rc;
    size_t n = o->messages > 0 ? (size_t)o->messages : DEFAULT_ROWS;
    int64_t now = hx_now_ms() / 1000;
    int64_t t0 = (now / 86400 - BA_DAYS) * 86400;
    ba_data_t d;
    exact_t *ea = NULL, *eb1 = NULL, *eb2 = NULL;
    hx_analytics_t *a = NULL;
    json_t *res = json_object();
    int verified = 1;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_bench_ch_t chs = {0};
    int ch_used = 0;
    if (!o->quiet)
        fprintf(stderr, "bench analytics: generating %zu rows over %d days\n", n, BA_DAYS);
    if ((rc = ba_generate(&d, n, t0, err)))
        goto done;
    int on_ch = o->backend && !strcmp(o->backend, "clickhouse");
    a_ctx_t ac = {t0 + 30 * 86400, 0, HX_AN_QUANTILE_REL_ERROR,
                 on_ch ? HX_AN_CLICKHOUSE_QUANTILE_RANK_ERROR : 0};
    ea = exact_groups(&d, 24, key_a, &ac);
    eb1 = exact_groups(&d, BA_PROVIDERS, key_b1, NULL);
    eb2 = exact_groups(&d, (size_t)BA_DAYS * 24 * BA_PROVIDERS, key_b2, NULL);
    if (!ea || !eb1 || !eb2) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory computing the exact answers");
        goto done;
    }
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s/inproc", dir);
    cfg.event_log.fsync = o->fsync;
    hx_bench_opts_t ho = *o; /* the HTTP phase: the same server */
    if (on_ch) {
        if ((rc = hx_bench_ch_setup(o, dir, &cfg, &chs, err)))
            goto done;
        ch_used = 1;
        ho.url = cfg.clickhouse.url;
    }
    hx_analytics_opts_t ao;
    hx_analytics_opts_defaults(&ao);
    ao.cfg = &cfg;
    if ((rc = hx_analytics_open(&ao, &a, err)))
        goto done;
    if (!o->quiet)
        fprintf(stderr, "bench analytics: inserting in process (%s backend)\n", hx_analytics_backend(a));
    uint64_t ti = hx_mono_ns(), tack = 0;
    double cpu0 = hx_bench_process_cpu();
    if ((rc = insert_all(a, &d, &tack, err)))
        goto done;
    double ins = (double)n / ((double)(hx_mono_ns() - ti) / 1e9);
    double ins_cpu = (hx_bench_process_cpu() - cpu0) / ((double)n / 1e6);
    double ins_ack = (double)n / ((double)(tack - ti) / 1e9);
    hx_an_table_stats_t st;
    hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &st, NULL);
    if ((rc = hx_analytics_maintain(a, 0, err)))
        goto done;
    hx_an_table_stats_t st2;
    hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &st2, NULL);
    char sql_a[512];
    snprintf(sql_a, sizeof sql_a,
             "SELECT toStartOfHour(timestamp) AS h, count(), avg(response_time_ms), quantile(0.95)(response_time_ms) "
             "FROM provider_metrics WHERE provider = 'openai' AND timestamp >= %lld AND timestamp < %lld GROUP BY h "
             "ORDER BY h",
             (long long)ac.day0, (long long)ac.day0 + 86400);
    const char *sql_b1 = "SELECT provider, count(), avg(response_time_ms), quantile(0.95)(response_time_ms) FROM "
                         "provider_metrics GROUP BY provider ORDER BY provider";
    const char *sql_b2 = "SELECT toStartOfHour(timestamp) AS h, provider, count(), avg(response_time_ms), "
                         "quantile(0.95)(response_time_ms) FROM provider_metrics GROUP BY h, provider ORDER BY h, "
                         "provider";
    qstat_t qa = {0}, qb1 = {0}, qb2 = {0}, ra = {0}, rb1 = {0}, rb2 = {0};
    if ((rc = time_query(a, sql_a, RUNS, 0, 0, &d, ea, &ac, &qa, err)) ||
        (rc = time_query(a, sql_b1, RUNS, 0, 1, &d, eb1, &ac, &qb1, err)) ||
        (rc = time_query(a, sql_b2, RUNS, 0, 2, &d, eb2, &ac, &qb2, err)) ||
        (rc = time_query(a, sql_a, RAW_RUNS, 1, 0, &d, ea, &ac, &ra, err)) ||
        (rc = time_query(a, sql_b1, RAW_RUNS, 1, 1, &d, eb1, &ac, &rb1, err)) ||
        (rc = time_query(a, sql_b2, RAW_RUNS, 1, 2, &d, eb2, &ac, &rb2, err)))
        goto done;
    verified = qa.ok && qb1.ok && qb2.ok && ra.ok && rb1.ok && rb2.ok;
    uint64_t mem = hx_analytics_memory_bytes(a);
    json_object_set_new(res, "backend", json_string(hx_analytics_backend(a)));
    hx_analytics_close(a);
    a = NULL;
    if (!o->quiet)
        fprintf(stderr, "bench analytics: inserting through HTTP\n");
    int http_ok = 1;
    if ((rc = ba_http_insert(&ho, &d, dir, res, &http_ok, err)))
        goto done;
    verified = verified && http_ok;
    double http = json_real_value(json_object_get(res, "http_insert_rows_per_sec"));
    json_object_set_new(res, "rows", json_integer((json_int_t)n));
    json_object_set_new(res, "insert_rows_per_sec", json_real(ins));
    json_object_set_new(res, "insert_ack_rows_per_sec", json_real(ins_ack));
    json_object_set_new(res, "insert_cpu_s_per_mrow", json_real(ins_cpu));
    json_object_set_new(res, "query_a_p50_ms", json_real(qa.p50));
    json_object_set_new(res, "query_a_p95_ms", json_real(qa.p95));
    json_object_set_new(res, "query_b1_p50_ms", json_real(qb1.p50));
    json_object_set_new(res, "query_b1_p95_ms", json_real(qb1.p95));
    json_object_set_new(res, "query_b2_p50_ms", json_real(qb2.p50));
    json_object_set_new(res, "query_b2_p95_ms", json_real(qb2.p95));
    json_object_set_new(res, "query_sources", json_pack("{s:s,s:s,s:s}", "a", qa.source, "b1", qb1.source, "b2",
                                                        qb2.source));
    json_object_set_new(res, "raw_path_p50_ms", json_pack("{s:f,s:f,s:f}", "a", ra.p50, "b1", rb1.p50, "b2", rb2.p50));
    json_object_set_new(res, "parts_after_insert", json_integer((json_int_t)st.parts));
    json_object_set_new(res, "parts_after_merges", json_integer((json_int_t)st2.parts));
    json_object_set_new(res, "bytes_on_disk", json_integer((json_int_t)st2.bytes_on_disk));
    json_object_set_new(res, "memory_bytes", json_integer((json_int_t)mem));
    json_object_set_new(res, "fsync", json_string(o->fsync == HX_FSYNC_NEVER ? "never" : "on"));
    json_object_set_new(res, "verified", json_boolean(verified));
    json_object_set_new(res, "insert_verdict", json_string(hx_bench_verdict(ins, 50000, 20000, 1)));
    json_object_set_new(res, "query_verdict",
                        json_string(hx_bench_verdict(fmax(qa.p95, fmax(qb1.p95, qb2.p95)), 50, 100, 0)));
    char v[96];
    snprintf(v, sizeof v, "%.0f rows/s in process, %.2f CPU s/M rows%s", ins, ins_cpu,
             ins >= 2e6 ? "" : " (goal 2M missed)");
    hx_bench_row("Analytics (ClickHouse)", "Insert, batches of 10K", v, ">50K rows/s", ">20K",
                 hx_bench_verdict(ins, 50000, 20000, 1));
    snprintf(v, sizeof v, "%.0f rows/s HTTP, stored, %.2f CPU s/M rows%s", http,
             json_real_value(json_object_get(res, "http_cpu_s_per_mrow")), http >= 1e6 ? "" : " (goal 1M missed)");
    hx_bench_row("Analytics (ClickHouse)", "Insert, POST .../rows", v, ">50K rows/s", ">20K",
                 hx_bench_verdict(http, 50000, 20000, 1));
    row_ms("Query (a) 1 provider, 1 day/hour", &qa, 1);
    row_ms("Query (b1) GROUP BY provider", &qb1, 10);
    row_ms("Query (b2) GROUP BY hour, provider", &qb2, 30);
    hx_bench_row("Analytics (ClickHouse)", "Answers", verified ? "verified" : "WRONG ANSWERS", "verified", "-",
                 verified ? "Target" : "Poor");
done:
    hx_analytics_close(a);
    if (ch_used)
        hx_bench_ch_done(&cfg, &chs);
    exact_free(ea, 24);
    exact_free(eb1, BA_PROVIDERS);
    exact_free(eb2, (size_t)BA_DAYS * 24 * BA_PROVIDERS);
    ba_free(&d);
    hx_bench_workdir_done(o, "analytics", dir);
    if (rc) {
        json_object_set_new(res, "verified", json_false());
        json_object_set_new(res, "error", json_string(err ? err->msg : "failed"));
    }
    *out = res;
    return rc;
}
