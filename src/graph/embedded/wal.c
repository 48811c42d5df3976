/* The graph store's write-ahead log: one record per applied batch (its ops
 * and cursors), so a crash loses nothing that was acknowledged and replaying
 * gives the same graph (persist.h has the layout). */
#include "graph/embedded/persist.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int es_wal_frame(hx_buf_t *out, uint64_t seq, const void *payload, size_t n)
{
    if (n > ES_WAL_REC_MAX - 8)
        return HX_ETOOBIG;
    int rc = hx_buf_reserve(out, 16 + n);
    if (rc)
        return rc;
    unsigned char *h = out->data + out->len;
    hx_store_u32le(h, (uint32_t)(8 + n));
    hx_store_u64le(h + 8, seq);
    memcpy(h + 16, payload, n);
    hx_store_u32le(h + 4, hx_crc32c(0, h + 8, 8 + n));
    out->len += 16 + n;
    return HX_OK;
}

int es_wal_scan(const unsigned char *data, size_t len, es_wal_fn fn, void *ctx, size_t *end)
{
    size_t pos = 0;
    *end = 0;
    while (len - pos >= 16) {
        uint32_t n = hx_load_u32le(data + pos), crc = hx_load_u32le(data + pos + 4);
        if (n < 8 || n > ES_WAL_REC_MAX || n > len - pos - 8 || hx_crc32c(0, data + pos + 8, n) != crc)
            break;
        uint64_t seq = hx_load_u64le(data + pos + 8);
        int rc = fn ? fn(ctx, seq, data + pos + 16, n - 8) : HX_OK;
        if (rc)
            return rc;
        pos += 8 + (size_t)n;
        *end = pos;
    }
    return HX_OK;
}

static int wal_name(const char *name, uint64_t *first)
{
    unsigned long long v;
    char tail[8];
    if (sscanf(name, "wal-%16llx.%7s", &v, tail) != 2 || strcmp(tail, "log") || strlen(name) != 24)
        return 0;
    *first = v;
    return 1;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* First seqs of the WAL files in dir, sorted; *out malloc'd. */
static int list_files(const char *dir, uint64_t **out, size_t *n, hx_err_t *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return hx_err_set(err, HX_EIO, "cannot read graph store directory %s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    int rc = HX_OK;
    while ((de = readdir(d))) {
        uint64_t first;
        if (!wal_name(de->d_name, &first))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            uint64_t *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory");
                break;
            }
            *out = p;
        }
        (*out)[(*n)++] = first;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, u64_cmp);
    return rc;
}

static void file_path(const es_wal_t *w, uint64_t first, char *buf, size_t len)
{
    snprintf(buf, len, "%s/wal-%016" PRIx64 ".log", w->dir, first);
}

int es_read_file(const char *path, unsigned char **data, size_t *len, hx_err_t *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        return hx_err_set(err, HX_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *p = malloc(n ? n : 1);
    if (!p) {
        close(fd);
        return hx_err_set(err, HX_ENOMEM, "out of memory reading %s", path);
    }
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = p;
    *len = got;
    return HX_OK;
}

typedef struct {
    es_wal_fn fn;
    void *ctx;
    uint64_t after, last;
    int gap;
} replay_t;

static int replay_rec(void *ctx, uint64_t seq, const unsigned char *p, size_t n)
{
    replay_t *r = ctx;
    if (seq <= r->after)
        return HX_OK; /* covered by the snapshot */
    if (seq != r->last + 1) {
        r->gap = 1;
        return HX_ECORRUPT;
    }
    r->last = seq;
    return r->fn ? r->fn(r->ctx, seq, p, n) : HX_OK;
}

static int open_append(es_wal_t *w, uint64_t first, int create, hx_err_t *err)
{
    char path[PATH_MAX + 32];
    file_path(w, first, path, sizeof path);
    w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
    if (w->fd < 0)
        return hx_err_set(err, HX_EIO, "cannot open graph WAL %s: %s", path, strerror(errno));
    w->file_first = first;
    if (create && hx_fsync_dir(w->dir))
        return hx_err_set(err, HX_EIO, "cannot fsync %s: %s", w->dir, strerror(errno));
    return HX_OK;
}

int es_wal_open(es_wal_t *w, const char *dir, hx_fsync_t fsync, uint64_t after, es_wal_fn fn, void *ctx,
                uint64_t *last, hx_err_t *err)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->fsync = fsync;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    uint64_t *files;
    size_t nf;
    int rc = list_files(dir, &files, &nf, err);
    if (rc)
        return rc;
    replay_t r = {fn, ctx, after, after, 0};
    for (size_t i = 0; i < nf && !rc; i++) {
        char path[PATH_MAX + 32];
        file_path(w, files[i], path, sizeof path);
        unsigned char *data;
        size_t len, end = 0;
        if ((rc = es_read_file(path, &data, &len, err)))
            break;
        rc = es_wal_scan(data, len, replay_rec, &r, &end);
        free(data);
        if (rc) {
            if (r.gap)
                rc = hx_err_set(err, HX_ECORRUPT,
                                "graph WAL %s skips from record %" PRIu64 "; the store cannot be rebuilt exactly "
                                "(move %s aside: the graph consumer then rebuilds it from the topic)", path, r.last,
                                dir);
            else if (!err || !err->msg[0])
                rc = hx_err_set(err, rc, "replaying graph WAL %s failed", path);
            break;
        }
        w->bytes += end;
        if (end < len) {
            if (i + 1 < nf) {
                rc = hx_err_set(err, HX_ECORRUPT,
                                "graph WAL %s is damaged at byte %zu, before newer files; move %s aside to rebuild "
                                "the graph from the topic", path, end, dir);
                break;
            }
            HX_WARN("graph", "%s: cutting a torn tail of %zu bytes after byte %zu (a crash mid-write; its batch "
                    "is read from the topic again)", path, len - end, end);
            if (truncate(path, (off_t)end))
                rc = hx_err_set(err, HX_EIO, "cannot truncate %s: %s", path, strerror(errno));
        }
    }
    if (!rc)
        rc = nf ? open_append(w, files[nf - 1], 0, err) : open_append(w, r.last + 1, 1, err);
    free(files);
    *last = r.last;
    return rc;
}

