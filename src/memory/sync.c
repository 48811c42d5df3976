/* Replication over the broker (public hx_broker.h API only, so the embedded
 * log and Kafka behave the same):
 *  - the publisher thread sends queued ops as memory.delta envelopes keyed by
 *    memory_id, a batch at a time (batch_size, lingering at most interval_ms;
 *    adaptive: 200 past 5 s of lag, 500 past 10 s, back down below half the
 *    threshold). A broker error keeps the batch queued and retries with
 *    backoff: local writes never wait for the broker.
 *  - the consumer thread reads every partition of memory.events and
 *    memory.snapshots with the node's own group and joins remote ops; our own
 *    ops are skipped by origin, duplicates by dot (origin, seq).
 *  - the same publisher thread ticks the WAL fsync (fsync=interval), the
 *    anti-entropy digest, snapshots and the lag gauges. */
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_envelope.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"
#include "memory/engine.h"
#include "memory/sync_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_msync_enqueue_owned(hx_memory_t *m, const char *tenant, const char *id, char *text, size_t len,
                            uint64_t seq)
{
    pthread_mutex_lock(&m->qmu);
    if (m->qn == m->qcap) {
        size_t cap = m->qcap ? m->qcap * 2 : 256;
        hx_pending_op_t *n = realloc(m->q, cap * sizeof *n);
        if (!n) {
            /* The op is in the WAL and the state; anti-entropy will carry it. */
            pthread_mutex_unlock(&m->qmu);
            free(text);
            HX_WARN("memory", "publish queue full (out of memory); op %s:%" PRIu64 " left to anti-entropy", m->node,
                    seq);
            return;
        }
        m->q = n;
        m->qcap = cap;
    }
    hx_pending_op_t *p = &m->q[m->qn];
    p->key = strdup(id);
    p->tenant = strdup(tenant);
    p->text = text;
    if (!p->key || !p->tenant || !p->text) {
        free(p->key);
        free(p->tenant);
        free(p->text);
        pthread_mutex_unlock(&m->qmu);
        return;
    }
    p->len = len;
    p->seq = seq;
    if (!m->qn)
        m->q_oldest_ms = hx_now_ms();
    m->qn++;
    /* The publisher only acts on the first op (it arms its linger timer)
     * and on a full batch; a wake-up per write cost a futex call and a
     * context switch on every request. Broadcast: hx_memory_flush waiters
     * share the condition and must not absorb the publisher's wake-up. */
    if (m->qn == 1 || m->qn == (size_t)m->batch_size)
        pthread_cond_broadcast(&m->qcv);
    pthread_mutex_unlock(&m->qmu);
}

void hx_msync_enqueue(hx_memory_t *m, const char *tenant, const char *id, const char *text, size_t len,
                      uint64_t seq)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return; /* as a full queue: anti-entropy carries the op */
    memcpy(copy, text, len);
    copy[len] = 0;
    hx_msync_enqueue_owned(m, tenant, id, copy, len, seq);
}

int hx_msync_encode(hx_memory_t *m, const char *type, const char *tenant, const char *key, const char *id,
                    json_t *data, hx_buf_t *out, hx_err_t *err)
{
    hx_envelope_t e;
    hx_envelope_init(&e);
    e.type = strdup(type);
    e.source = strdup(m->node);
    e.tenant = strdup(tenant && *tenant ? tenant : "default");
    e.key = strdup(key);
    e.id = id ? strdup(id) : NULL;
    e.data = data;
    int rc = (!e.type || !e.source || !e.tenant || !e.key) ? hx_err_set(err, HX_ENOMEM, "out of memory") : HX_OK;
    if (!rc)
        rc = hx_envelope_fill_defaults(&e, m->node, hx_now_ms(), err);
    if (!rc)
        rc = hx_envelope_encode(&e, out, err);
    hx_envelope_free(&e);
    return rc;
}

/* A memory.delta record whose data is already JSON text; id is
 * "<node>:<seq>" of its first op, as every node names it. */
