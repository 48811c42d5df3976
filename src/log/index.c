/* Sparse offset and time index of a segment. Kept in memory (one entry per
 * index_interval_bytes of log) and written to .index (u32 relative offset,
 * u32 position) and .timeindex (i64 running max timestamp, u32 relative
 * offset) when a segment is closed. Both files are caches: anything odd about
 * them makes recovery rebuild them from the .log. */
#include "log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_ENT 8
#define TIDX_ENT 12

void hx_idx_clear(hx_segment_t *s)
{
    s->nidx = 0;
    s->next = s->base;
    s->max_ts = INT64_MIN;
}

static int idx_push(hx_segment_t *s, uint32_t rel, uint32_t pos, int64_t maxts)
{
    if (s->nidx == s->capidx) {
        size_t cap = s->capidx ? s->capidx * 2 : 64;
        hx_idx_ent_t *n = realloc(s->idx, cap * sizeof *n);
        if (!n)
            return HX_ENOMEM;
        s->idx = n;
        s->capidx = cap;
    }
    s->idx[s->nidx++] = (hx_idx_ent_t){rel, pos, maxts};
    return HX_OK;
}

int hx_idx_note_batch(hx_segment_t *s, const hx_batch_hdr_t *h, int64_t pos, int interval)
{
    if (h->max_ts > s->max_ts)
        s->max_ts = h->max_ts;
    s->next = hx_batch_next(h);
    if (s->nidx && pos - (int64_t)s->idx[s->nidx - 1].pos < interval)
        return HX_OK;
    return idx_push(s, (uint32_t)(h->base - s->base), (uint32_t)pos, s->max_ts);
}

int64_t hx_idx_lookup_offset(const hx_segment_t *s, int64_t offset)
{
    if (offset < s->base || s->nidx == 0)
        return 0;
    int64_t rel = offset - s->base;
    size_t lo = 0, hi = s->nidx; /* find last entry with rel <= target */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)s->idx[mid].rel <= rel)
            lo = mid;
        else
            hi = mid;
    }
    return (int64_t)s->idx[lo].rel <= rel ? s->idx[lo].pos : 0;
}

int64_t hx_idx_lookup_time(const hx_segment_t *s, int64_t ts)
{
    /* Running maxima are non-decreasing, so binary search for the last < ts. */
    size_t lo = 0, hi = s->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->idx[mid].maxts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : s->idx[lo - 1].pos;
}

int hx_idx_save(const hx_segment_t *s, int sync, hx_err_t *err)
{
    size_t n = s->nidx;
    unsigned char *a = malloc(n * IDX_ENT + 1), *b = malloc(n * TIDX_ENT + 1);
    int rc = HX_OK;
    if (!a || !b) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing index of %s", s->path);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        hx_store_u32le(a + i * IDX_ENT, s->idx[i].rel);
        hx_store_u32le(a + i * IDX_ENT + 4, s->idx[i].pos);
        hx_store_u64le(b + i * TIDX_ENT, (uint64_t)s->idx[i].maxts);
        hx_store_u32le(b + i * TIDX_ENT + 8, s->idx[i].rel);
    }
    /* Replaced atomically: a crash never leaves a torn index (a stale one is
     * caught by hx_idx_load and rebuilt). */
    char fn[4096];
    unsigned flags = sync ? 0 : HX_FS_NO_SYNC;
    hx_seg_file(s, "index", fn, sizeof fn);
    if ((rc = hx_fs_write_atomic_flags(fn, a, n * IDX_ENT, flags, err)))
        goto cleanup;
    hx_seg_file(s, "timeindex", fn, sizeof fn);
    rc = hx_fs_write_atomic_flags(fn, b, n * TIDX_ENT, flags, err);
cleanup:
    free(a);
    free(b);
    return rc;
}

static int read_file(const char *fn, unsigned char **out, size_t *len)
{
    int fd = open(fn, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HX_ENOTFOUND;
    struct stat st;
    int rc = HX_EIO;
    unsigned char *p = NULL;
    if (fstat(fd, &st) != 0)
        goto cleanup;
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        rc = HX_ENOMEM;
        goto cleanup;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto cleanup;
        got += (size_t)r;
    }
    *out = p;
    *len = got;
    p = NULL;
    rc = HX_OK;
cleanup:
    free(p);
    close(fd);
    return rc;
}

int hx_idx_load(hx_segment_t *s, int64_t logsize, int64_t *tail_pos)
{
    char fn[4096];
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    int rc;
    hx_idx_clear(s);
    hx_seg_file(s, "index", fn, sizeof fn);
    if ((rc = read_file(fn, &a, &alen)))
        goto cleanup;
    hx_seg_file(s, "timeindex", fn, sizeof fn);
    if ((rc = read_file(fn, &b, &blen)))
        goto cleanup;
    rc = HX_ECORRUPT;
    size_t n = alen / IDX_ENT;
    if (alen % IDX_ENT || blen % TIDX_ENT || blen / TIDX_ENT != n || (n == 0) != (logsize == 0))
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        uint32_t rel = hx_load_u32le(a + i * IDX_ENT), pos = hx_load_u32le(a + i * IDX_ENT + 4);
        int64_t ts = (int64_t)hx_load_u64le(b + i * TIDX_ENT);
        uint32_t rel2 = hx_load_u32le(b + i * TIDX_ENT + 8);
        if (rel2 != rel || (int64_t)pos >= logsize || (i == 0 && pos != 0))
            goto cleanup;
        if (i > 0 && (rel <= s->idx[i - 1].rel || pos <= s->idx[i - 1].pos || ts < s->idx[i - 1].maxts))
            goto cleanup;
        if (idx_push(s, rel, pos, ts)) {
            rc = HX_ENOMEM;
            goto cleanup;
        }
    }
    /* The last entry must point at a batch starting where the index says. */
    if (n) {
        unsigned char hb[HX_BATCH_HDR];
        hx_batch_hdr_t h;
        const hx_idx_ent_t *last = &s->idx[n - 1];
        if (pread(s->fd, hb, sizeof hb, last->pos) != (ssize_t)sizeof hb || hx_batch_hdr_decode(hb, &h) ||
            h.base != s->base + last->rel)
            goto cleanup;
        s->max_ts = last->maxts;
        *tail_pos = last->pos;
    } else {
        *tail_pos = 0;
    }
    rc = HX_OK;
cleanup:
    if (rc)
        hx_idx_clear(s);
    free(a);
    free(b);
    return rc;
}
