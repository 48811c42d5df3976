/* The context subsystem: conversation ingest and read-back, replay with
 * compression, and per-conversation stats (docs/context.md). A conversation
 * id names a different conversation in each tenant. */
#include "api/api.h"
#include "helix/hx_api_requests.h"
#include "helix/hx_context.h"

#include <stdlib.h>
#include <string.h>

#define CTX(ctx) (((hx_app_t *)(ctx))->context)

static int post_messages(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    /* One message of the usual shape is read from the body's text, and the
     * answer is written as text: no jansson tree either way. Any other body
     * (a batch, or a bad one) is parsed as a tree, answering as it always did. */
    size_t len;
    const char *text = hx_req_body(req, &len);
    hx_ctx_ingest_t rq;
    int rc = HX_OK;
    if (hx_api_ctx_ingest_parse_text(text, len, &rq) != HX_OK) {
        json_t *body = hx_req_json(req, err);
        if (!body)
            return HX_EINVAL;
        if ((rc = hx_api_ctx_ingest_parse(body, &rq, err)))
            return rc;
    }
    rq.tenant = hx_req_tenant(req);
    rq.conversation_id = id;
    hx_buf_t out = HX_BUF_INIT;
    rc = hx_context_ingest_text(CTX(ctx), &rq, &out, err);
    hx_api_ctx_ingest_free(&rq);
    if (!rc)
        rc = hx_res_buf(res, 201, "application/json", &out);
    hx_buf_free(&out);
    return rc;
}

static int get_messages(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    int64_t from, since, limit;
    int rc;
    if ((rc = hx_req_query_int(req, "from_seq", 0, 0, INT64_MAX, &from)) ||
        (rc = hx_req_query_int(req, "since", 0, 0, INT64_MAX, &since)) ||
        (rc = hx_req_query_int(req, "limit", 100, 1, 10000, &limit)))
        return rc;
    json_t *out;
    rc = hx_context_messages(CTX(ctx), hx_req_tenant(req), id, (uint64_t)from, since, (int)limit,
                             &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

int hx_api_replay_request(const json_t *body, const char *tenant, hx_ctx_request_t *rq, hx_err_t *err)
{
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object");
    static const char *const known[] = {"conversation_id", "max_tokens", "compression_strategy", "target_ratio",
                                  "preserve_recent_count", "window_size", "use_llm", "from_seq", "since", NULL};
    int rc0 = hx_json_check_known(body, known, err);
    if (rc0)
        return rc0;
    hx_ctx_request_defaults(rq);
    rq->tenant = tenant;
    rq->conversation_id = json_string_value(json_object_get(body, "conversation_id"));
    if (!rq->conversation_id || !*rq->conversation_id)
        return hx_err_set(err, HX_EINVAL, "field 'conversation_id' is required (a string)");
    int rc1 = hx_id_check(rq->conversation_id, "field 'conversation_id'", err);
    if (rc1)
        return rc1;
    int64_t max = 0, pres = -1, win = -1, from = 0, since = 0;
    int rc;
    if ((rc = hx_json_opt_int(body, "max_tokens", 1, &max, err)) ||
        (rc = hx_json_opt_int(body, "preserve_recent_count", 0, &pres, err)) ||
        (rc = hx_json_opt_int(body, "window_size", 2, &win, err)) ||
        (rc = hx_json_opt_int(body, "from_seq", 0, &from, err)) || (rc = hx_json_opt_int(body, "since", 0, &since, err)))
        return rc;
    if (pres > 1000000 || win > 100000)
        return hx_err_set(err, HX_EINVAL, "preserve_recent_count or window_size is out of range");
    rq->max_tokens = max;
    rq->preserve_recent_count = (int)pres;
    rq->window_size = (int)win;
    rq->from_seq = (uint64_t)from;
    rq->since_ms = since;
    json_t *s = json_object_get(body, "compression_strategy");
    if (s && !json_is_string(s))
        return hx_err_set(err, HX_EINVAL, "field 'compression_strategy' must be a string");
    rq->strategy = json_string_value(s);
    json_t *r = json_object_get(body, "target_ratio");
    if (r && (!json_is_number(r) || json_number_value(r) <= 0 || json_number_value(r) > 1))
        return hx_err_set(err, HX_EINVAL, "field 'target_ratio' must be a number in (0, 1]");
    rq->target_ratio = r ? json_number_value(r) : 0;
    json_t *u = json_object_get(body, "use_llm");
    if (u && !json_is_boolean(u))
        return hx_err_set(err, HX_EINVAL, "field 'use_llm' must be true or false");
    if (u)
        rq->use_llm = json_is_true(u);
    return HX_OK;
}

static int replay(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    hx_ctx_request_t rq;
    int rc = hx_api_replay_request(body, hx_req_tenant(req), &rq, err);
    if (rc)
        return rc;
    json_t *out;
    rc = hx_context_replay(CTX(ctx), &rq, &out, err);
    return rc ? rc : hx_res_json(res, 200, out);
}

static int stats(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    json_t *out;
    int rc = hx_context_stats(CTX(ctx), hx_req_tenant(req), id, &out, hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, out);
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"POST", "/v1/conversations/{id}/messages", post_messages, HX_ROLE_DEFAULT},
        {"GET", "/v1/conversations/{id}/messages", get_messages, HX_ROLE_DEFAULT},
        {"POST", "/v1/context/replay", replay, HX_ROLE_READER},
        {"GET", "/v1/context/stats/{id}", stats, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_context(hx_app_t *app, hx_err_t *err)
{
    return hx_context_new(app->cfg, app->broker, app->metrics, &app->context, err);
}

static void close_context(hx_app_t *app)
{
    hx_context_free(app->context);
    app->context = NULL;
}

const hx_subsystem_t hx_subsys_context = {"context", open_context, routes, NULL, close_context};
