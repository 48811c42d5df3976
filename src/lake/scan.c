/* Listing a dataset's partitions (pruned by day) and scanning its files
 * with projection, row-group pruning and row filtering. */
#include "helix/hx_lake.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct flist {
    hx_lake_file_t *f;
    size_t n, cap;
} flist_t;

static int parse_kv(const char *name, const char *key, int *out)
{
    size_t kn = strlen(key);
    if (strncmp(name, key, kn) != 0 || name[kn] != '=')
        return 0;
    char *end;
    long v = strtol(name + kn + 1, &end, 10);
    if (*end || end == name + kn + 1 || v < 0 || v > 99999)
        return 0;
    *out = (int)v;
    return 1;
}

static int cmp_file(const void *a, const void *b)
{
    const hx_lake_file_t *x = a, *y = b;
    int kx = x->year * 10000 + x->month * 100 + x->day, ky = y->year * 10000 + y->month * 100 + y->day;
    return kx != ky ? (kx < ky ? -1 : 1) : strcmp(x->path, y->path);
}

static int add_files(flist_t *l, const char *dir, int y, int m, int d, hx_err_t *err)
{
    DIR *dd = opendir(dir);
    if (!dd)
        return HX_OK;
    struct dirent *e;
    int rc = HX_OK;
    while ((e = readdir(dd))) {
        size_t n = strlen(e->d_name);
        /* Hidden names are files being written (".part-*.tmp"). */
        if (e->d_name[0] == '.' || e->d_name[0] == '_' || n < 9 || strcmp(e->d_name + n - 8, ".parquet") != 0)
            continue;
        if (l->n == l->cap) {
            size_t nc = l->cap ? l->cap * 2 : 16;
            hx_lake_file_t *nf = realloc(l->f, nc * sizeof *nf);
            if (!nf) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            l->f = nf;
            l->cap = nc;
        }
        hx_lake_file_t *f = &l->f[l->n];
        memset(f, 0, sizeof *f);
        size_t pl = strlen(dir) + n + 2;
        if (!(f->path = malloc(pl))) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf(f->path, pl, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(f->path, &st) != 0) {
            free(f->path);
            continue;   /* removed meanwhile (compaction, retention) */
        }
        f->bytes = (int64_t)st.st_size;
        f->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        f->year = y;
        f->month = m;
        f->day = d;
        l->n++;
    }
    closedir(dd);
    return rc;
}

int hx_lake_list(const char *root, const char *dataset, int64_t from_ms, int64_t to_ms, hx_lake_file_t **out,
                 size_t *n, hx_err_t *err)
{
    *out = NULL;
    *n = 0;
    flist_t l = {0};
    char base[1024];
    snprintf(base, sizeof base, "%s/%s", root, dataset);
    int rc = HX_OK;
    DIR *dy = opendir(base);
    if (!dy)
        return HX_OK;
    struct dirent *ey;
    while (rc == HX_OK && (ey = readdir(dy))) {
        int y, m, d;
        if (!parse_kv(ey->d_name, "year", &y))
            continue;
        char py[1100];
        snprintf(py, sizeof py, "%s/%s", base, ey->d_name);
        DIR *dm = opendir(py);
        struct dirent *em;
        while (dm && rc == HX_OK && (em = readdir(dm))) {
            if (!parse_kv(em->d_name, "month", &m) || m < 1 || m > 12)
                continue;
            char pm[1200];
            snprintf(pm, sizeof pm, "%s/%s", py, em->d_name);
            DIR *dd = opendir(pm);
            struct dirent *ed;
            while (dd && rc == HX_OK && (ed = readdir(dd))) {
                if (!parse_kv(ed->d_name, "day", &d) || d < 1 || d > 31)
                    continue;
                int64_t day = hx_lake_day_start(y, m, d);
                if ((from_ms || to_ms) && (day + 86400000 <= from_ms || (to_ms && day >= to_ms)))
                    continue;   /* partition pruning */
                char pd[1300];
                snprintf(pd, sizeof pd, "%s/%s", pm, ed->d_name);
                rc = add_files(&l, pd, y, m, d, err);
            }
            if (dd)
                closedir(dd);
        }
        if (dm)
            closedir(dm);
    }
    closedir(dy);
    if (rc) {
        hx_lake_files_free(l.f, l.n);
        return rc;
    }
    if (l.n)
        qsort(l.f, l.n, sizeof *l.f, cmp_file);
    *out = l.f;
    *n = l.n;
    return HX_OK;
}

void hx_lake_files_free(hx_lake_file_t *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        free(f[i].path);
    free(f);
}

