/* libcurl behind hx_http_client.h. */
#include "helix/hx_http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)

struct hx_http_client {
    CURL *curl;
    char *user, *password, *auth_header, *ca_file, *cert_file, *key_file;
    long timeout_ms, connect_timeout_ms;
    int insecure;
    size_t max_response;
};

/* curl_global_init is not thread-safe and must run before the first handle;
 * once per process is all it needs. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    hx_buf_t *body;
    size_t max;
    int too_big;
} sink_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    sink_t *s = ud;
    if (s->body->len + sz * n > s->max) {
        s->too_big = 1;
        return 0;
    }
    if (hx_buf_append(s->body, p, sz * n))
        return 0;
    return sz * n;
}

static char *dup_opt(const char *s, int *oom)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

int hx_http_client_new(const hx_http_opts_t *o, hx_http_client_t **out, hx_err_t *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return hx_err_set(err, HX_EINTERNAL, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
    hx_http_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return hx_err_set(err, HX_ENOMEM, "out of memory creating an HTTP client");
    int oom = 0;
    c->user = dup_opt(o->user, &oom);
    c->password = dup_opt(o->password, &oom);
    c->ca_file = dup_opt(o->ca_file, &oom);
    c->cert_file = dup_opt(o->cert_file, &oom);
    c->key_file = dup_opt(o->key_file, &oom);
    if (o->bearer && *o->bearer) {
        size_t n = strlen(o->bearer) + 32;
        if ((c->auth_header = malloc(n)))
            snprintf(c->auth_header, n, "Authorization: Bearer %s", o->bearer);
        else
            oom = 1;
    }
    c->timeout_ms = o->timeout_ms;
    c->connect_timeout_ms = o->connect_timeout_ms;
    c->insecure = o->insecure;
    c->max_response = o->max_response_bytes ? o->max_response_bytes : DEFAULT_MAX_RESPONSE;
    c->curl = curl_easy_init();
    if (oom || !c->curl) {
        hx_http_client_free(c);
        return hx_err_set(err, HX_ENOMEM, "out of memory creating an HTTP client");
    }
    *out = c;
    return HX_OK;
}

void hx_http_client_free(hx_http_client_t *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->user);
    free(c->password);
    free(c->auth_header);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c);
}

void hx_http_resp_free(hx_http_resp_t *resp)
{
    if (!resp)
        return;
    hx_buf_free(&resp->body);
    resp->status = 0;
}

static void set_options(hx_http_client_t *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (c->connect_timeout_ms)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (c->user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

int hx_http_request(hx_http_client_t *c, const char *method, const char *url, const char *const *headers,
                    const void *body, size_t len, hx_http_resp_t *resp, hx_err_t *err)
{
    hx_buf_free(&resp->body);
    resp->status = 0;
    CURL *h = c->curl;
    curl_easy_reset(h);
    set_options(c, h);
    struct curl_slist *hl = NULL;
    int rc = HX_OK;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (!n) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory building HTTP headers");
            goto cleanup;
        }
        hl = n;
    }
    if (c->auth_header) {
        struct curl_slist *n = curl_slist_append(hl, c->auth_header);
        if (!n) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory building HTTP headers");
            goto cleanup;
        }
        hl = n;
    }
    sink_t sink = {&resp->body, c->max_response, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (sink.too_big)
            rc = hx_err_set(err, HX_ETOOBIG, "%s %s: the response is larger than %zu bytes", method, url,
                            c->max_response);
        else
            rc = hx_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? HX_ETIMEOUT : HX_EUNAVAIL, "%s %s failed: %s",
                            method, url, curl_easy_strerror(cc));
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!hx_buf_cstr(&resp->body))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory reading the response of %s", url);
cleanup:
    curl_slist_free_all(hl);
    return rc;
}

int hx_http_request_once(const hx_http_opts_t *opts, const char *method, const char *url,
                         const char *const *headers, const void *body, size_t len, hx_http_resp_t *resp,
                         hx_err_t *err)
{
    hx_http_client_t *c = NULL;
    int rc = hx_http_client_new(opts, &c, err);
    if (!rc)
        rc = hx_http_request(c, method, url, headers, body, len, resp, err);
    hx_http_client_free(c);
    return rc;
}

int hx_http_urlencode(hx_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '_' || ch == '.' || ch == '~';
        int rc = plain ? hx_buf_putc(b, ch)
                       : (hx_buf_putc(b, '%') || hx_buf_putc(b, (unsigned char)hex[ch >> 4]) ||
                          hx_buf_putc(b, (unsigned char)hex[ch & 15]));
        if (rc)
            return HX_ENOMEM;
    }
    return HX_OK;
}
