/* The analytics schema on ClickHouse: raw MergeTree tables and
 * AggregatingMergeTree rollups fed by MATERIALIZED VIEW ... TO.
 *
 * Only what ClickHouse 18.16 (Debian 12) accepts, so the same DDL runs there
 * and on current releases: no table TTL (retention drops partitions
 * instead), no SimpleAggregateFunction, no LowCardinality, no DateTime64.
 * Timestamps are DateTime('UTC') so toStartOfHour/toDate mean UTC whatever
 * the server's time zone. Rollups keep states (count/sum/min/max/quantile/
 * uniq), merged at query time with -Merge: never averages of averages, and
 * never SummingMergeTree over an average column.
 *
 * Every raw table carries _src (the log partition the row came from, as
 * topic_id * 1024 + partition) and _offset (its log offset): ClickHouse holds
 * no transactions, so that pair is how an insert whose acknowledgement was
 * lost is recognised and not inserted twice (see insert.c). */
#include "analytics/clickhouse/ch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const ch_column_t provider_cols[] = {
    {"tenant", "String"},           {"timestamp", "DateTime('UTC')"}, {"provider", "String"},
    {"model", "String"},            {"request_id", "String"},         {"debate_id", "String"},
    {"round", "UInt32"},            {"response_time_ms", "Float64"},  {"prompt_tokens", "UInt64"},
    {"completion_tokens", "UInt64"}, {"tokens_used", "UInt64"},       {"confidence", "Float64"},
    {"success", "UInt8"},           {"error_type", "String"},         {"_src", "UInt32"},
    {"_offset", "UInt64"},
};
static const ch_column_t debate_cols[] = {
    {"tenant", "String"},         {"timestamp", "DateTime('UTC')"}, {"debate_id", "String"},
    {"conversation_id", "String"}, {"topic", "String"},              {"rounds", "UInt32"},
    {"winner_provider", "String"}, {"winner_model", "String"},       {"confidence", "Float64"},
    {"duration_ms", "Float64"},   {"outcome", "String"},            {"participants", "UInt32"},
    {"_src", "UInt32"},           {"_offset", "UInt64"},
};
static const ch_column_t participant_cols[] = {
    {"tenant", "String"},          {"timestamp", "DateTime('UTC')"}, {"debate_id", "String"},
    {"provider", "String"},        {"model", "String"},              {"position", "UInt32"},
    {"response_time_ms", "Float64"}, {"tokens_used", "UInt64"},      {"confidence", "Float64"},
    {"won", "UInt8"},              {"_src", "UInt32"},               {"_offset", "UInt64"},
};
static const ch_column_t conversation_cols[] = {
    {"tenant", "String"},           {"timestamp", "DateTime('UTC')"}, {"conversation_id", "String"},
    {"user_id", "String"},          {"messages_added", "UInt64"},     {"messages_updated", "UInt64"},
    {"messages_deleted", "UInt64"}, {"tokens", "UInt64"},             {"user_messages", "UInt64"},
    {"assistant_messages", "UInt64"}, {"system_messages", "UInt64"},  {"tool_messages", "UInt64"},
    {"_src", "UInt32"},             {"_offset", "UInt64"},
};

/* ORDER BY follows the query patterns: everything is per tenant first; the
 * provider series and leaderboard read one provider (and model) over a time
 * range; debates are looked up by id; conversations by id and hour. */
static const ch_table_t tables[] = {
    {"provider_metrics", provider_cols, NCOLS(provider_cols), "(tenant, provider, model, timestamp)", "timestamp"},
    {"debate_metrics", debate_cols, NCOLS(debate_cols), "(tenant, debate_id, timestamp)", "timestamp"},
    {"debate_participants", participant_cols, NCOLS(participant_cols), "(tenant, debate_id, provider, timestamp)",
     "timestamp"},
    {"conversation_metrics", conversation_cols, NCOLS(conversation_cols), "(tenant, conversation_id, timestamp)",
     "timestamp"},
};

const ch_table_t *ch_schema_tables(int *n)
{
    *n = NCOLS(tables);
    return tables;
}

