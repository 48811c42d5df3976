/* The context engine: replay through the conversation index, the replayed
 * state and result caches, compression, stats and metrics.
 *
 * A conversation's replayed state is cached (key: its tag) together with how
 * many index records it has applied. When new records arrive with higher seqs
 * the state is extended by fetching only those; a record with a lower seq
 * than one applied (another producer wrote out of order) rebuilds it.
 * Results are cached by conversation, index version and options, and
 * dropped when the conversation changes. */
#include "context/ctx_compress.h"
#include "context/engine.h"
#include "helix/hx_clock.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctx_opts_resolve(const hx_config_t *cfg, const hx_ctx_request_t *rq, ctx_opts_t *o, hx_err_t *err);

typedef struct {
    ctx_obj_t obj;
    ctx_conv_t cv;
} state_t;

static void state_destroy(ctx_obj_t *o)
{
    state_t *s = (state_t *)o;
    ctx_conv_free(&s->cv);
    free(s);
}

static state_t *state_new(void)
{
    state_t *s = calloc(1, sizeof *s);
    if (!s || ctx_conv_init(&s->cv)) {
        free(s);
        return NULL;
    }
    atomic_init(&s->obj.refs, 1);
    s->obj.destroy = state_destroy;
    return s;
}

typedef struct {
    ctx_obj_t obj;
    json_t *j;
} result_t;

static void result_destroy(ctx_obj_t *o)
{
    json_decref(((result_t *)o)->j);
    free(o);
}

int hx_context_new(const hx_config_t *cfg, hx_broker_t *broker, hx_metrics_t *metrics, hx_context_t **out,
                   hx_err_t *err)
{
    hx_context_t *c = calloc(1, sizeof *c);
    if (!c)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    c->cfg = *cfg;
    c->b = broker;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->indexed_cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = ncpu > 1 ? (int)(ncpu > 8 ? 7 : ncpu - 1) : 0;
    int rc;
    if (ctx_map_init(&c->by_tag, 256) ||
        ctx_cache_new((size_t)cfg->infinite_context.cache.size,
                      (int64_t)cfg->infinite_context.cache.ttl_seconds * 1000, &c->cache) ||
        ctx_pool_new(threads, &c->pool)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory starting the context engine");
        goto fail;
    }
    if ((rc = ctx_index_catch_up(c, err))) {
        hx_err_wrap(err, "building the conversation index");
        goto fail;
    }
    if (metrics) {
        const char *lv[] = {hx_broker_backend(broker)};
        c->m_dur = hx_histogram_child(hx_metrics_histogram(metrics, "context_replay_duration_seconds",
                                                           "Replay and compression time per request", "backend",
                                                           NULL, 0),
                                      lv);
        c->m_ratio = hx_gauge_child(
            hx_metrics_gauge(metrics, "context_compression_ratio", "Compressed / original tokens of the last replay",
                             "backend"),
            lv);
        c->m_hit = hx_gauge_child(hx_metrics_gauge(metrics, "context_cache_hit_ratio",
                                                   "Share of replays answered from the result cache", "backend"),
                                  lv);
    }
    *out = c;
    return HX_OK;
fail:
    hx_context_free(c);
    return rc;
}

void hx_context_free(hx_context_t *c)
{
    if (!c)
        return;
    ctx_pool_free(c->pool);
    ctx_cache_free(c->cache);
    ctx_index_free(c);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->indexed_cv);
    free(c);
}

void hx_context_cache_clear(hx_context_t *c) { ctx_cache_clear(c->cache); }

typedef struct {
    hx_envelope_t e;
    int32_t part;
    int64_t off;
} fetched_t;

