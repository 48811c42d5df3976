/* Recursive-descent parser of the SQL subset into an unbound tree. Anything
 * outside the subset is refused here, naming the token and its position. */
#include "analytics/sql/sql_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    sql_lexer_t *lx;
    int depth;
    int ops;   /* binary operators so far: bounds the depth of left-deep chains */
} parser_t;

#define TOK (&p->lx->tok)

static int perr(parser_t *p, uint32_t pos, const char *fmt, const char *arg)
{
    return sql_error_at(p->lx->err, p->lx->src, p->lx->len, pos, fmt, arg ? arg : "");
}

static int is_kw(const sql_tok_t *t, const char *kw)
{
    return t->kind == TK_IDENT && strlen(kw) == t->slen && strncasecmp(t->s, kw, t->slen) == 0;
}

static int is_punct(const sql_tok_t *t, const char *pu)
{
    return t->kind == TK_PUNCT && strcmp(t->punct, pu) == 0;
}

static int next(parser_t *p)
{
    return sql_lex_next(p->lx);
}

static int expect_punct(parser_t *p, const char *pu, const char *what)
{
    if (!is_punct(TOK, pu))
        return perr(p, TOK->pos, "expected %s", what);
    return next(p);
}

/* Words that end an expression or a select item (never an implicit alias),
 * and words of SQL the subset does not have, refused by name. */
static const char *const reserved[] = {"FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "AS", "AND", "OR", "NOT", "IN",
                                       "BETWEEN", "LIKE", "ASC", "DESC", "BY", "SELECT", "INTERVAL", NULL};
