/* The conversation index: conversation -> the (partition, offset, seq, ts) of
 * each of its records on helixagent.conversations, kept in offset order per
 * partition behind a cursor (scanned). Two ways in:
 *  - catch-up reads every partition with hx_broker_fetch from the cursor: at
 *    startup that rebuilds the index from the log, before a replay it picks
 *    up records other producers wrote. No consumer group is involved, so
 *    nothing is ever committed.
 *  - an ingest indexes the envelopes it produced at their delivery offsets,
 *    without reading them back. One that lands past the cursor (an earlier
 *    record of another ingest is not indexed yet) waits in the partition's
 *    park until the gap fills; a gap nobody of ours will fill is another
 *    producer's record, and a catch-up reads it. */
#include "context/engine.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <stdlib.h>
#include <string.h>

#define FETCH_BATCH 5000

uint64_t ctx_conv_tag(const char *tenant, const char *id)
{
    uint64_t a = hx_hash64(tenant, strlen(tenant)), b = hx_hash64(id, strlen(id));
    return a * 0x9E3779B97F4A7C15ull ^ b;
}

static ctx_convix_t *find_any(hx_context_t *c, const char *tenant, const char *id)
{
    uint32_t *ix = ctx_map_get(&c->by_tag, ctx_conv_tag(tenant, id));
    if (!ix)
        return NULL;
    ctx_convix_t *cv = c->convs[*ix];
    return strcmp(cv->tenant, tenant) == 0 && strcmp(cv->id, id) == 0 ? cv : NULL;
}

ctx_convix_t *ctx_index_find(hx_context_t *c, const char *tenant, const char *id)
{
    ctx_convix_t *cv = find_any(c, tenant, id);
    return cv && cv->n ? cv : NULL; /* reserved by an ingest that wrote nothing yet */
}

ctx_convix_t *ctx_index_reserve(hx_context_t *c, const char *tenant, const char *id)
{
    ctx_convix_t *cv = find_any(c, tenant, id);
    if (cv)
        return cv;
    if (c->nconv == c->capconv) {
        size_t nc = c->capconv ? c->capconv * 2 : 64;
        ctx_convix_t **n = realloc(c->convs, nc * sizeof *n);
        if (!n)
            return NULL;
        c->convs = n;
        c->capconv = nc;
    }
    cv = calloc(1, sizeof *cv);
    if (!cv || !(cv->tenant = strdup(tenant)) || !(cv->id = strdup(id))) {
        if (cv)
            free(cv->tenant);
        free(cv);
        return NULL;
    }
    cv->tag = ctx_conv_tag(tenant, id);
    pthread_mutex_init(&cv->order_mu, NULL);
    uint32_t *slot;
    if (ctx_map_put(&c->by_tag, cv->tag, (uint32_t)c->nconv, &slot, NULL)) {
        pthread_mutex_destroy(&cv->order_mu);
        free(cv->tenant);
        free(cv->id);
        free(cv);
        return NULL;
    }
    c->convs[c->nconv++] = cv;
    return cv;
}

void ctx_index_free(hx_context_t *c)
{
    for (size_t i = 0; i < c->nconv; i++) {
        free(c->convs[i]->tenant);
        free(c->convs[i]->id);
        free(c->convs[i]->recs);
        free(c->convs[i]->msgs);
        ctx_map_free(&c->convs[i]->by_id);
        pthread_mutex_destroy(&c->convs[i]->order_mu);
        free(c->convs[i]);
    }
    free(c->convs);
    ctx_map_free(&c->by_tag);
    free(c->scanned);
    for (int p = 0; p < c->nparts && c->park; p++) {
        for (size_t i = 0; i < c->park[p].n; i++)
            hx_envelope_free(&c->park[p].v[i].e);
        free(c->park[p].v);
    }
    free(c->park);
}

const ctx_imsg_t *ctx_index_live_msg(const ctx_convix_t *cv, const char *message_id)
{
    uint32_t *ix = ctx_map_get(&cv->by_id, ctx_msg_id_hash(message_id));
    return ix && cv->msgs[*ix].live ? &cv->msgs[*ix] : NULL;
}

