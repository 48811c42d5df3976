/* A strict streaming JSON scanner for flat row objects: strings (escapes,
 * UTF-8 checked), numbers (exact integers, correctly rounded doubles), true,
 * false, null and skipping of any value. No tree is built. */
#ifndef HX_AN_JSON_SCAN_H
#define HX_AN_JSON_SCAN_H

#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct js {
    const char *p, *end, *base;
    char *scratch;           /* unescaped strings */
    size_t scratch_cap;
    const char *why;         /* syntax error description */
} js_t;

enum { JS_STR = 1, JS_NUM, JS_TRUE, JS_FALSE, JS_NULL, JS_OBJ, JS_ARR };

static inline void js_ws(js_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

/* Kind of the next value (after whitespace), 0 at the end or on a bad byte. */
int js_peek(js_t *j);
/* A string at j->p: s and n point into the input when it has no escapes, else
 * into scratch. -1 on a syntax error (j->why set), -2 on ENOMEM. */
int js_string(js_t *j, const char **s, size_t *n);
/* A number: is_int with i when it is an integer that fits int64, f always. */
int js_number(js_t *j, int *is_int, int64_t *i, double *f);
/* Skips any value (depth-limited). */
int js_skip(js_t *j, int depth);
/* Expects byte c (after whitespace). */
int js_expect(js_t *j, char c);
void js_free(js_t *j);

#endif
