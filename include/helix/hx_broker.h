/* The broker: the one interface every Helix subsystem produces to and consumes
 * from. Two backends implement it, chosen by `backends.events` in the config:
 *   embedded  the durable partitioned log of src/log (one process owns the dir)
 *   kafka     Apache Kafka through librdkafka
 * Code above this header never knows which one runs.
 *
 * Ownership rules:
 *  - Inputs (hx_msg_t fields, names, option structs) are borrowed for the call;
 *    the broker copies what it keeps.
 *  - Outputs that own memory come in a struct with a matching *_free():
 *    hx_fetch_t (records of a fetch or poll), hx_topic_info_t, hx_group_info_t,
 *    hx_name_list_t. Records inside an hx_fetch_t point into memory owned by it.
 *  - hx_broker_t and hx_consumer_t are thread-safe unless noted; a consumer is
 *    polled by one thread at a time. */
#ifndef HX_BROKER_H
#define HX_BROKER_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hx_broker hx_broker_t;
typedef struct hx_consumer hx_consumer_t;
typedef struct hx_metrics hx_metrics_t; /* hx_metrics.h; may be NULL everywhere */

#define HX_TOPIC_NAME_MAX 249

/* ---- records ------------------------------------------------------------ */

typedef struct hx_header {
    const char *name;          /* NUL-terminated */
    const void *value;
    size_t value_len;
} hx_header_t;

typedef struct hx_msg {
    const char *topic;
    int32_t partition;         /* produce: -1 = hash(key) mod N, round-robin when no key */
    int64_t offset;            /* set on consume; ignored on produce */
    int64_t timestamp_ms;      /* produce: 0 = now */
    const void *key;           /* may be NULL (key_len 0) */
    size_t key_len;
    const void *value;         /* NULL with a key = tombstone on compacted topics */
    size_t value_len;
    const hx_header_t *headers;
    size_t header_count;
} hx_msg_t;

/* Where a produced record landed. */
typedef struct hx_delivery {
    int32_t partition;
    int64_t offset;
    int status;                /* 0 or HX_E* for this record */
} hx_delivery_t;

/* Records returned by a fetch or a poll; owns every byte its msgs point to. */
typedef struct hx_fetch {
    hx_msg_t *msgs;
    size_t count;
    void *owner_;              /* backend storage; do not touch */
} hx_fetch_t;

void hx_fetch_free(hx_fetch_t *f);

/* ---- lifecycle ---------------------------------------------------------- */

/* Opens the backend named by cfg->backends.events. The embedded backend keeps
 * its log under <cfg->node.data_dir>/log and takes an exclusive lock on it;
 * the kafka backend connects to cfg->kafka.bootstrap_servers. Metrics
 * (kafka_producer_record_send_total, kafka_producer_batch_size_avg,
 * kafka_consumer_lag_records, log bytes and segments) go to metrics if not NULL. */
int hx_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, hx_broker_t **out, hx_err_t *err);

/* Flushes pending produces, then frees everything. NULL is a no-op. */
void hx_broker_close(hx_broker_t *b);

/* "embedded" or "kafka". */
const char *hx_broker_backend(const hx_broker_t *b);

/* Real check of the backend for /v1/bigdata/health, the reason in detail:
 * 0 healthy; HX_EUNAVAIL: Kafka unreachable (the node is degraded, producers
 * retry); HX_EIO: the embedded log's directory is not writable (unhealthy). */
int hx_broker_health(hx_broker_t *b, char *detail, size_t detail_len);

/* ---- topics ------------------------------------------------------------- */

typedef enum { HX_CLEANUP_DELETE = 0, HX_CLEANUP_COMPACT } hx_cleanup_t;

typedef struct hx_topic_config {
    int partitions;            /* 1..1024 */
    int64_t retention_ms;      /* -1 = forever */
    int64_t retention_bytes;   /* per partition, -1 = unlimited */
    char compression[16];      /* none | lz4 | zstd (kafka also gzip, snappy) */
    hx_cleanup_t cleanup;
    int64_t max_message_bytes; /* 0 = the broker default */
} hx_topic_config_t;

/* Defaults: 1 partition, 7 days, unlimited bytes, lz4, delete, broker max. */
void hx_topic_config_defaults(hx_topic_config_t *tc);

typedef struct hx_partition_info {
    int32_t partition;
    int64_t low_watermark;     /* first readable offset */
    int64_t high_watermark;    /* next offset to be written */
    int64_t bytes;             /* -1 when the backend cannot tell */
    int32_t segments;          /* -1 when the backend cannot tell */
} hx_partition_info_t;

