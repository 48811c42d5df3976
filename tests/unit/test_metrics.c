#include "helix/hx_metrics.h"
#include "helix/hx_error.h"
#include "../hx_test.h"

#include <math.h>
#include <pthread.h>

static void test_counter_gauge_histogram(void)
{
    hx_metrics_t *r = hx_metrics_new();
    hx_counter_t *c = hx_metrics_counter(r, "jobs_total", "Jobs.", "kind");
    CHECK(c != NULL);
    CHECK(hx_metrics_counter(r, "jobs_total", "Jobs.", "kind") == c); /* same family back */
    CHECK(hx_metrics_counter(r, "jobs_total", "Jobs.", "other") == NULL); /* label mismatch */
    CHECK(hx_metrics_gauge(r, "jobs_total", "x", "kind") == NULL);        /* type mismatch */
    CHECK(hx_metrics_counter(r, "9bad", "x", NULL) == NULL);
    CHECK(hx_metrics_counter(r, "ok", "x", "bad-label") == NULL);

    hx_counter_child_t *a = hx_counter_child(c, (const char *[]){"a"});
    CHECK(a == hx_counter_child(c, (const char *[]){"a"}));
    hx_counter_add(a, 2);
    CHECK_INT(hx_counter_inc_labels(c, (const char *[]){"a"}, 3), 0);
    CHECK_INT(hx_counter_value(a), 5);
    CHECK_INT(hx_counter_value(hx_counter_child(c, (const char *[]){"b"})), 0);

    hx_gauge_t *g = hx_metrics_gauge(r, "temp", "T.", NULL);
    hx_gauge_child_t *gc = hx_gauge_child(g, NULL);
    hx_gauge_set(gc, 1.5);
    hx_gauge_add(gc, -0.25);
    CHECK(hx_gauge_value(gc) == 1.25);
    CHECK_INT(hx_gauge_add_labels(g, NULL, 1), 0);
    CHECK(hx_gauge_value(gc) == 2.25);

    hx_histogram_t *h = hx_metrics_histogram(r, "lat", "L.", NULL, NULL, 0);
    hx_histogram_child_t *hc = hx_histogram_child(h, NULL);
    hx_histogram_observe(hc, 0.003);
    hx_histogram_observe(hc, 20);
    CHECK_INT(hx_histogram_count(hc), 2);
    CHECK(fabs(hx_histogram_sum(hc) - 20.003) < 1e-9);
    CHECK(hx_metrics_histogram(r, "bad", "x", NULL, (double[]){2, 1}, 2) == NULL);
    hx_metrics_free(r);
    CHECK(hx_metrics_default() == hx_metrics_default());
}

static void test_exposition(void)
{
    hx_metrics_t *r = hx_metrics_new();
    hx_counter_t *c = hx_metrics_counter(r, "http_requests_total", "Requests served.", "method,code");
    hx_counter_inc_labels(c, (const char *[]){"GET", "200"}, 3);
    hx_counter_inc_labels(c, (const char *[]){"POST", "400"}, 1);
    hx_gauge_set_labels(hx_metrics_gauge(r, "up", "Is up.", NULL), NULL, 1);
    hx_metrics_counter(r, "unused_total", "No children yet.", "x"); /* skipped */
    hx_histogram_t *h = hx_metrics_histogram(r, "d_seconds", "Duration.", "op",
                                             (double[]){0.1, 1}, 2);
    hx_histogram_observe_labels(h, (const char *[]){"r"}, 0.05);
    hx_histogram_observe_labels(h, (const char *[]){"r"}, 0.5);
    hx_histogram_observe_labels(h, (const char *[]){"r"}, 2);
    hx_buf_t b = HX_BUF_INIT;
    CHECK_INT(hx_metrics_render(r, &b), 0);
    CHECK_STR(hx_buf_cstr(&b),
              "# HELP http_requests_total Requests served.\n"
              "# TYPE http_requests_total counter\n"
              "http_requests_total{method=\"GET\",code=\"200\"} 3\n"
              "http_requests_total{method=\"POST\",code=\"400\"} 1\n"
              "# HELP up Is up.\n"
              "# TYPE up gauge\n"
              "up 1\n"
              "# HELP d_seconds Duration.\n"
              "# TYPE d_seconds histogram\n"
              "d_seconds_bucket{op=\"r\",le=\"0.1\"} 1\n"
              "d_seconds_bucket{op=\"r\",le=\"1\"} 2\n"
              "d_seconds_bucket{op=\"r\",le=\"+Inf\"} 3\n"
              "d_seconds_sum{op=\"r\"} 2.55\n"
              "d_seconds_count{op=\"r\"} 3\n");
    hx_buf_free(&b);
    hx_metrics_free(r);
}

