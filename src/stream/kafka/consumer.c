/* Consumer groups on Kafka: one librdkafka consumer per hx consumer, range
 * assignment, manual commits only. A new consumer waits for its first
 * assignment and pins "latest" to the high watermark at that moment, so
 * records produced after hx_consumer_new returns are seen, as on the
 * embedded log. "latest" is ours, not librdkafka's: its reset is asked for
 * earliest and partitions without a committed offset are held until pinned,
 * because a reset to END that librdkafka restarts after the pin (an outdated
 * offset reply) would skip the records produced in between; a restart to
 * BEGINNING only delivers records below the pin, which are dropped. */
#include "stream/kafka/kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pos_clear(kf_consumer_t *c)
{
    for (size_t i = 0; i < c->n_pos; i++)
        free(c->pos[i].topic);
    free(c->pos);
    c->pos = NULL;
    c->n_pos = 0;
}

static kf_pos_t *pos_find(kf_consumer_t *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->n_pos; i++)
        if (c->pos[i].partition == partition && strcmp(c->pos[i].topic, topic) == 0)
            return &c->pos[i];
    return NULL;
}

/* Drops stashed records of topic/partition (all when topic is NULL). */
static void stash_drop(kf_consumer_t *c, const char *topic, int32_t partition)
{
    size_t w = 0;
    for (size_t i = 0; i < c->n_stash; i++) {
        rd_kafka_message_t *m = c->stash[i];
        if (!topic || (m->partition == partition && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0))
            rd_kafka_message_destroy(m);
        else
            c->stash[w++] = m;
    }
    c->n_stash = w;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kf_consumer_t *c = opaque;
    if (e != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        HX_DEBUG("kafka", "group %s: %d partition(s) revoked", c->group, parts ? parts->cnt : 0);
        rd_kafka_assign(rk, NULL);
        pthread_mutex_lock(&c->mu);
        pos_clear(c);
        pthread_mutex_unlock(&c->mu);
        stash_drop(c, NULL, 0);
        return;
    }
    /* Offsets stay INVALID: librdkafka starts each partition at the group's
     * committed offset, else at auto.offset.reset. (Asking for committed
     * offsets from inside this callback stalls the group coordinator.) */
    kf_pos_t *np = calloc((size_t)parts->cnt + 1, sizeof *np);
    for (int i = 0; np && i < parts->cnt; i++) {
        np[i].topic = strdup(parts->elems[i].topic);
        np[i].partition = parts->elems[i].partition;
        np[i].next = parts->elems[i].offset >= 0 ? parts->elems[i].offset : -1;
        np[i].held = np[i].next < 0 && c->opts.auto_offset_reset == HX_RESET_LATEST;
    }
    c->epoch++;
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts);
    if (ae)
        HX_ERROR("kafka", "group %s: assigning %d partition(s) failed: %s", c->group, parts->cnt, rd_kafka_err2str(ae));
    if (c->assigned_once)
        HX_INFO("kafka", "group %s: rebalance assigned %d partition(s)", c->group, parts->cnt);
    pthread_mutex_lock(&c->mu);
    pos_clear(c);
    c->pos = np;
    c->n_pos = np ? (size_t)parts->cnt : 0;
    c->assigned_once = 1;
    c->pin_pending = c->opts.auto_offset_reset == HX_RESET_LATEST;
    pthread_mutex_unlock(&c->mu);
}

static void registry_add(kf_consumer_t *c)
{
    pthread_mutex_lock(&c->k->mu);
    kf_group_t *g = kf_group_get_locked(c->k, c->group, 1);
    if (g) {
        c->next_member = g->members;
        g->members = c;
    }
    pthread_mutex_unlock(&c->k->mu);
}

static void registry_remove(kf_consumer_t *c)
{
    pthread_mutex_lock(&c->k->mu);
    kf_group_t *g = kf_group_get_locked(c->k, c->group, 0);
    for (kf_consumer_t **pp = g ? &g->members : NULL; pp && *pp; pp = &(*pp)->next_member)
        if (*pp == c) {
            *pp = c->next_member;
            break;
        }
    pthread_mutex_unlock(&c->k->mu);
}

/* kafka_consumer_lag_records from librdkafka's statistics, every second for
 * every partition the member holds, whether or not it commits (a gauge set
 * only on commit never shows a group that reads without committing). Lag is
 * the high watermark minus the committed offset, or minus the read position
 * (app_offset) before the first commit. */
