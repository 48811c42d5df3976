// HX_TEST_PARTS: sketch files maintenance limits
/* What only the embedded column store does: the quantile sketch's bound and
 * merges (seeded property tests), recovery from its files (reopen, crash
 * leftovers, corrupt MANIFEST and parts, the directory lock), merges and TTL,
 * the parts limit, granule pruning and the query limits. */
#include "analytics/embedded/sketch.h"
#include "helix/hx_analytics.h"
#include "helix/hx_clock.h"
#include "../hx_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>

static char *base;

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

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_sketch_bound(void)
{
    CHECK(fabs(1.0 / log(1.01 / 0.99) - 49.99833328888678) < 1e-9);
    static double v[20000];
    double qs[] = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t s = seed * 7919;
        size_t n = 1 + rng(&s) % 20000;
        an_sketch_t a, b, all;
        an_sketch_init(&a);
        an_sketch_init(&b);
        an_sketch_init(&all);
        for (size_t i = 0; i < n; i++) {
            switch (seed % 4) {
            case 0: v[i] = exp(3 * (unif(&s) - 0.5)) * 100; break;      /* log-normal-ish */
            case 1: v[i] = unif(&s) * 1e6 - 5e5; break;                  /* negatives too */
            case 2: v[i] = (double)(rng(&s) % 5); break;                 /* zeros, ties */
            default: v[i] = 1e-6 * (1 + unif(&s)) * pow(10, (double)(rng(&s) % 12)); break; /* wide range */
            }
            an_sketch_add(i % 2 ? &a : &b, v[i]);
            an_sketch_add(&all, v[i]);
        }
        an_sketch_merge(&a, &b); /* merging the halves is exactly the whole */
        CHECK_INT(a.count, n);
        qsort(v, n, sizeof *v, cmp_d);
        for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
            double exact = v[(size_t)floor(qs[k] * (double)(n - 1))];
            double got = an_sketch_quantile(&a, qs[k]);
            int ok = fabs(got - exact) <= HX_AN_QUANTILE_REL_ERROR * fabs(exact) + 1e-9 * (fabs(exact) < 1e-9);
            if (!ok)
                fprintf(stderr, "seed %llu q %.2f: got %.9g exact %.9g\n", (unsigned long long)seed, qs[k], got,
                        exact);
            CHECK(ok);
            CHECK(got == an_sketch_quantile(&all, qs[k]));
        }
        /* Encode/decode round trip; and the 64-bit accumulator agrees. */
        hx_buf_t buf = HX_BUF_INIT;
        CHECK_INT(an_sketch_encode(&a, &buf), 0);
        an_sketch_t d;
        an_sketch_init(&d);
        hx_rd_t r;
        hx_rd_init(&r, buf.data, buf.len);
        CHECK_INT(an_sketch_decode(&d, &r), 0);
        an_qacc_t acc;
        an_qacc_init(&acc);
        an_qacc_merge(&acc, &a);
        for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
            CHECK(an_sketch_quantile(&d, qs[k]) == an_sketch_quantile(&a, qs[k]));
            CHECK(an_qacc_quantile(&acc, qs[k]) == an_sketch_quantile(&a, qs[k]));
        }
        an_qacc_free(&acc);
        an_sketch_free(&d);
        hx_buf_free(&buf);
        an_sketch_free(&a);
        an_sketch_free(&b);
        an_sketch_free(&all);
    }
    /* Corrupt encodings are refused. */
    unsigned char junk[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x05};
    an_sketch_t d;
    an_sketch_init(&d);
    hx_rd_t r;
    hx_rd_init(&r, junk, sizeof junk);
    CHECK(an_sketch_decode(&d, &r) != 0);
    an_sketch_free(&d);
}

static void config(hx_config_t *cfg, const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    hx_config_defaults(cfg);
    snprintf(cfg->node.data_dir, sizeof cfg->node.data_dir, "%s", dir);
    cfg->event_log.fsync = HX_FSYNC_NEVER;
    cfg->analytics.ttl_days.provider_metrics = 0;
}

static hx_analytics_t *open_cfg(const hx_config_t *cfg, int want_rc, hx_err_t *e)
{
    hx_analytics_opts_t o;
    hx_analytics_opts_defaults(&o);
    o.cfg = cfg;
    hx_analytics_t *a = NULL;
    int rc = hx_analytics_open(&o, &a, e);
    if (rc != want_rc)
        fprintf(stderr, "open: rc %d (%s), want %d\n", rc, e->msg, want_rc);
    CHECK_INT(rc, want_rc);
    return a;
}