static int encode_delta_text(hx_memory_t *m, const char *type, const char *tenant, const char *key, uint64_t seq,
                             const char *data, size_t len, hx_buf_t *out, hx_err_t *err)
{
    char id[HX_MNODE_MAX + 32];
    snprintf(id, sizeof id, "%s:%" PRIu64, m->node, seq);
    hx_envelope_t e;
    hx_envelope_init(&e);
    e.type = (char *)type;
    e.source = m->node;
    e.tenant = (char *)(tenant && *tenant ? tenant : "default");
    e.key = (char *)key;
    e.id = id;
    e.ts = hx_now_ms();
    return hx_envelope_encode_data(&e, data, len, out, err);
}

/* Groups of a publish batch: ops of one memory (tenant, id), in order. */
typedef struct {
    size_t first;  /* index of the group's first op */
    size_t n;      /* ops in the group */
} pub_group_t;

/* Groups ops by (tenant, key) in one pass with a hash table; next[i] links
 * op i to the next op of its group. Returns the number of groups. */
static size_t group_ops(const hx_pending_op_t *ops, size_t n, pub_group_t *groups, size_t *next, size_t *last,
                        size_t *slots, size_t nslots)
{
    size_t ng = 0;
    for (size_t s = 0; s < nslots; s++)
        slots[s] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hx_hash64(ops[i].key, strlen(ops[i].key)) * 31 + hx_hash64(ops[i].tenant, strlen(ops[i].tenant));
        size_t s = (size_t)h & (nslots - 1);
        while (slots[s] != SIZE_MAX) {
            const hx_pending_op_t *g = &ops[groups[slots[s]].first];
            if (!strcmp(g->key, ops[i].key) && !strcmp(g->tenant, ops[i].tenant))
                break;
            s = (s + 1) & (nslots - 1);
        }
        next[i] = SIZE_MAX;
        if (slots[s] == SIZE_MAX) {
            slots[s] = ng;
            groups[ng++] = (pub_group_t){i, 1};
        } else {
            pub_group_t *g = &groups[slots[s]];
            next[last[slots[s]]] = i;
            g->n++;
        }
        last[slots[s]] = i;
    }
    return ng;
}

/* Produces one memory.delta record per memory of the batch, ops in order.
 * The ops are the text the WAL logged; they go into the record's data as
 * they are ({"ops":[op,...]}), never parsed again. */
static int publish_batch(hx_memory_t *m, hx_pending_op_t *ops, size_t n, hx_err_t *err)
{
    if (atomic_load(&m->drop_out))
        return HX_OK;
    size_t nslots = 16;
    while (nslots < 2 * n)
        nslots *= 2;
    hx_msg_t *msgs = calloc(n, sizeof *msgs);
    hx_buf_t *bufs = calloc(n, sizeof *bufs);
    pub_group_t *groups = calloc(n, sizeof *groups);
    size_t *next = calloc(3 * n + nslots, sizeof *next), *last = next + n, *slots = next + 2 * n;
    hx_buf_t data = HX_BUF_INIT;
    int rc = (!msgs || !bufs || !groups || !next) ? hx_err_set(err, HX_ENOMEM, "out of memory publishing") : HX_OK;
    size_t ng = rc ? 0 : group_ops(ops, n, groups, next, last, slots, nslots);
    for (size_t g = 0; !rc && g < ng; g++) {
        const hx_pending_op_t *head = &ops[groups[g].first];
        data.len = 0;
        int bad = hx_buf_append(&data, "{\"ops\":[", 8) != 0;
        for (size_t i = groups[g].first, k = 0; !bad && i != SIZE_MAX; i = next[i], k++)
            bad = (k && hx_buf_append(&data, ",", 1)) || hx_buf_append(&data, ops[i].text, ops[i].len);
        /* the frame in one allocation: its head is the id, type, source, tenant and key */
        bad = bad || hx_buf_reserve(&bufs[g], data.len + 2 + 512 + strlen(head->key) + strlen(head->tenant));
        if (bad || hx_buf_append(&data, "]}", 2))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory publishing");
        else
            rc = encode_delta_text(m, HX_EV_MEMORY_DELTA, head->tenant, head->key, head->seq, (const char *)data.data,
                                   data.len, &bufs[g], err);
        msgs[g] = (hx_msg_t){.topic = HX_TOPIC_MEMORY_EVENTS, .partition = -1, .key = head->key,
                             .key_len = strlen(head->key), .value = bufs[g].data, .value_len = bufs[g].len};
    }
    if (!rc)
        rc = hx_broker_produce(m->broker, msgs, ng, NULL, err);
    for (size_t i = 0; i < ng; i++)
        hx_buf_free(&bufs[i]);
    hx_buf_free(&data);
    free(msgs);
    free(bufs);
    free(groups);
    free(next);
    return rc;
}