static int consumer_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    kf_consumer_t *c = opaque;
    if (!c->k->m_lag)
        return 0;
    json_t *root = json_loadb(json, len, 0, NULL);
    const char *tname, *pname;
    json_t *t, *p;
    json_object_foreach(json_object_get(root, "topics"), tname, t) {
        json_object_foreach(json_object_get(t, "partitions"), pname, p) {
            json_int_t hi = json_integer_value(json_object_get(p, "hi_offset"));
            json_int_t committed = json_integer_value(json_object_get(p, "committed_offset"));
            json_int_t pos = json_integer_value(json_object_get(p, "app_offset"));
            const char *state = json_string_value(json_object_get(p, "fetch_state"));
            if (strcmp(pname, "-1") == 0 || !state || strcmp(state, "none") == 0 || hi < 0)
                continue; /* the internal unassigned partition, or one this member does not fetch */
            double v = committed >= 0 ? (double)(hi - committed) : pos >= 0 ? (double)(hi - pos) : -1;
            if (v >= 0)
                hx_gauge_set_labels(c->k->m_lag, (const char *[]){"kafka", c->group, tname, pname}, v);
        }
    }
    json_decref(root);
    return 0; /* librdkafka frees json */
}

static int make_handle(kf_consumer_t *c, const char *client_id, hx_err_t *err)
{
    const hx_config_t *cfg = &c->k->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char st[16], hb[16], fmb[16], fwm[16], mpf[16];
    int session = c->opts.session_timeout_ms > 0 ? c->opts.session_timeout_ms : 10000;
    snprintf(st, sizeof st, "%d", session);
    snprintf(hb, sizeof hb, "%d", session / 10 > 100 ? session / 10 : 100);
    snprintf(fmb, sizeof fmb, "%d", cfg->kafka.consumer.fetch_min_bytes);
    snprintf(fwm, sizeof fwm, "%d", cfg->kafka.consumer.fetch_max_wait_ms);
    snprintf(mpf, sizeof mpf, "%d", cfg->kafka.consumer.max_partition_fetch_bytes);
    int rc = kf_conf_base(c->k, conf, client_id, err);
    if (rc || (rc = kf_conf_set(conf, "group.id", c->group, err)) ||
        (rc = kf_conf_set(conf, "enable.auto.commit", "false", err)) ||
        (rc = kf_conf_set(conf, "enable.auto.offset.store", "false", err)) ||
        (rc = kf_conf_set(conf, "auto.offset.reset", "earliest", err)) || /* latest: see the top */
        (rc = kf_conf_set(conf, "session.timeout.ms", st, err)) ||
        (rc = kf_conf_set(conf, "heartbeat.interval.ms", hb, err)) ||
        (rc = kf_conf_set(conf, "partition.assignment.strategy", "range", err)) ||
        (rc = kf_conf_set(conf, "fetch.min.bytes", fmb, err)) ||
        (rc = kf_conf_set(conf, "fetch.wait.max.ms", fwm, err)) ||
        (rc = kf_conf_set(conf, "max.partition.fetch.bytes", mpf, err)) ||
        (rc = kf_conf_set(conf, "statistics.interval.ms", c->k->m_lag ? "1000" : "0", err))) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    if (c->k->m_lag)
        rd_kafka_conf_set_stats_cb(conf, consumer_stats_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    char errstr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk)
        return hx_err_set(err, HX_ECONFIG, "kafka: creating a consumer for group '%s' failed: %s", c->group, errstr);
    rd_kafka_poll_set_consumer(c->rk);
    return HX_OK;
}

static int stash_push(kf_consumer_t *c, rd_kafka_message_t *m)
{
    rd_kafka_message_t **ns = realloc(c->stash, (c->n_stash + 1) * sizeof *ns);
    if (!ns) {
        rd_kafka_message_destroy(m);
        return HX_ENOMEM;
    }
    c->stash = ns;
    c->stash[c->n_stash++] = m;
    return HX_OK;
}

/* Partitions without a committed offset start at the high watermark of now,
 * not of the consumer's first fetch (which may come after the caller's next
 * produce). Returns 0 once pinned, else the librdkafka error. */
