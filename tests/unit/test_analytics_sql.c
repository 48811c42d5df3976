/* The shared SQL subset: parsing, binding, refusals with positions, the
 * printer's round trip and the rollup decision. */
#include "analytics/sql/sql.h"
#include "../hx_test.h"

static hx_sql_query_t *parse(const char *sql, hx_err_t *e)
{
    hx_an_param_t params[] = {{"p", "openai"}, {"from", "2024-01-01 00:00:00"}, {"n", "5"}, {"d", "2024-02-03"}};
    hx_sql_query_t *q = NULL;
    hx_err_clear(e);
    hx_sql_parse(sql, strlen(sql), "acme", params, 4, 1704067200 + 86400 * 10, &q, e);
    return q;
}

static void ok(const char *sql)
{
    hx_err_t e = {0};
    hx_sql_query_t *q = parse(sql, &e);
    if (!q)
        fprintf(stderr, "  parse failed: %s\n  for: %s\n", e.msg, sql);
    CHECK(q != NULL);
    if (!q)
        return;
    /* Round trip: printing and parsing again gives the same query. */
    hx_buf_t b = HX_BUF_INIT;
    CHECK_INT(hx_sql_print(q, NULL, &b), 0);
    hx_sql_query_t *q2 = parse(hx_buf_cstr(&b), &e);
    if (!q2)
        fprintf(stderr, "  reparse failed: %s\n  for: %s\n", e.msg, hx_buf_cstr(&b));
    CHECK(q2 != NULL);
    if (q2) {
        CHECK_INT(q2->nitems, q->nitems);
        for (int i = 0; i < q->nitems && i < q2->nitems; i++) {
            CHECK(hx_sql_expr_equal(q->items[i].e, q2->items[i].e));
            CHECK_STR(q->items[i].name, q2->items[i].name);
        }
        CHECK((q->where == NULL) == (q2->where == NULL));
        if (q->where && q2->where)
            CHECK(hx_sql_expr_equal(q->where, q2->where));
        CHECK_INT(q2->ngroup, q->ngroup);
        CHECK_INT(q2->norder, q->norder);
        CHECK_INT(q2->limit, q->limit);
        hx_sql_free(q2);
    }
    hx_buf_free(&b);
    hx_sql_free(q);
}

static void bad(const char *sql, const char *needle)
{
    hx_err_t e = {0};
    hx_sql_query_t *q = parse(sql, &e);
    CHECK(q == NULL);
    CHECK_INT(e.code, HX_EINVAL);
    CHECK_CONTAINS(e.msg, needle);
    hx_sql_free(q);
}

static void test_accepts(void)
{
    ok("SELECT count() FROM provider_metrics");
    ok("select provider, count(), avg(response_time_ms), quantile(0.95)(response_time_ms) from provider_metrics "
       "group by provider order by provider");
    ok("SELECT toStartOfHour(timestamp) AS h, provider, count() AS c FROM provider_metrics "
       "WHERE timestamp >= {from:DateTime} AND timestamp < {from:DateTime} + INTERVAL 1 DAY "
       "GROUP BY h, provider ORDER BY h, c DESC LIMIT 100");
    ok("SELECT * FROM provider_metrics WHERE provider IN ('a', 'b') AND model NOT LIKE 'gpt%' LIMIT 3");
    ok("SELECT debate_id, winner_provider FROM debate_metrics WHERE rounds BETWEEN 2 AND {n:UInt32}");
    ok("SELECT toDate(timestamp) AS d, sum(messages_added) FROM conversation_metrics "
       "WHERE toDate(timestamp) = {d:Date} GROUP BY d");
    ok("SELECT toYYYYMM(timestamp) AS m, uniq(conversation_id), max(tokens) - min(tokens) FROM conversation_metrics "
       "GROUP BY m");
    ok("SELECT count() FROM provider_metrics WHERE timestamp > now() - INTERVAL 7 DAY AND NOT success");
    ok("SELECT response_time_ms * 2 AS response_time_ms FROM provider_metrics WHERE response_time_ms > 10");
    ok("SELECT toStartOfHour(timestamp) AS timestamp, count() FROM provider_metrics GROUP BY timestamp");
    ok("SELECT sum(tokens_used) / count() AS per, -confidence FROM provider_metrics GROUP BY confidence");
    ok("SELECT `provider`, count(*) AS \"n\" FROM provider_metrics GROUP BY provider; ");
    ok("SELECT provider FROM provider_metrics WHERE provider = 'it''s' OR provider = 'back\\\\slash' -- comment");
    ok("SELECT count() FROM provider_metrics WHERE timestamp BETWEEN '2024-01-01 00:00:00' AND '2024-01-02'");
    ok("SELECT 1 + 2 * 3, 7 / 2, toDate('2024-03-01'), -1.5 FROM provider_metrics LIMIT 1");
}

