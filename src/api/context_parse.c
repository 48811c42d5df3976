/* Conversation ingest bodies -> hx_ctx_ingest_t (hx_api_requests.h). */
#include "api/body_text.h"
#include "helix/hx_api_requests.h"
#include "helix/hx_json.h"

#include <stdlib.h>
#include <string.h>

void hx_ctx_item_init(hx_ctx_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->op = HX_CTX_ADD;
    it->tokens = -1;
    it->created_at = -1;
}

static int opt_str(const json_t *o, const char *name, size_t i, const char **dst, hx_err_t *err)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return HX_OK;
    if (!json_is_string(v))
        return hx_err_set(err, HX_EINVAL, "messages[%zu].%s must be a string", i, name);
    *dst = json_string_value(v);
    return HX_OK;
}

static int opt_count(const json_t *o, const char *name, size_t i, int64_t *dst, hx_err_t *err)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return HX_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return hx_err_set(err, HX_EINVAL, "messages[%zu].%s must be a non-negative integer", i, name);
    *dst = json_integer_value(v);
    return HX_OK;
}

static int parse_item(const json_t *o, size_t i, hx_ctx_item_t *it, hx_err_t *err)
{
    static const char *const known[] = {"op",      "message_id", "role",    "content",    "model", "provider",
                                        "tokens",  "created_at", "user_id", "session_id", NULL};
    hx_ctx_item_init(it);
    if (!json_is_object(o))
        return hx_err_set(err, HX_EINVAL, "messages[%zu] must be an object", i);
    int rc = hx_json_check_known(o, known, err);
    if (rc) {
        hx_err_wrap(err, "messages[%zu]", i);
        return rc;
    }
    json_t *op = json_object_get(o, "op");
    const char *ops = json_string_value(op);
    if (op && !ops)
        return hx_err_set(err, HX_EINVAL, "messages[%zu].op must be add, update, delete or complete", i);
    if (!ops || !strcmp(ops, "add"))
        it->op = HX_CTX_ADD;
    else if (!strcmp(ops, "update"))
        it->op = HX_CTX_UPDATE;
    else if (!strcmp(ops, "delete"))
        it->op = HX_CTX_DELETE;
    else if (!strcmp(ops, "complete"))
        it->op = HX_CTX_COMPLETE;
    else
        return hx_err_set(err, HX_EINVAL, "messages[%zu].op '%s' must be add, update, delete or complete", i, ops);
    if ((rc = opt_str(o, "message_id", i, &it->message_id, err)) || (rc = opt_str(o, "role", i, &it->role, err)) ||
        (rc = opt_str(o, "content", i, &it->content, err)) || (rc = opt_str(o, "model", i, &it->model, err)) ||
        (rc = opt_str(o, "provider", i, &it->provider, err)) || (rc = opt_str(o, "user_id", i, &it->user_id, err)) ||
        (rc = opt_str(o, "session_id", i, &it->session_id, err)) ||
        (rc = opt_count(o, "tokens", i, &it->tokens, err)) ||
        (rc = opt_count(o, "created_at", i, &it->created_at, err)))
        return rc;
    return HX_OK;
}

int hx_api_ctx_ingest_parse(const json_t *body, hx_ctx_ingest_t *rq, hx_err_t *err)
{
    memset(rq, 0, sizeof *rq);
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a message object or {\"messages\":[...]}");
    json_t *list = json_object_get(body, "messages");
    if (list && !json_is_array(list))
        return hx_err_set(err, HX_EINVAL, "field 'messages' must be an array of messages");
    if (list && json_object_size(body) != 1)
        return hx_err_set(err, HX_EINVAL, "a body with 'messages' has no other fields: put them in the items");
    size_t n = list ? json_array_size(list) : 1;
    if (!n)
        return hx_err_set(err, HX_EINVAL, "no messages to add: 'messages' is empty");
    hx_ctx_item_t *items = calloc(n, sizeof *items);
    if (!items)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = parse_item(list ? json_array_get(list, i) : body, i, &items[i], err);
        if (rc) {
            free(items);
            return rc;
        }
    }
    rq->items = items;
    rq->n = n;
    return HX_OK;
}

