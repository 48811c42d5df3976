/* Conversation ingest: typed items -> conversation.* envelopes keyed by
 * conversation_id with per-conversation seq numbers. Every item is validated
 * and encoded before anything is produced, so a batch is all or nothing.
 *
 * Locks: the engine lock (c->mu) covers the index only: checking update and
 * delete targets, handing out seqs, and indexing the delivered records. A
 * conversation's own order lock is held from its seqs until its records are
 * queued, so its records reach the log in seq order; the wait for delivery
 * holds no lock, and other conversations' ingests run meanwhile. The index
 * is fed the envelopes just produced, at their delivery offsets: nothing is
 * read back or described per request. */
#include "context/engine.h"
#include "helix/hx_clock.h"
#include "helix/hx_json.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *op_type(hx_ctx_op_t op)
{
    switch (op) {
    case HX_CTX_ADD: return HX_EV_CONVERSATION_MESSAGE_ADDED;
    case HX_CTX_UPDATE: return HX_EV_CONVERSATION_MESSAGE_UPDATED;
    case HX_CTX_DELETE: return HX_EV_CONVERSATION_MESSAGE_DELETED;
    case HX_CTX_COMPLETE: return HX_EV_CONVERSATION_COMPLETED;
    }
    return NULL;
}

/* The envelope data of an item: its present fields. */
static json_t *item_data(const hx_ctx_item_t *it)
{
    json_t *d = json_object();
    const struct {
        const char *name, *v;
    } strs[] = {{"message_id", it->message_id}, {"role", it->role},       {"content", it->content},
                {"model", it->model},           {"provider", it->provider}, {"user_id", it->user_id},
                {"session_id", it->session_id}};
    for (size_t i = 0; d && i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].v && json_object_set_new(d, strs[i].name, json_string(strs[i].v))) {
            json_decref(d);
            return NULL; /* out of memory, or not UTF-8 */
        }
    if (d && it->tokens >= 0)
        json_object_set_new(d, "tokens", json_integer(it->tokens));
    if (d && it->created_at >= 0)
        json_object_set_new(d, "created_at", json_integer(it->created_at));
    return d;
}

int ctx_ingest_item(const hx_ctx_item_t *item, size_t i, const char **type, json_t **data, hx_err_t *err)
{
    *data = NULL;
    *type = op_type(item->op);
    if (!*type)
        return hx_err_set(err, HX_EINVAL, "messages[%zu].op must be add, update, delete or complete", i);
    if (item->message_id && !*item->message_id)
        return hx_err_set(err, HX_EINVAL, "messages[%zu].message_id must be a non-empty string", i);
    json_t *d = item_data(item);
    if (!d)
        return hx_err_set(err, HX_EINVAL, "messages[%zu]: a text field is not valid UTF-8 (or out of memory)", i);
    int rc = HX_OK;
    const char *mid = item->message_id;
    /* The schema needs fields filled later (an add's message_id, an
     * update's role): d is validated with a stand-in member that is then
     * removed again, rather than on a deep copy of every message. */
    if (item->op == HX_CTX_ADD) {
        int stand_in = !mid && !json_object_set_new(d, "message_id", json_string("x"));
        rc = hx_event_validate_data(*type, d, err);
        if (stand_in)
            json_object_del(d, "message_id");
    } else if (item->op == HX_CTX_UPDATE) {
        int stand_in = !json_object_get(d, "role") && !json_object_set_new(d, "role", json_string("user"));
        rc = !mid ? hx_err_set(err, HX_EINVAL, "messages[%zu]: an update needs message_id", i)
                  : hx_event_validate_data(*type, d, err);
        if (stand_in)
            json_object_del(d, "role");
    } else if (item->op == HX_CTX_DELETE && !mid) {
        rc = hx_err_set(err, HX_EINVAL, "messages[%zu]: a delete needs message_id", i);
    }
    if (rc) {
        if (strncmp(err->msg, "messages[", 9) != 0)
            hx_err_wrap(err, "messages[%zu]", i);
        json_decref(d);
        return rc;
    }
    *data = d;
    return HX_OK;
}

/* An update or delete must name a message that exists when it applies: live
 * in the index or added earlier in the same batch, and not deleted since.
 * batch maps the ids this batch touched to 1 (live) or 2 (deleted); c->mu
 * held. Checked before anything is produced, so a bad target writes nothing. */
