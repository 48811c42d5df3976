/* The analytics schema on ClickHouse: raw MergeTree tables and
 * AggregatingMergeTree rollups fed by MATERIALIZED VIEW ... TO, generated
 * from the shared definitions in hx_analytics.h.
 *
 * Only what ClickHouse 18.16 (Debian 12) accepts, so the same DDL runs there
 * and on current releases: no table TTL (retention drops partitions
 * instead), no SimpleAggregateFunction, no LowCardinality (low-cardinality
 * columns are plain String), no DateTime64. Timestamps are DateTime('UTC')
 * so toStartOfHour/toDate mean UTC whatever the server's time zone. Rollups
 * keep states (count/sum/min/max/quantile), merged at query time with
 * -Merge: never averages of averages, never SummingMergeTree over an
 * average. */
#include "analytics/clickhouse/ch.h"
#include "helix/hx_analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ch_type_name(int t)
{
    switch ((hx_an_type_t)t) {
    case HX_AN_T_UINT8: return "UInt8";
    case HX_AN_T_UINT32: return "UInt32";
    case HX_AN_T_UINT64: return "UInt64";
    case HX_AN_T_INT64: return "Int64";
    case HX_AN_T_FLOAT64: return "Float64";
    case HX_AN_T_STRING: return "String";
    case HX_AN_T_DATETIME: return "DateTime('UTC')";
    case HX_AN_T_DATE: return "Date";
    }
    return "String";
}

static int order_by(const hx_an_table_def_t *t, hx_buf_t *b)
{
    int rc = hx_buf_putc(b, '(');
    for (int i = 0; !rc && i < t->norder; i++)
        rc = hx_buf_printf(b, "%s%s", i ? ", " : "", t->cols[t->order_by[i]].name);
    return rc ? rc : hx_buf_putc(b, ')');
}

