/* The conversation model: messages in seq order, rebuilt by applying the
 * conversation events of the log. An added event with a message_id that
 * exists replaces it (a retried ingest is idempotent); updates change the
 * fields they carry; deletes remove; updates and deletes of unknown ids are
 * ignored, since their target may lie before a replay's starting point. */
#include "context/ctx_internal.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <stdlib.h>
#include <string.h>

int ctx_conv_init(ctx_conv_t *cv)
{
    memset(cv, 0, sizeof *cv);
    if (pthread_mutex_init(&cv->mu, NULL))
        return HX_ENOMEM;
    return ctx_map_init(&cv->by_id, 64);
}

static void msg_free(ctx_msg_t *m)
{
    free(m->message_id);
    free(m->role);
    free(m->content);
    free(m->model);
    free(m->provider);
    free(m->user_id);
    free(m->session_id);
    if (m->an) {
        ctx_an_free(m->an);
        free(m->an);
    }
    memset(m, 0, sizeof *m);
}

void ctx_conv_free(ctx_conv_t *cv)
{
    if (!cv)
        return;
    for (size_t i = 0; i < cv->n; i++)
        msg_free(&cv->msgs[i]);
    free(cv->msgs);
    ctx_map_free(&cv->by_id);
    pthread_mutex_destroy(&cv->mu);
}

uint32_t ctx_msg_tokens(const ctx_msg_t *m)
{
    return m->tokens_field > 0 ? (uint32_t)(m->tokens_field > UINT32_MAX ? UINT32_MAX : m->tokens_field)
                               : hx_context_estimate_tokens(m->content, m->content_len);
}

static void refresh(ctx_msg_t *m)
{
    m->content_len = m->content ? strlen(m->content) : 0;
    m->tokens = ctx_msg_tokens(m);
    uint64_t h = hx_hash64(m->content ? m->content : "", m->content_len);
    h ^= hx_hash64(m->role ? m->role : "", m->role ? strlen(m->role) : 0) * 31;
    m->chash = h ^ (m->seq * 0x9E3779B97F4A7C15ull);
    if (m->an) {
        ctx_an_free(m->an);
        free(m->an);
        m->an = NULL;
    }
}

static int set_str(char **dst, const json_t *data, const char *name)
{
    json_t *v = json_object_get(data, name);
    if (!json_is_string(v))
        return HX_OK;
    char *s = strdup(json_string_value(v));
    if (!s)
        return HX_ENOMEM;
    free(*dst);
    *dst = s;
    return HX_OK;
}

static int fill(ctx_msg_t *m, const json_t *d)
{
    if (set_str(&m->message_id, d, "message_id") || set_str(&m->role, d, "role") ||
        set_str(&m->content, d, "content") || set_str(&m->model, d, "model") || set_str(&m->provider, d, "provider") ||
        set_str(&m->user_id, d, "user_id") || set_str(&m->session_id, d, "session_id"))
        return HX_ENOMEM;
    json_t *t = json_object_get(d, "tokens");
    if (json_is_integer(t))
        m->tokens_field = json_integer_value(t);
    t = json_object_get(d, "created_at");
    if (json_is_integer(t))
        m->created_at = json_integer_value(t);
    return HX_OK;
}

uint64_t ctx_msg_id_hash(const char *id) { return hx_hash64(id, strlen(id)); }

static int push(ctx_conv_t *cv, ctx_msg_t **out)
{
    if (cv->n == cv->cap) {
        size_t nc = cv->cap ? cv->cap * 2 : 64;
        ctx_msg_t *nm = realloc(cv->msgs, nc * sizeof *nm);
        if (!nm)
            return HX_ENOMEM;
        cv->msgs = nm;
        cv->cap = nc;
    }
    *out = &cv->msgs[cv->n++];
    memset(*out, 0, sizeof **out);
    return HX_OK;
}

