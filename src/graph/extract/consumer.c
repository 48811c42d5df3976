/* The extraction consumer (group helix-graph-extract): conversation messages
 * (helixagent.conversations: conversation.message.added, roles other than
 * tool) and memory writes (helixagent.memory.events: the content
 * of each memory.delta op) become graph events on
 * helixagent.entities.updates. A poll's ops are encoded together, per
 * source partition and tenant, into envelopes of many messages each (one
 * per graph partition and kind: a message gives about five records on its
 * own), produced, acknowledged, and only then are the source offsets
 * committed. After a crash the messages since the last commit are
 * extracted again into the same ops (extraction is deterministic), perhaps
 * grouped differently; their hx-src / hx-src-runs headers say which source
 * record each item came from, and the graph consumer drops the items of
 * records it applied already.
 *
 * Upserts of one entity or relationship are merged within an envelope
 * (hx_graph_encode_opts_t.coalesce), which the graph consumer cannot take
 * apart by record. So they are merged only for records no earlier reader
 * can have produced events for: one that crashed (or lost the partition)
 * between producing and committing got at most one poll (XC_MAX_POLL
 * records) past the committed offset, so after every (re)join the first
 * XC_MAX_POLL offsets of each partition are merged only within each record
 * (a memory record holds many writes). A failed commit therefore rejoins
 * too, instead of reading on. */
#include "graph/extract/extract.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ops of one source partition and tenant in a poll: one encode call. */
typedef struct {
    const char *src, *tenant;    /* in the poll's arena */
    int32_t partition;           /* of the source topic */
    const char *topic;           /* HX_TOPIC_*, static */
    size_t n, at;                /* its ops, and where they start in gops */
} xgroup_t;

#define XC_MAX_POLL 200

/* Where merging may start in a source partition (see above). */
typedef struct {
    int conv;
    int32_t partition;
    int64_t from;
} xwin_t;

typedef struct {
    hx_graph_t *g;
    hx_graph_extractor_t *x;
    hx_consumer_t *c;
    hx_graph_records_t *recs;    /* produced per poll, in order */
    size_t n_recs, cap_recs;
    hx_graph_ops_t ops;          /* every op of the poll */
    int64_t *off;                /* per op: its source record's offset */
    uint32_t *grp;               /* per op: its group */
    size_t cap_meta;
    xgroup_t *groups;
    size_t n_groups, cap_groups;
    int64_t max_bytes;           /* helixagent.entities.updates's record limit */
    hx_graph_op_t *gops;         /* one group's ops, for its encode call */
    int64_t *goff;
    size_t cap_g;
    int64_t newest_ts;
    uint64_t messages;
    xwin_t *win;
    size_t n_win, cap_win;
    uint64_t epoch;              /* hx_consumer_epoch when win was last valid */
    /* what a record's text gave (srctext.c): its ops point into these until emitted */
    xt_memop_t *memops;
    size_t n_memops;
    xt_msg_t msg;
} xc_t;

static void set_status(hx_graph_t *g, int failing, const char *msg)
{
    hx_graph_set_status(g, 1, failing, msg);
}

/* Grows arrays a (and b, when given) of *cap elements to hold need. */
static int grow(void **a, size_t ea, void **b, size_t eb, size_t *cap, size_t need)
{
    if (need <= *cap)
        return HX_OK;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*a, nc * ea);
    if (q)
        *a = q;
    void *r = q && b ? realloc(*b, nc * eb) : NULL;
    if (r)
        *b = r;
    if (!q || (b && !r))
        return HX_ENOMEM;
    *cap = nc;
    return HX_OK;
}

/* The group of (m's partition, tenant), made when new. */
static int group_of(xc_t *s, const hx_msg_t *m, int conv, const char *tenant, uint32_t *gi)
{
    const char *topic = conv ? HX_TOPIC_CONVERSATIONS : HX_TOPIC_MEMORY_EVENTS;
    for (size_t i = s->n_groups; i-- > 0;) { /* the last one made is the likeliest */
        const xgroup_t *gr = &s->groups[i];
        if (gr->topic == topic && gr->partition == m->partition && !strcmp(gr->tenant, tenant)) {
            *gi = (uint32_t)i;
            return HX_OK;
        }
    }
    char src[HX_TOPIC_NAME_MAX + 16];
    int n = snprintf(src, sizeof src, "%s/%d", topic, m->partition);
    if (grow((void **)&s->groups, sizeof *s->groups, NULL, 0, &s->cap_groups, s->n_groups + 1))
        return HX_ENOMEM;
    xgroup_t *gr = &s->groups[s->n_groups];
    *gr = (xgroup_t){.topic = topic, .partition = m->partition,
                     .src = hx_graph_arena_strn(&s->ops.arena_, src, (size_t)n),
                     .tenant = hx_graph_arena_strn(&s->ops.arena_, tenant, strlen(tenant))};
    if (!gr->src || !gr->tenant)
        return HX_ENOMEM;
    *gi = (uint32_t)s->n_groups++;
    return HX_OK;
}