static int check_target(const ctx_convix_t *cv, ctx_map_t *batch, const hx_envelope_t *e, size_t i, const char *id,
                        hx_err_t *err)
{
    const char *mid = json_string_value(json_object_get(e->data, "message_id"));
    if (!mid)
        return HX_OK; /* complete */
    uint64_t h = ctx_msg_id_hash(mid);
    uint32_t *st = ctx_map_get(batch, h);
    int live = st ? *st == 1 : cv && ctx_index_live_msg(cv, mid) != NULL;
    int add = strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0;
    if (!add && !live)
        return hx_err_set(err, HX_ENOTFOUND,
                          "messages[%zu]: cannot %s message '%s': conversation '%s' has no such message%s (nothing "
                          "of the batch was written)",
                          i, strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0 ? "delete" : "update", mid, id,
                          st ? " (deleted earlier in this batch)" : "");
    uint32_t *slot;
    if (ctx_map_put(batch, h, 0, &slot, NULL))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    *slot = strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0 ? 2 : 1;
    return HX_OK;
}

/* The batch's delivery, waited for outside every lock. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    hx_err_t err;
    hx_delivery_t *dl;
} delivery_wait_t;

static void on_delivered(void *ctx, const hx_delivery_t *d, size_t n, int rc, const hx_err_t *err)
{
    delivery_wait_t *w = ctx;
    pthread_mutex_lock(&w->mu);
    memcpy(w->dl, d, n * sizeof *d);
    w->rc = rc;
    if (rc && err)
        w->err = *err;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Seqs and targets, under c->mu: fills envs[i] (type, key, tenant, seq,
 * data taken from data[i]). An update or delete waits until the
 * conversation's earlier ingests are indexed, so it checks against them. */
static int reserve(hx_context_t *c, ctx_convix_t *cv, const hx_ctx_ingest_t *rq, const char *tenant, json_t **data,
                   const char **types, hx_envelope_t *envs, size_t *built, uint64_t *first, hx_err_t *err)
{
    size_t n = rq->n;
    int targets = 0;
    for (size_t i = 0; i < n; i++)
        targets |= rq->items[i].op == HX_CTX_UPDATE || rq->items[i].op == HX_CTX_DELETE;
    while (targets && cv->inflight)
        pthread_cond_wait(&c->indexed_cv, &c->mu);
    int rc;
    if (targets && c->parked && (rc = ctx_index_catch_up(c, err)))
        return rc;
    ctx_map_t batch_ids = {0};
    if (ctx_map_init(&batch_ids, n))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    uint64_t seq = cv->next_seq > cv->max_seq ? cv->next_seq : cv->max_seq;
    *first = seq + 1;
    int64_t now = hx_now_ms();
    rc = HX_OK;
    while (*built < n && !rc) {
        size_t i = (*built)++;
        hx_envelope_t *e = &envs[i];
        hx_envelope_init(e);
        e->type = strdup(types[i]);
        e->key = strdup(rq->conversation_id);
        e->tenant = strdup(tenant);
        e->seq = ++seq;
        e->data = data[i];
        data[i] = NULL;
        if (!e->type || !e->key || !e->tenant) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
            break;
        }
        if (rq->items[i].op == HX_CTX_ADD) {
            if (!json_object_get(e->data, "message_id")) {
                char mid[48];
                snprintf(mid, sizeof mid, "msg-%llu", (unsigned long long)e->seq);
                json_object_set_new(e->data, "message_id", json_string(mid));
            }
            if (!json_object_get(e->data, "created_at"))
                json_object_set_new(e->data, "created_at", json_integer(now));
        }
        rc = check_target(cv, &batch_ids, e, i, rq->conversation_id, err);
    }
    ctx_map_free(&batch_ids);
    if (!rc) {
        cv->next_seq = seq;
        cv->inflight++;
        c->inflight++;
    }
    return rc;
}

/* Gives back seqs [first, last] if nothing was handed out after them. */
static void unreserve(hx_context_t *c, ctx_convix_t *cv, uint64_t first, uint64_t last)
{
    pthread_mutex_lock(&c->mu);
    if (cv->next_seq == last)
        cv->next_seq = first - 1;
    cv->inflight--;
    c->inflight--;
    pthread_cond_broadcast(&c->indexed_cv);
    pthread_mutex_unlock(&c->mu);
}

static const char *rq_content(const hx_envelope_t *e)
{
    return json_string_value(json_object_get(e->data, "content"));
}

/* Envelope defaults, validation and frames, outside c->mu. The data is
 * written as text (hx_json_write: the bytes hx_envelope_encode's json_dumps
 * gives), then framed with the checked envelope fields. */
