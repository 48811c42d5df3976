/* Segment files: DIR/<base offset, 20 digits>.log holding back-to-back
 * batches. A segment is reference counted so readers, the flusher and
 * compaction can keep using its fd after it left the partition's list. */
#include "log_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ITER_CHUNK (256 * 1024)

static hx_segment_t *seg_alloc(const char *dir, int64_t base)
{
    hx_segment_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t n = strlen(dir) + 32;
    s->path = malloc(n);
    if (!s->path) {
        free(s);
        return NULL;
    }
    snprintf(s->path, n, "%s/%020lld", dir, (long long)base);
    s->base = base;
    s->next = base;
    s->max_ts = INT64_MIN;
    s->fd = -1;
    atomic_init(&s->refs, 1);
    return s;
}

void hx_seg_file(const hx_segment_t *s, const char *ext, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.%s", s->path, ext);
}

static int seg_open_fd(hx_segment_t *s, int flags, hx_err_t *err)
{
    char fn[4096];
    hx_seg_file(s, "log", fn, sizeof fn);
    s->fd = open(fn, flags | O_RDWR | O_CLOEXEC, 0644);
    if (s->fd < 0)
        return hx_err_set(err, HX_EIO, "cannot open segment %s: %s", fn, strerror(errno));
    return HX_OK;
}

int hx_seg_create(const char *dir, int64_t base, hx_segment_t **out, hx_err_t *err)
{
    hx_segment_t *s = seg_alloc(dir, base);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory creating a segment");
    int rc = seg_open_fd(s, O_CREAT | O_EXCL, err);
    if (rc) {
        hx_seg_unref(s);
        return rc;
    }
    *out = s;
    return HX_OK;
}

int hx_seg_open(const char *dir, int64_t base, hx_segment_t **out, hx_err_t *err)
{
    hx_segment_t *s = seg_alloc(dir, base);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening a segment");
    int rc = seg_open_fd(s, 0, err);
    if (rc) {
        hx_seg_unref(s);
        return rc;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        hx_seg_unref(s);
        return hx_err_set(err, HX_EIO, "cannot stat segment of %s: %s", dir, strerror(errno));
    }
    s->size = st.st_size;
    *out = s;
    return HX_OK;
}

hx_segment_t *hx_seg_ref(hx_segment_t *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void hx_seg_unref(hx_segment_t *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->idx);
    free(s->path);
    free(s);
}

void hx_seg_unlink(const hx_segment_t *s)
{
    static const char *exts[] = {"log", "index", "timeindex"};
    char fn[4096];
    for (int i = 0; i < 3; i++) {
        hx_seg_file(s, exts[i], fn, sizeof fn);
        unlink(fn);
    }
}

void hx_seg_iter_init(hx_seg_iter_t *it, hx_segment_t *seg, int64_t pos, int64_t end, int verify)
{
    memset(it, 0, sizeof *it);
    it->seg = seg;
    it->pos = pos;
    it->end = end;
    it->verify = verify;
    it->min_next = seg->base;
}

void hx_seg_iter_free(hx_seg_iter_t *it) { hx_buf_free(&it->chunk); }

/* Makes [pos, pos+n) available in the chunk; n <= end - pos is the caller's job. */
static int iter_fill(hx_seg_iter_t *it, int64_t pos, size_t n, const unsigned char **p, hx_err_t *err)
{
    if (pos >= it->chunk_pos && pos + (int64_t)n <= it->chunk_pos + (int64_t)it->chunk.len) {
        *p = it->chunk.data + (pos - it->chunk_pos);
        return HX_OK;
    }
    size_t want = n > ITER_CHUNK ? n : ITER_CHUNK;
    if ((int64_t)want > it->end - pos)
        want = (size_t)(it->end - pos);
    hx_buf_reset(&it->chunk);
    if (hx_buf_reserve(&it->chunk, want))
        return hx_err_set(err, HX_ENOMEM, "out of memory reading segment %s", it->seg->path);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(it->seg->fd, it->chunk.data + got, want - got, (off_t)(pos + (int64_t)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return hx_err_set(err, HX_EIO, "read of %s.log failed: %s", it->seg->path, strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    it->chunk.len = got;
    it->chunk_pos = pos;
    if (got < n)
        return hx_err_set(err, HX_ECORRUPT, "%s.log is shorter than expected at position %lld", it->seg->path,
                          (long long)pos);
    *p = it->chunk.data;
    return HX_OK;
}

int hx_seg_iter_next(hx_seg_iter_t *it, hx_batch_hdr_t *h, const unsigned char **batch, hx_err_t *err)
{
    if (it->pos >= it->end)
        return 0;
    if (it->end - it->pos < HX_BATCH_HDR)
        return hx_err_set(err, HX_ECORRUPT, "incomplete batch header at position %lld of %s.log",
                          (long long)it->pos, it->seg->path);
    const unsigned char *p;
    int rc = iter_fill(it, it->pos, HX_BATCH_HDR, &p, err);
    if (rc)
        return rc;
    if (hx_batch_hdr_decode(p, h) != HX_OK || h->base < it->min_next)
        return hx_err_set(err, HX_ECORRUPT, "bad batch header at position %lld of %s.log", (long long)it->pos,
                          it->seg->path);
    if ((int64_t)hx_batch_size(h) > it->end - it->pos)
        return hx_err_set(err, HX_ECORRUPT, "incomplete batch at position %lld of %s.log", (long long)it->pos,
                          it->seg->path);
    rc = iter_fill(it, it->pos, hx_batch_size(h), &p, err);
    if (rc)
        return rc;
    if (it->verify && !hx_batch_crc_ok(p, h))
        return hx_err_set(err, HX_ECORRUPT, "CRC mismatch in batch at position %lld of %s.log",
                          (long long)it->pos, it->seg->path);
    *batch = p;
    it->pos += (int64_t)hx_batch_size(h);
    it->min_next = hx_batch_next(h);
    return 1;
}