static void write_published(hx_memory_t *m, uint64_t seq)
{
    /* Not fsynced: losing it (or finding it empty) only republishes ops that
     * peers then drop as duplicates. */
    char p[HX_CFG_STR + 32], text[32];
    snprintf(p, sizeof p, "%s/published_seq", m->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    hx_fs_write_atomic_flags(p, text, (size_t)n, HX_FS_NO_SYNC, NULL);
}

/* Largest known lag (ms): our own oldest unpublished op or any origin's. */
static int64_t current_lag_ms(hx_memory_t *m, int64_t now)
{
    int64_t lag = 0;
    pthread_mutex_lock(&m->qmu);
    if (m->qn)
        lag = now - m->q_oldest_ms;
    pthread_mutex_unlock(&m->qmu);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->norigins; i++) {
        int64_t l = hx_memory_origin_lag_ms(&m->origins[i], now);
        if (l > lag)
            lag = l;
        if (m->g_lag)
            hx_gauge_set_labels(m->g_lag, (const char *[]){m->node, m->origins[i].node}, (double)l / 1000.0);
    }
    pthread_mutex_unlock(&m->mu);
    if (m->g_lag)
        hx_gauge_set_labels(m->g_lag, (const char *[]){m->node, "all"}, (double)lag / 1000.0);
    return lag;
}

int hx_msync_batch_for_lag(int base, int current, int64_t lag_ms)
{
    /* Thresholds from the issue; going down needs the lag under half the
     * threshold so the size does not flap around it. */
    int target = current;
    if (lag_ms > 10000)
        target = base > 500 ? base : 500;
    else if (lag_ms > 5000 && current < 200)
        target = base > 200 ? base : 200;
    else if (current >= 500 && lag_ms < 5000)
        target = base > 200 ? base : 200;
    if (target >= 200 && target < 500 && lag_ms < 2500)
        target = base;
    return target < base ? base : target;
}

int hx_msync_warn_due(uint64_t n, int64_t now_ms, int64_t last_warn_ms)
{
    return n <= 1 || now_ms - last_warn_ms >= HX_MSYNC_WARN_EVERY_MS;
}

