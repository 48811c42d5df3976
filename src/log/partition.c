/* One partition: append (assign offsets, encode, write, fsync per policy,
 * then publish the high watermark), read, time lookup, and segment rolling. */
#include "log_internal.h"

#include "helix/hx_clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int hx_part_init(hx_partition_t *p, hx_topic_t *t, int id, const char *dir, hx_err_t *err)
{
    memset(p, 0, sizeof *p);
    p->topic = t;
    p->id = id;
    p->dir = strdup(dir);
    if (!p->dir)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    pthread_mutex_init(&p->maint_mu, NULL);
    pthread_mutex_init(&p->append_mu, NULL);
    pthread_mutex_init(&p->meta_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->data_cv, &ca);
    pthread_cond_init(&p->durable_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&p->dirty, 0);
    return HX_OK;
}

void hx_part_destroy(hx_partition_t *p, const hx_log_opts_t *opts)
{
    if (p->active && opts)
        hx_idx_save(p->active, opts->fsync != HX_FSYNC_NEVER, NULL);
    for (size_t i = 0; i < p->nseg; i++)
        hx_seg_unref(p->segs[i]);
    free(p->segs);
    free(p->dir);
    hx_batch_enc_free(&p->enc);
    pthread_mutex_destroy(&p->maint_mu);
    pthread_mutex_destroy(&p->append_mu);
    pthread_mutex_destroy(&p->meta_mu);
    pthread_cond_destroy(&p->data_cv);
    pthread_cond_destroy(&p->durable_cv);
}

int hx_part_push_seg(hx_partition_t *p, hx_segment_t *s)
{
    if (p->nseg == p->capseg) {
        size_t cap = p->capseg ? p->capseg * 2 : 8;
        hx_segment_t **n = realloc(p->segs, cap * sizeof *n);
        if (!n)
            return HX_ENOMEM;
        p->segs = n;
        p->capseg = cap;
    }
    p->segs[p->nseg++] = s;
    return HX_OK;
}

void hx_part_info(hx_partition_t *p, hx_log_partition_info_t *out)
{
    pthread_mutex_lock(&p->meta_mu);
    out->partition = p->id;
    out->low_watermark = p->segs[0]->base;
    out->high_watermark = p->hw;
    out->durable_offset = p->durable;
    out->segments = (int)p->nseg;
    out->bytes = 0;
    for (size_t i = 0; i < p->nseg; i++)
        out->bytes += p->segs[i]->size;
    pthread_mutex_unlock(&p->meta_mu);
}

hx_segment_t *hx_part_seg_for(hx_partition_t *p, int64_t offset)
{
    size_t lo = 0, hi = p->nseg;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->segs[mid]->base <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return hx_seg_ref(p->segs[lo]);
}

hx_segment_t *hx_part_seg_after(hx_partition_t *p, int64_t base, int64_t *end)
{
    hx_segment_t *s = NULL;
    pthread_mutex_lock(&p->meta_mu);
    for (size_t i = 0; i < p->nseg; i++)
        if (p->segs[i]->base > base) {
            s = hx_seg_ref(p->segs[i]);
            *end = s->size;
            break;
        }
    pthread_mutex_unlock(&p->meta_mu);
    return s;
}

int hx_part_roll(hx_log_t *log, hx_partition_t *p, hx_err_t *err)
{
    hx_segment_t *old = p->active, *s;
    int sync = log->opts.fsync != HX_FSYNC_NEVER;
    /* The closed segment must be durable before the next one exists, so
     * recovery only ever has to repair the last segment. */
    if (sync && fdatasync(old->fd) != 0)
        return hx_err_set(err, HX_EIO, "fsync of %s.log failed: %s", old->path, strerror(errno));
    int rc = hx_idx_save(old, sync, err);
    if (rc)
        return rc;
    if ((rc = hx_seg_create(p->dir, p->hw, &s, err)))
        return rc;
    if (sync)
        hx_fsync_dir(p->dir);
    pthread_mutex_lock(&p->meta_mu);
    rc = hx_part_push_seg(p, s);
    if (rc == HX_OK) {
        p->active = s;
        if (sync && p->durable < p->hw) {
            p->durable = p->hw;
            pthread_cond_broadcast(&p->durable_cv);
        }
    }
    pthread_mutex_unlock(&p->meta_mu);
    if (rc) {
        hx_seg_unlink(s);
        hx_seg_unref(s);
        return hx_err_set(err, rc, "out of memory rolling a segment in %s", p->dir);
    }
    return HX_OK;
}

