/* The graph consumer (group helix-graph): reads helixagent.entities.updates,
 * collects ops up to graph.batch_size (or graph.flush_ms), and applies each
 * batch in one backend transaction together with its cursors:
 *   "<topic>/<partition>"         the next offset to apply
 *   "src:<partition>:<source>"    the last extraction record (hx-src-seq)
 *                                 applied from <source> in that partition
 *   "src:<partition>:<source>#<k>.<t>"  for envelopes of several source
 *                                 records (hx-src-runs): the last source
 *                                 offset applied, per kind index k and
 *                                 tenant (t: its hash, hex)
 * Positions come from those cursors, never from the group's committed
 * offsets (on Kafka they outlive a wiped store), and a record below its
 * partition's cursor is skipped: a batch is applied exactly once, whatever
 * the consumer is handed again after a crash or a rebalance. The group's
 * offsets are committed after each batch only so lag is visible. */
#include "graph/graph_int.h"
#include "helix/hx_clock.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WM_BUCKETS 256

typedef struct wm {
    struct wm *next;
    int64_t value;
    int dirty;
    size_t src_at;               /* where <source> starts in name */
    char name[HX_GRAPH_CURSOR_NAME_MAX];
} wm_t;

typedef struct {
    hx_graph_t *g;
    hx_consumer_t *c;
    int32_t parts;
    int64_t *next;               /* per partition; -1 = unknown */
    unsigned char *dirty;        /* partition moved since the last batch */
    wm_t *wm[WM_BUCKETS];
    wm_t **last;                 /* per partition: the watermark its last record used */
    hx_graph_ops_t batch;        /* the pending batch: every record decodes straight into it */
    int64_t first_ms;            /* when the pending batch began */
    int64_t newest_ts;           /* newest record timestamp in it */
    int pending;
} gc_t;

static wm_t *wm_get(gc_t *s, const char *name, int create)
{
    uint32_t b = (uint32_t)(hx_hash64(name, strlen(name)) % WM_BUCKETS);
    for (wm_t *w = s->wm[b]; w; w = w->next)
        if (!strcmp(w->name, name))
            return w;
    if (!create)
        return NULL;
    wm_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    snprintf(w->name, sizeof w->name, "%s", name);
    const char *c = strchr(name + 4, ':'); /* src:<partition>:<source> */
    w->src_at = c ? (size_t)(c + 1 - name) : strlen(w->name);
    w->value = -1;
    w->next = s->wm[b];
    s->wm[b] = w;
    return w;
}

static int load_cursors(gc_t *s, hx_err_t *err)
{
    hx_graph_cursor_t *cur;
    size_t n;
    int rc = hx_graph_cursors(s->g, &cur, &n, err);
    if (rc)
        return rc;
    size_t tl = strlen(HX_TOPIC_ENTITIES);
    for (size_t i = 0; i < n; i++) {
        const char *nm = cur[i].name;
        if (!strncmp(nm, HX_TOPIC_ENTITIES, tl) && nm[tl] == '/') {
            long p = strtol(nm + tl + 1, NULL, 10);
            if (p >= 0 && p < s->parts)
                s->next[p] = cur[i].value;
        } else if (!strncmp(nm, "src:", 4)) {
            wm_t *w = wm_get(s, nm, 1);
            if (!w) {
                free(cur);
                return hx_err_set(err, HX_ENOMEM, "out of memory");
            }
            w->value = cur[i].value;
        }
    }
    free(cur);
    return HX_OK;
}

static void set_status(hx_graph_t *g, int failing, const char *msg)
{
    hx_graph_set_status(g, 0, failing, msg);
}