static int cmp_rec(const void *a, const void *b)
{
    const ctx_rec_t *x = a, *y = b;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_fetched(const void *a, const void *b)
{
    const fetched_t *x = a, *y = b;
    if (x->e.seq != y->e.seq)
        return x->e.seq < y->e.seq ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Fetches the records recs[0..n) (sorted here by partition and offset), in
 * spans dense enough to be worth one fetch, and applies them in seq order. */
static int load_records(hx_context_t *c, const char *tenant, const char *id, ctx_rec_t *recs, size_t n,
                        ctx_conv_t *cv, hx_err_t *err)
{
    qsort(recs, n, sizeof *recs, cmp_rec);
    fetched_t *fx = calloc(n ? n : 1, sizeof *fx);
    size_t nf = 0;
    int rc = HX_OK;
    if (!fx)
        return hx_err_set(err, HX_ENOMEM, "out of memory replaying");
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i;
        /* extend the span while it stays at least a third this conversation's */
        while (j + 1 < n && recs[j + 1].part == recs[i].part && j + 1 - i < 5000 &&
               (recs[j + 1].off - recs[i].off + 1) <= 3 * (int64_t)(j + 2 - i) + 64)
            j++;
        /* one fetch may stop short of the span (it can start at the batch
         * holding recs[i] or end early), so fetch until the span is covered */
        size_t k = i;
        while (k <= j && !rc) {
            int64_t from = recs[k].off, want = recs[j].off - from + 1;
            hx_fetch_t f;
            if ((rc = hx_broker_fetch(c->b, HX_TOPIC_CONVERSATIONS, recs[k].part, from, (int)want, 0, &f, err)))
                break;
            int64_t last = -1;
            for (size_t r = 0; r < f.count && k <= j; r++) {
                const hx_msg_t *m = &f.msgs[r];
                last = m->offset;
                while (k <= j && recs[k].off < m->offset)
                    k++; /* gone (retention) */
                if (k > j || recs[k].off != m->offset)
                    continue;
                k++;
                hx_envelope_t *e = &fx[nf].e;
                if (hx_envelope_decode(m->value, m->value_len, e, NULL))
                    continue;
                if (strcmp(e->key, id) != 0 || strcmp(e->tenant, tenant) != 0) {
                    hx_envelope_free(e);
                    continue;
                }
                fx[nf].part = m->partition;
                fx[nf].off = m->offset;
                nf++;
            }
            hx_fetch_free(&f);
            if (last < from) {
                k = j + 1; /* nothing readable at or after from: the rest is gone */
                break;
            }
            while (k <= j && recs[k].off <= last)
                k++;
        }
        i = j + 1;
    }
    if (!rc) {
        qsort(fx, nf, sizeof *fx, cmp_fetched);
        for (size_t i = 0; i < nf && !rc; i++)
            rc = ctx_conv_apply(cv, &fx[i].e, err);
    }
    for (size_t i = 0; i < nf; i++)
        hx_envelope_free(&fx[i].e);
    free(fx);
    return rc;
}

/* What a replay asks of get_state and what it got. */
typedef struct {
    uint64_t from_seq;         /* in: only messages with seq >= from_seq ... */
    int64_t since;             /* ... created at or after since (0 = all) */
    size_t indexed, fetched;   /* out: the conversation's records; records read from the log */
    int partial;               /* out: only the records of the selected messages were read */
    uint64_t max_seq;          /* out: highest seq in the index */
} view_t;

/* Records of ix a replay filtered by v needs: those of the live messages
 * the filter keeps (their add, updates and re-adds) and completed events.
 * Updates and deletes of other messages change nothing a filtered replay
 * shows, so they are skipped too. c->mu held. */
static size_t select_records(const ctx_convix_t *ix, const view_t *v, ctx_rec_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < ix->n; i++) {
        uint32_t m = ix->recs[i].msg;
        if (m == CTX_REC_ALWAYS ||
            (m < ix->nmsg && ix->msgs[m].live && ix->msgs[m].seq >= v->from_seq && ix->msgs[m].created_at >= v->since))
            out[k++] = ix->recs[i];
    }
    return k;
}

/* The replayed state of a conversation, up to date with the index, locked.
 * *st is a reference the caller releases (unlock then unref).
 *
 * The full state is cached and extended. When v filters (from_seq / since),
 * no full state is cached and the filter keeps less than half the records,
 * only the kept records are fetched into a state that is not cached: it
 * holds exactly the messages the filter would keep from the full state
 * (the index follows ctx_conv_apply; a conversation whose records are not
 * in seq order in the log always takes the full path). */
