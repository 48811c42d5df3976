/* The job types: what their params are and what they run. Lake
 * maintenance and export call the lake engine; analytics_backfill replays
 * archived rows onto the analytics topics for the analytics store to ingest
 * (marked so the archiver does not archive them twice). */
#include "lake/jobs/jobs_int.h"

#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_id.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "2024-05-01" (UTC midnight) or ms since epoch; *out untouched when absent. */
static int param_time(const json_t *p, const char *name, int64_t *out, hx_err_t *err)
{
    const json_t *v = json_object_get(p, name);
    if (!v || json_is_null(v))
        return HX_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return HX_OK;
    }
    int y, m, d;
    char extra;
    if (json_is_string(v) && sscanf(json_string_value(v), "%4d-%2d-%2d%c", &y, &m, &d, &extra) == 3 && m >= 1 &&
        m <= 12 && d >= 1 && d <= 31) {
        *out = hx_lake_day_start(y, m, d);
        return HX_OK;
    }
    return hx_err_set(err, HX_EINVAL, "params.%s must be a date YYYY-MM-DD or milliseconds since the epoch", name);
}

static int param_dataset(const json_t *p, int required, const char **out, hx_err_t *err)
{
    const json_t *v = json_object_get(p, "dataset");
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? hx_err_set(err, HX_EINVAL, "params.dataset is required") : HX_OK;
    if (!json_is_string(v) || !hx_lake_dataset_find(json_string_value(v)))
        return hx_err_set(err, HX_EINVAL, "params.dataset must be conversations, provider_metrics, debates or entities");
    *out = json_string_value(v);
    return HX_OK;
}

static int check_known(const json_t *p, const char *const *known, hx_err_t *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)p, k, v) {
        int ok = 0;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            return hx_err_set(err, HX_EINVAL, "unknown param '%s'", k);
    }
    return HX_OK;
}

static int check_compaction(const json_t *p, hx_err_t *err)
{
    static const char *const known[] = {"dataset", "partition", NULL};
    const char *ds;
    int rc = p ? check_known(p, known, err) : HX_OK;
    if (!rc && p)
        rc = param_dataset(p, 0, &ds, err);
    const json_t *part = p ? json_object_get(p, "partition") : NULL;
    int y, m, d;
    if (!rc && part && (!json_is_string(part) ||
                        sscanf(json_string_value(part), "year=%d/month=%d/day=%d", &y, &m, &d) != 3))
        rc = hx_err_set(err, HX_EINVAL, "params.partition must look like year=2024/month=5/day=1");
    return rc;
}

static int run_compaction(job_run_t *r, json_t **out, hx_err_t *err)
{
    const char *ds = json_string_value(json_object_get(r->job->params, "dataset"));
    const char *part = json_string_value(json_object_get(r->job->params, "partition"));
    return hx_lake_compact(r->deps->lake, ds, part, &r->task, out, err);
}

static int check_retention(const json_t *p, hx_err_t *err)
{
    static const char *const known[] = {"dataset", NULL};
    const char *ds;
    int rc = p ? check_known(p, known, err) : HX_OK;
    return rc || !p ? rc : param_dataset(p, 0, &ds, err);
}

static int run_retention(job_run_t *r, json_t **out, hx_err_t *err)
{
    const char *ds = json_string_value(json_object_get(r->job->params, "dataset"));
    return hx_lake_retention(r->deps->lake, ds, hx_now_ms(), &r->task, out, err);
}

static int check_range(const json_t *p, const char *const *known, int need_dataset, hx_err_t *err)
{
    if (!p)
        return hx_err_set(err, HX_EINVAL, "params are required");
    const char *ds;
    int64_t from = 0, to = 0;
    int rc = check_known(p, known, err);
    if (!rc)
        rc = param_dataset(p, need_dataset, &ds, err);
    if (!rc)
        rc = param_time(p, "from", &from, err);
    if (!rc)
        rc = param_time(p, "to", &to, err);
    if (!rc && to && from >= to)
        rc = hx_err_set(err, HX_EINVAL, "params.from must be before params.to");
    return rc;
}

static int check_export(const json_t *p, hx_err_t *err)
{
    static const char *const known[] = {"dataset", "from", "to", "name", NULL};
    int rc = check_range(p, known, 1, err);
    const json_t *n = p ? json_object_get(p, "name") : NULL;
    if (!rc && n)
        rc = json_is_string(n) ? hx_id_check(json_string_value(n), "params.name", err)
                               : hx_err_set(err, HX_EINVAL, "params.name must be a string");
    if (!rc && n && strpbrk(json_string_value(n), "/\\") )
        rc = hx_err_set(err, HX_EINVAL, "params.name must not contain '/'");
    if (!rc && n && json_string_value(n)[0] == '.')
        rc = hx_err_set(err, HX_EINVAL, "params.name must not start with '.'");
    return rc;
}

static int run_export(job_run_t *r, json_t **out, hx_err_t *err)
{
    const json_t *p = r->job->params;
    int64_t from = 0, to = 0;
    param_time(p, "from", &from, err);
    param_time(p, "to", &to, err);
    const char *name = json_string_value(json_object_get(p, "name"));
    return hx_lake_export(r->deps->lake, r->job->tenant, json_string_value(json_object_get(p, "dataset")), from, to,
                          name ? name : r->job->id, &r->task, out, err);
}

/* ---- analytics_backfill ---- */

typedef struct bf_ctx {
    job_run_t *r;
    const hx_lake_dataset_t *ds;
    const char *topic;
    int64_t produced, files_seen, files_total;
    const char *last_file;
    hx_err_t *err;
} bf_ctx_t;

