/* Embedded broker: producing. A caller's batch goes straight to the log, one
 * append per partition per batch_size bytes; single async records wait in a
 * queue until batch_size bytes or linger_ms, then share one append. */
#include "stream/embedded/embedded.h"

#include "helix/hx_clock.h"
#include "helix/hx_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct emb_pending {
    hx_msg_t msg;                /* points into the copies below */
    char *topic;
    void *key, *value;
    hx_header_t *headers;
    hx_delivery_cb cb;
    void *ctx;
    size_t bytes;
    emb_pending_t *next;
};

/* Called with data_mu held. */
static void wake(emb_t *b, uint64_t bits)
{
    for (emb_waiter_t *w = b->waiters; w; w = w->next)
        if (w->mask & bits && !w->woken) {
            w->woken = 1;
            pthread_cond_signal(&w->cv);
        }
}

void emb_notify_data(emb_t *b)
{
    __atomic_add_fetch(&b->data_seq, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&b->data_mu);
    wake(b, ~0ull);
    pthread_mutex_unlock(&b->data_mu);
}

uint64_t emb_topic_bit(const char *topic) { return 1ull << (hx_hash64(topic, strlen(topic)) & 63); }

void emb_notify_topic(emb_t *b, const char *topic)
{
    /* seq_cst with the poller's mask store and seq load (consumer.c): either
     * it sees the new seq and does not sleep, or we see its bit and wake it. */
    __atomic_add_fetch(&b->data_seq, 1, __ATOMIC_SEQ_CST);
    uint64_t bit = emb_topic_bit(topic);
    if (!(__atomic_load_n(&b->wait_mask, __ATOMIC_SEQ_CST) & bit))
        return;
    pthread_mutex_lock(&b->data_mu);
    wake(b, bit);
    pthread_mutex_unlock(&b->data_mu);
}

static int pick_partition(emb_t *b, const hx_msg_t *m, int nparts, int32_t *out, hx_err_t *err)
{
    if (m->partition >= 0) {
        if (m->partition >= nparts)
            return hx_err_set(err, HX_EINVAL, "partition %d does not exist: topic '%s' has %d partition(s)",
                              m->partition, m->topic, nparts);
        *out = m->partition;
    } else if (m->key && m->key_len) {
        *out = (int32_t)hx_partition_for_key(m->key, m->key_len, (uint32_t)nparts);
    } else {
        *out = (int32_t)(__atomic_fetch_add(&b->rr, 1, __ATOMIC_RELAXED) % (uint64_t)nparts);
    }
    return HX_OK;
}

static void to_log_record(const hx_msg_t *m, hx_log_header_t *hdrs, int64_t now, hx_log_record_t *r)
{
    for (size_t h = 0; h < m->header_count; h++) {
        hdrs[h].name = m->headers[h].name;
        hdrs[h].name_len = strlen(m->headers[h].name);
        hdrs[h].value = m->headers[h].value;
        hdrs[h].value_len = m->headers[h].value_len;
    }
    memset(r, 0, sizeof *r);
    r->key = m->key;
    r->key_len = m->key_len;
    r->value = m->value;
    r->value_len = m->value_len;
    r->headers = hdrs;
    r->n_headers = m->header_count;
    r->timestamp_ms = m->timestamp_ms > 0 ? m->timestamp_ms : now;
}

static void count_sent(emb_t *b, const char *topic, size_t records)
{
    __atomic_add_fetch(&b->batches, 1, __ATOMIC_RELAXED);
    uint64_t recs = __atomic_add_fetch(&b->batch_records, records, __ATOMIC_RELAXED);
    if (!b->metrics)
        return;
    const char *l[] = {"embedded", topic};
    hx_counter_inc_labels(b->m_sent, l, records);
    const char *lb[] = {"embedded"};
    hx_gauge_set_labels(b->m_batch_avg, lb, (double)recs / (double)__atomic_load_n(&b->batches, __ATOMIC_RELAXED));
}

/* Appends recs (all for one partition) in chunks of about batch_size bytes.
 * A chunk refused as too big is retried record by record so only the
 * oversized record fails. */