static void test_binding(void)
{
    hx_err_t e = {0};
    hx_sql_query_t *q = parse("SELECT toStartOfHour(timestamp) AS h, count() FROM provider_metrics WHERE "
                              "provider = {p:String} AND timestamp >= now() - INTERVAL 1 DAY GROUP BY h ORDER BY h",
                              &e);
    CHECK(q != NULL);
    if (q) {
        CHECK_INT(q->table, HX_AN_PROVIDER_METRICS);
        CHECK_STR(q->tenant, "acme");
        CHECK(q->aggregate);
        CHECK_STR(q->items[0].name, "h");
        CHECK_STR(q->items[1].name, "count()");
        CHECK_INT(q->items[1].e->type, HX_AN_T_UINT64);
        CHECK(hx_sql_expr_equal(q->group_by[0], q->items[0].e));
        /* WHERE: (provider = 'openai') AND (timestamp >= <folded constant>) */
        const hx_sql_expr_t *w = q->where;
        CHECK(w->kind == HX_SQL_BINARY && w->op == HX_SQL_OP_AND);
        CHECK(w->args[0]->args[1]->kind == HX_SQL_CONST && !strcmp(w->args[0]->args[1]->v.s, "openai"));
        CHECK(w->args[1]->args[1]->kind == HX_SQL_CONST);
        CHECK_INT(w->args[1]->args[1]->type, HX_AN_T_DATETIME);
        CHECK_INT(w->args[1]->args[1]->v.i, 1704067200 + 86400 * 9);
        hx_sql_free(q);
    }
    /* A constant on the left is flipped to the right. */
    q = parse("SELECT count() FROM provider_metrics WHERE '2024-01-05' <= timestamp", &e);
    CHECK(q && q->where->op == HX_SQL_OP_GE && q->where->args[0]->kind == HX_SQL_COL);
    CHECK(q && q->where->args[1]->v.i == 1704067200 + 4 * 86400);
    hx_sql_free(q);
    q = parse("SELECT quantile(response_time_ms), sum(success), sum(confidence) FROM provider_metrics", &e);
    CHECK(q && q->items[0].e->q == 0.5);
    CHECK(q && q->items[1].e->type == HX_AN_T_UINT64 && q->items[2].e->type == HX_AN_T_FLOAT64);
    hx_sql_free(q);
}

static void test_refuses(void)
{
    bad("DELETE FROM provider_metrics", "position 0 near 'DELETE': only SELECT");
    bad("INSERT INTO provider_metrics VALUES (1)", "only SELECT");
    bad("SELECT * FROM system.tables", "position 14 near 'system.tables'");
    bad("SELECT * FROM numbers(10)", "table functions are not allowed");
    bad("SELECT * FROM url('http://x', CSV, 'a String')", "table functions");
    bad("SELECT * FROM other_table", "unknown table");
    bad("SELECT * FROM (SELECT 1)", "subqueries");
    bad("SELECT nope FROM provider_metrics", "position 7 near 'nope': unknown column 'nope'");
    bad("SELECT tenant FROM provider_metrics", "unknown column 'tenant'");
    bad("SELECT count() FROM provider_metrics; DROP TABLE x", "one statement only");
    bad("SELECT provider, count() FROM provider_metrics", "column 'provider' must be in GROUP BY");
    bad("SELECT count() FROM provider_metrics WHERE count() > 1", "not allowed in WHERE");
    bad("SELECT sum(count()) FROM provider_metrics", "cannot be nested");
    bad("SELECT file('x') FROM provider_metrics", "unknown function 'file'");
    bad("SELECT provider FROM provider_metrics WHERE provider = 1", "cannot compare String with Int64");
    bad("SELECT provider FROM provider_metrics WHERE timestamp > 'yesterday'", "cannot read 'yesterday' as a DateTime");
    bad("SELECT provider FROM provider_metrics WHERE provider = {missing:String}", "no value for parameter 'missing'");
    bad("SELECT DISTINCT provider FROM provider_metrics", "DISTINCT is not supported");
    bad("SELECT provider FROM provider_metrics JOIN x", "JOIN is not part");
    bad("SELECT provider FROM provider_metrics FORMAT JSON", "FORMAT is not part");
    bad("SELECT provider FROM provider_metrics SETTINGS readonly=0", "SETTINGS is not part");
    bad("SELECT provider FROM provider_metrics LIMIT 10 OFFSET 5", "no offset");
    bad("SELECT count() FROM provider_metrics WHERE timestamp > now() - INTERVAL 1 MONTH", "calendar INTERVAL");
    bad("SELECT quantile(2)(response_time_ms) FROM provider_metrics", "between 0 and 1");
    bad("SELECT sum(provider) FROM provider_metrics", "sum needs a number");
    bad("SELECT count() FROM provider_metrics WHERE provider = 'x", "unterminated string");
    bad("SELECT ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))"
        "))))))))))))))))))))))))))))))))))))))))))))) FROM provider_metrics", "nested too deeply");
    bad("", "empty statement");
    bad("SELECT x * 2 AS x FROM debate_metrics", "alias 'x' refers to itself");
}

