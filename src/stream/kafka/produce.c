/* Producing through librdkafka. Every record carries an op as its opaque;
 * the delivery report (served by the poller thread) resolves it: a record of
 * a batch fills its slot and the last one calls the batch's callback, a
 * single async record calls its own. Nothing here waits for a delivery, so
 * a producer keeps as many batches in flight as librdkafka's queue holds;
 * hx_broker_produce waits on top of this (src/stream/broker.c). */
#include "stream/kafka/kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct kf_batch kf_batch_t;

typedef struct kf_op {
    kf_batch_t *bt;      /* a record of a batch, or NULL */
    size_t idx;
    hx_delivery_cb cb;   /* single async produce */
    void *ctx;
} kf_op_t;

/* One hx_broker_produce_batch call: its ops and deliveries in one block. */
struct kf_batch {
    size_t n;
    size_t pending;      /* records not yet resolved + 1 while queueing (atomic) */
    hx_batch_cb cb;
    void *ctx;
    pthread_mutex_t err_mu; /* first_rc/first_err: the poller and the queueing thread */
    int first_rc;
    hx_err_t first_err;
    hx_delivery_t *dl;
    kf_op_t ops[];
};

static void batch_fail(kf_batch_t *bt, int rc, const hx_err_t *e)
{
    pthread_mutex_lock(&bt->err_mu);
    if (!bt->first_rc) {
        bt->first_rc = rc;
        bt->first_err = *e;
    }
    pthread_mutex_unlock(&bt->err_mu);
}

static void batch_release(kf_batch_t *bt)
{
    if (__atomic_sub_fetch(&bt->pending, 1, __ATOMIC_ACQ_REL))
        return;
    bt->cb(bt->ctx, bt->dl, bt->n, bt->first_rc, bt->first_rc ? &bt->first_err : NULL);
    pthread_mutex_destroy(&bt->err_mu);
    free(bt);
}

/* The partition is chosen here, not by librdkafka's partitioner: the
 * embedded log's key hash, so a key lands on the same partition number on
 * both backends (per-key order), and an exact round-robin for keyless ones. */
static int32_t pick_partition(kf_t *k, const hx_msg_t *m, int parts)
{
    if (m->partition >= 0)
        return m->partition;
    if (m->key && m->key_len)
        return (int32_t)hx_partition_for_key(m->key, m->key_len, (uint32_t)parts);
    return (int32_t)(__atomic_fetch_add(&k->rr, 1, __ATOMIC_RELAXED) % (uint64_t)parts);
}

void kf_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kf_t *k = opaque;
    kf_op_t *op = m->_private;
    hx_delivery_t d = {m->partition, m->err ? -1 : m->offset, kf_code(m->err)};
    hx_err_t e = {0};
    if (m->err)
        kf_err(&e, m->err, "delivery to topic", rd_kafka_topic_name(m->rkt));
    else if (k->m_sent)
        hx_counter_inc_labels(k->m_sent, (const char *[]){"kafka", rd_kafka_topic_name(m->rkt)}, 1);
    if (!op)
        return;
    if (op->bt) {
        kf_batch_t *bt = op->bt;
        bt->dl[op->idx] = d;
        if (m->err)
            batch_fail(bt, d.status, &e);
        batch_release(bt);
        return;
    }
    if (op->cb)
        op->cb(op->ctx, &d, m->err ? &e : NULL);
    free(op);
}

static int check_partition(kf_t *k, const hx_msg_t *m, int *parts_out, hx_err_t *err)
{
    int parts;
    int rc = kf_topic_partitions(k, m->topic, &parts, err);
    if (rc)
        return rc;
    if (m->partition >= parts)
        return hx_err_set(err, HX_EINVAL, "partition %d does not exist: topic '%s' has %d partition(s)",
                          m->partition, m->topic, parts);
    *parts_out = parts;
    return HX_OK;
}

/* Enqueues one record; waits (bounded) while librdkafka's queue is full so
 * buffer_memory acts as back-pressure, like Kafka's max.block.ms. */
