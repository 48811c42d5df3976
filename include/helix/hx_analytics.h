/* The analytics store (ClickHouse's role): provider, debate and conversation
 * metrics, rollups kept on insert, a read-only SQL subset and the typed
 * queries behind /v1/analytics/.... Two backends implement it, chosen by
 * `backends.analytics`:
 *   embedded    our column store (src/analytics/embedded): MergeTree-like
 *               parts, granules with min/max, merges, TTL, rollup states
 *   clickhouse  a ClickHouse server over HTTP (src/analytics/clickhouse)
 * Code above this header never knows which one runs; tests/analytics_
 * conformance.h holds the behaviour both must show.
 *
 * Data model (docs/analytics.md): four tables, every one with `tenant` as
 * column 0 (hidden from SQL: a query only ever sees its caller's tenant) and
 * `timestamp` (DateTime, seconds since the epoch, UTC) as column 1, which
 * partitions (toYYYYMM) and expires (TTL) rows. Rows arrive as events on the
 * log (the source of truth) and are ingested by the consumer group
 * helix-analytics; in-process callers may also insert batches directly.
 *
 * Ownership rules:
 *  - Inputs (batches, SQL text, params, names) are borrowed for the call.
 *  - hx_an_batch_t owns its column arrays (hx_an_batch_free).
 *  - hx_an_result_t owns every cell, name and string it points to
 *    (hx_an_result_free); so do hx_an_provider_stats_t and hx_an_debate_t.
 *  - hx_analytics_t is thread-safe: inserts, queries and the ingest thread
 *    run concurrently. */
#ifndef HX_ANALYTICS_H
#define HX_ANALYTICS_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hx_analytics hx_analytics_t;
typedef struct hx_broker hx_broker_t;   /* hx_broker.h */
typedef struct hx_metrics hx_metrics_t; /* hx_metrics.h; may be NULL everywhere */

/* ---- schema ------------------------------------------------------------- */

typedef enum {
    HX_AN_PROVIDER_METRICS = 0, /* one row per provider.metrics event */
    HX_AN_DEBATE_METRICS,       /* one row per debate.completed event */
    HX_AN_DEBATE_PARTICIPANTS,  /* one row per participant of a debate.completed event */
    HX_AN_CONVERSATION_METRICS, /* per conversation and hour, derived from helixagent.conversations */
    HX_AN_NTABLES
} hx_an_table_t;

/* Column and result types, named as ClickHouse names them. Integers of every
 * width travel as int64_t; DateTime is seconds since the epoch (UTC); Date is
 * days since the epoch. */
typedef enum {
    HX_AN_T_UINT8 = 0,
    HX_AN_T_UINT32,
    HX_AN_T_UINT64,
    HX_AN_T_INT64,
    HX_AN_T_FLOAT64,
    HX_AN_T_STRING,
    HX_AN_T_DATETIME,
    HX_AN_T_DATE,
} hx_an_type_t;

/* "UInt8", "UInt32", "UInt64", "Int64", "Float64", "String", "DateTime", "Date". */
const char *hx_an_type_name(hx_an_type_t t);
/* 1 for the integer types, DateTime and Date (stored in hx_an_col_t.i). */
int hx_an_type_is_int(hx_an_type_t t);

#define HX_AN_MAX_COLS 16
#define HX_AN_COL_TENANT 0
#define HX_AN_COL_TIMESTAMP 1

typedef struct hx_an_column_def {
    const char *name;
    hx_an_type_t type;
    int low_cardinality;       /* dictionary-encoded String (LowCardinality in ClickHouse) */
    const char *doc;
} hx_an_column_def_t;

typedef struct hx_an_table_def {
    hx_an_table_t id;
    const char *name;          /* "provider_metrics", ... (the SQL name) */
    const hx_an_column_def_t *cols;
    int ncols;
    const int *order_by;       /* sort key (column indices), tenant first */
    int norder;
    const char *doc;
} hx_an_table_def_t;

