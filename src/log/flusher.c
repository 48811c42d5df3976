/* Group commit for fsync=interval: one thread fdatasyncs every partition
 * that was appended to since its last pass, every flush_interval_ms, so many
 * appends share one fsync. The sync runs outside the partition locks on a
 * pinned segment; only offsets published before the sync started are
 * declared durable. */
#include "log_internal.h"

#include "helix/hx_logger.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int hx_part_flush(hx_log_t *log, hx_partition_t *p, hx_err_t *err)
{
    pthread_mutex_lock(&p->meta_mu);
    int64_t target = p->hw;
    if (target <= p->durable) {
        pthread_mutex_unlock(&p->meta_mu);
        return HX_OK;
    }
    hx_segment_t *s = hx_seg_ref(p->active);
    pthread_mutex_unlock(&p->meta_mu);
    /* Earlier segments were synced when they were rolled (unless NEVER, where
     * a flush only promises the active segment). */
    int rc = HX_OK;
    if (fdatasync(s->fd) != 0)
        rc = hx_err_set(err, HX_EIO, "fsync of %s.log failed: %s", s->path, strerror(errno));
    hx_seg_unref(s);
    atomic_fetch_add(&log->fsyncs, 1);
    if (rc)
        return rc;
    pthread_mutex_lock(&p->meta_mu);
    if (p->durable < target) {
        p->durable = target;
        pthread_cond_broadcast(&p->durable_cv);
    }
    pthread_mutex_unlock(&p->meta_mu);
    return HX_OK;
}

static int flush_all(hx_log_t *log, int only_dirty, hx_err_t *err)
{
    int rc = HX_OK;
    pthread_rwlock_rdlock(&log->topics_lock);
    for (size_t i = 0; i < log->ntopics; i++) {
        hx_topic_t *t = log->topics[i];
        for (int k = 0; k < t->nparts; k++) {
            hx_partition_t *p = &t->parts[k];
            if (only_dirty && !atomic_exchange(&p->dirty, 0))
                continue;
            int r = hx_part_flush(log, p, err);
            if (r && !rc)
                rc = r;
        }
    }
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

int hx_log_flush(hx_log_t *log, hx_err_t *err) { return flush_all(log, 0, err); }

static void *flusher_main(void *arg)
{
    hx_log_t *log = arg;
    pthread_mutex_lock(&log->fl_mu);
    while (!log->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += log->opts.flush_interval_ms / 1000;
        ts.tv_nsec += (long)(log->opts.flush_interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&log->fl_cv, &log->fl_mu, &ts);
        if (log->stopping)
            break;
        pthread_mutex_unlock(&log->fl_mu);
        hx_err_t e = {0};
        if (flush_all(log, 1, &e))
            HX_ERROR(HX_LOG_COMP, "background flush: %s", e.msg);
        pthread_mutex_lock(&log->fl_mu);
    }
    pthread_mutex_unlock(&log->fl_mu);
    return NULL;
}

int hx_flusher_start(hx_log_t *log, hx_err_t *err)
{
    int e = pthread_create(&log->flusher, NULL, flusher_main, log);
    if (e)
        return hx_err_set(err, HX_EINTERNAL, "cannot start the log flusher thread: %s", strerror(e));
    log->flusher_started = 1;
    return HX_OK;
}

void hx_flusher_stop(hx_log_t *log)
{
    if (!log->flusher_started)
        return;
    pthread_mutex_lock(&log->fl_mu);
    log->stopping = 1;
    pthread_cond_signal(&log->fl_cv);
    pthread_mutex_unlock(&log->fl_mu);
    pthread_join(log->flusher, NULL);
    log->flusher_started = 0;
}