const ch_table_t *ch_schema_table(const char *name)
{
    for (int i = 0; i < NCOLS(tables); i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    return NULL;
}

/* A rollup column: its stored type and the -State expression that feeds it. */
typedef struct {
    const char *name, *type, *state;
} rollup_col_t;

typedef struct {
    const char *name, *source, *time_col, *time_expr, *order_by;
    const rollup_col_t *cols;
    int ncols;
} rollup_t;

static const rollup_col_t provider_hourly_cols[] = {
    {"tenant", "String", "tenant"},
    {"hour", "DateTime('UTC')", "toStartOfHour(timestamp)"},
    {"provider", "String", "provider"},
    {"model", "String", "model"},
    {"requests", "AggregateFunction(count)", "countState()"},
    {"errors", "AggregateFunction(sum, UInt64)", "sumState(toUInt64(success = 0))"},
    {"tokens", "AggregateFunction(sum, UInt64)", "sumState(tokens_used)"},
    {"prompt_tokens", "AggregateFunction(sum, UInt64)", "sumState(prompt_tokens)"},
    {"completion_tokens", "AggregateFunction(sum, UInt64)", "sumState(completion_tokens)"},
    {"response_time_sum", "AggregateFunction(sum, Float64)", "sumState(response_time_ms)"},
    {"response_time_min", "AggregateFunction(min, Float64)", "minState(response_time_ms)"},
    {"response_time_max", "AggregateFunction(max, Float64)", "maxState(response_time_ms)"},
    /* Reservoir sample (8192 values), the state of ClickHouse's quantile():
     * any level can be merged out of it (quantileMerge(0.95)). */
    {"response_time_q", "AggregateFunction(quantile, Float64)", "quantileState(response_time_ms)"},
};
static const rollup_col_t debate_daily_cols[] = {
    {"tenant", "String", "tenant"},
    {"day", "Date", "toDate(timestamp)"},
    {"winner_provider", "String", "winner_provider"},
    {"debates", "AggregateFunction(count)", "countState()"},
    {"rounds", "AggregateFunction(sum, UInt64)", "sumState(toUInt64(rounds))"},
    {"confidence_sum", "AggregateFunction(sum, Float64)", "sumState(confidence)"},
    {"duration_sum", "AggregateFunction(sum, Float64)", "sumState(duration_ms)"},
    {"successful", "AggregateFunction(sum, UInt64)", "sumState(toUInt64(outcome = 'successful'))"},
    {"abandoned", "AggregateFunction(sum, UInt64)", "sumState(toUInt64(outcome = 'abandoned'))"},
    {"failed", "AggregateFunction(sum, UInt64)", "sumState(toUInt64(outcome = 'error'))"},
};
static const rollup_col_t conversation_daily_cols[] = {
    {"tenant", "String", "tenant"},
    {"day", "Date", "toDate(timestamp)"},
    {"conversations", "AggregateFunction(uniq, String)", "uniqState(conversation_id)"},
    {"users", "AggregateFunction(uniq, String)", "uniqState(user_id)"},
    {"messages_added", "AggregateFunction(sum, UInt64)", "sumState(messages_added)"},
    {"messages_updated", "AggregateFunction(sum, UInt64)", "sumState(messages_updated)"},
    {"messages_deleted", "AggregateFunction(sum, UInt64)", "sumState(messages_deleted)"},
    {"tokens", "AggregateFunction(sum, UInt64)", "sumState(tokens)"},
};

static const rollup_t rollups[] = {
    {"provider_metrics_hourly", "provider_metrics", "hour", "toStartOfHour(timestamp)",
     "(tenant, provider, model, hour)", provider_hourly_cols, NCOLS(provider_hourly_cols)},
    {"debate_metrics_daily", "debate_metrics", "day", "toDate(timestamp)", "(tenant, winner_provider, day)",
     debate_daily_cols, NCOLS(debate_daily_cols)},
    {"conversation_metrics_daily", "conversation_metrics", "day", "toDate(timestamp)", "(tenant, day)",
     conversation_daily_cols, NCOLS(conversation_daily_cols)},
};

static int table_ddl(const ch_conn_t *c, const ch_table_t *t, hx_buf_t *b)
{
    int rc = hx_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s (", c->database, t->name);
    for (int i = 0; !rc && i < t->ncols; i++)
        rc = hx_buf_printf(b, "%s%s %s", i ? ", " : "", t->cols[i].name, t->cols[i].type);
    if (!rc)
        rc = hx_buf_printf(b,
                           ") ENGINE = MergeTree() PARTITION BY toYYYYMM(%s) ORDER BY %s SETTINGS index_granularity = "
                           "%d",
                           t->time_col, t->order_by, c->index_granularity);
    return rc;
}

static int rollup_ddl(const ch_conn_t *c, const rollup_t *r, hx_buf_t *b)
{
    int rc = hx_buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s (", c->database, r->name);
    for (int i = 0; !rc && i < r->ncols; i++)
        rc = hx_buf_printf(b, "%s%s %s", i ? ", " : "", r->cols[i].name, r->cols[i].type);
    if (!rc)
        rc = hx_buf_printf(b,
                           ") ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(%s) ORDER BY %s SETTINGS "
                           "index_granularity = %d",
                           r->time_col, r->order_by, c->index_granularity);
    return rc;
}

/* The view's GROUP BY is the rollup's key columns (those that are not states). */
static int view_ddl(const ch_conn_t *c, const rollup_t *r, hx_buf_t *b)
{
    int rc = hx_buf_printf(b, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s_mv TO %s.%s AS SELECT ", c->database,
                           r->name, c->database, r->name);
    for (int i = 0; !rc && i < r->ncols; i++)
        rc = hx_buf_printf(b, "%s%s AS %s", i ? ", " : "", r->cols[i].state, r->cols[i].name);
    if (!rc)
        rc = hx_buf_printf(b, " FROM %s.%s GROUP BY ", c->database, r->source);
    for (int i = 0, k = 0; !rc && i < r->ncols; i++)
        if (!strstr(r->cols[i].type, "AggregateFunction("))
            rc = hx_buf_printf(b, "%s%s", k++ ? ", " : "", r->cols[i].name);
    return rc;
}

typedef int (*stmt_fn)(ch_conn_t *c, const char *sql, void *ud, hx_err_t *err);

/* Emits every statement in dependency order: database, raw tables, rollup
 * tables, then the views that connect them. */
static int each_statement(const ch_conn_t *c, stmt_fn fn, void *ud, hx_err_t *err)
{
    hx_buf_t b = HX_BUF_INIT;
    int rc = HX_OK;
    int nt = NCOLS(tables), nr = NCOLS(rollups);
    for (int step = 0; !rc && step < 1 + nt + 2 * nr; step++) {
        hx_buf_reset(&b);
        if (step == 0)
            rc = hx_buf_printf(&b, "CREATE DATABASE IF NOT EXISTS %s", c->database);
        else if (step <= nt)
            rc = table_ddl(c, &tables[step - 1], &b);
        else if (step <= nt + nr)
            rc = rollup_ddl(c, &rollups[step - 1 - nt], &b);
        else
            rc = view_ddl(c, &rollups[step - 1 - nt - nr], &b);
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
    if (c->ttl_days <= 0)
        return HX_OK;
    int64_t cut = now_s - (int64_t)c->ttl_days * 86400;
    int cut_month = yyyymm(cut);
    hx_buf_t sql = HX_BUF_INIT, parts = HX_BUF_INIT;
    int rc = HX_OK;
    for (int i = 0; !rc && i < NCOLS(tables) + NCOLS(rollups); i++) {
        const char *name = i < NCOLS(tables) ? tables[i].name : rollups[i - NCOLS(tables)].name;
        const char *col = i < NCOLS(tables) ? tables[i].time_col : rollups[i - NCOLS(tables)].time_col;
        hx_buf_reset(&sql);
        rc = hx_buf_printf(&sql,
                           "SELECT DISTINCT partition FROM system.parts WHERE database = '%s' AND table = '%s' AND "
                           "active AND toUInt32(partition) < %d FORMAT TSV",
                           c->database, name, cut_month);
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
         * mutation removes the older ones (rollups keep whole hours/days). */
        if (!rc && i < NCOLS(tables)) {
            hx_buf_reset(&sql);
            rc = hx_buf_printf(&sql, "ALTER TABLE %s.%s DELETE WHERE %s < toDateTime(%lld, 'UTC')", c->database,
                               name, col, (long long)cut);
            if (!rc) {
                hx_buf_t n = HX_BUF_INIT;
                char probe[256];
                snprintf(probe, sizeof probe, "SELECT count() FROM %s.%s WHERE %s < toDateTime(%lld, 'UTC')",
                         c->database, name, col, (long long)cut);
                rc = ch_exec(c, probe, NULL, 0, NULL, 0, &n, err);
                if (!rc && atoll(hx_buf_cstr(&n)) > 0)
                    rc = ch_exec(c, hx_buf_cstr(&sql), NULL, 0, NULL, 0, NULL, err);
                hx_buf_free(&n);
            }
        }
    }
    hx_buf_free(&sql);
    hx_buf_free(&parts);
    if (rc)
        hx_err_wrap(err, "applying the %d-day retention in ClickHouse", c->ttl_days);
    return rc;
}