int es_wal_append(es_wal_t *w, const hx_buf_t *framed, hx_err_t *err)
{
    size_t done = 0;
    while (done < framed->len) {
        ssize_t n = write(w->fd, framed->data + done, framed->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            /* A short write leaves a torn record: cut it so the file stays a
             * clean sequence of records for the next append. */
            off_t end = lseek(w->fd, 0, SEEK_END);
            if (end >= (off_t)done && ftruncate(w->fd, end - (off_t)done))
                HX_WARN("graph", "cannot cut a torn WAL record in %s: %s", w->dir, strerror(errno));
            return hx_err_set(err, HX_EIO, "writing the graph WAL in %s failed: %s", w->dir, strerror(e));
        }
        done += (size_t)n;
    }
    w->bytes += framed->len;
    w->dirty = 1;
    if (w->fsync == HX_FSYNC_ALWAYS && es_wal_sync(w))
        return hx_err_set(err, HX_EIO, "fsync of the graph WAL in %s failed: %s", w->dir, strerror(errno));
    return HX_OK;
}

int es_wal_sync(es_wal_t *w)
{
    if (!w->dirty || w->fd < 0)
        return HX_OK;
    if (fdatasync(w->fd))
        return HX_EIO;
    w->dirty = 0;
    return HX_OK;
}

int es_wal_rotate(es_wal_t *w, uint64_t next, hx_err_t *err)
{
    if (es_wal_sync(w))
        return hx_err_set(err, HX_EIO, "fsync of the graph WAL failed: %s", strerror(errno));
    int old = w->fd;
    uint64_t old_first = w->file_first;
    if (next == old_first) /* nothing was written since the last rotation */
        return HX_OK;
    int rc = open_append(w, next, 1, err);
    if (rc) {
        w->fd = old;
        w->file_first = old_first;
        return rc;
    }
    close(old);
    return HX_OK;
}

void es_wal_drop_old(es_wal_t *w)
{
    struct stat st;
    if (!fstat(w->fd, &st)) /* what the open file holds is all that is left */
        w->bytes = (uint64_t)st.st_size;
    uint64_t *files;
    size_t nf;
    if (list_files(w->dir, &files, &nf, NULL))
        return;
    for (size_t i = 0; i < nf; i++) {
        if (files[i] >= w->file_first)
            continue;
        char path[PATH_MAX + 32];
        file_path(w, files[i], path, sizeof path);
        if (unlink(path))
            HX_WARN("graph", "cannot remove %s: %s", path, strerror(errno));
    }
    free(files);
    hx_fsync_dir(w->dir);
}

void es_wal_close(es_wal_t *w)
{
    if (w->fd >= 0) {
        es_wal_sync(w);
        close(w->fd);
    }
    w->fd = -1;
}

int64_t es_store_disk_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t first;
        int snap = !strncmp(de->d_name, "snapshot-", 9);
        if (!snap && !wal_name(de->d_name, &first))
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (!stat(path, &st))
            total += st.st_size;
    }
    closedir(d);
    return total;
}
