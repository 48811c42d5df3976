/* Private to src/graph: a strict, allocation-free JSON reader over a byte
 * span, for the graph event codec (events.c). jansson builds a tree of
 * allocated values (~3.6 us for a small item here); graph events arrive at
 * hundreds of thousands per second, so items are read straight into ops.
 * Every reader returns 0 or HX_EINVAL and leaves r->pos after what it read;
 * nesting deeper than JR_DEPTH_MAX is refused. */
#ifndef HX_GRAPH_JSON_READ_H
#define HX_GRAPH_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#define JR_DEPTH_MAX 16

typedef struct jr {
    const char *p;
    size_t n, pos;
    char *scratch;               /* unescaped string of the last jr_string */
    size_t scratch_cap;
} jr_t;

void jr_init(jr_t *r, const char *p, size_t n);
void jr_free(jr_t *r);
void jr_ws(jr_t *r);
/* 1 when the next non-space byte is c (consumed), else 0. */
int jr_eat(jr_t *r, char c);
char jr_peek(jr_t *r);
/* A string, unescaped and NUL-terminated in r->scratch (valid until the
 * next jr_string). Checks UTF-8; refuses \u0000 and raw control characters. */
int jr_string(jr_t *r, const char **s, size_t *len);
int jr_number(jr_t *r, double *v, int *is_int);
int jr_bool(jr_t *r, int *v);
int jr_null(jr_t *r);
/* Skips one value; [*start, *end) is its text. */
int jr_skip(jr_t *r, size_t *start, size_t *end);

#endif