/* Joins the group and puts every partition at the store's position. */
static int open_consumer(gc_t *s, hx_err_t *err)
{
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.auto_offset_reset = HX_RESET_EARLIEST;
    co.max_poll_records = s->g->cfg.graph.batch_size < 500 ? s->g->cfg.graph.batch_size : 500;
    co.session_timeout_ms = 6000; /* as memory: a restarted node waits out its dead member this long */
    co.client_id = s->g->node_id[0] ? s->g->node_id : "helix-graph";
    const char *topics[] = {HX_TOPIC_ENTITIES};
    int rc = hx_consumer_new(s->g->broker, HX_GRAPH_GROUP, topics, 1, &co, &s->c, err);
    if (rc)
        return rc;
    /* Kafka assigns asynchronously: seeks are retried until they all take.
     * A poll in between may move positions, so every round seeks them all. */
    int64_t deadline = hx_now_ms() + 30000;
    for (;;) {
        int32_t bad = -1;
        hx_err_t e = {0};
        int src = HX_OK;
        for (int32_t p = 0; p < s->parts && bad < 0; p++) {
            int64_t to = s->next[p] >= 0 ? s->next[p] : HX_OFFSET_BEGINNING;
            src = hx_consumer_seek(s->c, HX_TOPIC_ENTITIES, p, to, &e);
            if (src == HX_ERANGE) {
                HX_WARN("graph", "%s/%d: the stored position %" PRId64 " is gone (%s); reading from the start, "
                        "events between were lost to retention", HX_TOPIC_ENTITIES, p, to, e.msg);
                s->next[p] = -1;
                src = hx_consumer_seek(s->c, HX_TOPIC_ENTITIES, p, HX_OFFSET_BEGINNING, &e);
            }
            if (src)
                bad = p;
        }
        if (bad < 0)
            break;
        if (hx_now_ms() > deadline || s->g->stop) {
            hx_consumer_close(s->c);
            s->c = NULL;
            return hx_err_set(err, src, "cannot position the graph consumer on %s/%d: %s", HX_TOPIC_ENTITIES, bad,
                              e.msg);
        }
        hx_fetch_t f;
        if (!hx_consumer_poll(s->c, 100, &f, NULL)) /* lets the assignment settle */
            hx_fetch_free(&f);
    }
    pthread_mutex_lock(&s->g->mu);
    for (int32_t p = 0; p < s->parts; p++)
        s->g->applied[p] = s->next[p];
    pthread_cond_broadcast(&s->g->cv);
    pthread_mutex_unlock(&s->g->mu);
    return HX_OK;
}

static void release_pending(gc_t *s)
{
    hx_graph_ops_free(&s->batch);
    s->pending = 0;
    memset(s->dirty, 0, (size_t)s->parts);
    for (int b = 0; b < WM_BUCKETS; b++)
        for (wm_t *w = s->wm[b]; w; w = w->next)
            w->dirty = 0;
}

/* Applies the pending batch; HX_OK or the backend's error (kept pending). */
static int flush(gc_t *s, hx_err_t *err)
{
    if (!s->pending)
        return HX_OK;
    size_t nc = 0, cap = (size_t)s->parts;
    for (int b = 0; b < WM_BUCKETS; b++)
        for (wm_t *w = s->wm[b]; w; w = w->next)
            cap += w->dirty;
    hx_graph_cursor_t *cur = malloc((cap ? cap : 1) * sizeof *cur);
    if (!cur)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    for (int32_t p = 0; p < s->parts; p++)
        if (s->dirty[p]) {
            snprintf(cur[nc].name, sizeof cur[nc].name, "%s/%d", HX_TOPIC_ENTITIES, p);
            cur[nc++].value = s->next[p];
        }
    for (int b = 0; b < WM_BUCKETS; b++)
        for (wm_t *w = s->wm[b]; w; w = w->next)
            if (w->dirty) {
                memcpy(cur[nc].name, w->name, sizeof cur[nc].name);
                cur[nc++].value = w->value;
            }
    hx_graph_batch_t bt = {s->batch.ops, s->batch.n, cur, nc};
    int rc = hx_graph_apply_locked(s->g, &bt, err);
    free(cur);
    if (rc)
        return rc;
    hx_graph_t *g = s->g;
    if (s->newest_ts > 0)
        hx_gauge_set(g->m_apply_lag, (double)(hx_now_ms() - s->newest_ts) / 1000.0);
    pthread_mutex_lock(&g->mu);
    for (int32_t p = 0; p < s->parts; p++)
        if (s->dirty[p])
            g->applied[p] = s->next[p];
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (int32_t p = 0; p < s->parts; p++)
        if (s->dirty[p] && hx_consumer_commit_offset(s->c, HX_TOPIC_ENTITIES, p, s->next[p], NULL))
            HX_DEBUG("graph", "committing the graph group's offset of partition %d failed; the store has it", p);
    release_pending(s);
    return HX_OK;
}