typedef struct hx_topic_info {
    char name[HX_TOPIC_NAME_MAX + 1];
    hx_topic_config_t config;
    int config_known;          /* 0: the broker would not tell (mock cluster); config holds defaults */
    hx_partition_info_t *partitions; /* config.partitions entries */
} hx_topic_info_t;

void hx_topic_info_free(hx_topic_info_t *ti);

typedef struct hx_name_list {
    char **names;
    size_t count;
} hx_name_list_t;

void hx_name_list_free(hx_name_list_t *l);

int hx_broker_topic_create(hx_broker_t *b, const char *name, const hx_topic_config_t *tc, hx_err_t *err);
int hx_broker_topic_delete(hx_broker_t *b, const char *name, hx_err_t *err);
int hx_broker_topic_list(hx_broker_t *b, hx_name_list_t *out, hx_err_t *err);
int hx_broker_topic_describe(hx_broker_t *b, const char *name, hx_topic_info_t *out, hx_err_t *err);
/* What a producer checks per request: the partition count and max_message_bytes (0 = the broker default), as
 * topic_describe's config reports them but without its watermarks (the embedded log reads no partition state). */
int hx_broker_topic_limits(hx_broker_t *b, const char *name, int *partitions, int64_t *max_message_bytes,
                           hx_err_t *err);

/* Creates every topic of DESIGN.md (hx_topics.h) that does not exist yet. */
int hx_broker_ensure_builtin_topics(hx_broker_t *b, hx_err_t *err);

/* ---- produce ------------------------------------------------------------ */

/* Produces n records and returns once every one is acknowledged (durable per
 * the fsync policy on embedded; acks on kafka). out[i] (may be NULL) receives
 * each record's partition and offset. Records pass through the producer's
 * batching (batch_size bytes / linger_ms), so concurrent callers share
 * batches. Returns the first failure; an oversized record fails alone with
 * HX_ETOOBIG and an unknown topic with HX_ENOTFOUND. */
int hx_broker_produce(hx_broker_t *b, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err);

/* Asynchronous produce: cb runs once per record, from a broker thread, after
 * it was acknowledged or failed. The record is copied before return. */
typedef void (*hx_delivery_cb)(void *ctx, const hx_delivery_t *d, const hx_err_t *err);
int hx_broker_produce_async(hx_broker_t *b, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err);

/* Pipelined produce of a batch: the n records are copied and queued in order
 * before this returns, so a later call for the same key lands after them,
 * and the caller can queue more without waiting (a producer keeps several
 * batches in flight; a server answers its client from cb). cb runs exactly
 * once, when every record is acknowledged or failed: d holds the n
 * deliveries (valid during cb only), rc the first failure (0 if none), err
 * its message (NULL when rc is 0). It runs on a broker thread, or on the
 * calling thread before this returns (the embedded log appends inline), so
 * it must not block nor take a lock the caller holds around this call.
 * A non-zero return means nothing was queued and cb never runs. */
typedef void (*hx_batch_cb)(void *ctx, const hx_delivery_t *d, size_t n, int rc, const hx_err_t *err);
int hx_broker_produce_batch(hx_broker_t *b, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx,
                            hx_err_t *err);

/* Waits until every async record produced so far is acknowledged or failed. */
int hx_broker_flush(hx_broker_t *b, int timeout_ms, hx_err_t *err);

/* ---- direct fetch (no group, no commits) -------------------------------- */

/* Up to max_records records (and about max_bytes) of topic/partition from
 * offset on. offset == high watermark gives 0 records; below the low
 * watermark gives HX_ERANGE naming the low watermark. */
int hx_broker_fetch(hx_broker_t *b, const char *topic, int32_t partition, int64_t offset, int max_records,
                    size_t max_bytes, hx_fetch_t *out, hx_err_t *err);

/* First offset whose timestamp is >= ts_ms (the high watermark if none). */
int hx_broker_offset_for_time(hx_broker_t *b, const char *topic, int32_t partition, int64_t ts_ms,
                              int64_t *offset, hx_err_t *err);

/* ---- consumer groups ---------------------------------------------------- */

typedef enum { HX_RESET_EARLIEST = 0, HX_RESET_LATEST } hx_offset_reset_t;

typedef struct hx_consumer_opts {
    hx_offset_reset_t auto_offset_reset; /* where to start without a committed offset */
    int max_poll_records;                /* 0 = cfg kafka.consumer.max_poll_records */
    int session_timeout_ms;              /* a member silent this long leaves the group; 0 = 10000 */
    const char *client_id;               /* label for group listings; may be NULL */
    /* Embedded log: once a poll has records, it waits this long for more
     * (up to max_poll_records) before returning, so a background consumer
     * behind a busy producer reads, decodes and commits in batches instead
     * of waking for every record. 0 = return at once. (Kafka clients batch
     * by their own fetch settings.) */
    int fetch_wait_ms;
} hx_consumer_opts_t;

