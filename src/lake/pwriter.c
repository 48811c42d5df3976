/* Partitioned dataset writer: one open Parquet file per day partition. */
#include "helix/hx_lake.h"
#include "lake/lake_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct part {
    int key;                     /* y*10000 + m*100 + d */
    int64_t day_ms;
    hx_pq_writer_t *w;
    int seq;
    char path[1200];
    /* Result of the last finish_part. */
    int done, rc;
    hx_err_t err;
    char *tmp, *fin;
    int64_t rows, bytes;
} part_t;

struct hx_lake_writer {
    hx_lake_opts_t o;
    char *root;
    const hx_lake_dataset_t *ds;
    char file_id[160];
    part_t *parts;
    size_t nparts, cap;
    size_t last;                 /* rows usually arrive in day order */
    pq_kv_pairs_t kv;
    int64_t rows, bytes;
    size_t files;
};

int hx_lake_mkdirs(const char *path, hx_err_t *err)
{
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return hx_err_set(err, HX_ERANGE, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return hx_err_set(err, HX_EIO, "cannot create directory %s: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    return HX_OK;
}

int hx_lake_kv_set(pq_kv_pairs_t *kv, const char *key, const char *value)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->keys[i], key) == 0) {
            char *v = strdup(value);
            if (!v)
                return HX_ENOMEM;
            free(kv->vals[i]);
            kv->vals[i] = v;
            return HX_OK;
        }
    }
    char **k = realloc(kv->keys, (kv->n + 1) * sizeof *k);
    if (!k)
        return HX_ENOMEM;
    kv->keys = k;
    char **v = realloc(kv->vals, (kv->n + 1) * sizeof *v);
    if (!v)
        return HX_ENOMEM;
    kv->vals = v;
    k[kv->n] = strdup(key);
    v[kv->n] = strdup(value);
    if (!k[kv->n] || !v[kv->n]) {
        free(k[kv->n]);
        free(v[kv->n]);
        return HX_ENOMEM;
    }
    kv->n++;
    return HX_OK;
}

void hx_lake_kv_free(pq_kv_pairs_t *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->keys[i]);
        free(kv->vals[i]);
    }
    free(kv->keys);
    free(kv->vals);
    kv->keys = kv->vals = NULL;
    kv->n = 0;
}

int hx_lake_writer_open(const hx_lake_opts_t *o, const hx_lake_dataset_t *ds, const char *file_id,
                        hx_lake_writer_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_lake_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->root = strdup(o->root))) {
        free(w);
        return hx_err_set(err, HX_ENOMEM, "out of memory opening a lake writer");
    }
    w->o = *o;
    w->o.root = w->root;
    w->ds = ds;
    snprintf(w->file_id, sizeof w->file_id, "%s", file_id);
    *out = w;
    return HX_OK;
}

int hx_lake_writer_set_kv(hx_lake_writer_t *w, const char *key, const char *value, hx_err_t *err)
{
    if (hx_lake_kv_set(&w->kv, key, value))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; i < w->nparts; i++)
        if (w->parts[i].w && hx_pq_writer_set_kv(w->parts[i].w, key, value, err))
            return err ? err->code : HX_ENOMEM;
    return HX_OK;
}

static int part_open(hx_lake_writer_t *w, part_t *p, hx_err_t *err)
{
    char dir[1024];
    if (hx_lake_partition_dir(w->root, w->ds->name, p->day_ms, dir, sizeof dir))
        return hx_err_set(err, HX_ERANGE, "lake path too long under %s", w->root);
    int rc = p->seq ? HX_OK : hx_lake_mkdirs(dir, err);   /* the partition's next file: its dir exists */
    if (rc)
        return rc;
    snprintf(p->path, sizeof p->path, "%s/part-%s-%d.parquet", dir, w->file_id, p->seq++);
    hx_pq_write_opts_t po = {.codec = w->o.codec, .zstd_level = w->o.zstd_level,
                             .row_group_bytes = w->o.row_group_bytes, .page_bytes = w->o.page_bytes,
                             .no_fsync = w->o.no_fsync};
    if ((rc = hx_pq_writer_open(p->path, w->ds->cols, w->ds->ncols, &po, &p->w, err)))
        return rc;
    hx_pq_writer_set_kv(p->w, "helix.dataset", w->ds->name, err);
    for (size_t i = 0; i < w->kv.n; i++)
        if ((rc = hx_pq_writer_set_kv(p->w, w->kv.keys[i], w->kv.vals[i], err)))
            return rc;
    return HX_OK;
}

/* Completes a part's open file: published, or staged under its temp name. */
static void finish_part(part_t *p, int staged)
{
    p->done = 0;
    if (!p->w)
        return;
    hx_pq_writer_t *pw = p->w;
    p->w = NULL;
    p->rows = hx_pq_writer_rows(pw);
    p->bytes = 0;
    hx_err_clear(&p->err);
    p->tmp = p->fin = NULL;
    if (staged) {
        p->rc = hx_pq_writer_close_staged(pw, &p->tmp, &p->fin, &p->err);
    } else {
        p->rc = hx_pq_writer_close(pw, &p->err);
        struct stat st;
        if (p->rc == HX_OK && stat(p->path, &st) == 0)
            p->bytes = (int64_t)st.st_size;
    }
    p->done = 1;
}

typedef struct finish_job {
    hx_lake_writer_t *w;
    int staged;
} finish_job_t;

