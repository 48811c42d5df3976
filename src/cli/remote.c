/* Choosing between the data dir and a running server, and the HTTP client
 * the data commands use for the latter (remote.h). */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_buf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URL a running `helix serve` left in its data dir, if any. */
static int served_url(const hx_config_t *cfg, char *out, size_t len)
{
    char p[HX_CFG_STR + 16];
    snprintf(p, sizeof p, "%s/serve.url", cfg->node.data_dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    int ok = fgets(out, (int)len, f) != NULL;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return ok && strncmp(out, "http://", 7) == 0;
}

static void remote_init(const hx_config_t *cfg, const char *server, hx_cli_remote_t *r)
{
    const char *u = server ? server : cfg->cli.server_url;
    if (u && *u)
        snprintf(r->url, sizeof r->url, "%s", u);
    else if (!server && served_url(cfg, r->url, sizeof r->url))
        ; /* the server that holds the data dir said where it listens */
    else
        snprintf(r->url, sizeof r->url, "http://%s:%d", cfg->server.host[0] ? cfg->server.host : "127.0.0.1",
                 cfg->server.port);
    size_t n = strlen(r->url);
    while (n && r->url[n - 1] == '/')
        r->url[--n] = '\0';
    snprintf(r->key, sizeof r->key, "%s", cfg->cli.api_key[0] ? cfg->cli.api_key : cfg->server.token);
}

int hx_cli_open_target(const hx_cli_common_t *co, hx_config_t *cfg, hx_broker_t **broker, hx_cli_remote_t *remote)
{
    *broker = NULL;
    memset(remote, 0, sizeof *remote);
    if (hx_cli_load_config(co->config, co->data_dir, NULL, NULL, cfg))
        return 2;
    if (co->server) {
        remote_init(cfg, co->server, remote);
        snprintf(remote->why, sizeof remote->why, "--server");
        return 0;
    }
    hx_err_t err = {0};
    int rc = hx_broker_open(cfg, NULL, broker, &err);
    if (rc == HX_EUNAVAIL && strcmp(cfg->backends.events, "embedded") == 0) {
        /* The data dir is locked: a running server owns it, so use its API. */
        remote_init(cfg, NULL, remote);
        snprintf(remote->why, sizeof remote->why, "data dir %s is held by another helix process", cfg->node.data_dir);
        fprintf(stderr, "helix: %s; using the server's HTTP API at %s\n", remote->why, remote->url);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "helix: %s\n", err.msg);
        return rc == HX_ECONFIG ? 2 : 1;
    }
    return 0;
}

void hx_cli_escape(const char *s, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

int hx_cli_exit_code(int rc)
{
    switch (rc) {
    case HX_OK: return 0;
    case HX_EINVAL: case HX_ETOOBIG: case HX_EAUTH: case HX_EFORBIDDEN: case HX_ECONFIG:
        return 2;
    default: return 1;
    }
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    return hx_buf_append(ud, p, sz * n) ? 0 : sz * n;
}

static int status_code(long st)
{
    switch (st) {
    case 400: return HX_EINVAL;
    case 401: return HX_EAUTH;
    case 403: return HX_EFORBIDDEN;
    case 404: return HX_ENOTFOUND;
    case 409: return HX_EEXIST;
    case 413: return HX_ETOOBIG;
    case 501: return HX_ENOTIMPL;
    case 503: return HX_EUNAVAIL;
    default: return HX_EIO;
    }
}

int hx_cli_http(const hx_cli_remote_t *r, const char *method, const char *path, const json_t *body, const char *tenant,
                json_t **out, hx_err_t *err)
{
    *out = NULL;
    char url[2048], hdr[HX_CFG_STR + 32];
    snprintf(url, sizeof url, "%s%s", r->url, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    if (r->key[0]) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", r->key);
        hl = curl_slist_append(hl, hdr);
    }
    if (tenant) {
        snprintf(hdr, sizeof hdr, "X-Helix-Tenant: %s", tenant);
        hl = curl_slist_append(hl, hdr);
    }
    hx_buf_t resp = HX_BUF_INIT;
    int rc = HX_OK;
    if (!c || !hl) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto cleanup;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (text)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = hx_err_set(err, HX_EUNAVAIL, "no helix server answers at %s (%s): %s; start `helix serve`, or point "
                        "--server / cli.server_url at it", r->url, r->why, curl_easy_strerror(cc));
        goto cleanup;
    }
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    json_error_t je;
    json_t *j = resp.len ? json_loadb((const char *)resp.data, resp.len, 0, &je) : NULL;
    if (st < 200 || st > 299) {
        const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        rc = hx_err_set(err, status_code(st), "%s (HTTP %ld from %s)", msg ? msg : "the server refused the request",
                        st, r->url);
        json_decref(j);
        goto cleanup;
    }
    if (resp.len && !j) {
        rc = hx_err_set(err, HX_EIO, "%s %s answered something that is not JSON", method, url);
        goto cleanup;
    }
    *out = j;
cleanup:
    hx_buf_free(&resp);
    curl_slist_free_all(hl);
    if (c)
        curl_easy_cleanup(c);
    free(text);
    return rc;
}
