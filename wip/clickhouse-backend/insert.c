/* Batch inserts into ClickHouse (ch.h). */
#include "analytics/clickhouse/ch.h"
#include "analytics/sql/sql.h"
#include "helix/hx_analytics.h"

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

/* Defaults of the columns a line does not fill. */
static int put_default(hx_buf_t *b, hx_an_type_t t)
{
    switch (t) {
    case HX_AN_T_STRING: return HX_OK;
    case HX_AN_T_DATE: return hx_buf_puts(b, "1970-01-01");
    case HX_AN_T_DATETIME: return hx_buf_puts(b, "0000000000");
    default: return hx_buf_putc(b, '0');
    }
}

static int put_cell(hx_buf_t *b, const hx_an_batch_t *batch, int col, hx_an_type_t t, size_t row)
{
    char day[16];
    size_t len;
    switch (t) {
    case HX_AN_T_STRING: {
        const char *s = hx_an_batch_str(batch, col, row, &len);
        return ch_tsv_str(b, s, len);
    }
    case HX_AN_T_FLOAT64: return ch_tsv_f64(b, batch->cols[col].f[row]);
    case HX_AN_T_DATE:
        hx_sql_format_date(batch->cols[col].i[row], day, sizeof day);
        return hx_buf_puts(b, day);
    case HX_AN_T_DATETIME:
        /* DateTime is unsigned: before the epoch clamps to it. 18.16 reads
         * a number as epoch seconds only with ten digits or so: pad. */
        return hx_buf_printf(b, "%010" PRId64, batch->cols[col].i[row] < 0 ? 0 : batch->cols[col].i[row]);
    default: return ch_tsv_i64(b, batch->cols[col].i[row]);
    }
}

/* Every line spells out every column of ingest_rows, in its order. */
static int line(hx_buf_t *b, int tbl, const hx_an_batch_t *batch, size_t row, const char *tail)
{
    int rc = hx_buf_printf(b, "%d", tbl);
    for (int k = 0; !rc && k < HX_AN_NTABLES; k++) {
        const hx_an_table_def_t *t = hx_an_table((hx_an_table_t)k);
        for (int i = 0; !rc && i < t->ncols; i++) {
            rc = hx_buf_putc(b, '\t');
            if (!rc)
                rc = k == tbl ? put_cell(b, batch, i, t->cols[i].type, row) : put_default(b, t->cols[i].type);
        }
    }
    return rc ? HX_ENOMEM : hx_buf_printf(b, "\t%s\n", tail) ? HX_ENOMEM : HX_OK;
}

int ch_encode_batch(const hx_an_batch_t *batch, hx_buf_t *tsv)
{
    for (size_t r = 0; r < batch->rows; r++)
        if (line(tsv, (int)batch->table, batch, r, "0\t0\t0\t0"))
            return HX_ENOMEM;
    return HX_OK;
}

int ch_encode_offset(uint64_t seq, int src, int part, int64_t next, hx_buf_t *tsv)
{
    char tail[96];
    snprintf(tail, sizeof tail, "%" PRIu64 "\t%d\t%d\t%" PRId64, seq, src, part, next);
    return line(tsv, CH_TBL_OFFSETS, NULL, 0, tail);
}

/* 1 = the offsets row of seq is stored, 0 = not, <0 = cannot tell. */
static int landed(ch_conn_t *c, uint64_t seq, int src, int part, hx_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s." CH_OFFSETS_TABLE " WHERE seq = %" PRIu64 " AND src = %d AND part = %d",
             c->database, seq, src, part);
    hx_buf_t out = HX_BUF_INIT;
    int rc = ch_exec(c, sql, NULL, 0, NULL, 0, &out, err);
    int r = rc ? rc : atoll(hx_buf_cstr(&out)) > 0;
    hx_buf_free(&out);
    return r;
}

int ch_insert_rows(ch_conn_t *c, const hx_buf_t *tsv, size_t nrows, uint64_t probe_seq, int probe_src,
                   int probe_part, int *attempts, hx_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s." CH_WIDE_TABLE " FORMAT TabSeparated", c->database);
    /* One block per POST: the commit is atomic only if ClickHouse does not
     * cut it into several blocks. */
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
        if (maybe_landed && probe_seq) {
            int l = landed(c, probe_seq, probe_src, probe_part, err);
            if (l < 0) {
                rc = l;
                if (!ch_retryable(rc))
                    break;
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
        hx_err_wrap(err, "inserting %zu rows (%d attempt%s)", nrows, n, n == 1 ? "" : "s");
    return rc;
}