int hx_api_ctx_ingest_parse_text(const char *text, size_t len, hx_ctx_ingest_t *rq)
{
    static const char *const names[] = {"op",      "message_id", "role",    "content",    "model", "provider",
                                        "tokens",  "created_at", "user_id", "session_id", NULL};
    static const char *const ops[] = {"add", "update", "delete", "complete"};
    static const hx_ctx_op_t op_of[] = {HX_CTX_ADD, HX_CTX_UPDATE, HX_CTX_DELETE, HX_CTX_COMPLETE};
    memset(rq, 0, sizeof *rq);
    hx_body_rd_t b;
    if (hx_body_rd_init(&b, text, len, sizeof(hx_ctx_item_t)))
        return HX_EAGAIN;
    hx_ctx_item_t *it = (hx_ctx_item_t *)(void *)b.arena;
    hx_ctx_item_init(it);
    unsigned seen = 0;
    int rc = hx_jr_eat(&b.r, '{') ? HX_OK : HX_EAGAIN;
    if (!rc && !hx_jr_eat(&b.r, '}')) {
        do {
            int f = hx_body_key(&b, names); /* "messages" too is for the tree path */
            if (f < 0 || (seen & (1u << f))) {
                rc = HX_EAGAIN;
                break;
            }
            seen |= 1u << f;
            const char *op = NULL;
            switch (f) {
            case 0:
                rc = hx_body_str(&b, 0, &op);
                for (size_t i = 0; !rc && i < 4; i++)
                    if (!strcmp(op, ops[i])) {
                        it->op = op_of[i];
                        op = NULL;
                        break;
                    }
                rc = rc ? rc : op ? HX_EAGAIN : HX_OK;
                break;
            case 1: rc = hx_body_str(&b, 1, &it->message_id); break;
            case 2: rc = hx_body_str(&b, 1, &it->role); break;
            case 3: rc = hx_body_str(&b, 1, &it->content); break;
            case 4: rc = hx_body_str(&b, 1, &it->model); break;
            case 5: rc = hx_body_str(&b, 1, &it->provider); break;
            case 8: rc = hx_body_str(&b, 1, &it->user_id); break;
            case 9: rc = hx_body_str(&b, 1, &it->session_id); break;
            default: {
                int64_t *dst = f == 6 ? &it->tokens : &it->created_at;
                if (!hx_body_null(&b))
                    rc = hx_body_int(&b, dst) ? HX_EAGAIN : *dst < 0 ? HX_EAGAIN : HX_OK;
            }
            }
        } while (!rc && hx_jr_eat(&b.r, ','));
        if (!rc && !hx_jr_eat(&b.r, '}'))
            rc = HX_EAGAIN;
    }
    if (!rc)
        rc = hx_body_end(&b);
    hx_body_rd_done(&b, !rc);
    if (rc)
        return HX_EAGAIN;
    rq->items = it; /* the arena: hx_api_ctx_ingest_free frees it */
    rq->n = 1;
    return HX_OK;
}

void hx_api_ctx_ingest_free(hx_ctx_ingest_t *rq)
{
    free((void *)rq->items);
    rq->items = NULL;
    rq->n = 0;
}

int hx_api_ctx_ingest_json(hx_context_t *c, const char *tenant, const char *conversation_id, const json_t *body,
                           json_t **out, hx_err_t *err)
{
    hx_ctx_ingest_t rq;
    int rc = hx_api_ctx_ingest_parse(body, &rq, err);
    if (rc)
        return rc;
    rq.tenant = tenant;
    rq.conversation_id = conversation_id;
    rc = hx_context_ingest(c, &rq, out, err);
    hx_api_ctx_ingest_free(&rq);
    return rc;
}
