/* Opening a partition after a clean close or a crash. The last segment (where
 * a crash can tear a write) and any segment whose index is missing or
 * inconsistent are scanned batch by batch with CRC checks; the file is
 * truncated at the first bad or incomplete batch. Closed segments with a
 * valid index only have their tail (after the last index entry) scanned. */
#include "log_internal.h"

#include "helix/hx_logger.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Leftovers of interrupted compactions or index writes are dropped; .log is
 * always the truth (renames are atomic). */
static int is_leftover(const char *name)
{
    size_t n = strlen(name);
    return (n > 8 && strcmp(name + n - 8, ".cleaned") == 0) || (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}

static int list_bases(const char *dir, int64_t **out, size_t *nout, hx_err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return hx_err_set(err, HX_EIO, "cannot open partition directory %s: %s", dir, strerror(errno));
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = HX_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        if (is_leftover(nm)) {
            char fn[4096];
            snprintf(fn, sizeof fn, "%s/%s", dir, nm);
            HX_WARN(HX_LOG_COMP, "removing leftover %s from an interrupted operation", fn);
            unlink(fn);
            continue;
        }
        if (strlen(nm) != 24 || strcmp(nm + 20, ".log") != 0 || strspn(nm, "0123456789") != 20)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            v = nv;
        }
        v[n++] = strtoll(nm, NULL, 10);
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_i64);
    *out = v;
    *nout = n;
    return HX_OK;
}

/* Scans [from, size) verifying CRCs, noting batches in the index; truncates a
 * torn or corrupt tail. */
static int scan_segment(hx_log_t *log, hx_segment_t *s, int64_t from, int64_t min_next, hx_err_t *err)
{
    hx_seg_iter_t it;
    hx_seg_iter_init(&it, s, from, s->size, 1);
    if (min_next > it.min_next)
        it.min_next = min_next;
    hx_batch_hdr_t h;
    const unsigned char *b;
    hx_err_t why = {0};
    int rc;
    while ((rc = hx_seg_iter_next(&it, &h, &b, &why)) == 1) {
        if (hx_idx_note_batch(s, &h, it.pos - (int64_t)hx_batch_size(&h), log->opts.index_interval_bytes)) {
            hx_seg_iter_free(&it);
            return hx_err_set(err, HX_ENOMEM, "out of memory indexing %s.log", s->path);
        }
    }
    int64_t valid = it.pos;
    hx_seg_iter_free(&it);
    if (rc == HX_EIO || rc == HX_ENOMEM)
        return hx_err_set(err, rc, "%s", why.msg);
    if (rc == HX_ECORRUPT) {
        HX_WARN(HX_LOG_COMP, "%s; truncating %s.log from %lld to %lld bytes (%lld bytes dropped)", why.msg, s->path,
                (long long)s->size, (long long)valid, (long long)(s->size - valid));
        if (ftruncate(s->fd, valid) != 0 || fdatasync(s->fd) != 0)
            return hx_err_set(err, HX_EIO, "cannot truncate %s.log: %s", s->path, strerror(errno));
        s->size = valid;
    }
    return HX_OK;
}

static int load_segment(hx_log_t *log, hx_partition_t *p, hx_segment_t *s, int last, int64_t min_next,
                        hx_err_t *err)
{
    if (!last) {
        int64_t tail = 0;
        if (hx_idx_load(s, s->size, &tail) == HX_OK) {
            /* A valid index: only the tail past its last entry needs reading. */
            int64_t size_before = s->size;
            int rc = scan_segment(log, s, tail, s->base + (s->nidx ? s->idx[s->nidx - 1].rel : 0), err);
            if (rc)
                return rc;
            if (s->size == size_before)
                return HX_OK;
            /* The tail was bad: the index may point into dropped bytes. */
        }
        hx_idx_clear(s);
        int rc = scan_segment(log, s, 0, min_next, err);
        if (rc)
            return rc;
        HX_INFO(HX_LOG_COMP, "rebuilt index of %s.log (%zu entries)", s->path, s->nidx);
        return hx_idx_save(s, log->opts.fsync != HX_FSYNC_NEVER, err);
    }
    hx_idx_clear(s);
    return scan_segment(log, s, 0, min_next, err);
}

int hx_part_recover(hx_log_t *log, hx_partition_t *p, hx_err_t *err)
{
    int64_t *bases = NULL;
    size_t n = 0;
    int rc = list_bases(p->dir, &bases, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        hx_segment_t *s;
        rc = hx_seg_create(p->dir, 0, &s, err);
        if (rc == HX_OK && (rc = hx_part_push_seg(p, s)) != HX_OK) {
            hx_seg_unref(s);
            hx_err_set(err, rc, "out of memory opening %s", p->dir);
        }
        if (rc == HX_OK && log->opts.fsync != HX_FSYNC_NEVER)
            hx_fsync_dir(p->dir);
        goto done;
    }
    int64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        hx_segment_t *s;
        if ((rc = hx_seg_open(p->dir, bases[i], &s, err)))
            goto cleanup;
        if (i > 0 && s->base < next) {
            rc = hx_err_set(err, HX_ECORRUPT,
                            "segment %s.log starts at offset %lld but the previous segment reaches %lld; "
                            "the partition directory was modified by hand",
                            s->path, (long long)s->base, (long long)next);
            hx_seg_unref(s);
            goto cleanup;
        }
        if ((rc = load_segment(log, p, s, i == n - 1, next, err)) || (rc = hx_part_push_seg(p, s))) {
            if (rc == HX_ENOMEM)
                hx_err_set(err, rc, "out of memory opening %s", p->dir);
            hx_seg_unref(s);
            goto cleanup;
        }
        next = s->next;
    }
done:
    if (rc == HX_OK) {
        p->active = p->segs[p->nseg - 1];
        p->hw = p->active->next;
        p->durable = p->hw;
    }
cleanup:
    free(bases);
    return rc;
}