static rd_kafka_resp_err_t pin_latest(kf_consumer_t *c)
{
    pthread_mutex_lock(&c->mu);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->n_pos + 1);
    for (size_t i = 0; i < c->n_pos; i++)
        rd_kafka_topic_partition_list_add(l, c->pos[i].topic, c->pos[i].partition);
    pthread_mutex_unlock(&c->mu);
    rd_kafka_resp_err_t e = l->cnt ? rd_kafka_committed(c->rk, l, KF_ADMIN_TIMEOUT_MS) : RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; !e && i < l->cnt; i++) {
        int64_t lo, hi;
        if (l->elems[i].offset >= 0)
            continue;
        if (kf_watermarks(c->k, l->elems[i].topic, l->elems[i].partition, &lo, &hi, NULL))
            e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        l->elems[i].offset = hi;
    }
    /* Every partition is re-assigned at an explicit offset (the committed
     * one, else the high watermark): the assignment of the rebalance started
     * librdkafka's own lookup, which must not decide where reading starts. */
    if (!e && l->cnt)
        e = rd_kafka_assign(c->rk, l);
    if (!e) {
        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < l->cnt; i++) {
            kf_pos_t *p = pos_find(c, l->elems[i].topic, l->elems[i].partition);
            if (p && l->elems[i].offset >= 0) {
                p->next = l->elems[i].offset;
                p->held = 0;
            }
        }
        c->pin_pending = 0;
        pthread_mutex_unlock(&c->mu);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return e;
}

int kf_consumer_new(void *impl, const char *group_id, const char *const *topics, size_t n_topics,
                    const hx_consumer_opts_t *opts, void **cimpl, hx_err_t *err)
{
    kf_t *k = impl;
    int rc, parts;
    for (size_t i = 0; i < n_topics; i++)
        if ((rc = kf_topic_partitions(k, topics[i], &parts, err)))
            return rc;
    kf_consumer_t *c = calloc(1, sizeof *c);
    if (!c || !(c->group = strdup(group_id))) {
        free(c);
        return hx_err_set(err, HX_ENOMEM, "out of memory creating a consumer");
    }
    c->k = k;
    c->opts = *opts;
    c->max_poll = opts->max_poll_records > 0 ? opts->max_poll_records : k->cfg.kafka.consumer.max_poll_records;
    pthread_mutex_init(&c->mu, NULL);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n_topics);
    if ((rc = make_handle(c, opts->client_id ? opts->client_id : "helix-consumer", err)))
        goto fail;
    for (size_t i = 0; i < n_topics; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, l);
    if (e) {
        rc = kf_err(err, e, "subscribing group", group_id);
        goto fail;
    }
    /* Wait for the first assignment so a caller that produces next is seen
     * (latest) and assignment() answers; records that arrive meanwhile are
     * kept for the first poll. */
    int session = opts->session_timeout_ms > 0 ? opts->session_timeout_ms : 10000;
    uint64_t end = hx_mono_ns() + (uint64_t)(session * 2 + 10000) * 1000000;
    while (!c->assigned_once && hx_mono_ns() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
        if (m && !m->err)
            stash_push(c, m);
        else if (m)
            rd_kafka_message_destroy(m);
    }
    if (!c->assigned_once) {
        rc = hx_err_set(err, HX_ETIMEOUT,
                        "kafka: group '%s' got no partition assignment within %d s (is the group coordinator "
                        "reachable?)", group_id, (session * 2 + 10000) / 1000);
        goto fail;
    }
    if (opts->auto_offset_reset == HX_RESET_LATEST) {
        /* Retried: on a loaded cluster the coordinator may not answer at once. */
        while ((e = pin_latest(c)) && hx_mono_ns() < end)
            hx_sleep_ms(100);
        if (e) {
            rc = kf_err(err, e, "reading the committed offsets of group", group_id);
            goto fail;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    registry_add(c);
    *cimpl = c;
    return HX_OK;
fail:
    rd_kafka_topic_partition_list_destroy(l);
    if (c->rk) {
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    stash_drop(c, NULL, 0);
    free(c->stash);
    pos_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c->group);
    free(c);
    return rc;
}

void kf_consumer_close(void *cimpl)
{
    kf_consumer_t *c = cimpl;
    registry_remove(c);
    rd_kafka_consumer_close(c->rk); /* leaves the group: the others rebalance */
    stash_drop(c, NULL, 0);
    free(c->stash);
    rd_kafka_destroy(c->rk);
    pos_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c->group);
    free(c);
}

