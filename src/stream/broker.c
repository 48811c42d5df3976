/* Backend dispatch for hx_broker.h, plus the pieces every backend shares. */
#include "stream/backend.h"
#include "helix/hx_kafka_mock.h"
#include "helix/hx_topics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hx_broker {
    const hx_broker_ops_t *ops;
    void *impl;
};

struct hx_consumer {
    hx_broker_t *broker;
    void *impl;
};

int hx_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, hx_broker_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_broker_t *b = calloc(1, sizeof *b);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the broker");
    int rc;
    if (strcmp(cfg->backends.events, "embedded") == 0)
        rc = hx_embedded_broker_open(cfg, metrics, &b->ops, &b->impl, err);
    else if (strcmp(cfg->backends.events, "kafka") == 0)
        rc = hx_kafka_broker_open(cfg, metrics, &b->ops, &b->impl, err);
    else
        rc = hx_err_set(err, HX_ECONFIG, "backends.events: unknown backend '%s' (use embedded or kafka)",
                        cfg->backends.events);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    return HX_OK;
}

void hx_broker_close(hx_broker_t *b)
{
    if (!b)
        return;
    b->ops->close(b->impl);
    free(b);
}

const char *hx_broker_backend(const hx_broker_t *b) { return b->ops->name; }

hx_kafka_mock_t *hx_broker_kafka_mock(hx_broker_t *b)
{
    return strcmp(b->ops->name, "kafka") == 0 ? kf_mock_of(b->impl) : NULL;
}

int hx_broker_health(hx_broker_t *b, char *detail, size_t len) { return b->ops->health(b->impl, detail, len); }

int hx_broker_topic_create(hx_broker_t *b, const char *name, const hx_topic_config_t *tc, hx_err_t *err)
{
    return b->ops->topic_create(b->impl, name, tc, err);
}

int hx_broker_topic_delete(hx_broker_t *b, const char *name, hx_err_t *err)
{
    return b->ops->topic_delete(b->impl, name, err);
}

int hx_broker_topic_list(hx_broker_t *b, hx_name_list_t *out, hx_err_t *err)
{
    return b->ops->topic_list(b->impl, out, err);
}

int hx_broker_topic_describe(hx_broker_t *b, const char *name, hx_topic_info_t *out, hx_err_t *err)
{
    return b->ops->topic_describe(b->impl, name, out, err);
}

int hx_broker_topic_limits(hx_broker_t *b, const char *name, int *partitions, int64_t *max_message_bytes,
                           hx_err_t *err)
{
    if (b->ops->topic_limits)
        return b->ops->topic_limits(b->impl, name, partitions, max_message_bytes, err);
    hx_topic_info_t ti;
    int rc = b->ops->topic_describe(b->impl, name, &ti, err);
    if (rc)
        return rc;
    *partitions = ti.config.partitions;
    *max_message_bytes = ti.config.max_message_bytes;
    hx_topic_info_free(&ti);
    return HX_OK;
}

