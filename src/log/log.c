/* The log: a directory of topics, opened by one process at a time. */
#include "log_internal.h"

#include "helix/hx_logger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void hx_log_opts_default(hx_log_opts_t *o)
{
    o->fsync = HX_FSYNC_INTERVAL;
    o->flush_interval_ms = 100;
    o->segment_bytes = 64 << 20;
    o->max_message_bytes = 1 << 20;
    o->index_interval_bytes = 4096;
}

void hx_log_opts_from_config(hx_log_opts_t *o, const hx_config_t *cfg)
{
    o->fsync = cfg->event_log.fsync;
    o->flush_interval_ms = cfg->event_log.flush_interval_ms;
    o->segment_bytes = cfg->event_log.segment_bytes;
    o->max_message_bytes = cfg->event_log.max_message_bytes;
    o->index_interval_bytes = cfg->event_log.index_interval_bytes;
}

hx_topic_t *hx_log_find_topic(hx_log_t *log, const char *name, hx_err_t *err)
{
    for (size_t i = 0; i < log->ntopics; i++)
        if (strcmp(log->topics[i]->name, name) == 0)
            return log->topics[i];
    hx_err_set(err, HX_ENOTFOUND, "topic '%s' does not exist; create it with `helix topic create %s`", name, name);
    return NULL;
}

hx_partition_t *hx_log_find_part(hx_log_t *log, const char *topic, int partition, hx_err_t *err)
{
    hx_topic_t *t = hx_log_find_topic(log, topic, err);
    if (!t)
        return NULL;
    if (partition < 0 || partition >= t->nparts) {
        hx_err_set(err, HX_ENOTFOUND, "topic '%s' has no partition %d (it has %d: 0..%d)", topic, partition,
                   t->nparts, t->nparts - 1);
        return NULL;
    }
    return &t->parts[partition];
}

static int opts_check(const hx_log_opts_t *o, hx_err_t *err)
{
    if (o->fsync != HX_FSYNC_ALWAYS && o->fsync != HX_FSYNC_INTERVAL && o->fsync != HX_FSYNC_NEVER)
        return hx_err_set(err, HX_EINVAL, "fsync policy must be always, interval or never");
    if (o->flush_interval_ms < 1)
        return hx_err_set(err, HX_EINVAL, "flush_interval_ms must be >= 1, got %d", o->flush_interval_ms);
    if (o->segment_bytes < 1024 || o->segment_bytes > (1LL << 30))
        return hx_err_set(err, HX_EINVAL, "segment_bytes must be 1 KiB..1 GiB, got %lld", (long long)o->segment_bytes);
    if (o->max_message_bytes < 1 || o->max_message_bytes > (1LL << 30))
        return hx_err_set(err, HX_EINVAL, "max_message_bytes must be 1..1 GiB, got %lld",
                          (long long)o->max_message_bytes);
    if (o->index_interval_bytes < 1)
        return hx_err_set(err, HX_EINVAL, "index_interval_bytes must be >= 1, got %d", o->index_interval_bytes);
    return HX_OK;
}

static int load_topics(hx_log_t *log, hx_err_t *err)
{
    DIR *d = opendir(log->dir);
    if (!d)
        return hx_err_set(err, HX_EIO, "cannot open log directory %s: %s", log->dir, strerror(errno));
    struct dirent *de;
    int rc = HX_OK;
    while (rc == HX_OK && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (hx_topic_name_valid(nm, NULL) != HX_OK)
            continue;
        char meta[4096];
        struct stat st;
        snprintf(meta, sizeof meta, "%s/%s/topic.meta", log->dir, nm);
        if (stat(meta, &st) != 0) {
            snprintf(meta, sizeof meta, "%s/%s", log->dir, nm);
            if (stat(meta, &st) == 0 && S_ISDIR(st.st_mode))
                HX_WARN(HX_LOG_COMP, "ignoring %s: no topic.meta (interrupted create or delete)", meta);
            continue;
        }
        hx_topic_t *t;
        if ((rc = hx_topic_load(log, nm, &t, err)))
            break;
        if (log->ntopics == log->captopics) {
            size_t cap = log->captopics ? log->captopics * 2 : 16;
            hx_topic_t **n = realloc(log->topics, cap * sizeof *n);
            if (!n) {
                hx_topic_free(log, t);
                rc = hx_err_set(err, HX_ENOMEM, "out of memory opening the log");
                break;
            }
            log->topics = n;
            log->captopics = cap;
        }
        log->topics[log->ntopics++] = t;
    }
    closedir(d);
    return rc;
}