static int append_partition(emb_t *b, const char *topic, int32_t p, hx_log_record_t *recs, size_t *idx, size_t n,
                            hx_delivery_t *out, int *first_rc, hx_err_t *err)
{
    size_t limit = (size_t)b->cfg.kafka.producer.batch_size;
    size_t i = 0;
    while (i < n) {
        size_t j = i, bytes = 0;
        do {
            bytes += recs[j].key_len + recs[j].value_len + 32;
            j++;
        } while (j < n && bytes < limit);
        int64_t base;
        hx_err_t e = {0};
        int rc = hx_log_append(b->log, topic, p, recs + i, j - i, &base, &e);
        if (rc == HX_ETOOBIG && j - i > 1) {
            for (size_t k = i; k < j; k++) {
                hx_err_t e1 = {0};
                int r1 = hx_log_append(b->log, topic, p, recs + k, 1, &base, &e1);
                out[idx[k]].partition = p;
                out[idx[k]].offset = r1 ? -1 : base;
                out[idx[k]].status = r1;
                if (r1 && !*first_rc) {
                    *first_rc = r1;
                    if (err)
                        *err = e1;
                }
                if (!r1)
                    count_sent(b, topic, 1);
            }
        } else {
            for (size_t k = i; k < j; k++) {
                out[idx[k]].partition = p;
                out[idx[k]].offset = rc ? -1 : base + (int64_t)(k - i);
                out[idx[k]].status = rc;
            }
            if (rc && !*first_rc) {
                *first_rc = rc;
                if (err)
                    *err = e;
            }
            if (!rc)
                count_sent(b, topic, j - i);
        }
        i = j;
    }
    return HX_OK;
}

/* One partition's share of a batch (run by the sync pool under always). */
typedef struct {
    emb_t *b;
    const char *topic;
    int32_t p;
    hx_log_record_t *recs;
    size_t *idx, m;
    hx_delivery_t *out;
    int rc;
    hx_err_t err;
} part_job_t;

static void part_job_run(void *arg)
{
    part_job_t *j = arg;
    append_partition(j->b, j->topic, j->p, j->recs, j->idx, j->m, j->out, &j->rc, &j->err);
}

/* Produces msgs[0..n) which all name the same topic. */
static int produce_topic(emb_t *b, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, int *first_rc, hx_err_t *err)
{
    const char *topic = msgs[0].topic;
    int nparts, rc;
    if ((rc = hx_log_partition_count(b->log, topic, &nparts, NULL)))
        rc = emb_unknown_topic(topic, err);
    size_t nh = 0;
    for (size_t i = 0; i < n; i++)
        nh += msgs[i].header_count;
    int32_t *part = malloc(n * sizeof *part);
    size_t *idx = malloc(n * sizeof *idx);
    hx_log_record_t *recs = malloc(n * sizeof *recs);
    hx_log_header_t *hdrs = malloc((nh ? nh : 1) * sizeof *hdrs);
    if (!rc && (!part || !idx || !recs || !hdrs))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory producing %zu records", n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = pick_partition(b, &msgs[i], nparts, &part[i], err);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            out[i] = (hx_delivery_t){-1, -1, rc};
        if (!*first_rc)
            *first_rc = rc;
        goto cleanup;
    }
    /* Records grouped by partition in one counting pass, order kept. */
    size_t *start = calloc(2 * (size_t)nparts + 1, sizeof *start), *fill = start ? start + nparts + 1 : NULL;
    part_job_t *jobs = calloc(n < (size_t)nparts ? n : (size_t)nparts, sizeof *jobs);
    if (!start || !jobs) {
        free(start);
        free(jobs);
        for (size_t i = 0; i < n; i++)
            out[i] = (hx_delivery_t){-1, -1, HX_ENOMEM};
        if (!*first_rc)
            *first_rc = hx_err_set(err, HX_ENOMEM, "out of memory producing %zu records", n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        start[part[i] + 1]++;
    for (int32_t p = 0; p < nparts; p++)
        start[p + 1] += start[p];
    int64_t now = hx_now_ms();
    memcpy(fill, start, (size_t)nparts * sizeof *fill);
    size_t hoff = 0;
    for (size_t i = 0; i < n; i++) {
        size_t at = fill[part[i]]++;
        to_log_record(&msgs[i], hdrs + hoff, now, &recs[at]);
        hoff += msgs[i].header_count;
        idx[at] = i;
    }
    size_t nj = 0;
    for (int32_t p = 0; p < nparts; p++)
        if (start[p + 1] > start[p])
            jobs[nj++] = (part_job_t){b, topic, p, recs + start[p], idx + start[p], start[p + 1] - start[p], out, 0,
                                      {0}};
    if (b->pool_on)
        emb_pool_run(&b->pool, part_job_run, jobs, sizeof *jobs, nj);
    else
        for (size_t j = 0; j < nj; j++)
            part_job_run(&jobs[j]);
    for (size_t j = 0; j < nj; j++)
        if (jobs[j].rc && !*first_rc) {
            *first_rc = jobs[j].rc;
            if (err)
                *err = jobs[j].err;
        }
    free(start);
    free(jobs);
    emb_notify_topic(b, topic);
cleanup:
    free(part);
    free(idx);
    free(recs);
    free(hdrs);
    return *first_rc;
}

/* Acknowledged means: under fsync=always on stable storage (the log fsyncs
 * before the append returns); under interval and never, written to the log
 * file and visible to consumers, with durability following the policy. */
int emb_produce(void *impl, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err)
{
    emb_t *b = impl;
    hx_delivery_t *own = NULL;
    if (n == 0)
        return HX_OK;
    if (!out && !(out = own = malloc(n * sizeof *out)))
        return hx_err_set(err, HX_ENOMEM, "out of memory producing %zu records", n);
    int first_rc = 0;
    /* Runs of the same topic go together; most callers send one topic. */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(msgs[j].topic, msgs[i].topic) == 0)
            j++;
        produce_topic(b, msgs + i, j - i, out + i, &first_rc, err);
        i = j;
    }
    free(own);
    return first_rc;
}