/* Follows ctx_conv_apply for one message event; *msg gets the entry the
 * record belongs to or CTX_REC_IGNORED when a replay would ignore it. */
static int track_message(ctx_convix_t *cv, const hx_envelope_t *e, uint32_t *msg)
{
    *msg = CTX_REC_IGNORED;
    if (strcmp(e->type, HX_EV_CONVERSATION_COMPLETED) == 0) {
        *msg = CTX_REC_ALWAYS;
        return HX_OK;
    }
    const char *mid = json_string_value(json_object_get(e->data, "message_id"));
    if (!mid)
        return HX_OK;
    int add = strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0;
    int upd = strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_UPDATED) == 0;
    int del = strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0;
    uint64_t h = ctx_msg_id_hash(mid);
    uint32_t *ix = ctx_map_get(&cv->by_id, h);
    ctx_imsg_t *m = ix && cv->msgs[*ix].live ? &cv->msgs[*ix] : NULL;
    if (!m && add) {
        if (cv->nmsg == cv->capmsg) {
            size_t nc = cv->capmsg ? cv->capmsg * 2 : 16;
            ctx_imsg_t *nm = realloc(cv->msgs, nc * sizeof *nm);
            if (!nm)
                return HX_ENOMEM;
            cv->msgs = nm;
            cv->capmsg = nc;
        }
        uint32_t *slot;
        if (!cv->by_id.cap && ctx_map_init(&cv->by_id, 64))
            return HX_ENOMEM;
        if (ctx_map_put(&cv->by_id, h, 0, &slot, NULL))
            return HX_ENOMEM;
        *slot = (uint32_t)cv->nmsg;
        m = &cv->msgs[cv->nmsg++];
        *m = (ctx_imsg_t){.seq = e->seq, .live = 1};
    }
    if (!m || !(add || upd || del))
        return HX_OK;
    *msg = (uint32_t)(m - cv->msgs);
    if (del) {
        m->live = 0;
        return HX_OK;
    }
    json_t *ca = json_object_get(e->data, "created_at");
    if (json_is_integer(ca))
        m->created_at = json_integer_value(ca);
    if (!m->created_at)
        m->created_at = e->ts;
    return HX_OK;
}

static int add_record(hx_context_t *c, int32_t part, int64_t off, const hx_envelope_t *e)
{
    if (strncmp(e->type, "conversation.", 13) != 0 || !e->key[0])
        return HX_OK;
    ctx_convix_t *cv = ctx_index_reserve(c, e->tenant, e->key);
    if (!cv)
        return HX_ENOMEM;
    if (cv->n == cv->cap) {
        size_t nc = cv->cap ? cv->cap * 2 : 16;
        ctx_rec_t *nr = realloc(cv->recs, nc * sizeof *nr);
        if (!nr)
            return HX_ENOMEM;
        cv->recs = nr;
        cv->cap = nc;
    }
    if (cv->n && e->seq <= cv->max_seq)
        cv->disordered = 1; /* the message table may not match a replay in seq order */
    uint32_t msg;
    if (track_message(cv, e, &msg))
        return HX_ENOMEM;
    cv->recs[cv->n++] = (ctx_rec_t){part, off, e->seq, e->ts, msg};
    if (e->seq > cv->max_seq)
        cv->max_seq = e->seq;
    if (!cv->first_ts || e->ts < cv->first_ts)
        cv->first_ts = e->ts;
    if (e->ts > cv->last_ts)
        cv->last_ts = e->ts;
    if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0)
        cv->adds++;
    else if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_UPDATED) == 0)
        cv->updates++;
    else if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0)
        cv->deletes++;
    else if (strcmp(e->type, HX_EV_CONVERSATION_COMPLETED) == 0)
        cv->completed = 1;
    return HX_OK;
}

/* Drops parked records the cursor of part has passed, then indexes those it
 * has reached, in order. */