static int ds_col(const hx_lake_dataset_t *ds, const char *name)
{
    for (size_t i = 0; i < ds->ncols; i++)
        if (strcmp(ds->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

#define MAXC 64

int hx_lake_scan(const char *root, const hx_lake_dataset_t *ds, const char *tenant, int64_t from_ms, int64_t to_ms,
                 const char *const *cols, size_t ncols, const hx_lake_pred_t *preds, size_t npreds,
                 hx_lake_scan_fn fn, void *ctx, hx_lake_scan_stats_t *stats, hx_err_t *err)
{
    hx_lake_scan_stats_t st = {0};
    /* Dataset columns to decode: asked ones, then predicate-only ones. */
    int want[MAXC];
    size_t nwant = 0;
    size_t nask = cols ? ncols : ds->ncols;
    if (nask + npreds + 3 > MAXC)
        return hx_err_set(err, HX_EINVAL, "too many columns in one scan");
    for (size_t i = 0; i < nask; i++) {
        int c = cols ? ds_col(ds, cols[i]) : (int)i;
        if (c < 0)
            return hx_err_set(err, HX_EINVAL, "dataset %s has no column '%s'", ds->name, cols[i]);
        want[nwant++] = c;
    }
    hx_lake_pred_t all[MAXC];
    size_t nall = 0;
    for (size_t i = 0; i < npreds; i++)
        all[nall++] = preds[i];
    if (tenant)
        all[nall++] = (hx_lake_pred_t){.col = ds->cols[ds->tenant_col].name, .op = HX_PQ_EQ, .s = tenant};
    if (from_ms)
        all[nall++] = (hx_lake_pred_t){.col = ds->cols[ds->ts_col].name, .op = HX_PQ_GE, .i = from_ms};
    if (to_ms)
        all[nall++] = (hx_lake_pred_t){.col = ds->cols[ds->ts_col].name, .op = HX_PQ_LT, .i = to_ms};
    int pcol[MAXC];
    for (size_t i = 0; i < nall; i++) {
        int c = ds_col(ds, all[i].col);
        if (c < 0)
            return hx_err_set(err, HX_EINVAL, "dataset %s has no column '%s'", ds->name, all[i].col);
        pcol[i] = c;
        size_t k = 0;
        while (k < nwant && want[k] != c)
            k++;
        if (k == nwant)
            want[nwant++] = c;
    }
    hx_lake_file_t *files;
    size_t nfiles;
    int rc = hx_lake_list(root, ds->name, from_ms, to_ms, &files, &nfiles, err);
    if (rc)
        return rc;
    uint8_t *sel = NULL;
    size_t sel_cap = 0;
    for (size_t f = 0; f < nfiles && rc == HX_OK; f++) {
        hx_pq_reader_t *r;
        if ((rc = hx_pq_reader_open(files[f].path, &r, err))) {
            if (rc == HX_ENOTFOUND) {   /* compacted or deleted since the listing */
                rc = HX_OK;
                continue;
            }
            break;
        }
        st.files++;
        int fcols[MAXC];
        hx_pq_pred_t fp[MAXC];
        for (size_t k = 0; k < nwant && rc == HX_OK; k++)
            if ((fcols[k] = hx_pq_reader_find(r, ds->cols[want[k]].name)) < 0)
                rc = hx_err_set(err, HX_ECORRUPT, "%s lacks column '%s' of dataset %s", files[f].path,
                                ds->cols[want[k]].name, ds->name);
        for (size_t i = 0; i < nall && rc == HX_OK; i++) {
            fp[i] = (hx_pq_pred_t){.col = hx_pq_reader_find(r, ds->cols[pcol[i]].name), .op = all[i].op,
                                   .i = all[i].i, .d = all[i].d, .s = all[i].s, .n = all[i].s ? strlen(all[i].s) : 0};
        }
        size_t nrg = rc ? 0 : hx_pq_reader_nrowgroups(r);
        int any = 0;
        for (size_t g = 0; g < nrg && rc == HX_OK; g++) {
            st.row_groups++;
            if (hx_pq_rowgroup_pruned(r, g, fp, nall)) {
                st.row_groups_pruned++;
                continue;
            }
            any = 1;
            hx_pq_batch_t b;
            if ((rc = hx_pq_read_rowgroup(r, g, fcols, nwant, &b, err))) {
                hx_pq_batch_free(&b);
                hx_err_wrap(err, "%s", files[f].path);
                break;
            }
            for (size_t k = 0; k < nwant; k++)
                b.cols[k] = want[k];
            if (b.nrows > sel_cap) {
                uint8_t *ns = realloc(sel, b.nrows);
                if (!ns) {
                    hx_pq_batch_free(&b);
                    rc = hx_err_set(err, HX_ENOMEM, "out of memory scanning");
                    break;
                }
                sel = ns;
                sel_cap = b.nrows;
            }
            memset(sel, 1, b.nrows);
            for (size_t i = 0; i < nall; i++) {
                size_t k = 0;
                while (want[k] != pcol[i])
                    k++;
                hx_pq_pred_t p = fp[i];
                for (size_t row = 0; row < b.nrows; row++)
                    if (sel[row] && !hx_pq_pred_match(&p, &b.vecs[k], row))
                        sel[row] = 0;
            }
            size_t nsel = 0;
            for (size_t row = 0; row < b.nrows; row++)
                nsel += sel[row];
            st.rows_read += (int64_t)b.nrows;
            st.rows_matched += (int64_t)nsel;
            if (nsel)
                rc = fn(ctx, &files[f], &b, sel, nsel);
            hx_pq_batch_free(&b);
        }
        if (!any && nrg)
            st.files_pruned++;
        hx_pq_reader_close(r);
    }
    free(sel);
    hx_lake_files_free(files, nfiles);
    if (stats)
        *stats = st;
    return rc;
}

json_t *hx_lake_row_json(const hx_lake_dataset_t *ds, const hx_pq_batch_t *b, size_t row)
{
    json_t *o = json_object();
    for (size_t k = 0; o && k < b->ncols; k++) {
        const hx_pq_vec_t *v = &b->vecs[k];
        const char *name = ds->cols[b->cols[k]].name;
        json_t *j;
        if (!v->valid[row])
            j = json_null();
        else if (v->type == HX_PQ_STRING || v->type == HX_PQ_BINARY)
            j = json_stringn((const char *)v->data + v->off[row], (size_t)(v->off[row + 1] - v->off[row]));
        else if (v->type == HX_PQ_DOUBLE || v->type == HX_PQ_FLOAT)
            j = json_real(v->f64[row]);
        else if (v->type == HX_PQ_BOOL)
            j = json_boolean(v->i64[row]);
        else
            j = json_integer(v->i64[row]);
        json_object_set_new(o, name, j ? j : json_null());
    }
    return o;
}
