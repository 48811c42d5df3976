/* Lake maintenance behind the batch jobs: retention (drop old day
 * partitions), compaction (coalesce small files) and export (a tenant's
 * rows of a dataset and time range to a Parquet directory).
 *
 * Compaction replaces several files by one with a manifest in <root>/_helix
 * (output, inputs): the merged file is complete before the manifest is
 * written, so a crash either leaves the inputs alone (no manifest) or is
 * rolled forward at the next open (publish the output, remove the inputs):
 * rows are never lost or doubled. */
#include "lake/lake_int.h"

#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_id.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rmdir_up(const char *file, const char *stop_at)
{
    char d[1200];
    snprintf(d, sizeof d, "%s", file);
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(d, '/');
        if (!slash)
            return;
        *slash = 0;
        if (strcmp(d, stop_at) == 0 || rmdir(d) != 0)
            return;
    }
}

int hx_lake_retention(hx_lake_t *l, const char *dataset, int64_t now_ms, const hx_lake_task_t *t, json_t **out,
                      hx_err_t *err)
{
    json_t *res = json_object();
    int rc = HX_OK;
    size_t nds = hx_lake_ndatasets();
    for (size_t i = 0; i < nds && rc == HX_OK; i++) {
        const hx_lake_dataset_t *ds = hx_lake_dataset_at(i);
        if (dataset && strcmp(dataset, ds->name) != 0)
            continue;
        int days = hx_lake_retention_days(l, ds->name);
        int64_t removed = 0, bytes = 0, parts = 0;
        if (days > 0) {
            int y, m, d;
            hx_lake_civil(now_ms, &y, &m, &d);
            int64_t cutoff = hx_lake_day_start(y, m, d) - (int64_t)days * 86400000LL;
            hx_lake_file_t *files;
            size_t n;
            /* Only partitions wholly before the cutoff day are listed. */
            if ((rc = hx_lake_list(l->root, ds->name, 1, cutoff, &files, &n, err)))
                break;
            pthread_mutex_lock(&l->mu);
            int last = -1;
            for (size_t k = 0; k < n; k++) {
                if (lake_task_cancelled(t)) {
                    rc = hx_err_set(err, HX_EAGAIN, "cancelled");
                    break;
                }
                if (unlink(files[k].path) != 0 && errno != ENOENT) {
                    rc = hx_err_set(err, HX_EIO, "cannot remove %s: %s", files[k].path, strerror(errno));
                    break;
                }
                int key = files[k].year * 10000 + files[k].month * 100 + files[k].day;
                parts += key != last;
                last = key;
                removed++;
                bytes += files[k].bytes;
                rmdir_up(files[k].path, l->root);
            }
            pthread_mutex_unlock(&l->mu);
            hx_lake_files_free(files, n);
        }
        json_object_set_new(res, ds->name, json_pack("{s:i,s:I,s:I,s:I}", "retention_days", days,
                                                     "partitions_removed", (json_int_t)parts, "files_removed",
                                                     (json_int_t)removed, "bytes_removed", (json_int_t)bytes));
        lake_task_progress(t, (double)(i + 1) / (double)nds);
    }
    if (dataset && !hx_lake_dataset_find(dataset))
        rc = hx_err_set(err, HX_ENOTFOUND, "no dataset '%s'", dataset);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = json_pack("{s:o}", "datasets", res);
    return HX_OK;
}

/* Publishes a finished merge: manifest, rename, remove inputs, drop manifest. */
static int merge_commit(hx_lake_t *l, const char *tmp, const char *path, char **inputs, size_t nin, hx_err_t *err)
{
    char man[1300];
    snprintf(man, sizeof man, "%s/compact-%s-%lld.manifest.json", l->meta_dir, l->cfg->node.node_id,
             (long long)hx_now_ms());
    json_t *in = json_array();
    for (size_t i = 0; i < nin; i++)
        json_array_append_new(in, json_string(inputs[i]));
    json_t *j = json_pack("{s:s,s:s,s:o}", "tmp", tmp, "path", path, "remove", in);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    int rc = text ? hx_fs_write_atomic(man, text, strlen(text), err) : hx_err_set(err, HX_ENOMEM, "out of memory");
    free(text);
    if (rc)
        return rc;
    if ((rc = hx_pq_publish(tmp, path, 0, err)))
        return rc;   /* the manifest stays; the next open rolls it forward */
    for (size_t i = 0; i < nin; i++)
        unlink(inputs[i]);
    unlink(man);
    return HX_OK;
}

int lake_manifests_recover(hx_lake_t *l, hx_err_t *err)
{
    DIR *d = opendir(l->meta_dir);
    if (!d)
        return HX_OK;
    struct dirent *e;
    int rc = HX_OK;
    while (rc == HX_OK && (e = readdir(d))) {
        if (strncmp(e->d_name, "compact-", 8) != 0)
            continue;
        char man[1400];
        snprintf(man, sizeof man, "%s/%s", l->meta_dir, e->d_name);
        json_t *j = json_load_file(man, 0, NULL);
        const char *tmp = json_string_value(json_object_get(j, "tmp"));
        const char *path = json_string_value(json_object_get(j, "path"));
        if (tmp && path && access(tmp, F_OK) == 0)
            rc = hx_pq_publish(tmp, path, 0, err);
        if (rc == HX_OK && path && access(path, F_OK) == 0) {
            size_t i;
            json_t *in;
            json_array_foreach(json_object_get(j, "remove"), i, in)
                unlink(json_string_value(in));
        }
        json_decref(j);
        if (rc == HX_OK)
            unlink(man);
    }
    closedir(d);
    return rc;
}

