/* The lake's read side for the API (datasets, partitions, a conversation
 * read back from Parquet) and the delete that really deletes. */
#include "lake/lake_int.h"

#include "helix/hx_clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *type_name(hx_pq_type_t t)
{
    static const char *n[] = {"BOOLEAN", "INT32", "INT64", "DOUBLE", "STRING", "TIMESTAMP(MILLIS,UTC)"};
    return t <= HX_PQ_TIMESTAMP ? n[t] : "?";
}

typedef struct count_ctx {
    int64_t rows;
} count_ctx_t;

static int count_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    (void)f;
    (void)b;
    (void)sel;
    ((count_ctx_t *)ctx)->rows += (int64_t)nsel;
    return 0;
}

/* Rows of the tenant in [from, to): reads only the tenant column. */
static int tenant_rows(hx_lake_t *l, const hx_lake_dataset_t *ds, const char *tenant, int64_t from, int64_t to,
                       int64_t *rows, hx_err_t *err)
{
    count_ctx_t c = {0};
    const char *col = ds->cols[ds->tenant_col].name;
    int rc = hx_lake_scan(l->root, ds, tenant, from, to, &col, 1, NULL, 0, count_cb, &c, NULL, err);
    *rows = c.rows;
    return rc;
}

int hx_lake_datasets_json(hx_lake_t *l, const char *tenant, json_t **out, hx_err_t *err)
{
    json_t *arr = json_array();
    int rc = HX_OK;
    for (size_t i = 0; i < hx_lake_ndatasets() && rc == HX_OK; i++) {
        const hx_lake_dataset_t *ds = hx_lake_dataset_at(i);
        hx_lake_file_t *files;
        size_t n;
        if ((rc = hx_lake_list(l->root, ds->name, 0, 0, &files, &n, err)))
            break;
        int64_t rows = 0;
        int parts = 0, last = -1;
        for (size_t k = 0; k < n; k++) {
            int key = files[k].year * 10000 + files[k].month * 100 + files[k].day;
            parts += key != last;
            last = key;
        }
        hx_lake_files_free(files, n);
        if ((rc = tenant_rows(l, ds, tenant, 0, 0, &rows, err)))
            break;
        json_t *cols = json_array();
        for (size_t c = 0; c < ds->ncols; c++)
            json_array_append_new(cols, json_pack("{s:s,s:s,s:b}", "name", ds->cols[c].name, "type",
                                                  type_name(ds->cols[c].type), "nullable", ds->cols[c].optional));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:i,s:I,s:i,s:s}", "name", ds->name, "description",
                                             ds->doc, "source_topics", ds->topics, "columns", cols, "partitions",
                                             parts, "rows", (json_int_t)rows, "retention_days",
                                             hx_lake_retention_days(l, ds->name), "layout",
                                             "year=YYYY/month=M/day=D/part-<id>.parquet"));
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = json_pack("{s:o,s:s}", "datasets", arr, "root", l->root);
    return HX_OK;
}

int hx_lake_partitions_json(hx_lake_t *l, const char *tenant, const char *dataset, json_t **out, hx_err_t *err)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find(dataset);
    if (!ds)
        return hx_err_set(err, HX_ENOTFOUND, "no dataset '%s' (GET /v1/datalake/datasets lists them)", dataset);
    hx_lake_file_t *files;
    size_t n;
    int rc = hx_lake_list(l->root, ds->name, 0, 0, &files, &n, err);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t k = 0; k < n && rc == HX_OK;) {
        size_t j = k;
        int64_t bytes = 0;
        while (j < n && files[j].year == files[k].year && files[j].month == files[k].month &&
               files[j].day == files[k].day)
            bytes += files[j++].bytes;
        int64_t day = hx_lake_day_start(files[k].year, files[k].month, files[k].day), rows = 0;
        if ((rc = tenant_rows(l, ds, tenant, day, day + 86400000, &rows, err)))
            break;
        if (rows > 0) {
            char path[64];
            snprintf(path, sizeof path, "year=%d/month=%d/day=%d", files[k].year, files[k].month, files[k].day);
            json_array_append_new(arr, json_pack("{s:s,s:i,s:i,s:i,s:I,s:i,s:I}", "partition", path, "year",
                                                 files[k].year, "month", files[k].month, "day", files[k].day, "rows",
                                                 (json_int_t)rows, "files", (int)(j - k), "bytes", (json_int_t)bytes));
        }
        k = j;
    }
    hx_lake_files_free(files, n);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = json_pack("{s:s,s:o}", "dataset", ds->name, "partitions", arr);
    return HX_OK;
}

