/* The ingest consumer: group helix-analytics over the four source topics.
 * The reader thread decodes records into a job (batches per table and the
 * offsets after them) until analytics.batch_rows or analytics.flush_ms; the
 * committer thread hands jobs, in order, to the backend's ingest_commit,
 * which stores rows and offsets together. On start the reader seeks every
 * partition to the backend's stored offsets (not the group's: those are
 * committed after the data only for lag reporting), so a crash anywhere
 * neither loses nor repeats a row. */
#include "analytics/analytics_int.h"
#include "analytics/ingest/conv.h"
#include "analytics/ingest/ingest.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GROUP "helix-analytics"
#define MAX_QUEUE 2

typedef struct job {
    hx_an_batch_t b[HX_AN_NTABLES];
    hx_an_offsets_t next;
    size_t rows;
    int dirty;
    uint64_t started_ms;
    struct job *link;
} job_t;

struct an_ingest {
    hx_analytics_t *a;
    pthread_t reader, committer;
    int reader_started, committer_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, flush_now;
    int reader_done;               /* the reader queued its last job: the committer may finish */
    job_t *head, *tail;
    int queued, committing;
    hx_an_offsets_t committed;     /* durable in the backend */
    int group_commit_due;
    hx_consumer_t *consumer;
    an_conv_t conv;
    char scratch[1024];
    uint64_t skipped;
    int64_t last_warn_ms;
};

static int src_of(const char *topic)
{
    for (int s = 0; s < HX_AN_NSRCS; s++)
        if (!strcmp(topic, hx_an_src_topic((hx_an_src_t)s)))
            return s;
    return -1;
}

static job_t *job_new(const hx_an_offsets_t *from)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    for (int t = 0; t < HX_AN_NTABLES; t++)
        hx_an_batch_init(&j->b[t], (hx_an_table_t)t);
    j->next = *from;
    return j;
}

static void job_free(job_t *j)
{
    if (!j)
        return;
    for (int t = 0; t < HX_AN_NTABLES; t++)
        hx_an_batch_free(&j->b[t]);
    free(j);
}

static void skip(an_ingest_t *g, const hx_msg_t *m, const char *why)
{
    g->skipped++;
    if (g->a->m_skipped)
        hx_counter_inc_labels(g->a->m_skipped, (const char *[]){g->a->ops->name, m->topic}, 1);
    int64_t now = hx_now_ms();
    if (now - g->last_warn_ms > 10000) {
        HX_WARN("analytics", "ingest skipped %s/%d@%" PRId64 ": %s (%" PRIu64 " skipped so far)", m->topic,
                m->partition, m->offset, why, g->skipped);
        g->last_warn_ms = now;
    }
}

/* One record into the job. */
static void decode(an_ingest_t *g, job_t *j, int src, const hx_msg_t *m)
{
    hx_envelope_view_t v;
    hx_err_t err = {0};
    if (hx_envelope_peek(m->value, m->value_len, &v, &err)) {
        skip(g, m, err.msg);
        return;
    }
    int64_t ts = v.ts / 1000;
#define TYPE_IS(t) (v.type_len == strlen(t) && !memcmp(v.type, t, v.type_len))
    int rc = HX_OK;
    size_t before = 0;
    switch (src) {
    case HX_AN_SRC_PROVIDERS:
        if (!TYPE_IS(HX_EV_PROVIDER_METRICS))
            return;
        before = j->b[HX_AN_PROVIDER_METRICS].rows;
        rc = an_event_row(HX_AN_PROVIDER_METRICS, v.tenant, v.tenant_len, ts, v.data, v.data_len,
                          &j->b[HX_AN_PROVIDER_METRICS], NULL, &err);
        j->rows += j->b[HX_AN_PROVIDER_METRICS].rows - before;
        break;
    case HX_AN_SRC_DEBATES:
        if (!TYPE_IS(HX_EV_DEBATE_COMPLETED))
            return;
        before = j->b[HX_AN_DEBATE_METRICS].rows + j->b[HX_AN_DEBATE_PARTICIPANTS].rows;
        rc = an_event_row(HX_AN_DEBATE_METRICS, v.tenant, v.tenant_len, ts, v.data, v.data_len,
                          &j->b[HX_AN_DEBATE_METRICS], &j->b[HX_AN_DEBATE_PARTICIPANTS], &err);
        j->rows += j->b[HX_AN_DEBATE_METRICS].rows + j->b[HX_AN_DEBATE_PARTICIPANTS].rows - before;
        break;
    case HX_AN_SRC_CONV_METRICS:
        if (!TYPE_IS(HX_EV_CONVERSATION_METRICS))
            return;
        before = j->b[HX_AN_CONVERSATION_METRICS].rows;
        rc = an_event_row(HX_AN_CONVERSATION_METRICS, v.tenant, v.tenant_len, ts, v.data, v.data_len,
                          &j->b[HX_AN_CONVERSATION_METRICS], NULL, &err);
        j->rows += j->b[HX_AN_CONVERSATION_METRICS].rows - before;
        break;
    case HX_AN_SRC_CONVERSATIONS: {
        an_msg_t msg;
        memset(&msg, 0, sizeof msg);
        msg.role = -1;
        msg.user_id = "";
        int counted = TYPE_IS(HX_EV_CONVERSATION_MESSAGE_ADDED) || TYPE_IS(HX_EV_CONVERSATION_MESSAGE_UPDATED) ||
                      TYPE_IS(HX_EV_CONVERSATION_MESSAGE_DELETED) || TYPE_IS(HX_EV_CONVERSATION_COMPLETED);
        if (!counted)
            return;
        if (v.data_len && (rc = an_msg_parse(v.data, v.data_len, &msg, g->scratch, sizeof g->scratch, &err)))
            break;
        rc = an_conv_add(&g->conv, v.type, v.type_len, v.tenant, v.tenant_len, v.key, v.key_len, ts, &msg);
        if (rc == HX_ENOMEM)
            hx_err_set(&err, rc, "out of memory");
        else if (rc == 1)
            rc = 0;
        else
            j->rows++;
        break;
    }
    }
#undef TYPE_IS
    if (rc)
        skip(g, m, err.msg);
}

