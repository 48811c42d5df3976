/* The SQL subset both analytics backends share: one parser and binder that
 * validate a statement and produce a typed AST, a printer that writes the AST
 * back as ClickHouse SQL, and the rollup matcher that decides (for both
 * backends alike) whether a rollup answers a query and with which states.
 *
 * After hx_sql_parse():
 *  - every identifier is resolved: a column of q->table (HX_SQL_COL, col set)
 *    or an alias replaced by the expression it names;
 *  - parameters are substituted as typed constants; now() and every constant
 *    subexpression (INTERVAL arithmetic included) are folded to constants;
 *  - every node has its result type; comparisons of DateTime/Date with string
 *    or integer constants have the constant converted;
 *  - count(*) / count(x) are count(); quantile(x) is quantile(0.5)(x);
 *    BETWEEN keeps its node (printers need it), NOT IN / NOT LIKE / NOT
 *    BETWEEN set negated.
 * The tree is owned by the query (one arena) and read-only afterwards, except
 * for the rollup annotations hx_sql_match_rollup() writes. Private to
 * src/analytics. */
#ifndef HX_ANALYTICS_SQL_H
#define HX_ANALYTICS_SQL_H

#include "helix/hx_analytics.h"
#include "helix/hx_buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HX_SQL_COL = 1,    /* col */
    HX_SQL_CONST,      /* v, of type */
    HX_SQL_CALL,       /* fn(args) */
    HX_SQL_AGG,        /* agg(args[0]) or count(); q for quantile */
    HX_SQL_BINARY,     /* args[0] op args[1] */
    HX_SQL_UNARY,      /* op (NOT, NEG) args[0] */
    HX_SQL_IN,         /* args[0] [NOT] IN (args[1..nargs)) - constants */
    HX_SQL_BETWEEN,    /* args[0] [NOT] BETWEEN args[1] AND args[2] - constants */
    HX_SQL_LIKE,       /* args[0] [NOT] LIKE args[1] - a String constant */
    HX_SQL_INTERVAL,   /* INTERVAL n unit: v.i = n * unit seconds (type Int64), unit for printing */
} hx_sql_kind_t;

typedef enum {
    HX_SQL_OP_EQ = 0,
    HX_SQL_OP_NE,
    HX_SQL_OP_LT,
    HX_SQL_OP_LE,
    HX_SQL_OP_GT,
    HX_SQL_OP_GE,
    HX_SQL_OP_AND,
    HX_SQL_OP_OR,
    HX_SQL_OP_ADD,
    HX_SQL_OP_SUB,
    HX_SQL_OP_MUL,
    HX_SQL_OP_DIV,     /* always Float64, like ClickHouse's / */
    HX_SQL_OP_NOT,
    HX_SQL_OP_NEG,
} hx_sql_op_t;

typedef enum {
    HX_SQL_FN_START_OF_MINUTE = 0, /* toStartOfMinute(DateTime) -> DateTime */
    HX_SQL_FN_START_OF_HOUR,       /* toStartOfHour(DateTime) -> DateTime */
    HX_SQL_FN_START_OF_DAY,        /* toStartOfDay(DateTime) -> DateTime */
    HX_SQL_FN_TO_DATE,             /* toDate(DateTime) -> Date */
    HX_SQL_FN_TO_YYYYMM,           /* toYYYYMM(DateTime|Date) -> UInt32 */
} hx_sql_fn_t;

typedef enum {
    HX_SQL_AGG_COUNT = 0,
    HX_SQL_AGG_SUM,
    HX_SQL_AGG_AVG,
    HX_SQL_AGG_MIN,
    HX_SQL_AGG_MAX,
    HX_SQL_AGG_UNIQ,
    HX_SQL_AGG_QUANTILE,
} hx_sql_agg_t;

typedef enum {
    HX_SQL_UNIT_SECOND = 0,
    HX_SQL_UNIT_MINUTE,
    HX_SQL_UNIT_HOUR,
    HX_SQL_UNIT_DAY,
    HX_SQL_UNIT_WEEK,
} hx_sql_unit_t;

typedef struct hx_sql_expr hx_sql_expr_t;
struct hx_sql_expr {
    hx_sql_kind_t kind;
    hx_an_type_t type;         /* result type */
    int col;                   /* COL */
    int op;                    /* BINARY / UNARY: hx_sql_op_t */
    int fn;                    /* CALL: hx_sql_fn_t */
    int agg;                   /* AGG: hx_sql_agg_t */
    int unit;                  /* INTERVAL: hx_sql_unit_t */
    int negated;               /* IN, BETWEEN, LIKE */
    double q;                  /* AGG quantile level */
    struct {
        int64_t i;             /* integer types, DateTime, Date, INTERVAL seconds */
        double f;              /* Float64 */
        const char *s;         /* String (NUL-terminated, len bytes) */
        size_t len;
    } v;
    hx_sql_expr_t **args;
    int nargs;
    uint32_t pos;              /* byte offset in the statement, for messages */
    /* Set by hx_sql_match_rollup on AGG nodes: measure indices of the rollup
     * (avg: m[0] = sum state, m[1] = count state; others m[0] only). */
    int m[2];
};

