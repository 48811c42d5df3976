/* The memory engine's write-ahead log: numbered segment files of records
 * [u32 len][u32 crc32c][payload], appended with group commit. A write is
 * acknowledged once its record is written (fsync=interval|never: the page
 * cache survives a kill -9; a periodic fsync bounds loss on power failure)
 * or fsynced (fsync=always). Whoever waits first writes the whole queue for
 * everyone, so concurrent writers share one write() and one fsync(). */
#include "helix/hx_buf.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "memory/codec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hx_mwal {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char dir[HX_CFG_STR + 8];
    hx_fsync_t policy;
    int fd;
    uint64_t seg;
    hx_buf_t pending;
    hx_buf_t spare;            /* the last flushed batch's buffer, reused so appends rarely grow one */
    uint64_t appended, written, synced; /* lsns */
    int flushing;
    int failed;                /* sticky I/O error: writes fail until restart */
};

#define SPARE_MAX (1u << 20)

static void seg_path(const hx_mwal_t *w, uint64_t seg, char *out, size_t n)
{
    snprintf(out, n, "%s/%016" PRIu64 ".wal", w->dir, seg);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted segment numbers in the directory; caller frees *out. */
static int list_segs(const char *dir, uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return HX_EIO;
    struct dirent *e;
    size_t cap = 0;
    while ((e = readdir(d))) {
        uint64_t s;
        char tail[8];
        if (sscanf(e->d_name, "%16" SCNu64 ".%4s", &s, tail) != 2 || strcmp(tail, "wal"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nn = realloc(*out, cap * sizeof *nn);
            if (!nn) {
                closedir(d);
                return HX_ENOMEM;
            }
            *out = nn;
        }
        (*out)[(*n)++] = s;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_u64);
    return HX_OK;
}

int hx_mwal_frame(hx_buf_t *out, const void *rec, size_t len)
{
    if (hx_buf_reserve(out, 8 + len))
        return HX_ENOMEM;
    unsigned char *hdr = out->data + out->len;
    hx_store_u32le(hdr, (uint32_t)len);
    hx_store_u32le(hdr + 4, hx_crc32c(0, rec, len));
    if (len)
        memcpy(hdr + 8, rec, len);
    out->len += 8 + len;
    return HX_OK;
}

int hx_mwal_scan(const unsigned char *data, size_t len, hx_mwal_replay_fn fn, void *ctx, size_t *end)
{
    size_t pos = 0;
    int rc = HX_OK;
    while (pos + 8 <= len) {
        uint32_t rl = hx_load_u32le(data + pos), crc = hx_load_u32le(data + pos + 4);
        if (rl > HX_MWAL_REC_MAX || rl > len - pos - 8 || hx_crc32c(0, data + pos + 8, rl) != crc)
            break;
        if (fn && (rc = fn(ctx, (const char *)data + pos + 8, rl)))
            break;
        pos += 8 + rl;
    }
    *end = pos;
    return rc;
}

/* Replays one segment; truncates a torn or corrupt tail (it was never acked:
 * acks follow the write of the whole record). */
static int replay_seg(const char *path, hx_mwal_replay_fn fn, void *ctx, hx_err_t *err)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot open memory WAL %s: %s", path, strerror(errno));
    struct stat sb;
    fstat(fd, &sb);
    size_t size = (size_t)sb.st_size;
    unsigned char *data = size ? malloc(size) : NULL;
    if (size && !data) {
        close(fd);
        return hx_err_set(err, HX_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, data + got, size - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    size_t pos = 0;
    int rc = hx_mwal_scan(data, got, fn, ctx, &pos);
    if (rc)
        hx_err_set(err, rc, "replaying memory WAL %s at byte %zu failed", path, pos);
    if (!rc && pos < (size_t)sb.st_size) {
        HX_WARN("memory", "WAL %s: truncating %zu bytes of torn tail", path, (size_t)sb.st_size - pos);
        if (ftruncate(fd, (off_t)pos) || fsync(fd))
            rc = hx_err_set(err, HX_EIO, "cannot truncate torn tail of %s: %s", path, strerror(errno));
    }
    free(data);
    close(fd);
    return rc;
}

static int open_seg(hx_mwal_t *w, uint64_t seg, hx_err_t *err)
{
    char p[HX_CFG_STR + 64];
    seg_path(w, seg, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot create memory WAL %s: %s", p, strerror(errno));
    if (hx_fsync_dir(w->dir)) {
        close(fd);
        return hx_err_set(err, HX_EIO, "cannot fsync %s", w->dir);
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    w->seg = seg;
    return HX_OK;
}

int hx_mwal_open(const char *dir, hx_fsync_t policy, uint64_t from_seg, hx_mwal_replay_fn fn, void *ctx,
                 hx_mwal_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_mwal_t *w = calloc(1, sizeof *w);
    if (!w)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the memory WAL");
    snprintf(w->dir, sizeof w->dir, "%s/wal", dir);
    w->policy = policy;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    uint64_t *segs = NULL;
    size_t n = 0;
    int rc;
    if (mkdir(w->dir, 0755) && errno != EEXIST) {
        rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", w->dir, strerror(errno));
        goto fail;
    }
    if ((rc = list_segs(w->dir, &segs, &n))) {
        hx_err_set(err, rc, "cannot list %s", w->dir);
        goto fail;
    }
    uint64_t last = from_seg;
    for (size_t i = 0; i < n; i++) {
        if (segs[i] < from_seg)
            continue;
        char p[HX_CFG_STR + 64];
        seg_path(w, segs[i], p, sizeof p);
        if ((rc = replay_seg(p, fn, ctx, err)))
            goto fail;
        last = segs[i] + 1;
    }
    if ((rc = open_seg(w, last > from_seg ? last : from_seg, err)))
        goto fail;
    free(segs);
    *out = w;
    return HX_OK;
fail:
    free(segs);
    hx_mwal_close(w);
    return rc;
}

void hx_mwal_close(hx_mwal_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        if (w->pending.len && !w->failed && write(w->fd, w->pending.data, w->pending.len) < 0)
            HX_WARN("memory", "WAL close: %s", strerror(errno));
        if (w->policy != HX_FSYNC_NEVER)
            fsync(w->fd);
        close(w->fd);
    }
    hx_buf_free(&w->pending);
    hx_buf_free(&w->spare);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int hx_mwal_failed(hx_mwal_t *w)
{
    pthread_mutex_lock(&w->mu);
    int f = w->failed;
    pthread_mutex_unlock(&w->mu);
    return f;
}

int hx_mwal_append(hx_mwal_t *w, const void *rec, size_t len, uint64_t *lsn)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->failed ? HX_EIO : hx_mwal_frame(&w->pending, rec, len);
    if (!rc)
        *lsn = ++w->appended;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Called with mu held and flushing clear; writes the queue as the leader. */
static void lead_flush(hx_mwal_t *w, int want_sync)
{
    w->flushing = 1;
    hx_buf_t batch = w->pending;
    w->pending = w->spare; /* empty, keeps its capacity */
    memset(&w->spare, 0, sizeof w->spare);
    uint64_t upto = w->appended;
    int fd = w->fd;
    pthread_mutex_unlock(&w->mu);
    int bad = batch.len && write_all(fd, batch.data, batch.len);
    if (!bad && want_sync)
        bad = fdatasync(fd) != 0;
    if (batch.cap > SPARE_MAX)
        hx_buf_free(&batch); /* a burst's buffer is not kept */
    batch.len = 0;
    pthread_mutex_lock(&w->mu);
    if (!w->spare.data)
        w->spare = batch;
    else
        hx_buf_free(&batch);
    if (bad) {
        HX_ERROR("memory", "memory WAL write failed: %s; writes fail until restart", strerror(errno));
        w->failed = 1;
    } else {
        w->written = upto;
        if (want_sync)
            w->synced = upto;
    }
    w->flushing = 0;
    pthread_cond_broadcast(&w->cv);
}

int hx_mwal_wait(hx_mwal_t *w, uint64_t lsn, hx_err_t *err)
{
    int sync = w->policy == HX_FSYNC_ALWAYS;
    pthread_mutex_lock(&w->mu);
    while (!w->failed && (sync ? w->synced : w->written) < lsn) {
        if (w->flushing)
            pthread_cond_wait(&w->cv, &w->mu);
        else
            lead_flush(w, sync);
    }
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    if (failed)
        return hx_err_set(err, HX_EIO, "the memory write-ahead log failed (disk full or I/O error); see the log");
    return HX_OK;
}

int hx_mwal_sync(hx_mwal_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->flushing)
        pthread_cond_wait(&w->cv, &w->mu);
    if (!w->failed && w->pending.len)
        lead_flush(w, 0);
    uint64_t upto = w->written;
    int fd = w->fd, need = !w->failed && w->policy != HX_FSYNC_NEVER && w->synced < upto;
    pthread_mutex_unlock(&w->mu);
    /* The periodic fsync runs beside the writers, not in their way: under
     * fsync=interval an ack waits for write(), never for this. The fd is only
     * replaced by hx_mwal_roll, which runs on this same (publisher) thread. */
    int bad = need && fdatasync(fd) != 0;
    pthread_mutex_lock(&w->mu);
    if (bad)
        w->failed = 1;
    else if (need && upto > w->synced)
        w->synced = upto;
    int rc = w->failed ? HX_EIO : HX_OK;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int hx_mwal_roll(hx_mwal_t *w, uint64_t *new_seg, hx_err_t *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->flushing)
        pthread_cond_wait(&w->cv, &w->mu);
    if (!w->failed && w->pending.len)
        lead_flush(w, 1);
    else if (!w->failed && w->fd >= 0)
        fdatasync(w->fd);
    int rc = w->failed ? hx_err_set(err, HX_EIO, "memory WAL failed") : open_seg(w, w->seg + 1, err);
    *new_seg = w->seg;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void hx_mwal_drop_before(hx_mwal_t *w, uint64_t seg)
{
    uint64_t *segs = NULL;
    size_t n = 0;
    if (list_segs(w->dir, &segs, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (segs[i] < seg) {
                char p[HX_CFG_STR + 64];
                seg_path(w, segs[i], p, sizeof p);
                unlink(p);
            }
    free(segs);
    hx_fsync_dir(w->dir);
}
