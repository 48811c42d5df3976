/* The memory engine: open/recover, the local write path (stamp, join, WAL,
 * ack, queue for publishing), applying remote ops, reads. */
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"
#include "memory/engine.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void hx_memory_opts_defaults(hx_memory_opts_t *o) { memset(o, 0, sizeof *o); }

const char *hx_memory_node_id(const hx_memory_t *m) { return m->node; }
hx_latency_t *hx_memory_apply_lag(hx_memory_t *m) { return m->apply_lag; }

void hx_memory_test_drop(hx_memory_t *m, int drop_in, int drop_out)
{
    atomic_store(&m->drop_in, drop_in);
    atomic_store(&m->drop_out, drop_out);
}

uint64_t hx_memory_ops_applied(hx_memory_t *m)
{
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->ops_applied;
    pthread_mutex_unlock(&m->mu);
    return n;
}

hx_origin_t *hx_memory_origin(hx_memory_t *m, const char *node, int create)
{
    for (size_t i = 0; i < m->norigins; i++)
        if (!strcmp(m->origins[i].node, node))
            return &m->origins[i];
    if (!create || strlen(node) >= HX_MNODE_MAX)
        return NULL;
    hx_origin_t *n = realloc(m->origins, (m->norigins + 1) * sizeof *n);
    if (!n)
        return NULL;
    m->origins = n;
    hx_origin_t *o = &n[m->norigins++];
    memset(o, 0, sizeof *o);
    snprintf(o->node, sizeof o->node, "%s", node);
    return o;
}

/* Records seq as applied; 0 if it already was (a duplicate delivery). */
static int origin_mark(hx_origin_t *o, uint64_t seq, uint64_t hlc)
{
    if (seq <= o->contig)
        return 0;
    size_t i = 0;
    while (i < o->nextra && o->extra[i] < seq)
        i++;
    if (i < o->nextra && o->extra[i] == seq)
        return 0;
    if (seq == o->contig + 1) {
        o->contig = seq;
        size_t k = 0;
        while (k < o->nextra && o->extra[k] == o->contig + 1)
            o->contig = o->extra[k++];
        if (k)
            memmove(o->extra, o->extra + k, (o->nextra - k) * sizeof *o->extra);
        o->nextra -= k;
        if (!o->nextra)
            o->extra_min_hlc = 0;
        return 1;
    }
    if (o->nextra == o->capextra) {
        size_t cap = o->capextra ? o->capextra * 2 : 16;
        uint64_t *n = realloc(o->extra, cap * sizeof *n);
        if (!n)
            return 1; /* applied anyway; only dedup bookkeeping is lost */
        o->extra = n;
        o->capextra = cap;
    }
    memmove(&o->extra[i + 1], &o->extra[i], (o->nextra - i) * sizeof *o->extra);
    o->extra[i] = seq;
    o->nextra++;
    if (!o->extra_min_hlc || hlc < o->extra_min_hlc)
        o->extra_min_hlc = hlc;
    return 1;
}

int64_t hx_memory_origin_lag_ms(const hx_origin_t *o, int64_t now)
{
    /* Oldest event known to exist but not applied: a gap below an applied
     * op (bounded by that op's stamp), or ops the origin advertised in its
     * digest that have not arrived (bounded by when it advertised them). */
    int64_t lag = 0;
    if (o->nextra && o->extra_min_hlc)
        lag = now - hx_hlc_wall_ms(o->extra_min_hlc);
    if (o->advertised > o->contig && o->advertised_since && now - o->advertised_since > lag)
        lag = now - o->advertised_since;
    return lag < 0 ? 0 : lag;
}

void hx_memory_record_conflict(hx_memory_t *m, const hx_mitem_t *it, const hx_join_info_t *info, double secs)
{
    m->conflicts_resolved++;
    hx_histogram_observe_labels(m->h_conflict, (const char *[]){m->strat == HX_CRDT_LWW ? "last_write_wins" : "merge_all"},
                                secs);
    hx_conflict_rec_t *r;
    if (m->nconflicts < HX_MEM_CONFLICTS_MAX) {
        r = &m->conflicts[m->nconflicts++];
    } else {
        r = &m->conflicts[m->conflict_head];
        m->conflict_head = (m->conflict_head + 1) % HX_MEM_CONFLICTS_MAX;
        json_decref(r->detail);
    }
    r->at_ms = hx_now_ms();
    snprintf(r->tenant, sizeof r->tenant, "%s", it->s->tenant);
    snprintf(r->id, sizeof r->id, "%s", it->s->id);
    const hx_entry_t *top = hx_dset_top(&it->s->content);
    json_t *sib = json_array();
    for (size_t i = 0; i < it->s->content.nlive; i++)
        json_array_append_new(sib, json_pack("{s:I,s:s}", "hlc", (json_int_t)it->s->content.live[i].dot.hlc, "node",
                                             it->s->content.live[i].dot.node));
    r->detail = json_pack("{s:s,s:s,s:I,s:o,s:o,s:s,s:f}", "memory_id", it->s->id, "strategy",
                          m->strat == HX_CRDT_LWW ? "last_write_wins" : "merge_all", "siblings",
                          (json_int_t)info->siblings, "winner",
                          top ? json_pack("{s:I,s:s}", "hlc", (json_int_t)top->dot.hlc, "node", top->dot.node)
                              : json_null(),
                          "live_versions", sib, "resolution",
                          m->strat == HX_CRDT_LWW ? "greatest (hlc, node) kept" : "siblings kept; next write supersedes",
                          "resolution_ms", secs * 1000.0);
}

