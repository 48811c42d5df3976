/* Bound AST -> ClickHouse SQL text: output column names, the statement the
 * ClickHouse backend sends, and the parser's round-trip tests. */
#include "analytics/sql/sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_str_lit(hx_buf_t *b, const char *s, size_t n)
{
    int rc = hx_buf_putc(b, '\'');
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\') {
            rc = hx_buf_putc(b, '\\');
            rc = rc ? rc : hx_buf_putc(b, c);
        } else if (c < 0x20 || c == 0x7f) {
            rc = hx_buf_printf(b, "\\x%02x", c);
        } else {
            rc = hx_buf_putc(b, c);
        }
    }
    return rc ? rc : hx_buf_putc(b, '\'');
}

/* Shortest %g form that reads back as the same double, always with a '.'
 * or an exponent so it stays a Float64 literal. */
static int put_double(hx_buf_t *b, double v)
{
    char s[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    if (!strpbrk(s, ".eEn"))
        strcat(s, ".0");
    if (s[0] == '-') /* -x reads as NEG(x), folded back to the same constant */
        return hx_buf_printf(b, "(%s)", s);
    return hx_buf_puts(b, s);
}

static const char *op_text(int op)
{
    static const char *t[] = {"=", "!=", "<", "<=", ">", ">=", "AND", "OR", "+", "-", "*", "/", "NOT", "-"};
    return (unsigned)op < sizeof t / sizeof t[0] ? t[op] : "?";
}

static const char *fn_name(int fn)
{
    static const char *t[] = {"toStartOfMinute", "toStartOfHour", "toStartOfDay", "toDate", "toYYYYMM"};
    return (unsigned)fn < sizeof t / sizeof t[0] ? t[fn] : "?";
}

static const char *agg_name(int agg)
{
    static const char *t[] = {"count", "sum", "avg", "min", "max", "uniq", "quantile"};
    return (unsigned)agg < sizeof t / sizeof t[0] ? t[agg] : "?";
}

/* A column whose name an alias of the query shadows is written table.column,
 * which means the column to ClickHouse and to our parser alike. */
static int shadowed(const hx_sql_query_t *q, const char *name)
{
    for (int i = 0; q && i < q->nitems; i++)
        if (q->items[i].aliased && q->items[i].name && !strcmp(q->items[i].name, name))
            return 1;
    return 0;
}

static int print(const hx_sql_query_t *q, const hx_sql_expr_t *e, hx_buf_t *b)
{
    int rc = HX_OK;
    char tmp[32];
    switch (e->kind) {
    case HX_SQL_COL: {
        const hx_an_table_def_t *d = hx_an_table(q->table);
        const char *name = d->cols[e->col].name;
        if (shadowed(q, name))
            return hx_buf_printf(b, "%s.%s", d->name, name);
        return hx_buf_puts(b, name);
    }
    case HX_SQL_CONST:
        switch (e->type) {
        case HX_AN_T_STRING: return put_str_lit(b, e->v.s, e->v.len);
        case HX_AN_T_FLOAT64: return put_double(b, e->v.f);
        case HX_AN_T_DATETIME:
            hx_sql_format_datetime(e->v.i, tmp, sizeof tmp);
            return hx_buf_printf(b, "toDateTime('%s')", tmp);
        case HX_AN_T_DATE:
            hx_sql_format_date(e->v.i, tmp, sizeof tmp);
            return hx_buf_printf(b, "toDate('%s')", tmp);
        default:
            if (e->v.i == INT64_MIN)
                return hx_buf_puts(b, "((-9223372036854775807) - 1)");
            if (e->v.i < 0)
                return hx_buf_printf(b, "(%lld)", (long long)e->v.i);
            return hx_buf_printf(b, "%lld", (long long)e->v.i);
        }
    case HX_SQL_INTERVAL: {
        static const char *units[] = {"SECOND", "MINUTE", "HOUR", "DAY", "WEEK"};
        static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
        return hx_buf_printf(b, "INTERVAL %lld %s", (long long)(e->v.i / secs[e->unit]), units[e->unit]);
    }
    case HX_SQL_CALL:
        rc = hx_buf_printf(b, "%s(", fn_name(e->fn));
        rc = rc ? rc : print(q, e->args[0], b);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_AGG:
        if (e->agg == HX_SQL_AGG_QUANTILE) {
            rc = hx_buf_puts(b, "quantile(");
            rc = rc ? rc : put_double(b, e->q);
            rc = rc ? rc : hx_buf_puts(b, ")(");
        } else {
            rc = hx_buf_printf(b, "%s(", agg_name(e->agg));
        }
        if (!rc && e->nargs)
            rc = print(q, e->args[0], b);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_BINARY:
        rc = hx_buf_putc(b, '(');
        rc = rc ? rc : print(q, e->args[0], b);
        rc = rc ? rc : hx_buf_printf(b, " %s ", op_text(e->op));
        rc = rc ? rc : print(q, e->args[1], b);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_UNARY:
        rc = hx_buf_puts(b, e->op == HX_SQL_OP_NOT ? "(NOT " : "(-");
        rc = rc ? rc : print(q, e->args[0], b);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_IN:
        rc = hx_buf_putc(b, '(');
        rc = rc ? rc : print(q, e->args[0], b);
        rc = rc ? rc : hx_buf_puts(b, e->negated ? " NOT IN (" : " IN (");
        for (int i = 1; i < e->nargs && !rc; i++) {
            if (i > 1)
                rc = hx_buf_puts(b, ", ");
            rc = rc ? rc : print(q, e->args[i], b);
        }
        return rc ? rc : hx_buf_puts(b, "))");
    case HX_SQL_BETWEEN:
        rc = hx_buf_putc(b, '(');
        rc = rc ? rc : print(q, e->args[0], b);
        rc = rc ? rc : hx_buf_puts(b, e->negated ? " NOT BETWEEN " : " BETWEEN ");
        rc = rc ? rc : print(q, e->args[1], b);
        rc = rc ? rc : hx_buf_puts(b, " AND ");
        rc = rc ? rc : print(q, e->args[2], b);
        return rc ? rc : hx_buf_putc(b, ')');
    case HX_SQL_LIKE:
        rc = hx_buf_putc(b, '(');
        rc = rc ? rc : print(q, e->args[0], b);
        rc = rc ? rc : hx_buf_puts(b, e->negated ? " NOT LIKE " : " LIKE ");
        rc = rc ? rc : print(q, e->args[1], b);
        return rc ? rc : hx_buf_putc(b, ')');
    }
    return HX_EINTERNAL;
}

int hx_sql_print_expr(const hx_sql_query_t *q, const hx_sql_expr_t *e, hx_buf_t *out)
{
    return print(q, e, out);
}

static int put_ident(hx_buf_t *b, const char *s)
{
    int plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';
    for (const char *c = s; *c && plain; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
    if (plain)
        return hx_buf_puts(b, s);
    int rc = hx_buf_putc(b, '`');
    for (const char *c = s; *c && !rc; c++)
        rc = *c == '`' ? HX_EINVAL : hx_buf_putc(b, (unsigned char)*c);
    return rc ? rc : hx_buf_putc(b, '`');
}

int hx_sql_print(const hx_sql_query_t *q, const hx_sql_print_opts_t *o, hx_buf_t *out)
{
    int rc = hx_buf_puts(out, "SELECT ");
    for (int i = 0; i < q->nitems && !rc; i++) {
        if (i)
            rc = hx_buf_puts(out, ", ");
        rc = rc ? rc : print(q, q->items[i].e, out);
        if (!rc && q->items[i].aliased) {
            rc = hx_buf_puts(out, " AS ");
            rc = rc ? rc : put_ident(out, q->items[i].name);
        }
    }
    const char *table = o && o->table ? o->table : hx_an_table(q->table)->name;
    rc = rc ? rc : hx_buf_printf(out, " FROM %s", table);
    int tf = o && o->tenant_filter;
    if (!rc && (tf || q->where)) {
        rc = hx_buf_puts(out, " WHERE ");
        if (!rc && tf) {
            rc = hx_buf_printf(out, "%s.tenant = ", table);
            rc = rc ? rc : put_str_lit(out, q->tenant, strlen(q->tenant));
            if (!rc && q->where)
                rc = hx_buf_puts(out, " AND ");
        }
        if (!rc && q->where)
            rc = print(q, q->where, out);
    }
    for (int g = 0; g < q->ngroup && !rc; g++) {
        rc = hx_buf_puts(out, g ? ", " : " GROUP BY ");
        rc = rc ? rc : print(q, q->group_by[g], out);
    }
    for (int i = 0; i < q->norder && !rc; i++) {
        rc = hx_buf_puts(out, i ? ", " : " ORDER BY ");
        rc = rc ? rc : print(q, q->order_by[i].e, out);
        if (!rc && q->order_by[i].desc)
            rc = hx_buf_puts(out, " DESC");
    }
    if (!rc && q->limit >= 0)
        rc = hx_buf_printf(out, " LIMIT %lld", (long long)q->limit);
    return rc;
}
