/* The analytics API above the backends: backend choice, input validation,
 * SQL parsing and limits, metrics, and the ingest consumer. */
#include "analytics/analytics_int.h"
#include "analytics/ingest/ingest.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backends by name. */
static const struct {
    const char *name;
    int (*open)(const hx_analytics_opts_t *, const hx_an_backend_ops_t **, void **, hx_err_t *);
} backends[] = {
    {"embedded", hx_an_embedded_open},
    {"clickhouse", hx_an_clickhouse_open},
};

int hx_an_parse_time(const char *s, int64_t *out)
{
    if (!s || !*s)
        return HX_EINVAL;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (!*end && n >= 0 && (s[0] >= '0' && s[0] <= '9')) {
        *out = n > 100000000000LL ? n / 1000 : n;
        return HX_OK;
    }
    return hx_sql_parse_datetime(s, strlen(s), out);
}

void hx_an_format_time(int64_t s, char *out, size_t len)
{
    hx_sql_format_datetime(s, out, len);
}

void hx_analytics_opts_defaults(hx_analytics_opts_t *o)
{
    memset(o, 0, sizeof *o);
}

void an_count_rows(hx_analytics_t *a, size_t rows)
{
    __atomic_add_fetch(&a->rows_in, rows, __ATOMIC_RELAXED);
}

/* Gauges that describe state (rows, parts, memory, insert rate), refreshed
 * once a second. */
static void refresh_gauges(hx_analytics_t *a, uint64_t *last_rows, uint64_t *last_ns)
{
    if (!a->metrics)
        return;
    const char *b = a->ops->name;
    uint64_t now = hx_mono_ns(), rows = __atomic_load_n(&a->rows_in, __ATOMIC_RELAXED);
    hx_gauge_set_labels(a->m_insert_rate, (const char *[]){b},
                        *last_ns && now > *last_ns ? (double)(rows - *last_rows) * 1e9 / (double)(now - *last_ns)
                                                   : 0);
    *last_rows = rows;
    *last_ns = now;
    hx_gauge_set_labels(a->m_memory, (const char *[]){b}, (double)a->ops->memory_bytes(a->impl));
    for (int t = 0; t < HX_AN_NTABLES; t++) {
        hx_an_table_stats_t st;
        hx_err_t err = {0};
        if (a->ops->table_stats(a->impl, (hx_an_table_t)t, &st, &err))
            continue;
        const char *l[] = {b, hx_an_table((hx_an_table_t)t)->name};
        hx_gauge_set_labels(a->m_rows, l, (double)st.rows);
        hx_gauge_set_labels(a->m_parts, l, (double)st.parts);
    }
}

static void *stats_main(void *arg)
{
    hx_analytics_t *a = arg;
    uint64_t last_rows = 0, last_ns = 0;
    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        pthread_mutex_unlock(&a->mu);
        refresh_gauges(a, &last_rows, &last_ns);
        pthread_mutex_lock(&a->mu);
        struct timespec ts;
        hx_deadline_after_ms(&ts, 1000);
        if (!a->stop)
            pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int hx_analytics_open(const hx_analytics_opts_t *o, hx_analytics_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!o || !o->cfg)
        return hx_err_set(err, HX_EINVAL, "hx_analytics_open needs a configuration");
    hx_analytics_t *a = calloc(1, sizeof *a);
    if (!a)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening analytics");
    a->cfg = *o->cfg;
    a->broker = o->broker;
    a->metrics = o->metrics;
    snprintf(a->node_id, sizeof a->node_id, "%s", o->node_id ? o->node_id : "");
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    int rc = HX_EUNSUPPORTED;
    size_t i;
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i].name, o->cfg->backends.analytics)) {
            rc = backends[i].open(o, &a->ops, &a->impl, err);
            break;
        }
    if (i == sizeof backends / sizeof backends[0])
        rc = hx_err_set(err, HX_EUNSUPPORTED,
                        "analytics backend '%s' is not built into this helix (available: embedded, clickhouse)",
                        o->cfg->backends.analytics);
    if (rc) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        free(a);
        return rc;
    }
    if (a->metrics) {
        a->m_query = hx_metrics_histogram(a->metrics, "clickhouse_query_duration_seconds",
                                          "Analytics query time (SQL and the typed endpoints)", "backend,table",
                                          NULL, 0);
        a->m_insert_rate = hx_metrics_gauge(a->metrics, "clickhouse_insert_rows_per_second",
                                            "Rows stored per second over the last second (inserts and ingest)",
                                            "backend");
        a->m_memory = hx_metrics_gauge(a->metrics, "clickhouse_memory_usage_bytes",
                                       "Memory the analytics backend holds (columns, buffers, rollups)", "backend");
        a->m_rows = hx_metrics_gauge(a->metrics, "clickhouse_table_rows", "Rows per analytics table",
                                     "backend,table");
        a->m_parts = hx_metrics_gauge(a->metrics, "clickhouse_table_parts", "Parts per analytics table",
                                      "backend,table");
        a->m_skipped = hx_metrics_counter(a->metrics, "clickhouse_ingest_skipped_total",
                                          "Events the analytics ingest could not read (logged, offset passed)",
                                          "backend,topic");
        if (!pthread_create(&a->stats, NULL, stats_main, a))
            a->stats_started = 1;
    }
    if (o->ingest && o->broker && (rc = an_ingest_start(a, &a->ingest, err))) {
        hx_analytics_close(a);
        return rc;
    }
    *out = a;
    return HX_OK;
}