int hx_memory_apply_state(hx_memory_t *m, hx_mcrdt_t *delta, int count_conflicts, hx_join_info_t *info)
{
    hx_mitem_t *it = hx_mstore_put(&m->store, delta->tenant, delta->id);
    if (!it)
        return HX_ENOMEM;
    uint64_t t0 = hx_mono_ns();
    int rc = hx_mcrdt_join(it->s, delta, m->strat, info);
    if (info->changed)
        hx_mitem_touch(it);
    if (!rc && count_conflicts && info->concurrent)
        hx_memory_record_conflict(m, it, info, (double)(hx_mono_ns() - t0) / 1e9);
    return rc;
}

/* Decoded op: everything but the delta is borrowed from the JSON. */
typedef struct op_view {
    const char *origin;
    uint64_t seq, hlc;
    int64_t wall_us;
    const json_t *delta;
} op_view_t;

static int op_parse(const json_t *op, op_view_t *v, hx_err_t *err)
{
    v->origin = json_string_value(json_object_get(op, "o"));
    json_t *s = json_object_get(op, "s"), *h = json_object_get(op, "h"), *w = json_object_get(op, "w");
    v->delta = json_object_get(op, "d");
    if (!v->origin || !json_is_integer(s) || !json_is_integer(h) || !json_is_integer(w) || !json_is_object(v->delta))
        return hx_err_set(err, HX_ECORRUPT, "memory op: needs o (node), s (seq), h (hlc), w (wall us), d (delta)");
    v->seq = (uint64_t)json_integer_value(s);
    v->hlc = (uint64_t)json_integer_value(h);
    v->wall_us = json_integer_value(w);
    return HX_OK;
}

int hx_memory_apply_op(hx_memory_t *m, const json_t *op, int remote, hx_err_t *err)
{
    op_view_t v = {0};
    int rc = op_parse(op, &v, err);
    if (rc)
        return rc;
    if (remote && !strcmp(v.origin, m->node))
        return HX_OK; /* self-echo: our own dot, applied when written */
    hx_mcrdt_t *d = NULL;
    if ((rc = hx_mcrdt_from_json(v.delta, &d, err)))
        return rc;
    pthread_mutex_lock(&m->mu);
    hx_origin_t *o = hx_memory_origin(m, v.origin, 1);
    if (remote && o && !origin_mark(o, v.seq, v.hlc)) {
        m->duplicates++;
        goto out;
    }
    if (!remote && !strcmp(v.origin, m->node) && v.seq > m->seq)
        m->seq = v.seq;
    if (hx_hlc_observe(&m->hlc, v.hlc, hx_now_ms()) == HX_ERANGE) {
        m->drift_rejects++;
        HX_WARN("memory", "op %s:%" PRIu64 " is stamped %" PRId64 " ms ahead of our clock; applied without "
                "advancing the clock (drift guard)", v.origin, v.seq, hx_hlc_wall_ms(v.hlc) - hx_now_ms());
    }
    hx_join_info_t info;
    rc = hx_memory_apply_state(m, d, remote, &info);
    if (rc)
        hx_err_set(err, rc, "out of memory applying a memory op");
    if (remote) {
        m->ops_applied++;
        int64_t lag_us = hx_now_us() - v.wall_us;
        if (lag_us < 0)
            lag_us = 0;
        hx_latency_record(m->apply_lag, (uint64_t)lag_us * 1000);
        if (o)
            o->last_apply_lag_ms = lag_us / 1000;
    }
out:
    pthread_mutex_unlock(&m->mu);
    hx_mcrdt_free(d);
    return rc;
}

static int replay_rec(void *ctx, const char *rec, size_t len)
{
    hx_memory_t *m = ctx;
    json_error_t je;
    json_t *op = json_loadb(rec, len, 0, &je);
    hx_err_t err = {0};
    int rc = op ? hx_memory_apply_op(m, op, 0, &err) : HX_ECORRUPT;
    json_t *d = json_object_get(op, "d");
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(op, "s"));
    /* Acknowledged but maybe never published before the crash: publish again
     * (peers drop duplicates by dot). */
    if (!rc && seq > m->published_seq && m->broker)
        hx_msync_enqueue(m, json_string_value(json_object_get(d, "tenant")), json_string_value(json_object_get(d, "id")),
                         rec, len, seq);
    json_decref(op);
    return rc;
}

static int valid_node(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (!len || len >= HX_MNODE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && !strchr("._-", n[i]))
            return 0;
    return 1;
}