/* Drops the ops a record added to the batch from index n0 on. */
static void drop_from(gc_t *s, size_t n0)
{
    for (size_t i = n0; i < s->batch.n; i++)
        json_decref((json_t *)s->batch.ops[i].properties);
    s->batch.n = n0;
}

/* Takes items [n0, n0 + k) out of the batch. */
static void drop_range(gc_t *s, size_t n0, size_t k)
{
    for (size_t i = n0; i < n0 + k; i++)
        json_decref((json_t *)s->batch.ops[i].properties);
    memmove(s->batch.ops + n0, s->batch.ops + n0 + k, (s->batch.n - n0 - k) * sizeof *s->batch.ops);
    s->batch.n -= k;
}

/* An envelope of several source records (hx-src-runs), decoded into the
 * batch from n0 on: the items of records at or below its cursor were
 * applied before (a restarted extractor read them again, grouped
 * differently) and are dropped; the cursor moves to its last record. The
 * cursor is per kind because one record's kinds travel in separate
 * envelopes, which a batch boundary can fall between; and per tenant because
 * an envelope holds one tenant, so a source's tenants interleave. */
static int take_runs(gc_t *s, int32_t p, const hx_graph_src_t *src, size_t n0)
{
    hx_graph_t *g = s->g;
    if (s->batch.n == n0) /* decode refuses runs without items */
        return HX_OK;
    const hx_graph_op_t *op = &s->batch.ops[n0];
    char name[HX_GRAPH_CURSOR_NAME_MAX];
    int n = snprintf(name, sizeof name, "src:%d:%s", p, src->name);
    wm_t *w = NULL;
    if (n > 0 && (size_t)n < sizeof name - 24) {
        size_t base = (size_t)n;
        snprintf(name + base, sizeof name - base, "#%d.%016" PRIx64, hx_graph_kind_index(op->kind),
                 hx_hash64(op->tenant, strlen(op->tenant)));
        w = wm_get(s, name, 1);
        if (w && w->value < 0) {
            /* First seen: a store written before envelopes covered several
             * records has the source's cursor as offset << 16 | envelope. */
            name[base] = 0;
            wm_t *old = wm_get(s, name, 0);
            if (old && old->value >= 0)
                w->value = old->value >> 16;
        }
    }
    if (!w) {
        drop_range(s, n0, s->batch.n - n0);
        return HX_ENOMEM;
    }
    size_t done;
    hx_graph_src_applied(src, w->value, &done);
    if (done)
        atomic_fetch_add(&g->prog.duplicates_skipped, 1);
    drop_range(s, n0, done);
    if (src->seq > w->value) {
        w->value = src->seq;
        w->dirty = 1;
    }
    return HX_OK;
}

/* One record: skipped when already applied, else its ops join the batch. */
static int take(gc_t *s, const hx_msg_t *m, uint64_t *warned)
{
    int32_t p = m->partition;
    if (p < 0 || p >= s->parts)
        return HX_OK;
    hx_graph_t *g = s->g;
    if (s->next[p] >= 0 && m->offset < s->next[p]) {
        atomic_fetch_add(&g->prog.duplicates_skipped, 1);
        return HX_OK;
    }
    size_t n0 = s->batch.n;
    hx_graph_src_t src;
    hx_err_t e = {0};
    int rc = hx_graph_events_decode(m->value, m->value_len, &s->batch, &src, &e);
    if (rc) {
        drop_from(s, n0);
        if (rc == HX_ENOMEM)
            return rc;
        if ((*warned)++ < 20 || *warned % 1000 == 0)
            HX_WARN("graph", "%s/%d@%" PRId64 " is not a valid graph event and is skipped (%" PRIu64 " so far): %s",
                    m->topic, p, m->offset, *warned, e.msg);
        hx_counter_add(g->m_invalid, 1);
        atomic_fetch_add(&g->prog.invalid_records, 1);
    } else if (src.runs) {
        if (take_runs(s, p, &src, n0))
            return HX_ENOMEM;
    } else if (src.name[0]) {
        /* A partition's records mostly come from one source in a row: its
         * watermark is found again without formatting and hashing a name. */
        wm_t *w = s->last[p];
        if (!w || strcmp(w->name + w->src_at, src.name)) {
            char name[HX_GRAPH_CURSOR_NAME_MAX + 32];
            snprintf(name, sizeof name, "src:%d:%s", p, src.name);
            w = s->last[p] = wm_get(s, name, 1);
        }
        if (!w) {
            drop_from(s, n0);
            return HX_ENOMEM;
        }
        if (src.seq <= w->value) { /* a restarted extractor produced this record again */
            drop_from(s, n0);
            atomic_fetch_add(&g->prog.duplicates_skipped, 1);
        } else {
            w->value = src.seq;
            w->dirty = 1;
        }
    }
    atomic_fetch_add(&g->prog.records_applied, 1);
    s->next[p] = m->offset + 1;
    s->dirty[p] = 1;
    if (!s->pending)
        s->first_ms = hx_now_ms();
    s->pending = 1;
    if (m->timestamp_ms > s->newest_ts)
        s->newest_ts = m->timestamp_ms;
    return HX_OK;
}