const hx_an_table_def_t *hx_an_table(hx_an_table_t t);
/* HX_ENOTFOUND when name (len bytes) is not one of the four tables. */
int hx_an_table_by_name(const char *name, size_t len, hx_an_table_t *out);
/* Column index of name in table t, or -1. */
int hx_an_column_index(hx_an_table_t t, const char *name, size_t len);

/* Rollups: per (tenant, time bucket, dims) mergeable states, kept up to date
 * on insert and used to answer the queries they can (exactly: counts and sums
 * are the same numbers a scan gives; quantiles come from the same sketch). */
typedef enum {
    HX_AN_ROLLUP_PROVIDER_HOURLY = 0, /* provider_metrics_hourly */
    HX_AN_ROLLUP_DEBATE_DAILY,        /* debate_metrics_daily */
    HX_AN_ROLLUP_CONVERSATION_DAILY,  /* conversation_metrics_daily */
    HX_AN_NROLLUPS
} hx_an_rollup_t;

typedef enum {
    HX_AN_M_COUNT = 0,         /* rows */
    HX_AN_M_SUM,               /* sum(col): Int64 for integer columns, Float64 otherwise */
    HX_AN_M_MIN,
    HX_AN_M_MAX,
    HX_AN_M_QUANTILES,         /* quantile sketch of col (relative error HX_AN_QUANTILE_REL_ERROR) */
} hx_an_measure_kind_t;

typedef struct hx_an_measure_def {
    const char *name;          /* state column: "requests", "response_time_ms_sum", ... */
    hx_an_measure_kind_t kind;
    int col;                   /* source column; -1 for COUNT */
} hx_an_measure_def_t;

#define HX_AN_ROLLUP_MAX_DIMS 4
#define HX_AN_ROLLUP_MAX_MEASURES 16

typedef struct hx_an_rollup_def {
    hx_an_rollup_t id;
    const char *name;
    hx_an_table_t table;
    int64_t bucket_s;          /* the time key: timestamp rounded down to a multiple of this (3600, 86400) */
    const int *dims;           /* group columns besides tenant and the time bucket */
    int ndims;
    const hx_an_measure_def_t *measures;
    int nmeasures;
} hx_an_rollup_def_t;

const hx_an_rollup_def_t *hx_an_rollup(hx_an_rollup_t r);

/* quantile(q)(x) is answered from a logarithmic-bucket sketch (DDSketch
 * style) on both the raw and the rollup path: the value returned for rank
 * floor(q * (n - 1)) of the sorted values v is within this relative error of
 * v[rank] (|est - v| <= 0.01 * |v|); |x| < 1e-9 counts as 0. */
#define HX_AN_QUANTILE_REL_ERROR 0.01
/* The ClickHouse backend answers quantile(q)(x) with ClickHouse's own
 * quantile: a reservoir of 8192 values, interpolated between neighbours.
 * Its answer lies between the exact values at ranks (q -/+ RANK_ERROR) *
 * (n - 1) (the bench checks that); on the conformance suite's data it is
 * also within REL_ERROR of the value at rank floor(q * (n - 1)). */
#define HX_AN_CLICKHOUSE_QUANTILE_RANK_ERROR 0.01
#define HX_AN_CLICKHOUSE_QUANTILE_REL_ERROR 0.05

/* ---- row batches (columnar) --------------------------------------------- */

typedef struct hx_an_col {
    int64_t *i;                /* integer types, DateTime, Date */
    double *f;                 /* Float64 */
    uint32_t *off;             /* String: row r is str[off[r] .. off[r + 1]) (rows + 1 entries) */
    char *str;
    size_t str_len, str_cap;
} hx_an_col_t;

/* Rows of one table, column by column; every column of the table is present
 * (tenant included). Strings are appended in row order: set them on the last
 * added row only. */