/* Merges files[a..b) of one partition into one file. */
static int merge(hx_lake_t *l, const hx_lake_dataset_t *ds, hx_lake_file_t *files, size_t a, size_t b,
                 int64_t *rows, hx_err_t *err)
{
    char dir[1200], path[1300];
    snprintf(dir, sizeof dir, "%s", files[a].path);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    snprintf(path, sizeof path, "%s/part-c-%s-%lld-%zu.parquet", dir, l->cfg->node.node_id, (long long)hx_now_ms(), a);
    hx_lake_opts_t o;
    hx_lake_write_opts(l, &o);
    hx_pq_write_opts_t po = {.codec = o.codec, .zstd_level = o.zstd_level, .row_group_bytes = o.row_group_bytes,
                             .page_bytes = o.page_bytes};
    hx_pq_writer_t *w;
    int rc = hx_pq_writer_open(path, ds->cols, ds->ncols, &po, &w, err);
    if (rc)
        return rc;
    char cnt[32];
    snprintf(cnt, sizeof cnt, "%zu", b - a);
    hx_pq_writer_set_kv(w, "helix.dataset", ds->name, err);
    hx_pq_writer_set_kv(w, "helix.lake.compacted", cnt, err);
    hx_pq_value_t vals[64];
    for (size_t f = a; f < b && rc == HX_OK; f++) {
        hx_pq_reader_t *r;
        if ((rc = hx_pq_reader_open(files[f].path, &r, err)))
            break;
        int fc[64];
        for (size_t c = 0; c < ds->ncols && rc == HX_OK; c++)
            if ((fc[c] = hx_pq_reader_find(r, ds->cols[c].name)) < 0)
                rc = hx_err_set(err, HX_ECORRUPT, "%s lacks column %s", files[f].path, ds->cols[c].name);
        for (size_t g = 0; rc == HX_OK && g < hx_pq_reader_nrowgroups(r); g++) {
            hx_pq_batch_t bt;
            rc = hx_pq_read_rowgroup(r, g, fc, ds->ncols, &bt, err);
            for (size_t k = 0; rc == HX_OK && k < ds->ncols; k++)
                bt.cols[k] = (int)k;
            for (size_t i = 0; rc == HX_OK && i < bt.nrows; i++) {
                lake_batch_row(&bt, i, vals);
                rc = hx_pq_writer_write_row(w, vals, err);
                (*rows)++;
            }
            hx_pq_batch_free(&bt);
        }
        hx_pq_reader_close(r);
    }
    char *tmp = NULL, *fin = NULL;
    if (rc) {
        hx_pq_writer_abort(w);
        return rc;
    }
    if ((rc = hx_pq_writer_close_staged(w, &tmp, &fin, err)))
        return rc;
    char *inputs[256];
    size_t nin = 0;
    for (size_t f = a; f < b && nin < 256; f++)
        inputs[nin++] = files[f].path;
    pthread_mutex_lock(&l->mu);
    /* An input deleted meanwhile (retention, a conversation delete) means
     * the merge is stale: drop it rather than resurrect rows. */
    for (size_t f = a; f < b && rc == HX_OK; f++) {
        struct stat st;
        if (stat(files[f].path, &st) != 0 || (int64_t)st.st_size != files[f].bytes)
            rc = hx_err_set(err, HX_ECONFLICT, "%s changed during compaction; run it again", files[f].path);
    }
    if (rc == HX_OK)
        rc = merge_commit(l, tmp, fin, inputs, nin, err);
    else
        unlink(tmp);
    pthread_mutex_unlock(&l->mu);
    free(tmp);
    free(fin);
    return rc;
}

