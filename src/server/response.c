/* Building responses; server.c turns them into MHD responses. */
#include "server/server_int.h"
#include "helix/hx_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_res_clear(hx_res_t *res)
{
    free(res->content_type);
    res->content_type = NULL;
    hx_buf_free(&res->body);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
    res->headers = NULL;
    res->nheaders = 0;
    res->status = 0;
}

/* Replaces status and type, empties the body; headers added earlier are kept. */
static int set_head(hx_res_t *res, int status, const char *ctype)
{
    char *ct = strdup(ctype);
    if (!ct)
        return HX_ENOMEM;
    free(res->content_type);
    res->content_type = ct;
    hx_buf_reset(&res->body);
    res->status = status;
    return HX_OK;
}

static int set_body(hx_res_t *res, int status, const char *ctype, const char *p, size_t n)
{
    int rc = set_head(res, status, ctype);
    return rc ? rc : hx_buf_append(&res->body, p, n) ? HX_ENOMEM : HX_OK;
}

int hx_res_json(hx_res_t *res, int status, json_t *body)
{
    if (!body)
        return hx_res_error(res, 500, "internal_error", "handler produced no JSON body");
    /* Written straight into the body by hx_json_write (json_dumps' bytes,
     * without its callback per token): no string to allocate and copy. */
    int rc = set_head(res, status, "application/json");
    rc = rc ? rc : hx_json_write(&res->body, body);
    json_decref(body);
    return rc ? hx_res_error(res, 500, "internal_error", "cannot serialize the JSON response") : HX_OK;
}

int hx_res_buf(hx_res_t *res, int status, const char *content_type, hx_buf_t *body)
{
    int rc = set_head(res, status, content_type ? content_type : "text/plain; charset=utf-8");
    if (rc)
        return rc;
    hx_buf_t old = res->body;
    res->body = *body;
    *body = old; /* the caller frees what was ours (empty after set_head) */
    hx_buf_reset(body);
    return HX_OK;
}

int hx_res_text(hx_res_t *res, int status, const char *content_type, const char *text, size_t len)
{
    return set_body(res, status, content_type ? content_type : "text/plain; charset=utf-8",
                    text ? text : "", text ? len : 0);
}

int hx_res_error(hx_res_t *res, int http_status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code ? code : "error", "message", msg);
    if (!j) /* message was not valid UTF-8: say so rather than lose the error */
        j = json_pack("{s:{s:s,s:s}}", "error", "code", code ? code : "error", "message",
                      "(message not valid UTF-8)");
    return hx_res_json(res, http_status, j);
}

int hx_res_header(hx_res_t *res, const char *name, const char *value)
{
    hx_res_header_t *h = realloc(res->headers, (res->nheaders + 1) * sizeof *h);
    if (!h)
        return HX_ENOMEM;
    res->headers = h;
    h[res->nheaders].name = strdup(name);
    h[res->nheaders].value = strdup(value);
    if (!h[res->nheaders].name || !h[res->nheaders].value) {
        free(h[res->nheaders].name);
        free(h[res->nheaders].value);
        return HX_ENOMEM;
    }
    res->nheaders++;
    return HX_OK;
}
