/* The data lake: Parquet datasets under <root>/<dataset>/year=Y/month=M/day=D/
 * (UTC dates from each row's event time, numbers unpadded so DuckDB's and
 * Spark's hive partitioning type them as integers). Every file is
 * part-<id>.parquet and appears atomically (hx_parquet.h).
 *
 * Datasets and their schemas are fixed here (docs/lake.md documents them);
 * every dataset has a tenant column and an event-time column `ts`.
 *
 * Ownership: writers and scans own what they allocate; rows handed to a
 * writer are copied; a scan callback borrows the batch for the call. */
#ifndef HX_LAKE_H
#define HX_LAKE_H

#include "helix/hx_error.h"
#include "helix/hx_parquet.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hx_lake_dataset {
    const char *name;
    const hx_pq_column_t *cols;
    size_t ncols;
    int ts_col;                  /* event time, TIMESTAMP ms UTC: picks the partition */
    int tenant_col;
    int key_col;                 /* conversation_id / debate_id / entity_id; -1 none */
    const char *topics;          /* source topics, comma-separated */
    const char *doc;
} hx_lake_dataset_t;

size_t hx_lake_ndatasets(void);
const hx_lake_dataset_t *hx_lake_dataset_at(size_t i);
/* NULL when there is no such dataset. */
const hx_lake_dataset_t *hx_lake_dataset_find(const char *name);

typedef struct hx_lake_opts {
    const char *root;            /* lake.root */
    hx_pq_codec_t codec;
    int zstd_level;
    size_t row_group_bytes;
    size_t page_bytes;
    int64_t file_rows;           /* cut a file after this many rows (0 = never) */
    int no_fsync;
} hx_lake_opts_t;

/* <root>/<dataset>/year=Y/month=M/day=D for a UTC time in ms. */
int hx_lake_partition_dir(const char *root, const char *dataset, int64_t ts_ms, char *buf, size_t len);
/* Civil date of a UTC time (ms); and back (midnight UTC of the day, ms). */
void hx_lake_civil(int64_t ts_ms, int *y, int *m, int *d);
int64_t hx_lake_day_start(int y, int m, int d);

/* Routes rows to one open file per day partition. Files are named
 * part-<file_id>-<n>.parquet; kv pairs go into every file. */
typedef struct hx_lake_writer hx_lake_writer_t;

int hx_lake_writer_open(const hx_lake_opts_t *o, const hx_lake_dataset_t *ds, const char *file_id,
                        hx_lake_writer_t **out, hx_err_t *err);
int hx_lake_writer_set_kv(hx_lake_writer_t *w, const char *key, const char *value, hx_err_t *err);
int hx_lake_writer_write(hx_lake_writer_t *w, const hx_pq_value_t *row, hx_err_t *err);
int64_t hx_lake_writer_rows(const hx_lake_writer_t *w);
/* Closes (publishes) every file; *files (optional) gets the count. On error
 * unpublished files are removed; published ones stay. Frees w. */
int hx_lake_writer_close(hx_lake_writer_t *w, size_t *files, int64_t *bytes, hx_err_t *err);
void hx_lake_writer_abort(hx_lake_writer_t *w);
/* Two-phase close (hx_pq_writer_close_staged): every file complete and
 * fsynced under its hidden temp name, none published. Frees w. */
typedef struct hx_lake_staged {
    char *tmp, *path;
    int64_t rows;
} hx_lake_staged_t;
int hx_lake_writer_close_staged(hx_lake_writer_t *w, hx_lake_staged_t **out, size_t *n, hx_err_t *err);
void hx_lake_staged_free(hx_lake_staged_t *s, size_t n, int unlink_tmp);

/* One file of a dataset. */
typedef struct hx_lake_file {
    char *path;
    int year, month, day;
    int64_t bytes;
    int64_t mtime_ms;
} hx_lake_file_t;

/* Files of a dataset whose day lies in [from_ms, to_ms) (0, 0 = all), in
 * path order. Partitions outside the range are not even listed (partition
 * pruning). Caller frees with hx_lake_files_free. */
int hx_lake_list(const char *root, const char *dataset, int64_t from_ms, int64_t to_ms, hx_lake_file_t **out,
                 size_t *n, hx_err_t *err);
void hx_lake_files_free(hx_lake_file_t *f, size_t n);

/* A scan: dataset files in a time range, columns by name (NULL = all),
 * predicates on named columns; the tenant (when not NULL) is an implicit
 * equality predicate, so no other tenant's rows ever reach the callback.
 * The callback sees each surviving row group with a selection: sel[i] = 1
 * for rows passing every predicate; b->cols[k] is the dataset column index
 * of vector k (asked columns first, then predicate columns). A non-zero
 * return stops the scan and becomes hx_lake_scan's return value. */