static void *finish_odd(void *arg)
{
    finish_job_t *j = arg;
    for (size_t i = 1; i < j->w->nparts; i += 2)
        finish_part(&j->w->parts[i], j->staged);
    return NULL;
}

/* Encoding and compressing the buffered row groups is most of a close: the
 * parts are independent, so two threads share them (the machine's 2 cores). */
static void finish_all(hx_lake_writer_t *w, int staged)
{
    finish_job_t j = {w, staged};
    pthread_t th;
    int threaded = w->nparts >= 2 && pthread_create(&th, NULL, finish_odd, &j) == 0;
    for (size_t i = 0; i < w->nparts; i += threaded ? 2 : 1)
        finish_part(&w->parts[i], staged);
    if (threaded)
        pthread_join(th, NULL);
}

static int part_close(hx_lake_writer_t *w, part_t *p, hx_err_t *err)
{
    finish_part(p, 0);
    if (!p->done)
        return HX_OK;
    if (p->rc) {
        if (err)
            *err = p->err;
        return p->rc;
    }
    w->bytes += p->bytes;
    w->files++;
    return HX_OK;
}

int hx_lake_writer_write(hx_lake_writer_t *w, const hx_pq_value_t *row, hx_err_t *err)
{
    if (row[w->ds->ts_col].is_null)
        return hx_err_set(err, HX_EINVAL, "%s row without its event time ts", w->ds->name);
    int y, m, d;
    int64_t ts = row[w->ds->ts_col].v.i;
    hx_lake_civil(ts, &y, &m, &d);
    int key = y * 10000 + m * 100 + d;
    part_t *p = NULL;
    if (w->nparts && w->parts[w->last].key == key) {
        p = &w->parts[w->last];
    } else {
        for (size_t i = 0; i < w->nparts; i++)
            if (w->parts[i].key == key) {
                p = &w->parts[i];
                w->last = i;
            }
    }
    if (!p) {
        if (w->nparts == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 8;
            part_t *np = realloc(w->parts, nc * sizeof *np);
            if (!np)
                return hx_err_set(err, HX_ENOMEM, "out of memory");
            w->parts = np;
            w->cap = nc;
        }
        p = &w->parts[w->nparts];
        memset(p, 0, sizeof *p);
        p->key = key;
        p->day_ms = hx_lake_day_start(y, m, d);
        w->last = w->nparts++;
    }
    int rc;
    if (!p->w && (rc = part_open(w, p, err)))
        return rc;
    if ((rc = hx_pq_writer_write_row(p->w, row, err)))
        return rc;
    w->rows++;
    if (w->o.file_rows > 0 && hx_pq_writer_rows(p->w) >= w->o.file_rows)
        return part_close(w, p, err);
    return HX_OK;
}

int64_t hx_lake_writer_rows(const hx_lake_writer_t *w)
{
    return w->rows;
}

static void writer_free(hx_lake_writer_t *w)
{
    for (size_t i = 0; i < w->nparts; i++)
        hx_pq_writer_abort(w->parts[i].w);
    free(w->parts);
    hx_lake_kv_free(&w->kv);
    free(w->root);
    free(w);
}

/* A close reports the first failed part's error and code. */
static int keep_first_error(const part_t *p, int rc, hx_err_t *err)
{
    if (rc)
        return rc;
    if (err)
        *err = p->err;
    return p->rc;
}

int hx_lake_writer_close(hx_lake_writer_t *w, size_t *files, int64_t *bytes, hx_err_t *err)
{
    int rc = HX_OK;
    finish_all(w, 0);
    for (size_t i = 0; i < w->nparts; i++) {
        part_t *p = &w->parts[i];
        if (!p->done)
            continue;
        if (p->rc) {
            rc = keep_first_error(p, rc, err);
            continue;
        }
        w->bytes += p->bytes;
        w->files++;
    }
    if (files)
        *files = w->files;
    if (bytes)
        *bytes = w->bytes;
    writer_free(w);
    return rc;
}

int hx_lake_writer_close_staged(hx_lake_writer_t *w, hx_lake_staged_t **out, size_t *n, hx_err_t *err)
{
    *out = NULL;
    *n = 0;
    finish_all(w, 1);
    int rc = HX_OK;
    hx_lake_staged_t *st = calloc(w->nparts ? w->nparts : 1, sizeof *st);
    size_t k = 0;
    for (size_t i = 0; i < w->nparts; i++) {
        part_t *p = &w->parts[i];
        if (!p->done)
            continue;
        if (p->rc) {
            rc = keep_first_error(p, rc, err);
            continue;
        }
        if (!st) {
            unlink(p->tmp);
            free(p->tmp);
            free(p->fin);
            continue;
        }
        st[k++] = (hx_lake_staged_t){p->tmp, p->fin, p->rows};
    }
    if (!st && !rc)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory closing lake files");
    writer_free(w);
    if (rc) {
        hx_lake_staged_free(st, k, 1);
        return rc;
    }
    *out = st;
    *n = k;
    return HX_OK;
}

void hx_lake_staged_free(hx_lake_staged_t *s, size_t n, int unlink_tmp)
{
    for (size_t i = 0; s && i < n; i++) {
        if (unlink_tmp && s[i].tmp)
            unlink(s[i].tmp);
        free(s[i].tmp);
        free(s[i].path);
    }
    free(s);
}

void hx_lake_writer_abort(hx_lake_writer_t *w)
{
    if (w)
        writer_free(w);
}