/* The log appends inline, so a batch is acknowledged when emb_produce
 * returns and cb runs on the caller's thread. */
int emb_produce_batch(void *impl, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx, hx_err_t *err)
{
    hx_delivery_t one, *dl = n == 1 ? &one : malloc(n * sizeof *dl);
    if (!dl)
        return hx_err_set(err, HX_ENOMEM, "out of memory producing %zu records", n);
    hx_err_t e = {0};
    int rc = emb_produce(impl, msgs, n, dl, &e), any = 0;
    for (size_t i = 0; i < n && !any; i++)
        any = dl[i].status == 0;
    if (rc && !any) {
        if (err)
            *err = e;
    } else {
        cb(ctx, dl, n, rc, rc ? &e : NULL);
        rc = HX_OK;
    }
    if (dl != &one)
        free(dl);
    return rc;
}

static void pending_free(emb_pending_t *p)
{
    free(p->topic);
    free(p->key);
    free(p->value);
    if (p->headers)
        for (size_t i = 0; i < p->msg.header_count; i++) {
            free((void *)p->headers[i].name);
            free((void *)p->headers[i].value);
        }
    free(p->headers);
    free(p);
}

static void *memdup(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

int emb_produce_async(void *impl, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err)
{
    emb_t *b = impl;
    emb_pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return hx_err_set(err, HX_ENOMEM, "out of memory queueing a record");
    p->msg = *msg;
    p->cb = cb;
    p->ctx = ctx;
    p->topic = strdup(msg->topic);
    p->key = msg->key ? memdup(msg->key, msg->key_len) : NULL;
    p->value = msg->value ? memdup(msg->value, msg->value_len) : NULL;
    p->headers = msg->header_count ? calloc(msg->header_count, sizeof *p->headers) : NULL;
    int bad = !p->topic || (msg->key && !p->key) || (msg->value && !p->value) || (msg->header_count && !p->headers);
    for (size_t i = 0; !bad && i < msg->header_count; i++) {
        p->headers[i].name = strdup(msg->headers[i].name);
        p->headers[i].value = memdup(msg->headers[i].value, msg->headers[i].value_len);
        p->headers[i].value_len = msg->headers[i].value_len;
        bad = !p->headers[i].name || !p->headers[i].value;
    }
    if (bad) {
        pending_free(p);
        return hx_err_set(err, HX_ENOMEM, "out of memory queueing a record");
    }
    p->msg.topic = p->topic;
    p->msg.key = p->key;
    p->msg.value = p->value;
    p->msg.headers = p->headers;
    if (!p->msg.timestamp_ms)
        p->msg.timestamp_ms = hx_now_ms();
    p->bytes = msg->key_len + msg->value_len + 32;

    pthread_mutex_lock(&b->qmu);
    if (!b->qhead)
        b->q_oldest_ms = hx_now_ms();
    if (b->qtail)
        b->qtail->next = p;
    else
        b->qhead = p;
    b->qtail = p;
    b->qbytes += p->bytes;
    b->q_enqueued++;
    /* The first record wakes the sender too: its linger starts now. */
    if (b->qhead == p || b->qbytes >= (size_t)b->cfg.kafka.producer.batch_size)
        pthread_cond_signal(&b->qcond);
    pthread_mutex_unlock(&b->qmu);
    return HX_OK;
}

static void send_batch(emb_t *b, emb_pending_t *list)
{
    size_t n = 0;
    for (emb_pending_t *p = list; p; p = p->next)
        n++;
    hx_msg_t *msgs = malloc(n * sizeof *msgs);
    hx_delivery_t *dl = malloc(n * sizeof *dl);
    emb_pending_t **items = malloc(n * sizeof *items);
    hx_err_t err = {0};
    size_t i = 0;
    for (emb_pending_t *p = list; p; p = p->next, i++) {
        if (items)
            items[i] = p;
        if (msgs)
            msgs[i] = p->msg;
    }
    if (msgs && dl && items) {
        emb_produce(b, msgs, n, dl, &err);
        for (i = 0; i < n; i++) {
            hx_err_t e = {dl[i].status, ""};
            if (dl[i].status)
                snprintf(e.msg, sizeof e.msg, "%s", err.msg);
            if (items[i]->cb)
                items[i]->cb(items[i]->ctx, &dl[i], dl[i].status ? &e : NULL);
        }
    } else {
        hx_delivery_t d = {-1, -1, HX_ENOMEM};
        hx_err_t e = {HX_ENOMEM, "out of memory sending a batch"};
        for (emb_pending_t *p = list; p; p = p->next)
            if (p->cb)
                p->cb(p->ctx, &d, &e);
    }
    while (list) {
        emb_pending_t *next = list->next;
        pending_free(list);
        list = next;
    }
    free(msgs);
    free(dl);
    free(items);
    pthread_mutex_lock(&b->qmu);
    b->q_done += n;
    pthread_cond_broadcast(&b->qdone);
    pthread_mutex_unlock(&b->qmu);
}

void *emb_sender_main(void *arg)
{
    emb_t *b = arg;
    pthread_mutex_lock(&b->qmu);
    for (;;) {
        int stopping = __atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE);
        if (!b->qhead) {
            if (stopping)
                break;
            pthread_cond_wait(&b->qcond, &b->qmu);
            continue;
        }
        int64_t due = b->q_oldest_ms + b->cfg.kafka.producer.linger_ms;
        int64_t now = hx_now_ms();
        if (!stopping && b->qbytes < (size_t)b->cfg.kafka.producer.batch_size && now < due) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait_ns = (due - now) * 1000000;
            ts.tv_sec += wait_ns / 1000000000;
            ts.tv_nsec += wait_ns % 1000000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&b->qcond, &b->qmu, &ts);
            continue;
        }
        emb_pending_t *list = b->qhead;
        b->qhead = b->qtail = NULL;
        b->qbytes = 0;
        pthread_mutex_unlock(&b->qmu);
        send_batch(b, list);
        pthread_mutex_lock(&b->qmu);
    }
    pthread_mutex_unlock(&b->qmu);
    return NULL;
}

int emb_flush(void *impl, int timeout_ms, hx_err_t *err)
{
    emb_t *b = impl;
    uint64_t deadline = hx_mono_ns() + (uint64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&b->qmu);
    uint64_t target = b->q_enqueued;
    /* Flushing means "do not wait for linger": make the queue look full. */
    b->qbytes += (size_t)b->cfg.kafka.producer.batch_size;
    pthread_cond_signal(&b->qcond);
    int rc = HX_OK;
    while (b->q_done < target) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 5000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&b->qdone, &b->qmu, &ts);
        if (b->q_done < target && hx_mono_ns() > deadline) {
            rc = hx_err_set(err, HX_ETIMEOUT, "flush: %llu record(s) still pending after %d ms",
                            (unsigned long long)(target - b->q_done), timeout_ms);
            break;
        }
        if (b->qhead) {
            b->qbytes += (size_t)b->cfg.kafka.producer.batch_size;
            pthread_cond_signal(&b->qcond);
        }
    }
    pthread_mutex_unlock(&b->qmu);
    return rc;
}
