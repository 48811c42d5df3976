/* Embedded broker: group consumers. Positions are the consumer's own; the
 * coordinator (groups.c) only decides which partitions it owns. */
#include "stream/embedded/embedded.h"

#include "helix/hx_clock.h"
#include "helix/hx_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t reset_position(emb_consumer_t *c, const char *topic, int32_t p)
{
    int64_t low = 0, high = 0;
    hx_log_watermarks(c->b->log, topic, p, &low, &high, NULL);
    return c->opts.auto_offset_reset == HX_RESET_LATEST ? high : low;
}

/* Brings positions in line with the coordinator's assignment; b->mu held. */
static int sync_assignment(emb_consumer_t *c, hx_err_t *err)
{
    emb_t *b = c->b;
    if (!c->group) {
        int rc = emb_group_join(b, c, c->group_id, err);
        if (rc)
            return rc;
    }
    c->last_seen_ms = hx_now_ms();
    if (c->known_generation == c->group->generation)
        return HX_OK;
    struct emb_pos *pos = calloc(c->n_assigned ? c->n_assigned : 1, sizeof *pos);
    if (!pos)
        return hx_err_set(err, HX_ENOMEM, "out of memory rebalancing");
    for (size_t i = 0; i < c->n_assigned; i++) {
        pos[i].tp = c->assigned[i];
        pos[i].position = -1;
        /* Keep our position on partitions we still own. */
        for (size_t j = 0; j < c->n_pos; j++)
            if (c->pos[j].tp.partition == pos[i].tp.partition && strcmp(c->pos[j].tp.topic, pos[i].tp.topic) == 0)
                pos[i].position = c->pos[j].position;
        if (pos[i].position < 0) {
            int64_t committed = emb_offsets_get(b, c->group_id, pos[i].tp.topic, pos[i].tp.partition);
            pos[i].position = committed >= 0 ? committed : reset_position(c, pos[i].tp.topic, pos[i].tp.partition);
        }
    }
    free(c->pos);
    c->pos = pos;
    c->n_pos = c->n_assigned;
    c->rr = 0;
    c->known_generation = c->group->generation;
    c->epoch++;
    return HX_OK;
}

uint64_t emb_consumer_epoch(void *cimpl)
{
    emb_consumer_t *c = cimpl;
    return c->epoch;
}

int emb_consumer_new(void *impl, const char *group_id, const char *const *topics, size_t n_topics,
                     const hx_consumer_opts_t *opts, void **cimpl, hx_err_t *err)
{
    emb_t *b = impl;
    for (size_t i = 0; i < n_topics; i++)
        if (!hx_log_topic_exists(b->log, topics[i]))
            return emb_unknown_topic(topics[i], err);
    emb_consumer_t *c = calloc(1, sizeof *c);
    if (!c || !(c->topics = calloc(n_topics, sizeof *c->topics)))
        goto oom;
    c->b = b;
    c->opts = *opts;
    if (c->opts.session_timeout_ms <= 0)
        c->opts.session_timeout_ms = 10000;
    if (c->opts.max_poll_records <= 0)
        c->opts.max_poll_records = b->cfg.kafka.consumer.max_poll_records;
    c->known_generation = -1;
    snprintf(c->group_id, sizeof c->group_id, "%s", group_id);
    snprintf(c->client_id, sizeof c->client_id, "%s", opts->client_id ? opts->client_id : "helix");
    for (; c->n_topics < n_topics; c->n_topics++)
        if (!(c->topics[c->n_topics] = strdup(topics[c->n_topics])))
            goto oom;
    pthread_mutex_lock(&b->mu);
    int rc = emb_group_join(b, c, group_id, err);
    if (!rc)
        rc = sync_assignment(c, err);
    pthread_mutex_unlock(&b->mu);
    if (rc) {
        emb_consumer_close(c);
        return rc;
    }
    *cimpl = c;
    return HX_OK;
oom:
    if (c) {
        c->b = b;
        emb_consumer_close(c);
    }
    return hx_err_set(err, HX_ENOMEM, "out of memory creating a consumer");
}

void emb_consumer_close(void *cimpl)
{
    emb_consumer_t *c = cimpl;
    if (!c)
        return;
    pthread_mutex_lock(&c->b->mu);
    emb_group_leave(c->b, c);
    pthread_mutex_unlock(&c->b->mu);
    for (size_t i = 0; i < c->n_topics; i++)
        free(c->topics[i]);
    free(c->topics);
    free(c->assigned);
    free(c->pos);
    free(c);
}

