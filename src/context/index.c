/* The conversation index: conversation -> the (partition, offset, seq, ts) of
 * each of its records on helixagent.conversations. It is built by reading
 * every partition with hx_broker_fetch from where the index last stopped
 * ("catch up"): at startup that rebuilds it from the log, after an ingest it
 * adds the records just written, and before a replay it picks up records
 * other producers wrote. No consumer group is involved, so nothing is ever
 * committed. */
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

ctx_convix_t *ctx_index_find(hx_context_t *c, const char *tenant, const char *id)
{
    uint32_t *ix = ctx_map_get(&c->by_tag, ctx_conv_tag(tenant, id));
    if (!ix)
        return NULL;
    ctx_convix_t *cv = c->convs[*ix];
    return strcmp(cv->tenant, tenant) == 0 && strcmp(cv->id, id) == 0 ? cv : NULL;
}

static ctx_convix_t *find_or_add(hx_context_t *c, const char *tenant, const char *id)
{
    ctx_convix_t *cv = ctx_index_find(c, tenant, id);
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
    uint32_t *slot;
    if (ctx_map_put(&c->by_tag, cv->tag, (uint32_t)c->nconv, &slot, NULL)) {
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
        free(c->convs[i]);
    }
    free(c->convs);
    ctx_map_free(&c->by_tag);
    free(c->scanned);
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

static int add_record(hx_context_t *c, const hx_msg_t *m, const hx_envelope_t *e)
{
    if (strncmp(e->type, "conversation.", 13) != 0 || !e->key[0])
        return HX_OK;
    ctx_convix_t *cv = find_or_add(c, e->tenant, e->key);
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
    cv->recs[cv->n++] = (ctx_rec_t){m->partition, m->offset, e->seq, e->ts, msg};
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

int ctx_index_catch_up(hx_context_t *c, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(c->b, HX_TOPIC_CONVERSATIONS, &ti, err);
    if (rc)
        return rc;
    c->max_message_bytes = ti.config.max_message_bytes;
    if (c->nparts != ti.config.partitions) {
        int64_t *s = realloc(c->scanned, (size_t)ti.config.partitions * sizeof *s);
        if (!s) {
            hx_topic_info_free(&ti);
            return hx_err_set(err, HX_ENOMEM, "out of memory");
        }
        for (int p = c->nparts; p < ti.config.partitions; p++)
            s[p] = 0;
        c->scanned = s;
        c->nparts = ti.config.partitions;
    }
    for (int p = 0; p < c->nparts && !rc; p++) {
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
                    if (add_record(c, &f.msgs[i], &e))
                        rc = hx_err_set(err, HX_ENOMEM, "out of memory indexing conversations");
                    hx_envelope_free(&e);
                }
                from = f.msgs[i].offset + 1;
            }
            hx_fetch_free(&f);
        }
        c->scanned[p] = from;
    }
    hx_topic_info_free(&ti);
    return rc;
}