static int drain_park(hx_context_t *c, int32_t part)
{
    ctx_park_t *pk = &c->park[part];
    size_t k = 0;
    int rc = HX_OK;
    for (; k < pk->n && pk->v[k].off <= c->scanned[part]; k++) {
        if (pk->v[k].off == c->scanned[part] && !rc) {
            if (add_record(c, part, pk->v[k].off, &pk->v[k].e))
                rc = HX_ENOMEM;
            c->scanned[part]++;
        }
        hx_envelope_free(&pk->v[k].e);
    }
    memmove(pk->v, pk->v + k, (pk->n - k) * sizeof *pk->v);
    pk->n -= k;
    c->parked -= k;
    return rc;
}

int ctx_index_delivered(hx_context_t *c, int32_t part, int64_t off, hx_envelope_t *e)
{
    if (part < 0 || part >= c->nparts)
        return HX_EAGAIN;
    if (off < c->scanned[part])
        return HX_OK; /* a catch-up read it already */
    if (off == c->scanned[part]) {
        int rc = add_record(c, part, off, e) ? HX_ENOMEM : HX_OK;
        c->scanned[part]++;
        int r2 = c->park[part].n ? drain_park(c, part) : HX_OK;
        return rc ? rc : r2;
    }
    ctx_park_t *pk = &c->park[part];
    if (pk->n == pk->cap) {
        size_t nc = pk->cap ? pk->cap * 2 : 16;
        ctx_parked_t *nv = realloc(pk->v, nc * sizeof *nv);
        if (!nv)
            return HX_ENOMEM;
        pk->v = nv;
        pk->cap = nc;
    }
    size_t at = pk->n; /* mostly at the end: deliveries come nearly in order */
    while (at > 0 && pk->v[at - 1].off > off)
        at--;
    memmove(pk->v + at + 1, pk->v + at, (pk->n - at) * sizeof *pk->v);
    pk->v[at].off = off;
    pk->v[at].e = *e;
    hx_envelope_init(e);
    pk->n++;
    c->parked++;
    return HX_OK;
}

int ctx_index_catch_up(hx_context_t *c, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(c->b, HX_TOPIC_CONVERSATIONS, &ti, err);
    if (rc)
        return rc;
    c->max_message_bytes = ti.config.max_message_bytes;
    if (c->nparts < ti.config.partitions) {
        int64_t *s = realloc(c->scanned, (size_t)ti.config.partitions * sizeof *s);
        if (s)
            c->scanned = s;
        ctx_park_t *pk = s ? realloc(c->park, (size_t)ti.config.partitions * sizeof *pk) : NULL;
        if (!pk) {
            hx_topic_info_free(&ti);
            return hx_err_set(err, HX_ENOMEM, "out of memory");
        }
        for (int p = c->nparts; p < ti.config.partitions; p++) {
            s[p] = 0;
            pk[p] = (ctx_park_t){0};
        }
        c->park = pk;
        c->nparts = ti.config.partitions;
    }
    for (int p = 0; p < c->nparts && p < ti.config.partitions && !rc; p++) {
        int64_t from = c->scanned[p], low = ti.partitions[p].low_watermark, high = ti.partitions[p].high_watermark;
        if (from < low)
            from = low; /* retention removed the start; those records are gone */
        while (from < high && !rc) {
            hx_fetch_t f;
            if ((rc = hx_broker_fetch(c->b, HX_TOPIC_CONVERSATIONS, p, from, FETCH_BATCH, 0, &f, err)))
                break;
            if (!f.count) {
                hx_fetch_free(&f);
                break;
            }
            for (size_t i = 0; i < f.count && !rc; i++) {
                hx_envelope_t e;
                if (hx_envelope_decode(f.msgs[i].value, f.msgs[i].value_len, &e, NULL) == 0) {
                    if (add_record(c, f.msgs[i].partition, f.msgs[i].offset, &e))
                        rc = hx_err_set(err, HX_ENOMEM, "out of memory indexing conversations");
                    hx_envelope_free(&e);
                }
                from = f.msgs[i].offset + 1;
            }
            hx_fetch_free(&f);
        }
        c->scanned[p] = from;
        if (!rc && c->park[p].n && drain_park(c, p))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory indexing conversations");
    }
    hx_topic_info_free(&ti);
    return rc;
}
