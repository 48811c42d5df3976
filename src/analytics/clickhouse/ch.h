/* ClickHouse backend internals: one HTTP connection to ClickHouse, the
 * schema (DDL for ClickHouse 18.16 and later), batch inserts, read-only
 * queries and retention.
 *
 * Everything here speaks ClickHouse's HTTP interface: the statement in the
 * POST body (or in ?query= for INSERT, whose body is the data), settings as
 * URL parameters (18.16 has no SETTINGS clause on SELECT), errors as HTTP
 * 500 with "Code: N, e.displayText() = ..." in the body. */
#ifndef HX_CH_H
#define HX_CH_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"
#include "helix/hx_http_client.h"

#include <pthread.h>
#include <stdint.h>

typedef struct ch_opts {
    const char *url;            /* http(s)://host:port */
    const char *database;
    const char *user, *password;
    long timeout_ms, connect_timeout_ms;
    const char *ca_file, *cert_file, *key_file;
    int insecure;
    int insert_retries;         /* extra attempts after the first */
    int retry_backoff_ms;       /* first backoff; doubles up to 32x */
    int index_granularity;      /* MergeTree SETTINGS index_granularity */
    int ttl_days[8];            /* retention per table (hx_an_table_t); 0 = keep forever */
} ch_opts_t;

typedef struct ch_conn {
    hx_http_client_t *http;     /* guarded by mu */
    pthread_mutex_t mu;
    char url[512];              /* without trailing slash */
    char database[64];
    int insert_retries, retry_backoff_ms, index_granularity;
    int ttl_days[8];
    uint64_t requests, failures; /* guarded by mu */
} ch_conn_t;

int ch_conn_open(const ch_opts_t *o, ch_conn_t **out, hx_err_t *err);
void ch_conn_close(ch_conn_t *c);

/* Runs one statement. With data, sql goes in ?query= and data is the body
 * (INSERT ... FORMAT ...); else sql is the body. settings: NULL or
 * "k=v&k=v" URL parameters. use_db: 0 for statements that must run before
 * the database exists. out (may be NULL) receives the answer. Maps ClickHouse
 * error codes to HX_E* with ClickHouse's message. */
int ch_exec(ch_conn_t *c, const char *sql, const void *data, size_t len, const char *settings, int use_db,
            hx_buf_t *out, hx_err_t *err);

/* ch_exec with extra request headers (NULL-terminated, may be NULL). */
int ch_exec_body(ch_conn_t *c, const char *sql, const void *data, size_t len, const char *const *headers,
                 const char *settings, int use_db, hx_buf_t *out, hx_err_t *err);

/* The HX_E* code and message of a ClickHouse error answer (status, body);
 * returns the code. The body is outside input: any bytes. */
int ch_parse_error(const char *url, long status, const char *body, hx_err_t *err);

/* HX_OK when GET /ping answers "Ok.". */
int ch_ping(ch_conn_t *c, hx_err_t *err);

/* 1 when an error code is worth retrying (server down, overloaded, too many parts). */
int ch_retryable(int code);

/* ---- schema (schema.c) ------------------------------------------------ */

/* The DDL is generated from the shared table and rollup definitions
 * (hx_an_table / hx_an_rollup), so both backends store the same columns.
 * Rollup tables keep the source's
 * names for the bucket (timestamp, rounded down) and the dims, so a query
 * prints the same against both; measures are -State columns. */

#define CH_WIDE_TABLE "ingest_rows"       /* Null engine: every write goes here */
#define CH_OFFSETS_TABLE "ingest_offsets" /* consumer position stored with the data */
#define CH_TBL_OFFSETS 255                /* ingest_rows.tbl of an offsets row */

/* ClickHouse type of a Helix column type ("DateTime('UTC')", ...). */
const char *ch_type_name(int hx_type);

/* CREATE DATABASE/TABLE/MATERIALIZED VIEW IF NOT EXISTS for everything;
 * safe to run at every start and concurrently from several nodes. */
int ch_schema_create(ch_conn_t *c, hx_err_t *err);
/* Appends every DDL statement, ';\n'-separated (for docs and tests). */
int ch_schema_ddl(const ch_conn_t *c, hx_buf_t *out);

/* Retention for 18.16, which has no table TTL: drops the monthly partitions
 * wholly older than ttl_days and deletes the older rows of the partition
 * the cut-off falls in (an ALTER ... DELETE mutation). now_s: epoch seconds. */
int ch_schema_retention(ch_conn_t *c, int64_t now_s, hx_err_t *err);

/* ---- inserts (insert.c) ---------------------------------------------- */

/* ingest_rows is a union of the tables, not a concatenation: a table's
 * k-th column of type T goes to slot T_k, so the row is as wide as the
 * widest table per type (26 columns, not 54), cheap to encode and to parse.
 * ch_slot_name gives the slot of column col of table t ("s3", "f1"...). */
void ch_slot_name(int table, int col, char *out, size_t len);
/* Appends the slot columns of ingest_rows' DDL (", s0 String, ..."). */
int ch_slot_columns(hx_buf_t *b);

/* One INSERT INTO ingest_rows FORMAT RowBinary with rb as the body, gzip-
 * compressed: one POST, one block, so it lands whole or not at all. (A
 * plain body cut short by a dropped connection at a row boundary is a valid
 * shorter insert to ClickHouse and lands its prefix; a cut gzip stream fails
 * to inflate and lands nothing.) Retries retryable
 * failures insert_retries times with doubling backoff. When a failure may
 * have landed (the answer was lost, not refused) and probe_seq is not 0, it
 * first asks whether ingest_offsets holds (probe_seq, src, part) and counts
 * the insert as done if so (waiting while that attempt still runs there).
 * *attempts (may be NULL) receives the POSTs; *maybe_landed (may be NULL)
 * is 1 when it failed but an attempt may still land or have landed. */
int ch_insert_rows(ch_conn_t *c, const hx_buf_t *rb, size_t nrows, uint64_t probe_seq, int probe_src,
                   int probe_part, int *attempts, int *maybe_landed, hx_err_t *err);
/* For an insert that failed with *maybe_landed: 2 = still running on the
 * server, 1 = landed, 0 = did not, <0 = cannot tell now. */
int ch_probe_insert(ch_conn_t *c, uint64_t seq, int src, int part, hx_err_t *err);

/* Appends batch's rows as ingest_rows RowBinary rows. */
struct hx_an_batch;
int ch_encode_batch(const struct hx_an_batch *b, hx_buf_t *rb);
/* Appends one offsets row (tbl = CH_TBL_OFFSETS). */
int ch_encode_offset(uint64_t seq, int src, int part, int64_t next, hx_buf_t *rb);

/* Reads "src\tpart\tnext" lines (SELECT ... FROM ingest_offsets) into out;
 * lines out of range are skipped. */
struct hx_an_offsets;
void ch_parse_offsets(const char *tsv, struct hx_an_offsets *out);

/* ---- query text (print.c) --------------------------------------------- */

struct hx_sql_query;
/* Appends q as ClickHouse SQL against db.table (the raw table, or the rollup
 * table with -Merge aggregates when q->rollup >= 0), tenant-filtered.
 * DateTime results come back as epoch seconds and Dates as day numbers, so
 * the server's time zone never matters. Ends with FORMAT JSONCompact. */
int ch_print_query(const ch_conn_t *c, const struct hx_sql_query *q, hx_buf_t *out);
int ch_sql_quote(hx_buf_t *b, const char *s, size_t len);

#endif