static void drop_ops_from(xc_t *s, size_t n0)
{
    for (size_t i = n0; i < s->ops.n; i++)
        json_decref((json_t *)s->ops.ops[i].properties);
    s->ops.n = n0;
}

/* The ops one source record added (from n0 on) join the poll: checked
 * here, so that one bad op costs its own message, not its group's encode
 * call; their tenant moves into the poll's arena (it pointed into the
 * record's envelope). */
static int keep_ops(xc_t *s, const hx_msg_t *m, int conv, size_t n0, hx_err_t *err)
{
    for (size_t i = n0; i < s->ops.n; i++)
        if (hx_graph_op_validate(&s->ops.ops[i], NULL, err))
            return hx_graph_op_validate(&s->ops.ops[i], "op", err);
    if (grow((void **)&s->off, sizeof *s->off, (void **)&s->grp, sizeof *s->grp, &s->cap_meta, s->ops.n))
        return hx_err_set(err, HX_ENOMEM, "out of memory extracting graph events");
    uint32_t gi = 0;
    const char *last = NULL;
    for (size_t i = n0; i < s->ops.n; i++) {
        hx_graph_op_t *op = &s->ops.ops[i];
        if ((!last || strcmp(last, op->tenant)) && group_of(s, m, conv, op->tenant, &gi))
            return hx_err_set(err, HX_ENOMEM, "out of memory extracting graph events");
        last = op->tenant = s->groups[gi].tenant;
        s->off[i] = m->offset;
        s->grp[i] = gi;
    }
    return HX_OK;
}

/* The offset from which records of (conv, partition) may be merged; the
 * first record seen there since the last (re)join sets it. */
static int merge_from(xc_t *s, int conv, int32_t partition, int64_t offset, int64_t *from)
{
    for (size_t i = 0; i < s->n_win; i++)
        if (s->win[i].conv == conv && s->win[i].partition == partition) {
            *from = s->win[i].from;
            return HX_OK;
        }
    if (grow((void **)&s->win, sizeof *s->win, NULL, 0, &s->cap_win, s->n_win + 1))
        return HX_ENOMEM;
    s->win[s->n_win++] = (xwin_t){conv, partition, offset + XC_MAX_POLL};
    *from = offset + XC_MAX_POLL;
    return HX_OK;
}

static int encode_range(xc_t *s, const xgroup_t *gr, size_t from, size_t n, int coalesce, hx_err_t *err)
{
    if (!n)
        return HX_OK;
    if (grow((void **)&s->recs, sizeof *s->recs, NULL, 0, &s->cap_recs, s->n_recs + 1))
        return hx_err_set(err, HX_ENOMEM, "out of memory extracting graph events");
    hx_graph_encode_opts_t eo = {.source = s->g->node_id, .partitions = s->g->parts, .src = gr->src,
                                 .src_offsets = s->goff + from, .max_bytes = s->max_bytes,
                                 .checked = 1, /* by keep_ops */
                                 .coalesce = coalesce};
    int rc = hx_graph_events_encode(s->gops + from, n, &eo, &s->recs[s->n_recs], err);
    if (!rc)
        s->n_recs++;
    return rc;
}

/* Every group's ops into records (one encode call per group, two when
 * the group starts inside its partition's record-by-record window). */
