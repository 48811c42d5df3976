/* SQL arrives on POST /v1/analytics/query: parsing must never crash or leak,
 * an accepted statement must print as SQL that parses back to the same query
 * (the ClickHouse backend sends that text), and the rollup decision must be
 * stable under the round trip. */
#include "analytics/sql/sql.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const hx_an_param_t params[] = {{"s", "openai"}, {"n", "42"}, {"f", "1.5"},
                                           {"t", "2024-01-01 00:00:00"}, {"d", "2024-02-29"}};
    hx_sql_query_t *q = NULL, *q2 = NULL;
    hx_err_t err = {0};
    if (hx_sql_parse((const char *)data, size, "fuzz", params, 5, 1704067200, &q, &err)) {
        FZ_ASSERT(err.code != 0 && err.msg[0], "a refusal carries a message");
        return 0;
    }
    hx_buf_t b = HX_BUF_INIT;
    FZ_ASSERT(hx_sql_print(q, NULL, &b) == 0, "an accepted query prints");
    int rc = hx_sql_parse((const char *)b.data, b.len, "fuzz", params, 5, 1704067200, &q2, &err);
    FZ_ASSERT(rc == 0, "printed SQL parses again: %s -> %s", hx_buf_cstr(&b), err.msg);
    FZ_ASSERT(q2->nitems == q->nitems && q2->ngroup == q->ngroup && q2->norder == q->norder &&
                  q2->limit == q->limit && q2->table == q->table && q2->aggregate == q->aggregate,
              "same shape after the round trip: %s", hx_buf_cstr(&b));
    for (int i = 0; i < q->nitems; i++)
        FZ_ASSERT(hx_sql_expr_equal(q->items[i].e, q2->items[i].e), "item %d equal: %s", i, hx_buf_cstr(&b));
    FZ_ASSERT((q->where == NULL) == (q2->where == NULL) && (!q->where || hx_sql_expr_equal(q->where, q2->where)),
              "where equal: %s", hx_buf_cstr(&b));
    for (int g = 0; g < q->ngroup; g++)
        FZ_ASSERT(hx_sql_expr_equal(q->group_by[g], q2->group_by[g]), "group %d equal", g);
    int m1 = hx_sql_match_rollup(q, NULL, 0), m2 = hx_sql_match_rollup(q2, NULL, 0);
    FZ_ASSERT(m1 == m2 && q->rollup == q2->rollup, "rollup decision stable: %s", hx_buf_cstr(&b));
    hx_buf_t t = HX_BUF_INIT;
    hx_sql_print_opts_t o = {"helix.provider_metrics", 1};
    FZ_ASSERT(hx_sql_print(q, &o, &t) == 0, "prints with a tenant filter");
    hx_buf_free(&t);
    hx_buf_free(&b);
    hx_sql_free(q2);
    hx_sql_free(q);
    return 0;
}
