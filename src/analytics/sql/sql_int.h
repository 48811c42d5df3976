/* Private to src/analytics/sql: the arena, tokens and the raw (unbound) node
 * kinds the parser produces before the binder resolves them. */
#ifndef HX_ANALYTICS_SQL_INT_H
#define HX_ANALYTICS_SQL_INT_H

#include "analytics/sql/sql.h"

#include <stddef.h>
#include <stdint.h>

#define SQL_MAX_LEN 65536
#define SQL_MAX_DEPTH 64
#define SQL_MAX_LIST 4096

/* Bump allocator owning every node and string of a query. */
typedef struct sql_arena_block sql_arena_block_t;
typedef struct sql_arena {
    sql_arena_block_t *head;
} sql_arena_t;

void *sql_alloc(sql_arena_t *a, size_t n);              /* zeroed; NULL on ENOMEM */
char *sql_strndup(sql_arena_t *a, const char *s, size_t n);
void sql_arena_free(sql_arena_t *a);

typedef enum {
    TK_EOF = 0,
    TK_IDENT,    /* bare word (keywords too) */
    TK_QIDENT,   /* `x` or "x" */
    TK_INT,
    TK_FLOAT,
    TK_STRING,   /* text unescaped into s */
    TK_PARAM,    /* {name:Type}: s = name, s2 = type */
    TK_PUNCT,    /* ( ) , . * + - / % = != <> < <= > >= ; */
} sql_tok_kind_t;

typedef struct sql_tok {
    sql_tok_kind_t kind;
    uint32_t pos, len;   /* in the statement text */
    const char *s;       /* arena copy: identifier, unescaped string, param name */
    size_t slen;
    const char *s2;      /* param type */
    int64_t i;
    double f;
    char punct[3];
} sql_tok_t;

/* Raw node kinds, only between parse and bind. */
enum {
    SQL_RAW_IDENT = 100, /* v.s = name */
    SQL_RAW_PARAM,       /* v.s = name; the Type in sql_raw_t.ptype */
    SQL_RAW_CALL,        /* v.s = function name; args; params in params/nparams */
    SQL_RAW_INT,         /* v.i */
    SQL_RAW_FLOAT,       /* v.f */
    SQL_RAW_STRING,      /* v.s, v.len */
    SQL_RAW_STAR,        /* count(*) */
};

/* Extra raw fields live in a wrapper so the public node stays small. */
typedef struct sql_raw {
    hx_sql_expr_t e;
    const char *ptype;          /* RAW_PARAM: the Type */
    const char *qual;           /* RAW_IDENT: table qualifier of table.column, or NULL */
    uint32_t qual_len;
    hx_sql_expr_t **params;     /* RAW_CALL: quantile(0.95)(x) -> params = [0.95] */
    int nparams;
    int has_params;
} sql_raw_t;

typedef struct sql_lexer {
    const char *src;
    size_t len, pos;
    sql_arena_t *arena;
    sql_tok_t tok;       /* current token */
    hx_err_t *err;
} sql_lexer_t;

int sql_lex_next(sql_lexer_t *lx);   /* advances lx->tok; HX_EINVAL with the message set */
int sql_error_at(hx_err_t *err, const char *src, size_t len, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The unbound statement. */
typedef struct sql_raw_item {
    hx_sql_expr_t *e;
    const char *alias;
    uint32_t alias_pos;
} sql_raw_item_t;

typedef struct sql_raw_stmt {
    int star;
    uint32_t star_pos;
    sql_raw_item_t *items;
    int nitems;
    hx_an_table_t table;
    hx_sql_expr_t *where;
    hx_sql_expr_t **group_by;
    int ngroup;
    hx_sql_order_t *order_by;
    int norder;
    hx_sql_expr_t *limit;      /* raw int or param */
} sql_raw_stmt_t;

int sql_parse_raw(sql_lexer_t *lx, sql_raw_stmt_t *st);

typedef struct sql_bind_ctx {
    const char *src;
    size_t len;
    sql_arena_t *arena;
    const hx_an_param_t *params;
    size_t nparams;
    int64_t now_s;
    hx_err_t *err;
} sql_bind_ctx_t;

int sql_bind(sql_bind_ctx_t *bc, sql_raw_stmt_t *st, hx_sql_query_t *q);

/* Constant folding of one bound node whose args are all constants: replaces
 * *e with a constant node when it can. */
int sql_fold(sql_bind_ctx_t *bc, hx_sql_expr_t **e);

hx_sql_expr_t *sql_new_node(sql_arena_t *a, int kind, uint32_t pos);
hx_sql_expr_t *sql_new_const_int(sql_arena_t *a, hx_an_type_t t, int64_t v, uint32_t pos);

#endif
