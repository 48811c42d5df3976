/* A bound query of the SQL subset (sql/sql.h) as ClickHouse SQL.
 *
 * The shared printer (hx_sql_print) writes the subset back as written; this
 * one writes what ClickHouse must run instead: the database-qualified table,
 * the tenant filter, -Merge aggregates over a rollup's state columns,
 * time-zone-proof constants and results, and NULL for min/max of no rows
 * (ClickHouse answers 0, the embedded store and the contract say null). */
#include "analytics/clickhouse/ch.h"
#include "analytics/sql/sql.h"
#include "helix/hx_analytics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const hx_sql_query_t *q;
    const hx_an_table_def_t *t;
    const hx_an_rollup_def_t *r; /* NULL = raw */
    hx_buf_t *b;
} pr_t;

int ch_sql_quote(hx_buf_t *b, const char *s, size_t len)
{
    int rc = hx_buf_putc(b, '\'');
    for (size_t i = 0; !rc && i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\'' || ch == '\\')
            rc = hx_buf_putc(b, '\\') || hx_buf_putc(b, ch);
        else if (ch == 0)
            rc = hx_buf_puts(b, "\\0");
        else
            rc = hx_buf_putc(b, ch);
    }
    return rc ? HX_ENOMEM : hx_buf_putc(b, '\'');
}

static int expr(pr_t *p, const hx_sql_expr_t *e);

static int constant(pr_t *p, const hx_sql_expr_t *e)
{
    char tmp[40];
    switch (e->type) {
    case HX_AN_T_STRING: return ch_sql_quote(p->b, e->v.s ? e->v.s : "", e->v.len);
    case HX_AN_T_DATETIME: return hx_buf_printf(p->b, "toDateTime(%" PRId64 ", 'UTC')", e->v.i);
    case HX_AN_T_DATE:
        hx_sql_format_date(e->v.i, tmp, sizeof tmp);
        return hx_buf_printf(p->b, "toDate('%s')", tmp);
    case HX_AN_T_FLOAT64:
        if (!isfinite(e->v.f))
            return hx_buf_puts(p->b, isnan(e->v.f) ? "nan" : e->v.f > 0 ? "inf" : "-inf");
        return hx_buf_printf(p->b, e->v.f < 0 ? "(%.17g)" : "%.17g", e->v.f);
    default:
        /* Parenthesised when negative so "a - -1" never becomes "a --1" (a comment). */
        return hx_buf_printf(p->b, e->v.i < 0 ? "(%" PRId64 ")" : "%" PRId64, e->v.i);
    }
}

static const char *op_text(int op)
{
    static const char *ops[] = {"=", "!=", "<", "<=", ">", ">=", "AND", "OR", "+", "-", "*", "/"};
    return op >= 0 && op < (int)(sizeof ops / sizeof ops[0]) ? ops[op] : "?";
}

static const char *fn_text(int fn)
{
    switch (fn) {
    case HX_SQL_FN_START_OF_MINUTE: return "toStartOfMinute";
    case HX_SQL_FN_START_OF_HOUR: return "toStartOfHour";
    case HX_SQL_FN_START_OF_DAY: return "toStartOfDay";
    case HX_SQL_FN_TO_DATE: return "toDate";
    case HX_SQL_FN_TO_YYYYMM: return "toYYYYMM";
    }
    return "?";
}

static const char *measure(pr_t *p, int m) { return p->r->measures[m].name; }

/* An aggregate over the raw table, or merged out of the rollup's states. */
static int aggregate(pr_t *p, const hx_sql_expr_t *e)
{
    hx_buf_t *b = p->b;
    /* Without GROUP BY an empty input still gives one row: min/max of it are null. */
    int guard = p->q->ngroup == 0 && (e->agg == HX_SQL_AGG_MIN || e->agg == HX_SQL_AGG_MAX);
    int rc = guard ? hx_buf_puts(b, "if(count() = 0, NULL, ") : 0;
    static const char *raw_names[] = {"count", "sum", "avg", "min", "max", "uniq", "quantile"};
    if (rc)
        return rc;
    if (p->r) {
        switch (e->agg) {
        case HX_SQL_AGG_COUNT: rc = hx_buf_printf(b, "countMerge(%s)", measure(p, e->m[0])); break;
        case HX_SQL_AGG_SUM: rc = hx_buf_printf(b, "sumMerge(%s)", measure(p, e->m[0])); break;
        case HX_SQL_AGG_AVG:
            rc = hx_buf_printf(b, "(sumMerge(%s) / countMerge(%s))", measure(p, e->m[0]), measure(p, e->m[1]));
            break;
        case HX_SQL_AGG_MIN: rc = hx_buf_printf(b, "minMerge(%s)", measure(p, e->m[0])); break;
        case HX_SQL_AGG_MAX: rc = hx_buf_printf(b, "maxMerge(%s)", measure(p, e->m[0])); break;
        case HX_SQL_AGG_QUANTILE:
            rc = hx_buf_printf(b, "quantileMerge(%.17g)(%s)", e->q, measure(p, e->m[0]));
            break;
        default: return HX_EINTERNAL; /* the matcher never maps uniq to a rollup */
        }
    } else if (e->agg == HX_SQL_AGG_COUNT) {
        rc = hx_buf_puts(b, "count()");
    } else {
        if (e->agg == HX_SQL_AGG_QUANTILE)
            rc = hx_buf_printf(b, "quantile(%.17g)(", e->q);
        else if (e->agg >= 0 && e->agg < (int)(sizeof raw_names / sizeof raw_names[0]))
            rc = hx_buf_printf(b, "%s(", raw_names[e->agg]);
        else
            return HX_EINTERNAL;
        if (!rc && e->nargs > 0)
            rc = expr(p, e->args[0]);
        if (!rc)
            rc = hx_buf_putc(b, ')');
    }
    return rc ? rc : guard ? hx_buf_putc(b, ')') : 0;
}