typedef struct conv_ctx {
    const hx_lake_dataset_t *ds;
    json_t *rows;
} conv_ctx_t;

static int conv_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    conv_ctx_t *c = ctx;
    (void)f;
    (void)nsel;
    for (size_t i = 0; i < b->nrows; i++)
        if (sel[i])
            json_array_append_new(c->rows, hx_lake_row_json(c->ds, b, i));
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "seq")), sy = json_integer_value(json_object_get(y, "seq"));
    json_int_t tx = json_integer_value(json_object_get(x, "ts")), ty = json_integer_value(json_object_get(y, "ts"));
    return sx != sy ? (sx < sy ? -1 : 1) : (tx < ty ? -1 : tx > ty);
}

int hx_lake_conversation_json(hx_lake_t *l, const char *tenant, const char *conversation_id, json_t **out,
                              hx_err_t *err)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("conversations");
    conv_ctx_t c = {ds, json_array()};
    hx_lake_pred_t p = {.col = "conversation_id", .op = HX_PQ_EQ, .s = conversation_id};
    int rc = hx_lake_scan(l->root, ds, tenant, 0, 0, NULL, 0, &p, 1, conv_cb, &c, NULL, err);
    if (rc) {
        json_decref(c.rows);
        return rc;
    }
    size_t n = json_array_size(c.rows);
    if (n == 0) {
        json_decref(c.rows);
        return hx_err_set(err, HX_ENOTFOUND, "the lake holds no archived events of conversation '%s'",
                          conversation_id);
    }
    json_t **v = malloc(n * sizeof *v);
    if (!v) {
        json_decref(c.rows);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(c.rows, i));
    qsort(v, n, sizeof *v, by_seq);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    json_decref(c.rows);
    *out = json_pack("{s:s,s:I,s:o}", "conversation_id", conversation_id, "count", (json_int_t)n, "events", sorted);
    return HX_OK;
}

int lake_rewrite_file(hx_lake_t *l, const hx_lake_dataset_t *ds, const char *path, const uint8_t *keep,
                      size_t nrows, hx_err_t *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < nrows; i++)
        kept += keep[i];
    if (kept == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            return hx_err_set(err, HX_EIO, "cannot remove %s: %s", path, strerror(errno));
        return HX_OK;
    }
    hx_pq_reader_t *r;
    int rc = hx_pq_reader_open(path, &r, err);
    if (rc)
        return rc;
    hx_lake_opts_t o;
    hx_lake_write_opts(l, &o);
    hx_pq_write_opts_t po = {.codec = o.codec, .zstd_level = o.zstd_level, .row_group_bytes = o.row_group_bytes,
                             .page_bytes = o.page_bytes};
    int fcols[64];
    for (size_t c = 0; c < ds->ncols; c++)
        if ((fcols[c] = hx_pq_reader_find(r, ds->cols[c].name)) < 0)
            rc = hx_err_set(err, HX_ECORRUPT, "%s lacks column %s", path, ds->cols[c].name);
    /* Same name: the rewrite replaces the file atomically by rename. */
    hx_pq_writer_t *w = NULL;
    if (!rc)
        rc = hx_pq_writer_open(path, ds->cols, ds->ncols, &po, &w, err);
    /* Keep the key-value metadata (offsets, flush id) of the original. */
    static const char *keys[] = {"helix.dataset", "helix.lake.offsets", "helix.lake.flush", "helix.lake.compacted"};
    for (size_t k = 0; !rc && k < sizeof keys / sizeof keys[0]; k++) {
        const char *v = hx_pq_reader_kv(r, keys[k]);
        if (v)
            rc = hx_pq_writer_set_kv(w, keys[k], v, err);
    }
    size_t row = 0;
    for (size_t g = 0; !rc && g < hx_pq_reader_nrowgroups(r); g++) {
        hx_pq_batch_t b;
        rc = hx_pq_read_rowgroup(r, g, fcols, ds->ncols, &b, err);
        for (size_t k = 0; !rc && k < ds->ncols; k++)
            b.cols[k] = (int)k;
        hx_pq_value_t vals[64];
        for (size_t i = 0; !rc && i < b.nrows; i++, row++) {
            if (row >= nrows || !keep[row])
                continue;
            lake_batch_row(&b, i, vals);
            rc = hx_pq_writer_write_row(w, vals, err);
        }
        hx_pq_batch_free(&b);
    }
    hx_pq_reader_close(r);
    if (rc) {
        hx_pq_writer_abort(w);
        return rc;
    }
    return hx_pq_writer_close(w, err);
}

