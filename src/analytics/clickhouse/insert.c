/* Writes into ClickHouse (ch.h): rows encoded for ingest_rows in RowBinary
 * (fixed-width little-endian numbers, varint-length strings: no escaping,
 * no float printing or parsing), one POST per batch. */
#include "analytics/clickhouse/ch.h"
#include "analytics/backend.h"
#include "helix/hx_analytics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* Slot families, in ingest_rows' column order. */
static const struct {
    hx_an_type_t type;
    const char *prefix;
} families[] = {
    {HX_AN_T_STRING, "s"},  {HX_AN_T_DATETIME, "t"}, {HX_AN_T_DATE, "d"},  {HX_AN_T_UINT8, "b"},
    {HX_AN_T_UINT32, "u"},  {HX_AN_T_UINT64, "w"},   {HX_AN_T_INT64, "i"}, {HX_AN_T_FLOAT64, "f"},
};
#define NFAM ((int)(sizeof families / sizeof families[0]))

static int family_of(hx_an_type_t t)
{
    for (int f = 0; f < NFAM; f++)
        if (families[f].type == t)
            return f;
    return 0;
}

/* Slot index of column col of table t within its type's family. */
static int slot_of(const hx_an_table_def_t *t, int col)
{
    int k = 0;
    for (int i = 0; i < col; i++)
        k += t->cols[i].type == t->cols[col].type;
    return k;
}

static int family_width(int f)
{
    int w = 0;
    for (int k = 0; k < HX_AN_NTABLES; k++) {
        const hx_an_table_def_t *t = hx_an_table((hx_an_table_t)k);
        int n = 0;
        for (int i = 0; i < t->ncols; i++)
            n += t->cols[i].type == families[f].type;
        if (n > w)
            w = n;
    }
    return w;
}

void ch_slot_name(int table, int col, char *out, size_t len)
{
    const hx_an_table_def_t *t = hx_an_table((hx_an_table_t)table);
    snprintf(out, len, "%s%d", families[family_of(t->cols[col].type)].prefix, slot_of(t, col));
}

int ch_slot_columns(hx_buf_t *b)
{
    for (int f = 0; f < NFAM; f++)
        for (int k = 0, w = family_width(f); k < w; k++)
            if (hx_buf_printf(b, ", %s%d %s", families[f].prefix, k, ch_type_name(families[f].type)))
                return HX_ENOMEM;
    return HX_OK;
}

static int put_default(hx_buf_t *b, hx_an_type_t t)
{
    static const unsigned char zero[8] = {0};
    switch (t) {
    case HX_AN_T_STRING: return hx_buf_putc(b, 0); /* length 0 */
    case HX_AN_T_UINT8: return hx_buf_append(b, zero, 1);
    case HX_AN_T_DATE: return hx_buf_append(b, zero, 2);
    case HX_AN_T_UINT32:
    case HX_AN_T_DATETIME: return hx_buf_append(b, zero, 4);
    default: return hx_buf_append(b, zero, 8);
    }
}

static int put_cell(hx_buf_t *b, const hx_an_batch_t *batch, int col, hx_an_type_t t, size_t row)
{
    const hx_an_col_t *c = &batch->cols[col];
    switch (t) {
    case HX_AN_T_STRING: {
        size_t len;
        const char *s = hx_an_batch_str(batch, col, row, &len);
        return hx_buf_put_bytes(b, s, len); /* uvarint length + bytes: RowBinary's String */
    }
    case HX_AN_T_UINT8: return hx_buf_put_u8(b, (uint8_t)c->i[row]);
    case HX_AN_T_DATE: return hx_buf_put_u16le(b, (uint16_t)(c->i[row] < 0 ? 0 : c->i[row]));
    case HX_AN_T_UINT32: return hx_buf_put_u32le(b, (uint32_t)c->i[row]);
    /* DateTime is unsigned seconds: before the epoch clamps to it. */
    case HX_AN_T_DATETIME: return hx_buf_put_u32le(b, (uint32_t)(c->i[row] < 0 ? 0 : c->i[row]));
    case HX_AN_T_FLOAT64: {
        /* A metric that is not finite is a bug upstream: store 0 rather than
         * poison every sum over it. */
        double v = isfinite(c->f[row]) ? c->f[row] : 0;
        uint64_t u;
        memcpy(&u, &v, sizeof u);
        return hx_buf_put_u64le(b, u);
    }
    default: return hx_buf_put_u64le(b, (uint64_t)c->i[row]);
    }
}