static int list(pr_t *p, hx_sql_expr_t *const *args, int n)
{
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        if (i)
            rc = hx_buf_puts(p->b, ", ");
        if (!rc)
            rc = expr(p, args[i]);
    }
    return rc;
}

static int expr(pr_t *p, const hx_sql_expr_t *e)
{
    hx_buf_t *b = p->b;
    int rc;
    switch (e->kind) {
    case HX_SQL_COL: return hx_buf_puts(b, p->t->cols[e->col].name);
    case HX_SQL_CONST: return constant(p, e);
    case HX_SQL_INTERVAL: return hx_buf_printf(b, "INTERVAL %" PRId64 " SECOND", e->v.i);
    case HX_SQL_AGG: return aggregate(p, e);
    case HX_SQL_CALL:
        rc = hx_buf_printf(b, "%s(", fn_text(e->fn));
        if (!rc)
            rc = list(p, e->args, e->nargs);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_BINARY:
        rc = hx_buf_putc(b, '(');
        if (!rc)
            rc = expr(p, e->args[0]);
        if (!rc)
            rc = hx_buf_printf(b, " %s ", op_text(e->op));
        if (!rc)
            rc = expr(p, e->args[1]);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_UNARY:
        rc = hx_buf_puts(b, e->op == HX_SQL_OP_NOT ? "(NOT " : "(-");
        if (!rc)
            rc = expr(p, e->args[0]);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_IN:
        rc = hx_buf_putc(b, '(');
        if (!rc)
            rc = expr(p, e->args[0]);
        if (!rc)
            rc = hx_buf_puts(b, e->negated ? " NOT IN (" : " IN (");
        if (!rc)
            rc = list(p, e->args + 1, e->nargs - 1);
        return rc ? rc : hx_buf_puts(b, "))");
    case HX_SQL_BETWEEN:
        rc = hx_buf_putc(b, '(');
        if (!rc)
            rc = expr(p, e->args[0]);
        if (!rc)
            rc = hx_buf_puts(b, e->negated ? " NOT BETWEEN " : " BETWEEN ");
        if (!rc)
            rc = expr(p, e->args[1]);
        if (!rc)
            rc = hx_buf_puts(b, " AND ");
        if (!rc)
            rc = expr(p, e->args[2]);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_LIKE:
        rc = hx_buf_putc(b, '(');
        if (!rc)
            rc = expr(p, e->args[0]);
        if (!rc)
            rc = hx_buf_puts(b, e->negated ? " NOT LIKE " : " LIKE ");
        if (!rc)
            rc = expr(p, e->args[1]);
        return rc ? rc : hx_buf_putc(b, ')');
    }
    return HX_EINTERNAL;
}

int ch_print_query(const ch_conn_t *c, const hx_sql_query_t *q, hx_buf_t *out)
{
    pr_t p = {q, hx_an_table(q->table), q->rollup >= 0 ? hx_an_rollup((hx_an_rollup_t)q->rollup) : NULL, out};
    int rc = hx_buf_puts(out, "SELECT ");
    for (int i = 0; !rc && i < q->nitems; i++) {
        const hx_sql_expr_t *e = q->items[i].e;
        /* Epoch seconds and day numbers: no time zone on the way back. */
        const char *wrap = e->type == HX_AN_T_DATETIME ? "toUInt32(" : e->type == HX_AN_T_DATE ? "toUInt16(" : "";
        rc = hx_buf_printf(out, "%s%s", i ? ", " : "", wrap);
        if (!rc)
            rc = expr(&p, e);
        if (!rc && *wrap)
            rc = hx_buf_putc(out, ')');
    }
    if (!rc)
        rc = hx_buf_printf(out, " FROM %s.%s WHERE tenant = ", c->database, p.r ? p.r->name : p.t->name);
    if (!rc)
        rc = ch_sql_quote(out, q->tenant ? q->tenant : "", q->tenant ? strlen(q->tenant) : 0);
    if (!rc && q->where) {
        rc = hx_buf_puts(out, " AND ");
        if (!rc)
            rc = expr(&p, q->where);
    }
    if (!rc && q->ngroup) {
        rc = hx_buf_puts(out, " GROUP BY ");
        if (!rc)
            rc = list(&p, q->group_by, q->ngroup);
    }
    for (int i = 0; !rc && i < q->norder; i++) {
        rc = hx_buf_puts(out, i ? ", " : " ORDER BY ");
        if (!rc)
            rc = expr(&p, q->order_by[i].e);
        if (!rc && q->order_by[i].desc)
            rc = hx_buf_puts(out, " DESC");
    }
    if (!rc && q->limit >= 0)
        rc = hx_buf_printf(out, " LIMIT %" PRId64, q->limit);
    if (!rc)
        rc = hx_buf_puts(out, " FORMAT JSONCompact");
    return rc ? HX_ENOMEM : HX_OK;
}