typedef struct hx_an_batch {
    hx_an_table_t table;
    size_t rows, cap;
    hx_an_col_t cols[HX_AN_MAX_COLS];
} hx_an_batch_t;

int hx_an_batch_init(hx_an_batch_t *b, hx_an_table_t t);
void hx_an_batch_reset(hx_an_batch_t *b);   /* rows = 0, keeps the memory */
void hx_an_batch_free(hx_an_batch_t *b);    /* safe on a zeroed batch */
/* Appends a row of defaults (0, 0.0, "") and returns its index in *row. */
int hx_an_batch_add_row(hx_an_batch_t *b, size_t *row);
/* Sets string column col of the last row (n bytes, need not be NUL-terminated). */
int hx_an_batch_set_str(hx_an_batch_t *b, int col, const char *s, size_t n);
static inline const char *hx_an_batch_str(const hx_an_batch_t *b, int col, size_t row, size_t *len)
{
    *len = b->cols[col].off[row + 1] - b->cols[col].off[row];
    return b->cols[col].str + b->cols[col].off[row];
}

/* Typed rows for in-process callers. NULL strings are "". */
typedef struct hx_an_provider_row {
    int64_t timestamp;         /* seconds since the epoch */
    const char *provider, *model, *request_id, *debate_id, *error_type;
    uint32_t round;
    double response_time_ms;
    uint32_t prompt_tokens, completion_tokens, tokens_used;
    double confidence;
    int success;
} hx_an_provider_row_t;

typedef struct hx_an_participant_row {
    const char *provider, *model, *position;
    double response_time_ms;
    uint32_t tokens_used;
    double confidence;
    int won;
} hx_an_participant_row_t;

typedef struct hx_an_debate_row {
    int64_t timestamp;
    const char *debate_id, *conversation_id, *topic, *winner_provider, *winner_model, *outcome;
    uint32_t rounds;
    double confidence, duration_ms;
    const hx_an_participant_row_t *participants;
    size_t nparticipants;
} hx_an_debate_row_t;

typedef struct hx_an_conversation_row {
    int64_t timestamp;         /* rounded down to the hour when stored */
    const char *conversation_id, *user_id;
    uint32_t messages_added, messages_updated, messages_deleted;
    uint64_t tokens;
    uint32_t role_user, role_assistant, role_system, role_tool, completed;
} hx_an_conversation_row_t;

/* b must be a provider_metrics batch. */
int hx_an_batch_add_provider(hx_an_batch_t *b, const char *tenant, const hx_an_provider_row_t *r, hx_err_t *err);
/* debates: a debate_metrics batch; parts: a debate_participants batch
 * receiving the row's participants (in order; debate_metrics.participants
 * counts them, so the two batches stay aligned). */
int hx_an_batch_add_debate(hx_an_batch_t *debates, hx_an_batch_t *parts, const char *tenant,
                           const hx_an_debate_row_t *r, hx_err_t *err);
int hx_an_batch_add_conversation(hx_an_batch_t *b, const char *tenant, const hx_an_conversation_row_t *r,
                                 hx_err_t *err);

/* Parses a POST /v1/analytics/{table}/rows body: a JSON array of row objects
 * or NDJSON (one object a line), fields as in docs/analytics.md; `timestamp`
 * is optional (seconds since the epoch, or "YYYY-MM-DD hh:mm:ss" /
 * RFC 3339 UTC; default now_s). Every row gets tenant. debate_metrics rows
 * carry their participants[], which go to *parts (required for that table,
 * ignored otherwise). Strict: an unknown field, a wrong type, a missing
 * required field or an out-of-range value is HX_EINVAL naming the row and the
 * field ("rows[17].response_time_ms must be a number"), and the batches are
 * left empty. debate_participants takes no rows of its own (HX_EINVAL). */
int hx_an_rows_parse(hx_an_table_t t, const char *tenant, int64_t now_s, const char *body, size_t len,
                     hx_an_batch_t *out, hx_an_batch_t *parts, hx_err_t *err);

