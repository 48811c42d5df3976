/* The binder: resolves names (aliases first, like ClickHouse, then columns),
 * substitutes parameters, types every node, converts constants compared with
 * DateTime/Date, folds constant subexpressions and checks the aggregate
 * rules (no aggregates in WHERE/GROUP BY, no nesting, every bare column of
 * an aggregate query in GROUP BY). */
#include "analytics/sql/scalar.h"
#include "analytics/sql/sql_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { CL_SELECT, CL_WHERE, CL_GROUP, CL_ORDER, CL_LIMIT };

typedef struct {
    sql_bind_ctx_t *bc;
    sql_raw_stmt_t *st;
    hx_sql_query_t *q;
    hx_sql_expr_t **bound;     /* per select item once bound */
    char *state;               /* per item: 0 unbound, 1 binding, 2 bound */
    int clause;
    int in_agg;
} binder_t;

static int berr(binder_t *b, uint32_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int berr(binder_t *b, uint32_t pos, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return sql_error_at(b->bc->err, b->bc->src, b->bc->len, pos, "%s", why);
}

static int oom(binder_t *b)
{
    return hx_err_set(b->bc->err, HX_ENOMEM, "out of memory binding SQL");
}

static int is_int_t(hx_an_type_t t)
{
    return t == HX_AN_T_UINT8 || t == HX_AN_T_UINT32 || t == HX_AN_T_UINT64 || t == HX_AN_T_INT64;
}

static int is_num_t(hx_an_type_t t)
{
    return is_int_t(t) || t == HX_AN_T_FLOAT64;
}

static int is_const(const hx_sql_expr_t *e)
{
    return e->kind == HX_SQL_CONST;
}

static const char *tname(hx_an_type_t t)
{
    return hx_an_type_name(t);
}

static hx_sql_expr_t *new_node(binder_t *b, int kind, hx_an_type_t type, uint32_t pos, int nargs)
{
    hx_sql_expr_t *e = sql_new_node(b->bc->arena, kind, pos);
    if (!e)
        return NULL;
    e->type = type;
    if (nargs) {
        e->args = sql_alloc(b->bc->arena, (size_t)nargs * sizeof *e->args);
        if (!e->args)
            return NULL;
        e->nargs = nargs;
    }
    return e;
}

static int bind(binder_t *b, hx_sql_expr_t *raw, hx_sql_expr_t **out, int depth);

static int visible_columns(binder_t *b, char *buf, size_t len)
{
    const hx_an_table_def_t *d = hx_an_table(b->q->table);
    size_t n = 0;
    buf[0] = 0;
    for (int c = 1; c < d->ncols && n + 2 < len; c++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", c > 1 ? ", " : "", d->cols[c].name);
    return 0;
}

static int bind_column(binder_t *b, const char *name, size_t len, uint32_t pos, hx_sql_expr_t **out)
{
    int c = hx_an_column_index(b->q->table, name, len);
    if (c <= HX_AN_COL_TENANT) {
        char cols[256];
        visible_columns(b, cols, sizeof cols);
        return berr(b, pos, "unknown column '%.*s'; %s has %s", (int)(len < 64 ? len : 64), name,
                    hx_an_table(b->q->table)->name, cols);
    }
    hx_sql_expr_t *e = new_node(b, HX_SQL_COL, hx_an_table(b->q->table)->cols[c].type, pos, 0);
    if (!e)
        return oom(b);
    e->col = c;
    *out = e;
    return HX_OK;
}

static int bind_item(binder_t *b, int i, int depth);

static int bind_ident(binder_t *b, sql_raw_t *r, hx_sql_expr_t **out, int depth)
{
    const char *name = r->e.v.s;
    size_t len = r->e.v.len;
    if (r->qual) {
        const char *tn = hx_an_table(b->q->table)->name;
        if (strlen(tn) != r->qual_len || memcmp(tn, r->qual, r->qual_len))
            return berr(b, r->e.pos, "'%.*s' is not the table of this query (%s)", (int)r->qual_len, r->qual, tn);
        return bind_column(b, name, len, r->e.pos, out);
    }
    for (int i = 0; i < b->st->nitems; i++) {
        const char *a = b->st->items[i].alias;
        if (!a || strlen(a) != len || memcmp(a, name, len))
            continue;
        if (b->state[i] == 1) {
            /* Inside its own definition a name means the column (x * 2 AS x). */
            if (hx_an_column_index(b->q->table, name, len) > 0)
                return bind_column(b, name, len, r->e.pos, out);
            return berr(b, r->e.pos, "alias '%s' refers to itself", a);
        }
        int rc = bind_item(b, i, depth);
        if (rc)
            return rc;
        if (hx_sql_has_agg(b->bound[i])) {
            if (b->clause == CL_WHERE || b->clause == CL_GROUP)
                return berr(b, r->e.pos, "'%s' is an aggregate, not allowed in %s", a,
                            b->clause == CL_WHERE ? "WHERE" : "GROUP BY");
            if (b->in_agg)
                return berr(b, r->e.pos, "'%s' is an aggregate; aggregates cannot be nested", a);
        }
        *out = b->bound[i];
        return HX_OK;
    }
    return bind_column(b, name, len, r->e.pos, out);
}

static int parse_int_text(const char *s, int64_t *v)
{
    if (!*s)
        return HX_EINVAL;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return HX_EINVAL;
    *v = x;
    return HX_OK;
}

static int bind_param(binder_t *b, sql_raw_t *r, hx_sql_expr_t **out)
{
    const char *name = r->e.v.s, *ty = r->ptype, *val = NULL;
    for (size_t i = 0; i < b->bc->nparams; i++)
        if (b->bc->params[i].name && !strcmp(b->bc->params[i].name, name)) {
            val = b->bc->params[i].value ? b->bc->params[i].value : "";
            break;
        }
    if (!val)
        return berr(b, r->e.pos, "no value for parameter '%s' (pass it in params)", name);
    hx_sql_expr_t *e = new_node(b, HX_SQL_CONST, HX_AN_T_INT64, r->e.pos, 0);
    if (!e)
        return oom(b);
    int64_t v = 0;
    if (!strcmp(ty, "String")) {
        size_t n = strlen(val);
        e->type = HX_AN_T_STRING;
        if (!(e->v.s = sql_strndup(b->bc->arena, val, n)))
            return oom(b);
        e->v.len = n;
    } else if (!strncmp(ty, "UInt", 4) || !strncmp(ty, "Int", 3)) {
        static const char *ok[] = {"UInt8", "UInt16", "UInt32", "UInt64", "Int8", "Int16", "Int32", "Int64", NULL};
        int known = 0;
        for (int k = 0; ok[k]; k++)
            known |= !strcmp(ty, ok[k]);
        if (!known)
            return berr(b, r->e.pos, "parameter type '%s' is not supported", ty);
        if (parse_int_text(val, &v) || (ty[0] == 'U' && v < 0))
            return berr(b, r->e.pos, "parameter '%s' must be %s %s, got '%.40s'", name,
                        ty[0] == 'U' ? "a non-negative integer for" : "an integer for", ty, val);
        e->type = ty[0] == 'U' ? HX_AN_T_UINT64 : HX_AN_T_INT64;
        e->v.i = v;
    } else if (!strcmp(ty, "Float64") || !strcmp(ty, "Float32")) {
        char *end;
        errno = 0;
        double f = strtod(val, &end);
        if (!*val || *end || errno || !isfinite(f))
            return berr(b, r->e.pos, "parameter '%s' must be a number for %s, got '%.40s'", name, ty, val);
        e->type = HX_AN_T_FLOAT64;
        e->v.f = f;
    } else if (!strcmp(ty, "DateTime")) {
        if (parse_int_text(val, &v) && hx_sql_parse_datetime(val, strlen(val), &v))
            return berr(b, r->e.pos,
                        "parameter '%s' must be a DateTime ('YYYY-MM-DD hh:mm:ss' or epoch seconds), got '%.40s'",
                        name, val);
        e->type = HX_AN_T_DATETIME;
        e->v.i = v;
    } else if (!strcmp(ty, "Date")) {
        if (hx_sql_parse_date(val, strlen(val), &v))
            return berr(b, r->e.pos, "parameter '%s' must be a Date ('YYYY-MM-DD'), got '%.40s'", name, val);
        e->type = HX_AN_T_DATE;
        e->v.i = v;
    } else {
        return berr(b, r->e.pos,
                    "parameter type '%s' is not supported (String, UInt8..UInt64, Int8..Int64, Float32, Float64, "
                    "DateTime, Date)",
                    ty);
    }
    *out = e;
    return HX_OK;
}

/* Converts constant c for comparison with an expression of type target
 * (DateTime / Date take strings and integers). */
static int coerce_const(binder_t *b, hx_sql_expr_t *c, hx_an_type_t target, hx_sql_expr_t **out)
{
    *out = c;
    if (target != HX_AN_T_DATETIME && target != HX_AN_T_DATE)
        return HX_OK;
    if (c->type == target)
        return HX_OK;
    int64_t v;
    if (c->type == HX_AN_T_STRING) {
        int bad = target == HX_AN_T_DATETIME ? hx_sql_parse_datetime(c->v.s, c->v.len, &v)
                                             : hx_sql_parse_date(c->v.s, c->v.len, &v);
        if (bad)
            return berr(b, c->pos, "cannot read '%.40s' as a %s (%s)", c->v.s, tname(target),
                        target == HX_AN_T_DATETIME ? "YYYY-MM-DD hh:mm:ss" : "YYYY-MM-DD");
    } else if (is_int_t(c->type)) {
        v = c->v.i;
    } else if (c->type == HX_AN_T_DATE && target == HX_AN_T_DATETIME) {
        v = c->v.i * 86400;
    } else {
        return berr(b, c->pos, "cannot compare %s with a %s constant", tname(target), tname(c->type));
    }
    hx_sql_expr_t *e = new_node(b, HX_SQL_CONST, target, c->pos, 0);
    if (!e)
        return oom(b);
    e->v.i = v;
    *out = e;
    return HX_OK;
}

/* The comparison class of a type: 0 number, 1 string, 2 DateTime, 3 Date. */
static int cls(hx_an_type_t t)
{
    return t == HX_AN_T_STRING ? 1 : t == HX_AN_T_DATETIME ? 2 : t == HX_AN_T_DATE ? 3 : 0;
}

/* Makes l and r comparable (converting constants), or fails naming both types. */
static int unify_cmp(binder_t *b, uint32_t pos, hx_sql_expr_t **l, hx_sql_expr_t **r)
{
    int cl = cls((*l)->type), cr = cls((*r)->type);
    if (cl == cr)
        return HX_OK;
    if (cl >= 2 && is_const(*r))
        return coerce_const(b, *r, (*l)->type, r);
    if (cr >= 2 && is_const(*l))
        return coerce_const(b, *l, (*r)->type, l);
    return berr(b, pos, "cannot compare %s with %s", tname((*l)->type), tname((*r)->type));
}

static int flip_op(int op)
{
    switch (op) {
    case HX_SQL_OP_LT: return HX_SQL_OP_GT;
    case HX_SQL_OP_LE: return HX_SQL_OP_GE;
    case HX_SQL_OP_GT: return HX_SQL_OP_LT;
    case HX_SQL_OP_GE: return HX_SQL_OP_LE;
    }
    return op;
}

static int bind_binary(binder_t *b, hx_sql_expr_t *raw, hx_sql_expr_t **out, int depth)
{
    hx_sql_expr_t *l, *r;
    int rc = bind(b, raw->args[0], &l, depth + 1);
    if (!rc)
        rc = bind(b, raw->args[1], &r, depth + 1);
    if (rc)
        return rc;
    int op = raw->op;
    hx_an_type_t t;
    if (op <= HX_SQL_OP_GE) {
        if (l->kind == HX_SQL_INTERVAL || r->kind == HX_SQL_INTERVAL)
            return berr(b, raw->pos, "an INTERVAL can only be added to or subtracted from a DateTime");
        if ((rc = unify_cmp(b, raw->pos, &l, &r)))
            return rc;
        if (is_const(l) && !is_const(r)) { /* column op constant, for pruning and rollups */
            hx_sql_expr_t *tmp = l;
            l = r;
            r = tmp;
            op = flip_op(op);
        }
        t = HX_AN_T_UINT8;
    } else if (op == HX_SQL_OP_AND || op == HX_SQL_OP_OR) {
        if (!is_num_t(l->type) || !is_num_t(r->type))
            return berr(b, raw->pos, "%s needs conditions, not %s", op == HX_SQL_OP_AND ? "AND" : "OR",
                        tname(is_num_t(l->type) ? r->type : l->type));
        t = HX_AN_T_UINT8;
    } else {
        int li = l->kind == HX_SQL_INTERVAL, ri = r->kind == HX_SQL_INTERVAL;
        hx_an_type_t lt = l->type, rt = r->type;
        if (op == HX_SQL_OP_ADD || op == HX_SQL_OP_SUB) {
            if ((lt == HX_AN_T_DATETIME && (ri || is_int_t(rt))) ||
                (op == HX_SQL_OP_ADD && rt == HX_AN_T_DATETIME && (li || is_int_t(lt)))) {
                t = HX_AN_T_DATETIME;
            } else if (lt == HX_AN_T_DATE && (ri || is_int_t(rt))) {
                if (ri && r->v.i % 86400)
                    return berr(b, r->pos, "a Date moves by whole days: use INTERVAL n DAY or WEEK");
                t = HX_AN_T_DATE;
            } else if (op == HX_SQL_OP_SUB && lt == rt && (lt == HX_AN_T_DATETIME || lt == HX_AN_T_DATE)) {
                t = HX_AN_T_INT64;
            } else if (li || ri) {
                return berr(b, raw->pos, "an INTERVAL can only be added to or subtracted from a DateTime");
            } else if (is_num_t(lt) && is_num_t(rt)) {
                t = lt == HX_AN_T_FLOAT64 || rt == HX_AN_T_FLOAT64 ? HX_AN_T_FLOAT64 : HX_AN_T_INT64;
            } else {
                return berr(b, raw->pos, "cannot apply %s to %s and %s", op == HX_SQL_OP_ADD ? "+" : "-",
                            tname(lt), tname(rt));
            }
        } else {
            if (li || ri)
                return berr(b, raw->pos, "an INTERVAL can only be added to or subtracted from a DateTime");
            if (!is_num_t(lt) || !is_num_t(rt))
                return berr(b, raw->pos, "cannot apply %s to %s and %s", op == HX_SQL_OP_MUL ? "*" : "/",
                            tname(lt), tname(rt));
            t = op == HX_SQL_OP_DIV || lt == HX_AN_T_FLOAT64 || rt == HX_AN_T_FLOAT64 ? HX_AN_T_FLOAT64
                                                                                   : HX_AN_T_INT64;
        }
    }
    hx_sql_expr_t *e = new_node(b, HX_SQL_BINARY, t, raw->pos, 2);
    if (!e)
        return oom(b);
    e->op = op;
    e->args[0] = l;
    e->args[1] = r;
    *out = e;
    return sql_fold(b->bc, out);
}

static const struct {
    const char *name;
    int fn;
} scalar_fns[] = {
    {"toStartOfMinute", HX_SQL_FN_START_OF_MINUTE}, {"toStartOfHour", HX_SQL_FN_START_OF_HOUR},
    {"toStartOfDay", HX_SQL_FN_START_OF_DAY},       {"toDate", HX_SQL_FN_TO_DATE},
    {"toYYYYMM", HX_SQL_FN_TO_YYYYMM},
};

static const struct {
    const char *name;
    int agg;
} agg_fns[] = {
    {"count", HX_SQL_AGG_COUNT}, {"sum", HX_SQL_AGG_SUM}, {"avg", HX_SQL_AGG_AVG},          {"min", HX_SQL_AGG_MIN},
    {"max", HX_SQL_AGG_MAX},     {"uniq", HX_SQL_AGG_UNIQ}, {"quantile", HX_SQL_AGG_QUANTILE},
};

#define SUPPORTED_FNS                                                                                             \
    "count, sum, avg, min, max, uniq, quantile(q), toStartOfMinute, toStartOfHour, toStartOfDay, toDate, "       \
    "toDateTime, toYYYYMM, now"

static int name_is(const sql_raw_t *r, const char *n)
{
    return strlen(n) == r->e.v.len && strncasecmp(r->e.v.s, n, r->e.v.len) == 0;
}

static int bind_agg(binder_t *b, sql_raw_t *r, int agg, hx_sql_expr_t **out, int depth)
{
    const char *fname = agg_fns[agg].name;
    if (b->clause == CL_WHERE || b->clause == CL_GROUP)
        return berr(b, r->e.pos, "aggregate functions are not allowed in %s",
                    b->clause == CL_WHERE ? "WHERE (there is no HAVING in the subset)" : "GROUP BY");
    if (b->in_agg)
        return berr(b, r->e.pos, "an aggregate function cannot be nested inside another");
    double q = 0.5;
    if (r->has_params) {
        if (agg != HX_SQL_AGG_QUANTILE)
            return berr(b, r->e.pos, "%s takes no parameters", fname);
        if (r->nparams != 1)
            return berr(b, r->e.pos, "quantile takes one level: quantile(0.95)(x)");
        hx_sql_expr_t *lv;
        int rc = bind(b, r->params[0], &lv, depth + 1);
        if (rc)
            return rc;
        if (!is_const(lv) || !is_num_t(lv->type))
            return berr(b, r->params[0]->pos, "the quantile level must be a number between 0 and 1");
        q = lv->type == HX_AN_T_FLOAT64 ? lv->v.f : (double)lv->v.i;
        if (!(q >= 0 && q <= 1))
            return berr(b, r->params[0]->pos, "the quantile level must be between 0 and 1");
    }
    int nargs = r->e.nargs;
    if (agg == HX_SQL_AGG_COUNT) {
        if (nargs > 1)
            return berr(b, r->e.pos, "count takes at most one argument");
        nargs = 0; /* count(*), count(x): no NULLs here, so both are count() */
    } else if (nargs != 1 || r->e.args[0]->kind == (hx_sql_kind_t)SQL_RAW_STAR) {
        return berr(b, r->e.pos, "%s takes exactly one argument", fname);
    }
    hx_sql_expr_t *arg = NULL;
    if (nargs) {
        b->in_agg = 1;
        int rc = bind(b, r->e.args[0], &arg, depth + 1);
        b->in_agg = 0;
        if (rc)
            return rc;
        if (arg->kind == HX_SQL_INTERVAL)
            return berr(b, arg->pos, "an INTERVAL cannot be aggregated");
    }
    hx_an_type_t t = HX_AN_T_UINT64;
    switch (agg) {
    case HX_SQL_AGG_SUM:
    case HX_SQL_AGG_AVG:
    case HX_SQL_AGG_QUANTILE:
        if (!is_num_t(arg->type))
            return berr(b, r->e.pos, "%s needs a number, not %s", fname, tname(arg->type));
        t = agg == HX_SQL_AGG_SUM ? (arg->type == HX_AN_T_FLOAT64 ? HX_AN_T_FLOAT64
                                     : arg->type == HX_AN_T_INT64 ? HX_AN_T_INT64
                                                                  : HX_AN_T_UINT64)
                                  : HX_AN_T_FLOAT64;
        break;
    case HX_SQL_AGG_MIN:
    case HX_SQL_AGG_MAX: t = arg->type; break;
    default: break;
    }
    hx_sql_expr_t *e = new_node(b, HX_SQL_AGG, t, r->e.pos, nargs);
    if (!e)
        return oom(b);
    e->agg = agg;
    e->q = q;
    if (nargs)
        e->args[0] = arg;
    *out = e;
    return HX_OK;
}

static int bind_call(binder_t *b, sql_raw_t *r, hx_sql_expr_t **out, int depth)
{
    for (size_t k = 0; k < sizeof agg_fns / sizeof agg_fns[0]; k++)
        if (name_is(r, agg_fns[k].name))
            return bind_agg(b, r, agg_fns[k].agg, out, depth);
    if (r->has_params)
        return berr(b, r->e.pos, "only quantile takes parameters");
    for (int i = 0; i < r->e.nargs; i++)
        if (r->e.args[i]->kind == (hx_sql_kind_t)SQL_RAW_STAR)
            return berr(b, r->e.pos, "* is only allowed in count(*)");
    if (name_is(r, "now")) {
        if (r->e.nargs)
            return berr(b, r->e.pos, "now() takes no arguments");
        hx_sql_expr_t *e = sql_new_const_int(b->bc->arena, HX_AN_T_DATETIME, b->bc->now_s, r->e.pos);
        *out = e;
        return e ? HX_OK : oom(b);
    }
    hx_sql_expr_t *args[2];
    if (name_is(r, "toDateTime")) {
        /* toDateTime(x[, 'UTC']): what printers write for DateTime constants. */
        if (r->e.nargs < 1 || r->e.nargs > 2)
            return berr(b, r->e.pos, "toDateTime takes one argument (and optionally 'UTC')");
        int rc = bind(b, r->e.args[0], &args[0], depth + 1);
        if (rc)
            return rc;
        if (r->e.nargs == 2) {
            if ((rc = bind(b, r->e.args[1], &args[1], depth + 1)))
                return rc;
            if (!is_const(args[1]) || args[1]->type != HX_AN_T_STRING || strcmp(args[1]->v.s, "UTC"))
                return berr(b, r->e.args[1]->pos, "times are UTC: the only time zone is 'UTC'");
        }
        hx_sql_expr_t *a = args[0];
        if (a->type == HX_AN_T_DATETIME) {
            *out = a;
            return HX_OK;
        }
        if (!is_const(a) || (a->type != HX_AN_T_STRING && !is_int_t(a->type) && a->type != HX_AN_T_DATE))
            return berr(b, a->pos, "toDateTime takes a DateTime, a Date or a constant string or number");
        return coerce_const(b, a, HX_AN_T_DATETIME, out);
    }
    int fn = -1;
    for (size_t k = 0; k < sizeof scalar_fns / sizeof scalar_fns[0]; k++)
        if (name_is(r, scalar_fns[k].name))
            fn = scalar_fns[k].fn;
    if (fn < 0)
        return berr(b, r->e.pos, "unknown function '%.*s' (supported: " SUPPORTED_FNS ")",
                    (int)(r->e.v.len < 40 ? r->e.v.len : 40), r->e.v.s);
    if (r->e.nargs != 1)
        return berr(b, r->e.pos, "%s takes one argument", scalar_fns[fn].name);
    int rc = bind(b, r->e.args[0], &args[0], depth + 1);
    if (rc)
        return rc;
    hx_sql_expr_t *a = args[0];
    if (fn == HX_SQL_FN_TO_DATE && is_const(a) && a->type == HX_AN_T_STRING)
        return coerce_const(b, a, HX_AN_T_DATE, out);
    if (is_const(a) && a->type == HX_AN_T_STRING && (rc = coerce_const(b, a, HX_AN_T_DATETIME, &a)))
        return rc;
    if (a->type != HX_AN_T_DATETIME && a->type != HX_AN_T_DATE)
        return berr(b, r->e.pos, "%s needs a DateTime or a Date, not %s", scalar_fns[fn].name, tname(a->type));
    if (fn == HX_SQL_FN_TO_DATE && a->type == HX_AN_T_DATE) {
        *out = a;
        return HX_OK;
    }
    hx_an_type_t t = fn == HX_SQL_FN_TO_DATE     ? HX_AN_T_DATE
                     : fn == HX_SQL_FN_TO_YYYYMM ? HX_AN_T_UINT32
                                                 : HX_AN_T_DATETIME;
    hx_sql_expr_t *e = new_node(b, HX_SQL_CALL, t, r->e.pos, 1);
    if (!e)
        return oom(b);
    e->fn = fn;
    e->args[0] = a;
    *out = e;
    return sql_fold(b->bc, out);
}

/* IN / BETWEEN members: constants converted to the tested expression's type. */
static int bind_members(binder_t *b, hx_sql_expr_t *raw, hx_sql_expr_t **out, int depth, int need_const)
{
    hx_sql_expr_t *x;
    int rc = bind(b, raw->args[0], &x, depth + 1);
    if (rc)
        return rc;
    hx_sql_expr_t *e = new_node(b, raw->kind, HX_AN_T_UINT8, raw->pos, raw->nargs);
    if (!e)
        return oom(b);
    e->negated = raw->negated;
    e->args[0] = x;
    for (int i = 1; i < raw->nargs; i++) {
        hx_sql_expr_t *m;
        if ((rc = bind(b, raw->args[i], &m, depth + 1)))
            return rc;
        if (need_const && !is_const(m))
            return berr(b, m->pos, "IN takes a list of constants");
        if (m->kind == HX_SQL_INTERVAL)
            return berr(b, m->pos, "an INTERVAL is not a value");
        hx_sql_expr_t *l = x;
        if ((rc = unify_cmp(b, m->pos, &l, &m)))
            return rc;
        if (l != x)
            return berr(b, m->pos, "cannot compare %s with %s", tname(x->type), tname(m->type));
        e->args[i] = m;
    }
    *out = e;
    return sql_fold(b->bc, out);
}

static int bind(binder_t *b, hx_sql_expr_t *raw, hx_sql_expr_t **out, int depth)
{
    if (depth > SQL_MAX_DEPTH * 4)
        return berr(b, raw->pos, "expression nested too deeply");
    sql_raw_t *r = (sql_raw_t *)raw;
    int rc;
    hx_sql_expr_t *e;
    switch ((int)raw->kind) {
    case SQL_RAW_IDENT: return bind_ident(b, r, out, depth);
    case SQL_RAW_PARAM: return bind_param(b, r, out);
    case SQL_RAW_INT:
    case SQL_RAW_FLOAT:
        e = new_node(b, HX_SQL_CONST, raw->kind == (hx_sql_kind_t)SQL_RAW_INT ? HX_AN_T_INT64 : HX_AN_T_FLOAT64,
                     raw->pos, 0);
        if (!e)
            return oom(b);
        e->v.i = raw->v.i;
        e->v.f = raw->v.f;
        *out = e;
        return HX_OK;
    case SQL_RAW_STRING:
        if (!(e = new_node(b, HX_SQL_CONST, HX_AN_T_STRING, raw->pos, 0)))
            return oom(b);
        e->v.s = raw->v.s;
        e->v.len = raw->v.len;
        *out = e;
        return HX_OK;
    case SQL_RAW_STAR: return berr(b, raw->pos, "* is only allowed as SELECT * or count(*)");
    case SQL_RAW_CALL: return bind_call(b, r, out, depth);
    case HX_SQL_INTERVAL: {
        hx_sql_expr_t *n;
        if ((rc = bind(b, raw->args[0], &n, depth + 1)))
            return rc;
        if (!is_const(n) || !is_int_t(n->type) || n->v.i < 0)
            return berr(b, raw->pos, "INTERVAL takes a non-negative integer constant");
        static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
        if (n->v.i > INT64_MAX / secs[raw->unit] / 2)
            return berr(b, raw->pos, "INTERVAL out of range");
        if (!(e = new_node(b, HX_SQL_INTERVAL, HX_AN_T_INT64, raw->pos, 0)))
            return oom(b);
        e->unit = raw->unit;
        e->v.i = n->v.i * secs[raw->unit];
        *out = e;
        return HX_OK;
    }
    case HX_SQL_BINARY: return bind_binary(b, raw, out, depth);
    case HX_SQL_UNARY: {
        hx_sql_expr_t *a;
        if ((rc = bind(b, raw->args[0], &a, depth + 1)))
            return rc;
        if (!is_num_t(a->type))
            return berr(b, raw->pos, "%s needs a number, not %s", raw->op == HX_SQL_OP_NOT ? "NOT" : "unary -",
                        tname(a->type));
        hx_an_type_t t = raw->op == HX_SQL_OP_NOT ? HX_AN_T_UINT8
                         : a->type == HX_AN_T_FLOAT64 ? HX_AN_T_FLOAT64
                                                      : HX_AN_T_INT64;
        if (!(e = new_node(b, HX_SQL_UNARY, t, raw->pos, 1)))
            return oom(b);
        e->op = raw->op;
        e->args[0] = a;
        *out = e;
        return sql_fold(b->bc, out);
    }
    case HX_SQL_IN: return bind_members(b, raw, out, depth, 1);
    case HX_SQL_BETWEEN: return bind_members(b, raw, out, depth, 0);
    case HX_SQL_LIKE: {
        hx_sql_expr_t *x, *pat;
        if ((rc = bind(b, raw->args[0], &x, depth + 1)) || (rc = bind(b, raw->args[1], &pat, depth + 1)))
            return rc;
        if (x->type != HX_AN_T_STRING)
            return berr(b, raw->pos, "LIKE needs a String, not %s", tname(x->type));
        if (!is_const(pat) || pat->type != HX_AN_T_STRING)
            return berr(b, pat->pos, "the LIKE pattern must be a constant string");
        if (!(e = new_node(b, HX_SQL_LIKE, HX_AN_T_UINT8, raw->pos, 2)))
            return oom(b);
        e->negated = raw->negated;
        e->args[0] = x;
        e->args[1] = pat;
        *out = e;
        return sql_fold(b->bc, out);
    }
    }
    return berr(b, raw->pos, "unsupported expression");
}

static int bind_item(binder_t *b, int i, int depth)
{
    if (b->state[i] == 2)
        return HX_OK;
    int clause = b->clause;
    b->state[i] = 1;
    b->clause = clause == CL_WHERE || clause == CL_GROUP ? clause : CL_SELECT;
    int rc = bind(b, b->st->items[i].e, &b->bound[i], depth + 1);
    b->clause = clause;
    b->state[i] = rc ? 0 : 2;
    return rc;
}

/* In an aggregate query every column outside an aggregate must be (part of) a
 * GROUP BY expression. */
static int check_grouped(binder_t *b, const hx_sql_expr_t *e)
{
    for (int g = 0; g < b->q->ngroup; g++)
        if (hx_sql_expr_equal(e, b->q->group_by[g]))
            return HX_OK;
    if (e->kind == HX_SQL_AGG || e->kind == HX_SQL_CONST || e->kind == HX_SQL_INTERVAL)
        return HX_OK;
    if (e->kind == HX_SQL_COL)
        return berr(b, e->pos, "column '%s' must be in GROUP BY or inside an aggregate function",
                    hx_an_table(b->q->table)->cols[e->col].name);
    for (int i = 0; i < e->nargs; i++) {
        int rc = check_grouped(b, e->args[i]);
        if (rc)
            return rc;
    }
    return HX_OK;
}

/* The printed expression without its outer parentheses: the column name. */
static const char *expr_name(binder_t *b, const hx_sql_expr_t *e)
{
    hx_buf_t buf = HX_BUF_INIT;
    if (hx_sql_print_expr(b->q, e, &buf)) {
        hx_buf_free(&buf);
        return NULL;
    }
    const char *s = hx_buf_cstr(&buf);
    size_t n = buf.len;
    if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
        int depth = 0, outer = 1;
        for (size_t i = 0; i < n - 1; i++) {
            depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
            if (depth == 0) {
                outer = 0;
                break;
            }
        }
        if (outer) {
            s++;
            n -= 2;
        }
    }
    char *out = sql_strndup(b->bc->arena, s, n);
    hx_buf_free(&buf);
    return out;
}

int sql_bind(sql_bind_ctx_t *bc, sql_raw_stmt_t *st, hx_sql_query_t *q)
{
    binder_t bb = {bc, st, q, NULL, NULL, CL_SELECT, 0}, *b = &bb;
    const hx_an_table_def_t *td = hx_an_table(st->table);
    int rc;
    q->table = st->table;
    q->limit = -1;
    q->rollup = -1;
    if (st->star) {
        /* SELECT *: every visible column, as if listed. */
        st->nitems = td->ncols - 1;
        st->items = sql_alloc(bc->arena, (size_t)st->nitems * sizeof *st->items);
        if (!st->items)
            return oom(b);
        for (int c = 1; c < td->ncols; c++) {
            sql_raw_t *r = (sql_raw_t *)sql_new_node(bc->arena, SQL_RAW_IDENT, st->star_pos);
            if (!r)
                return oom(b);
            r->qual = td->name;
            r->qual_len = (uint32_t)strlen(td->name);
            r->e.v.s = td->cols[c].name;
            r->e.v.len = strlen(td->cols[c].name);
            st->items[c - 1].e = &r->e;
        }
    }
    for (int i = 0; i < st->nitems; i++)
        for (int j = 0; j < i; j++)
            if (st->items[i].alias && st->items[j].alias && !strcmp(st->items[i].alias, st->items[j].alias))
                return berr(b, st->items[i].alias_pos, "alias '%s' is used twice", st->items[i].alias);
    b->bound = sql_alloc(bc->arena, (size_t)(st->nitems ? st->nitems : 1) * sizeof *b->bound);
    b->state = sql_alloc(bc->arena, (size_t)(st->nitems ? st->nitems : 1));
    q->items = sql_alloc(bc->arena, (size_t)(st->nitems ? st->nitems : 1) * sizeof *q->items);
    if (!b->bound || !b->state || !q->items)
        return oom(b);
    for (int i = 0; i < st->nitems; i++)
        if ((rc = bind_item(b, i, 0)))
            return rc;
    q->nitems = st->nitems;
    for (int i = 0; i < st->nitems; i++) {
        q->items[i].e = b->bound[i];
        if (b->bound[i]->kind == HX_SQL_INTERVAL)
            return berr(b, b->bound[i]->pos, "an INTERVAL is not a value; add it to a DateTime");
        q->items[i].aliased = st->items[i].alias != NULL;
        q->aggregate |= hx_sql_has_agg(b->bound[i]);
    }
    if (st->where) {
        b->clause = CL_WHERE;
        if ((rc = bind(b, st->where, &q->where, 0)))
            return rc;
        if (!is_num_t(q->where->type))
            return berr(b, q->where->pos, "WHERE needs a condition, not %s", tname(q->where->type));
    }
    if (st->ngroup) {
        b->clause = CL_GROUP;
        q->group_by = sql_alloc(bc->arena, (size_t)st->ngroup * sizeof *q->group_by);
        if (!q->group_by)
            return oom(b);
        for (int g = 0; g < st->ngroup; g++) {
            if ((rc = bind(b, st->group_by[g], &q->group_by[g], 0)))
                return rc;
            if (q->group_by[g]->kind == HX_SQL_INTERVAL)
                return berr(b, q->group_by[g]->pos, "cannot group by an INTERVAL");
        }
        q->ngroup = st->ngroup;
        q->aggregate = 1;
    }
    if (st->norder) {
        b->clause = CL_ORDER;
        q->order_by = sql_alloc(bc->arena, (size_t)st->norder * sizeof *q->order_by);
        if (!q->order_by)
            return oom(b);
        for (int o = 0; o < st->norder; o++) {
            if ((rc = bind(b, st->order_by[o].e, &q->order_by[o].e, 0)))
                return rc;
            if (q->order_by[o].e->kind == HX_SQL_INTERVAL)
                return berr(b, q->order_by[o].e->pos, "cannot order by an INTERVAL");
            q->order_by[o].desc = st->order_by[o].desc;
            if (!q->aggregate && hx_sql_has_agg(q->order_by[o].e))
                return berr(b, q->order_by[o].e->pos,
                            "ORDER BY an aggregate needs an aggregate query (GROUP BY or aggregates in SELECT)");
        }
        q->norder = st->norder;
    }
    if (q->aggregate) {
        for (int i = 0; i < q->nitems; i++)
            if ((rc = check_grouped(b, q->items[i].e)))
                return rc;
        for (int o = 0; o < q->norder; o++)
            if ((rc = check_grouped(b, q->order_by[o].e)))
                return rc;
    }
    if (st->limit) {
        b->clause = CL_LIMIT;
        hx_sql_expr_t *l;
        if ((rc = bind(b, st->limit, &l, 0)))
            return rc;
        if (!is_const(l) || !is_int_t(l->type) || l->v.i < 0)
            return berr(b, st->limit->pos, "LIMIT takes a non-negative integer");
        q->limit = l->v.i;
    }
    for (int i = 0; i < q->nitems; i++) {
        q->items[i].name = st->items[i].alias ? st->items[i].alias : expr_name(b, q->items[i].e);
        if (!q->items[i].name)
            return oom(b);
    }
    return HX_OK;
}

int hx_sql_has_agg(const hx_sql_expr_t *e)
{
    if (e->kind == HX_SQL_AGG)
        return 1;
    for (int i = 0; i < e->nargs; i++)
        if (hx_sql_has_agg(e->args[i]))
            return 1;
    return 0;
}

int hx_sql_expr_equal(const hx_sql_expr_t *a, const hx_sql_expr_t *b)
{
    if (a == b)
        return 1;
    if (a->kind != b->kind || a->nargs != b->nargs)
        return 0;
    switch (a->kind) {
    case HX_SQL_COL:
        if (a->col != b->col)
            return 0;
        break;
    case HX_SQL_CONST:
        if (a->type == HX_AN_T_STRING || b->type == HX_AN_T_STRING)
            return a->type == b->type && a->v.len == b->v.len && !memcmp(a->v.s, b->v.s, a->v.len);
        if (a->type == HX_AN_T_FLOAT64 || b->type == HX_AN_T_FLOAT64)
            return a->type == b->type && (a->v.f == b->v.f || (a->v.f != a->v.f && b->v.f != b->v.f));
        /* Integer constants compare by value: 1 = 1 folds to UInt8 1, which prints as 1. */
        if ((a->type == HX_AN_T_DATETIME) != (b->type == HX_AN_T_DATETIME) ||
            (a->type == HX_AN_T_DATE) != (b->type == HX_AN_T_DATE))
            return 0;
        return a->v.i == b->v.i;
    case HX_SQL_CALL:
        if (a->fn != b->fn)
            return 0;
        break;
    case HX_SQL_AGG:
        if (a->agg != b->agg || (a->agg == HX_SQL_AGG_QUANTILE && a->q != b->q))
            return 0;
        break;
    case HX_SQL_BINARY:
    case HX_SQL_UNARY:
        if (a->op != b->op)
            return 0;
        break;
    case HX_SQL_IN:
    case HX_SQL_BETWEEN:
    case HX_SQL_LIKE:
        if (a->negated != b->negated)
            return 0;
        break;
    case HX_SQL_INTERVAL: return a->v.i == b->v.i;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!hx_sql_expr_equal(a->args[i], b->args[i]))
            return 0;
    return 1;
}

int hx_sql_parse(const char *sql, size_t len, const char *tenant, const hx_an_param_t *params, size_t nparams,
                 int64_t now_s, hx_sql_query_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!sql)
        return hx_err_set(err, HX_EINVAL, "SQL error: no statement");
    if (len > SQL_MAX_LEN)
        return hx_err_set(err, HX_EINVAL, "SQL error: statement of %zu bytes is over the limit of %d", len,
                          SQL_MAX_LEN);
    sql_arena_t arena = {0};
    hx_sql_query_t *q = sql_alloc(&arena, sizeof *q);
    if (!q)
        return hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    sql_lexer_t lx = {sql, len, 0, &arena, {0}, err};
    sql_raw_stmt_t st;
    int rc = sql_parse_raw(&lx, &st);
    if (!rc) {
        sql_bind_ctx_t bc = {sql, len, &arena, params, nparams, now_s, err};
        rc = sql_bind(&bc, &st, q);
    }
    if (!rc && !(q->tenant = sql_strndup(&arena, tenant ? tenant : "default", strlen(tenant ? tenant : "default"))))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    if (rc) {
        sql_arena_free(&arena);
        return rc;
    }
    q->now_s = now_s;
    /* The arena holds q itself; keep its head in q so free finds it. */
    sql_arena_t *keep = sql_alloc(&arena, sizeof *keep);
    if (!keep) {
        sql_arena_free(&arena);
        return hx_err_set(err, HX_ENOMEM, "out of memory parsing SQL");
    }
    *keep = arena;
    q->arena_ = keep;
    *out = q;
    return HX_OK;
}

void hx_sql_free(hx_sql_query_t *q)
{
    if (!q)
        return;
    sql_arena_t a = *(sql_arena_t *)q->arena_;
    sql_arena_free(&a);
}