static int enqueue(kf_t *k, const hx_msg_t *m, int parts, kf_op_t *op, hx_err_t *err)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (m->header_count) {
        hdrs = rd_kafka_headers_new(m->header_count);
        for (size_t i = 0; i < m->header_count; i++)
            rd_kafka_header_add(hdrs, m->headers[i].name, -1, m->headers[i].value, (ssize_t)m->headers[i].value_len);
    }
    uint64_t deadline = hx_mono_ns() + 60ull * 1000000000ull;
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(k->prod, RD_KAFKA_V_TOPIC(m->topic),
                              RD_KAFKA_V_PARTITION(pick_partition(k, m, parts)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY((void *)m->key, m->key ? m->key_len : 0),
                              RD_KAFKA_V_VALUE((void *)m->value, m->value ? m->value_len : 0),
                              RD_KAFKA_V_TIMESTAMP(m->timestamp_ms > 0 ? m->timestamp_ms : 0),
                              RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(op), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || hx_mono_ns() > deadline)
            break;
        hx_sleep_ms(1);
    }
    if (e) {
        /* On failure the headers stay ours. */
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            return hx_err_set(err, HX_ETOOBIG, "record of %zu bytes is over the %lld-byte limit for topic '%s'",
                              m->key_len + m->value_len, (long long)k->cfg.event_log.max_message_bytes, m->topic);
        return kf_err(err, e, "producing to topic", m->topic);
    }
    return HX_OK;
}

int kf_produce_batch(void *impl, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx, hx_err_t *err)
{
    kf_t *k = impl;
    size_t hdr = (sizeof(kf_batch_t) + n * sizeof(kf_op_t) + 15) & ~(size_t)15;
    kf_batch_t *bt = malloc(hdr + n * (sizeof(hx_delivery_t) + sizeof(int)));
    if (!bt)
        return hx_err_set(err, HX_ENOMEM, "out of memory producing %zu records", n);
    bt->dl = (hx_delivery_t *)((char *)bt + hdr);
    int *parts = (int *)(bt->dl + n);
    /* Every record's topic and partition are checked (cached metadata)
     * before any is queued, so a bad one fails the call with nothing written. */
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (i > 0 && strcmp(msgs[i].topic, msgs[i - 1].topic) == 0 && msgs[i].partition < parts[i - 1])
            parts[i] = parts[i - 1];
        else if ((rc = check_partition(k, &msgs[i], &parts[i], err))) {
            free(bt);
            return rc;
        }
    }
    bt->n = n;
    bt->pending = n + 1;
    bt->cb = cb;
    bt->ctx = ctx;
    bt->first_rc = 0;
    pthread_mutex_init(&bt->err_mu, NULL);
    size_t queued = 0;
    for (size_t i = 0; i < n; i++) {
        bt->ops[i] = (kf_op_t){.bt = bt, .idx = i};
        hx_err_t e = {0};
        int r = enqueue(k, &msgs[i], parts[i], &bt->ops[i], &e);
        if (r) {
            bt->dl[i] = (hx_delivery_t){msgs[i].partition, -1, r};
            batch_fail(bt, r, &e);
            __atomic_sub_fetch(&bt->pending, 1, __ATOMIC_ACQ_REL);
        } else {
            queued++;
        }
    }
    if (!queued) {
        /* Not one record queued (the queue stayed full): the caller gets the
         * error now and cb never runs. */
        int rc = bt->first_rc;
        if (err)
            *err = bt->first_err;
        pthread_mutex_destroy(&bt->err_mu);
        free(bt);
        return rc;
    }
    batch_release(bt);
    return HX_OK;
}

int kf_produce_async(void *impl, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err)
{
    kf_t *k = impl;
    int parts = 0;
    int rc = check_partition(k, msg, &parts, err);
    if (rc)
        return rc;
    kf_op_t *op = calloc(1, sizeof *op);
    if (!op)
        return hx_err_set(err, HX_ENOMEM, "out of memory producing");
    op->cb = cb;
    op->ctx = ctx;
    if ((rc = enqueue(k, msg, parts, op, err)))
        free(op);
    return rc;
}

int kf_flush(void *impl, int timeout_ms, hx_err_t *err)
{
    kf_t *k = impl;
    rd_kafka_resp_err_t e = rd_kafka_flush(k->prod, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return hx_err_set(err, HX_ETIMEOUT, "kafka: %d record(s) still unacknowledged after %d ms",
                          rd_kafka_outq_len(k->prod), timeout_ms);
    return e ? kf_err(err, e, "flush", NULL) : HX_OK;
}