typedef struct hx_lake_pred {
    const char *col;
    hx_pq_op_t op;
    int64_t i;
    double d;
    const char *s;
} hx_lake_pred_t;

typedef int (*hx_lake_scan_fn)(void *ctx, const hx_lake_file_t *file, const hx_pq_batch_t *b, const uint8_t *sel,
                               size_t nsel);

typedef struct hx_lake_scan_stats {
    int64_t files, files_pruned, row_groups, row_groups_pruned, rows_read, rows_matched;
} hx_lake_scan_stats_t;

int hx_lake_scan(const char *root, const hx_lake_dataset_t *ds, const char *tenant, int64_t from_ms, int64_t to_ms,
                 const char *const *cols, size_t ncols, const hx_lake_pred_t *preds, size_t npreds,
                 hx_lake_scan_fn fn, void *ctx, hx_lake_scan_stats_t *stats, hx_err_t *err);

/* One row of a scan batch as a JSON object of its columns (caller owns):
 * timestamps as ms since epoch, nulls as null. */
json_t *hx_lake_row_json(const hx_lake_dataset_t *ds, const hx_pq_batch_t *b, size_t row);

/* ---- the lake engine (one per node) ---- */

typedef struct hx_lake hx_lake_t;
typedef struct hx_broker hx_broker_t;
typedef struct hx_config hx_config_t;

/* Opens the lake at lake.root (created when missing). With a broker and
 * lake.enabled it starts the archiver: consumer group helix-lake on the
 * conversation, provider, debate and entity topics. It first finishes or
 * undoes a flush a crash interrupted, so no row is lost or written twice. */
int hx_lake_open(const hx_config_t *cfg, hx_broker_t *broker, hx_lake_t **out, hx_err_t *err);
void hx_lake_close(hx_lake_t *l);
const char *hx_lake_root(const hx_lake_t *l);
/* Writer options from the configuration (codec, sizes). */
void hx_lake_write_opts(const hx_lake_t *l, hx_lake_opts_t *o);
/* Writes what the archiver has buffered now and commits its offsets; waits
 * up to timeout_ms. HX_EUNAVAIL when no archiver runs. */
int hx_lake_archiver_flush(hx_lake_t *l, int timeout_ms, hx_err_t *err);
/* {"running","rows_archived","files_written","flushes","buffered_rows","last_error",...} */
json_t *hx_lake_archiver_status(hx_lake_t *l);
int hx_lake_health(hx_lake_t *l, char *detail, size_t len);

/* Long operations report progress and stop when *cancel becomes non-zero
 * (HX_EAGAIN "cancelled"). Any field may be NULL. */
typedef struct hx_lake_task {
    volatile int *cancel;
    void (*progress)(void *ctx, double fraction);
    void *ctx;
} hx_lake_task_t;

/* Read side, scoped to a tenant. */
int hx_lake_datasets_json(hx_lake_t *l, const char *tenant, json_t **out, hx_err_t *err);
int hx_lake_partitions_json(hx_lake_t *l, const char *tenant, const char *dataset, json_t **out, hx_err_t *err);
/* The archived events of one conversation, in (seq, ts) order. HX_ENOTFOUND
 * when the lake holds none for this tenant. */
int hx_lake_conversation_json(hx_lake_t *l, const char *tenant, const char *conversation_id, json_t **out,
                              hx_err_t *err);
/* Rewrites every file holding rows of the conversation without them (a
 * file left with no rows is removed) and remembers the deletion so rows
 * still on the topic are dropped when they are archived. *out: deleted_rows,
 * files_rewritten, files_removed. */
int hx_lake_conversation_delete(hx_lake_t *l, const char *tenant, const char *conversation_id, json_t **out,
                                hx_err_t *err);

/* Maintenance (jobs). dataset NULL = every dataset. */
int hx_lake_retention(hx_lake_t *l, const char *dataset, int64_t now_ms, const hx_lake_task_t *t, json_t **out,
                      hx_err_t *err);
/* Retention of a dataset in days from lake.retention_days and
 * lake.dataset_retention_days (0 = keep forever). */
int hx_lake_retention_days(const hx_lake_t *l, const char *dataset);
/* Coalesces the files of each partition smaller than lake.target_file_bytes
 * into files of about that size; partition "year=Y/month=M/day=D" or NULL. */
int hx_lake_compact(hx_lake_t *l, const char *dataset, const char *partition, const hx_lake_task_t *t,
                    json_t **out, hx_err_t *err);
/* Copies a tenant's rows of a dataset with ts in [from_ms, to_ms) to
 * <lake.export_dir>/<name>/ as a hive-partitioned Parquet directory. */
int hx_lake_export(hx_lake_t *l, const char *tenant, const char *dataset, int64_t from_ms, int64_t to_ms,
                   const char *name, const hx_lake_task_t *t, json_t **out, hx_err_t *err);

#endif
