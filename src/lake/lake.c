/* The lake engine: its directories and writer options from the
 * configuration, the lock for file changes, and the deletion list. */
#include "lake/lake_int.h"

#include "helix/hx_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_codec(const char *s)
{
    hx_pq_codec_t c = HX_PQ_SNAPPY;
    hx_pq_codec_parse(s, &c, NULL);
    return c;
}

int hx_lake_open(const hx_config_t *cfg, hx_broker_t *broker, hx_lake_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_lake_t *l = calloc(1, sizeof *l);
    if (!l)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the lake");
    l->cfg = cfg;
    if (cfg->lake.root[0])
        snprintf(l->root, sizeof l->root, "%s", cfg->lake.root);
    else
        snprintf(l->root, sizeof l->root, "%s/lake", cfg->node.data_dir);
    snprintf(l->meta_dir, sizeof l->meta_dir, "%s/_helix", l->root);
    if (cfg->lake.export_dir[0])
        snprintf(l->export_dir, sizeof l->export_dir, "%s", cfg->lake.export_dir);
    else
        snprintf(l->export_dir, sizeof l->export_dir, "%s/_exports", l->root);
    l->wopts = (hx_lake_opts_t){.root = l->root, .codec = parse_codec(cfg->lake.codec),
                                .zstd_level = cfg->lake.zstd_level,
                                .row_group_bytes = (size_t)cfg->lake.row_group_bytes,
                                .page_bytes = (size_t)cfg->lake.page_bytes};
    pthread_mutex_init(&l->mu, NULL);
    int rc = hx_lake_mkdirs(l->meta_dir, err);
    if (!rc)
        rc = lake_deleted_load(l, err);
    if (!rc)
        rc = lake_manifests_recover(l, err);
    if (!rc && broker && cfg->lake.enabled)
        rc = lake_archiver_start(l, broker, err);
    if (rc) {
        hx_lake_close(l);
        return rc;
    }
    *out = l;
    return HX_OK;
}

void hx_lake_close(hx_lake_t *l)
{
    if (!l)
        return;
    lake_archiver_stop(l);
    for (size_t i = 0; i < l->ndeleted; i++) {
        free(l->deleted[i].tenant);
        free(l->deleted[i].id);
    }
    free(l->deleted);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

const char *hx_lake_root(const hx_lake_t *l)
{
    return l->root;
}

void hx_lake_write_opts(const hx_lake_t *l, hx_lake_opts_t *o)
{
    *o = l->wopts;
}

int hx_lake_retention_days(const hx_lake_t *l, const char *dataset)
{
    const char *s = l->cfg->lake.dataset_retention_days;
    size_t dn = strlen(dataset);
    while (s && *s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *eq = strchr(s, '=');
        if (!eq)
            break;
        if ((size_t)(eq - s) == dn && strncmp(s, dataset, dn) == 0)
            return atoi(eq + 1);
        s = strchr(eq, ',');
    }
    return l->cfg->lake.retention_days;
}

static void deleted_path(const hx_lake_t *l, char *buf, size_t n)
{
    snprintf(buf, n, "%s/deleted.json", l->meta_dir);
}

int lake_deleted_load(hx_lake_t *l, hx_err_t *err)
{
    char p[1200];
    deleted_path(l, p, sizeof p);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    if (!j)
        return access(p, F_OK) == 0 ? hx_err_set(err, HX_ECORRUPT, "%s: %s", p, je.text) : HX_OK;
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
        const char *t = json_string_value(json_object_get(e, "tenant"));
        const char *id = json_string_value(json_object_get(e, "conversation_id"));
        if (!t || !id)
            continue;
        lake_deleted_t *nd = realloc(l->deleted, (l->ndeleted + 1) * sizeof *nd);
        if (!nd)
            break;
        l->deleted = nd;
        nd[l->ndeleted].tenant = strdup(t);
        nd[l->ndeleted].id = strdup(id);
        nd[l->ndeleted].at = json_integer_value(json_object_get(e, "deleted_at"));
        l->ndeleted++;
    }
    json_decref(j);
    return HX_OK;
}

int lake_deleted_add(hx_lake_t *l, const char *tenant, const char *id, int64_t at, hx_err_t *err)
{
    lake_deleted_t *nd = realloc(l->deleted, (l->ndeleted + 1) * sizeof *nd);
    if (!nd)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    l->deleted = nd;
    nd[l->ndeleted] = (lake_deleted_t){strdup(tenant), strdup(id), at};
    l->ndeleted++;
    json_t *arr = json_array();
    for (size_t i = 0; i < l->ndeleted; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "tenant", l->deleted[i].tenant, "conversation_id",
                                             l->deleted[i].id, "deleted_at", (json_int_t)l->deleted[i].at));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    char p[1200];
    deleted_path(l, p, sizeof p);
    int rc = hx_fs_write_atomic(p, text, strlen(text), err);
    free(text);
    return rc;
}

int lake_is_deleted(hx_lake_t *l, const char *tenant, const char *id, int64_t ts)
{
    for (size_t i = 0; i < l->ndeleted; i++)
        if (ts <= l->deleted[i].at && strcmp(l->deleted[i].id, id) == 0 && strcmp(l->deleted[i].tenant, tenant) == 0)
            return 1;
    return 0;
}

int lake_task_cancelled(const hx_lake_task_t *t)
{
    return t && t->cancel && *t->cancel;
}

void lake_task_progress(const hx_lake_task_t *t, double f)
{
    if (t && t->progress)
        t->progress(t->ctx, f);
}

void lake_batch_row(const hx_pq_batch_t *b, size_t i, hx_pq_value_t *vals)
{
    for (size_t k = 0; k < b->ncols; k++) {
        const hx_pq_vec_t *v = &b->vecs[k];
        hx_pq_value_t *x = &vals[b->cols[k]];
        memset(x, 0, sizeof *x);
        x->is_null = !v->valid[i];
        if (x->is_null)
            continue;
        if (v->type == HX_PQ_STRING || v->type == HX_PQ_BINARY) {
            x->v.str.s = (const char *)v->data + v->off[i];
            x->v.str.n = (size_t)(v->off[i + 1] - v->off[i]);
        } else if (v->type == HX_PQ_DOUBLE || v->type == HX_PQ_FLOAT) {
            x->v.d = v->f64[i];
        } else {
            x->v.i = v->i64[i];
        }
    }
}