static void match(const char *sql, int want_rollup)
{
    hx_err_t e = {0};
    hx_sql_query_t *q = parse(sql, &e);
    CHECK(q != NULL);
    if (!q) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    char why[128] = "";
    int got = hx_sql_match_rollup(q, why, sizeof why);
    if (got != (want_rollup >= 0) || (got && q->rollup != want_rollup))
        fprintf(stderr, "  rollup match of [%s]: got %d (rollup %d, %s), want %d\n", sql, got, q->rollup, why,
                want_rollup);
    CHECK_INT(q->rollup, want_rollup);
    hx_sql_free(q);
}

static void test_rollup_match(void)
{
    const int PH = HX_AN_ROLLUP_PROVIDER_HOURLY, DD = HX_AN_ROLLUP_DEBATE_DAILY,
              CD = HX_AN_ROLLUP_CONVERSATION_DAILY;
    match("SELECT provider, count(), avg(response_time_ms), quantile(0.95)(response_time_ms) FROM provider_metrics "
          "GROUP BY provider",
          PH);
    match("SELECT toStartOfHour(timestamp) AS h, provider, count() FROM provider_metrics GROUP BY h, provider", PH);
    match("SELECT toStartOfHour(timestamp) AS h, count(), quantile(0.99)(response_time_ms) FROM provider_metrics "
          "WHERE provider = 'a' AND timestamp >= '2024-01-01 00:00:00' AND timestamp < '2024-01-02 00:00:00' "
          "GROUP BY h ORDER BY h",
          PH);
    match("SELECT count() - sum(success), sum(tokens_used), min(response_time_ms), max(response_time_ms) "
          "FROM provider_metrics WHERE model IN ('m1', 'm2') AND toDate(timestamp) = '2024-01-03'",
          PH);
    match("SELECT count() FROM provider_metrics WHERE timestamp BETWEEN '2024-01-01 00:00:00' AND "
          "'2024-01-01 23:59:59'",
          PH);
    /* Not answerable: finer time, unaligned bounds, non-dims, uniq, expressions. */
    match("SELECT toStartOfMinute(timestamp) AS m, count() FROM provider_metrics GROUP BY m", -1);
    match("SELECT count() FROM provider_metrics WHERE timestamp >= '2024-01-01 00:30:00'", -1);
    match("SELECT count() FROM provider_metrics WHERE success = 1", -1);
    match("SELECT uniq(model) FROM provider_metrics", -1);
    match("SELECT sum(tokens_used * 2) FROM provider_metrics", -1);
    match("SELECT min(confidence) FROM provider_metrics", -1);
    match("SELECT provider FROM provider_metrics", -1);
    match("SELECT count() FROM provider_metrics WHERE timestamp = '2024-01-01 00:00:00'", -1);
    match("SELECT winner_provider, outcome, count(), sum(rounds) FROM debate_metrics GROUP BY winner_provider, outcome",
          DD);
    match("SELECT toStartOfHour(timestamp) AS h, count() FROM debate_metrics GROUP BY h", -1);
    match("SELECT toDate(timestamp) AS d, sum(messages_added), sum(tokens) FROM conversation_metrics GROUP BY d", CD);
    match("SELECT conversation_id, sum(tokens) FROM conversation_metrics GROUP BY conversation_id", -1);
    match("SELECT count() FROM debate_participants", -1);
}

static void test_dates(void)
{
    int64_t t;
    CHECK_INT(hx_sql_parse_datetime("2024-02-29 23:59:59", 19, &t), 0);
    char s[32];
    hx_sql_format_datetime(t, s, sizeof s);
    CHECK_STR(s, "2024-02-29 23:59:59");
    CHECK(hx_sql_parse_datetime("2023-02-29 00:00:00", 19, &t) != 0);
    CHECK_INT(hx_sql_parse_datetime("2024-01-01T00:00:00.123Z", 24, &t), 0);
    CHECK_INT(t, 1704067200);
    CHECK_INT(hx_sql_days_from_civil(1970, 1, 1), 0);
    int64_t y;
    int m, d;
    hx_sql_civil(19723, &y, &m, &d);
    CHECK(y == 2024 && m == 1 && d == 1);
}

int main(void)
{
    RUN(test_accepts);
    RUN(test_binding);
    RUN(test_refuses);
    RUN(test_rollup_match);
    RUN(test_dates);
    return HX_TEST_DONE();
}