int hx_lake_conversation_delete(hx_lake_t *l, const char *tenant, const char *conversation_id, json_t **out,
                                hx_err_t *err)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("conversations");
    /* Rows still buffered by the archiver must be in files before the scan. */
    hx_err_t ferr;
    if (l->arch)
        (void)hx_lake_archiver_flush(l, 10000, &ferr);
    pthread_mutex_lock(&l->mu);
    int rc = lake_deleted_add(l, tenant, conversation_id, hx_now_ms(), err);
    hx_lake_file_t *files = NULL;
    size_t n = 0;
    if (!rc)
        rc = hx_lake_list(l->root, ds->name, 0, 0, &files, &n, err);
    int64_t deleted = 0, rewritten = 0, removed = 0;
    int tcol = ds->tenant_col, kcol = ds->key_col;
    for (size_t f = 0; f < n && rc == HX_OK; f++) {
        hx_pq_reader_t *r;
        if ((rc = hx_pq_reader_open(files[f].path, &r, err)))
            break;
        int fc[2] = {hx_pq_reader_find(r, ds->cols[tcol].name), hx_pq_reader_find(r, ds->cols[kcol].name)};
        hx_pq_pred_t preds[2] = {{.col = fc[0], .op = HX_PQ_EQ, .s = tenant, .n = strlen(tenant)},
                                 {.col = fc[1], .op = HX_PQ_EQ, .s = conversation_id, .n = strlen(conversation_id)}};
        size_t total = (size_t)hx_pq_reader_nrows(r), row = 0, hits = 0;
        uint8_t *keep = malloc(total ? total : 1);
        if (!keep)
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        for (size_t g = 0; rc == HX_OK && g < hx_pq_reader_nrowgroups(r); g++) {
            size_t gn = (size_t)hx_pq_reader_rowgroup_rows(r, g);
            memset(keep + row, 1, gn);
            if (!hx_pq_rowgroup_pruned(r, g, preds, 2)) {
                hx_pq_batch_t b;
                if ((rc = hx_pq_read_rowgroup(r, g, fc, 2, &b, err)) == HX_OK)
                    for (size_t i = 0; i < b.nrows; i++)
                        if (hx_pq_pred_match(&preds[0], &b.vecs[0], i) && hx_pq_pred_match(&preds[1], &b.vecs[1], i)) {
                            keep[row + i] = 0;
                            hits++;
                        }
                hx_pq_batch_free(&b);
            }
            row += gn;
        }
        hx_pq_reader_close(r);
        if (rc == HX_OK && hits) {
            rc = lake_rewrite_file(l, ds, files[f].path, keep, total, err);
            deleted += (int64_t)hits;
            if (hits == total)
                removed++;
            else
                rewritten++;
        }
        free(keep);
    }
    pthread_mutex_unlock(&l->mu);
    hx_lake_files_free(files, n);
    if (rc)
        return rc;
    *out = json_pack("{s:s,s:I,s:I,s:I}", "conversation_id", conversation_id, "deleted_rows", (json_int_t)deleted,
                     "files_rewritten", (json_int_t)rewritten, "files_removed", (json_int_t)removed);
    return HX_OK;
}
