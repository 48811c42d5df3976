/* Embedded broker: lifecycle, topics, health and background maintenance. */
#include "stream/embedded/embedded.h"

#include "helix/hx_clock.h"
#include "helix/hx_logger.h"
#include "helix/hx_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Retention and compaction are cheap when nothing expired; every 10 s keeps
 * disk use close to the configured bounds without a knob of its own. */
#define MAINT_RETENTION_MS 10000

int emb_unknown_topic(const char *topic, hx_err_t *err)
{
    return hx_err_set(err, HX_ENOTFOUND,
                      "topic '%s' does not exist (create it with `helix topic create %s` or POST /v1/topics)", topic,
                      topic);
}

static int is_internal(const char *name) { return strncmp(name, "__", 2) == 0; }

static void emb_close(void *impl);

static int topic_create(void *impl, const char *name, const hx_topic_config_t *tc, hx_err_t *err)
{
    emb_t *b = impl;
    if (is_internal(name))
        return hx_err_set(err, HX_EINVAL, "topic names starting with '__' are reserved for Helix");
    hx_topic_opts_t o;
    hx_topic_opts_default(&o);
    o.partitions = tc->partitions;
    o.retention_ms = tc->retention_ms;
    o.retention_bytes = tc->retention_bytes;
    o.max_message_bytes = tc->max_message_bytes;
    o.cleanup = tc->cleanup == HX_CLEANUP_COMPACT ? HX_LOG_CLEANUP_COMPACT : HX_LOG_CLEANUP_DELETE;
    if (hx_codec_parse(tc->compression[0] ? tc->compression : "none", &o.compression))
        return hx_err_set(err, HX_EINVAL, "compression '%s' is not supported by the embedded log (use none, lz4 or zstd)",
                          tc->compression);
    return hx_log_topic_create(b->log, name, &o, err);
}

static int topic_delete(void *impl, const char *name, hx_err_t *err)
{
    emb_t *b = impl;
    if (is_internal(name))
        return hx_err_set(err, HX_EINVAL, "topic '%s' is internal to Helix and cannot be deleted", name);
    int rc = hx_log_topic_delete(((emb_t *)impl)->log, name, err);
    if (rc == HX_ENOTFOUND)
        return emb_unknown_topic(name, err);
    if (rc == 0)
        emb_notify_data(b); /* wake pollers so they notice */
    return rc;
}

static int topic_list(void *impl, hx_name_list_t *out, hx_err_t *err)
{
    emb_t *b = impl;
    char **names;
    size_t n;
    memset(out, 0, sizeof *out);
    int rc = hx_log_topic_list(b->log, &names, &n, err);
    if (rc)
        return rc;
    out->names = calloc(n ? n : 1, sizeof *out->names);
    if (!out->names) {
        hx_log_names_free(names, n);
        return hx_err_set(err, HX_ENOMEM, "out of memory listing topics");
    }
    for (size_t i = 0; i < n; i++) {
        if (is_internal(names[i])) {
            free(names[i]);
            continue;
        }
        out->names[out->count++] = names[i];
    }
    free(names);
    return HX_OK;
}

static int topic_describe(void *impl, const char *name, hx_topic_info_t *out, hx_err_t *err)
{
    emb_t *b = impl;
    hx_log_topic_info_t li;
    memset(out, 0, sizeof *out);
    int rc = hx_log_topic_describe(b->log, name, &li, err);
    if (rc == HX_ENOTFOUND)
        return emb_unknown_topic(name, err);
    if (rc)
        return rc;
    snprintf(out->name, sizeof out->name, "%s", li.name);
    out->config_known = 1;
    out->config.partitions = li.n_partitions;
    out->config.retention_ms = li.opts.retention_ms;
    out->config.retention_bytes = li.opts.retention_bytes;
    snprintf(out->config.compression, sizeof out->config.compression, "%s", hx_codec_name(li.opts.compression));
    out->config.cleanup = li.opts.cleanup == HX_LOG_CLEANUP_COMPACT ? HX_CLEANUP_COMPACT : HX_CLEANUP_DELETE;
    out->config.max_message_bytes = li.opts.max_message_bytes ? li.opts.max_message_bytes : b->cfg.event_log.max_message_bytes;
    out->partitions = calloc((size_t)li.n_partitions, sizeof *out->partitions);
    if (!out->partitions) {
        hx_log_topic_info_free(&li);
        return hx_err_set(err, HX_ENOMEM, "out of memory describing topic '%s'", name);
    }
    for (int i = 0; i < li.n_partitions; i++) {
        out->partitions[i].partition = li.partitions[i].partition;
        out->partitions[i].low_watermark = li.partitions[i].low_watermark;
        out->partitions[i].high_watermark = li.partitions[i].high_watermark;
        out->partitions[i].bytes = li.partitions[i].bytes;
        out->partitions[i].segments = li.partitions[i].segments;
    }
    hx_log_topic_info_free(&li);
    return HX_OK;
}