/* n rows at ts0 + i * step seconds, provider p<i % 3>, tokens i. */
static void insert_rows(hx_analytics_t *a, size_t from, size_t n, int64_t ts0, int64_t step)
{
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    hx_err_t e = {0};
    for (size_t i = from; i < from + n; i++) {
        char prov[8], req[24];
        snprintf(prov, sizeof prov, "p%zu", i % 3);
        snprintf(req, sizeof req, "r%zu", i);
        hx_an_provider_row_t r = {.timestamp = ts0 + (int64_t)i * step, .provider = prov, .model = "m",
                                  .request_id = req, .response_time_ms = 10.0 + (double)(i % 97),
                                  .tokens_used = (uint32_t)i, .success = 1};
        hx_an_batch_add_provider(&b, "t", &r, &e);
    }
    CHECK_INT(hx_analytics_insert(a, &b, &e), 0);
    hx_an_batch_free(&b);
}

static int64_t one(hx_analytics_t *a, const char *sql, int raw, const char **source)
{
    hx_an_query_opts_t o = {NULL, 0, 0, raw};
    hx_an_result_t r;
    hx_err_t e = {0};
    int rc = hx_analytics_query(a, "t", sql, strlen(sql), &o, &r, &e);
    if (rc)
        fprintf(stderr, "query [%s]: %s\n", sql, e.msg);
    int64_t v = !rc && r.nrows ? hx_an_result_cell(&r, 0, 0)->i : -1;
    if (source)
        *source = !rc && !strcmp(r.source, "rollup") ? "rollup" : "raw";
    hx_an_result_free(&r);
    return v;
}

static const int64_t T0 = 1704067200; /* 2024-01-01 */

static void test_reopen_and_leftovers(void)
{
    hx_config_t cfg;
    config(&cfg, "reopen");
    hx_err_t e = {0};
    hx_analytics_t *a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    insert_rows(a, 0, 30000, T0, 300); /* ~104 days: several monthly partitions */
    CHECK_INT(hx_analytics_flush(a, &e), 0);
    /* A second process may not open the same store. */
    hx_analytics_t *b = open_cfg(&cfg, HX_EUNAVAIL, &e);
    CHECK(b == NULL);
    CHECK_CONTAINS(e.msg, "in use");
    const char *sum = "SELECT sum(tokens_used) FROM provider_metrics";
    int64_t want = (int64_t)30000 * 29999 / 2;
    CHECK_INT(one(a, sum, 0, NULL), want);
    hx_analytics_close(a);
    /* What a crash can leave: a half-written part and a part no MANIFEST names. */
    char p[700];
    snprintf(p, sizeof p, "%s/analytics/provider_metrics/tmp_202401_999_0", cfg.node.data_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/analytics/provider_metrics/202401_998_0", cfg.node.data_dir);
    mkdir(p, 0755);
    a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    const char *src;
    CHECK_INT(one(a, sum, 0, &src), want);
    CHECK_STR(src, "rollup");
    CHECK_INT(one(a, sum, 1, &src), want);
    CHECK_STR(src, "raw");
    CHECK_INT(one(a, "SELECT count() FROM provider_metrics WHERE provider = 'p1'", 0, NULL), 10000);
    struct stat st;
    CHECK(stat(p, &st) != 0);
    snprintf(p, sizeof p, "%s/analytics/provider_metrics/tmp_202401_999_0", cfg.node.data_dir);
    CHECK(stat(p, &st) != 0);
    hx_an_table_stats_t ts;
    CHECK_INT(hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &ts, &e), 0);
    CHECK_INT(ts.rows, 30000);
    CHECK(ts.partitions >= 4);
    hx_analytics_close(a);
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unsigned char c;
    long size = lseek(fd, 0, SEEK_END);
    if (off < 0)
        off = size + off;
    CHECK(pread(fd, &c, 1, off) == 1);
    c ^= 0x5a;
    CHECK(pwrite(fd, &c, 1, off) == 1);
    close(fd);
}

static void first_part(const char *table_dir, char *out, size_t len)
{
    DIR *d = opendir(table_dir);
    struct dirent *de;
    out[0] = 0;
    while (d && (de = readdir(d)))
        if (de->d_name[0] >= '0' && de->d_name[0] <= '9') {
            snprintf(out, len, "%s/%s", table_dir, de->d_name);
            break;
        }
    if (d)
        closedir(d);
}