/* Hands the job to the committer (waits while MAX_QUEUE are queued). */
static int enqueue(an_ingest_t *g, job_t *j)
{
    hx_err_t err = {0};
    if (an_conv_emit(&g->conv, &j->b[HX_AN_CONVERSATION_METRICS], &err))
        HX_ERROR("analytics", "ingest: %s", err.msg);
    pthread_mutex_lock(&g->mu);
    while (g->queued >= MAX_QUEUE && !g->stop)
        pthread_cond_wait(&g->cv, &g->mu);
    j->link = NULL;
    if (g->tail)
        g->tail->link = j;
    else
        g->head = j;
    g->tail = j;
    g->queued++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return HX_OK;
}

static void *committer_main(void *arg)
{
    an_ingest_t *g = arg;
    hx_analytics_t *a = g->a;
    int64_t last_warn = 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (!g->head && !g->reader_done)
            pthread_cond_wait(&g->cv, &g->mu);
        job_t *j = g->head;
        if (!j) {
            pthread_mutex_unlock(&g->mu);
            break;
        }
        g->committing = 1;
        pthread_mutex_unlock(&g->mu);
        hx_an_batch_t *bs[HX_AN_NTABLES];
        size_t n = 0, rows = 0;
        for (int t = 0; t < HX_AN_NTABLES; t++)
            if (j->b[t].rows) {
                bs[n++] = &j->b[t];
                rows += j->b[t].rows;
            }
        int backoff = 50, stored = 0;
        for (;;) {
            hx_err_t err = {0};
            int rc = HX_OK;
            for (size_t i = 0; i < n && !rc; i++)
                rc = an_batch_check(bs[i], &err);
            if (!rc)
                rc = a->ops->ingest_commit(a->impl, bs, n, &j->next, &err);
            if (!rc) {
                stored = 1;
                break;
            }
            int64_t now = hx_now_ms();
            if (now - last_warn > 10000) {
                HX_WARN("analytics", "storing %zu ingested rows failed: %s; retrying (the log keeps them)", rows,
                        err.msg);
                last_warn = now;
            }
            pthread_mutex_lock(&g->mu);
            int stop = g->stop;
            pthread_mutex_unlock(&g->mu);
            if (stop && rc != HX_EAGAIN && backoff >= 2000)
                break; /* shutting down: the log still has these rows for the next start */
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            if (stop && backoff >= 2000)
                break;
        }
        if (stored)
            an_count_rows(a, rows);
        pthread_mutex_lock(&g->mu);
        if (stored) {
            g->committed = j->next;
            g->group_commit_due = 1;
        }
        g->head = j->link;
        if (!g->head)
            g->tail = NULL;
        g->queued--;
        g->committing = 0;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        job_free(j);
    }
    return NULL;
}

