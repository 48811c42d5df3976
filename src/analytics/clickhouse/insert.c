/* Batch inserts into ClickHouse (ch.h). */
#include "analytics/clickhouse/ch.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ch_tsv_str(hx_buf_t *b, const char *s, size_t len)
{
    if (hx_buf_reserve(b, len + 8))
        return HX_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i], esc = 0;
        switch (ch) {
        case '\t': esc = 't'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\\': esc = '\\'; break;
        case '\0': esc = '0'; break;
        case '\b': esc = 'b'; break;
        case '\f': esc = 'f'; break;
        default: break;
        }
        int rc = esc ? (hx_buf_putc(b, '\\') || hx_buf_putc(b, (unsigned char)esc)) : hx_buf_putc(b, (unsigned char)ch);
        if (rc)
            return HX_ENOMEM;
    }
    return HX_OK;
}

int ch_tsv_i64(hx_buf_t *b, int64_t v) { return hx_buf_printf(b, "%" PRId64, v) ? HX_ENOMEM : HX_OK; }

int ch_tsv_f64(hx_buf_t *b, double v)
{
    /* ClickHouse reads nan/inf, but a metric that is not finite is a bug
     * upstream: store 0 rather than poison every sum over it. */
    if (!isfinite(v))
        v = 0;
    return hx_buf_printf(b, "%.17g", v) ? HX_ENOMEM : HX_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 1 = rows of the range are stored, 0 = none, <0 = cannot tell. */
static int landed(ch_conn_t *c, const char *table, const ch_batch_src_t *src)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s.%s WHERE _src = %" PRIu32 " AND _offset >= %" PRIu64 " AND _offset <= %" PRIu64,
             c->database, table, src->src, src->lo, src->hi);
    hx_buf_t out = HX_BUF_INIT;
    int rc = ch_exec(c, sql, NULL, 0, NULL, 0, &out, NULL);
    int r = rc ? -1 : atoll(hx_buf_cstr(&out)) > 0;
    hx_buf_free(&out);
    return r;
}

int ch_insert_tsv(ch_conn_t *c, const char *table, const hx_buf_t *tsv, size_t nrows, const ch_batch_src_t *src,
                  int *attempts, hx_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s.%s FORMAT TabSeparated", c->database, table);
    /* One block per POST: a batch is atomic only if ClickHouse does not cut
     * it into several blocks. */
    char settings[96];
    snprintf(settings, sizeof settings, "max_insert_block_size=%zu", nrows + 1024);
    int rc = HX_OK, n = 0, maybe_landed = 0;
    long backoff = c->retry_backoff_ms;
    for (int attempt = 0; attempt <= c->insert_retries; attempt++) {
        if (attempt) {
            sleep_ms(backoff);
            if (backoff < (long)c->retry_backoff_ms * 32)
                backoff *= 2;
        }
        if (maybe_landed && src && src->lo <= src->hi) {
            int l = landed(c, table, src);
            if (l < 0) {
                rc = hx_err_set(err, HX_EUNAVAIL, "ClickHouse at %s is unreachable (retrying the insert into %s)",
                                c->url, table);
                continue;
            }
            if (l == 1) {
                rc = HX_OK;
                break;
            }
        }
        n++;
        rc = ch_exec(c, sql, tsv->data ? (const void *)tsv->data : "", tsv->len, settings, 0, NULL, err);
        if (!rc || !ch_retryable(rc))
            break;
        /* Refused before it ran (too many parts, overloaded) cannot have
         * landed; a timeout or a dropped connection can have. */
        if (rc != HX_EAGAIN)
            maybe_landed = 1;
    }
    if (attempts)
        *attempts = n;
    if (rc)
        hx_err_wrap(err, "inserting %zu rows into %s (%d attempt%s)", nrows, table, n, n == 1 ? "" : "s");
    return rc;
}

int ch_max_offsets(ch_conn_t *c, const char *table, uint64_t *offs, uint32_t n, hx_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT _src, max(_offset) FROM %s.%s GROUP BY _src FORMAT TabSeparated", c->database,
             table);
    hx_buf_t out = HX_BUF_INIT;
    int rc = ch_exec(c, sql, NULL, 0, NULL, 0, &out, err);
    for (char *p = rc ? NULL : (char *)hx_buf_cstr(&out); p && *p;) {
        char *end;
        unsigned long long s = strtoull(p, &end, 10);
        unsigned long long o = strtoull(end, &end, 10);
        if (s < n)
            offs[s] = o;
        p = strchr(end, '\n');
        if (p)
            p++;
    }
    hx_buf_free(&out);
    return rc;
}