static const char *const unsupported[] = {
    "JOIN", "UNION", "HAVING", "FORMAT", "SETTINGS", "PREWHERE", "FINAL", "SAMPLE", "WITH", "ON", "USING",
    "ARRAY", "INTO", "OFFSET", "IS", "NULL", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "ALL", "ANY",
    "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "FULL", "GLOBAL", "EXISTS", "ILIKE", "LIMITS", "TOTALS", NULL};

static int in_list(const sql_tok_t *t, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (is_kw(t, list[i]))
            return 1;
    return 0;
}

static int refuse_unsupported(parser_t *p)
{
    if (in_list(TOK, unsupported)) {
        char w[40];
        snprintf(w, sizeof w, "%.*s", (int)(TOK->slen < 32 ? TOK->slen : 32), TOK->s);
        for (char *c = w; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 32);
        if (!strcmp(w, "DISTINCT"))
            return perr(p, TOK->pos, "DISTINCT is not supported; use GROUP BY%s", NULL);
        return perr(p, TOK->pos, "%s is not part of the analytics SQL subset (docs/analytics.md)", w);
    }
    return HX_OK;
}

static hx_sql_expr_t *node(parser_t *p, int kind, uint32_t pos)
{
    hx_sql_expr_t *e = sql_new_node(p->lx->arena, kind, pos);
    if (!e)
        hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
    return e;
}

static int set_args(parser_t *p, hx_sql_expr_t *e, hx_sql_expr_t **args, int n)
{
    e->args = sql_alloc(p->lx->arena, (size_t)(n ? n : 1) * sizeof *args);
    if (!e->args)
        return hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
    memcpy(e->args, args, (size_t)n * sizeof *args);
    e->nargs = n;
    return HX_OK;
}

static int parse_expr(parser_t *p, hx_sql_expr_t **out);

/* '(' expr, ... ')' with the opening parenthesis current. */
static int parse_list(parser_t *p, hx_sql_expr_t ***out, int *n, int allow_star, int *star)
{
    int rc = next(p);
    hx_sql_expr_t *tmp[64], **list = tmp;
    int cap = 64, cnt = 0;
    if (star)
        *star = 0;
    if (rc)
        return rc;
    if (is_punct(TOK, ")")) {
        *out = NULL;
        *n = 0;
        return next(p);
    }
    if (allow_star && is_punct(TOK, "*")) {
        *star = 1;
        if ((rc = next(p)))
            return rc;
        *out = NULL;
        *n = 0;
        return expect_punct(p, ")", "')' after *");
    }
    for (;;) {
        hx_sql_expr_t *e;
        if ((rc = parse_expr(p, &e)))
            return rc;
        if (cnt == cap) {
            if (cap >= SQL_MAX_LIST)
                return perr(p, e->pos, "list too long (at most 4096 elements)%s", NULL);
            hx_sql_expr_t **bigger = sql_alloc(p->lx->arena, (size_t)cap * 2 * sizeof *bigger);
            if (!bigger)
                return hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
            memcpy(bigger, list, (size_t)cnt * sizeof *list);
            list = bigger;
            cap *= 2;
        }
        list[cnt++] = e;
        if (is_punct(TOK, ",")) {
            if ((rc = next(p)))
                return rc;
            continue;
        }
        if (!is_punct(TOK, ")"))
            return perr(p, TOK->pos, "expected ',' or ')'%s", NULL);
        break;
    }
    *out = sql_alloc(p->lx->arena, (size_t)cnt * sizeof *list);
    if (!*out)
        return hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
    memcpy(*out, list, (size_t)cnt * sizeof *list);
    *n = cnt;
    return next(p);
}

static int parse_primary(parser_t *p, hx_sql_expr_t **out)
{
    sql_tok_t t = *TOK;
    int rc;
    hx_sql_expr_t *e;
    switch (t.kind) {
    case TK_INT:
    case TK_FLOAT:
        if (!(e = node(p, t.kind == TK_INT ? SQL_RAW_INT : SQL_RAW_FLOAT, t.pos)))
            return HX_ENOMEM;
        e->v.i = t.i;
        e->v.f = t.f;
        *out = e;
        return next(p);
    case TK_STRING:
        if (!(e = node(p, SQL_RAW_STRING, t.pos)))
            return HX_ENOMEM;
        e->v.s = t.s;
        e->v.len = t.slen;
        *out = e;
        return next(p);
    case TK_PARAM:
        if (!(e = node(p, SQL_RAW_PARAM, t.pos)))
            return HX_ENOMEM;
        e->v.s = t.s;
        e->v.len = t.slen;
        ((sql_raw_t *)e)->ptype = t.s2;
        *out = e;
        return next(p);
    case TK_PUNCT:
        if (is_punct(&t, "(")) {
            if ((rc = next(p)))
                return rc;
            if (is_kw(TOK, "SELECT"))
                return perr(p, TOK->pos, "subqueries are not supported%s", NULL);
            if ((rc = parse_expr(p, out)))
                return rc;
            if (is_punct(TOK, ","))
                return perr(p, TOK->pos, "tuples are not supported%s", NULL);
            return expect_punct(p, ")", "')'");
        }
        if (is_punct(&t, "*"))
            return perr(p, t.pos, "* is only allowed as SELECT * or count(*)%s", NULL);
        return perr(p, t.pos, "expected an expression%s", NULL);
    case TK_EOF: return perr(p, t.pos, "expected an expression%s", NULL);
    case TK_QIDENT:
    case TK_IDENT: break;
    }
    if (t.kind == TK_IDENT) {
        if ((rc = refuse_unsupported(p)))
            return rc;
        if (in_list(&t, reserved) && !is_kw(&t, "INTERVAL"))
            return perr(p, t.pos, "expected an expression, found a keyword%s", NULL);
        if (is_kw(&t, "INTERVAL")) {
            if ((rc = next(p)))
                return rc;
            hx_sql_expr_t *n;
            /* The count binds tighter than any operator: INTERVAL 1 DAY. */
            if (p->depth++ > SQL_MAX_DEPTH)
                return perr(p, TOK->pos, "expression nested too deeply%s", NULL);
            if (is_punct(TOK, "-")) {
                return perr(p, TOK->pos, "INTERVAL takes a non-negative count; subtract instead%s", NULL);
            }
            rc = parse_primary(p, &n);
            p->depth--;
            if (rc)
                return rc;
            if (TOK->kind != TK_IDENT)
                return perr(p, TOK->pos, "INTERVAL needs a unit (SECOND, MINUTE, HOUR, DAY, WEEK)%s", NULL);
            static const char *units[] = {"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", NULL};
            int u = -1;
            for (int k = 0; units[k]; k++)
                if (is_kw(TOK, units[k]))
                    u = k;
            if (u < 0) {
                if (is_kw(TOK, "MONTH") || is_kw(TOK, "QUARTER") || is_kw(TOK, "YEAR"))
                    return perr(p, TOK->pos,
                                "calendar INTERVALs are not supported (months have no fixed length); use DAY%s",
                                NULL);
                return perr(p, TOK->pos, "unknown INTERVAL unit; use SECOND, MINUTE, HOUR, DAY or WEEK%s", NULL);
            }
            if (!(e = node(p, HX_SQL_INTERVAL, t.pos)) || set_args(p, e, &n, 1))
                return HX_ENOMEM;
            e->unit = u;
            *out = e;
            return next(p);
        }
    }
    if ((rc = next(p)))
        return rc;
    if (is_punct(TOK, ".")) {
        /* table.column: names the column even where an alias shadows it. */
        if ((rc = next(p)))
            return rc;
        if (TOK->kind != TK_IDENT && TOK->kind != TK_QIDENT)
            return perr(p, TOK->pos, "expected a column name after '.'%s", NULL);
        sql_raw_t *q = (sql_raw_t *)node(p, SQL_RAW_IDENT, t.pos);
        if (!q)
            return HX_ENOMEM;
        q->qual = t.s;
        q->qual_len = (uint32_t)t.slen;
        q->e.v.s = TOK->s;
        q->e.v.len = TOK->slen;
        *out = &q->e;
        if ((rc = next(p)))
            return rc;
        if (is_punct(TOK, "(") || is_punct(TOK, "."))
            return perr(p, t.pos, "qualified function names and db.table.column are not supported%s", NULL);
        return HX_OK;
    }
    if (!is_punct(TOK, "(")) {
        if (!(e = node(p, SQL_RAW_IDENT, t.pos)))
            return HX_ENOMEM;
        e->v.s = t.s;
        e->v.len = t.slen;
        *out = e;
        return HX_OK;
    }
    if (t.kind == TK_QIDENT)
        return perr(p, t.pos, "a quoted name cannot be called as a function%s", NULL);
    sql_raw_t *call = (sql_raw_t *)node(p, SQL_RAW_CALL, t.pos);
    if (!call)
        return HX_ENOMEM;
    call->e.v.s = t.s;
    call->e.v.len = t.slen;
    int star = 0;
    hx_sql_expr_t **args;
    int n;
    if (p->depth++ > SQL_MAX_DEPTH)
        return perr(p, t.pos, "expression nested too deeply%s", NULL);
    if ((rc = parse_list(p, &args, &n, 1, &star)))
        return rc;
    if (is_punct(TOK, "(")) {
        /* Parametric aggregate: quantile(0.95)(x). */
        if (star)
            return perr(p, TOK->pos, "unexpected '('%s", NULL);
        call->params = args;
        call->nparams = n;
        call->has_params = 1;
        if ((rc = parse_list(p, &args, &n, 0, NULL)))
            return rc;
    }
    p->depth--;
    if (star) {
        hx_sql_expr_t *s = node(p, SQL_RAW_STAR, t.pos);
        if (!s)
            return HX_ENOMEM;
        args = &s;
        n = 1;
        if (set_args(p, &call->e, args, n))
            return HX_ENOMEM;
    } else {
        call->e.args = args;
        call->e.nargs = n;
    }
    *out = &call->e;
    return HX_OK;
}

/* A prefix operator at the current token: its operand parsed by sub. */
static int prefix(parser_t *p, int op, int (*sub)(parser_t *, hx_sql_expr_t **), hx_sql_expr_t **out)
{
    uint32_t pos = TOK->pos;
    int rc = next(p);
    if (rc)
        return rc;
    if (p->depth++ > SQL_MAX_DEPTH)
        return perr(p, pos, "expression nested too deeply%s", NULL);
    hx_sql_expr_t *a;
    rc = sub(p, &a);
    p->depth--;
    if (rc)
        return rc;
    if (op < 0) { /* unary + */
        *out = a;
        return HX_OK;
    }
    hx_sql_expr_t *e = node(p, HX_SQL_UNARY, pos);
    if (!e || set_args(p, e, &a, 1))
        return HX_ENOMEM;
    e->op = op;
    *out = e;
    return HX_OK;
}

static int parse_unary(parser_t *p, hx_sql_expr_t **out)
{
    if (is_punct(TOK, "-") || is_punct(TOK, "+"))
        return prefix(p, is_punct(TOK, "-") ? HX_SQL_OP_NEG : -1, parse_unary, out);
    return parse_primary(p, out);
}

static int binary(parser_t *p, int op, uint32_t pos, hx_sql_expr_t *l, hx_sql_expr_t *r, hx_sql_expr_t **out)
{
    if (++p->ops > 1000)
        return perr(p, pos, "expression too long (at most 1000 operators)%s", NULL);
    hx_sql_expr_t *e = node(p, HX_SQL_BINARY, pos);
    hx_sql_expr_t *a[2] = {l, r};
    if (!e || set_args(p, e, a, 2))
        return HX_ENOMEM;
    e->op = op;
    *out = e;
    return HX_OK;
}

static int parse_mul(parser_t *p, hx_sql_expr_t **out)
{
    int rc = parse_unary(p, out);
    while (!rc && (is_punct(TOK, "*") || is_punct(TOK, "/") || is_punct(TOK, "%"))) {
        if (is_punct(TOK, "%"))
            return perr(p, TOK->pos, "%% (modulo) is not part of the analytics SQL subset%s", NULL);
        int op = is_punct(TOK, "*") ? HX_SQL_OP_MUL : HX_SQL_OP_DIV;
        uint32_t pos = TOK->pos;
        hx_sql_expr_t *r;
        if ((rc = next(p)) || (rc = parse_unary(p, &r)))
            return rc;
        rc = binary(p, op, pos, *out, r, out);
    }
    return rc;
}

static int parse_add(parser_t *p, hx_sql_expr_t **out)
{
    int rc = parse_mul(p, out);
    while (!rc && (is_punct(TOK, "+") || is_punct(TOK, "-"))) {
        int op = is_punct(TOK, "+") ? HX_SQL_OP_ADD : HX_SQL_OP_SUB;
        uint32_t pos = TOK->pos;
        hx_sql_expr_t *r;
        if ((rc = next(p)) || (rc = parse_mul(p, &r)))
            return rc;
        rc = binary(p, op, pos, *out, r, out);
    }
    return rc;
}

static int cmp_op(const sql_tok_t *t)
{
    if (t->kind != TK_PUNCT)
        return -1;
    if (!strcmp(t->punct, "=") || !strcmp(t->punct, "=="))
        return HX_SQL_OP_EQ;
    if (!strcmp(t->punct, "!=") || !strcmp(t->punct, "<>"))
        return HX_SQL_OP_NE;
    if (!strcmp(t->punct, "<"))
        return HX_SQL_OP_LT;
    if (!strcmp(t->punct, "<="))
        return HX_SQL_OP_LE;
    if (!strcmp(t->punct, ">"))
        return HX_SQL_OP_GT;
    if (!strcmp(t->punct, ">="))
        return HX_SQL_OP_GE;
    return -1;
}

static int parse_cmp(parser_t *p, hx_sql_expr_t **out)
{
    int rc = parse_add(p, out);
    if (rc)
        return rc;
    int op = cmp_op(TOK);
    if (op >= 0) {
        uint32_t pos = TOK->pos;
        hx_sql_expr_t *r;
        if ((rc = next(p)) || (rc = parse_add(p, &r)))
            return rc;
        rc = binary(p, op, pos, *out, r, out);
        if (!rc && cmp_op(TOK) >= 0)
            return perr(p, TOK->pos, "chained comparisons need AND%s", NULL);
        return rc;
    }
    int negated = 0;
    uint32_t pos = TOK->pos;
    if (is_kw(TOK, "NOT")) {
        /* x NOT IN / NOT BETWEEN / NOT LIKE */
        sql_lexer_t save = *p->lx;
        if ((rc = next(p)))
            return rc;
        if (!is_kw(TOK, "IN") && !is_kw(TOK, "BETWEEN") && !is_kw(TOK, "LIKE")) {
            *p->lx = save;
            return HX_OK;
        }
        negated = 1;
    }
    if (is_kw(TOK, "IS"))
        return perr(p, TOK->pos, "IS [NOT] NULL is not supported: columns are never NULL%s", NULL);
    if (is_kw(TOK, "IN")) {
        if ((rc = next(p)))
            return rc;
        if (!is_punct(TOK, "("))
            return perr(p, TOK->pos, "IN needs a parenthesised list of values%s", NULL);
        sql_lexer_t save = *p->lx;
        if ((rc = next(p)))
            return rc;
        if (is_kw(TOK, "SELECT"))
            return perr(p, TOK->pos, "subqueries are not supported%s", NULL);
        *p->lx = save;
        hx_sql_expr_t **list;
        int n;
        if ((rc = parse_list(p, &list, &n, 0, NULL)))
            return rc;
        if (!n)
            return perr(p, pos, "IN needs at least one value%s", NULL);
        hx_sql_expr_t *e = node(p, HX_SQL_IN, pos);
        if (!e)
            return HX_ENOMEM;
        e->args = sql_alloc(p->lx->arena, (size_t)(n + 1) * sizeof *e->args);
        if (!e->args)
            return hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
        e->args[0] = *out;
        memcpy(e->args + 1, list, (size_t)n * sizeof *list);
        e->nargs = n + 1;
        e->negated = negated;
        *out = e;
        return HX_OK;
    }
    if (is_kw(TOK, "BETWEEN")) {
        hx_sql_expr_t *lo, *hi;
        if ((rc = next(p)) || (rc = parse_add(p, &lo)))
            return rc;
        if (!is_kw(TOK, "AND"))
            return perr(p, TOK->pos, "BETWEEN needs AND%s", NULL);
        if ((rc = next(p)) || (rc = parse_add(p, &hi)))
            return rc;
        hx_sql_expr_t *e = node(p, HX_SQL_BETWEEN, pos);
        hx_sql_expr_t *a[3] = {*out, lo, hi};
        if (!e || set_args(p, e, a, 3))
            return HX_ENOMEM;
        e->negated = negated;
        *out = e;
        return HX_OK;
    }
    if (is_kw(TOK, "LIKE")) {
        hx_sql_expr_t *pat;
        if ((rc = next(p)) || (rc = parse_add(p, &pat)))
            return rc;
        hx_sql_expr_t *e = node(p, HX_SQL_LIKE, pos);
        hx_sql_expr_t *a[2] = {*out, pat};
        if (!e || set_args(p, e, a, 2))
            return HX_ENOMEM;
        e->negated = negated;
        *out = e;
        return HX_OK;
    }
    return HX_OK;
}

static int parse_not(parser_t *p, hx_sql_expr_t **out)
{
    if (is_kw(TOK, "NOT"))
        return prefix(p, HX_SQL_OP_NOT, parse_not, out);
    return parse_cmp(p, out);
}

static int parse_and(parser_t *p, hx_sql_expr_t **out)
{
    int rc = parse_not(p, out);
    while (!rc && is_kw(TOK, "AND")) {
        uint32_t pos = TOK->pos;
        hx_sql_expr_t *r;
        if ((rc = next(p)) || (rc = parse_not(p, &r)))
            return rc;
        rc = binary(p, HX_SQL_OP_AND, pos, *out, r, out);
    }
    return rc;
}

static int parse_expr(parser_t *p, hx_sql_expr_t **out)
{
    if (p->depth++ > SQL_MAX_DEPTH)
        return perr(p, TOK->pos, "expression nested too deeply%s", NULL);
    int rc = parse_and(p, out);
    while (!rc && is_kw(TOK, "OR")) {
        uint32_t pos = TOK->pos;
        hx_sql_expr_t *r;
        if ((rc = next(p)) || (rc = parse_and(p, &r)))
            break;
        rc = binary(p, HX_SQL_OP_OR, pos, *out, r, out);
    }
    p->depth--;
    return rc;
}

/* Grows a plain array in the arena (amortised by doubling). */
static void *grow_arr(parser_t *p, void *arr, int n, int *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    int ncap = *cap ? *cap * 2 : 8;
    if (ncap > SQL_MAX_LIST) {
        hx_err_set(p->lx->err, HX_EINVAL, "SQL error: too many items (at most %d)", SQL_MAX_LIST);
        return NULL;
    }
    void *bigger = sql_alloc(p->lx->arena, (size_t)ncap * elem);
    if (!bigger) {
        hx_err_set(p->lx->err, HX_ENOMEM, "out of memory parsing SQL");
        return NULL;
    }
    if (n)
        memcpy(bigger, arr, (size_t)n * elem);
    *cap = ncap;
    return bigger;
}

static int is_alias_word(const sql_tok_t *t)
{
    return (t->kind == TK_IDENT && !in_list(t, reserved) && !in_list(t, unsupported)) || t->kind == TK_QIDENT;
}

static int parse_items(parser_t *p, sql_raw_stmt_t *st)
{
    int rc, cap = 0;
    if (is_punct(TOK, "*")) {
        st->star = 1;
        st->star_pos = TOK->pos;
        return next(p);
    }
    for (;;) {
        hx_sql_expr_t *e;
        if ((rc = parse_expr(p, &e)))
            return rc;
        if (!(st->items = grow_arr(p, st->items, st->nitems, &cap, sizeof *st->items)))
            return p->lx->err ? p->lx->err->code : HX_ENOMEM;
        sql_raw_item_t *it = &st->items[st->nitems++];
        it->e = e;
        if (is_kw(TOK, "AS")) {
            if ((rc = next(p)))
                return rc;
            if (TOK->kind != TK_IDENT && TOK->kind != TK_QIDENT)
                return perr(p, TOK->pos, "expected an alias after AS%s", NULL);
            if (TOK->kind == TK_IDENT && in_list(TOK, reserved))
                return perr(p, TOK->pos, "a keyword cannot be an alias; quote it with backquotes%s", NULL);
        }
        if (is_alias_word(TOK)) {
            it->alias = TOK->s;
            it->alias_pos = TOK->pos;
            if ((rc = next(p)))
                return rc;
        } else if ((rc = refuse_unsupported(p))) {
            return rc;
        }
        if (!is_punct(TOK, ","))
            return HX_OK;
        if ((rc = next(p)))
            return rc;
    }
}

static int parse_table(parser_t *p, sql_raw_stmt_t *st)
{
    if (is_punct(TOK, "("))
        return perr(p, TOK->pos, "subqueries are not supported: FROM takes a table name%s", NULL);
    if (TOK->kind != TK_IDENT && TOK->kind != TK_QIDENT)
        return perr(p, TOK->pos, "expected a table name after FROM%s", NULL);
    sql_tok_t t = *TOK;
    int rc = next(p);
    if (rc)
        return rc;
    if (is_punct(TOK, "("))
        return perr(p, t.pos, "table functions are not allowed: FROM takes a Helix table%s", NULL);
    if (is_punct(TOK, "."))
        return perr(p, t.pos,
                    "only Helix's tables can be read (provider_metrics, debate_metrics, debate_participants, "
                    "conversation_metrics), not other databases or system tables%s",
                    NULL);
    if (hx_an_table_by_name(t.s, t.slen, &st->table))
        return perr(p, t.pos,
                    "unknown table; the tables are provider_metrics, debate_metrics, debate_participants, "
                    "conversation_metrics%s",
                    NULL);
    /* FROM t AS x / FROM t x: an alias of the table is harmless but useless. */
    if (is_kw(TOK, "AS"))
        return perr(p, TOK->pos, "table aliases are not supported%s", NULL);
    return HX_OK;
}

static int parse_order(parser_t *p, sql_raw_stmt_t *st)
{
    int rc, cap = 0;
    for (;;) {
        hx_sql_expr_t *e;
        if ((rc = parse_expr(p, &e)))
            return rc;
        if (!(st->order_by = grow_arr(p, st->order_by, st->norder, &cap, sizeof *st->order_by)))
            return p->lx->err ? p->lx->err->code : HX_ENOMEM;
        hx_sql_order_t *o = &st->order_by[st->norder++];
        o->e = e;
        if (is_kw(TOK, "ASC") || is_kw(TOK, "DESC")) {
            o->desc = is_kw(TOK, "DESC");
            if ((rc = next(p)))
                return rc;
        }
        if (is_kw(TOK, "NULLS") || is_kw(TOK, "COLLATE") || is_kw(TOK, "WITH"))
            return perr(p, TOK->pos, "only ASC or DESC may follow an ORDER BY expression%s", NULL);
        if (!is_punct(TOK, ","))
            return HX_OK;
        if ((rc = next(p)))
            return rc;
    }
}

int sql_parse_raw(sql_lexer_t *lx, sql_raw_stmt_t *st)
{
    parser_t pp = {lx, 0, 0}, *p = &pp;
    memset(st, 0, sizeof *st);
    int rc = next(p);
    if (rc)
        return rc;
    if (!is_kw(TOK, "SELECT")) {
        if (TOK->kind == TK_EOF)
            return perr(p, TOK->pos, "empty statement; expected SELECT%s", NULL);
        return perr(p, TOK->pos, "only SELECT statements are allowed (the analytics API is read-only)%s", NULL);
    }
    if ((rc = next(p)))
        return rc;
    if ((rc = refuse_unsupported(p)) || (rc = parse_items(p, st)))
        return rc;
    if (!is_kw(TOK, "FROM")) {
        if ((rc = refuse_unsupported(p)))
            return rc;
        return perr(p, TOK->pos, "expected FROM and a table%s", NULL);
    }
    if ((rc = next(p)) || (rc = parse_table(p, st)))
        return rc;
    if (is_kw(TOK, "WHERE")) {
        if ((rc = next(p)) || (rc = parse_expr(p, &st->where)))
            return rc;
    }
    if (is_kw(TOK, "GROUP")) {
        if ((rc = next(p)))
            return rc;
        if (!is_kw(TOK, "BY"))
            return perr(p, TOK->pos, "expected BY after GROUP%s", NULL);
        int cap = 0;
        do {
            if ((rc = next(p)))
                return rc;
            hx_sql_expr_t *e;
            if ((rc = parse_expr(p, &e)))
                return rc;
            if (!(st->group_by = grow_arr(p, st->group_by, st->ngroup, &cap, sizeof *st->group_by)))
                return lx->err ? lx->err->code : HX_ENOMEM;
            st->group_by[st->ngroup++] = e;
        } while (is_punct(TOK, ","));
    }
    if (is_kw(TOK, "ORDER")) {
        if ((rc = next(p)))
            return rc;
        if (!is_kw(TOK, "BY"))
            return perr(p, TOK->pos, "expected BY after ORDER%s", NULL);
        if ((rc = next(p)) || (rc = parse_order(p, st)))
            return rc;
    }
    if (is_kw(TOK, "LIMIT")) {
        if ((rc = next(p)))
            return rc;
        if (TOK->kind != TK_INT && TOK->kind != TK_PARAM)
            return perr(p, TOK->pos, "LIMIT takes a non-negative integer%s", NULL);
        if ((rc = parse_primary(p, &st->limit)))
            return rc;
        if (is_punct(TOK, ",") || is_kw(TOK, "OFFSET"))
            return perr(p, TOK->pos, "LIMIT takes one count (no offset)%s", NULL);
    }
    if (is_punct(TOK, ";") && (rc = next(p)))
        return rc;
    if (TOK->kind != TK_EOF) {
        if ((rc = refuse_unsupported(p)))
            return rc;
        if (is_kw(TOK, "WHERE") || is_kw(TOK, "GROUP") || is_kw(TOK, "ORDER") || is_kw(TOK, "LIMIT"))
            return perr(p, TOK->pos, "clause out of order (SELECT ... FROM ... WHERE ... GROUP BY ... ORDER BY ... "
                                     "LIMIT)%s", NULL);
        return perr(p, TOK->pos, "unexpected text after the statement (one statement only)%s", NULL);
    }
    return HX_OK;
}
