/* Embedded, durable, partitioned event log (the storage engine under the
 * broker API). A log is a directory of topics; a topic has N partitions; a
 * partition is an append-only sequence of segment files holding CRC32C-checked,
 * optionally compressed record batches, with a sparse offset index and a time
 * index. Offsets are dense from 0 per partition (compaction may leave gaps
 * inside closed segments). Records are opaque bytes: the log does not know the
 * envelope format. Layout and formats: docs/event-log.md.
 *
 * Threading: every function is thread-safe. Appends to different partitions
 * run in parallel; reads run concurrently with appends and only ever see fully
 * written batches. Topic create/delete exclude every other operation for their
 * duration. One process at a time may open a directory (flock on DIR/.lock).
 *
 * Ownership: hx_log_t is owned by the caller of hx_log_open and released by
 * hx_log_close. Records passed to hx_log_append are borrowed for the call.
 * Records handed to a read callback are borrowed and valid only during the
 * callback (copy what you keep). Outputs of hx_log_topic_list and
 * hx_log_topic_describe are owned by the caller and released with the matching
 * *_free function. */
#ifndef HX_LOG_H
#define HX_LOG_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hx_log hx_log_t;

typedef enum { HX_CODEC_NONE = 0, HX_CODEC_LZ4 = 1, HX_CODEC_ZSTD = 2 } hx_codec_t;
typedef enum { HX_LOG_CLEANUP_DELETE = 0, HX_LOG_CLEANUP_COMPACT = 1 } hx_log_cleanup_t;

#define HX_LOG_MAX_PARTITIONS 1024
#define HX_LOG_TOPIC_NAME_MAX 249
/* Timestamp value meaning "stamp with the wall clock at append". */
#define HX_LOG_TS_NOW (-1)

typedef struct hx_log_opts {
    hx_fsync_t fsync;            /* ALWAYS: fdatasync before append returns;
                                    INTERVAL: flusher thread every flush_interval_ms;
                                    NEVER: the OS decides */
    int flush_interval_ms;       /* default 100 */
    int64_t segment_bytes;       /* roll past this size; default 64 MiB, max 1 GiB */
    int64_t max_message_bytes;   /* per record (key+value+headers); default 1 MiB */
    int index_interval_bytes;    /* one index entry per this many log bytes; default 4096 */
} hx_log_opts_t;

void hx_log_opts_default(hx_log_opts_t *o);
/* Copies the event_log section of a loaded configuration. */
void hx_log_opts_from_config(hx_log_opts_t *o, const hx_config_t *cfg);

typedef struct hx_topic_opts {
    int partitions;              /* 1..1024, default 1 */
    int64_t retention_ms;        /* -1 = keep forever (default) */
    int64_t retention_bytes;     /* per partition; -1 = unlimited (default) */
    hx_codec_t compression;      /* default HX_CODEC_NONE */
    hx_log_cleanup_t cleanup;        /* default HX_LOG_CLEANUP_DELETE */
    int64_t max_message_bytes;   /* 0 = the log's max_message_bytes */
} hx_topic_opts_t;

void hx_topic_opts_default(hx_topic_opts_t *o);

/* "none" | "lz4" | "zstd" and "delete" | "compact" <-> enums. Parsers return
 * HX_EINVAL for unknown names. */
const char *hx_codec_name(hx_codec_t c);
int hx_codec_parse(const char *s, hx_codec_t *out);
const char *hx_log_cleanup_name(hx_log_cleanup_t c);
int hx_log_cleanup_parse(const char *s, hx_log_cleanup_t *out);

typedef struct hx_log_header {
    const void *name;
    size_t name_len;
    const void *value;
    size_t value_len;
} hx_log_header_t;

/* One record. On append: key may be NULL/empty (no key); value NULL with a
 * key is a tombstone for compacted topics (value NULL with value_len 0 is
 * otherwise just "no value"); timestamp_ms < 0 means now; offset is ignored.
 * On read: every field is filled; pointers borrow the read's buffers. */
typedef struct hx_log_record {
    const void *key;
    size_t key_len;
    const void *value;           /* NULL = tombstone/null value */
    size_t value_len;
    const hx_log_header_t *headers;
    size_t n_headers;
    int64_t timestamp_ms;
    int64_t offset;
} hx_log_record_t;

/* The size counted against max_message_bytes: key + value + header names and values. */
size_t hx_log_record_size(const hx_log_record_t *r);

/* Opens (creating if needed) the log in dir and recovers every partition:
 * torn tails are truncated (HX_WARN with bytes dropped), missing or
 * inconsistent indexes rebuilt. opts NULL = defaults. HX_EUNAVAIL if another
 * process holds the directory. */
int hx_log_open(const char *dir, const hx_log_opts_t *opts, hx_log_t **out, hx_err_t *err);
/* Stops the flusher, flushes (unless NEVER), writes the active segments'
 * indexes and frees everything. NULL is a no-op. */
void hx_log_close(hx_log_t *log);

/* --- topics --------------------------------------------------------------- */

/* Name must match [A-Za-z0-9._-]{1,249} and not be "." or "..". HX_EEXIST if
 * it exists, HX_EINVAL for bad names/options (message says which). */