static void test_corruption(void)
{
    hx_config_t cfg;
    config(&cfg, "corrupt");
    hx_err_t e = {0};
    hx_analytics_t *a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    insert_rows(a, 0, 5000, T0, 60);
    CHECK_INT(hx_analytics_flush(a, &e), 0);
    hx_analytics_close(a);
    char tdir[600], part[900], path[1000];
    snprintf(tdir, sizeof tdir, "%s/analytics/provider_metrics", cfg.node.data_dir);
    first_part(tdir, part, sizeof part);
    CHECK(part[0] != 0);
    /* A damaged column block: the store opens, the query names the part. */
    snprintf(path, sizeof path, "%s/data.bin", part);
    struct stat st;
    stat(path, &st);
    flip_byte(path, (long)st.st_size / 2);
    a = open_cfg(&cfg, 0, &e);
    if (a) {
        hx_an_result_t r;
        const char *sql = "SELECT * FROM provider_metrics";
        hx_an_query_opts_t o = {NULL, 0, 0, 1};
        CHECK_INT(hx_analytics_query(a, "t", sql, strlen(sql), &o, &r, &e), HX_ECORRUPT);
        CHECK_CONTAINS(e.msg, "is corrupt");
        hx_analytics_close(a);
    }
    /* A damaged part index: the store refuses to open and says which. */
    snprintf(path, sizeof path, "%s/meta.bin", part);
    flip_byte(path, 40);
    open_cfg(&cfg, HX_ECORRUPT, &e);
    CHECK_CONTAINS(e.msg, "provider_metrics/");
    /* A damaged MANIFEST: refused, with what to do. */
    snprintf(path, sizeof path, "%s/analytics/MANIFEST", cfg.node.data_dir);
    flip_byte(path, -2);
    open_cfg(&cfg, HX_ECORRUPT, &e);
    CHECK_CONTAINS(e.msg, "MANIFEST is corrupt");
}

static void test_merges_and_ttl(void)
{
    hx_config_t cfg;
    config(&cfg, "merge");
    cfg.analytics.ttl_days.provider_metrics = 30;
    cfg.analytics.maintain_interval_ms = 3600000; /* this test runs maintenance itself */
    hx_err_t e = {0};
    hx_analytics_t *a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    int64_t now = hx_now_ms() / 1000, day = now / 86400 * 86400;
    /* Rows older than the TTL are dropped at insert already. */
    insert_rows(a, 0, 100, day - 40 * 86400, 1);
    CHECK_INT(one(a, "SELECT count() FROM provider_metrics", 1, NULL), 0);
    /* 8 flushes of the same days: 8 small parts per partition, merged. */
    for (int k = 0; k < 8; k++) {
        insert_rows(a, (size_t)k * 2000, 2000, day - 20 * 86400, 500);
        CHECK_INT(hx_analytics_flush(a, &e), 0);
    }
    hx_an_table_stats_t st, st2;
    hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &st, &e);
    CHECK(st.parts >= 8);
    CHECK_INT(st.rows, 16000);
    CHECK_INT(hx_analytics_maintain(a, 0, &e), 0);
    hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &st2, &e);
    CHECK(st2.parts < st.parts);
    CHECK(st2.merges > 0);
    CHECK_INT(st2.rows, 16000);
    CHECK_INT(st2.max_parts_in_partition, 1);
    int64_t sum = one(a, "SELECT sum(tokens_used) FROM provider_metrics", 0, NULL);
    CHECK_INT(sum, (int64_t)16000 * 15999 / 2);
    CHECK_INT(one(a, "SELECT sum(tokens_used) FROM provider_metrics", 1, NULL), sum);
    /* Fifteen days later, rows before (that day - 30 days) expire, in the
     * raw table and in every rollup alike. */
    int64_t later = now + 15 * 86400, cutoff = later / 86400 * 86400 - 30 * 86400;
    int64_t keep = 0;
    for (int64_t i = 0; i < 16000; i++)
        keep += day - 20 * 86400 + i * 500 >= cutoff;
    CHECK(keep > 0 && keep < 16000);
    CHECK_INT(hx_analytics_maintain(a, later, &e), 0);
    CHECK_INT(one(a, "SELECT count() FROM provider_metrics", 1, NULL), keep);
    const char *src;
    CHECK_INT(one(a, "SELECT count() FROM provider_metrics", 0, &src), keep);
    CHECK_STR(src, "rollup");
    CHECK_INT(one(a, "SELECT count() FROM provider_metrics GROUP BY toDate(timestamp) ORDER BY toDate(timestamp) "
                     "LIMIT 1",
                  0, NULL) > 0, 1);
    hx_analytics_table_stats(a, HX_AN_PROVIDER_METRICS, &st, &e);
    CHECK_INT(st.rows_expired, 100 + (16000 - keep));
    hx_analytics_close(a);
    /* And after a restart the same. */
    a = open_cfg(&cfg, 0, &e);
    if (a) {
        CHECK_INT(one(a, "SELECT count() FROM provider_metrics", 0, NULL), keep);
        hx_analytics_close(a);
    }
}