static uint64_t read_published(const char *dir)
{
    char p[HX_CFG_STR + 32];
    snprintf(p, sizeof p, "%s/published_seq", dir);
    FILE *f = fopen(p, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

int hx_memory_open(const hx_memory_opts_t *o, hx_memory_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!o || !o->cfg || !o->dir || !*o->dir)
        return hx_err_set(err, HX_EINVAL, "memory engine: cfg and dir are required");
    if (!valid_node(o->node_id))
        return hx_err_set(err, HX_EINVAL, "memory engine: node id '%s' must be 1..%d characters of [A-Za-z0-9._-]",
                          o->node_id ? o->node_id : "", HX_MNODE_MAX - 1);
    hx_memory_t *m = calloc(1, sizeof *m);
    if (!m)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the memory engine");
    m->cfg = *o->cfg;
    snprintf(m->dir, sizeof m->dir, "%s", o->dir);
    snprintf(m->node, sizeof m->node, "%s", o->node_id);
    m->strat = strcmp(o->cfg->distributed_memory.crdt.strategy, "last_write_wins") == 0 ? HX_CRDT_LWW
                                                                                          : HX_CRDT_MERGE_ALL;
    m->broker = o->broker;
    m->metrics = o->metrics;
    m->digest_interval_ms = o->digest_interval_ms > 0 ? o->digest_interval_ms
                                                  : o->cfg->distributed_memory.sync.digest_interval_ms > 0
                                                      ? o->cfg->distributed_memory.sync.digest_interval_ms
                                                      : 5000;
    m->snapshot_interval_ms = o->snapshot_interval_ms > 0 ? o->snapshot_interval_ms
                                                          : o->cfg->distributed_memory.snapshot.interval_seconds * 1000;
    m->batch_size = o->cfg->distributed_memory.sync.batch_size;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->qmu, NULL);
    pthread_cond_init(&m->qcv, NULL);
    hx_hlc_init(&m->hlc, o->max_drift_ms);
    for (int i = 0; i < HX_MEM_PARTS_MAX; i++)
        m->part_next[i] = -1;
    m->conflicts = calloc(HX_MEM_CONFLICTS_MAX, sizeof *m->conflicts);
    m->apply_lag = hx_latency_new();
    int rc;
    if (!m->conflicts || !m->apply_lag || hx_mstore_init(&m->store)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory opening the memory engine");
        goto fail;
    }
    if (m->metrics) {
        m->g_lag = hx_metrics_gauge(m->metrics, "memory_sync_lag_seconds",
                                    "Now minus the HLC time of the oldest unapplied memory event, per origin node",
                                    "node,origin");
        m->h_conflict = hx_metrics_histogram(m->metrics, "memory_conflict_resolution_duration_seconds",
                                             "Time to merge a delta that was concurrent with local state", "strategy",
                                             NULL, 0);
        /* Render from the start: the largest lag over all origins, and the
         * strategy's histogram. */
        hx_gauge_set_labels(m->g_lag, (const char *[]){m->node, "all"}, 0);
        hx_histogram_child(m->h_conflict, (const char *[]){m->strat == HX_CRDT_LWW ? "last_write_wins" : "merge_all"});
        m->c_events = hx_metrics_counter(m->metrics, "memory_sync_events_total",
                                         "Memory deltas published and consumed", "node,direction");
    }
    if (mkdir(m->dir, 0755) && errno != EEXIST) {
        rc = hx_err_set(err, HX_EIO, "cannot create memory dir %s: %s", m->dir, strerror(errno));
        goto fail;
    }
    m->published_seq = read_published(m->dir);
    uint64_t wal_seg = 0;
    if ((rc = hx_msnap_restore(m, &wal_seg, err)))
        goto fail;
    if ((rc = hx_mwal_open(m->dir, m->cfg.event_log.fsync, wal_seg, replay_rec, m, &m->wal, err)))
        goto fail;
    hx_hlc_seed(&m->hlc, m->hlc.last);
    HX_INFO("memory", "node %s: %zu memories restored, own seq %" PRIu64 ", strategy %s", m->node, m->store.count,
            m->seq, m->strat == HX_CRDT_LWW ? "last_write_wins" : "merge_all");
    if ((rc = hx_msync_start(m, err)))
        goto fail;
    *out = m;
    return HX_OK;
fail:
    hx_memory_close(m);
    return rc;
}

void hx_memory_close(hx_memory_t *m)
{
    if (!m)
        return;
    hx_msync_stop(m);
    hx_mwal_close(m->wal);
    hx_mstore_free(&m->store);
    for (size_t i = 0; i < m->norigins; i++)
        free(m->origins[i].extra);
    free(m->origins);
    for (size_t i = 0; m->conflicts && i < m->nconflicts; i++)
        json_decref(m->conflicts[i].detail);
    free(m->conflicts);
    for (size_t i = 0; i < m->qn; i++) {
        free(m->q[i].key);
        free(m->q[i].tenant);
        free(m->q[i].text);
    }
    free(m->q);
    hx_latency_free(m->apply_lag);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->qmu);
    pthread_cond_destroy(&m->qcv);
    free(m);
}
