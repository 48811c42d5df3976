/* Private: what an analytics backend implements. src/analytics/analytics.c
 * dispatches the public hx_analytics_* calls to these ops; everything
 * backend-neutral lives above them and is shared: SQL parsing and binding
 * (src/analytics/sql), the rollup decision (hx_sql_match_rollup), row parsing,
 * publishing to the log, the ingest consumer and its batching
 * (src/analytics/ingest), the typed endpoint queries (built as SQL), limits,
 * metrics and result JSON.
 *
 * Backends receive the SQL as a bound AST (sql/sql.h) that already carries
 * the caller's tenant: a backend must filter on it (hx_sql_print with
 * tenant_filter does that for SQL backends). */
#ifndef HX_ANALYTICS_BACKEND_H
#define HX_ANALYTICS_BACKEND_H

#include "analytics/sql/sql.h"
#include "helix/hx_analytics.h"

/* Source topics of the ingest consumer, in this order. */
typedef enum {
    HX_AN_SRC_PROVIDERS = 0,   /* helixagent.analytics.providers: provider.metrics */
    HX_AN_SRC_DEBATES,         /* helixagent.analytics.debates: debate.completed */
    HX_AN_SRC_CONV_METRICS,    /* helixagent.analytics.conversations: conversation.metrics */
    HX_AN_SRC_CONVERSATIONS,   /* helixagent.conversations: conversation.* (derived metrics) */
    HX_AN_NSRCS
} hx_an_src_t;

#define HX_AN_MAX_PARTITIONS 256

const char *hx_an_src_topic(hx_an_src_t s);

/* Per source topic and partition: the offset of the next record to ingest
 * (-1 = nothing ingested yet). */
typedef struct hx_an_offsets {
    int64_t next[HX_AN_NSRCS][HX_AN_MAX_PARTITIONS];
} hx_an_offsets_t;

void hx_an_offsets_clear(hx_an_offsets_t *o);

/* Limits of one query, from analytics.query_max_rows / query_timeout_ms. */
typedef struct hx_an_exec_opts {
    int64_t max_rows;          /* result rows; more is HX_ERANGE */
    uint64_t deadline_ns;      /* hx_mono_ns() after which the query fails with HX_ETIMEOUT */
    int64_t timeout_ms;        /* the same limit, for messages and servers that take a timeout */
    int force_raw;
} hx_an_exec_opts_t;

typedef struct hx_an_backend_ops {
    const char *name;
    void (*close)(void *impl);
    int (*health)(void *impl, char *detail, size_t len);

    /* In-process insert (hx_analytics_insert): visible to queries on return,
     * durable after flush. */
    int (*insert)(void *impl, const hx_an_batch_t *b, hx_err_t *err);
    int (*flush)(void *impl, hx_err_t *err);

    /* Ingest: stores the batches (any tables, n may be 0) together with the
     * consumer position after them, all or nothing. A backend that keeps
     * offsets with its data (embedded) makes the pair atomic: a crash leaves
     * either both or neither. */
    int (*ingest_commit)(void *impl, hx_an_batch_t *const *batches, size_t n, const hx_an_offsets_t *next,
                         hx_err_t *err);
    /* Where ingest resumes: the offsets stored with the data. HX_EUNSUPPORTED
     * when the backend keeps none (ingest then resumes from the consumer
     * group's committed offsets). */
    int (*stored_offsets)(void *impl, hx_an_offsets_t *out, hx_err_t *err);

    /* Runs a bound query; q->tenant scopes it. The backend calls
     * hx_sql_match_rollup (unless o->force_raw) and reports the source. */
    int (*query)(void *impl, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out, hx_err_t *err);

    int (*table_stats)(void *impl, hx_an_table_t t, hx_an_table_stats_t *out, hx_err_t *err);
    int (*maintain)(void *impl, int64_t now_s, hx_err_t *err);
    uint64_t (*memory_bytes)(void *impl);
} hx_an_backend_ops_t;

/* Each backend's constructor: fills *ops and *impl. analytics.c lists them
 * in its backend table by name. */
int hx_an_embedded_open(const hx_analytics_opts_t *o, const hx_an_backend_ops_t **ops, void **impl,
                        hx_err_t *err);
/* The ClickHouse server behind clickhouse.* (src/analytics/clickhouse). */
int hx_an_clickhouse_open(const hx_analytics_opts_t *o, const hx_an_backend_ops_t **ops, void **impl,
                          hx_err_t *err);

/* ---- result building, shared by backends -------------------------------- */

/* Starts a result with the query's output columns (names and types). */
int hx_an_result_begin(hx_an_result_t *r, const hx_sql_query_t *q, hx_err_t *err);
/* Starts a result with explicit columns (results assembled in C). */
int hx_an_result_begin_cols(hx_an_result_t *r, const char *const *names, const hx_an_type_t *types, size_t n,
                            hx_err_t *err);
/* Appends a row and returns its cells (ncols, zeroed). NULL on ENOMEM. */
hx_an_cell_t *hx_an_result_add_row(hx_an_result_t *r);
/* Copies a string into the result's arena and points cell at it. */
int hx_an_result_set_str(hx_an_result_t *r, hx_an_cell_t *cell, const char *s, size_t len);

#endif