int kf_consumer_poll(void *cimpl, int timeout_ms, hx_fetch_t *out, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->mu);
    int pin = c->pin_pending;
    pthread_mutex_unlock(&c->mu);
    if (pin) {
        /* A rebalance gave this "latest" consumer partitions with no
         * committed offset; until they are pinned their records are held. */
        rd_kafka_resp_err_t pe = pin_latest(c);
        if (pe)
            HX_DEBUG("kafka", "group %s: pinning latest offsets: %s (retried next poll)", c->group, rd_kafka_err2str(pe));
    }
    rd_kafka_message_t **ms = calloc((size_t)c->max_poll, sizeof *ms);
    if (!ms)
        return hx_err_set(err, HX_ENOMEM, "out of memory polling");
    size_t n = 0;
    while (n < (size_t)c->max_poll && c->n_stash) {
        ms[n++] = c->stash[0];
        memmove(c->stash, c->stash + 1, --c->n_stash * sizeof *c->stash);
    }
    uint64_t end = hx_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    int rc = HX_OK;
    while (n < (size_t)c->max_poll) {
        int64_t left = n ? 0 : (int64_t)(end - hx_mono_ns()) / 1000000;
        if (!n && hx_mono_ns() >= end)
            left = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, (int)(left > 0 ? left : 0));
        if (!m) {
            if (n || hx_mono_ns() >= end)
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                char fatal[256];
                if (rd_kafka_fatal_error(c->rk, fatal, sizeof fatal)) {
                    rc = hx_err_set(err, HX_EUNAVAIL, "kafka: group %s consumer failed: %s", c->group, fatal);
                    rd_kafka_message_destroy(m);
                    break;
                }
                HX_DEBUG("kafka", "group %s: %s", c->group, rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        ms[n++] = m;
    }
    /* A rebalance served inside this call may have revoked partitions whose
     * records are already collected: their new owner reads them from the
     * last commit, so handing them out here would duplicate them. */
    pthread_mutex_lock(&c->mu);
    size_t kept = 0;
    rd_kafka_topic_partition_list_t *reseek = NULL;
    for (size_t i = 0; i < n; i++) {
        kf_pos_t *p = pos_find(c, rd_kafka_topic_name(ms[i]->rkt), ms[i]->partition);
        if (p && p->held) {
            p = NULL; /* not pinned yet: the pin re-delivers from its offset */
        } else if (p && p->next >= 0 && ms[i]->offset < p->next) {
            /* Behind the position: librdkafka restarted a superseded offset
             * lookup (see the top). Skip what was delivered or sought past
             * and seek back to the position, once per poll. */
            if (!reseek)
                reseek = rd_kafka_topic_partition_list_new(1);
            if (!rd_kafka_topic_partition_list_find(reseek, p->topic, p->partition))
                rd_kafka_topic_partition_list_add(reseek, p->topic, p->partition)->offset = p->next;
            p = NULL;
        }
        if (p)
            ms[kept++] = ms[i];
        else
            rd_kafka_message_destroy(ms[i]);
    }
    n = kept;
    pthread_mutex_unlock(&c->mu);
    if (reseek) {
        rd_kafka_error_t *se = rd_kafka_seek_partitions(c->rk, reseek, 0); /* async: poll must not wait */
        if (se) {
            HX_DEBUG("kafka", "group %s: repeating a seek: %s", c->group, rd_kafka_error_string(se));
            rd_kafka_error_destroy(se);
        }
        rd_kafka_topic_partition_list_destroy(reseek);
    }
    if (!rc)
        rc = kf_fetch_build(ms, n, out, err);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        kf_pos_t *p = pos_find(c, rd_kafka_topic_name(ms[i]->rkt), ms[i]->partition);
        if (p && ms[i]->offset + 1 > p->next)
            p->next = ms[i]->offset + 1;
        rd_kafka_message_destroy(ms[i]);
    }
    pthread_mutex_unlock(&c->mu);
    free(ms);
    return rc;
}

static int commit_list(kf_consumer_t *c, rd_kafka_topic_partition_list_t *l, hx_err_t *err)
{
    if (l->cnt == 0)
        return HX_OK;
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 0);
    if (e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return HX_OK;
    if (e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
        e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        return hx_err_set(err, HX_ECONFLICT,
                          "kafka: group %s is rebalancing; the commit was refused and uncommitted records will be "
                          "delivered again", c->group);
    if (e)
        return kf_err(err, e, "committing offsets of group", c->group);
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].err)
            return kf_err(err, l->elems[i].err, "committing offsets of group", c->group);
        kf_group_record_commit(c->k, c->group, l->elems[i].topic, l->elems[i].partition, l->elems[i].offset);
        kf_update_lag(c->k, c->group, l->elems[i].topic, l->elems[i].partition, l->elems[i].offset);
    }
    return HX_OK;
}