static int encode_groups(xc_t *s, hx_err_t *err)
{
    if (grow((void **)&s->gops, sizeof *s->gops, (void **)&s->goff, sizeof *s->goff, &s->cap_g, s->ops.n))
        return hx_err_set(err, HX_ENOMEM, "out of memory extracting graph events");
    /* the ops in group order, each group's in the poll's order (a counting sort) */
    for (size_t gi = 0; gi < s->n_groups; gi++)
        s->groups[gi].n = 0;
    for (size_t i = 0; i < s->ops.n; i++)
        s->groups[s->grp[i]].n++;
    for (size_t gi = 0, at = 0; gi < s->n_groups; at += s->groups[gi++].n)
        s->groups[gi].at = at;
    for (size_t i = 0; i < s->ops.n; i++) {
        xgroup_t *gr = &s->groups[s->grp[i]];
        s->gops[gr->at] = s->ops.ops[i];
        s->goff[gr->at++] = s->off[i];
    }
    int rc = HX_OK;
    for (size_t gi = 0; gi < s->n_groups && !rc; gi++) {
        const xgroup_t *gr = &s->groups[gi];
        if (!gr->n)
            continue;
        size_t from = gr->at - gr->n, split = from; /* at moved past the group's ops */
        int64_t mf;
        if (merge_from(s, !strcmp(gr->topic, HX_TOPIC_CONVERSATIONS), gr->partition, s->goff[from], &mf))
            return hx_err_set(err, HX_ENOMEM, "out of memory extracting graph events");
        while (split < gr->at && s->goff[split] < mf)
            split++;
        rc = encode_range(s, gr, from, split - from, 1, err);
        if (!rc)
            rc = encode_range(s, gr, split, gr->at - split, 2, err);
    }
    return rc;
}

/* What the poll held, once its records are made. */
static void drop_poll(xc_t *s)
{
    hx_graph_ops_free(&s->ops);
    s->n_groups = 0;
}

static int from_message(xc_t *s, const hx_envelope_t *e, hx_graph_ops_t *ops, hx_err_t *err)
{
    /* Mentions are observations: an edited message was observed already
     * (counting it again would inflate every count), a deleted one was still
     * said. */
    if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED))
        return HX_OK;
    const char *content = json_string_value(json_object_get(e->data, "content"));
    const char *role = json_string_value(json_object_get(e->data, "role"));
    if (!content || (role && !strcmp(role, "tool")))
        return HX_OK;
    json_t *ca = json_object_get(e->data, "created_at");
    hx_graph_message_t msg = {.tenant = e->tenant, .conversation_id = e->key[0] ? e->key : NULL,
                              .user_id = json_string_value(json_object_get(e->data, "user_id")),
                              .content = content,
                              .ts_ms = json_is_integer(ca) && json_integer_value(ca) > 0 ? json_integer_value(ca) : e->ts};
    s->messages++;
    return hx_graph_extract_message(s->x, &msg, ops, err);
}

/* The newest live content of a memory delta's state, and its user. */
static int from_memory(xc_t *s, const hx_envelope_t *e, hx_graph_ops_t *ops, hx_err_t *err)
{
    if (strcmp(e->type, HX_EV_MEMORY_DELTA))
        return HX_OK;
    size_t i;
    json_t *op;
    json_array_foreach(json_object_get(e->data, "ops"), i, op)
    {
        json_t *d = json_object_get(op, "d");
        const char *tenant = json_string_value(json_object_get(d, "tenant"));
        json_t *live = json_object_get(json_object_get(d, "content"), "live");
        const char *content = NULL;
        json_int_t best = -1;
        size_t k;
        json_t *entry;
        json_array_foreach(live, k, entry)
        {
            json_t *h = json_array_get(entry, 0), *v = json_array_get(entry, 2);
            if (json_is_string(v) && json_is_integer(h) && json_integer_value(h) > best) {
                best = json_integer_value(h);
                content = json_string_value(v);
            }
        }
        if (!content || !tenant || json_object_get(d, "del"))
            continue;
        json_t *ident = json_array_get(json_object_get(d, "ident"), 2);
        hx_graph_message_t msg = {.tenant = tenant, .user_id = json_string_value(json_object_get(ident, "user_id")),
                                  .content = content, .ts_ms = e->ts};
        s->messages++;
        int rc = hx_graph_extract_message(s->x, &msg, ops, err);
        if (rc)
            return rc;
    }
    return HX_OK;
}

/* from_memory on the delta's text (srctext.c), without a jansson tree.
 * *unread: the reader refused the text and added nothing; the caller takes
 * the jansson path. */
static int from_memory_text(xc_t *s, const hx_envelope_t *e, const char *text, size_t len, hx_graph_ops_t *ops,
                            int *unread, hx_err_t *err)
{
    int rc = xt_memory_text(text, len, &s->memops, &s->n_memops);
    *unread = rc == HX_EINVAL;
    if (rc)
        return rc == HX_ENOMEM ? hx_err_set(err, rc, "out of memory reading a memory delta") : HX_OK;
    for (size_t i = 0; i < s->n_memops && !rc; i++) {
        const xt_memop_t *mo = &s->memops[i];
        hx_graph_message_t msg = {.tenant = mo->tenant, .user_id = mo->user, .content = mo->content, .ts_ms = e->ts};
        s->messages++;
        rc = hx_graph_extract_message(s->x, &msg, ops, err);
    }
    return rc;
}