static int get_state(hx_context_t *c, const char *tenant, const char *id, view_t *v, state_t **st, size_t *version,
                     hx_err_t *err)
{
    pthread_mutex_lock(&c->mu);
    int rc = ctx_index_catch_up(c, err);
    ctx_convix_t *ix = rc ? NULL : ctx_index_find(c, tenant, id);
    if (!rc && !ix)
        rc = hx_err_set(err, HX_ENOTFOUND, "conversation '%s' not found; add messages with POST "
                                           "/v1/conversations/%s/messages",
                        id, id);
    if (rc) {
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    size_t n = ix->n, nsel = 0;
    int filter = (v->from_seq > 1 || v->since > 0) && !ix->disordered;
    ctx_rec_t *recs = malloc((n ? n : 1) * sizeof *recs);
    ctx_rec_t *sel = filter ? malloc((n ? n : 1) * sizeof *sel) : NULL;
    if (recs)
        memcpy(recs, ix->recs, n * sizeof *recs);
    if (sel)
        nsel = select_records(ix, v, sel);
    uint64_t tag = ix->tag;
    v->indexed = n;
    v->max_seq = ix->max_seq;
    v->fetched = 0;
    v->partial = 0;
    pthread_mutex_unlock(&c->mu);
    if (!recs || (filter && !sel)) {
        free(recs);
        free(sel);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    *version = n;
    state_t *s = (state_t *)ctx_cache_get(c->cache, tag);
    if (s) {
        pthread_mutex_lock(&s->cv.mu);
        int in_order = 1;
        for (size_t i = s->cv.applied; i < n; i++)
            in_order &= recs[i].seq > s->cv.max_seq;
        if (s->cv.applied <= n && in_order) {
            if (s->cv.applied < n) {
                v->fetched = n - s->cv.applied;
                rc = load_records(c, tenant, id, recs + s->cv.applied, n - s->cv.applied, &s->cv, err);
                s->cv.applied = n;
            }
            free(recs);
            free(sel);
            if (rc) {
                pthread_mutex_unlock(&s->cv.mu);
                ctx_obj_unref(&s->obj);
                return rc;
            }
            *st = s;
            return HX_OK;
        }
        pthread_mutex_unlock(&s->cv.mu);
        ctx_obj_unref(&s->obj);
    }
    s = state_new();
    if (!s) {
        free(recs);
        free(sel);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&s->cv.mu);
    int partial = filter && nsel * 2 < n;
    v->partial = partial;
    v->fetched = partial ? nsel : n;
    rc = partial ? load_records(c, tenant, id, sel, nsel, &s->cv, err) : load_records(c, tenant, id, recs, n, &s->cv, err);
    s->cv.applied = n;
    free(recs);
    free(sel);
    if (rc) {
        pthread_mutex_unlock(&s->cv.mu);
        ctx_obj_unref(&s->obj);
        return rc;
    }
    if (!partial)
        ctx_cache_put(c->cache, tag, tag, CTX_K_STATE, &s->obj);
    *st = s;
    return HX_OK;
}

static void release(state_t *s)
{
    pthread_mutex_unlock(&s->cv.mu);
    ctx_obj_unref(&s->obj);
}

/* Live messages, filtered by seq and creation time. */
static int live_filtered(const ctx_conv_t *cv, uint64_t from_seq, int64_t since, const ctx_msg_t ***out, size_t *n)
{
    if (ctx_conv_live(cv, out, n))
        return HX_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i]->seq >= from_seq && (*out)[i]->created_at >= since)
            (*out)[k++] = (*out)[i];
    *n = k;
    return HX_OK;
}