void hx_consumer_opts_defaults(hx_consumer_opts_t *o);

/* Joins group_id and subscribes to topics; partitions are assigned across the
 * group's live members (range assignment over sorted member ids) and
 * reassigned when a member joins or leaves. */
int hx_consumer_new(hx_broker_t *b, const char *group_id, const char *const *topics, size_t n_topics,
                    const hx_consumer_opts_t *opts, hx_consumer_t **out, hx_err_t *err);

/* Leaves the group (triggers a rebalance) and frees c. NULL is a no-op. */
void hx_consumer_close(hx_consumer_t *c);

/* Next records from the assigned partitions, waiting up to timeout_ms when
 * none are ready. Position advances past what is returned; nothing is
 * committed. */
int hx_consumer_poll(hx_consumer_t *c, int timeout_ms, hx_fetch_t *out, hx_err_t *err);

/* Commits the consumer's current positions (what poll returned) for every
 * assigned partition. */
int hx_consumer_commit(hx_consumer_t *c, hx_err_t *err);

/* Commits next_offset (the offset of the next record to read) for one partition. */
int hx_consumer_commit_offset(hx_consumer_t *c, const char *topic, int32_t partition, int64_t next_offset,
                              hx_err_t *err);

/* Moves the position of one assigned partition. */
int hx_consumer_seek(hx_consumer_t *c, const char *topic, int32_t partition, int64_t offset, hx_err_t *err);
int hx_consumer_seek_time(hx_consumer_t *c, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err);
#define HX_OFFSET_BEGINNING (-2)
#define HX_OFFSET_END (-1)
/* hx_consumer_seek with HX_OFFSET_BEGINNING / HX_OFFSET_END seeks to the
 * low / high watermark. */

typedef struct hx_assignment {
    char topic[HX_TOPIC_NAME_MAX + 1];
    int32_t partition;
} hx_assignment_t;

/* Current assignment; *out is malloc'd (caller frees), *n entries. */
int hx_consumer_assignment(hx_consumer_t *c, hx_assignment_t **out, size_t *n, hx_err_t *err);

/* How many assignments c has been given (starts at 0, grows with every
 * rebalance it takes part in): a caller that must know whether another
 * member may have read a partition since its last poll (even one it holds
 * again now) compares it between polls. */
uint64_t hx_consumer_epoch(hx_consumer_t *c);

/* Handler-driven consumption with the dead-letter path: handler runs per
 * record; on failure the record is retried with backoff (retry_backoff_ms,
 * doubling, capped at retry_backoff_max_ms) up to max_attempts tries in all,
 * then written to helixagent.dlq with headers original_topic,
 * original_partition, original_offset, retry_count, reason, next_retry, and
 * the offset is committed past it. Offsets are committed only after the
 * handler succeeded or the record went to the DLQ. Runs until *stop becomes
 * non-zero (checked between polls) or an unrecoverable error. */
typedef int (*hx_record_handler)(void *ctx, const hx_msg_t *msg, hx_err_t *err);

typedef struct hx_dlq_policy {
    int max_attempts;          /* 3 */
    int retry_backoff_ms;      /* 1000 */
    int retry_backoff_max_ms;  /* 30000 */
} hx_dlq_policy_t;

void hx_dlq_policy_defaults(hx_dlq_policy_t *p);

int hx_consumer_run(hx_consumer_t *c, hx_record_handler handler, void *ctx, const hx_dlq_policy_t *policy,
                    volatile int *stop, hx_err_t *err);

/* ---- group inspection --------------------------------------------------- */

typedef struct hx_group_member {
    char member_id[128];
    char client_id[128];
    hx_assignment_t *assigned;
    size_t n_assigned;
} hx_group_member_t;

typedef struct hx_group_offset {
    char topic[HX_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int64_t committed;         /* -1 when nothing committed */
    int64_t high_watermark;
    int64_t lag;               /* high - committed (high - low when nothing committed) */
} hx_group_offset_t;

typedef struct hx_group_info {
    char group_id[256];
    char state[32];            /* Stable, Empty, ... */
    int32_t generation;
    hx_group_member_t *members;
    size_t n_members;
    hx_group_offset_t *offsets;
    size_t n_offsets;
} hx_group_info_t;

void hx_group_info_free(hx_group_info_t *gi);

int hx_broker_group_list(hx_broker_t *b, hx_name_list_t *out, hx_err_t *err);
int hx_broker_group_describe(hx_broker_t *b, const char *group_id, hx_group_info_t *out, hx_err_t *err);

#endif