/* Times as the API takes and shows them: epoch seconds (a number past
 * 10^11 is taken as milliseconds), "YYYY-MM-DD hh:mm:ss", "YYYY-MM-DD" or
 * RFC 3339 in UTC. HX_EINVAL when s is none of these. */
int hx_an_parse_time(const char *s, int64_t *out);
/* "YYYY-MM-DD hh:mm:ss" (UTC); out holds at least 20 bytes. */
void hx_an_format_time(int64_t s, char *out, size_t len);

/* ---- lifecycle ---------------------------------------------------------- */

typedef struct hx_analytics_opts {
    const hx_config_t *cfg;    /* backends.analytics, analytics.*, clickhouse.* (copied) */
    const char *dir;           /* embedded store directory; NULL = <cfg node.data_dir>/analytics */
    hx_broker_t *broker;       /* borrowed; NULL = no ingest and no publish */
    hx_metrics_t *metrics;     /* borrowed; NULL = no metrics */
    int ingest;                /* with a broker: run the consumer group helix-analytics */
    const char *node_id;       /* source of published events; NULL = "" */
} hx_analytics_opts_t;

void hx_analytics_opts_defaults(hx_analytics_opts_t *o);

/* Opens the backend named by cfg->backends.analytics. The embedded store
 * takes an exclusive lock on its directory (HX_EUNAVAIL "in use") and
 * recovers from its manifest: parts not in it (a crash mid-write) are
 * removed. Metrics: clickhouse_query_duration_seconds{backend,table},
 * clickhouse_insert_rows_per_second{backend}, clickhouse_memory_usage_bytes
 * {backend}, clickhouse_table_rows / clickhouse_table_parts{backend,table}. */
int hx_analytics_open(const hx_analytics_opts_t *o, hx_analytics_t **out, hx_err_t *err);

/* Stops ingest (committing what it holds), flushes, frees. NULL is a no-op. */
void hx_analytics_close(hx_analytics_t *a);

/* "embedded" or "clickhouse". */
const char *hx_analytics_backend(const hx_analytics_t *a);

/* Real check for /v1/bigdata/health: 0 healthy; HX_EUNAVAIL the server is
 * unreachable (degraded); HX_EIO the store cannot write (unhealthy);
 * HX_EAGAIN ingest is blocked by the parts limit (degraded). */
int hx_analytics_health(hx_analytics_t *a, char *detail, size_t len);

/* ---- writing ------------------------------------------------------------ */

/* Inserts a batch in process. The rows are visible to queries and rollups
 * when this returns; they are durable after hx_analytics_flush() (or the next
 * background flush: analytics.batch_rows / analytics.flush_ms). HX_EAGAIN
 * when a partition has analytics.parts_to_throw_insert parts (merges are
 * behind: retry later); HX_EINVAL for a batch of the wrong shape. */
int hx_analytics_insert(hx_analytics_t *a, const hx_an_batch_t *b, hx_err_t *err);

/* Makes every row inserted so far durable. */
int hx_analytics_flush(hx_analytics_t *a, hx_err_t *err);

/* Writes the rows as events to the table's topic (provider.metrics to
 * helixagent.analytics.providers keyed by provider, debate.completed with its
 * participants to .debates keyed by debate_id, conversation.metrics to
 * .conversations keyed by conversation_id), so the log stays the source of
 * truth; the ingest consumer stores them. Returns when the log acknowledged
 * every record; *events (may be NULL) gets how many were written. */
int hx_analytics_publish(hx_analytics_t *a, const hx_an_batch_t *rows, const hx_an_batch_t *parts, size_t *events,
                         hx_err_t *err);

/* POST /v1/analytics/{table}/rows in one call: parses body as
 * hx_an_rows_parse does (all or nothing: a bad row is HX_EINVAL naming it and
 * nothing is written) and publishes every row with its own JSON text as the
 * event's data. *rows and *events (may be NULL) get the counts. */
