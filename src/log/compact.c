/* Compaction for cleanup.policy=compact. Pass 1 maps every key to its latest
 * offset over the whole partition (active segment included, so a fresh write
 * shadows old ones). Pass 2 rewrites each closed segment into
 * BASE.log.cleaned keeping records without a key and records that are the
 * latest for their key and not tombstones; batches keep their base offset
 * and offset span, so offsets are preserved and simply become sparse. The
 * swap is crash-safe: indexes are removed, then .cleaned is renamed over
 * .log (atomic), then indexes are rebuilt; recovery deletes stray .cleaned
 * files and rebuilds missing indexes. */
#include "log_internal.h"

#include "helix/hx_hash.h"
#include "helix/hx_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct kent {
    uint64_t h;
    size_t koff, klen;
    int64_t off;           /* -1 = empty slot */
} kent_t;

typedef struct kmap {
    kent_t *e;
    size_t cap, n;
    hx_buf_t keys;
} kmap_t;

static int kmap_grow(kmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    kent_t *e = malloc(cap * sizeof *e);
    if (!e)
        return HX_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        e[i].off = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].off < 0)
            continue;
        size_t j = m->e[i].h & (cap - 1);
        while (e[j].off >= 0)
            j = (j + 1) & (cap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return HX_OK;
}

static kent_t *kmap_find(kmap_t *m, const void *k, size_t klen, uint64_t h)
{
    size_t j = h & (m->cap - 1);
    while (m->e[j].off >= 0) {
        kent_t *x = &m->e[j];
        if (x->h == h && x->klen == klen && memcmp(m->keys.data + x->koff, k, klen) == 0)
            return x;
        j = (j + 1) & (m->cap - 1);
    }
    return &m->e[j];
}

static int kmap_put(kmap_t *m, const void *k, size_t klen, int64_t off)
{
    if ((m->n + 1) * 10 > m->cap * 7 && kmap_grow(m))
        return HX_ENOMEM;
    uint64_t h = hx_hash64(k, klen);
    kent_t *x = kmap_find(m, k, klen, h);
    if (x->off < 0) {
        x->h = h;
        x->klen = klen;
        x->koff = m->keys.len;
        if (hx_buf_append(&m->keys, k, klen))
            return HX_ENOMEM;
        m->n++;
    }
    x->off = off;
    return HX_OK;
}

static int64_t kmap_get(kmap_t *m, const void *k, size_t klen)
{
    if (!m->cap)
        return -1;
    return kmap_find(m, k, klen, hx_hash64(k, klen))->off;
}

typedef struct cctx {
    hx_buf_t scratch, hdrs, recs, offs, hvec, hstart, out;
    hx_batch_enc_t enc;
    kmap_t map;
} cctx_t;

static void cctx_free(cctx_t *c)
{
    hx_buf_free(&c->scratch);
    hx_buf_free(&c->hdrs);
    hx_buf_free(&c->recs);
    hx_buf_free(&c->offs);
    hx_buf_free(&c->hvec);
    hx_buf_free(&c->hstart);
    hx_buf_free(&c->out);
    hx_batch_enc_free(&c->enc);
    free(c->map.e);
    hx_buf_free(&c->map.keys);
}

static int keep(cctx_t *c, const hx_log_record_t *r)
{
    if (r->key_len == 0)
        return 1;
    return r->value != NULL && kmap_get(&c->map, r->key, r->key_len) == r->offset;
}

static int map_segment(cctx_t *c, hx_segment_t *s, int64_t end, hx_err_t *err)
{
    hx_seg_iter_t it;
    hx_seg_iter_init(&it, s, 0, end, 1);
    hx_batch_hdr_t h;
    const unsigned char *b, *raw;
    int rc;
    while ((rc = hx_seg_iter_next(&it, &h, &b, err)) == 1) {
        if ((rc = hx_batch_raw(b, &h, &c->scratch, &raw, err)))
            break;
        hx_batch_it_t bi;
        hx_batch_it_init(&bi, &h, raw, &c->hdrs);
        hx_log_record_t r;
        int k;
        while ((k = hx_batch_it_next(&bi, &r)) == 1)
            if (r.key_len && kmap_put(&c->map, r.key, r.key_len, r.offset)) {
                k = HX_ENOMEM;
                break;
            }
        if (k < 0) {
            rc = hx_err_set(err, k, "cannot decode batch at offset %lld of %s.log", (long long)h.base, s->path);
            break;
        }
    }
    hx_seg_iter_free(&it);
    return rc < 0 ? rc : HX_OK;
}

