/* Tokens of the SQL subset, and the arena the parse tree lives in. */
#include "analytics/sql/sql_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sql_arena_block {
    sql_arena_block_t *next;
    size_t used, cap;
    max_align_t data[];
};

void *sql_alloc(sql_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    sql_arena_block_t *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *sql_strndup(sql_arena_t *a, const char *s, size_t n)
{
    char *p = sql_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

void sql_arena_free(sql_arena_t *a)
{
    while (a->head) {
        sql_arena_block_t *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

int sql_error_at(hx_err_t *err, const char *src, size_t len, uint32_t pos, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (pos >= len)
        return hx_err_set(err, HX_EINVAL, "SQL error at position %u (end of statement): %s", pos, why);
    /* The offending token: up to the next space or 24 bytes, printable only. */
    char near[32];
    size_t n = 0;
    for (size_t i = pos; i < len && n < 24; i++) {
        unsigned char c = (unsigned char)src[i];
        if (n && (c == ' ' || c == '\n' || c == '\t' || c == ',' || c == ')'))
            break;
        near[n++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
    }
    near[n] = 0;
    return hx_err_set(err, HX_EINVAL, "SQL error at position %u near '%s': %s", pos, near, why);
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int lex_err(sql_lexer_t *lx, size_t pos, const char *why)
{
    return sql_error_at(lx->err, lx->src, lx->len, (uint32_t)pos, "%s", why);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Single-quoted string: backslash escapes (\\ \' \n \t \r \0 \xHH) and ''. */
static int lex_string(sql_lexer_t *lx, sql_tok_t *t)
{
    const char *s = lx->src;
    size_t i = lx->pos + 1, start = lx->pos;
    char *out = sql_alloc(lx->arena, lx->len - lx->pos + 1);
    if (!out)
        return hx_err_set(lx->err, HX_ENOMEM, "out of memory parsing SQL");
    size_t n = 0;
    for (;;) {
        if (i >= lx->len)
            return lex_err(lx, start, "unterminated string literal");
        char c = s[i++];
        if (c == '\'') {
            if (i < lx->len && s[i] == '\'') {
                out[n++] = '\'';
                i++;
                continue;
            }
            break;
        }
        if (c == '\\') {
            if (i >= lx->len)
                return lex_err(lx, start, "unterminated string literal");
            char e = s[i++];
            switch (e) {
            case 'n': out[n++] = '\n'; break;
            case 't': out[n++] = '\t'; break;
            case 'r': out[n++] = '\r'; break;
            case '0': return lex_err(lx, i - 2, "NUL bytes are not allowed in strings");
            case 'x': {
                int h = i + 1 < lx->len ? hexval(s[i]) : -1, l = i + 1 < lx->len ? hexval(s[i + 1]) : -1;
                if (h < 0 || l < 0)
                    return lex_err(lx, i - 2, "\\x needs two hex digits");
                if (h == 0 && l == 0)
                    return lex_err(lx, i - 2, "NUL bytes are not allowed in strings");
                out[n++] = (char)(h * 16 + l);
                i += 2;
                break;
            }
            default:
                if (e == 0)
                    return lex_err(lx, i - 1, "NUL bytes are not allowed in strings");
                out[n++] = e;
                break;
            }
            continue;
        }
        if (c == 0)
            return lex_err(lx, i - 1, "NUL bytes are not allowed in strings");
        out[n++] = c;
    }
    out[n] = 0;
    t->kind = TK_STRING;
    t->s = out;
    t->slen = n;
    lx->pos = i;
    return HX_OK;
}

static int lex_number(sql_lexer_t *lx, sql_tok_t *t)
{
    const char *s = lx->src;
    size_t i = lx->pos, start = i;
    int is_float = 0;
    while (i < lx->len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i < lx->len && s[i] == '.') {
        is_float = 1;
        i++;
        while (i < lx->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < lx->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < lx->len && s[j] >= '0' && s[j] <= '9') {
            is_float = 1;
            i = j;
            while (i < lx->len && s[i] >= '0' && s[i] <= '9')
                i++;
        }
    }
    if (i < lx->len && is_ident_char((unsigned char)s[i]))
        return lex_err(lx, start, "malformed number");
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf)
        return lex_err(lx, start, "number too long");
    memcpy(buf, s + start, n);
    buf[n] = 0;
    errno = 0;
    if (is_float) {
        t->kind = TK_FLOAT;
        t->f = strtod(buf, NULL);
        if (errno || !isfinite(t->f))
            return lex_err(lx, start, "number out of range");
    } else {
        t->kind = TK_INT;
        unsigned long long v = strtoull(buf, NULL, 10);
        if (errno || v > (unsigned long long)INT64_MAX)
            return lex_err(lx, start, "integer out of range (at most 9223372036854775807)");
        t->i = (int64_t)v;
    }
    lx->pos = i;
    return HX_OK;
}

/* {name:Type} */
static int lex_param(sql_lexer_t *lx, sql_tok_t *t)
{
    const char *s = lx->src;
    size_t i = lx->pos + 1, start = lx->pos;
    while (i < lx->len && s[i] == ' ')
        i++;
    size_t n0 = i;
    while (i < lx->len && is_ident_char((unsigned char)s[i]))
        i++;
    size_t n1 = i;
    while (i < lx->len && s[i] == ' ')
        i++;
    if (n1 == n0 || !is_ident_start((unsigned char)s[n0]) || i >= lx->len || s[i] != ':')
        return lex_err(lx, start, "a parameter is written {name:Type}");
    i++;
    while (i < lx->len && s[i] == ' ')
        i++;
    size_t t0 = i;
    while (i < lx->len && is_ident_char((unsigned char)s[i]))
        i++;
    size_t t1 = i;
    while (i < lx->len && s[i] == ' ')
        i++;
    if (t1 == t0 || i >= lx->len || s[i] != '}')
        return lex_err(lx, start, "a parameter is written {name:Type}");
    t->kind = TK_PARAM;
    t->s = sql_strndup(lx->arena, s + n0, n1 - n0);
    t->slen = n1 - n0;
    t->s2 = sql_strndup(lx->arena, s + t0, t1 - t0);
    if (!t->s || !t->s2)
        return hx_err_set(lx->err, HX_ENOMEM, "out of memory parsing SQL");
    lx->pos = i + 1;
    return HX_OK;
}

int sql_lex_next(sql_lexer_t *lx)
{
    const char *s = lx->src;
    /* Whitespace and comments. */
    for (;;) {
        while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\n' ||
                                     s[lx->pos] == '\r' || s[lx->pos] == '\f'))
            lx->pos++;
        if (lx->pos + 1 < lx->len && s[lx->pos] == '-' && s[lx->pos + 1] == '-') {
            while (lx->pos < lx->len && s[lx->pos] != '\n')
                lx->pos++;
            continue;
        }
        if (lx->pos + 1 < lx->len && s[lx->pos] == '/' && s[lx->pos + 1] == '*') {
            size_t start = lx->pos;
            lx->pos += 2;
            while (lx->pos + 1 < lx->len && !(s[lx->pos] == '*' && s[lx->pos + 1] == '/'))
                lx->pos++;
            if (lx->pos + 1 >= lx->len)
                return lex_err(lx, start, "unterminated comment");
            lx->pos += 2;
            continue;
        }
        break;
    }
    sql_tok_t *t = &lx->tok;
    memset(t, 0, sizeof *t);
    t->pos = (uint32_t)lx->pos;
    if (lx->pos >= lx->len) {
        t->kind = TK_EOF;
        return HX_OK;
    }
    unsigned char c = (unsigned char)s[lx->pos];
    int rc = HX_OK;
    if (is_ident_start(c)) {
        size_t i = lx->pos;
        while (i < lx->len && is_ident_char((unsigned char)s[i]))
            i++;
        t->kind = TK_IDENT;
        t->s = sql_strndup(lx->arena, s + lx->pos, i - lx->pos);
        t->slen = i - lx->pos;
        if (!t->s)
            return hx_err_set(lx->err, HX_ENOMEM, "out of memory parsing SQL");
        lx->pos = i;
    } else if (c == '`' || c == '"') {
        size_t i = lx->pos + 1;
        while (i < lx->len && s[i] != '`' && s[i] != '"' && (unsigned char)s[i] >= 0x20)
            i++;
        if (i >= lx->len || s[i] != (char)c)
            return lex_err(lx, lx->pos, "unterminated quoted identifier (quotes and control characters cannot be "
                                        "part of a name)");
        if (i == lx->pos + 1)
            return lex_err(lx, lx->pos, "empty quoted identifier");
        t->kind = TK_QIDENT;
        t->s = sql_strndup(lx->arena, s + lx->pos + 1, i - lx->pos - 1);
        t->slen = i - lx->pos - 1;
        if (!t->s)
            return hx_err_set(lx->err, HX_ENOMEM, "out of memory parsing SQL");
        lx->pos = i + 1;
    } else if (c >= '0' && c <= '9') {
        rc = lex_number(lx, t);
    } else if (c == '.' && lx->pos + 1 < lx->len && s[lx->pos + 1] >= '0' && s[lx->pos + 1] <= '9') {
        rc = lex_number(lx, t);
    } else if (c == '\'') {
        rc = lex_string(lx, t);
    } else if (c == '{') {
        rc = lex_param(lx, t);
    } else {
        static const char *two[] = {"!=", "<>", "<=", ">=", "==", NULL};
        t->kind = TK_PUNCT;
        for (int k = 0; two[k]; k++)
            if (lx->pos + 1 < lx->len && s[lx->pos] == two[k][0] && s[lx->pos + 1] == two[k][1]) {
                memcpy(t->punct, two[k], 2);
                lx->pos += 2;
                goto done;
            }
        if (!strchr("(),.*+-/%=<>;", c) || c == 0)
            return lex_err(lx, lx->pos, "unexpected character");
        t->punct[0] = (char)c;
        lx->pos++;
    }
done:
    if (rc)
        return rc;
    t->len = (uint32_t)(lx->pos - t->pos);
    return HX_OK;
}

hx_sql_expr_t *sql_new_node(sql_arena_t *a, int kind, uint32_t pos)
{
    sql_raw_t *r = sql_alloc(a, sizeof *r);
    if (!r)
        return NULL;
    r->e.kind = (hx_sql_kind_t)kind;
    r->e.pos = pos;
    r->e.m[0] = r->e.m[1] = -1;
    return &r->e;
}

hx_sql_expr_t *sql_new_const_int(sql_arena_t *a, hx_an_type_t t, int64_t v, uint32_t pos)
{
    hx_sql_expr_t *e = sql_new_node(a, HX_SQL_CONST, pos);
    if (e) {
        e->type = t;
        e->v.i = v;
    }
    return e;
}