typedef struct hx_sql_item {
    hx_sql_expr_t *e;
    const char *name;          /* output column name: the alias or the printed expression */
    int aliased;
} hx_sql_item_t;

typedef struct hx_sql_order {
    hx_sql_expr_t *e;
    int desc;
} hx_sql_order_t;

typedef struct hx_sql_query {
    hx_an_table_t table;
    const char *tenant;        /* the caller's tenant: every backend filters on it */
    hx_sql_item_t *items;
    int nitems;
    hx_sql_expr_t *where;      /* NULL = none */
    hx_sql_expr_t **group_by;
    int ngroup;
    hx_sql_order_t *order_by;
    int norder;
    int64_t limit;             /* -1 = none */
    int aggregate;             /* aggregates or GROUP BY: one output row per group */
    int64_t now_s;             /* what now() was folded to */
    /* Set by hx_sql_match_rollup when a rollup answers the query. */
    int rollup;                /* hx_an_rollup_t, or -1 */
    void *arena_;
} hx_sql_query_t;

/* Parses and binds sql (len bytes) against the analytics tables. tenant is
 * copied into the query. HX_EINVAL with "SQL error at position N near 'tok':
 * reason" for anything outside the subset. */
int hx_sql_parse(const char *sql, size_t len, const char *tenant, const hx_an_param_t *params, size_t nparams,
                 int64_t now_s, hx_sql_query_t **out, hx_err_t *err);
void hx_sql_free(hx_sql_query_t *q);

/* Structural equality of bound expressions (GROUP BY matching, tests). */
int hx_sql_expr_equal(const hx_sql_expr_t *a, const hx_sql_expr_t *b);
/* 1 when e contains an aggregate. */
int hx_sql_has_agg(const hx_sql_expr_t *e);

typedef struct hx_sql_print_opts {
    const char *table;         /* FROM name; NULL = the Helix table name */
    int tenant_filter;         /* 1: WHERE tenant = '<q->tenant>' AND (...) */
} hx_sql_print_opts_t;

/* Appends q as one ClickHouse SELECT statement (DateTime constants as
 * toDateTime('...'), Date as toDate('...'), strings quoted and escaped).
 * Parsing the output again (without the tenant filter) gives an equal query. */
int hx_sql_print(const hx_sql_query_t *q, const hx_sql_print_opts_t *o, hx_buf_t *out);
/* Appends one expression in the same syntax. */
int hx_sql_print_expr(const hx_sql_query_t *q, const hx_sql_expr_t *e, hx_buf_t *out);

/* Decides whether a rollup answers q exactly: an aggregate query on the
 * rollup's table whose WHERE, GROUP BY, ORDER BY and non-aggregate select
 * parts use only the rollup's dims and timestamp where bucket-aligned
 * (toStartOfHour/Day, toDate, toYYYYMM at or above the bucket; comparisons
 * of timestamp with constants on bucket boundaries), and whose aggregates are
 * count(), sum/avg/min/max/quantile of a column with the matching state.
 * On a match sets q->rollup and each AGG node's m[] and returns 1; else
 * leaves q->rollup = -1 and returns 0 (the reason in why, may be NULL). */
int hx_sql_match_rollup(hx_sql_query_t *q, char *why, size_t why_len);

/* Whether a coarser form of a rollup (a larger bucket_s, a subset of its
 * dims, the same measures) still answers q exactly: backends that keep such
 * levels pick the smallest that fits. Annotates like hx_sql_match_rollup. */
int hx_sql_rollup_fits(hx_sql_query_t *q, const hx_an_rollup_def_t *level);

/* DateTime / Date text helpers shared with the result writers. */
/* "YYYY-MM-DD hh:mm:ss" (or "YYYY-MM-DD", or "YYYY-MM-DDThh:mm:ss[.fff]Z")
 * UTC -> seconds; HX_EINVAL when malformed. */
int hx_sql_parse_datetime(const char *s, size_t len, int64_t *out);
/* Days since the epoch of "YYYY-MM-DD". */
int hx_sql_parse_date(const char *s, size_t len, int64_t *out);
/* out gets at least 20 bytes. */
void hx_sql_format_datetime(int64_t s, char *out, size_t len);
void hx_sql_format_date(int64_t days, char *out, size_t len);
/* Civil calendar: days since the epoch -> y, m (1..12), d (1..31), and back. */
void hx_sql_civil(int64_t days, int64_t *y, int *m, int *d);
int64_t hx_sql_days_from_civil(int64_t y, int m, int d);

/* Floor division helpers for time bucketing of negative timestamps too. */
static inline int64_t hx_sql_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif
