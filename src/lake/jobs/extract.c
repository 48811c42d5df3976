/* The entity_extraction job: a tenant's archived conversation messages run
 * through the knowledge graph's deterministic extractor, and the resulting
 * entity and relationship events go to helixagent.entities.updates, where
 * the graph consumer applies them (subsystems meet on topics, not calls).
 *
 * Messages are taken as the live extractor takes them: conversation.message
 * .added only (an edit was observed already), no tool turns, the time from
 * created_at. Each conversation's events carry hx-src "lake:<hash of tenant
 * and conversation>" and hx-src-seq from the message's seq, and every day is
 * processed in (conversation, seq) order, so the graph consumer drops what a
 * re-run (after a failure or over an overlapping range) produces again: the
 * job is idempotent. It adds mentions for messages the live extractor never
 * saw (archived before the graph ran); over messages it did see, counts would
 * double, which is why the range is the caller's to choose. */
#include "lake/jobs/jobs_int.h"

#include "helix/hx_broker.h"
#include "helix/hx_graph.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct xmsg {
    char *conv, *user, *content;
    int64_t seq, ts;
} xmsg_t;

typedef struct xday {
    xmsg_t *m;
    size_t n, cap;
    int oom;
} xday_t;

static char *dupn(const hx_pq_vec_t *v, size_t i)
{
    if (!v->valid[i])
        return NULL;
    size_t n = (size_t)(v->off[i + 1] - v->off[i]);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v->data + v->off[i], n);
        s[n] = 0;
    }
    return s;
}

/* Columns asked: conversation_id, seq, user_id, content, created_at, ts, role, op. */
static int collect_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    xday_t *d = ctx;
    (void)f;
    (void)nsel;
    for (size_t i = 0; i < b->nrows && !d->oom; i++) {
        if (!sel[i] || !b->vecs[3].valid[i])
            continue;
        const hx_pq_vec_t *role = &b->vecs[6];
        if (role->valid[i] && role->off[i + 1] - role->off[i] == 4 && !memcmp(role->data + role->off[i], "tool", 4))
            continue;
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 256;
            xmsg_t *nm = realloc(d->m, nc * sizeof *nm);
            if (!nm) {
                d->oom = 1;
                break;
            }
            d->m = nm;
            d->cap = nc;
        }
        xmsg_t *m = &d->m[d->n++];
        m->conv = dupn(&b->vecs[0], i);
        m->seq = b->vecs[1].i64[i];
        m->user = dupn(&b->vecs[2], i);
        m->content = dupn(&b->vecs[3], i);
        m->ts = b->vecs[4].valid[i] && b->vecs[4].i64[i] > 0 ? b->vecs[4].i64[i] : b->vecs[5].i64[i];
        if (!m->conv || !m->content)
            d->oom = 1;
    }
    return d->oom ? HX_ENOMEM : 0;
}

static int by_conv_seq(const void *a, const void *b)
{
    const xmsg_t *x = a, *y = b;
    int c = strcmp(x->conv, y->conv);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static void day_free(xday_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->m[i].conv);
        free(d->m[i].user);
        free(d->m[i].content);
    }
    free(d->m);
    memset(d, 0, sizeof *d);
}

typedef struct xrun {
    job_run_t *r;
    hx_graph_extractor_t *x;
    int32_t parts;
    int64_t messages, events;
} xrun_t;

static int extract_day(xrun_t *s, xday_t *d, hx_err_t *err)
{
    if (d->n > 1)
        qsort(d->m, d->n, sizeof *d->m, by_conv_seq);
    const char *tenant = s->r->job->tenant;
    for (size_t i = 0; i < d->n; i++) {
        if (*s->r->task.cancel)
            return hx_err_set(err, HX_EAGAIN, "cancelled");
        xmsg_t *m = &d->m[i];
        hx_graph_message_t gm = {.tenant = tenant, .conversation_id = m->conv, .user_id = m->user,
                                 .content = m->content, .ts_ms = m->ts};
        hx_graph_ops_t ops = {0};
        int rc = hx_graph_extract_message(s->x, &gm, &ops, err);
        if (!rc && ops.n) {
            char key[512], src[40];
            int kn = snprintf(key, sizeof key, "%s%c%s", tenant, 0, m->conv);
            snprintf(src, sizeof src, "lake:%016llx",
                     (unsigned long long)hx_hash64(key, kn > 0 && (size_t)kn < sizeof key ? (size_t)kn : sizeof key - 1));
            hx_graph_encode_opts_t eo = {.source = s->r->cfg->node.node_id, .partitions = s->parts, .src = src,
                                         .src_seq = m->seq};
            hx_graph_records_t rec = {0};
            rc = hx_graph_events_encode(ops.ops, ops.n, &eo, &rec, err);
            if (!rc && rec.n)
                rc = hx_broker_produce(s->r->deps->broker, rec.msgs, rec.n, NULL, err);
            if (!rc)
                s->events += (int64_t)rec.n;
            hx_graph_records_free(&rec);
        }
        hx_graph_ops_free(&ops);
        if (rc)
            return rc;
        s->messages++;
    }
    return HX_OK;
}

int job_run_extraction(job_run_t *r, int64_t from, int64_t to, json_t **out, hx_err_t *err)
{
    if (!r->deps->broker)
        return hx_err_set(err, HX_EUNAVAIL, "entity_extraction publishes graph events and needs the event log");
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(r->deps->broker, HX_TOPIC_ENTITIES, &ti, err);
    if (rc)
        return rc;
    xrun_t s = {.r = r, .parts = ti.config.partitions};
    hx_topic_info_free(&ti);
    if ((rc = hx_graph_extractor_new(r->cfg, &s.x, err)))
        return rc;
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("conversations");
    const char *root = hx_lake_root(r->deps->lake);
    hx_lake_file_t *files;
    size_t n;
    if ((rc = hx_lake_list(root, ds->name, from, to, &files, &n, err))) {
        hx_graph_extractor_free(s.x);
        return rc;
    }
    static const char *const cols[] = {"conversation_id", "seq", "user_id", "content", "created_at", "ts", "role"};
    hx_lake_pred_t added = {.col = "op", .op = HX_PQ_EQ, .s = "added"};
    int days = 0;
    for (size_t k = 0; k < n && rc == HX_OK;) {
        /* One day partition at a time: bounded memory, and days in order. */
        size_t j = k;
        while (j < n && files[j].year == files[k].year && files[j].month == files[k].month &&
               files[j].day == files[k].day)
            j++;
        int64_t day = hx_lake_day_start(files[k].year, files[k].month, files[k].day);
        int64_t lo = from > day ? from : day, hi = to && to < day + 86400000 ? to : day + 86400000;
        xday_t d = {0};
        rc = hx_lake_scan(root, ds, r->job->tenant, lo, hi, cols, 7, &added, 1, collect_cb, &d, NULL, err);
        if (rc == HX_ENOMEM)
            hx_err_set(err, rc, "out of memory collecting a day of messages");
        if (!rc)
            rc = extract_day(&s, &d, err);
        day_free(&d);
        days++;
        r->task.progress(r->task.ctx, (double)j / (double)n);
        k = j;
    }
    hx_lake_files_free(files, n);
    hx_graph_extractor_free(s.x);
    if (rc)
        return rc;
    *out = json_pack("{s:I,s:I,s:i,s:s}", "messages", (json_int_t)s.messages, "events_published",
                     (json_int_t)s.events, "days", days, "topic", HX_TOPIC_ENTITIES);
    return HX_OK;
}
