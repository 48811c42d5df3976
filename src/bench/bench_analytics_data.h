/* Private to the analytics bench: the generated workload and its exact
 * answers (bench_analytics.c, bench_analytics_http.c). */
#ifndef HX_BENCH_ANALYTICS_DATA_H
#define HX_BENCH_ANALYTICS_DATA_H

#include "helix/hx_analytics.h"
#include "helix/hx_bench.h"

#define BA_PROVIDERS 5
#define BA_MODELS 3
#define BA_DAYS 60
#define BA_BATCH 10000

typedef struct ba_data {
    size_t n;
    int64_t t0;                /* first day (UTC midnight) */
    uint8_t *prov, *model;
    int64_t *ts;
    double *rt;
    uint32_t *tokens;
    uint8_t *success;
    hx_an_batch_t *batches;    /* BA_BATCH rows each */
    size_t nbatches;
} ba_data_t;

extern const char *const ba_providers[BA_PROVIDERS];
extern const char *const ba_models[BA_MODELS];

int ba_generate(ba_data_t *d, size_t n, int64_t t0, hx_err_t *err);
void ba_free(ba_data_t *d);

/* POSTs the rows (NDJSON bodies) to a helix serve in this process and waits
 * until they are stored; fills http_insert_rows_per_sec (end to end: from
 * the first POST until every row is queryable) and http_ack_rows_per_sec
 * (until the last POST was acknowledged by the log) in out. */
int ba_http_insert(const hx_bench_opts_t *o, const ba_data_t *d, const char *dir, json_t *out, int *verified,
                   hx_err_t *err);

#endif