/* One pass over the owned partitions from the round-robin cursor. */
static int read_once(emb_consumer_t *c, emb_stage_t *s, hx_err_t *err)
{
    size_t max_bytes = (size_t)c->b->cfg.kafka.consumer.max_partition_fetch_bytes;
    for (size_t k = 0; k < c->n_pos && (int)emb_stage_count(s) < c->opts.max_poll_records; k++) {
        struct emb_pos *p = &c->pos[(c->rr + k) % c->n_pos];
        int left = c->opts.max_poll_records - (int)emb_stage_count(s);
        int64_t next = p->position;
        hx_err_t e = {0};
        int rc = emb_stage_read(c->b, s, p->tp.topic, p->tp.partition, p->position, left, max_bytes, &next, &e);
        if (rc == HX_ERANGE) {
            /* Retention passed our position (or the log was truncated): reset. */
            p->position = reset_position(c, p->tp.topic, p->tp.partition);
            continue;
        }
        if (rc == HX_ENOTFOUND)
            continue; /* topic deleted; the next rebalance drops it */
        if (rc) {
            if (err)
                *err = e;
            return rc;
        }
        p->position = next;
    }
    if (c->n_pos)
        c->rr = (c->rr + 1) % c->n_pos;
    return HX_OK;
}

/* Counts this poller in (+1) or out (-1) of the buckets of mask; data_mu held. */
static void wait_register(emb_t *b, uint64_t mask, int d)
{
    uint64_t set = 0;
    for (int i = 0; i < 64; i++)
        if (mask >> i & 1) {
            b->wait_count[i] += d;
            if (b->wait_count[i] > 0)
                set |= 1ull << i;
        }
    uint64_t cur = __atomic_load_n(&b->wait_mask, __ATOMIC_RELAXED);
    __atomic_store_n(&b->wait_mask, (cur & ~mask) | set, __ATOMIC_SEQ_CST);
}

int emb_consumer_poll(void *cimpl, int timeout_ms, hx_fetch_t *out, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    emb_t *b = c->b;
    memset(out, 0, sizeof *out);
    emb_stage_t *s = emb_stage_new();
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory polling");
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    uint64_t mask = 0;
    for (size_t i = 0; i < c->n_topics; i++)
        mask |= emb_topic_bit(c->topics[i]);
    int rc;
    for (;;) {
        uint64_t seen = __atomic_load_n(&b->data_seq, __ATOMIC_SEQ_CST);
        /* Reads run under b->mu so a rebalance cannot change pos under us. */
        pthread_mutex_lock(&b->mu);
        rc = sync_assignment(c, err);
        if (!rc)
            rc = read_once(c, s, err);
        pthread_mutex_unlock(&b->mu);
        if (rc || emb_stage_count(s) > 0)
            break;
        int timed_out = 0;
        emb_waiter_t w = {.mask = mask};
        pthread_cond_init(&w.cv, &b->wait_attr);
        pthread_mutex_lock(&b->data_mu);
        wait_register(b, mask, 1);
        w.next = b->waiters;
        b->waiters = &w;
        /* An append since seen (to any topic) is read before sleeping; once
         * asleep, only an append to one of our buckets (or a rebalance)
         * wakes us. */
        while (!timed_out && !w.woken && __atomic_load_n(&b->data_seq, __ATOMIC_SEQ_CST) == seen)
            timed_out = pthread_cond_timedwait(&w.cv, &b->data_mu, &deadline) != 0;
        for (emb_waiter_t **pp = &b->waiters; *pp; pp = &(*pp)->next)
            if (*pp == &w) {
                *pp = w.next;
                break;
            }
        wait_register(b, mask, -1);
        pthread_mutex_unlock(&b->data_mu);
        pthread_cond_destroy(&w.cv);
        if (timed_out) {
            pthread_mutex_lock(&b->mu);
            rc = sync_assignment(c, err);
            if (!rc)
                rc = read_once(c, s, err); /* one last look */
            pthread_mutex_unlock(&b->mu);
            break;
        }
    }
    if (!rc && c->opts.fetch_wait_ms > 0 && emb_stage_count(s) > 0 &&
        (int)emb_stage_count(s) < c->opts.max_poll_records) {
        /* Asleep here the poller is no waiter: appends meanwhile wake no one. */
        hx_sleep_ms(c->opts.fetch_wait_ms);
        /* From the assignment the records so far came from. A failure
         * leaves its partition's position alone and still returns those
         * records; the next poll meets it again. */
        hx_err_t ignore;
        pthread_mutex_lock(&b->mu);
        (void)read_once(c, s, &ignore);
        pthread_mutex_unlock(&b->mu);
    }
    if (!rc)
        rc = emb_stage_finish(s, out, err);
    emb_stage_free(s);
    return rc;
}