void *hx_graph_consumer_main(void *arg)
{
    gc_t s = {.g = arg, .parts = ((hx_graph_t *)arg)->parts};
    hx_graph_t *g = s.g;
    s.next = malloc((size_t)s.parts * sizeof *s.next);
    s.dirty = calloc((size_t)s.parts, 1);
    s.last = calloc((size_t)s.parts, sizeof *s.last);
    uint64_t warned = 0;
    int backoff = 50, loaded = 0;
    hx_fetch_t f = {0};
    size_t fi = 0; /* next record of f to take */
    if (!s.next || !s.dirty || !s.last) {
        set_status(g, 1, "out of memory starting the graph consumer");
        goto out;
    }
    for (int32_t p = 0; p < s.parts; p++)
        s.next[p] = -1;
    while (!g->stop) {
        hx_err_t err = {0};
        if (!s.c) {
            if ((!loaded && load_cursors(&s, &err)) || open_consumer(&s, &err)) {
                set_status(g, 1, err.msg);
                HX_WARN("graph", "graph consumer cannot start yet: %s; retrying", err.msg);
                hx_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
            loaded = 1;
            backoff = 50;
            set_status(g, 0, "");
        }
        int full = s.pending && s.batch.n >= (size_t)g->cfg.graph.batch_size;
        if (full || (s.pending && hx_now_ms() - s.first_ms >= g->cfg.graph.flush_ms)) {
            if (flush(&s, &err)) {
                set_status(g, 1, err.msg);
                HX_WARN("graph", "applying a batch of %zu graph ops failed (retrying; nothing is lost): %s", s.batch.n,
                        err.msg);
                hx_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
            backoff = 50;
            set_status(g, 0, NULL);
            continue;
        }
        if (fi < f.count) { /* fill the batch from what was fetched */
            while (fi < f.count && s.batch.n < (size_t)g->cfg.graph.batch_size)
                if (take(&s, &f.msgs[fi++], &warned))
                    set_status(g, 1, "out of memory in the graph consumer");
            continue;
        }
        hx_fetch_free(&f);
        fi = 0;
        int64_t left = s.pending ? g->cfg.graph.flush_ms - (hx_now_ms() - s.first_ms) : 100;
        if (hx_consumer_poll(s.c, left < 1 ? 1 : left > 100 ? 100 : (int)left, &f, &err)) {
            memset(&f, 0, sizeof f);
            set_status(g, 1, err.msg);
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        }
    }
    /* Shutdown: what was taken is applied (one try), so a clean stop re-reads
     * little; records fetched but not taken are read again on start. */
    {
        hx_err_t err = {0};
        if (s.pending && flush(&s, &err))
            HX_WARN("graph", "the last graph batch was not applied at shutdown (%s); it is read again on start",
                    err.msg);
    }
out:
    hx_fetch_free(&f);
    release_pending(&s);
    if (s.c)
        hx_consumer_close(s.c);
    for (int b = 0; b < WM_BUCKETS; b++)
        while (s.wm[b]) {
            wm_t *w = s.wm[b];
            s.wm[b] = w->next;
            free(w);
        }
    free(s.next);
    free(s.dirty);
    free(s.last);
    return NULL;
}

/* ---- publish and sync ---- */

int hx_graph_publish(hx_graph_t *g, const hx_graph_op_t *ops, size_t n, int wait_ms, int *applied, hx_err_t *err)
{
    if (applied)
        *applied = 0;
    if (!g->broker || g->parts < 1)
        return hx_err_set(err, HX_EUNAVAIL, "this graph engine has no event log to publish to");
    hx_graph_encode_opts_t eo = {.source = g->node_id, .partitions = g->parts};
    hx_graph_records_t rec;
    int rc = hx_graph_events_encode(ops, n, &eo, &rec, err);
    if (rc)
        return rc;
    hx_delivery_t *d = malloc((rec.n ? rec.n : 1) * sizeof *d);
    if (!d) {
        hx_graph_records_free(&rec);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    rc = rec.n ? hx_broker_produce(g->broker, rec.msgs, rec.n, d, err) : HX_OK;
    if (!rc && wait_ms > 0) {
        int64_t deadline = hx_now_ms() + wait_ms;
        int done = 0;
        pthread_mutex_lock(&g->mu);
        while (!done && !g->stop) {
            done = 1;
            for (size_t i = 0; i < rec.n && done; i++)
                done = g->applied[d[i].partition] > d[i].offset;
            if (done)
                break;
            int64_t left = deadline - hx_now_ms();
            if (left <= 0)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (left < 100 ? left : 100) * 1000000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        }
        pthread_mutex_unlock(&g->mu);
        if (applied)
            *applied = done;
    }
    free(d);
    hx_graph_records_free(&rec);
    return rc;
}

/* Every partition of topic has a committed offset at its high watermark in
 * group, or no records at all. */
static int topic_caught_up(hx_graph_t *g, const char *group, const char *topic, int *up, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(g->broker, topic, &ti, err);
    if (rc)
        return rc;
    hx_group_info_t gi;
    int grc = hx_broker_group_describe(g->broker, group, &gi, NULL);
    *up = 1;
    for (int p = 0; p < ti.config.partitions && *up; p++) {
        int64_t hw = ti.partitions[p].high_watermark, lw = ti.partitions[p].low_watermark, committed = -1;
        for (size_t i = 0; !grc && i < gi.n_offsets; i++)
            if (!strcmp(gi.offsets[i].topic, topic) && gi.offsets[i].partition == p)
                committed = gi.offsets[i].committed;
        *up = hw == lw || committed >= hw;
    }
    if (!grc)
        hx_group_info_free(&gi);
    hx_topic_info_free(&ti);
    return HX_OK;
}

int hx_graph_sync(hx_graph_t *g, int include_extract, int timeout_ms, hx_err_t *err)
{
    if (!g->broker)
        return hx_err_set(err, HX_EUNAVAIL, "this graph engine has no event log");
    int64_t deadline = hx_now_ms() + timeout_ms;
    int rc = HX_OK;
    if (include_extract) {
        for (;;) {
            int a = 0, b = 0;
            if ((rc = topic_caught_up(g, HX_GRAPH_EXTRACT_GROUP, HX_TOPIC_CONVERSATIONS, &a, err)) ||
                (rc = topic_caught_up(g, HX_GRAPH_EXTRACT_GROUP, HX_TOPIC_MEMORY_EVENTS, &b, err)))
                return rc;
            if (a && b)
                break;
            if (hx_now_ms() > deadline)
                return hx_err_set(err, HX_ETIMEOUT, "entity extraction did not catch up within %d ms", timeout_ms);
            hx_sleep_ms(10);
        }
    }
    hx_topic_info_t ti;
    if ((rc = hx_broker_topic_describe(g->broker, HX_TOPIC_ENTITIES, &ti, err)))
        return rc;
    for (;;) {
        int done = 1;
        pthread_mutex_lock(&g->mu);
        for (int p = 0; p < ti.config.partitions && p < g->parts && done; p++) {
            int64_t hw = ti.partitions[p].high_watermark, lw = ti.partitions[p].low_watermark;
            done = hw == lw ? g->applied[p] >= hw || g->applied[p] < 0 : g->applied[p] >= hw;
        }
        pthread_mutex_unlock(&g->mu);
        if (done)
            break;
        if (hx_now_ms() > deadline) {
            hx_topic_info_free(&ti);
            return hx_err_set(err, HX_ETIMEOUT, "the graph consumer did not catch up within %d ms", timeout_ms);
        }
        hx_sleep_ms(5);
    }
    hx_topic_info_free(&ti);
    return HX_OK;
}
