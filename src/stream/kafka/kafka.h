/* Private to the kafka backend: the broker and consumer objects shared by its
 * files (broker_kafka.c lifecycle/health/metrics, produce.c, topics.c admin
 * and direct fetch, consumer.c groups membership, groups.c inspection). */
#ifndef HX_STREAM_KAFKA_H
#define HX_STREAM_KAFKA_H

#include "helix/hx_broker.h"
#include "helix/hx_kafka_mock.h"
#include "helix/hx_metrics.h"
#include "stream/backend.h"

#include <stdatomic.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>

/* What this process learned about a group from its own consumers: the
 * fallback for brokers without the group admin API (the mock cluster). */
typedef struct kf_commit {
    char *topic;
    int32_t partition;
    int64_t offset;
    struct kf_commit *next;
} kf_commit_t;

typedef struct kf_group {
    char *name;
    kf_commit_t *commits;
    struct kf_consumer *members; /* live local consumers, linked by next_member */
    struct kf_group *next;
} kf_group_t;

/* Topic configs this process created, for brokers without DescribeConfigs. */
typedef struct kf_topic_cfg {
    char *name;
    hx_topic_config_t tc;
    struct kf_topic_cfg *next;
} kf_topic_cfg_t;

/* Partition counts seen in metadata, so produce does not ask per call. */
typedef struct kf_meta {
    char *name;
    int partitions;
    uint64_t at_ns;
    struct kf_meta *next;
} kf_meta_t;

typedef struct kf {
    hx_config_t cfg;
    hx_metrics_t *metrics;
    hx_kafka_mock_t *mock;    /* owned when bootstrap is "mock[:N]" */
    char bootstrap[1024];
    rd_kafka_t *prod;         /* produce, metadata, watermarks, admin */
    pthread_t poller;         /* serves delivery reports and statistics */
    int stopping;
    uint64_t rr;              /* round-robin cursor for keyless records (produce.c) */

    pthread_mutex_t mu;       /* groups, topic_cfgs */
    kf_group_t *groups;
    kf_topic_cfg_t *topic_cfgs;
    kf_meta_t *meta;
    int admin_ok;             /* cluster answers admin requests: -1 unknown (kf_admin_supported) */
    uint64_t admin_checked_ns;
    int group_admin;          /* broker has the group admin API: -1 unknown, 0 no, 1 yes (groups.c) */

    pthread_mutex_t fetch_mu; /* one direct fetch at a time on fetcher */
    rd_kafka_t *fetcher;      /* group-less consumer for hx_broker_fetch */

    hx_counter_t *m_sent;
    hx_gauge_t *m_batch_avg;
    hx_gauge_t *m_lag;
} kf_t;

typedef struct kf_pos {
    char *topic;
    int32_t partition;
    int64_t next;             /* next offset poll returns; -1 unknown */
    /* A "latest" consumer's partition with no committed offset, not pinned
     * yet: its records are dropped until poll pins it. */
    int held;
} kf_pos_t;

typedef struct kf_consumer {
    kf_t *k;
    rd_kafka_t *rk;
    char *group;
    hx_consumer_opts_t opts;
    int max_poll;
    _Atomic uint64_t epoch;      /* assignments taken (hx_consumer_epoch) */
    int assigned_once;        /* the first ASSIGN was served */
    int pin_pending;          /* an ASSIGN left held positions for poll to pin */
    pthread_mutex_t mu;       /* pos (read by assignment() from other threads) */
    kf_pos_t *pos;            /* the current assignment */
    size_t n_pos;
    rd_kafka_message_t **stash; /* records polled while waiting to join */
    size_t n_stash;
    struct kf_consumer *next_member;
} kf_consumer_t;

#define KF_ADMIN_TIMEOUT_MS 5000

/* 1 when the cluster answers admin requests (CreateTopics, DeleteTopics,
 * DescribeConfigs). librdkafka's mock cluster does not, and every request
 * would wait out its timeout, so this is probed once and remembered. */
int kf_admin_supported(kf_t *k);

/* Maps a librdkafka error to an HX_E* code. */
int kf_code(rd_kafka_resp_err_t e);

/* Sets err from e with context ("producing to 'x'"). Returns the code. */
int kf_err(hx_err_t *err, rd_kafka_resp_err_t e, const char *what, const char *name);

/* Sets common client properties (bootstrap, client.id, logging) on conf. */
int kf_conf_base(kf_t *k, rd_kafka_conf_t *conf, const char *client_id, hx_err_t *err);
int kf_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, hx_err_t *err);

/* Partition count of topic (metadata, cached for a few seconds);
 * HX_ENOTFOUND if absent. kf_meta_forget drops the cached entry. */
int kf_topic_partitions(kf_t *k, const char *topic, int *out, hx_err_t *err);
void kf_meta_forget(kf_t *k, const char *topic);
int kf_unknown_topic(const char *topic, hx_err_t *err);
int kf_watermarks(kf_t *k, const char *topic, int32_t partition, int64_t *lo, int64_t *hi, hx_err_t *err);

/* Copies n messages into one hx_fetch_t (frees nothing). */
int kf_fetch_build(rd_kafka_message_t **ms, size_t n, hx_fetch_t *out, hx_err_t *err);

/* Lag metric for group/topic/partition from a committed offset. */
void kf_update_lag(kf_t *k, const char *group, const char *topic, int32_t partition, int64_t committed);

/* Local group registry (k->mu held by callers of the _locked ones). */
kf_group_t *kf_group_get_locked(kf_t *k, const char *name, int create);
void kf_group_record_commit(kf_t *k, const char *group, const char *topic, int32_t partition, int64_t offset);
void kf_groups_free(kf_t *k);

/* Ops of each file. */
int kf_produce_batch(void *impl, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx, hx_err_t *err);
int kf_produce_async(void *impl, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err);
int kf_flush(void *impl, int timeout_ms, hx_err_t *err);
void kf_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

int kf_topic_create(void *impl, const char *name, const hx_topic_config_t *tc, hx_err_t *err);
int kf_topic_delete(void *impl, const char *name, hx_err_t *err);
int kf_topic_list(void *impl, hx_name_list_t *out, hx_err_t *err);
int kf_topic_describe(void *impl, const char *name, hx_topic_info_t *out, hx_err_t *err);
int kf_fetch(void *impl, const char *topic, int32_t partition, int64_t offset, int max_records, size_t max_bytes,
             hx_fetch_t *out, hx_err_t *err);
int kf_offset_for_time(void *impl, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                       hx_err_t *err);

int kf_group_list(void *impl, hx_name_list_t *out, hx_err_t *err);
int kf_group_describe(void *impl, const char *group_id, hx_group_info_t *out, hx_err_t *err);

int kf_consumer_new(void *impl, const char *group_id, const char *const *topics, size_t n_topics,
                    const hx_consumer_opts_t *opts, void **cimpl, hx_err_t *err);
void kf_consumer_close(void *cimpl);
int kf_consumer_poll(void *cimpl, int timeout_ms, hx_fetch_t *out, hx_err_t *err);
int kf_consumer_commit(void *cimpl, hx_err_t *err);
int kf_consumer_commit_offset(void *cimpl, const char *topic, int32_t partition, int64_t next_offset, hx_err_t *err);
int kf_consumer_seek(void *cimpl, const char *topic, int32_t partition, int64_t offset, hx_err_t *err);
int kf_consumer_seek_time(void *cimpl, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err);
int kf_consumer_assignment(void *cimpl, hx_assignment_t **out, size_t *n, hx_err_t *err);
uint64_t kf_consumer_epoch(void *cimpl);

#endif
