/* Per-value semantics of the SQL subset's functions and operators, shared by
 * constant folding and the embedded executor's vector loops, so a folded
 * constant and a computed column always agree. */
#ifndef HX_ANALYTICS_SQL_SCALAR_H
#define HX_ANALYTICS_SQL_SCALAR_H

#include "analytics/sql/sql.h"

#include <stdint.h>

int64_t hx_sql_yyyymm_of_days(int64_t days);
int hx_sql_like(const char *s, size_t n, const char *pat, size_t pn);

/* fn applied to an integer argument of type arg (DateTime seconds or Date
 * days); the result in its own unit (DateTime seconds, Date days, UInt32). */
static inline int64_t hx_sql_fn_apply(int fn, hx_an_type_t arg, int64_t v)
{
    int64_t t = arg == HX_AN_T_DATE ? v * 86400 : v;
    switch (fn) {
    case HX_SQL_FN_START_OF_MINUTE: return hx_sql_floor_div(t, 60) * 60;
    case HX_SQL_FN_START_OF_HOUR: return hx_sql_floor_div(t, 3600) * 3600;
    case HX_SQL_FN_START_OF_DAY: return hx_sql_floor_div(t, 86400) * 86400;
    case HX_SQL_FN_TO_DATE: return hx_sql_floor_div(t, 86400);
    case HX_SQL_FN_TO_YYYYMM: return hx_sql_yyyymm_of_days(hx_sql_floor_div(t, 86400));
    }
    return 0;
}

static inline int hx_sql_cmp_result(int op, int c)
{
    if (c == 2)
        return op == HX_SQL_OP_NE;
    switch (op) {
    case HX_SQL_OP_EQ: return c == 0;
    case HX_SQL_OP_NE: return c != 0;
    case HX_SQL_OP_LT: return c < 0;
    case HX_SQL_OP_LE: return c <= 0;
    case HX_SQL_OP_GT: return c > 0;
    case HX_SQL_OP_GE: return c >= 0;
    }
    return 0;
}

static inline int hx_sql_cmp_i(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static inline int hx_sql_cmp_f(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : a == b ? 0 : 2; /* NaN: unordered, only != holds */
}

static inline int hx_sql_cmp_s(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? __builtin_memcmp(a, b, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

#endif