/* from_message on the message's text; *unread as for from_memory_text. */
static int from_message_text(xc_t *s, const hx_envelope_t *e, const char *text, size_t len, int *unread,
                             hx_graph_ops_t *ops, hx_err_t *err)
{
    *unread = 0;
    if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED))
        return HX_OK;
    int rc = xt_message_text(text, len, &s->msg);
    *unread = rc == HX_EINVAL;
    if (rc)
        return rc == HX_ENOMEM ? hx_err_set(err, rc, "out of memory reading a message") : HX_OK;
    const xt_msg_t *t = &s->msg;
    if (!t->content || (t->role && !strcmp(t->role, "tool")))
        return HX_OK;
    hx_graph_message_t msg = {.tenant = e->tenant, .conversation_id = e->key[0] ? e->key : NULL,
                              .user_id = t->user, .content = t->content,
                              .ts_ms = t->created_at > 0 ? t->created_at : e->ts};
    s->messages++;
    return hx_graph_extract_message(s->x, &msg, ops, err);
}

static void drop_records(xc_t *s)
{
    for (size_t i = 0; i < s->n_recs; i++)
        hx_graph_records_free(&s->recs[i]);
    s->n_recs = 0;
}

/* Produces every record of the poll in one call (one log append and one
 * consumer wake-up per partition, not per source message); retried by the
 * caller on failure. A retry may repeat records of a partly failed call:
 * the graph consumer drops them by their hx-src / hx-src-seq headers. */
static int produce_all(xc_t *s, hx_err_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n_recs; i++)
        total += s->recs[i].n;
    if (!total)
        return HX_OK;
    hx_msg_t *msgs = malloc(total * sizeof *msgs);
    if (!msgs)
        return hx_err_set(err, HX_ENOMEM, "out of memory producing graph events");
    size_t k = 0;
    for (size_t i = 0; i < s->n_recs; i++) {
        memcpy(msgs + k, s->recs[i].msgs, s->recs[i].n * sizeof *msgs);
        k += s->recs[i].n;
    }
    int rc = hx_broker_produce(s->g->broker, msgs, total, NULL, err);
    free(msgs);
    if (rc)
        return rc;
    atomic_fetch_add(&s->g->prog.events_produced, total);
    hx_counter_add(s->g->m_produced, total);
    drop_records(s); /* produced: a retry must not send these again */
    return HX_OK;
}

static int open_consumer(xc_t *s, hx_err_t *err)
{
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.auto_offset_reset = HX_RESET_EARLIEST;
    co.max_poll_records = XC_MAX_POLL; /* the merge window depends on it */
    co.fetch_wait_ms = 5; /* extraction is asynchronous: one produce and commit per batch, not per message */
    co.session_timeout_ms = 6000;
    co.client_id = s->g->node_id[0] ? s->g->node_id : "helix-graph-extract";
    const char *topics[] = {HX_TOPIC_CONVERSATIONS, HX_TOPIC_MEMORY_EVENTS};
    int parts, rc = hx_broker_topic_limits(s->g->broker, HX_TOPIC_ENTITIES, &parts, &s->max_bytes, err);
    if (!rc)
        rc = hx_consumer_new(s->g->broker, HX_GRAPH_EXTRACT_GROUP, topics, 2, &co, &s->c, err);
    if (!rc) {
        s->n_win = 0;
        s->epoch = hx_consumer_epoch(s->c);
    }
    return rc;
}

