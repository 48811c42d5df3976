/* Outgoing HTTP requests on libcurl, shared by every client Helix runs
 * against another server (the ClickHouse backend, the context LLM client).
 *
 * A client keeps one curl handle so consecutive requests reuse the TCP (and
 * TLS) connection; it is not thread-safe: one client per thread, or a lock
 * around it. A request returns HX_OK as soon as a complete response arrived,
 * whatever its status (the caller decides what a 4xx/5xx means); transport
 * failures are HX_ETIMEOUT (deadline) or HX_EUNAVAIL (refused, reset, DNS,
 * TLS), each with curl's reason in the message.
 *
 * Ownership: the client copies every string of its options; a response owns
 * its body (hx_http_resp_free). */
#ifndef HX_HTTP_CLIENT_H
#define HX_HTTP_CLIENT_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>

typedef struct hx_http_opts {
    long timeout_ms;          /* whole request; 0 = none */
    long connect_timeout_ms;  /* TCP+TLS connect; 0 = curl's default (300 s) */
    const char *user;         /* HTTP basic auth when non-empty */
    const char *password;
    const char *bearer;       /* "Authorization: Bearer ..." when non-empty */
    /* TLS, passed through to curl for https:// URLs. */
    const char *ca_file;      /* CA bundle (PEM); empty = system store */
    const char *cert_file;    /* client certificate (PEM) */
    const char *key_file;     /* client key (PEM) */
    int insecure;             /* 1 = do not verify the peer (tests only) */
    size_t max_response_bytes; /* larger bodies fail with HX_ETOOBIG; 0 = 64 MiB */
} hx_http_opts_t;

typedef struct hx_http_resp {
    long status;              /* HTTP status code */
    hx_buf_t body;            /* NUL-terminated via hx_buf_cstr */
} hx_http_resp_t;

typedef struct hx_http_client hx_http_client_t;

int hx_http_client_new(const hx_http_opts_t *opts, hx_http_client_t **out, hx_err_t *err);
void hx_http_client_free(hx_http_client_t *c);

/* method "GET" or "POST" (body may be NULL with len 0). headers: NULL or a
 * NULL-terminated array of "Name: value" lines. resp is overwritten; free it
 * with hx_http_resp_free even after an error. */
int hx_http_request(hx_http_client_t *c, const char *method, const char *url, const char *const *headers,
                    const void *body, size_t len, hx_http_resp_t *resp, hx_err_t *err);

/* One request on a short-lived client: for callers that send rarely. */
int hx_http_request_once(const hx_http_opts_t *opts, const char *method, const char *url,
                         const char *const *headers, const void *body, size_t len, hx_http_resp_t *resp,
                         hx_err_t *err);

void hx_http_resp_free(hx_http_resp_t *resp);

/* Appends s percent-encoded for a URL query value to b. */
int hx_http_urlencode(hx_buf_t *b, const char *s, size_t len);

#endif