int hx_log_topic_create(hx_log_t *log, const char *name, const hx_topic_opts_t *opts, hx_err_t *err);
/* Removes the topic and all its data. HX_ENOTFOUND if unknown. */
int hx_log_topic_delete(hx_log_t *log, const char *name, hx_err_t *err);
int hx_log_topic_exists(hx_log_t *log, const char *name);
/* Sorted topic names; free with hx_log_names_free(names, n). */
int hx_log_topic_list(hx_log_t *log, char ***names, size_t *n, hx_err_t *err);
void hx_log_names_free(char **names, size_t n);

typedef struct hx_log_partition_info {
    int partition;
    int64_t low_watermark;       /* first readable offset */
    int64_t high_watermark;      /* next offset to be assigned */
    int64_t durable_offset;      /* every offset below this is on stable storage */
    int64_t bytes;               /* bytes of all segment files */
    int segments;
} hx_log_partition_info_t;

typedef struct hx_log_topic_info {
    char name[HX_LOG_TOPIC_NAME_MAX + 1];
    hx_topic_opts_t opts;
    int n_partitions;
    hx_log_partition_info_t *partitions; /* n_partitions entries, owned by the info */
} hx_log_topic_info_t;

int hx_log_topic_describe(hx_log_t *log, const char *name, hx_log_topic_info_t *out, hx_err_t *err);
void hx_log_topic_info_free(hx_log_topic_info_t *info);
/* Cheap lookups for the broker's hot path. */
int hx_log_partition_count(hx_log_t *log, const char *topic, int *n, hx_err_t *err);
/* The partition count and the topic's own max_message_bytes (0 = the log's), without the describe's allocation and
 * partition locks. */
int hx_log_topic_limits(hx_log_t *log, const char *topic, int *nparts, int64_t *max_message_bytes, hx_err_t *err);
int hx_log_watermarks(hx_log_t *log, const char *topic, int partition, int64_t *low, int64_t *high,
                      hx_err_t *err);

/* --- records -------------------------------------------------------------- */

/* Appends n >= 1 records as one batch to one partition; *base_offset_out (may
 * be NULL) gets the offset of recs[0], the others follow densely. A record
 * over max_message_bytes fails the whole batch with HX_ETOOBIG and nothing is
 * written. Durability on return depends on the fsync policy. */
int hx_log_append(hx_log_t *log, const char *topic, int partition, const hx_log_record_t *recs, size_t n,
                  int64_t *base_offset_out, hx_err_t *err);

/* Called once per record in offset order. Return 0 to continue, > 0 to stop
 * after this record, < 0 to abort the read with that status. */
typedef int (*hx_log_read_cb)(void *ud, const hx_log_record_t *rec);

/* Delivers records with offset >= offset, up to max_records (<= 0: no limit)
 * and about max_bytes of record payload (0: no limit; at least one record is
 * always delivered when available). *next_offset (may be NULL) gets where
 * the next read should start. offset == high watermark delivers nothing;
 * offset below the low watermark or above the high watermark is HX_ERANGE
 * (message gives both watermarks so the caller can reset). */
int hx_log_read(hx_log_t *log, const char *topic, int partition, int64_t offset, size_t max_bytes,
                int max_records, hx_log_read_cb cb, void *ud, int64_t *next_offset, hx_err_t *err);

/* First offset whose record timestamp >= ts_ms; the high watermark if none. */
int hx_log_offset_for_time(hx_log_t *log, const char *topic, int partition, int64_t ts_ms, int64_t *offset,
                           hx_err_t *err);

/* Blocks until the high watermark is > offset (data to read) or timeout_ms
 * passes (HX_ETIMEOUT). Used by long-polling consumers. */
int hx_log_wait_data(hx_log_t *log, const char *topic, int partition, int64_t offset, int timeout_ms,
                     hx_err_t *err);

/* --- durability ----------------------------------------------------------- */

/* fdatasyncs every partition with unsynced appends (any policy). */
int hx_log_flush(hx_log_t *log, hx_err_t *err);
/* Blocks until offset is on stable storage (HX_ETIMEOUT after timeout_ms).
 * Under NEVER it flushes the partition itself. */
int hx_log_wait_durable(hx_log_t *log, const char *topic, int partition, int64_t offset, int timeout_ms,
                        hx_err_t *err);

/* --- maintenance ---------------------------------------------------------- */

/* For every delete-policy topic: rolls an active segment whose records are
 * all past retention_ms, then deletes whole closed segments from the oldest
 * while they are older than retention_ms (by max timestamp) or the partition
 * is over retention_bytes. *deleted_segments (may be NULL) gets the count. */
int hx_log_enforce_retention(hx_log_t *log, int *deleted_segments, hx_err_t *err);

/* Rewrites the closed segments of every partition of topic keeping only the
 * latest record per key (records without key are kept; tombstones and what
 * they shadow are removed). Offsets are preserved; watermarks unchanged.
 * *removed_records (may be NULL) gets how many records were dropped. */
int hx_log_compact(hx_log_t *log, const char *topic, int64_t *removed_records, hx_err_t *err);

/* --- stats ---------------------------------------------------------------- */

typedef struct hx_log_stats {
    uint64_t appended_records;   /* since open */
    uint64_t appended_bytes;     /* record payload bytes since open */
    uint64_t appended_batches;
    uint64_t fsyncs;
    int topics;
    int partitions;
    int64_t bytes;               /* bytes of all segment files */
    int segments;
} hx_log_stats_t;

void hx_log_stats(hx_log_t *log, hx_log_stats_t *out);

#endif