int hx_analytics_publish_rows(hx_analytics_t *a, hx_an_table_t t, const char *tenant, const char *body, size_t len,
                              size_t *rows, size_t *events, hx_err_t *err);

/* Waits until ingest has stored everything the source topics held when
 * called (for tests, the bench and read-your-writes callers). HX_ETIMEOUT
 * after timeout_ms; HX_EUNSUPPORTED without ingest. */
int hx_analytics_ingest_wait(hx_analytics_t *a, int timeout_ms, hx_err_t *err);

/* ---- SQL ---------------------------------------------------------------- */

/* A {name:Type} parameter's value, as text (ClickHouse's param_name=value):
 * numbers in decimal, DateTime as "YYYY-MM-DD hh:mm:ss" or epoch seconds. */
typedef struct hx_an_param {
    const char *name;
    const char *value;
} hx_an_param_t;

typedef struct hx_an_query_opts {
    const hx_an_param_t *params;
    size_t nparams;
    int64_t now_s;             /* what now() returns; 0 = the wall clock */
    int force_raw;             /* never answer from a rollup (tests, verification) */
} hx_an_query_opts_t;

typedef struct hx_an_cell {
    int64_t i;                 /* integer types, DateTime, Date */
    double f;                  /* Float64 */
    const char *s;             /* String (NUL-terminated; len bytes) */
    uint32_t len;
    uint8_t is_null;           /* avg/min/max/quantile of no rows, NaN and infinities */
} hx_an_cell_t;

typedef struct hx_an_result_col {
    char *name;                /* the alias, else the expression as ClickHouse prints it */
    hx_an_type_t type;
} hx_an_result_col_t;

typedef struct hx_an_result {
    size_t ncols, nrows;
    hx_an_result_col_t *cols;
    hx_an_cell_t *cells;       /* nrows * ncols, row-major */
    uint64_t rows_read;        /* rows (or rollup entries) the query read */
    double elapsed_ms;
    const char *source;        /* "rollup" | "raw" (static string) */
    const char *rollup;        /* the rollup's name when source is "rollup", else NULL (static) */
    void *owner_;              /* do not touch */
} hx_an_result_t;

static inline const hx_an_cell_t *hx_an_result_cell(const hx_an_result_t *r, size_t row, size_t col)
{
    return &r->cells[row * r->ncols + col];
}

/* Runs one statement of the SQL subset (docs/analytics.md) for tenant:
 *   SELECT expr [AS a], ... FROM table [WHERE ...] [GROUP BY ...]
 *   [ORDER BY ... [ASC|DESC]] [LIMIT n]
 * Aggregates count(), sum, avg, min, max, uniq, quantile(q)(x); functions
 * toStartOfMinute/Hour/Day, toDate, toYYYYMM, now(); INTERVAL n unit
 * arithmetic; + - * /; comparisons, IN, BETWEEN, AND/OR/NOT, LIKE;
 * parameters {name:Type}. Anything else (other statements, table functions,
 * system tables, unknown columns or functions) is HX_EINVAL "SQL error at
 * position N near 'tok': ...". A result over analytics.query_max_rows rows is
 * HX_ERANGE; a query running past analytics.query_timeout_ms HX_ETIMEOUT.
 * A query a rollup can answer is answered from it (out->source says which). */
int hx_analytics_query(hx_analytics_t *a, const char *tenant, const char *sql, size_t len,
                       const hx_an_query_opts_t *o, hx_an_result_t *out, hx_err_t *err);

void hx_an_result_free(hx_an_result_t *r);

/* One cell as JSON: numbers, strings, "YYYY-MM-DD hh:mm:ss" for DateTime,
 * "YYYY-MM-DD" for Date, null for is_null. New reference. */