void *hx_graph_extract_main(void *arg)
{
    xc_t s = {.g = arg};
    hx_graph_t *g = s.g;
    hx_err_t err = {0};
    int backoff = 50;
    uint64_t bad = 0;
    if (hx_graph_extractor_new(&g->cfg, &s.x, &err)) {
        set_status(g, 3, err.msg);
        HX_ERROR("graph", "entity extraction is off: %s", err.msg);
        return NULL;
    }
    while (!g->stop) {
        if (!s.c && open_consumer(&s, &err)) {
            set_status(g, 1, err.msg);
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        hx_fetch_t f;
        if (hx_consumer_poll(s.c, 100, &f, &err)) {
            set_status(g, 1, err.msg);
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        if (hx_consumer_epoch(s.c) != s.epoch) { /* a rebalance: every window starts again */
            s.n_win = 0;
            s.epoch = hx_consumer_epoch(s.c);
        }
        int rc = HX_OK;
        uint64_t before = s.messages;
        for (size_t i = 0; i < f.count && !rc; i++) {
            const hx_msg_t *m = &f.msgs[i];
            hx_envelope_t e;
            hx_envelope_init(&e);
            const char *data;
            size_t data_len;
            int conv = !strcmp(m->topic, HX_TOPIC_CONVERSATIONS);
            json_error_t je;
            hx_graph_ops_t *ops = &s.ops;
            size_t n0 = ops->n;
            /* Messages and memory deltas are read from their text; what
             * that reader refuses is parsed by jansson. */
            int decoded = hx_envelope_decode_raw(m->value, m->value_len, &e, &data, &data_len, &err) == 0,
                unread = 1;
            if (decoded && conv) {
                rc = from_message_text(&s, &e, data, data_len, &unread, ops, &err);
            } else if (decoded) {
                if (strcmp(e.type, HX_EV_MEMORY_DELTA))
                    unread = 0; /* nothing to extract */
                else
                    rc = from_memory_text(&s, &e, data, data_len, ops, &unread, &err);
            }
            if (decoded && unread &&
                !(e.data = json_loadb(data, data_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je))) {
                snprintf(err.msg, sizeof err.msg, "data: %s", je.text);
                decoded = 0;
            }
            if (!decoded) {
                if (bad++ < 20)
                    HX_WARN("graph", "%s/%d@%" PRId64 ": not an envelope (%s); not extracted", m->topic,
                            m->partition, m->offset, err.msg);
                hx_envelope_free(&e);
                continue;
            }
            if (unread)
                rc = conv ? from_message(&s, &e, ops, &err) : from_memory(&s, &e, ops, &err);
            if (!rc)
                rc = keep_ops(&s, m, conv, n0, &err);
            if (rc)
                drop_ops_from(&s, n0);
            if (rc == HX_EINVAL) { /* e.g. a conversation id too long for a node name: skip it, loudly */
                if (bad++ < 20)
                    HX_WARN("graph", "%s/%d@%" PRId64 ": not extracted: %s", m->topic, m->partition, m->offset,
                            err.msg);
                rc = HX_OK;
            }
            if (e.ts > s.newest_ts)
                s.newest_ts = e.ts;
            xt_memops_free(s.memops, s.n_memops);
            s.memops = NULL;
            s.n_memops = 0;
            xt_msg_free(&s.msg);
            hx_envelope_free(&e);
        }
        if (!rc)
            rc = encode_groups(&s, &err);
        drop_poll(&s);
        /* Until the events are acknowledged the offsets stay where they were. */
        int produced = 0;
        while (!rc && !(produced = !produce_all(&s, &err)) && !g->stop) {
            set_status(g, 1, err.msg);
            HX_WARN("graph", "producing extracted graph events failed (retrying): %s", err.msg);
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
        }
        size_t fetched = f.count;
        int uncommitted = 0;
        if (!rc && produced && fetched && (uncommitted = hx_consumer_commit(s.c, &err) != 0))
            HX_DEBUG("graph", "committing extraction offsets failed (%s); rejoining: those messages are extracted "
                     "again and their events dropped as duplicates", err.msg);
        if (uncommitted && !rc) {
            hx_consumer_close(s.c);
            s.c = NULL;
        } else if (rc || !produced) {
            set_status(g, 1, err.msg);
            if (rc)
                HX_ERROR("graph", "entity extraction failed: %s", err.msg);
            /* nothing committed: the poll is read again after a rejoin */
            hx_consumer_close(s.c);
            s.c = NULL;
            hx_sleep_ms(backoff);
        } else {
            backoff = 50;
            set_status(g, 0, NULL);
        }
        drop_records(&s);
        hx_fetch_free(&f);
        uint64_t done = s.messages - before;
        if (done) {
            atomic_fetch_add(&g->prog.messages_extracted, done);
            hx_counter_add(g->m_extracted, done);
            hx_gauge_set(g->m_extract_lag, (double)(hx_now_ms() - s.newest_ts) / 1000.0);
        } else if (!fetched) {
            hx_gauge_set(g->m_extract_lag, 0);
        }
    }
    drop_records(&s);
    if (s.c)
        hx_consumer_close(s.c);
    drop_poll(&s);
    hx_graph_extractor_free(s.x);
    free(s.recs);
    free(s.off);
    free(s.grp);
    free(s.groups);
    free(s.gops);
    free(s.goff);
    free(s.win);
    return NULL;
}