/* The wide row's cells in order, for one table: its column or -1 (default). */
typedef struct {
    int n;
    int col[64];
    hx_an_type_t type[64];
} plan_t;

static void make_plan(int table, plan_t *p)
{
    const hx_an_table_def_t *t = table < HX_AN_NTABLES ? hx_an_table((hx_an_table_t)table) : NULL;
    p->n = 0;
    for (int f = 0; f < NFAM; f++)
        for (int k = 0, w = family_width(f); k < w && p->n < 64; k++) {
            int col = -1;
            for (int i = 0; t && i < t->ncols && col < 0; i++)
                if (t->cols[i].type == families[f].type && slot_of(t, i) == k)
                    col = i;
            p->col[p->n] = col;
            p->type[p->n++] = families[f].type;
        }
}

int ch_encode_batch(const hx_an_batch_t *batch, hx_buf_t *rb)
{
    plan_t p;
    make_plan((int)batch->table, &p);
    /* Offsets columns of a data row: o_seq, o_src, o_part, o_next. */
    static const unsigned char no_offsets[8 + 1 + 2 + 8] = {0};
    if (hx_buf_reserve(rb, batch->rows * 128))
        return HX_ENOMEM;
    for (size_t r = 0; r < batch->rows; r++) {
        int rc = hx_buf_put_u8(rb, (uint8_t)batch->table);
        for (int i = 0; !rc && i < p.n; i++)
            rc = p.col[i] < 0 ? put_default(rb, p.type[i]) : put_cell(rb, batch, p.col[i], p.type[i], r);
        if (rc || hx_buf_append(rb, no_offsets, sizeof no_offsets))
            return HX_ENOMEM;
    }
    return HX_OK;
}

int ch_encode_offset(uint64_t seq, int src, int part, int64_t next, hx_buf_t *rb)
{
    plan_t p;
    make_plan(CH_TBL_OFFSETS, &p);
    int rc = hx_buf_put_u8(rb, CH_TBL_OFFSETS);
    for (int i = 0; !rc && i < p.n; i++)
        rc = put_default(rb, p.type[i]);
    if (!rc)
        rc = hx_buf_put_u64le(rb, seq) || hx_buf_put_u8(rb, (uint8_t)src) || hx_buf_put_u16le(rb, (uint16_t)part) ||
             hx_buf_put_u64le(rb, (uint64_t)next);
    return rc ? HX_ENOMEM : HX_OK;
}

/* gzip at level 1: the point is a checksummed, length-checked stream, and
 * fewer bytes on the wire come for free. */
static int gzip_body(const hx_buf_t *in, hx_buf_t *out, hx_err_t *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return hx_err_set(err, HX_ENOMEM, "cannot start gzip for a ClickHouse insert");
    size_t bound = deflateBound(&z, (uLong)in->len) + 64;
    int rc = HX_OK;
    if (hx_buf_reserve(out, bound)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory compressing a ClickHouse insert");
        goto cleanup;
    }
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        rc = hx_err_set(err, HX_EINTERNAL, "gzip of a ClickHouse insert did not finish");
        goto cleanup;
    }
    out->len += bound - z.avail_out;
cleanup:
    deflateEnd(&z);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* After a lost answer: 2 = the attempt still runs on the server (its views
 * may be half written), 1 = it finished and the offsets row of seq is
 * stored, 0 = it did not land, <0 = cannot tell. */
static void insert_query_id(const ch_conn_t *c, uint64_t seq, char *out, size_t len)
{
    snprintf(out, len, "helix-ingest-%s-%" PRIu64, c->database, seq);
}