static void test_parts_limit_and_pruning(void)
{
    hx_config_t cfg;
    config(&cfg, "limit");
    cfg.analytics.parts_to_throw_insert = 3;
    cfg.analytics.maintain_interval_ms = 3600000;
    cfg.analytics.index_granularity = 1024;
    hx_err_t e = {0};
    hx_analytics_t *a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    for (int k = 0; k < 3; k++) {
        insert_rows(a, (size_t)k * 10000, 10000, T0, 60);
        CHECK_INT(hx_analytics_flush(a, &e), 0);
    }
    hx_an_batch_t b;
    hx_an_batch_init(&b, HX_AN_PROVIDER_METRICS);
    hx_an_provider_row_t r = {.timestamp = T0, .provider = "x", .model = "m", .success = 1};
    hx_an_batch_add_provider(&b, "t", &r, &e);
    CHECK_INT(hx_analytics_insert(a, &b, &e), HX_EAGAIN);
    CHECK_CONTAINS(e.msg, "too many parts (3) in partition 202401 of provider_metrics");
    char detail[300];
    CHECK_INT(hx_analytics_health(a, detail, sizeof detail), HX_EAGAIN);
    CHECK_CONTAINS(detail, "parts_to_throw_insert");
    CHECK_INT(hx_analytics_maintain(a, 0, &e), 0);
    CHECK_INT(hx_analytics_insert(a, &b, &e), 0);
    CHECK_INT(hx_analytics_health(a, detail, sizeof detail), 0);
    hx_an_batch_free(&b);
    /* Granules whose min/max rule the WHERE out are not read. */
    const char *sql = "SELECT count() FROM provider_metrics WHERE timestamp < '2024-01-01 02:00:00'";
    hx_an_query_opts_t o = {NULL, 0, 0, 1};
    hx_an_result_t res;
    CHECK_INT(hx_analytics_query(a, "t", sql, strlen(sql), &o, &res, &e), 0);
    CHECK(res.nrows == 1 && hx_an_result_cell(&res, 0, 0)->i == 120 + 1);
    CHECK(res.rows_read < 30001 / 4);
    hx_an_result_free(&res);
    sql = "SELECT count() FROM provider_metrics WHERE provider = 'nobody'";
    CHECK_INT(hx_analytics_query(a, "t", sql, strlen(sql), &o, &res, &e), 0);
    CHECK(res.nrows == 1 && hx_an_result_cell(&res, 0, 0)->i == 0 && res.rows_read == 0);
    hx_an_result_free(&res);
    hx_analytics_close(a);
    /* A query over its time limit stops with a clear error. */
    config(&cfg, "timeout");
    cfg.analytics.query_timeout_ms = 1;
    a = open_cfg(&cfg, 0, &e);
    if (!a)
        return;
    for (int k = 0; k < 20; k++)
        insert_rows(a, (size_t)k * 10000, 10000, T0, 1);
    sql = "SELECT uniq(request_id), quantile(0.5)(response_time_ms) FROM provider_metrics";
    hx_an_query_opts_t slow = {NULL, 0, 0, 1};
    int rc = hx_analytics_query(a, "t", sql, strlen(sql), &slow, &res, &e);
    CHECK_INT(rc, HX_ETIMEOUT);
    CHECK_CONTAINS(e.msg, "analytics.query_timeout_ms");
    if (!rc)
        hx_an_result_free(&res);
    hx_analytics_close(a);
}

int main(int argc, char **argv)
{
    base = hx_test_tmpdir("analytics-store");
    const char *part = argc > 1 ? argv[1] : "all";
    int all = !strcmp(part, "all");
    if (all || !strcmp(part, "sketch"))
        RUN(test_sketch_bound);
    if (all || !strcmp(part, "files")) {
        RUN(test_reopen_and_leftovers);
        RUN(test_corruption);
    }
    if (all || !strcmp(part, "maintenance"))
        RUN(test_merges_and_ttl);
    if (all || !strcmp(part, "limits"))
        RUN(test_parts_limit_and_pruning);
    return HX_TEST_DONE();
}