int hx_context_messages(hx_context_t *c, const char *tenant, const char *id, uint64_t from_seq, int64_t since_ms,
                        int limit, json_t **out, hx_err_t *err)
{
    state_t *s;
    size_t version;
    view_t v = {.from_seq = from_seq, .since = since_ms};
    int rc = get_state(c, tenant ? tenant : "default", id, &v, &s, &version, err);
    if (rc)
        return rc;
    const ctx_msg_t **live;
    size_t n;
    if (live_filtered(&s->cv, from_seq, since_ms, &live, &n)) {
        release(s);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    json_t *arr = json_array();
    size_t k = 0;
    for (; k < n && (int)k < limit; k++)
        json_array_append_new(arr, ctx_msg_json(live[k]));
    json_t *next = k < n ? json_integer((json_int_t)live[k]->seq) : json_null();
    *out = json_pack("{s:s,s:o,s:I,s:o,s:b,s:I}", "conversation_id", id, "messages", arr, "count", (json_int_t)k,
                     "next_seq", next, "completed", s->cv.completed, "max_seq", (json_int_t)v.max_seq);
    free(live);
    release(s);
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}

static void observe(hx_context_t *c, double secs, double ratio, int hit)
{
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    unsigned long long h = atomic_load(&c->hits), m = atomic_load(&c->misses);
    hx_histogram_observe(c->m_dur, secs);
    hx_gauge_set(c->m_ratio, ratio);
    hx_gauge_set(c->m_hit, (double)h / (double)(h + m));
}

int hx_context_replay(hx_context_t *c, const hx_ctx_request_t *rq, json_t **out, hx_err_t *err)
{
    uint64_t t0 = hx_mono_ns();
    const char *tenant = rq->tenant ? rq->tenant : "default", *id = rq->conversation_id;
    if (!id || !*id)
        return hx_err_set(err, HX_EINVAL, "conversation_id is required");
    ctx_opts_t o;
    int rc = ctx_opts_resolve(&c->cfg, rq, &o, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->mu);
    rc = ctx_index_catch_up(c, err);
    ctx_convix_t *ix = rc ? NULL : ctx_index_find(c, tenant, id);
    size_t version = ix ? ix->n : 0;
    pthread_mutex_unlock(&c->mu);
    if (rc)
        return rc;
    if (!ix)
        return hx_err_set(err, HX_ENOTFOUND, "conversation '%s' not found; add messages with POST "
                                             "/v1/conversations/%s/messages",
                          id, id);
    uint64_t tag = ctx_conv_tag(tenant, id);
    uint64_t kp[12] = {tag, version, (uint64_t)o.strategy, (uint64_t)o.max_tokens, (uint64_t)(o.ratio * 1e6),
                       (uint64_t)o.ratio_given, (uint64_t)o.preserve, (uint64_t)o.window, (uint64_t)o.use_llm,
                       rq->from_seq, (uint64_t)rq->since_ms, 0x52455355};
    uint64_t rkey = hx_hash64(kp, sizeof kp);
    result_t *hit = (result_t *)ctx_cache_get(c->cache, rkey);
    if (hit) {
        *out = json_deep_copy(hit->j);
        ctx_obj_unref(&hit->obj);
        if (!*out)
            return hx_err_set(err, HX_ENOMEM, "out of memory");
        json_t *st = json_object_get(*out, "compression_stats");
        double secs = (double)(hx_mono_ns() - t0) / 1e9;
        json_object_set_new(st, "duration_ms", json_real(secs * 1e3));
        json_object_set_new(st, "cache_hit", json_true());
        observe(c, secs, json_number_value(json_object_get(st, "compression_ratio")), 1);
        return HX_OK;
    }
    state_t *s;
    view_t v = {.from_seq = rq->from_seq, .since = rq->since_ms};
    if ((rc = get_state(c, tenant, id, &v, &s, &version, err)))
        return rc;
    const ctx_msg_t **live;
    size_t n;
    if (live_filtered(&s->cv, rq->from_seq, rq->since_ms, &live, &n)) {
        release(s);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    ctx_env_t env = {c->cache, tag, c->pool};
    rc = ctx_compress(&o, &env, live, n, out, err);
    int completed = s->cv.completed;
    free(live);
    release(s);
    if (rc)
        return rc;
    json_object_set_new(*out, "conversation_id", json_string(id));
    json_object_set_new(*out, "completed", json_boolean(completed));
    json_t *st = json_object_get(*out, "compression_stats");
    json_object_set_new(st, "replay", json_pack("{s:I,s:I,s:b}", "records_indexed", (json_int_t)v.indexed,
                                                "records_fetched", (json_int_t)v.fetched, "partial", v.partial));
    double secs = (double)(hx_mono_ns() - t0) / 1e9;
    json_object_set_new(st, "duration_ms", json_real(secs * 1e3));
    result_t *r = calloc(1, sizeof *r);
    if (r && (r->j = json_deep_copy(*out))) {
        atomic_init(&r->obj.refs, 1);
        r->obj.destroy = result_destroy;
        ctx_cache_put(c->cache, rkey, tag, CTX_K_RESULT, &r->obj);
        ctx_obj_unref(&r->obj);
    } else {
        free(r);
    }
    observe(c, secs, json_number_value(json_object_get(st, "compression_ratio")), 0);
    return HX_OK;
}

int hx_context_stats(hx_context_t *c, const char *tenant, const char *id, json_t **out, hx_err_t *err)
{
    if (!tenant)
        tenant = "default";
    state_t *s;
    size_t version;
    view_t v = {0};
    int rc = get_state(c, tenant, id, &v, &s, &version, err);
    if (rc)
        return rc;
    uint64_t tokens = 0;
    size_t live = 0;
    unsigned roles[5] = {0};
    for (size_t i = 0; i < s->cv.n; i++) {
        const ctx_msg_t *m = &s->cv.msgs[i];
        if (m->deleted)
            continue;
        live++;
        tokens += m->tokens;
        unsigned b = ctx_role_bit(m->role);
        roles[b == 1 ? 0 : b == 2 ? 1 : b == 4 ? 2 : b == 8 ? 3 : 4]++;
    }
    int completed = s->cv.completed;
    release(s);
    pthread_mutex_lock(&c->mu);
    ctx_convix_t *ix = ctx_index_find(c, tenant, id);
    json_t *parts = json_array();
    int32_t last = -1;
    for (size_t i = 0; ix && i < ix->n; i++)
        if (ix->recs[i].part != last) {
            last = ix->recs[i].part;
            json_array_append_new(parts, json_integer(last));
        }
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o}", "conversation_id", id, "tenant",
                          tenant, "messages", (json_int_t)live, "total_tokens", (json_int_t)tokens, "records",
                          (json_int_t)(ix ? ix->n : 0), "added", (json_int_t)(ix ? ix->adds : 0), "updated",
                          (json_int_t)(ix ? ix->updates : 0), "deleted", (json_int_t)(ix ? ix->deletes : 0),
                          "max_seq", (json_int_t)(ix ? ix->max_seq : 0), "first_ts",
                          (json_int_t)(ix ? ix->first_ts : 0), "last_ts", (json_int_t)(ix ? ix->last_ts : 0),
                          "completed", completed, "partitions", parts);
    pthread_mutex_unlock(&c->mu);
    json_object_set_new(j, "roles", json_pack("{s:i,s:i,s:i,s:i,s:i}", "user", roles[0], "assistant", roles[1],
                                              "system", roles[2], "tool", roles[3], "other", roles[4]));
    size_t entries;
    uint64_t h, m;
    ctx_cache_counts(c->cache, &entries, &h, &m);
    unsigned long long rh = atomic_load(&c->hits), rm = atomic_load(&c->misses);
    json_object_set_new(j, "cache",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "entries", (json_int_t)entries, "lookups_hit",
                                  (json_int_t)h, "lookups_missed", (json_int_t)m, "replay_hits", (json_int_t)rh,
                                  "replay_misses", (json_int_t)rm, "replay_hit_ratio",
                                  rh + rm ? (double)rh / (double)(rh + rm) : 0.0));
    *out = j;
    return HX_OK;
}