void hx_analytics_close(hx_analytics_t *a)
{
    if (!a)
        return;
    if (a->ingest)
        an_ingest_stop(a->ingest);
    if (a->stats_started) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->stats, NULL);
    }
    a->ops->close(a->impl);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

const char *hx_analytics_backend(const hx_analytics_t *a)
{
    return a->ops->name;
}

int hx_analytics_health(hx_analytics_t *a, char *detail, size_t len)
{
    return a->ops->health(a->impl, detail, len);
}

/* First row of col outside [lo, hi], or rows when none: one tight loop per
 * column, since every row of every batch passes here. */
static size_t out_of_range(const int64_t *v, size_t rows, int64_t lo, int64_t hi)
{
    /* One unsigned compare per value (v - lo > hi - lo), which vectorises. */
    uint64_t bad = 0, span = (uint64_t)hi - (uint64_t)lo;
    for (size_t r = 0; r < rows; r++)
        bad |= (uint64_t)((uint64_t)v[r] - (uint64_t)lo > span);
    if (!bad)
        return rows;
    for (size_t r = 0; r < rows; r++)
        if (v[r] < lo || v[r] > hi)
            return r;
    return rows;
}

int an_batch_check(const hx_an_batch_t *b, hx_err_t *err)
{
    const hx_an_table_def_t *d = hx_an_table(b->table);
    if (!d)
        return hx_err_set(err, HX_EINVAL, "batch names no analytics table");
    if (!b->rows)
        return HX_OK;
    for (int c = 0; c < d->ncols; c++) {
        const hx_an_column_def_t *cd = &d->cols[c];
        const hx_an_col_t *col = &b->cols[c];
        if ((cd->type == HX_AN_T_STRING && !col->off) || (cd->type == HX_AN_T_FLOAT64 && !col->f) ||
            (hx_an_type_is_int(cd->type) && !col->i))
            return hx_err_set(err, HX_EINVAL, "batch for %s lacks column %s (build it with hx_an_batch_add_row)",
                              d->name, cd->name);
        size_t r = b->rows;
        int64_t hi = cd->type == HX_AN_T_UINT8 ? 255 : cd->type == HX_AN_T_UINT32 || cd->type == HX_AN_T_DATETIME
                                                           ? 4294967295LL
                                                           : INT64_MAX;
        switch (cd->type) {
        case HX_AN_T_FLOAT64: {
            /* NaN and infinities have every exponent bit set. */
            uint64_t bad = 0;
            for (size_t k = 0; k < b->rows; k++) {
                uint64_t bits;
                memcpy(&bits, &col->f[k], 8);
                bad |= (uint64_t)((bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL);
            }
            for (size_t k = 0; bad && k < b->rows; k++)
                if (!isfinite(col->f[k]))
                    return hx_err_set(err, HX_EINVAL, "row %zu of %s: %s must be a finite number", k, d->name,
                                      cd->name);
            break;
        }
        case HX_AN_T_STRING: {
            /* Offsets never decrease (and the tenant is never empty). */
            uint32_t bad = 0, min_len = c == HX_AN_COL_TENANT;
            for (size_t k = 0; k < b->rows; k++)
                bad |= (uint32_t)(col->off[k + 1] - col->off[k] < min_len) | (uint32_t)(col->off[k + 1] < col->off[k]);
            for (size_t k = 0; bad && k < b->rows; k++)
                if (col->off[k + 1] <= col->off[k] && (c == HX_AN_COL_TENANT || col->off[k + 1] < col->off[k]))
                    return hx_err_set(err, HX_EINVAL, "row %zu of %s: %s", k, d->name,
                                      c == HX_AN_COL_TENANT ? "no tenant" : "bad string offsets");
            break;
        }
        case HX_AN_T_INT64:
        case HX_AN_T_DATE: break;
        default: r = out_of_range(col->i, b->rows, 0, hi); break;
        }
        if (r < b->rows)
            return hx_err_set(err, HX_EINVAL, "row %zu of %s: %s = %lld is out of the %s range", r, d->name,
                              cd->name, (long long)col->i[r], hx_an_type_name(cd->type));
    }
    return HX_OK;
}

int hx_analytics_insert(hx_analytics_t *a, const hx_an_batch_t *b, hx_err_t *err)
{
    int rc = an_batch_check(b, err);
    if (rc || !b->rows)
        return rc;
    if ((rc = a->ops->insert(a->impl, b, err)))
        return rc;
    an_count_rows(a, b->rows);
    return HX_OK;
}

int hx_analytics_flush(hx_analytics_t *a, hx_err_t *err)
{
    return a->ops->flush(a->impl, err);
}

int hx_analytics_ingest_wait(hx_analytics_t *a, int timeout_ms, hx_err_t *err)
{
    if (!a->ingest)
        return hx_err_set(err, HX_EUNSUPPORTED, "analytics ingest is not running (no broker)");
    return an_ingest_wait(a->ingest, timeout_ms, err);
}

int hx_analytics_query(hx_analytics_t *a, const char *tenant, const char *sql, size_t len,
                       const hx_an_query_opts_t *o, hx_an_result_t *out, hx_err_t *err)
{
    uint64_t t0 = hx_mono_ns();
    memset(out, 0, sizeof *out);
    hx_an_query_opts_t none = {0};
    if (!o)
        o = &none;
    int64_t now = o->now_s ? o->now_s : hx_now_ms() / 1000;
    hx_sql_query_t *q = NULL;
    int rc = hx_sql_parse(sql, len, tenant, o->params, o->nparams, now, &q, err);
    if (rc)
        return rc;
    hx_an_exec_opts_t eo = {a->cfg.analytics.query_max_rows,
                            t0 + (uint64_t)a->cfg.analytics.query_timeout_ms * 1000000ULL,
                            a->cfg.analytics.query_timeout_ms, o->force_raw};
    rc = a->ops->query(a->impl, q, &eo, out, err);
    double secs = (double)(hx_mono_ns() - t0) / 1e9;
    if (!rc)
        out->elapsed_ms = secs * 1000;
    if (a->m_query)
        hx_histogram_observe_labels(a->m_query, (const char *[]){a->ops->name, hx_an_table(q->table)->name}, secs);
    hx_sql_free(q);
    return rc;
}

int hx_analytics_table_stats(hx_analytics_t *a, hx_an_table_t t, hx_an_table_stats_t *out, hx_err_t *err)
{
    if (!hx_an_table(t))
        return hx_err_set(err, HX_EINVAL, "no such analytics table");
    return a->ops->table_stats(a->impl, t, out, err);
}

int hx_analytics_maintain(hx_analytics_t *a, int64_t now_s, hx_err_t *err)
{
    return a->ops->maintain(a->impl, now_s, err);
}

uint64_t hx_analytics_memory_bytes(hx_analytics_t *a)
{
    return a->ops->memory_bytes(a->impl);
}