static int health(void *impl, char *detail, size_t len)
{
    emb_t *b = impl;
    if (hx_health_check_dir_writable(b->log_dir, detail, len) != 0)
        return HX_EIO;
    hx_log_stats_t st;
    hx_log_stats(b->log, &st);
    snprintf(detail, len, "embedded log at %s: %d topics, %d partitions, %lld bytes", b->log_dir, st.topics,
             st.partitions, (long long)st.bytes);
    return HX_OK;
}

/* kafka_consumer_lag_records for every group and every partition it has
 * committed or is assigned, refreshed each maintenance tick (a gauge set
 * only on commit never shows a group that reads without committing). */
static void export_lag(emb_t *b)
{
    hx_name_list_t groups;
    if (!b->m_lag || emb_group_list(b, &groups, NULL))
        return;
    for (size_t i = 0; i < groups.count; i++) {
        hx_group_info_t gi;
        if (emb_group_describe(b, groups.names[i], &gi, NULL))
            continue;
        for (size_t k = 0; k < gi.n_offsets; k++) {
            char part[16];
            snprintf(part, sizeof part, "%d", gi.offsets[k].partition);
            const char *l[] = {"embedded", gi.group_id, gi.offsets[k].topic, part};
            hx_gauge_set_labels(b->m_lag, l, (double)gi.offsets[k].lag);
        }
        hx_group_info_free(&gi);
    }
    hx_name_list_free(&groups);
}

/* Publishes per-partition size and lag gauges and runs retention/compaction. */
static void maintain(emb_t *b, int run_retention)
{
    export_lag(b);
    hx_err_t err = {0};
    if (run_retention) {
        int deleted = 0;
        if (hx_log_enforce_retention(b->log, &deleted, &err))
            HX_WARN("log", "retention: %s", err.msg);
        else if (deleted)
            HX_INFO("log", "retention deleted %d segment(s)", deleted);
    }
    char **names;
    size_t n;
    if (hx_log_topic_list(b->log, &names, &n, &err))
        return;
    for (size_t i = 0; i < n; i++) {
        hx_log_topic_info_t li;
        if (hx_log_topic_describe(b->log, names[i], &li, &err))
            continue;
        if (run_retention && li.opts.cleanup == HX_LOG_CLEANUP_COMPACT) {
            int64_t removed = 0;
            if (hx_log_compact(b->log, names[i], &removed, &err))
                HX_WARN("log", "compacting %s: %s", names[i], err.msg);
        }
        for (int p = 0; b->metrics && p < li.n_partitions; p++) {
            char part[16];
            snprintf(part, sizeof part, "%d", p);
            const char *labels[] = {names[i], part};
            hx_gauge_set_labels(b->m_log_bytes, labels, (double)li.partitions[p].bytes);
            hx_gauge_set_labels(b->m_log_segments, labels, (double)li.partitions[p].segments);
        }
        hx_log_topic_info_free(&li);
    }
    hx_log_names_free(names, n);
}

static void *maint_main(void *arg)
{
    emb_t *b = arg;
    uint64_t last_retention = hx_mono_ns();
    pthread_mutex_lock(&b->stop_mu);
    while (!b->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&b->stop_cond, &b->stop_mu, &ts);
        if (b->stopping)
            break;
        pthread_mutex_unlock(&b->stop_mu);
        pthread_mutex_lock(&b->mu);
        emb_groups_expire(b, hx_now_ms());
        pthread_mutex_unlock(&b->mu);
        int due = (hx_mono_ns() - last_retention) / 1000000 >= MAINT_RETENTION_MS;
        if (due)
            last_retention = hx_mono_ns();
        maintain(b, due);
        pthread_mutex_lock(&b->stop_mu);
    }
    pthread_mutex_unlock(&b->stop_mu);
    return NULL;
}

static int topic_limits(void *impl, const char *name, int *partitions, int64_t *max_message_bytes, hx_err_t *err)
{
    emb_t *b = impl;
    int rc = hx_log_topic_limits(b->log, name, partitions, max_message_bytes, err);
    if (rc == HX_ENOTFOUND)
        return emb_unknown_topic(name, err);
    if (!rc && !*max_message_bytes)
        *max_message_bytes = b->cfg.event_log.max_message_bytes; /* as topic_describe reports it */
    return rc;
}

static const hx_broker_ops_t emb_ops = {
    .name = "embedded",
    .close = emb_close,
    .health = health,
    .topic_create = topic_create,
    .topic_delete = topic_delete,
    .topic_list = topic_list,
    .topic_describe = topic_describe,
    .topic_limits = topic_limits,
    .produce = emb_produce,
    .produce_batch = emb_produce_batch,
    .produce_async = emb_produce_async,
    .flush = emb_flush,
    .fetch = emb_fetch,
    .offset_for_time = emb_offset_for_time,
    .group_list = emb_group_list,
    .group_describe = emb_group_describe,
    .consumer_new = emb_consumer_new,
    .consumer_close = emb_consumer_close,
    .consumer_poll = emb_consumer_poll,
    .consumer_commit = emb_consumer_commit,
    .consumer_commit_offset = emb_consumer_commit_offset,
    .consumer_seek = emb_consumer_seek,
    .consumer_seek_time = emb_consumer_seek_time,
    .consumer_assignment = emb_consumer_assignment,
    .consumer_epoch = emb_consumer_epoch,
};