int kf_consumer_commit(void *cimpl, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->mu);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->n_pos + 1);
    for (size_t i = 0; i < c->n_pos; i++)
        if (c->pos[i].next >= 0)
            rd_kafka_topic_partition_list_add(l, c->pos[i].topic, c->pos[i].partition)->offset = c->pos[i].next;
    pthread_mutex_unlock(&c->mu);
    int rc = commit_list(c, l, err);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int kf_consumer_commit_offset(void *cimpl, const char *topic, int32_t partition, int64_t next_offset, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    if (next_offset < 0)
        return hx_err_set(err, HX_EINVAL, "commit offset must be >= 0, got %lld", (long long)next_offset);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next_offset;
    int rc = commit_list(c, l, err);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int kf_consumer_seek(void *cimpl, const char *topic, int32_t partition, int64_t offset, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->mu);
    int assigned = pos_find(c, topic, partition) != NULL;
    pthread_mutex_unlock(&c->mu);
    if (!assigned)
        return hx_err_set(err, HX_EINVAL, "partition %d of topic '%s' is not assigned to this consumer", partition,
                          topic);
    int64_t lo, hi;
    int rc = kf_watermarks(c->k, topic, partition, &lo, &hi, err);
    if (rc)
        return rc;
    if (offset == HX_OFFSET_BEGINNING)
        offset = lo;
    else if (offset == HX_OFFSET_END)
        offset = hi;
    if (offset < lo || offset > hi)
        return hx_err_set(err, HX_ERANGE, "offset %lld is outside %s/%d's readable range [%lld, %lld]",
                          (long long)offset, topic, partition, (long long)lo, (long long)hi);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_error_t *se = rd_kafka_seek_partitions(c->rk, l, KF_ADMIN_TIMEOUT_MS);
    rd_kafka_resp_err_t e = se ? rd_kafka_error_code(se) : l->elems[0].err;
    if (se)
        rd_kafka_error_destroy(se);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        /* A partition whose fetcher has not started yet refuses seeks;
         * re-assigning every partition at its position achieves the same. */
        pthread_mutex_lock(&c->mu);
        l = rd_kafka_topic_partition_list_new((int)c->n_pos + 1);
        for (size_t i = 0; i < c->n_pos; i++) {
            int me = c->pos[i].partition == partition && strcmp(c->pos[i].topic, topic) == 0;
            /* -1 is "unknown" here but OFFSET_END to librdkafka: unknown
             * positions stay INVALID (committed offset, else the reset). */
            rd_kafka_topic_partition_list_add(l, c->pos[i].topic, c->pos[i].partition)->offset =
                me ? offset : c->pos[i].next >= 0 ? c->pos[i].next : RD_KAFKA_OFFSET_INVALID;
        }
        pthread_mutex_unlock(&c->mu);
        e = rd_kafka_assign(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e)
            return kf_err(err, e, "seeking in topic", topic);
    }
    stash_drop(c, topic, partition);
    pthread_mutex_lock(&c->mu);
    kf_pos_t *p = pos_find(c, topic, partition);
    if (p)
        p->next = offset;
    pthread_mutex_unlock(&c->mu);
    return HX_OK;
}

int kf_consumer_seek_time(void *cimpl, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    int64_t off;
    int rc = kf_offset_for_time(c->k, topic, partition, ts_ms, &off, err);
    return rc ? rc : kf_consumer_seek(c, topic, partition, off, err);
}

int kf_consumer_assignment(void *cimpl, hx_assignment_t **out, size_t *n, hx_err_t *err)
{
    kf_consumer_t *c = cimpl;
    pthread_mutex_lock(&c->mu);
    *n = c->n_pos;
    *out = calloc(c->n_pos + 1, sizeof **out);
    if (*out)
        for (size_t i = 0; i < c->n_pos; i++) {
            snprintf((*out)[i].topic, sizeof (*out)[i].topic, "%s", c->pos[i].topic);
            (*out)[i].partition = c->pos[i].partition;
        }
    pthread_mutex_unlock(&c->mu);
    if (!*out) {
        *n = 0;
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    return HX_OK;
}

uint64_t kf_consumer_epoch(void *cimpl)
{
    kf_consumer_t *c = cimpl;
    return c->epoch;
}
