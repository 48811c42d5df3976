/* One HTTP connection to ClickHouse (ch.h). */
#include "analytics/clickhouse/ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ch_conn_open(const ch_opts_t *o, ch_conn_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!o->url || strncmp(o->url, "http", 4) != 0 || !strstr(o->url, "://"))
        return hx_err_set(err, HX_ECONFIG, "clickhouse.url must be http://host:port or https://host:port, got '%s'",
                          o->url ? o->url : "");
    if (!o->database || !*o->database || strspn(o->database, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_") != strlen(o->database))
        return hx_err_set(err, HX_ECONFIG, "clickhouse.database must be letters, digits and '_', got '%s'",
                          o->database ? o->database : "");
    ch_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    hx_http_opts_t ho = {.timeout_ms = o->timeout_ms,
                         .connect_timeout_ms = o->connect_timeout_ms,
                         .user = o->user,
                         .password = o->password,
                         .ca_file = o->ca_file,
                         .cert_file = o->cert_file,
                         .key_file = o->key_file,
                         .insecure = o->insecure};
    int rc = hx_http_client_new(&ho, &c->http, err);
    if (rc) {
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    size_t ul = strlen(o->url);
    while (ul && o->url[ul - 1] == '/')
        ul--;
    snprintf(c->url, sizeof c->url, "%.*s", (int)ul, o->url);
    snprintf(c->database, sizeof c->database, "%s", o->database);
    c->insert_retries = o->insert_retries;
    c->retry_backoff_ms = o->retry_backoff_ms > 0 ? o->retry_backoff_ms : 100;
    c->index_granularity = o->index_granularity > 0 ? o->index_granularity : 8192;
    memcpy(c->ttl_days, o->ttl_days, sizeof c->ttl_days);
    *out = c;
    return HX_OK;
}

void ch_conn_close(ch_conn_t *c)
{
    if (!c)
        return;
    hx_http_client_free(c->http);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ClickHouse error codes (dbms/src/Common/ErrorCodes.cpp) that mean
 * something to a caller; the rest are internal errors of the query. */
static int map_code(int ch, long status)
{
    switch (ch) {
    case 62: /* SYNTAX_ERROR */
    case 43: /* ILLEGAL_TYPE_OF_ARGUMENT */
    case 47: /* UNKNOWN_IDENTIFIER */
    case 46: /* UNKNOWN_FUNCTION */
    case 27: /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
    case 33: /* CANNOT_READ_ALL_DATA (a short RowBinary body) */
    case 26: /* CANNOT_PARSE_QUOTED_STRING */
    case 53: /* TYPE_MISMATCH */
    case 6:  /* CANNOT_PARSE_TEXT */
    case 117: /* INCORRECT_DATA */
    case 41: /* CANNOT_PARSE_DATETIME */
    case 38: /* CANNOT_PARSE_DATE */
    case 72: /* CANNOT_PARSE_NUMBER */
        return HX_EINVAL;
    case 60: /* UNKNOWN_TABLE */
    case 81: /* UNKNOWN_DATABASE */
        return HX_ENOTFOUND;
    case 57: /* TABLE_ALREADY_EXISTS */
    case 82: /* DATABASE_ALREADY_EXISTS */
        return HX_EEXIST;
    case 159: /* TIMEOUT_EXCEEDED */
        return HX_ETIMEOUT;
    case 158: /* TOO_MANY_ROWS */
    case 396: /* TOO_MANY_ROWS_OR_BYTES */
    case 241: /* MEMORY_LIMIT_EXCEEDED */
        return HX_ETOOBIG;
    case 164: /* READONLY */
    case 192: /* UNKNOWN_USER */
    case 193: /* WRONG_PASSWORD */
    case 194: /* REQUIRED_PASSWORD */
    case 195: /* IP_ADDRESS_NOT_ALLOWED */
    case 516: /* AUTHENTICATION_FAILED (newer releases) */
        return HX_EAUTH;
    case 252: /* TOO_MANY_PARTS */
    case 216: /* QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING: a lost attempt still runs */
    case 202: /* TOO_MANY_SIMULTANEOUS_QUERIES */
    case 209: /* SOCKET_TIMEOUT */
    case 210: /* NETWORK_ERROR */
        return HX_EAGAIN;
    default:
        if (status == 401 || status == 403)
            return HX_EAUTH;
        if (status == 400)
            return HX_EINVAL;
        return status >= 500 && ch == 0 ? HX_EUNAVAIL : HX_EINTERNAL;
    }
}

int ch_retryable(int code)
{
    return code == HX_EUNAVAIL || code == HX_ETIMEOUT || code == HX_EAGAIN;
}

int ch_parse_error(const char *url, long status, const char *body, hx_err_t *err)
{
    int ch = 0;
    const char *p = strstr(body, "Code: ");
    if (p)
        ch = atoi(p + 6);
    /* "Code: 62, e.displayText() = DB::Exception: Syntax error ..., e.what() = DB::Exception" */
    const char *msg = strstr(body, "e.displayText() = ");
    msg = msg ? msg + 18 : body;
    if (strncmp(msg, "DB::Exception: ", 15) == 0)
        msg += 15;
    const char *end = strstr(msg, ", e.what()");
    size_t n = end ? (size_t)(end - msg) : strlen(msg);
    /* Parse errors span lines (one per column): fold them into one. */
    char text[361];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof text - 1; i++) {
        char ch2 = msg[i] == '\n' || msg[i] == '\t' ? ' ' : msg[i];
        if (ch2 == ' ' && k && text[k - 1] == ' ')
            continue;
        text[k++] = ch2;
    }
    while (k && text[k - 1] == ' ')
        k--;
    text[k] = 0;
    return hx_err_set(err, map_code(ch, status), "ClickHouse at %s: %s%s (HTTP %ld, code %d)", url, text,
                      k == sizeof text - 1 ? "..." : "", status, ch);
}

int ch_exec(ch_conn_t *c, const char *sql, const void *data, size_t len, const char *settings, int use_db,
            hx_buf_t *out, hx_err_t *err)
{
    return ch_exec_body(c, sql, data, len, NULL, settings, use_db, out, err);
}

int ch_exec_body(ch_conn_t *c, const char *sql, const void *data, size_t len, const char *const *headers,
                 const char *settings, int use_db, hx_buf_t *out, hx_err_t *err)
{
    hx_buf_t url = HX_BUF_INIT;
    int rc = hx_buf_printf(&url, "%s/?", c->url);
    if (!rc && use_db)
        rc = hx_buf_printf(&url, "database=%s&", c->database);
    if (!rc && data) {
        rc = hx_buf_puts(&url, "query=");
        if (!rc)
            rc = hx_http_urlencode(&url, sql, strlen(sql));
        if (!rc)
            rc = hx_buf_putc(&url, '&');
    }
    if (!rc && settings && *settings)
        rc = hx_buf_puts(&url, settings);
    if (rc || !hx_buf_cstr(&url)) {
        hx_buf_free(&url);
        return hx_err_set(err, HX_ENOMEM, "out of memory building a ClickHouse request");
    }
    const void *body = data ? data : sql;
    size_t blen = data ? len : strlen(sql);
    hx_http_resp_t resp = {0};
    pthread_mutex_lock(&c->mu);
    c->requests++;
    rc = hx_http_request(c->http, "POST", (const char *)url.data, headers, body, blen, &resp, err);
    if (rc)
        c->failures++;
    pthread_mutex_unlock(&c->mu);
    if (rc) {
        /* A connection error names the URL with the query in it: name the server only. */
        if (err) {
            const char *why = strstr(err->msg, " failed: ");
            char reason[256];
            snprintf(reason, sizeof reason, "%s", why ? why + 9 : err->msg);
            hx_err_set(err, rc, "ClickHouse at %s is unreachable: %s (check clickhouse.url, or start the server)",
                       c->url, reason);
        }
    } else if (resp.status != 200) {
        rc = ch_parse_error(c->url, resp.status, hx_buf_cstr(&resp.body), err);
    } else if (out) {
        hx_buf_free(out);
        *out = resp.body;
        resp.body = (hx_buf_t)HX_BUF_INIT;
    }
    hx_http_resp_free(&resp);
    hx_buf_free(&url);
    return rc;
}

int ch_ping(ch_conn_t *c, hx_err_t *err)
{
    char url[600];
    snprintf(url, sizeof url, "%s/ping", c->url);
    hx_http_resp_t resp = {0};
    pthread_mutex_lock(&c->mu);
    int rc = hx_http_request(c->http, "GET", url, NULL, NULL, 0, &resp, err);
    pthread_mutex_unlock(&c->mu);
    if (!rc && (resp.status != 200 || strncmp(hx_buf_cstr(&resp.body), "Ok.", 3) != 0))
        rc = hx_err_set(err, HX_EUNAVAIL, "ClickHouse at %s answered /ping with HTTP %ld", c->url, resp.status);
    else if (rc)
        hx_err_wrap(err, "ClickHouse ping");
    hx_http_resp_free(&resp);
    return rc;
}