int ctx_conv_apply(ctx_conv_t *cv, const hx_envelope_t *e, hx_err_t *err)
{
    if (e->seq > cv->max_seq)
        cv->max_seq = e->seq;
    if (strcmp(e->type, HX_EV_CONVERSATION_COMPLETED) == 0) {
        cv->completed = 1;
        return HX_OK;
    }
    const char *mid = json_string_value(json_object_get(e->data, "message_id"));
    if (!mid)
        return HX_OK; /* not a message event (created, debate round, compressed) */
    uint32_t *ix = ctx_map_get(&cv->by_id, ctx_msg_id_hash(mid));
    ctx_msg_t *m = ix ? &cv->msgs[*ix] : NULL;
    if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_ADDED) == 0) {
        if (m && !m->deleted) {
            m->edit_seq = e->seq;
        } else {
            if (push(cv, &m))
                return hx_err_set(err, HX_ENOMEM, "out of memory replaying a conversation");
            m->seq = e->seq;
            m->ts = e->ts;
            uint32_t *slot;
            if (ctx_map_put(&cv->by_id, ctx_msg_id_hash(mid), (uint32_t)(cv->n - 1), &slot, NULL))
                return hx_err_set(err, HX_ENOMEM, "out of memory replaying a conversation");
            *slot = (uint32_t)(cv->n - 1);
        }
    } else if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_UPDATED) == 0) {
        if (!m || m->deleted)
            return HX_OK;
        m->edit_seq = e->seq;
    } else if (strcmp(e->type, HX_EV_CONVERSATION_MESSAGE_DELETED) == 0) {
        if (m && !m->deleted) {
            m->deleted = 1;
            refresh(m);
        }
        return HX_OK;
    } else {
        return HX_OK;
    }
    if (fill(m, e->data))
        return hx_err_set(err, HX_ENOMEM, "out of memory replaying a conversation");
    if (!m->created_at)
        m->created_at = e->ts;
    refresh(m);
    return HX_OK;
}

int ctx_conv_add_plain(ctx_conv_t *cv, const hx_ctx_message_t *in, hx_err_t *err)
{
    ctx_msg_t *m;
    if (push(cv, &m))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    m->seq = in->seq ? in->seq : cv->n;
    m->message_id = strdup(in->message_id ? in->message_id : "");
    m->role = strdup(in->role ? in->role : "user");
    m->content = strdup(in->content ? in->content : "");
    m->tokens_field = in->tokens;
    m->created_at = in->created_at;
    if (!m->message_id || !m->role || !m->content)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    if (m->seq > cv->max_seq)
        cv->max_seq = m->seq;
    refresh(m);
    return HX_OK;
}

static int by_seq(const void *a, const void *b)
{
    const ctx_msg_t *x = *(const ctx_msg_t *const *)a, *y = *(const ctx_msg_t *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int ctx_conv_live(const ctx_conv_t *cv, const ctx_msg_t ***out, size_t *n)
{
    const ctx_msg_t **v = malloc((cv->n ? cv->n : 1) * sizeof *v);
    if (!v)
        return HX_ENOMEM;
    size_t k = 0;
    int sorted = 1;
    for (size_t i = 0; i < cv->n; i++)
        if (!cv->msgs[i].deleted) {
            if (k && v[k - 1]->seq > cv->msgs[i].seq)
                sorted = 0;
            v[k++] = &cv->msgs[i];
        }
    if (!sorted)
        qsort(v, k, sizeof *v, by_seq);
    *out = v;
    *n = k;
    return HX_OK;
}

json_t *ctx_msg_json(const ctx_msg_t *m)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I}", "seq", (json_int_t)m->seq, "message_id",
                          m->message_id ? m->message_id : "", "role", m->role ? m->role : "", "content",
                          m->content ? m->content : "", "tokens", (json_int_t)m->tokens, "created_at",
                          (json_int_t)m->created_at);
    if (!j)
        return NULL;
    if (m->model)
        json_object_set_new(j, "model", json_string(m->model));
    if (m->provider)
        json_object_set_new(j, "provider", json_string(m->provider));
    if (m->user_id)
        json_object_set_new(j, "user_id", json_string(m->user_id));
    if (m->session_id)
        json_object_set_new(j, "session_id", json_string(m->session_id));
    if (m->edit_seq)
        json_object_set_new(j, "edited_seq", json_integer((json_int_t)m->edit_seq));
    return j;
}