/* A synchronous produce over a pipelined backend: queue, then wait for cb. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    hx_delivery_t *out;
    hx_err_t *err;
} produce_wait_t;

static void produce_wait_cb(void *ctx, const hx_delivery_t *d, size_t n, int rc, const hx_err_t *err)
{
    produce_wait_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (w->out)
        memcpy(w->out, d, n * sizeof *d);
    w->rc = rc;
    if (rc && w->err && err)
        *w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int hx_broker_produce(hx_broker_t *b, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err)
{
    if (b->ops->produce)
        return b->ops->produce(b->impl, msgs, n, out, err);
    if (n == 0)
        return HX_OK;
    produce_wait_t w = {.out = out, .err = err};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = b->ops->produce_batch(b->impl, msgs, n, produce_wait_cb, &w, err);
    if (!rc) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.rc;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

int hx_broker_produce_batch(hx_broker_t *b, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx,
                            hx_err_t *err)
{
    if (n == 0) {
        cb(ctx, NULL, 0, HX_OK, NULL);
        return HX_OK;
    }
    return b->ops->produce_batch(b->impl, msgs, n, cb, ctx, err);
}

int hx_broker_produce_async(hx_broker_t *b, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err)
{
    return b->ops->produce_async(b->impl, msg, cb, ctx, err);
}

int hx_broker_flush(hx_broker_t *b, int timeout_ms, hx_err_t *err) { return b->ops->flush(b->impl, timeout_ms, err); }

int hx_broker_fetch(hx_broker_t *b, const char *topic, int32_t partition, int64_t offset, int max_records,
                    size_t max_bytes, hx_fetch_t *out, hx_err_t *err)
{
    return b->ops->fetch(b->impl, topic, partition, offset, max_records, max_bytes, out, err);
}

int hx_broker_offset_for_time(hx_broker_t *b, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                              hx_err_t *err)
{
    return b->ops->offset_for_time(b->impl, topic, partition, ts_ms, offset, err);
}

int hx_broker_group_list(hx_broker_t *b, hx_name_list_t *out, hx_err_t *err)
{
    return b->ops->group_list(b->impl, out, err);
}

int hx_broker_group_describe(hx_broker_t *b, const char *group_id, hx_group_info_t *out, hx_err_t *err)
{
    return b->ops->group_describe(b->impl, group_id, out, err);
}

int hx_consumer_new(hx_broker_t *b, const char *group_id, const char *const *topics, size_t n_topics,
                    const hx_consumer_opts_t *opts, hx_consumer_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!group_id || !*group_id)
        return hx_err_set(err, HX_EINVAL, "a consumer group id is required");
    if (n_topics == 0)
        return hx_err_set(err, HX_EINVAL, "group '%s': subscribe to at least one topic", group_id);
    hx_consumer_opts_t def;
    if (!opts) {
        hx_consumer_opts_defaults(&def);
        opts = &def;
    }
    hx_consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        return hx_err_set(err, HX_ENOMEM, "out of memory creating a consumer");
    c->broker = b;
    int rc = b->ops->consumer_new(b->impl, group_id, topics, n_topics, opts, &c->impl, err);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return HX_OK;
}

void hx_consumer_close(hx_consumer_t *c)
{
    if (!c)
        return;
    c->broker->ops->consumer_close(c->impl);
    free(c);
}

hx_broker_t *hx_consumer_broker(hx_consumer_t *c) { return c->broker; }

int hx_consumer_poll(hx_consumer_t *c, int timeout_ms, hx_fetch_t *out, hx_err_t *err)
{
    return c->broker->ops->consumer_poll(c->impl, timeout_ms, out, err);
}

int hx_consumer_commit(hx_consumer_t *c, hx_err_t *err) { return c->broker->ops->consumer_commit(c->impl, err); }

int hx_consumer_commit_offset(hx_consumer_t *c, const char *topic, int32_t partition, int64_t next_offset,
                              hx_err_t *err)
{
    return c->broker->ops->consumer_commit_offset(c->impl, topic, partition, next_offset, err);
}

int hx_consumer_seek(hx_consumer_t *c, const char *topic, int32_t partition, int64_t offset, hx_err_t *err)
{
    return c->broker->ops->consumer_seek(c->impl, topic, partition, offset, err);
}

int hx_consumer_seek_time(hx_consumer_t *c, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err)
{
    return c->broker->ops->consumer_seek_time(c->impl, topic, partition, ts_ms, err);
}

int hx_consumer_assignment(hx_consumer_t *c, hx_assignment_t **out, size_t *n, hx_err_t *err)
{
    return c->broker->ops->consumer_assignment(c->impl, out, n, err);
}

uint64_t hx_consumer_epoch(hx_consumer_t *c)
{
    return c->broker->ops->consumer_epoch(c->impl);
}

void hx_topic_config_defaults(hx_topic_config_t *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->partitions = 1;
    tc->retention_ms = 7LL * 24 * 3600 * 1000;
    tc->retention_bytes = -1;
    strcpy(tc->compression, "lz4");
    tc->cleanup = HX_CLEANUP_DELETE;
}

void hx_consumer_opts_defaults(hx_consumer_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->auto_offset_reset = HX_RESET_EARLIEST;
    o->session_timeout_ms = 10000;
}

void hx_dlq_policy_defaults(hx_dlq_policy_t *p)
{
    p->max_attempts = 3;
    p->retry_backoff_ms = 1000;
    p->retry_backoff_max_ms = 30000;
}

void hx_fetch_free(hx_fetch_t *f)
{
    if (!f)
        return;
    /* Backends allocate the msgs array and one owner_ block holding every byte
     * the msgs point to, both with malloc. */
    free(f->msgs);
    free(f->owner_);
    f->msgs = NULL;
    f->owner_ = NULL;
    f->count = 0;
}

void hx_topic_info_free(hx_topic_info_t *ti)
{
    if (!ti)
        return;
    free(ti->partitions);
    ti->partitions = NULL;
}

void hx_name_list_free(hx_name_list_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

void hx_group_info_free(hx_group_info_t *gi)
{
    if (!gi)
        return;
    for (size_t i = 0; i < gi->n_members; i++)
        free(gi->members[i].assigned);
    free(gi->members);
    free(gi->offsets);
    gi->members = NULL;
    gi->offsets = NULL;
    gi->n_members = gi->n_offsets = 0;
}

int hx_broker_ensure_builtin_topics(hx_broker_t *b, hx_err_t *err)
{
    /* One listing instead of a describe per topic: describe reads configs,
     * which costs a round trip per topic on Kafka. */
    hx_name_list_t have;
    int rc = hx_broker_topic_list(b, &have, err);
    if (rc)
        return hx_err_wrap(err, "listing topics before creating the built-in ones");
    size_t n;
    const hx_topic_spec_t *spec = hx_topics_builtin(&n);
    for (size_t i = 0; i < n && !rc; i++) {
        int exists = 0;
        for (size_t j = 0; j < have.count && !exists; j++)
            exists = strcmp(have.names[j], spec[i].name) == 0;
        if (exists)
            continue;
        hx_topic_config_t tc;
        hx_topic_config_defaults(&tc);
        tc.partitions = spec[i].partitions;
        tc.retention_ms = spec[i].retention_ms;
        snprintf(tc.compression, sizeof tc.compression, "%s", spec[i].compression);
        rc = hx_broker_topic_create(b, spec[i].name, &tc, err);
        if (rc == HX_EEXIST)
            rc = HX_OK;
        else if (rc)
            hx_err_wrap(err, "creating built-in topic %s", spec[i].name);
    }
    hx_name_list_free(&have);
    return rc;
}
