/* Optional LLM summaries through an OpenAI-compatible chat-completions
 * endpoint (POST {endpoint}/chat/completions). Any failure - connection,
 * timeout, HTTP status, malformed reply - is returned as an error so the
 * caller falls back to the extractive summary for that window. */
#include "context/ctx_internal.h"
#include "helix/hx_buf.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPLY (1 << 20)

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    hx_buf_t *b = ud;
    if (b->len + sz * n > MAX_REPLY || hx_buf_append(b, p, sz * n))
        return 0;
    return sz * n;
}

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
    CURL *c = curl_easy_init();
    hx_buf_t resp = HX_BUF_INIT;
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[HX_CFG_STR + 32];
    if (cfg->api_key && cfg->api_key[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->api_key);
        hl = curl_slist_append(hl, auth);
    }
    int rc = HX_OK;
    if (!c) {
        rc = hx_err_set(err, HX_ENOMEM, "cannot start an HTTP client for the LLM");
        goto done;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        rc = hx_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? HX_ETIMEOUT : HX_EUNAVAIL, "LLM request to %s failed: %s",
                        url, curl_easy_strerror(cc));
        goto done;
    }
    if (status != 200) {
        rc = hx_err_set(err, HX_EUNAVAIL, "LLM endpoint %s answered HTTP %ld", url, status);
        goto done;
    }
    if ((rc = ctx_llm_parse_reply((const char *)resp.data, resp.len, out, err)))
        hx_err_wrap(err, "LLM endpoint %s", url);
done:
    curl_slist_free_all(hl);
    if (c)
        curl_easy_cleanup(c);
    hx_buf_free(&resp);
    free(body);
    return rc;
}