int emb_consumer_commit(void *cimpl, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->b->mu);
    hx_assignment_t *tps = malloc((c->n_pos ? c->n_pos : 1) * sizeof *tps);
    int64_t *offs = malloc((c->n_pos ? c->n_pos : 1) * sizeof *offs);
    int rc;
    if (!tps || !offs) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory committing offsets");
    } else {
        size_t n = 0;
        for (size_t i = 0; i < c->n_pos; i++)
            if (c->pos[i].position != emb_offsets_get(c->b, c->group_id, c->pos[i].tp.topic, c->pos[i].tp.partition)) {
                tps[n] = c->pos[i].tp;
                offs[n++] = c->pos[i].position;
            }
        rc = emb_offsets_commit(c->b, c->group_id, tps, offs, n, err);
    }
    pthread_mutex_unlock(&c->b->mu);
    free(tps);
    free(offs);
    return rc;
}

int emb_consumer_commit_offset(void *cimpl, const char *topic, int32_t partition, int64_t next_offset, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    if (next_offset < 0)
        return hx_err_set(err, HX_EINVAL, "cannot commit a negative offset (%lld)", (long long)next_offset);
    hx_assignment_t tp;
    snprintf(tp.topic, sizeof tp.topic, "%s", topic);
    tp.partition = partition;
    pthread_mutex_lock(&c->b->mu);
    int rc = emb_offsets_commit(c->b, c->group_id, &tp, &next_offset, 1, err);
    pthread_mutex_unlock(&c->b->mu);
    return rc;
}

static struct emb_pos *owned(emb_consumer_t *c, const char *topic, int32_t partition, hx_err_t *err)
{
    for (size_t i = 0; i < c->n_pos; i++)
        if (c->pos[i].tp.partition == partition && strcmp(c->pos[i].tp.topic, topic) == 0)
            return &c->pos[i];
    hx_err_set(err, HX_EINVAL, "partition %s/%d is not assigned to this consumer (member %s)", topic, partition,
               c->member_id);
    return NULL;
}

int emb_consumer_seek(void *cimpl, const char *topic, int32_t partition, int64_t offset, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->b->mu);
    int rc = sync_assignment(c, err);
    struct emb_pos *p = rc ? NULL : owned(c, topic, partition, err);
    if (!rc && !p)
        rc = HX_EINVAL;
    if (p) {
        int64_t low = 0, high = 0;
        hx_log_watermarks(c->b->log, topic, partition, &low, &high, NULL);
        if (offset == HX_OFFSET_BEGINNING)
            offset = low;
        else if (offset == HX_OFFSET_END)
            offset = high;
        if (offset < low || offset > high)
            rc = hx_err_set(err, HX_ERANGE, "offset %lld is outside %s/%d (low %lld, high %lld)", (long long)offset,
                            topic, partition, (long long)low, (long long)high);
        else
            p->position = offset;
    }
    pthread_mutex_unlock(&c->b->mu);
    return rc;
}

int emb_consumer_seek_time(void *cimpl, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    int64_t off;
    int rc = emb_offset_for_time(c->b, topic, partition, ts_ms, &off, err);
    return rc ? rc : emb_consumer_seek(c, topic, partition, off, err);
}

int emb_consumer_assignment(void *cimpl, hx_assignment_t **out, size_t *n, hx_err_t *err)
{
    emb_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->b->mu);
    int rc = sync_assignment(c, err);
    *n = 0;
    *out = malloc((c->n_pos ? c->n_pos : 1) * sizeof **out);
    if (!rc && !*out)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < c->n_pos; i++)
        (*out)[(*n)++] = c->pos[i].tp;
    pthread_mutex_unlock(&c->b->mu);
    return rc;
}