static int table_ddl(const ch_conn_t *c, const hx_an_table_def_t *t, hx_buf_t *b)
{
    int rc = hx_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s (", c->database, t->name);
    for (int i = 0; !rc && i < t->ncols; i++)
        rc = hx_buf_printf(b, "%s%s %s", i ? ", " : "", t->cols[i].name, ch_type_name(t->cols[i].type));
    if (!rc)
        rc = hx_buf_puts(b, ") ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY ");
    if (!rc)
        rc = order_by(t, b);
    if (!rc)
        rc = hx_buf_printf(b, " SETTINGS index_granularity = %d", c->index_granularity);
    return rc;
}

/* Every write goes through one Null-engine table that can hold a row of
 * any table (in type slots, insert.c) plus the consumer position: one
 * INSERT carries a whole ingest commit, rows of all tables and the offsets
 * after them, so it lands whole or not at all, like the embedded store's
 * part plus manifest. Views route the rows on. (18.16 does not run a
 * table's views for rows another view writes into it, so the rollups read
 * this table too rather than the raw tables.) */
static int wide_ddl(const ch_conn_t *c, hx_buf_t *b)
{
    int rc = hx_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s." CH_WIDE_TABLE " (tbl UInt8", c->database);
    if (!rc)
        rc = ch_slot_columns(b);
    if (!rc)
        rc = hx_buf_puts(b, ", o_seq UInt64, o_src UInt8, o_part UInt16, o_next Int64) ENGINE = Null");
    return rc;
}

static int offsets_ddl(const ch_conn_t *c, hx_buf_t *b)
{
    /* One row per (source topic, partition) survives merges: the newest. */
    return hx_buf_printf(b,
                         "CREATE TABLE IF NOT EXISTS %s." CH_OFFSETS_TABLE
                         " (seq UInt64, src UInt8, part UInt16, next Int64) ENGINE = ReplacingMergeTree(seq) ORDER "
                         "BY (src, part)",
                         c->database);
}

static int route_ddl(const ch_conn_t *c, int k, hx_buf_t *b)
{
    if (k == HX_AN_NTABLES)
        return hx_buf_printf(b,
                             "CREATE MATERIALIZED VIEW IF NOT EXISTS %s." CH_OFFSETS_TABLE "_mv TO %s." CH_OFFSETS_TABLE
                             " AS SELECT o_seq AS seq, o_src AS src, o_part AS part, o_next AS next FROM %s." CH_WIDE_TABLE
                             " WHERE tbl = %d",
                             c->database, c->database, c->database, CH_TBL_OFFSETS);
    const hx_an_table_def_t *t = hx_an_table((hx_an_table_t)k);
    int rc = hx_buf_printf(b, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s_mv TO %s.%s AS SELECT ", c->database,
                           t->name, c->database, t->name);
    for (int i = 0; !rc && i < t->ncols; i++) {
        char slot[16];
        ch_slot_name(k, i, slot, sizeof slot);
        rc = hx_buf_printf(b, "%s%s AS %s", i ? ", " : "", slot, t->cols[i].name);
    }
    if (!rc)
        rc = hx_buf_printf(b, " FROM %s." CH_WIDE_TABLE " WHERE tbl = %d", c->database, k);
    return rc;
}

/* A measure's stored type and the -State expression that feeds it (over
 * the wide table's prefixed columns). */
static void measure_sql(const hx_an_table_def_t *t, const hx_an_measure_def_t *m, char *type, size_t tl,
                        char *state, size_t sl)
{
    char col[16] = "";
    if (m->col >= 0)
        ch_slot_name((int)t->id, m->col, col, sizeof col);
    int is_int = m->col >= 0 && hx_an_type_is_int(t->cols[m->col].type);
    switch (m->kind) {
    case HX_AN_M_COUNT:
        snprintf(type, tl, "AggregateFunction(count)");
        snprintf(state, sl, "countState()");
        break;
    case HX_AN_M_SUM:
        snprintf(type, tl, "AggregateFunction(sum, %s)", is_int ? "Int64" : "Float64");
        snprintf(state, sl, is_int ? "sumState(toInt64(%s))" : "sumState(toFloat64(%s))", col);
        break;
    case HX_AN_M_MIN:
    case HX_AN_M_MAX:
        snprintf(type, tl, "AggregateFunction(%s, %s)", m->kind == HX_AN_M_MIN ? "min" : "max",
                 ch_type_name(t->cols[m->col].type));
        snprintf(state, sl, "%sState(%s)", m->kind == HX_AN_M_MIN ? "min" : "max", col);
        break;
    case HX_AN_M_QUANTILES:
        /* Reservoir sample (8192 values), the state of ClickHouse's
         * quantile(): any level merges out of it (quantileMerge(0.95)). */
        snprintf(type, tl, "AggregateFunction(quantile, Float64)");
        snprintf(state, sl, "quantileState(toFloat64(%s))", col);
        break;
    }
}

/* Dims before the bucket, as in the raw tables' keys: the typed queries
 * read one provider over a time range. */
static int rollup_key(const hx_an_table_def_t *t, const hx_an_rollup_def_t *r, hx_buf_t *b)
{
    int rc = hx_buf_puts(b, "tenant");
    for (int i = 0; !rc && i < r->ndims; i++)
        rc = hx_buf_printf(b, ", %s", t->cols[r->dims[i]].name);
    return rc ? rc : hx_buf_puts(b, ", timestamp");
}

static int rollup_ddl(const ch_conn_t *c, const hx_an_rollup_def_t *r, hx_buf_t *b)
{
    const hx_an_table_def_t *t = hx_an_table(r->table);
    int rc = hx_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s (tenant String, timestamp DateTime('UTC')",
                           c->database, r->name);
    for (int i = 0; !rc && i < r->ndims; i++)
        rc = hx_buf_printf(b, ", %s %s", t->cols[r->dims[i]].name, ch_type_name(t->cols[r->dims[i]].type));
    for (int i = 0; !rc && i < r->nmeasures; i++) {
        char type[128], state[128];
        measure_sql(t, &r->measures[i], type, sizeof type, state, sizeof state);
        rc = hx_buf_printf(b, ", %s %s", r->measures[i].name, type);
    }
    if (!rc)
        rc = hx_buf_puts(b, ") ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (");
    if (!rc)
        rc = rollup_key(t, r, b);
    if (!rc)
        rc = hx_buf_printf(b, ") SETTINGS index_granularity = %d", c->index_granularity);
    return rc;
}

static int view_ddl(const ch_conn_t *c, const hx_an_rollup_def_t *r, hx_buf_t *b)
{
    const hx_an_table_def_t *t = hx_an_table(r->table);
    /* The bucket keeps the name timestamp: WHERE and toStartOfHour(timestamp)
     * read the same on the rollup as on the raw table. */
    char ten[16], ts[16];
    ch_slot_name((int)r->table, HX_AN_COL_TENANT, ten, sizeof ten);
    ch_slot_name((int)r->table, HX_AN_COL_TIMESTAMP, ts, sizeof ts);
    int rc = hx_buf_printf(b,
                           "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s_mv TO %s.%s AS SELECT %s AS tenant, "
                           "toDateTime(intDiv(toUInt32(%s), %lld) * %lld, 'UTC') AS timestamp",
                           c->database, r->name, c->database, r->name, ten, ts, (long long)r->bucket_s,
                           (long long)r->bucket_s);
    for (int i = 0; !rc && i < r->ndims; i++) {
        char slot[16];
        ch_slot_name((int)r->table, r->dims[i], slot, sizeof slot);
        rc = hx_buf_printf(b, ", %s AS %s", slot, t->cols[r->dims[i]].name);
    }
    for (int i = 0; !rc && i < r->nmeasures; i++) {
        char type[128], state[128];
        measure_sql(t, &r->measures[i], type, sizeof type, state, sizeof state);
        rc = hx_buf_printf(b, ", %s AS %s", state, r->measures[i].name);
    }
    if (!rc)
        rc = hx_buf_printf(b, " FROM %s." CH_WIDE_TABLE " WHERE tbl = %d GROUP BY ", c->database, (int)r->table);
    if (!rc)
        rc = rollup_key(t, r, b);
    return rc;
}

typedef int (*stmt_fn)(ch_conn_t *c, const char *sql, void *ud, hx_err_t *err);

/* Every statement in dependency order: database, tables, then the views
 * that connect them. */
static int each_statement(const ch_conn_t *c, stmt_fn fn, void *ud, hx_err_t *err)
{
    hx_buf_t b = HX_BUF_INIT;
    int rc = HX_OK;
    enum { NT = HX_AN_NTABLES, NR = HX_AN_NROLLUPS };
    for (int step = 0; !rc && step < 3 + NT + NR + (NT + 1) + NR; step++) {
        hx_buf_reset(&b);
        int k = step;
        if (k == 0)
            rc = hx_buf_printf(&b, "CREATE DATABASE IF NOT EXISTS %s", c->database);
        else if ((k -= 1) < NT)
            rc = table_ddl(c, hx_an_table((hx_an_table_t)k), &b);
        else if ((k -= NT) == 0)
            rc = offsets_ddl(c, &b);
        else if (k == 1)
            rc = wide_ddl(c, &b);
        else if ((k -= 2) < NR)
            rc = rollup_ddl(c, hx_an_rollup((hx_an_rollup_t)k), &b);
        else if ((k -= NR) <= NT)
            rc = route_ddl(c, k, &b);
        else
            rc = view_ddl(c, hx_an_rollup((hx_an_rollup_t)(k - NT - 1)), &b);
        if (rc || !hx_buf_cstr(&b))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory building the ClickHouse schema");
        else
            rc = fn((ch_conn_t *)c, (const char *)b.data, ud, err);
    }
    hx_buf_free(&b);
    return rc;
}

static int run_stmt(ch_conn_t *c, const char *sql, void *ud, hx_err_t *err)
{
    (void)ud;
    int rc = ch_exec(c, sql, NULL, 0, NULL, 0, NULL, err);
    /* Two nodes creating the schema at once: the loser's IF NOT EXISTS can
     * still race on 18.16; the object exists either way. */
    if (rc == HX_EEXIST)
        rc = HX_OK;
    if (rc)
        hx_err_wrap(err, "creating the analytics schema in ClickHouse database '%s'", c->database);
    return rc;
}

static int append_stmt(ch_conn_t *c, const char *sql, void *ud, hx_err_t *err)
{
    (void)c;
    (void)err;
    hx_buf_t *out = ud;
    return hx_buf_printf(out, "%s;\n", sql) ? HX_ENOMEM : HX_OK;
}

int ch_schema_create(ch_conn_t *c, hx_err_t *err) { return each_statement(c, run_stmt, NULL, err); }

int ch_schema_ddl(const ch_conn_t *c, hx_buf_t *out) { return each_statement(c, append_stmt, out, NULL); }

/* yyyymm of a UTC epoch second. */
static int yyyymm(int64_t s)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

int ch_schema_retention(ch_conn_t *c, int64_t now_s, hx_err_t *err)
{
    hx_buf_t sql = HX_BUF_INIT, parts = HX_BUF_INIT;
    int rc = HX_OK;
    for (int i = 0; !rc && i < HX_AN_NTABLES + HX_AN_NROLLUPS; i++) {
        int raw = i < HX_AN_NTABLES;
        const hx_an_rollup_def_t *r = raw ? NULL : hx_an_rollup((hx_an_rollup_t)(i - HX_AN_NTABLES));
        int table = raw ? i : (int)r->table;
        const char *name = raw ? hx_an_table((hx_an_table_t)i)->name : r->name;
        int ttl = c->ttl_days[table];
        if (ttl <= 0)
            continue;
        int64_t cut = now_s - (int64_t)ttl * 86400;
        hx_buf_reset(&sql);
        rc = hx_buf_printf(&sql,
                           "SELECT DISTINCT partition FROM system.parts WHERE database = '%s' AND table = '%s' AND "
                           "active AND toUInt32(partition) < %d FORMAT TSV",
                           c->database, name, yyyymm(cut));
        if (rc || (rc = ch_exec(c, hx_buf_cstr(&sql), NULL, 0, NULL, 0, &parts, err)))
            break;
        for (char *p = (char *)hx_buf_cstr(&parts); !rc && p && *p;) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = 0;
            if (*p) {
                char drop[256];
                snprintf(drop, sizeof drop, "ALTER TABLE %s.%s DROP PARTITION %d", c->database, name, atoi(p));
                rc = ch_exec(c, drop, NULL, 0, NULL, 0, NULL, err);
            }
            p = nl ? nl + 1 : NULL;
        }
        /* The partition the cut-off falls in keeps its younger rows; a
         * mutation removes the older ones (rollups go by whole months). */
        if (!rc && raw) {
            char probe[256];
            snprintf(probe, sizeof probe, "SELECT count() FROM %s.%s WHERE timestamp < toDateTime(%lld, 'UTC')",
                     c->database, name, (long long)cut);
            hx_buf_t n = HX_BUF_INIT;
            rc = ch_exec(c, probe, NULL, 0, NULL, 0, &n, err);
            if (!rc && atoll(hx_buf_cstr(&n)) > 0) {
                hx_buf_reset(&sql);
                if (hx_buf_printf(&sql, "ALTER TABLE %s.%s DELETE WHERE timestamp < toDateTime(%lld, 'UTC')",
                                  c->database, name, (long long)cut))
                    rc = HX_ENOMEM;
                else
                    rc = ch_exec(c, hx_buf_cstr(&sql), NULL, 0, NULL, 0, NULL, err);
            }
            hx_buf_free(&n);
        }
    }
    hx_buf_free(&sql);
    hx_buf_free(&parts);
    if (rc)
        hx_err_wrap(err, "applying retention in ClickHouse");
    return rc;
}