static int backfill_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    bf_ctx_t *c = ctx;
    (void)nsel;
    if (*c->r->task.cancel)
        return hx_err_set(c->err, HX_EAGAIN, "cancelled");
    if (f->path != c->last_file) {
        c->last_file = f->path;
        c->files_seen++;
        c->r->task.progress(c->r->task.ctx, (double)c->files_seen / (double)(c->files_total ? c->files_total : 1));
    }
    for (size_t i = 0; i < b->nrows; i++) {
        if (!sel[i])
            continue;
        json_t *row = hx_lake_row_json(c->ds, b, i);
        hx_envelope_t e;
        hx_envelope_init(&e);
        e.tenant = strdup(json_string_value(json_object_get(row, "tenant")) ?: "default");
        e.ts = json_integer_value(json_object_get(row, "ts"));
        int is_pm = !strcmp(c->ds->name, "provider_metrics");
        const char *type = is_pm ? "provider.metrics" : json_string_value(json_object_get(row, "event_type"));
        e.type = strdup(type ? type : "debate.completed");
        const char *key = json_string_value(json_object_get(row, is_pm ? "provider" : "debate_id"));
        e.key = strdup(key ? key : "");
        json_object_del(row, "tenant");
        json_object_del(row, "ts");
        json_object_del(row, "event_type");
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(row, tmp, k, v)
            if (json_is_null(v))
                json_object_del(row, k);
        if (!is_pm) {
            json_t *pj = json_object_get(row, "participants_json");
            json_t *parts = pj ? json_loads(json_string_value(pj), 0, NULL) : NULL;
            json_object_del(row, "participants_json");
            if (parts)
                json_object_set_new(row, "participants", parts);
        }
        e.data = row;
        hx_envelope_set_header(&e, "helix.replay", "lake", NULL);
        int rc = hx_envelope_fill_defaults(&e, "lake-backfill", hx_now_ms(), c->err);
        hx_buf_t buf = HX_BUF_INIT;
        if (!rc)
            rc = hx_envelope_encode(&e, &buf, c->err);
        if (!rc) {
            hx_msg_t m = {.topic = c->topic, .partition = -1, .timestamp_ms = e.ts, .key = e.key,
                          .key_len = strlen(e.key), .value = buf.data, .value_len = buf.len};
            rc = hx_broker_produce(c->r->deps->broker, &m, 1, NULL, c->err);
        }
        hx_buf_free(&buf);
        hx_envelope_free(&e);
        if (rc)
            return rc;
        c->produced++;
    }
    return 0;
}

static int check_backfill(const json_t *p, hx_err_t *err)
{
    static const char *const known[] = {"dataset", "from", "to", NULL};
    int rc = check_range(p, known, 1, err);
    const char *ds = json_string_value(json_object_get(p, "dataset"));
    if (!rc && strcmp(ds, "provider_metrics") && strcmp(ds, "debates"))
        rc = hx_err_set(err, HX_EINVAL, "analytics_backfill reads provider_metrics or debates");
    return rc;
}

static int run_backfill(job_run_t *r, json_t **out, hx_err_t *err)
{
    if (!r->deps->broker)
        return hx_err_set(err, HX_EUNAVAIL, "analytics_backfill needs the event log");
    const json_t *p = r->job->params;
    int64_t from = 0, to = 0;
    param_time(p, "from", &from, err);
    param_time(p, "to", &to, err);
    const hx_lake_dataset_t *ds = hx_lake_dataset_find(json_string_value(json_object_get(p, "dataset")));
    bf_ctx_t c = {r, ds, !strcmp(ds->name, "provider_metrics") ? HX_TOPIC_ANALYTICS_PROVIDERS : HX_TOPIC_ANALYTICS_DEBATES,
                  0, 0, 0, NULL, err};
    hx_lake_file_t *files;
    size_t n;
    int rc = hx_lake_list(hx_lake_root(r->deps->lake), ds->name, from, to, &files, &n, err);
    if (rc)
        return rc;
    hx_lake_files_free(files, n);
    c.files_total = (int64_t)n;
    rc = hx_lake_scan(hx_lake_root(r->deps->lake), ds, r->job->tenant, from, to, NULL, 0, NULL, 0, backfill_cb, &c,
                      NULL, err);
    if (rc)
        return rc;
    *out = json_pack("{s:s,s:s,s:I}", "dataset", ds->name, "topic", c.topic, "events_published",
                     (json_int_t)c.produced);
    return HX_OK;
}

/* ---- entity_extraction ---- */

static int check_extraction(const json_t *p, hx_err_t *err)
{
    static const char *const known[] = {"from", "to", NULL};
    return p ? check_range(p, known, 0, err) : HX_OK;
}

static int run_extraction(job_run_t *r, json_t **out, hx_err_t *err)
{
    int64_t from = 0, to = 0;
    param_time(r->job->params, "from", &from, err);
    param_time(r->job->params, "to", &to, err);
    return job_run_extraction(r, from, to, out, err);
}

static const job_type_t types[] = {
    {"compaction", 1, "{dataset?, partition? \"year=Y/month=M/day=D\"}", check_compaction, run_compaction},
    {"retention", 1, "{dataset?}", check_retention, run_retention},
    {"export", 0, "{dataset, from?, to?, name?} (dates YYYY-MM-DD or ms)", check_export, run_export},
    {"analytics_backfill", 0, "{dataset: provider_metrics|debates, from?, to?}", check_backfill, run_backfill},
    {"entity_extraction", 0, "{from?, to?}", check_extraction, run_extraction},
};

const job_type_t *job_types(size_t *n)
{
    *n = sizeof types / sizeof types[0];
    return types;
}

const job_type_t *job_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}