static void test_escaping_and_default_buckets(void)
{
    hx_metrics_t *r = hx_metrics_new();
    hx_counter_t *c = hx_metrics_counter(r, "e_total", "a \\ b\nc \"q\"", "v");
    hx_counter_inc_labels(c, (const char *[]){"x\\y\"z\nw"}, 1);
    hx_histogram_observe_labels(hx_metrics_histogram(r, "lat_seconds", "L", NULL, NULL, 0), NULL, 0.0007);
    hx_buf_t b = HX_BUF_INIT;
    hx_metrics_render(r, &b);
    const char *s = hx_buf_cstr(&b);
    CHECK_CONTAINS(s, "# HELP e_total a \\\\ b\\nc \"q\"\n");
    CHECK_CONTAINS(s, "e_total{v=\"x\\\\y\\\"z\\nw\"} 1\n");
    CHECK_CONTAINS(s, "lat_seconds_bucket{le=\"0.0005\"} 0\n");
    CHECK_CONTAINS(s, "lat_seconds_bucket{le=\"0.001\"} 1\n");
    CHECK_CONTAINS(s, "lat_seconds_bucket{le=\"10\"} 1\n");
    CHECK_CONTAINS(s, "lat_seconds_bucket{le=\"+Inf\"} 1\n");
    CHECK_CONTAINS(s, "lat_seconds_sum 0.0007\n");
    hx_buf_free(&b);
    hx_metrics_free(r);
}

static uint64_t rng_state = 42;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_latency_accuracy(void)
{
    enum { N = 100000 };
    static uint64_t v[N];
    hx_latency_t *l = hx_latency_new();
    double sum = 0;
    for (int i = 0; i < N; i++) {
        /* log-uniform from 1 us to 1 h */
        double e = 3.0 + (double)(rng() % 1000000) / 1000000.0 * (log10(3.6e12) - 3.0);
        v[i] = (uint64_t)pow(10, e);
        sum += (double)v[i];
        hx_latency_record(l, v[i]);
    }
    qsort(v, N, sizeof v[0], cmp_u64);
    CHECK_INT(hx_latency_count(l), N);
    CHECK_INT(hx_latency_min(l), v[0]);
    CHECK_INT(hx_latency_max(l), v[N - 1]);
    CHECK(fabs(hx_latency_mean(l) - sum / N) / (sum / N) < 1e-9);
    double ps[] = {1, 10, 50, 90, 95, 99, 99.9};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t exact = v[(size_t)ceil(ps[i] / 100 * N) - 1];
        uint64_t got = hx_latency_percentile(l, ps[i]);
        double rel = fabs((double)got - (double)exact) / (double)exact;
        if (rel > 0.01)
            fprintf(stderr, "p%g exact %llu got %llu\n", ps[i], (unsigned long long)exact,
                    (unsigned long long)got);
        CHECK(rel <= 0.01);
    }
    CHECK_INT(hx_latency_percentile(l, 100), v[N - 1]);
    CHECK_INT(hx_latency_percentile(l, 0), v[0]);

    /* small exact values */
    hx_latency_t *s = hx_latency_new();
    for (uint64_t i = 1; i <= 100; i++)
        hx_latency_record(s, i);
    CHECK_INT(hx_latency_percentile(s, 50), 50);
    CHECK_INT(hx_latency_percentile(s, 99), 99);

    /* merge */
    hx_latency_t *m = hx_latency_new();
    CHECK_INT(hx_latency_percentile(m, 50), 0);
    hx_latency_merge(m, s);
    hx_latency_merge(m, l);
    CHECK_INT(hx_latency_count(m), N + 100);
    CHECK_INT(hx_latency_min(m), 1);
    CHECK_INT(hx_latency_max(m), v[N - 1]);
    hx_latency_reset(m);
    CHECK_INT(hx_latency_count(m), 0);
    CHECK_INT(hx_latency_max(m), 0);
    hx_latency_record(m, 7);
    CHECK_INT(hx_latency_min(m), 7);
    hx_latency_free(m);
    hx_latency_free(s);
    hx_latency_free(l);
}

struct thr {
    hx_counter_t *fam;
    hx_histogram_t *h;
    hx_latency_t *l;
};

static void *worker(void *arg)
{
    struct thr *t = arg;
    hx_counter_child_t *c = hx_counter_child(t->fam, (const char *[]){"shared"});
    for (int i = 0; i < 20000; i++) {
        hx_counter_add(c, 1);
        hx_counter_inc_labels(t->fam, (const char *[]){i % 2 ? "odd" : "even"}, 1);
        hx_histogram_observe_labels(t->h, NULL, 0.001);
        hx_latency_record(t->l, (uint64_t)i);
    }
    return NULL;
}

static void test_concurrency(void)
{
    hx_metrics_t *r = hx_metrics_new();
    struct thr t = {hx_metrics_counter(r, "c_total", "c", "k"),
                    hx_metrics_histogram(r, "h_seconds", "h", NULL, NULL, 0), hx_latency_new()};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, &t);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(hx_counter_value(hx_counter_child(t.fam, (const char *[]){"shared"})), 80000);
    CHECK_INT(hx_counter_value(hx_counter_child(t.fam, (const char *[]){"odd"})), 40000);
    CHECK_INT(hx_counter_value(hx_counter_child(t.fam, (const char *[]){"even"})), 40000);
    CHECK_INT(hx_histogram_count(hx_histogram_child(t.h, NULL)), 80000);
    CHECK(fabs(hx_histogram_sum(hx_histogram_child(t.h, NULL)) - 80.0) < 1e-6);
    CHECK_INT(hx_latency_count(t.l), 80000);
    CHECK_INT(hx_latency_max(t.l), 19999);
    hx_latency_free(t.l);
    hx_metrics_free(r);
}

int main(void)
{
    RUN(test_counter_gauge_histogram);
    RUN(test_exposition);
    RUN(test_escaping_and_default_buckets);
    RUN(test_latency_accuracy);
    RUN(test_concurrency);
    return HX_TEST_DONE();
}
