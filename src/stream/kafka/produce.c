/* Producing through librdkafka. Every record carries an op as its opaque;
 * the delivery report (served by the poller thread) resolves it: a waiting
 * hx_broker_produce call is counted down, an async callback is invoked. */
#include "stream/kafka/kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct kf_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    hx_delivery_t *out;
    int first_rc;
    hx_err_t first_err;
} kf_wait_t;

typedef struct kf_op {
    kf_wait_t *w;        /* sync produce, or NULL */
    size_t idx;
    hx_delivery_cb cb;   /* async produce */
    void *ctx;
} kf_op_t;

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
    if (op->w) {
        kf_wait_t *w = op->w;
        pthread_mutex_lock(&w->mu);
        if (w->out)
            w->out[op->idx] = d;
        if (m->err && !w->first_rc) {
            w->first_rc = d.status;
            w->first_err = e;
        }
        if (--w->pending == 0)
            pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    } else if (op->cb) {
        op->cb(op->ctx, &d, m->err ? &e : NULL);
    }
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

int kf_produce(void *impl, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    kf_wait_t w = {.out = out};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = HX_OK;
    for (size_t i = 0; i < n; i++) {
        hx_err_t e = {0};
        int parts = 0;
        int r = check_partition(k, &msgs[i], &parts, &e); /* cached metadata */
        kf_op_t *op = NULL;
        if (!r && !(op = calloc(1, sizeof *op)))
            r = hx_err_set(&e, HX_ENOMEM, "out of memory producing");
        if (!r) {
            op->w = &w;
            op->idx = i;
            pthread_mutex_lock(&w.mu);
            w.pending++;
            pthread_mutex_unlock(&w.mu);
            if ((r = enqueue(k, &msgs[i], parts, op, &e))) {
                free(op);
                pthread_mutex_lock(&w.mu);
                w.pending--;
                pthread_mutex_unlock(&w.mu);
            }
        }
        if (r) {
            if (out)
                out[i] = (hx_delivery_t){msgs[i].partition, -1, r};
            if (!rc) {
                rc = r;
                if (err)
                    *err = e;
            }
        }
    }
    pthread_mutex_lock(&w.mu);
    while (w.pending)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (!rc && w.first_rc) {
        rc = w.first_rc;
        if (err)
            *err = w.first_err;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
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
