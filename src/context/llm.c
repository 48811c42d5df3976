/* Optional LLM summaries through an OpenAI-compatible chat-completions
 * endpoint (POST {endpoint}/chat/completions). Any failure - connection,
 * timeout, HTTP status, malformed reply - is returned as an error so the
 * caller falls back to the extractive summary for that window. */
#include "context/ctx_internal.h"
#include "helix/hx_http_client.h"

#include <stdlib.h>
#include <string.h>

#define MAX_REPLY (1 << 20)

int ctx_llm_parse_reply(const char *body, size_t len, char **out, hx_err_t *err)
{
    *out = NULL;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *content = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    int rc = HX_OK;
    if (!content || !*content)
        rc = hx_err_set(err, HX_EINVAL, "returned no choices[0].message.content");
    else if (!(*out = strdup(content)))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    json_decref(j);
    return rc;
}

int ctx_llm_summarise(const ctx_llm_cfg_t *cfg, const char *text, size_t len, uint32_t max_tokens, char **out,
                      hx_err_t *err)
{
    *out = NULL;
    char url[HX_CFG_STR + 32];
    size_t el = strlen(cfg->endpoint);
    snprintf(url, sizeof url, "%.*s/chat/completions", (int)(el && cfg->endpoint[el - 1] == '/' ? el - 1 : el),
             cfg->endpoint);
    char sys[256];
    snprintf(sys, sizeof sys,
             "Summarise this conversation excerpt in at most %u tokens. Keep names, numbers, decisions and open "
             "questions. Reply with the summary only.",
             max_tokens);
    json_t *req = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s%}],s:i,s:f}", "model", cfg->model[0] ? cfg->model : "default",
                            "messages", "role", "system", "content", sys, "role", "user", "content", text, len,
                            "max_tokens", (int)max_tokens, "temperature", 0.0);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return hx_err_set(err, HX_ENOMEM, "out of memory building the LLM request");
    const char *headers[] = {"Content-Type: application/json", NULL};
    hx_http_opts_t opts = {.timeout_ms = (long)cfg->timeout_ms, .bearer = cfg->api_key, .max_response_bytes = MAX_REPLY};
    hx_http_resp_t resp = {0};
    int rc = hx_http_request_once(&opts, "POST", url, headers, body, strlen(body), &resp, err);
    if (rc) {
        hx_err_wrap(err, "LLM request");
        goto done;
    }
    if (resp.status != 200) {
        rc = hx_err_set(err, HX_EUNAVAIL, "LLM endpoint %s answered HTTP %ld", url, resp.status);
        goto done;
    }
    if ((rc = ctx_llm_parse_reply((const char *)resp.body.data, resp.body.len, out, err)))
        hx_err_wrap(err, "LLM endpoint %s", url);
done:
    hx_http_resp_free(&resp);
    free(body);
    return rc;
}