static int write_all(int fd, const unsigned char *p, size_t n, int64_t pos)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, (off_t)(pos + (int64_t)done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

int hx_log_append(hx_log_t *log, const char *topic, int partition, const hx_log_record_t *recs, size_t n,
                  int64_t *base_offset_out, hx_err_t *err)
{
    if (!recs || n == 0)
        return hx_err_set(err, HX_EINVAL, "append needs at least one record");
    if (n > INT32_MAX)
        return hx_err_set(err, HX_ETOOBIG, "a batch holds at most %d records, got %zu", INT32_MAX, n);
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc;
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (!p) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    int64_t limit = p->topic->opts.max_message_bytes > 0 ? p->topic->opts.max_message_bytes
                                                         : log->opts.max_message_bytes;
    size_t payload = 0;
    for (size_t i = 0; i < n; i++) {
        size_t sz = hx_log_record_size(&recs[i]);
        if ((int64_t)sz > limit) {
            rc = hx_err_set(err, HX_ETOOBIG,
                            "record %zu of the batch is %zu bytes (key+value+headers), over max_message_bytes "
                            "%lld of topic '%s'; nothing was written",
                            i, sz, (long long)limit, topic);
            goto out;
        }
        payload += sz;
    }

    pthread_mutex_lock(&p->append_mu);
    int64_t base = p->hw;
    rc = hx_batch_encode(&p->enc, p->topic->opts.compression, base, (uint32_t)(n - 1), recs, NULL, n, hx_now_ms(),
                         err);
    if (rc)
        goto unlock;
    const hx_buf_t *out = &p->enc.out;
    if (p->active->size > 0 && p->active->size + (int64_t)out->len > log->opts.segment_bytes &&
        (rc = hx_part_roll(log, p, err)))
        goto unlock;
    hx_segment_t *s = p->active;
    int64_t pos = s->size;
    if (write_all(s->fd, out->data, out->len, pos) != 0) {
        rc = hx_err_set(err, HX_EIO, "write to %s.log failed: %s", s->path, strerror(errno));
        if (ftruncate(s->fd, pos) != 0) { /* best effort: recovery drops a torn tail anyway */
        }
        goto unlock;
    }
    if (log->opts.fsync == HX_FSYNC_ALWAYS) {
        if (fdatasync(s->fd) != 0) {
            rc = hx_err_set(err, HX_EIO, "fsync of %s.log failed: %s", s->path, strerror(errno));
            if (ftruncate(s->fd, pos) != 0) {
            }
            goto unlock;
        }
        atomic_fetch_add(&log->fsyncs, 1);
    }
    hx_batch_hdr_t h;
    hx_batch_hdr_decode(out->data, &h);
    pthread_mutex_lock(&p->meta_mu);
    rc = hx_idx_note_batch(s, &h, pos, log->opts.index_interval_bytes);
    s->size = pos + (int64_t)out->len;
    p->hw = base + (int64_t)n;
    if (log->opts.fsync == HX_FSYNC_ALWAYS) {
        p->durable = p->hw;
        pthread_cond_broadcast(&p->durable_cv);
    }
    pthread_cond_broadcast(&p->data_cv);
    pthread_mutex_unlock(&p->meta_mu);
    if (rc) /* only the in-memory index failed to grow; the data is safely written */
        rc = HX_OK;
    if (log->opts.fsync == HX_FSYNC_INTERVAL)
        atomic_store(&p->dirty, 1);
    atomic_fetch_add(&log->appended_records, n);
    atomic_fetch_add(&log->appended_bytes, payload);
    atomic_fetch_add(&log->appended_batches, 1);
    if (base_offset_out)
        *base_offset_out = base;
unlock:
    pthread_mutex_unlock(&p->append_mu);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

/* --- read ----------------------------------------------------------------- */

int hx_log_read(hx_log_t *log, const char *topic, int partition, int64_t offset, size_t max_bytes,
                int max_records, hx_log_read_cb cb, void *ud, int64_t *next_offset, hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    hx_segment_t *seg = NULL;
    hx_seg_iter_t it;
    hx_buf_t scratch = HX_BUF_INIT, hdrs = HX_BUF_INIT;
    int it_live = 0;
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (!p) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    pthread_mutex_lock(&p->meta_mu);
    int64_t low = p->segs[0]->base, hw = p->hw, end = 0, pos = 0;
    if (offset < low || offset > hw) {
        pthread_mutex_unlock(&p->meta_mu);
        rc = hx_err_set(err, HX_ERANGE,
                        "offset %lld is out of range for %s/%d: low watermark %lld, high watermark %lld%s",
                        (long long)offset, topic, partition, (long long)low, (long long)hw,
                        offset < low ? " (older records were deleted by retention)" : "");
        goto out;
    }
    if (offset < hw) {
        seg = hx_part_seg_for(p, offset);
        pos = hx_idx_lookup_offset(seg, offset);
        end = seg->size;
    }
    pthread_mutex_unlock(&p->meta_mu);

    int64_t next = offset;
    size_t bytes = 0;
    int delivered = 0, done = 0;
    while (seg && !done) {
        hx_seg_iter_init(&it, seg, pos, end, 1);
        it_live = 1;
        hx_batch_hdr_t h;
        const unsigned char *b;
        int r = 0;
        while (!done && (r = hx_seg_iter_next(&it, &h, &b, err)) == 1) {
            if (hx_batch_next(&h) <= offset)
                continue;
            if (h.base >= hw) {
                done = 1;
                break;
            }
            const unsigned char *raw;
            if ((rc = hx_batch_raw(b, &h, &scratch, &raw, err)))
                goto out;
            hx_batch_it_t bi;
            hx_batch_it_init(&bi, &h, raw, &hdrs);
            hx_log_record_t rec;
            int k;
            while ((k = hx_batch_it_next(&bi, &rec)) == 1) {
                if (rec.offset < offset)
                    continue;
                size_t sz = hx_log_record_size(&rec);
                if (max_bytes && delivered > 0 && bytes + sz > max_bytes) {
                    done = 1;
                    break;
                }
                int c = cb(ud, &rec);
                if (c < 0) {
                    rc = c;
                    goto out;
                }
                delivered++;
                bytes += sz;
                next = rec.offset + 1;
                if (c > 0 || (max_records > 0 && delivered >= max_records)) {
                    done = 1;
                    break;
                }
            }
            if (k < 0) {
                rc = hx_err_set(err, k, "malformed record in batch at offset %lld of %s/%d", (long long)h.base,
                                topic, partition);
                goto out;
            }
            if (!done)
                next = hx_batch_next(&h);
        }
        if (!done && r < 0) {
            rc = r;
            goto out;
        }
        hx_seg_iter_free(&it);
        it_live = 0;
        if (done)
            break;
        int64_t prev_base = seg->base;
        hx_seg_unref(seg);
        seg = hx_part_seg_after(p, prev_base, &end);
        pos = 0;
        if (seg && seg->base >= hw)
            break;
    }
    /* Having scanned everything below hw, skip any compaction gap at the end. */
    if (!done && next < hw)
        next = hw;
    if (next_offset)
        *next_offset = next > offset ? next : offset;
out:
    if (it_live)
        hx_seg_iter_free(&it);
    hx_seg_unref(seg);
    hx_buf_free(&scratch);
    hx_buf_free(&hdrs);
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

int hx_log_offset_for_time(hx_log_t *log, const char *topic, int partition, int64_t ts_ms, int64_t *offset,
                           hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    hx_buf_t scratch = HX_BUF_INIT, hdrs = HX_BUF_INIT;
    hx_segment_t *seg = NULL;
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (!p) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    int64_t hw, pos = 0, end = 0, found = -1;
    pthread_mutex_lock(&p->meta_mu);
    hw = p->hw;
    for (size_t i = 0; i < p->nseg; i++)
        if (p->segs[i]->size > 0 && p->segs[i]->max_ts >= ts_ms) {
            seg = hx_seg_ref(p->segs[i]);
            pos = hx_idx_lookup_time(seg, ts_ms);
            end = seg->size;
            break;
        }
    pthread_mutex_unlock(&p->meta_mu);
    while (seg && found < 0) {
        hx_seg_iter_t it;
        hx_seg_iter_init(&it, seg, pos, end, 1);
        hx_batch_hdr_t h;
        const unsigned char *b;
        int r = 0;
        while (found < 0 && (r = hx_seg_iter_next(&it, &h, &b, err)) == 1) {
            if (h.max_ts < ts_ms || h.base >= hw)
                continue;
            const unsigned char *raw;
            if ((rc = hx_batch_raw(b, &h, &scratch, &raw, err))) {
                hx_seg_iter_free(&it);
                goto out;
            }
            hx_batch_it_t bi;
            hx_batch_it_init(&bi, &h, raw, &hdrs);
            hx_log_record_t rec;
            while (hx_batch_it_next(&bi, &rec) == 1)
                if (rec.timestamp_ms >= ts_ms) {
                    found = rec.offset;
                    break;
                }
        }
        hx_seg_iter_free(&it);
        if (found < 0 && r < 0) {
            rc = r;
            goto out;
        }
        if (found >= 0)
            break;
        int64_t prev = seg->base;
        hx_seg_unref(seg);
        seg = hx_part_seg_after(p, prev, &end);
        pos = 0;
    }
    *offset = found >= 0 ? found : hw;
out:
    hx_seg_unref(seg);
    hx_buf_free(&scratch);
    hx_buf_free(&hdrs);
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int hx_log_wait_data(hx_log_t *log, const char *topic, int partition, int64_t offset, int timeout_ms,
                     hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (!p) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    struct timespec dl;
    deadline_after(&dl, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&p->meta_mu);
    while (p->hw <= offset && rc == HX_OK)
        if (pthread_cond_timedwait(&p->data_cv, &p->meta_mu, &dl) == ETIMEDOUT && p->hw <= offset)
            rc = hx_err_set(err, HX_ETIMEOUT, "no data past offset %lld in %s/%d within %d ms", (long long)offset,
                            topic, partition, timeout_ms);
    pthread_mutex_unlock(&p->meta_mu);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

int hx_log_wait_durable(hx_log_t *log, const char *topic, int partition, int64_t offset, int timeout_ms,
                        hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    hx_partition_t *p = hx_log_find_part(log, topic, partition, err);
    if (!p) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    if (log->opts.fsync == HX_FSYNC_NEVER) {
        rc = hx_part_flush(log, p, err);
        goto out;
    }
    struct timespec dl;
    deadline_after(&dl, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&p->meta_mu);
    if (offset >= p->hw)
        rc = hx_err_set(err, HX_ERANGE, "offset %lld of %s/%d was never written (high watermark %lld)",
                        (long long)offset, topic, partition, (long long)p->hw);
    while (rc == HX_OK && p->durable <= offset)
        if (pthread_cond_timedwait(&p->durable_cv, &p->meta_mu, &dl) == ETIMEDOUT && p->durable <= offset)
            rc = hx_err_set(err, HX_ETIMEOUT, "offset %lld of %s/%d not durable within %d ms", (long long)offset,
                            topic, partition, timeout_ms);
    pthread_mutex_unlock(&p->meta_mu);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}