static void *pub_main(void *arg)
{
    hx_memory_t *m = arg;
    int64_t last_sync = hx_now_ms(), last_digest = 0, last_lag = 0, backoff = 50;
    uint64_t written_seq = m->published_seq;
    int64_t incr_every = m->snapshot_interval_ms / 6 > 1000 ? m->snapshot_interval_ms / 6 : 1000;
    int linger = m->cfg.distributed_memory.sync.interval_ms;
    m->last_full_ms = m->last_snap_ms = hx_now_ms();
    while (!m->stop) {
        int64_t now = hx_now_ms();
        pthread_mutex_lock(&m->qmu);
        while (!m->stop && !m->flush_req &&
               !(m->broker && !m->broker_down && m->qn >= (size_t)m->batch_size) &&
               !(m->broker && !m->broker_down && m->qn && hx_now_ms() - m->q_oldest_ms >= linger)) {
            int64_t wait = 50;
            if (m->qn && !m->broker_down) {
                int64_t left = linger - (hx_now_ms() - m->q_oldest_ms);
                wait = left < wait ? (left < 1 ? 1 : left) : wait;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(wait * 1000000);
            ts.tv_sec += ts.tv_nsec / 1000000000;
            ts.tv_nsec %= 1000000000;
            if (pthread_cond_timedwait(&m->qcv, &m->qmu, &ts))
                break;
        }
        size_t take = 0;
        hx_pending_op_t *batch = NULL;
        uint64_t gen = m->flush_gen;
        int flushing = m->flush_req;
        int ready = flushing || m->qn >= (size_t)m->batch_size || (m->qn && hx_now_ms() - m->q_oldest_ms >= linger);
        if (m->broker && m->qn && ready && (!m->broker_down || flushing)) {
            take = flushing ? m->qn : (m->qn < (size_t)m->batch_size ? m->qn : (size_t)m->batch_size);
            batch = malloc(take * sizeof *batch);
            if (batch) {
                memcpy(batch, m->q, take * sizeof *batch);
                memmove(m->q, m->q + take, (m->qn - take) * sizeof *m->q);
                m->qn -= take;
                m->q_inflight = take;
                m->q_oldest_ms = hx_now_ms(); /* approximate for the rest */
            } else {
                take = 0;
            }
        }
        pthread_mutex_unlock(&m->qmu);
        if (take) {
            hx_err_t err = {0};
            int rc = publish_batch(m, batch, take, &err);
            pthread_mutex_lock(&m->qmu);
            m->q_inflight = 0; /* published, or back in the queue below */
            if (rc) {
                /* Put the batch back in front, keep the writes acknowledged. */
                hx_pending_op_t *n = realloc(m->q, (m->qn + take + 1) * sizeof *n);
                if (n) {
                    m->q = n;
                    m->qcap = m->qn + take + 1;
                    memmove(m->q + take, m->q, m->qn * sizeof *m->q);
                    memcpy(m->q, batch, take * sizeof *batch);
                    m->qn += take;
                }
                int64_t t = hx_now_ms();
                if (!m->pub_failures++)
                    m->pub_fail_since_ms = t;
                snprintf(m->pub_error, sizeof m->pub_error, "%s", err.msg);
                if (hx_msync_warn_due(m->pub_failures, t, m->pub_warn_ms)) {
                    if (m->pub_failures == 1)
                        HX_WARN("memory", "publishing %zu memory deltas failed: %s; retrying with backoff (writes "
                                "still accepted)", take, err.msg);
                    else
                        HX_WARN("memory", "memory delta publishing still failing: %" PRIu64 " attempts over %" PRId64
                                " s, %zu deltas queued; last error: %s", m->pub_failures,
                                (t - m->pub_fail_since_ms) / 1000, m->qn, err.msg);
                    m->pub_warn_ms = t;
                }
                m->broker_down = 1;
                pthread_mutex_unlock(&m->qmu);
                hx_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                pthread_mutex_lock(&m->qmu);
                m->broker_down = 0; /* try again next round */
            } else {
                uint64_t top = 0;
                for (size_t i = 0; i < take; i++)
                    top = batch[i].seq > top ? batch[i].seq : top;
                if (top > m->published_seq)
                    m->published_seq = top;
                backoff = 50;
                if (m->pub_failures) {
                    HX_INFO("memory", "memory delta publishing recovered after %" PRIu64 " failed attempts over %" PRId64
                            " ms", m->pub_failures, hx_now_ms() - m->pub_fail_since_ms);
                    m->pub_failures = 0;
                    m->pub_warn_ms = 0;
                }
                pthread_mutex_lock(&m->mu);
                m->events_published += take;
                pthread_mutex_unlock(&m->mu);
                hx_counter_inc_labels(m->c_events, (const char *[]){m->node, "published"}, take);
            }
            if (m->flush_req && (!m->qn || rc) && gen == m->flush_gen) {
                m->flushed_gen = gen;
                /* Read now: the next round may take the batch out of the
                 * queue again before the flusher looks at it. */
                m->flush_left = m->qn;
                m->flush_req = 0;
                pthread_cond_broadcast(&m->qcv);
            }
            pthread_mutex_unlock(&m->qmu);
            if (!rc) {
                for (size_t i = 0; i < take; i++) {
                    free(batch[i].key);
                    free(batch[i].tenant);
                    free(batch[i].text);
                }
            }
            free(batch);
        } else if (flushing) {
            pthread_mutex_lock(&m->qmu);
            m->flushed_gen = gen;
            m->flush_left = m->qn;
            m->flush_req = 0;
            pthread_cond_broadcast(&m->qcv);
            pthread_mutex_unlock(&m->qmu);
        }
        now = hx_now_ms();
        if (m->cfg.event_log.fsync == HX_FSYNC_INTERVAL && now - last_sync >= m->cfg.event_log.flush_interval_ms) {
            hx_mwal_sync(m->wal);
            last_sync = now;
        }
        if (now - last_lag >= 100) {
            int64_t lag = current_lag_ms(m, now);
            int nb = hx_msync_batch_for_lag(m->cfg.distributed_memory.sync.batch_size, m->batch_size, lag);
            if (nb != m->batch_size)
                HX_INFO("memory", "sync lag %" PRId64 " ms: publish batch size %d -> %d", lag, m->batch_size, nb);
            m->batch_size = nb;
            last_lag = now;
            if (m->published_seq != written_seq) {
                written_seq = m->published_seq;
                write_published(m, written_seq);
            }
        }
        if (m->broker && now - last_digest >= m->digest_interval_ms) {
            hx_msync_publish_digest(m, 0, NULL);
            last_digest = now;
        }
        if (now - m->last_full_ms >= m->snapshot_interval_ms) {
            hx_err_t err = {0};
            if (hx_msnap_take(m, 1, &err))
                HX_WARN("memory", "full snapshot failed: %s", err.msg);
        } else if (now - m->last_snap_ms >= incr_every) {
            hx_err_t err = {0};
            if (hx_msnap_take(m, 0, &err))
                HX_WARN("memory", "incremental snapshot failed: %s", err.msg);
        }
    }
    return NULL;
}

int hx_memory_flush(hx_memory_t *m, int timeout_ms, hx_err_t *err)
{
    if (!m->broker)
        return HX_OK;
    int64_t deadline = hx_now_ms() + timeout_ms;
    pthread_mutex_lock(&m->qmu);
    uint64_t gen = ++m->flush_gen;
    m->flush_req = 1;
    pthread_cond_broadcast(&m->qcv);
    while (m->flushed_gen < gen && hx_now_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&m->qcv, &m->qmu, &ts);
    }
    int done = m->flushed_gen >= gen, left = (int)(done ? m->flush_left : m->qn + m->q_inflight);
    pthread_mutex_unlock(&m->qmu);
    if (!done || left)
        return hx_err_set(err, HX_ETIMEOUT, "memory deltas not all published within %d ms (%d queued); the broker "
                                            "may be down",
                          timeout_ms, left);
    return HX_OK;
}

