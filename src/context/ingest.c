/* Conversation ingest: API items -> conversation.* envelopes keyed by
 * conversation_id with per-conversation seq numbers. Every item is validated
 * and encoded before anything is produced, and seqs are assigned under the
 * engine lock, so a batch is all or nothing and seqs follow log order. */
#include "context/engine.h"
#include "helix/hx_clock.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *op_type(const char *op)
{
    if (!op || strcmp(op, "add") == 0)
        return HX_EV_CONVERSATION_MESSAGE_ADDED;
    if (strcmp(op, "update") == 0)
        return HX_EV_CONVERSATION_MESSAGE_UPDATED;
    if (strcmp(op, "delete") == 0)
        return HX_EV_CONVERSATION_MESSAGE_DELETED;
    if (strcmp(op, "complete") == 0)
        return HX_EV_CONVERSATION_COMPLETED;
    return NULL;
}

int ctx_ingest_item(const json_t *item, size_t i, const char **type, json_t **data, hx_err_t *err)
{
    if (!json_is_object(item))
        return hx_err_set(err, HX_EINVAL, "messages[%zu] must be an object", i);
    json_t *opj = json_object_get(item, "op");
    if (opj && !json_is_string(opj))
        return hx_err_set(err, HX_EINVAL, "messages[%zu].op must be add, update, delete or complete", i);
    *type = op_type(json_string_value(opj));
    if (!*type)
        return hx_err_set(err, HX_EINVAL, "messages[%zu].op '%s' must be add, update, delete or complete", i,
                          json_string_value(opj));
    json_t *d = json_deep_copy(item);
    if (!d)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    json_object_del(d, "op");
    int rc = HX_OK;
    json_t *mid = json_object_get(d, "message_id");
    if (mid && (!json_is_string(mid) || !json_string_length(mid)))
        rc = hx_err_set(err, HX_EINVAL, "messages[%zu].message_id must be a non-empty string", i);
    else if (strcmp(*type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0) {
        json_t *probe = json_deep_copy(d);
        if (!mid)
            json_object_set_new(probe, "message_id", json_string("x"));
        rc = hx_event_validate_data(*type, probe, err);
        json_decref(probe);
    } else if (strcmp(*type, HX_EV_CONVERSATION_MESSAGE_UPDATED) == 0) {
        json_t *probe = json_deep_copy(d);
        if (!json_object_get(probe, "role"))
            json_object_set_new(probe, "role", json_string("user"));
        rc = !mid ? hx_err_set(err, HX_EINVAL, "messages[%zu]: an update needs message_id", i)
                  : hx_event_validate_data(*type, probe, err);
        json_decref(probe);
    } else if (strcmp(*type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0 && !mid) {
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

int hx_context_ingest(hx_context_t *c, const char *tenant, const char *id, const json_t *body, json_t **out,
                      hx_err_t *err)
{
    if (!tenant)
        tenant = "default";
    if (!id || !*id || strlen(id) > 256)
        return hx_err_set(err, HX_EINVAL, "conversation id must be 1 to 256 characters");
    json_t *list = json_object_get(body, "messages");
    if (list && !json_is_array(list))
        return hx_err_set(err, HX_EINVAL, "field 'messages' must be an array of messages");
    size_t n = list ? json_array_size(list) : 1;
    if (!n)
        return hx_err_set(err, HX_EINVAL, "no messages to add: 'messages' is empty");
    json_t **data = calloc(n, sizeof *data);
    const char **types = calloc(n, sizeof *types);
    hx_envelope_t *envs = calloc(n, sizeof *envs);
    hx_buf_t *frames = calloc(n, sizeof *frames);
    hx_msg_t *msgs = calloc(n, sizeof *msgs);
    hx_delivery_t *dl = calloc(n, sizeof *dl);
    int rc = HX_OK, locked = 0;
    size_t built = 0;
    ctx_map_t batch_ids = {0};
    if (!data || !types || !envs || !frames || !msgs || !dl) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = ctx_ingest_item(list ? json_array_get(list, i) : body, i, &types[i], &data[i], err);
    if (rc)
        goto done;
    pthread_mutex_lock(&c->mu);
    locked = 1;
    if ((rc = ctx_index_catch_up(c, err)))
        goto done;
    ctx_convix_t *cv = ctx_index_find(c, tenant, id);
    uint64_t seq = cv ? cv->max_seq : 0;
    if (ctx_map_init(&batch_ids, n)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    int64_t now = hx_now_ms();
    for (; built < n; built++) {
        hx_envelope_t *e = &envs[built];
        hx_envelope_init(e);
        e->type = strdup(types[built]);
        e->key = strdup(id);
        e->tenant = strdup(tenant);
        e->seq = ++seq;
        e->data = data[built];
        data[built] = NULL;
        if (!e->type || !e->key || !e->tenant) {
            built++;
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
            goto done;
        }
        if (strcmp(types[built], HX_EV_CONVERSATION_MESSAGE_ADDED) == 0) {
            if (!json_object_get(e->data, "message_id")) {
                char mid[48];
                snprintf(mid, sizeof mid, "msg-%llu", (unsigned long long)e->seq);
                json_object_set_new(e->data, "message_id", json_string(mid));
            }
            if (!json_object_get(e->data, "created_at"))
                json_object_set_new(e->data, "created_at", json_integer(now));
        }
        if ((rc = check_target(cv, &batch_ids, e, built, id, err))) {
            built++;
            goto done;
        }
        if ((rc = hx_envelope_fill_defaults(e, c->cfg.node.node_id, now, err)) ||
            (rc = hx_envelope_validate(e, err)) || (rc = hx_envelope_encode(e, &frames[built], err))) {
            hx_err_wrap(err, "messages[%zu]", built);
            built++;
            goto done;
        }
        if (c->max_message_bytes > 0 && (int64_t)(frames[built].len + strlen(id)) > c->max_message_bytes) {
            rc = hx_err_set(err, HX_ETOOBIG, "messages[%zu] is %zu bytes; the conversations topic accepts at most "
                                             "%lld (nothing was written)",
                            built, frames[built].len, (long long)c->max_message_bytes);
            built++;
            goto done;
        }
        msgs[built] = (hx_msg_t){.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .timestamp_ms = e->ts,
                                 .key = id, .key_len = strlen(id), .value = frames[built].data,
                                 .value_len = frames[built].len};
    }
    if ((rc = hx_broker_produce(c->b, msgs, n, dl, err)) || (rc = ctx_index_catch_up(c, err)))
        goto done;
    pthread_mutex_unlock(&c->mu);
    locked = 0;
    uint64_t tag = ctx_conv_tag(tenant, id);
    ctx_cache_drop_tag(c->cache, tag, CTX_K_RESULT); /* stale now */
    ctx_cache_touch(c->cache, tag);                  /* the replayed state is extended, not rebuilt */
    json_t *ev = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *mid = json_string_value(json_object_get(envs[i].data, "message_id"));
        json_array_append_new(ev, json_pack("{s:I,s:s,s:s?,s:i,s:I}", "seq", (json_int_t)envs[i].seq, "type",
                                            envs[i].type, "message_id", mid, "partition", dl[i].partition,
                                            "offset", (json_int_t)dl[i].offset));
    }
    *out = json_pack("{s:s,s:I,s:I,s:I,s:o}", "conversation_id", id, "accepted", (json_int_t)n, "first_seq",
                     (json_int_t)envs[0].seq, "last_seq", (json_int_t)envs[n - 1].seq, "events", ev);
done:
    if (locked)
        pthread_mutex_unlock(&c->mu);
    ctx_map_free(&batch_ids);
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
    return rc;
}