static int flush_out(int fd, hx_buf_t *out)
{
    size_t done = 0;
    while (done < out->len) {
        ssize_t w = write(fd, out->data + done, out->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return HX_EIO;
        done += (size_t)w;
    }
    hx_buf_reset(out);
    return HX_OK;
}

/* Re-encodes the kept records of one batch into c->out; *dropped counts the rest. */
static int filter_batch(cctx_t *c, int codec, const hx_batch_hdr_t *h, const unsigned char *b, int64_t *dropped,
                        hx_err_t *err)
{
    const unsigned char *raw;
    int rc = hx_batch_raw(b, h, &c->scratch, &raw, err);
    if (rc)
        return rc;
    hx_batch_it_t bi;
    hx_log_record_t r;
    size_t kept = 0;
    int k;
    hx_batch_it_init(&bi, h, raw, &c->hdrs);
    while ((k = hx_batch_it_next(&bi, &r)) == 1)
        kept += (size_t)keep(c, &r);
    if (k < 0)
        return hx_err_set(err, HX_ECORRUPT, "cannot decode batch at offset %lld", (long long)h->base);
    *dropped += (int64_t)(h->count - kept);
    if (kept == h->count)
        return hx_buf_append(&c->out, b, hx_batch_size(h)) ? HX_ENOMEM : HX_OK;
    if (kept == 0)
        return HX_OK;
    /* Collect the survivors; header arrays are re-pointed after the vectors stop growing. */
    hx_buf_reset(&c->recs);
    hx_buf_reset(&c->offs);
    hx_buf_reset(&c->hvec);
    hx_buf_reset(&c->hstart);
    hx_batch_it_init(&bi, h, raw, &c->hdrs);
    while (hx_batch_it_next(&bi, &r) == 1) {
        if (!keep(c, &r))
            continue;
        size_t hs = c->hvec.len / sizeof(hx_log_header_t);
        if (hx_buf_append(&c->recs, &r, sizeof r) || hx_buf_append(&c->offs, &r.offset, sizeof r.offset) ||
            hx_buf_append(&c->hstart, &hs, sizeof hs) ||
            (r.n_headers && hx_buf_append(&c->hvec, r.headers, r.n_headers * sizeof(hx_log_header_t))))
            return hx_err_set(err, HX_ENOMEM, "out of memory compacting");
    }
    hx_log_record_t *recs = (hx_log_record_t *)(void *)c->recs.data;
    const size_t *hstart = (const size_t *)(const void *)c->hstart.data;
    for (size_t i = 0; i < kept; i++)
        recs[i].headers = recs[i].n_headers ? (const hx_log_header_t *)(const void *)c->hvec.data + hstart[i] : NULL;
    rc = hx_batch_encode(&c->enc, codec, h->base, h->last_delta, recs, (const int64_t *)(const void *)c->offs.data,
                         kept, 0, err);
    if (rc)
        return rc;
    return hx_buf_append(&c->out, c->enc.out.data, c->enc.out.len) ? HX_ENOMEM : HX_OK;
}

static int swap_in(hx_log_t *log, hx_partition_t *p, hx_segment_t *old, hx_err_t *err)
{
    char cleaned[4096], fn[4096];
    hx_seg_file(old, "log.cleaned", cleaned, sizeof cleaned);
    hx_seg_file(old, "index", fn, sizeof fn);
    unlink(fn);
    hx_seg_file(old, "timeindex", fn, sizeof fn);
    unlink(fn);
    hx_seg_file(old, "log", fn, sizeof fn);
    if (rename(cleaned, fn) != 0)
        return hx_err_set(err, HX_EIO, "cannot rename %s over %s: %s", cleaned, fn, strerror(errno));
    hx_fsync_dir(p->dir);
    hx_segment_t *s;
    int rc = hx_seg_open(p->dir, old->base, &s, err);
    if (rc)
        return rc;
    hx_seg_iter_t it;
    hx_seg_iter_init(&it, s, 0, s->size, 0);
    hx_batch_hdr_t h;
    const unsigned char *b;
    while ((rc = hx_seg_iter_next(&it, &h, &b, err)) == 1)
        hx_idx_note_batch(s, &h, it.pos - (int64_t)hx_batch_size(&h), log->opts.index_interval_bytes);
    hx_seg_iter_free(&it);
    if (rc == HX_OK)
        rc = hx_idx_save(s, log->opts.fsync != HX_FSYNC_NEVER, err);
    if (rc) {
        hx_seg_unref(s);
        return rc;
    }
    pthread_mutex_lock(&p->meta_mu);
    for (size_t i = 0; i < p->nseg; i++)
        if (p->segs[i] == old) {
            p->segs[i] = s;
            s = NULL;
            break;
        }
    pthread_mutex_unlock(&p->meta_mu);
    if (s) { /* cannot happen: maint_mu keeps retention away */
        hx_seg_unref(s);
        return hx_err_set(err, HX_EINTERNAL, "compacted segment %s vanished", old->path);
    }
    hx_seg_unref(old); /* the list's reference */
    return HX_OK;
}

static int compact_segment(hx_log_t *log, hx_partition_t *p, cctx_t *c, hx_segment_t *s, int64_t end,
                           int64_t *removed, hx_err_t *err)
{
    char cleaned[4096];
    hx_seg_file(s, "log.cleaned", cleaned, sizeof cleaned);
    int fd = open(cleaned, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot create %s: %s", cleaned, strerror(errno));
    hx_seg_iter_t it;
    hx_seg_iter_init(&it, s, 0, end, 1);
    hx_batch_hdr_t h;
    const unsigned char *b;
    int64_t dropped = 0;
    int rc;
    hx_buf_reset(&c->out);
    while ((rc = hx_seg_iter_next(&it, &h, &b, err)) == 1) {
        if ((rc = filter_batch(c, p->topic->opts.compression, &h, b, &dropped, err)))
            break;
        if (c->out.len >= (1u << 20) && (rc = flush_out(fd, &c->out)))
            break;
    }
    hx_seg_iter_free(&it);
    if (rc == HX_OK && dropped > 0 && (flush_out(fd, &c->out) || (log->opts.fsync != HX_FSYNC_NEVER && fdatasync(fd))))
        rc = hx_err_set(err, HX_EIO, "cannot write %s: %s", cleaned, strerror(errno));
    close(fd);
    if (rc == HX_OK && dropped > 0)
        rc = swap_in(log, p, s, err);
    if (rc || dropped == 0)
        unlink(cleaned);
    if (rc == HX_OK)
        *removed += dropped;
    return rc;
}

static int compact_partition(hx_log_t *log, hx_partition_t *p, int64_t *removed, hx_err_t *err)
{
    cctx_t c;
    memset(&c, 0, sizeof c);
    hx_segment_t **snap = NULL;
    int64_t *ends = NULL;
    size_t n = 0;
    int rc = HX_OK;
    pthread_mutex_lock(&p->maint_mu);
    pthread_mutex_lock(&p->meta_mu);
    n = p->nseg;
    snap = malloc(n * sizeof *snap);
    ends = malloc(n * sizeof *ends);
    if (snap && ends)
        for (size_t i = 0; i < n; i++) {
            snap[i] = hx_seg_ref(p->segs[i]);
            ends[i] = p->segs[i]->size;
        }
    pthread_mutex_unlock(&p->meta_mu);
    if (!snap || !ends) {
        n = 0;
        rc = hx_err_set(err, HX_ENOMEM, "out of memory compacting %s", p->dir);
        goto cleanup;
    }
    if (n < 2) /* nothing closed yet */
        goto cleanup;
    for (size_t i = 0; i < n && rc == HX_OK; i++)
        rc = map_segment(&c, snap[i], ends[i], err);
    /* snap[n-1] was the active segment when we looked; only older ones are immutable. */
    for (size_t i = 0; i + 1 < n && rc == HX_OK; i++)
        rc = compact_segment(log, p, &c, snap[i], ends[i], removed, err);
cleanup:
    for (size_t i = 0; i < n; i++)
        hx_seg_unref(snap[i]);
    free(snap);
    free(ends);
    pthread_mutex_unlock(&p->maint_mu);
    cctx_free(&c);
    return rc;
}

int hx_log_compact(hx_log_t *log, const char *topic, int64_t *removed_records, hx_err_t *err)
{
    int64_t removed = 0;
    int rc = HX_OK;
    pthread_rwlock_rdlock(&log->topics_lock);
    hx_topic_t *t = hx_log_find_topic(log, topic, err);
    if (!t)
        rc = HX_ENOTFOUND;
    else if (t->opts.cleanup != HX_LOG_CLEANUP_COMPACT)
        rc = hx_err_set(err, HX_EINVAL, "topic '%s' has cleanup policy delete; compaction needs cleanup=compact",
                        topic);
    for (int k = 0; rc == HX_OK && k < t->nparts; k++)
        rc = compact_partition(log, &t->parts[k], &removed, err);
    pthread_rwlock_unlock(&log->topics_lock);
    if (rc == HX_OK && removed)
        HX_INFO(HX_LOG_COMP, "compacted topic '%s': %lld records removed", topic, (long long)removed);
    if (removed_records)
        *removed_records = removed;
    return rc;
}
