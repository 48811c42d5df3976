/* Retention for cleanup.policy=delete: whole closed segments go, oldest
 * first, while they are past retention_ms (judged by their max timestamp)
 * or the partition is over retention_bytes. The active segment is rolled
 * first when everything in it has expired, so an idle topic still empties.
 * The low watermark is the base of the first remaining segment. */
#include "log_internal.h"

#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

static int part_retention(hx_log_t *log, hx_partition_t *p, const hx_topic_opts_t *o, int64_t now, int *deleted,
                          hx_err_t *err)
{
    int rc = HX_OK, before = *deleted;
    int64_t cutoff = o->retention_ms >= 0 ? now - o->retention_ms : INT64_MIN;
    pthread_mutex_lock(&p->maint_mu);
    if (o->retention_ms >= 0) {
        pthread_mutex_lock(&p->append_mu);
        if (p->active->size > 0 && p->active->max_ts < cutoff)
            rc = hx_part_roll(log, p, err);
        pthread_mutex_unlock(&p->append_mu);
    }
    while (rc == HX_OK) {
        pthread_mutex_lock(&p->meta_mu);
        if (p->nseg <= 1) {
            pthread_mutex_unlock(&p->meta_mu);
            break;
        }
        hx_segment_t *s = p->segs[0];
        int64_t total = 0;
        for (size_t i = 0; i < p->nseg; i++)
            total += p->segs[i]->size;
        int expired = o->retention_ms >= 0 && s->max_ts < cutoff;
        int over = o->retention_bytes >= 0 && total > o->retention_bytes;
        if (!expired && !over) {
            pthread_mutex_unlock(&p->meta_mu);
            break;
        }
        for (size_t i = 1; i < p->nseg; i++)
            p->segs[i - 1] = p->segs[i];
        p->nseg--;
        int64_t low = p->segs[0]->base;
        pthread_mutex_unlock(&p->meta_mu);
        /* Readers still holding the segment keep reading the unlinked inode. */
        hx_seg_unlink(s);
        HX_INFO(HX_LOG_COMP, "retention deleted %s.log (%lld bytes, %s); low watermark of %s/%d is now %lld",
                s->path, (long long)s->size, expired ? "expired" : "over retention_bytes", p->topic->name, p->id,
                (long long)low);
        hx_seg_unref(s);
        (*deleted)++;
    }
    if (*deleted > before && log->opts.fsync != HX_FSYNC_NEVER)
        hx_fsync_dir(p->dir);
    pthread_mutex_unlock(&p->maint_mu);
    return rc;
}

int hx_log_enforce_retention(hx_log_t *log, int *deleted_segments, hx_err_t *err)
{
    int deleted = 0, rc = HX_OK;
    int64_t now = hx_now_ms();
    pthread_rwlock_rdlock(&log->topics_lock);
    for (size_t i = 0; i < log->ntopics && rc == HX_OK; i++) {
        hx_topic_t *t = log->topics[i];
        if (t->opts.cleanup != HX_LOG_CLEANUP_DELETE || (t->opts.retention_ms < 0 && t->opts.retention_bytes < 0))
            continue;
        for (int k = 0; k < t->nparts && rc == HX_OK; k++)
            rc = part_retention(log, &t->parts[k], &t->opts, now, &deleted, err);
    }
    pthread_rwlock_unlock(&log->topics_lock);
    if (deleted_segments)
        *deleted_segments = deleted;
    return rc;
}