json_t *hx_an_cell_json(const hx_an_result_t *r, size_t row, size_t col);
/* {"columns":[{"name","type"}...], "rows":[[...]...], "rows_read", "elapsed_ms",
 * "source"[, "rollup"]}. New reference; NULL on ENOMEM. */
json_t *hx_an_result_json(const hx_an_result_t *r);
/* Row i as an object {column name: value}. New reference. */
json_t *hx_an_result_row_object(const hx_an_result_t *r, size_t row);

/* ---- typed queries behind the HTTP endpoints (both backends, via SQL) --- */

typedef enum { HX_AN_MINUTE = 60, HX_AN_HOUR = 3600, HX_AN_DAY = 86400 } hx_an_interval_t;

typedef struct hx_an_provider_point {
    int64_t t;                 /* bucket start (seconds); 0 in totals */
    uint64_t requests, errors, tokens;
    double error_rate;         /* errors / requests; 0 without requests */
    double avg_ms, p50_ms, p95_ms, p99_ms; /* 0 without requests (never NaN) */
} hx_an_provider_point_t;

typedef struct hx_an_provider_stats {
    hx_an_provider_point_t totals;
    hx_an_provider_point_t *series; /* buckets with requests, in time order */
    size_t nseries;
    const char *source;        /* "rollup" | "raw" */
} hx_an_provider_stats_t;

/* Series and totals of provider (and model, NULL = all) over [from_s, to_s). */
int hx_analytics_provider_stats(hx_analytics_t *a, const char *tenant, const char *provider, const char *model,
                                int64_t from_s, int64_t to_s, hx_an_interval_t interval, hx_an_provider_stats_t *out,
                                hx_err_t *err);
void hx_an_provider_stats_free(hx_an_provider_stats_t *s);

typedef struct hx_an_debate {
    hx_an_result_t debate;       /* one row of debate_metrics */
    hx_an_result_t participants; /* its debate_participants rows */
    hx_an_result_t rounds;       /* provider_metrics of the debate per round: round, requests, errors,
                                    avg_response_time_ms, tokens_used */
} hx_an_debate_t;

/* HX_ENOTFOUND when the tenant has no such debate. */
int hx_analytics_debate(hx_analytics_t *a, const char *tenant, const char *debate_id, hx_an_debate_t *out,
                        hx_err_t *err);
void hx_an_debate_free(hx_an_debate_t *d);

/* Leaderboard over [from_s, to_s): one row per provider, columns provider,
 * requests, errors, error_rate, p95_ms, debates, debates_won, win_rate
 * (won / debates taken part in), ordered by requests desc, provider. */
int hx_analytics_leaderboard(hx_analytics_t *a, const char *tenant, int64_t from_s, int64_t to_s,
                             hx_an_result_t *out, hx_err_t *err);

/* ---- operations --------------------------------------------------------- */

typedef struct hx_an_table_stats {
    uint64_t rows;             /* stored rows, all tenants (buffered included) */
    uint64_t buffered_rows;    /* inserted, not yet durable */
    uint64_t parts;            /* active parts */
    uint64_t partitions;
    uint64_t max_parts_in_partition;
    uint64_t bytes_on_disk;
    uint64_t merges;           /* merges done since open */
    uint64_t rows_expired;     /* rows removed by TTL since open */
} hx_an_table_stats_t;

int hx_analytics_table_stats(hx_analytics_t *a, hx_an_table_t t, hx_an_table_stats_t *out, hx_err_t *err);

/* Runs merges and TTL now as if the clock read now_s (0 = the wall clock),
 * until no merge is due. The embedded store also does this in the
 * background; tests call it to be deterministic. */
int hx_analytics_maintain(hx_analytics_t *a, int64_t now_s, hx_err_t *err);

/* Bytes the backend holds in memory (clickhouse_memory_usage_bytes). */
uint64_t hx_analytics_memory_bytes(hx_analytics_t *a);

#endif
