/* Private: what a broker backend implements. src/stream/broker.c dispatches
 * the public hx_broker_* / hx_consumer_* calls to these ops; the generic parts
 * (defaults, frees, the retry/DLQ loop) live above them and are shared. */
#ifndef HX_STREAM_BACKEND_H
#define HX_STREAM_BACKEND_H

#include "helix/hx_broker.h"

typedef struct hx_broker_ops {
    const char *name;
    void (*close)(void *impl);
    int (*health)(void *impl, char *detail, size_t len);
    int (*topic_create)(void *impl, const char *name, const hx_topic_config_t *tc, hx_err_t *err);
    int (*topic_delete)(void *impl, const char *name, hx_err_t *err);
    int (*topic_list)(void *impl, hx_name_list_t *out, hx_err_t *err);
    int (*topic_describe)(void *impl, const char *name, hx_topic_info_t *out, hx_err_t *err);
    /* topic_limits may be NULL: hx_broker_topic_limits then takes them from topic_describe. */
    int (*topic_limits)(void *impl, const char *name, int *partitions, int64_t *max_message_bytes, hx_err_t *err);
    /* produce may be NULL: hx_broker_produce then queues with produce_batch and waits. */
    int (*produce)(void *impl, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err);
    int (*produce_batch)(void *impl, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx, hx_err_t *err);
    int (*produce_async)(void *impl, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err);
    int (*flush)(void *impl, int timeout_ms, hx_err_t *err);
    int (*fetch)(void *impl, const char *topic, int32_t partition, int64_t offset, int max_records, size_t max_bytes,
                 hx_fetch_t *out, hx_err_t *err);
    int (*offset_for_time)(void *impl, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                           hx_err_t *err);
    int (*group_list)(void *impl, hx_name_list_t *out, hx_err_t *err);
    int (*group_describe)(void *impl, const char *group_id, hx_group_info_t *out, hx_err_t *err);

    /* Consumers: the backend returns its own consumer object (cimpl). */
    int (*consumer_new)(void *impl, const char *group_id, const char *const *topics, size_t n_topics,
                        const hx_consumer_opts_t *opts, void **cimpl, hx_err_t *err);
    void (*consumer_close)(void *cimpl);
    int (*consumer_poll)(void *cimpl, int timeout_ms, hx_fetch_t *out, hx_err_t *err);
    int (*consumer_commit)(void *cimpl, hx_err_t *err);
    int (*consumer_commit_offset)(void *cimpl, const char *topic, int32_t partition, int64_t next_offset,
                                  hx_err_t *err);
    int (*consumer_seek)(void *cimpl, const char *topic, int32_t partition, int64_t offset, hx_err_t *err);
    int (*consumer_seek_time)(void *cimpl, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err);
    int (*consumer_assignment)(void *cimpl, hx_assignment_t **out, size_t *n, hx_err_t *err);
    uint64_t (*consumer_epoch)(void *cimpl);
} hx_broker_ops_t;

/* Each backend's constructor: fills *ops and *impl. */
int hx_embedded_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, const hx_broker_ops_t **ops,
                            void **impl, hx_err_t *err);

int hx_kafka_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, const hx_broker_ops_t **ops, void **impl,
                         hx_err_t *err);
struct hx_kafka_mock *kf_mock_of(void *impl);

/* The broker behind a consumer, for the generic DLQ loop (it produces to the DLQ). */
hx_broker_t *hx_consumer_broker(hx_consumer_t *c);

#endif