int hx_log_open(const char *dir, const hx_log_opts_t *opts, hx_log_t **out, hx_err_t *err)
{
    hx_log_opts_t def;
    if (!opts) {
        hx_log_opts_default(&def);
        opts = &def;
    }
    int rc = opts_check(opts, err);
    if (rc)
        return rc;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return hx_err_set(err, HX_EIO, "cannot create log directory %s: %s", dir, strerror(errno));
    hx_log_t *log = calloc(1, sizeof *log);
    if (!log || !(log->dir = strdup(dir))) {
        free(log);
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the log");
    }
    log->opts = *opts;
    log->lockfd = -1;
    pthread_rwlock_init(&log->topics_lock, NULL);
    pthread_mutex_init(&log->fl_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log->fl_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&log->appended_records, 0);
    atomic_init(&log->appended_bytes, 0);
    atomic_init(&log->appended_batches, 0);
    atomic_init(&log->fsyncs, 0);

    char lk[4096];
    snprintf(lk, sizeof lk, "%s/.lock", dir);
    log->lockfd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->lockfd < 0) {
        rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", lk, strerror(errno));
        goto fail;
    }
    if (flock(log->lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = hx_err_set(err, HX_EUNAVAIL, "log directory %s is in use by another process (lock %s)", dir, lk);
        goto fail;
    }
    if ((rc = load_topics(log, err)))
        goto fail;
    if (opts->fsync == HX_FSYNC_INTERVAL && (rc = hx_flusher_start(log, err)))
        goto fail;
    *out = log;
    return HX_OK;
fail:
    hx_log_close(log);
    return rc;
}

void hx_log_close(hx_log_t *log)
{
    if (!log)
        return;
    hx_flusher_stop(log);
    if (log->opts.fsync != HX_FSYNC_NEVER)
        hx_log_flush(log, NULL);
    for (size_t i = 0; i < log->ntopics; i++)
        hx_topic_free(log, log->topics[i]);
    free(log->topics);
    if (log->lockfd >= 0)
        close(log->lockfd);
    pthread_rwlock_destroy(&log->topics_lock);
    pthread_mutex_destroy(&log->fl_mu);
    pthread_cond_destroy(&log->fl_cv);
    free(log->dir);
    free(log);
}

int hx_log_partition_count(hx_log_t *log, const char *topic, int *n, hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    hx_topic_t *t = hx_log_find_topic(log, topic, err);
    if (t)
        *n = t->nparts;
    pthread_rwlock_unlock(&log->topics_lock);
    return t ? HX_OK : HX_ENOTFOUND;
}

int hx_log_topic_limits(hx_log_t *log, const char *topic, int *nparts, int64_t *max_message_bytes, hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    hx_topic_t *t = hx_log_find_topic(log, topic, err);
    if (t) {
        *nparts = t->nparts;
        *max_message_bytes = t->opts.max_message_bytes;
    }
    pthread_rwlock_unlock(&log->topics_lock);
    return t ? HX_OK : HX_ENOTFOUND;
}

int hx_log_watermarks(hx_log_t *log, const char *topic, int partition, int64_t *low, int64_t *high, hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (p) {
        pthread_mutex_lock(&p->meta_mu);
        if (low)
            *low = p->segs[0]->base;
        if (high)
            *high = p->hw;
        pthread_mutex_unlock(&p->meta_mu);
    }
    pthread_rwlock_unlock(&log->topics_lock);
    return p ? HX_OK : HX_ENOTFOUND;
}

void hx_log_stats(hx_log_t *log, hx_log_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->appended_records = atomic_load(&log->appended_records);
    out->appended_bytes = atomic_load(&log->appended_bytes);
    out->appended_batches = atomic_load(&log->appended_batches);
    out->fsyncs = atomic_load(&log->fsyncs);
    pthread_rwlock_rdlock(&log->topics_lock);
    out->topics = (int)log->ntopics;
    for (size_t i = 0; i < log->ntopics; i++) {
        hx_topic_t *t = log->topics[i];
        out->partitions += t->nparts;
        for (int k = 0; k < t->nparts; k++) {
            hx_log_partition_info_t pi;
            hx_part_info(&t->parts[k], &pi);
            out->bytes += pi.bytes;
            out->segments += pi.segments;
        }
    }
    pthread_rwlock_unlock(&log->topics_lock);
}