static int landed(ch_conn_t *c, const char *query_id, uint64_t seq, int src, int part, hx_err_t *err)
{
    char sql[320];
    snprintf(sql, sizeof sql, "SELECT count() FROM system.processes WHERE query_id = '%s'", query_id);
    hx_buf_t out = HX_BUF_INIT;
    int rc = ch_exec(c, sql, NULL, 0, NULL, 0, &out, err);
    if (!rc && atoll(hx_buf_cstr(&out)) > 0) {
        hx_buf_free(&out);
        return 2;
    }
    snprintf(sql, sizeof sql,
             "SELECT count() FROM %s." CH_OFFSETS_TABLE " WHERE seq = %" PRIu64 " AND src = %d AND part = %d",
             c->database, seq, src, part);
    if (!rc)
        rc = ch_exec(c, sql, NULL, 0, NULL, 0, &out, err);
    int r = rc ? rc : atoll(hx_buf_cstr(&out)) > 0;
    hx_buf_free(&out);
    return r;
}

int ch_probe_insert(ch_conn_t *c, uint64_t seq, int src, int part, hx_err_t *err)
{
    char query_id[128];
    insert_query_id(c, seq, query_id, sizeof query_id);
    return landed(c, query_id, seq, src, part, err);
}

int ch_insert_rows(ch_conn_t *c, const hx_buf_t *rb, size_t nrows, uint64_t probe_seq, int probe_src,
                   int probe_part, int *attempts, int *maybe_landed_out, hx_err_t *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s." CH_WIDE_TABLE " FORMAT RowBinary", c->database);
    /* One block per POST: the commit is atomic only if ClickHouse does not
     * cut it into several blocks. */
    char settings[192], query_id[128];
    int sl = snprintf(settings, sizeof settings, "enable_http_compression=1&max_insert_block_size=%zu", nrows + 1024);
    /* A named query: while an attempt whose answer was lost still runs on
     * the server, the probe waits for it, and sending it again would be
     * refused (code 216) rather than race into a duplicate. */
    insert_query_id(c, probe_seq, query_id, sizeof query_id);
    if (probe_seq)
        snprintf(settings + sl, sizeof settings - (size_t)sl, "&query_id=%s", query_id);
    hx_buf_t gz = HX_BUF_INIT;
    static const char *const headers[] = {"Content-Encoding: gzip", NULL};
    int rc = gzip_body(rb, &gz, err), n = 0, maybe_landed = 0;
    if (rc)
        return rc;
    long backoff = c->retry_backoff_ms;
    for (int attempt = 0; attempt <= c->insert_retries; attempt++) {
        if (attempt) {
            sleep_ms(backoff);
            if (backoff < (long)c->retry_backoff_ms * 32)
                backoff *= 2;
        }
        if (maybe_landed && probe_seq) {
            int l = landed(c, query_id, probe_seq, probe_src, probe_part, err);
            if (l == 2) {
                rc = hx_err_set(err, HX_EAGAIN, "an earlier attempt of this insert still runs on ClickHouse at %s",
                                c->url);
                continue;
            }
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
        rc = ch_exec_body(c, sql, gz.data, gz.len, headers, settings, 0, NULL, err);
        if (!rc || !ch_retryable(rc))
            break;
        /* Refused before it ran (too many parts, overloaded) cannot have
         * landed; a timeout or a dropped connection can have. */
        if (rc != HX_EAGAIN)
            maybe_landed = 1;
    }
    hx_buf_free(&gz);
    if (attempts)
        *attempts = n;
    if (maybe_landed_out)
        *maybe_landed_out = rc && maybe_landed;
    if (rc)
        hx_err_wrap(err, "inserting %zu rows (%d attempt%s)", nrows, n, n == 1 ? "" : "s");
    return rc;
}

void ch_parse_offsets(const char *tsv, hx_an_offsets_t *out)
{
    for (const char *p = tsv; p && *p;) {
        char *end;
        long s = strtol(p, &end, 10);
        long part = *end == '\t' ? strtol(end, &end, 10) : -1;
        long long off = *end == '\t' ? strtoll(end, &end, 10) : -1;
        if (s >= 0 && s < HX_AN_NSRCS && part >= 0 && part < HX_AN_MAX_PARTITIONS && off >= 0)
            out->next[s][part] = off;
        p = strchr(end, '\n');
        if (p)
            p++;
    }
}