/* Positions every assigned partition at the stored offsets. */
static int seek_all(an_ingest_t *g, const hx_an_offsets_t *resume)
{
    hx_assignment_t *as = NULL;
    size_t n = 0;
    hx_err_t err = {0};
    if (hx_consumer_assignment(g->consumer, &as, &n, &err))
        return -1;
    int left = 0;
    for (size_t i = 0; i < n; i++) {
        int s = src_of(as[i].topic);
        if (s < 0 || as[i].partition >= HX_AN_MAX_PARTITIONS)
            continue;
        int64_t off = resume->next[s][as[i].partition];
        int rc = hx_consumer_seek(g->consumer, as[i].topic, as[i].partition, off >= 0 ? off : HX_OFFSET_BEGINNING,
                                  &err);
        if (rc == HX_ERANGE) {
            HX_WARN("analytics", "%s/%d: stored ingest offset %" PRId64 " is gone from the log (%s); reading from "
                    "the start", as[i].topic, as[i].partition, off, err.msg);
            rc = hx_consumer_seek(g->consumer, as[i].topic, as[i].partition, HX_OFFSET_BEGINNING, &err);
        }
        left += rc != 0;
    }
    free(as);
    return left || !n ? -1 : 0;
}

static void group_commit(an_ingest_t *g)
{
    pthread_mutex_lock(&g->mu);
    int due = g->group_commit_due;
    hx_an_offsets_t c = g->committed;
    g->group_commit_due = 0;
    pthread_mutex_unlock(&g->mu);
    if (!due)
        return;
    hx_err_t err = {0};
    for (int s = 0; s < HX_AN_NSRCS; s++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS; p++)
            if (c.next[s][p] >= 0)
                hx_consumer_commit_offset(g->consumer, hx_an_src_topic((hx_an_src_t)s), p, c.next[s][p], &err);
}

static void *reader_main(void *arg)
{
    an_ingest_t *g = arg;
    hx_analytics_t *a = g->a;
    hx_an_offsets_t resume;
    hx_an_offsets_clear(&resume);
    hx_err_t err = {0};
    int have_resume = a->ops->stored_offsets(a->impl, &resume, &err) == HX_OK;
    pthread_mutex_lock(&g->mu);
    g->committed = resume;
    pthread_mutex_unlock(&g->mu);
    job_t *j = job_new(&resume);
    int backoff = 50, seeked = 0;
    int64_t warn = 0, seek_since = 0;
    while (j) {
        pthread_mutex_lock(&g->mu);
        int stop = g->stop, flush_now = g->flush_now;
        g->flush_now = 0;
        pthread_mutex_unlock(&g->mu);
        if (stop)
            break;
        if (!g->consumer) {
            const char *topics[HX_AN_NSRCS];
            for (int s = 0; s < HX_AN_NSRCS; s++)
                topics[s] = hx_an_src_topic((hx_an_src_t)s);
            hx_consumer_opts_t co;
            hx_consumer_opts_defaults(&co);
            co.auto_offset_reset = HX_RESET_EARLIEST;
            co.max_poll_records = 10000;
            co.fetch_wait_ms = 5; /* rows become parts in batches anyway */
            co.session_timeout_ms = 6000;
            co.client_id = a->node_id[0] ? a->node_id : "helix-analytics";
            if (hx_consumer_new(a->broker, GROUP, topics, HX_AN_NSRCS, &co, &g->consumer, &err)) {
                if (hx_now_ms() - warn > 10000) {
                    HX_WARN("analytics", "ingest cannot join group %s yet: %s; retrying", GROUP, err.msg);
                    warn = hx_now_ms();
                }
                hx_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
            backoff = 50;
            seeked = !have_resume; /* without stored offsets the group's position is it */
            seek_since = hx_now_ms();
        }
        if (!seeked) {
            seeked = seek_all(g, &resume) == 0;
            if (!seeked && hx_now_ms() - seek_since > 30000) {
                HX_WARN("analytics", "ingest could not position every partition at its stored offset in 30 s");
                seek_since = hx_now_ms();
            }
            if (!seeked) {
                hx_fetch_t f;
                hx_consumer_poll(g->consumer, 20, &f, &err); /* lets a Kafka assignment settle */
                hx_fetch_free(&f);
                continue;
            }
        }
        group_commit(g);
        hx_fetch_t f = {0};
        if (hx_consumer_poll(g->consumer, 50, &f, &err)) {
            if (hx_now_ms() - warn > 10000) {
                HX_WARN("analytics", "ingest poll failed: %s; retrying", err.msg);
                warn = hx_now_ms();
            }
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        backoff = 50;
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *m = &f.msgs[i];
            int s = src_of(m->topic);
            if (s < 0 || m->partition < 0 || m->partition >= HX_AN_MAX_PARTITIONS)
                continue;
            int64_t *next = &j->next.next[s][m->partition];
            if (*next >= 0 && m->offset < *next)
                continue; /* stored already (redelivery after a rebalance) */
            if (!j->dirty)
                j->started_ms = (uint64_t)hx_now_ms();
            decode(g, j, s, m);
            *next = m->offset + 1;
            j->dirty = 1;
        }
        hx_fetch_free(&f);
        uint64_t now = (uint64_t)hx_now_ms();
        if (j->dirty && (j->rows >= (size_t)a->cfg.analytics.batch_rows || flush_now ||
                         now - j->started_ms >= (uint64_t)a->cfg.analytics.flush_ms)) {
            job_t *nj = job_new(&j->next);
            enqueue(g, j);
            j = nj;
        }
    }
    if (j && j->dirty)
        enqueue(g, j);
    else
        job_free(j);
    /* Wait for the committer to store everything, then report it to the group. */
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    g->reader_done = 1;
    pthread_cond_broadcast(&g->cv);
    while (g->queued)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    if (g->consumer) {
        group_commit(g);
        hx_consumer_close(g->consumer);
        g->consumer = NULL;
    }
    return NULL;
}

int an_ingest_start(hx_analytics_t *a, an_ingest_t **out, hx_err_t *err)
{
    an_ingest_t *g = calloc(1, sizeof *g);
    if (!g)
        return hx_err_set(err, HX_ENOMEM, "out of memory starting analytics ingest");
    g->a = a;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    an_conv_init(&g->conv);
    hx_an_offsets_clear(&g->committed);
    if (pthread_create(&g->committer, NULL, committer_main, g)) {
        an_ingest_stop(g);
        return hx_err_set(err, HX_EIO, "cannot start the analytics ingest threads");
    }
    g->committer_started = 1;
    if (pthread_create(&g->reader, NULL, reader_main, g)) {
        an_ingest_stop(g);
        return hx_err_set(err, HX_EIO, "cannot start the analytics ingest threads");
    }
    g->reader_started = 1;
    *out = g;
    return HX_OK;
}

void an_ingest_stop(an_ingest_t *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->reader_started)
        pthread_join(g->reader, NULL);
    pthread_mutex_lock(&g->mu);
    g->reader_done = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->committer_started)
        pthread_join(g->committer, NULL);
    while (g->head) {
        job_t *n = g->head->link;
        job_free(g->head);
        g->head = n;
    }
    an_conv_free(&g->conv);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