static int encode_all(hx_context_t *c, const char *id, hx_envelope_t *envs, hx_buf_t *frames, hx_msg_t *msgs,
                      size_t n, hx_err_t *err)
{
    int64_t now = hx_now_ms();
    hx_buf_t data = HX_BUF_INIT;
    int rc = HX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        hx_envelope_t *e = &envs[i];
        data.len = 0;
        const char *content = rq_content(e);
        if (hx_buf_reserve(&data, 256 + (content ? strlen(content) + strlen(content) / 8 : 0))) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory encoding an envelope");
            break;
        }
        if ((rc = hx_envelope_fill_defaults(e, c->cfg.node.node_id, now, err)) == HX_OK &&
            (rc = hx_json_write(&data, e->data)) != HX_OK)
        {
            int bad = rc == HX_ENOMEM ? HX_OK : hx_envelope_validate(e, err); /* its message comes first, as before */
            rc = rc == HX_ENOMEM ? hx_err_set(err, HX_ENOMEM, "out of memory encoding an envelope")
                 : bad           ? bad
                                 : hx_err_set(err, HX_EINVAL, "field 'data' cannot be encoded as JSON");
        }
        /* the frame in one allocation: data plus the head's strings and numbers */
        if (!rc && hx_buf_reserve(&frames[i], data.len + 64 + strlen(e->id) + strlen(e->type) + strlen(e->source) +
                                                  strlen(e->tenant) + strlen(e->key)))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory encoding an envelope");
        if (!rc)
            rc = hx_envelope_encode_data(e, (const char *)data.data, data.len, &frames[i], err);
        if (rc) {
            hx_err_wrap(err, "messages[%zu]", i);
            break;
        }
        if (c->max_message_bytes > 0 && (int64_t)(frames[i].len + strlen(id)) > c->max_message_bytes) {
            rc = hx_err_set(err, HX_ETOOBIG, "messages[%zu] is %zu bytes; the conversations topic accepts at most "
                                               "%lld (nothing was written)",
                              i, frames[i].len, (long long)c->max_message_bytes);
            break;
        }
        msgs[i] = (hx_msg_t){.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .timestamp_ms = e->ts, .key = id,
                             .key_len = strlen(id), .value = frames[i].data, .value_len = frames[i].len};
    }
    hx_buf_free(&data);
    return rc;
}

/* Indexes what was delivered, in offset order, under c->mu. A failure, a
 * partition the index does not know, or a gap no ingest of ours will fill
 * (another producer's record) is settled by reading the log. */
static int index_delivered(hx_context_t *c, ctx_convix_t *cv, hx_envelope_t *envs, const hx_delivery_t *dl, size_t n,
                           int failed, hx_err_t *err)
{
    int rc = HX_OK, need_catch_up = failed;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n && !need_catch_up; i++)
        if (!dl[i].status && (rc = ctx_index_delivered(c, dl[i].partition, dl[i].offset, &envs[i])))
            need_catch_up = 1;
    cv->inflight--;
    c->inflight--;
    if (!c->inflight && c->parked)
        need_catch_up = 1;
    rc = need_catch_up ? ctx_index_catch_up(c, err) : HX_OK;
    pthread_cond_broadcast(&c->indexed_cv);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* The answer as text, the bytes json_dumps of hx_context_ingest's tree
 * gives (a few fixed keys: a tree would be built only to be dumped). */
static int answer_text(const char *id, const hx_envelope_t *envs, const hx_delivery_t *dl, size_t n, hx_buf_t *b)
{
    int rc = hx_buf_reserve(b, 96 + strlen(id) + 160 * n);
    rc = rc ? rc : hx_buf_puts(b, "{\"conversation_id\":");
    rc = rc ? rc : hx_json_write_str(b, id, strlen(id));
    rc = rc ? rc : hx_buf_puts(b, ",\"accepted\":");
    rc = rc ? rc : hx_json_write_int(b, (int64_t)n);
    rc = rc ? rc : hx_buf_puts(b, ",\"first_seq\":");
    rc = rc ? rc : hx_json_write_int(b, (int64_t)envs[0].seq);
    rc = rc ? rc : hx_buf_puts(b, ",\"last_seq\":");
    rc = rc ? rc : hx_json_write_int(b, (int64_t)envs[n - 1].seq);
    rc = rc ? rc : hx_buf_puts(b, ",\"events\":[");
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *mid = json_object_get(envs[i].data, "message_id");
        rc = hx_buf_puts(b, i ? ",{\"seq\":" : "{\"seq\":");
        rc = rc ? rc : hx_json_write_int(b, (int64_t)envs[i].seq);
        rc = rc ? rc : hx_buf_puts(b, ",\"type\":");
        rc = rc ? rc : hx_json_write_str(b, envs[i].type, strlen(envs[i].type));
        rc = rc ? rc : hx_buf_puts(b, ",\"message_id\":");
        rc = rc ? rc : json_is_string(mid) ? hx_json_write_str(b, json_string_value(mid), strlen(json_string_value(mid)))
                                           : hx_buf_puts(b, "null");
        rc = rc ? rc : hx_buf_puts(b, ",\"partition\":");
        rc = rc ? rc : hx_json_write_int(b, dl[i].partition);
        rc = rc ? rc : hx_buf_puts(b, ",\"offset\":");
        rc = rc ? rc : hx_json_write_int(b, dl[i].offset);
        rc = rc ? rc : hx_buf_putc(b, '}');
    }
    return rc ? rc : hx_buf_puts(b, "]}");
}

