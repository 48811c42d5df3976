/* Private to src/analytics: the handle behind hx_analytics_t. */
#ifndef HX_ANALYTICS_INT_H
#define HX_ANALYTICS_INT_H

#include "analytics/backend.h"
#include "helix/hx_metrics.h"

#include <pthread.h>

typedef struct an_ingest an_ingest_t;

struct hx_analytics {
    hx_config_t cfg;
    const hx_an_backend_ops_t *ops;
    void *impl;
    hx_broker_t *broker;
    char node_id[128];
    hx_metrics_t *metrics;
    hx_histogram_t *m_query;
    hx_gauge_t *m_insert_rate, *m_memory, *m_rows, *m_parts;
    hx_counter_t *m_skipped;
    uint64_t rows_in;              /* atomic: rows stored (insert + ingest) */
    an_ingest_t *ingest;
    pthread_t stats;
    int stats_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

/* Room for need bytes of a string column's text (HX_ETOOBIG past 4 GiB). */
int an_col_reserve(hx_an_col_t *c, size_t need);

/* Validation every backend's input gets (types and ranges). */
int an_batch_check(const hx_an_batch_t *b, hx_err_t *err);
void an_count_rows(hx_analytics_t *a, size_t rows);

int an_ingest_start(hx_analytics_t *a, an_ingest_t **out, hx_err_t *err);
void an_ingest_stop(an_ingest_t *g);
int an_ingest_wait(an_ingest_t *g, int timeout_ms, hx_err_t *err);

#endif
