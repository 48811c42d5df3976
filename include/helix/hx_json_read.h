/* A strict, allocation-free JSON reader over a byte span, for readers of
 * log records that arrive at hundreds of thousands per second (the graph
 * event codec, the lake archiver's rows): jansson builds a tree of
 * allocated values (~3.6 us for a small graph item), these read the fields
 * they need straight from the text.
 * Every reader returns 0 or HX_EINVAL and leaves r->pos after what it read;
 * nesting deeper than HX_JR_DEPTH_MAX is refused. */
#ifndef HX_JSON_READ_H
#define HX_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#define HX_JR_DEPTH_MAX 16

typedef struct hx_jr {
    const char *p;
    size_t n, pos;
    char *scratch;               /* unescaped string of the last hx_jr_string */
    size_t scratch_cap;
} hx_jr_t;

void hx_jr_init(hx_jr_t *r, const char *p, size_t n);
void hx_jr_free(hx_jr_t *r);
void hx_jr_ws(hx_jr_t *r);
/* 1 when the next non-space byte is c (consumed), else 0. */
int hx_jr_eat(hx_jr_t *r, char c);
char hx_jr_peek(hx_jr_t *r);
/* A string, unescaped and NUL-terminated in r->scratch (valid until the
 * next hx_jr_string). Checks UTF-8; refuses \u0000 and raw control characters. */
int hx_jr_string(hx_jr_t *r, const char **s, size_t *len);
/* A string without escapes, in place: *s points into the text (not
 * NUL-terminated), checked as hx_jr_string checks it. 1 when read; 0 when
 * it has escapes or is not a string (the reader has not moved; hx_jr_string
 * reads it or says why not). */
int hx_jr_plain(hx_jr_t *r, const char **s, size_t *len);
int hx_jr_number(hx_jr_t *r, double *v, int *is_int);
int hx_jr_bool(hx_jr_t *r, int *v);
int hx_jr_null(hx_jr_t *r);
/* Skips one value; [*start, *end) is its text. */
int hx_jr_skip(hx_jr_t *r, size_t *start, size_t *end);
/* Steps through an object's members: set *first to 1 and call it with r
 * before the '{', then again after reading each member's value. 1 when a
 * member follows, its key and ':' read: *key, *key_len is the key, in place
 * in the text (not NUL-terminated) when it has no escapes, as hx_jr_plain
 * reads it, else unescaped in r->scratch, as hx_jr_string reads it (so
 * *key == r->scratch says it had escapes). 0 when the object has ended (its
 * '}' read); HX_EINVAL when the text is not an object's members. */
int hx_jr_member_next(hx_jr_t *r, int *first, const char **key, size_t *key_len);

#endif