int hx_lake_compact(hx_lake_t *l, const char *dataset, const char *partition, const hx_lake_task_t *t, json_t **out,
                    hx_err_t *err)
{
    int64_t target = l->cfg->lake.target_file_bytes;
    int py = 0, pm = 0, pd = 0;
    if (partition && sscanf(partition, "year=%d/month=%d/day=%d", &py, &pm, &pd) != 3)
        return hx_err_set(err, HX_EINVAL, "partition must look like year=2024/month=5/day=1, not '%s'", partition);
    if (dataset && !hx_lake_dataset_find(dataset))
        return hx_err_set(err, HX_ENOTFOUND, "no dataset '%s'", dataset);
    int64_t from = partition ? hx_lake_day_start(py, pm, pd) : 0, to = partition ? from + 86400000 : 0;
    json_t *res = json_object();
    int rc = HX_OK;
    size_t nds = hx_lake_ndatasets();
    for (size_t i = 0; i < nds && rc == HX_OK; i++) {
        const hx_lake_dataset_t *ds = hx_lake_dataset_at(i);
        if (dataset && strcmp(dataset, ds->name) != 0)
            continue;
        hx_lake_file_t *files;
        size_t n;
        if ((rc = hx_lake_list(l->root, ds->name, from, to, &files, &n, err)))
            break;
        int64_t merged = 0, outputs = 0, rows = 0;
        for (size_t k = 0; k < n && rc == HX_OK;) {
            if (lake_task_cancelled(t)) {
                rc = hx_err_set(err, HX_EAGAIN, "cancelled");
                break;
            }
            /* A run of small files in one partition, up to the target size. */
            size_t j = k;
            int64_t sum = 0;
            while (j < n && files[j].year == files[k].year && files[j].month == files[k].month &&
                   files[j].day == files[k].day && files[j].bytes < target && sum + files[j].bytes <= target &&
                   j - k < 256) {
                sum += files[j].bytes;
                j++;
            }
            if (j - k >= 2) {
                if ((rc = merge(l, ds, files, k, j, &rows, err)))
                    break;
                merged += (int64_t)(j - k);
                outputs++;
            }
            k = j > k ? j : k + 1;
            lake_task_progress(t, ((double)i + (double)k / (double)n) / (double)nds);
        }
        hx_lake_files_free(files, n);
        json_object_set_new(res, ds->name, json_pack("{s:I,s:I,s:I}", "files_merged", (json_int_t)merged,
                                                     "files_written", (json_int_t)outputs, "rows",
                                                     (json_int_t)rows));
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = json_pack("{s:o,s:I}", "datasets", res, "target_file_bytes", (json_int_t)target);
    return HX_OK;
}

typedef struct exp_ctx {
    hx_lake_writer_t *w;
    const hx_lake_dataset_t *ds;
    const hx_lake_task_t *t;
    const char *last_file;
    size_t files_seen, files_total;
    hx_err_t *err;
} exp_ctx_t;

static int export_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    exp_ctx_t *c = ctx;
    (void)nsel;
    if (lake_task_cancelled(c->t))
        return hx_err_set(c->err, HX_EAGAIN, "cancelled");
    if (c->last_file != f->path) {
        c->last_file = f->path;
        c->files_seen++;
        lake_task_progress(c->t, (double)c->files_seen / (double)(c->files_total ? c->files_total : 1));
    }
    hx_pq_value_t vals[64];
    for (size_t i = 0; i < b->nrows; i++) {
        if (!sel[i])
            continue;
        lake_batch_row(b, i, vals);
        int rc = hx_lake_writer_write(c->w, vals, c->err);
        if (rc)
            return rc;
    }
    return 0;
}

int hx_lake_export(hx_lake_t *l, const char *tenant, const char *dataset, int64_t from_ms, int64_t to_ms,
                   const char *name, const hx_lake_task_t *t, json_t **out, hx_err_t *err)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find(dataset);
    if (!ds)
        return hx_err_set(err, HX_ENOTFOUND, "no dataset '%s'", dataset);
    int rc = hx_id_check(name, "export name", err);
    if (rc)
        return rc;
    char dest[1300];
    snprintf(dest, sizeof dest, "%s/%s", l->export_dir, name);
    if (access(dest, F_OK) == 0)
        return hx_err_set(err, HX_EEXIST, "export %s already exists; pick another name or remove it", dest);
    if ((rc = hx_lake_mkdirs(dest, err)))
        return rc;
    hx_lake_opts_t o;
    hx_lake_write_opts(l, &o);
    o.root = dest;
    exp_ctx_t c = {.ds = ds, .t = t, .err = err};
    hx_lake_file_t *files;
    if ((rc = hx_lake_list(l->root, ds->name, from_ms, to_ms, &files, &c.files_total, err)))
        return rc;
    hx_lake_files_free(files, c.files_total);
    if ((rc = hx_lake_writer_open(&o, ds, "export", &c.w, err)))
        return rc;
    hx_lake_writer_set_kv(c.w, "helix.export.tenant", tenant, err);
    hx_lake_scan_stats_t st;
    rc = hx_lake_scan(l->root, ds, tenant, from_ms, to_ms, NULL, 0, NULL, 0, export_cb, &c, &st, err);
    size_t nfiles = 0;
    int64_t bytes = 0;
    if (rc) {
        hx_lake_writer_abort(c.w);
        hx_rm_rf(dest);
        return rc;
    }
    int64_t rows = hx_lake_writer_rows(c.w);
    if ((rc = hx_lake_writer_close(c.w, &nfiles, &bytes, err))) {
        hx_rm_rf(dest);
        return rc;
    }
    *out = json_pack("{s:s,s:s,s:I,s:I,s:I}", "path", dest, "dataset", ds->name, "rows", (json_int_t)rows, "files",
                     (json_int_t)nfiles, "bytes", (json_int_t)bytes);
    lake_task_progress(t, 1.0);
    return HX_OK;
}