/* hx_context_ingest answering as a tree (out) or as text appended to text. */
static int ingest(hx_context_t *c, const hx_ctx_ingest_t *rq, json_t **out, hx_buf_t *text, hx_err_t *err)
{
    const char *tenant = rq->tenant ? rq->tenant : "default", *id = rq->conversation_id;
    if (!id || !*id || strlen(id) > 256)
        return hx_err_set(err, HX_EINVAL, "conversation id must be 1 to 256 characters");
    size_t n = rq->n;
    if (!n || !rq->items)
        return hx_err_set(err, HX_EINVAL, "no messages to add: 'messages' is empty");
    json_t **data = calloc(n, sizeof *data);
    const char **types = calloc(n, sizeof *types);
    hx_envelope_t *envs = calloc(n, sizeof *envs);
    hx_buf_t *frames = calloc(n, sizeof *frames);
    hx_msg_t *msgs = calloc(n, sizeof *msgs);
    hx_delivery_t *dl = calloc(n, sizeof *dl);
    delivery_wait_t w = {.dl = dl};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = HX_OK, reserved = 0;
    size_t built = 0;
    uint64_t first = 0;
    ctx_convix_t *cv = NULL;
    if (!data || !types || !envs || !frames || !msgs || !dl) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = ctx_ingest_item(&rq->items[i], i, &types[i], &data[i], err);
    if (rc)
        goto done;
    pthread_mutex_lock(&c->mu);
    if (!(cv = ctx_index_reserve(c, tenant, id))) {
        pthread_mutex_unlock(&c->mu);
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&cv->order_mu);
    pthread_mutex_lock(&c->mu);
    rc = reserve(c, cv, rq, tenant, data, types, envs, &built, &first, err);
    reserved = rc == HX_OK;
    pthread_mutex_unlock(&c->mu);
    if (!rc && (rc = encode_all(c, id, envs, frames, msgs, n, err)) == HX_OK &&
        (rc = hx_broker_produce_batch(c->b, msgs, n, on_delivered, &w, err)) == HX_OK) {
        pthread_mutex_unlock(&cv->order_mu);
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        if ((rc = w.rc) && err)
            *err = w.err;
    } else {
        if (reserved)
            unreserve(c, cv, first, envs[n - 1].seq);
        pthread_mutex_unlock(&cv->order_mu);
        goto done;
    }
    /* The answer is built before indexing, which takes the envelopes. */
    size_t text_start = text ? text->len : 0;
    int oom = !rc && text && answer_text(id, envs, dl, n, text);
    if (oom)
        text->len = text_start;
    json_t *ev = rc || !out ? NULL : json_array();
    for (size_t i = 0; ev && i < n; i++) {
        const char *mid = json_string_value(json_object_get(envs[i].data, "message_id"));
        json_array_append_new(ev, json_pack("{s:I,s:s,s:s?,s:i,s:I}", "seq", (json_int_t)envs[i].seq, "type",
                                            envs[i].type, "message_id", mid, "partition", dl[i].partition,
                                            "offset", (json_int_t)dl[i].offset));
    }
    if (ev)
        *out = json_pack("{s:s,s:I,s:I,s:I,s:o}", "conversation_id", id, "accepted", (json_int_t)n, "first_seq",
                         (json_int_t)envs[0].seq, "last_seq", (json_int_t)envs[n - 1].seq, "events", ev);
    hx_err_t ierr = {0};
    if (index_delivered(c, cv, envs, dl, n, rc != 0, &ierr))
        HX_WARN("context", "conversation '%s': written, but indexing it failed (%s); the next read catches up", id,
                ierr.msg); /* the records are acknowledged: the answer stays a success */
    uint64_t tag = ctx_conv_tag(tenant, id);
    ctx_cache_drop_tag(c->cache, tag, CTX_K_RESULT); /* stale now */
    if (!rc)
        ctx_cache_touch(c->cache, tag); /* the replayed state is extended, not rebuilt */
    if (oom)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing the answer (the messages were written)");
done:
    for (size_t i = 0; i < n && data; i++)
        json_decref(data[i]);
    for (size_t i = 0; i < built; i++) {
        hx_envelope_free(&envs[i]);
        hx_buf_free(&frames[i]);
    }
    free(data);
    free(types);
    free(envs);
    free(frames);
    free(msgs);
    free(dl);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

int hx_context_ingest(hx_context_t *c, const hx_ctx_ingest_t *rq, json_t **out, hx_err_t *err)
{
    return ingest(c, rq, out, NULL, err);
}

int hx_context_ingest_text(hx_context_t *c, const hx_ctx_ingest_t *rq, hx_buf_t *out, hx_err_t *err)
{
    return ingest(c, rq, NULL, out, err);
}