int hx_msync_start(hx_memory_t *m, hx_err_t *err)
{
    /* The consumer joins its group on its own thread: on Kafka that takes
     * seconds, and a broker that is down at start must not fail the open. */
    if (pthread_create(&m->pub_thr, NULL, pub_main, m))
        return hx_err_set(err, HX_EIO, "cannot start the memory publisher thread");
    m->threads_started = 1;
    if (m->broker && pthread_create(&m->con_thr, NULL, hx_msync_consumer_main, m)) {
        m->stop = 1;
        pthread_join(m->pub_thr, NULL);
        m->threads_started = 0;
        return hx_err_set(err, HX_EIO, "cannot start the memory consumer thread");
    }
    if (m->broker)
        m->threads_started = 2;
    return HX_OK;
}

void hx_msync_stop(hx_memory_t *m)
{
    if (!m->threads_started)
        return;
    if (m->broker)
        hx_memory_flush(m, 2000, NULL);
    m->stop = 1;
    pthread_mutex_lock(&m->qmu);
    pthread_cond_broadcast(&m->qcv);
    pthread_mutex_unlock(&m->qmu);
    pthread_join(m->pub_thr, NULL);
    if (m->threads_started == 2)
        pthread_join(m->con_thr, NULL);
    m->threads_started = 0;
    if (m->published_seq)
        write_published(m, m->published_seq);
    hx_consumer_close(m->consumer);
    m->consumer = NULL;
}