static void init_metrics(emb_t *b)
{
    if (!b->metrics)
        return;
    b->m_sent = hx_metrics_counter(b->metrics, "kafka_producer_record_send_total",
                                   "Records acknowledged by the event log", "backend,topic");
    b->m_batch_avg = hx_metrics_gauge(b->metrics, "kafka_producer_batch_size_avg",
                                      "Average records per appended batch since start", "backend");
    b->m_lag = hx_metrics_gauge(b->metrics, "kafka_consumer_lag_records",
                                "High watermark minus committed offset", "backend,group,topic,partition");
    b->m_log_bytes = hx_metrics_gauge(b->metrics, "helix_log_bytes", "Bytes of segment files", "topic,partition");
    b->m_log_segments = hx_metrics_gauge(b->metrics, "helix_log_segments", "Segment files", "topic,partition");
}

int hx_embedded_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, const hx_broker_ops_t **ops, void **impl,
                            hx_err_t *err)
{
    emb_t *b = calloc(1, sizeof *b);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the embedded broker");
    b->cfg = *cfg;
    b->metrics = metrics;
    snprintf(b->log_dir, sizeof b->log_dir, "%s/log", cfg->node.data_dir);
    if (mkdir(cfg->node.data_dir, 0755) && errno != EEXIST) {
        int e = errno;
        free(b);
        return hx_err_set(err, HX_EIO, "cannot create data dir %s: %s (set --data-dir or node.data_dir)",
                          cfg->node.data_dir, strerror(e));
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->data_mu, NULL);
    pthread_mutex_init(&b->qmu, NULL);
    pthread_mutex_init(&b->stop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_condattr_init(&b->wait_attr);
    pthread_condattr_setclock(&b->wait_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->qcond, &ca);
    pthread_cond_init(&b->qdone, &ca);
    pthread_cond_init(&b->stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    init_metrics(b);

    hx_log_opts_t lo;
    hx_log_opts_from_config(&lo, cfg);
    int rc = hx_log_open(b->log_dir, &lo, &b->log, err);
    if (rc) {
        if (rc == HX_EUNAVAIL)
            hx_err_wrap(err, "data dir %s is in use by another helix process; stop it or point --data-dir elsewhere",
                        cfg->node.data_dir);
        goto fail;
    }
    if (!hx_log_topic_exists(b->log, HX_OFFSETS_TOPIC)) {
        hx_topic_opts_t o;
        hx_topic_opts_default(&o);
        o.cleanup = HX_LOG_CLEANUP_COMPACT;
        if ((rc = hx_log_topic_create(b->log, HX_OFFSETS_TOPIC, &o, err)))
            goto fail;
    }
    if ((rc = emb_offsets_load(b, err)))
        goto fail;
    if (cfg->event_log.fsync == HX_FSYNC_ALWAYS) {
        emb_pool_start(&b->pool, EMB_POOL_MAX); /* with no worker, appends just run in turn */
        b->pool_on = 1;
    }
    if (pthread_create(&b->sender, NULL, emb_sender_main, b)) {
        rc = hx_err_set(err, HX_ENOMEM, "cannot start the producer thread");
        goto fail;
    }
    if (pthread_create(&b->maint, NULL, maint_main, b)) {
        __atomic_store_n(&b->stopping, 1, __ATOMIC_RELEASE);
        pthread_mutex_lock(&b->qmu);
        pthread_cond_broadcast(&b->qcond);
        pthread_mutex_unlock(&b->qmu);
        pthread_join(b->sender, NULL);
        rc = hx_err_set(err, HX_ENOMEM, "cannot start the maintenance thread");
        goto fail;
    }
    *ops = &emb_ops;
    *impl = b;
    return HX_OK;
fail:
    if (b->pool_on)
        emb_pool_stop(&b->pool);
    emb_offsets_free(b);
    hx_log_close(b->log);
    free(b);
    return rc;
}

static void emb_close(void *impl)
{
    emb_t *b = impl;
    emb_flush(b, 30000, NULL);
    pthread_mutex_lock(&b->stop_mu);
    __atomic_store_n(&b->stopping, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&b->stop_cond);
    pthread_mutex_unlock(&b->stop_mu);
    pthread_mutex_lock(&b->qmu);
    pthread_cond_broadcast(&b->qcond);
    pthread_mutex_unlock(&b->qmu);
    pthread_join(b->maint, NULL);
    pthread_join(b->sender, NULL);
    if (b->pool_on)
        emb_pool_stop(&b->pool);
    emb_groups_free(b);
    emb_offsets_free(b);
    hx_log_close(b->log);
    pthread_mutex_destroy(&b->mu);
    pthread_mutex_destroy(&b->data_mu);
    pthread_mutex_destroy(&b->qmu);
    pthread_mutex_destroy(&b->stop_mu);
    pthread_condattr_destroy(&b->wait_attr);
    pthread_cond_destroy(&b->qcond);
    pthread_cond_destroy(&b->qdone);
    pthread_cond_destroy(&b->stop_cond);
    free(b);
}