int an_ingest_wait(an_ingest_t *g, int timeout_ms, hx_err_t *err)
{
    hx_analytics_t *a = g->a;
    int64_t target[HX_AN_NSRCS][HX_AN_MAX_PARTITIONS], low[HX_AN_NSRCS][HX_AN_MAX_PARTITIONS];
    int nparts[HX_AN_NSRCS] = {0};
    for (int s = 0; s < HX_AN_NSRCS; s++) {
        hx_topic_info_t ti;
        if (hx_broker_topic_describe(a->broker, hx_an_src_topic((hx_an_src_t)s), &ti, NULL))
            continue;
        nparts[s] = ti.config.partitions < HX_AN_MAX_PARTITIONS ? ti.config.partitions : HX_AN_MAX_PARTITIONS;
        for (int p = 0; p < nparts[s]; p++) {
            target[s][p] = ti.partitions[p].high_watermark;
            low[s][p] = ti.partitions[p].low_watermark;
        }
        hx_topic_info_free(&ti);
    }
    uint64_t deadline = hx_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
    pthread_mutex_lock(&g->mu);
    g->flush_now = 1;
    for (;;) {
        int done = 1;
        for (int s = 0; s < HX_AN_NSRCS && done; s++)
            for (int p = 0; p < nparts[s] && done; p++)
                done = target[s][p] <= low[s][p] || g->committed.next[s][p] >= target[s][p];
        if (done)
            break;
        if (hx_mono_ns() > deadline) {
            pthread_mutex_unlock(&g->mu);
            return hx_err_set(err, HX_ETIMEOUT, "analytics ingest did not catch up with the log in %d ms",
                              timeout_ms);
        }
        g->flush_now = 1;
        struct timespec ts;
        hx_deadline_after_ms(&ts, 20);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return HX_OK;
}
