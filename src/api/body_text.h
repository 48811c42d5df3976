/* The text reader behind the fast body parsers of src/api (memory_parse.c,
 * context_parse.c): small bodies of a fixed shape read straight from the
 * request text into a typed request, without a jansson tree. A fast parser
 * only accepts what jansson's parse plus the tree parser would accept, with
 * the same values; anything else (malformed JSON, a duplicate or unknown
 * key, a value of the wrong type, an integer jansson would refuse as too
 * big) answers HX_EAGAIN and the handler takes the tree path, which gives
 * the error the API always gave. Strings are copied into one arena. */
#ifndef HX_API_BODY_TEXT_H
#define HX_API_BODY_TEXT_H

#include "helix/hx_error.h"
#include "helix/hx_json_read.h"

#include <stdint.h>

typedef struct hx_body_rd {
    hx_jr_t r;
    char *arena;       /* malloc'd: head bytes for the caller, then the strings */
    size_t used, cap;
} hx_body_rd_t;

/* Reads text[0..len) after an arena of head bytes (at its start, aligned
 * for pointers) the caller may use; HX_ENOMEM. */
int hx_body_rd_init(hx_body_rd_t *b, const char *text, size_t len, size_t head);
/* Frees the reader; the arena stays when keep (the caller frees it). */
void hx_body_rd_done(hx_body_rd_t *b, int keep);
/* The next key of an object as an index into names (NULL-terminated), then
 * its ':'; -1 for a key not in names or anything not a key. */
int hx_body_key(hx_body_rd_t *b, const char *const *names);
/* A string copied into the arena; null gives NULL when nullable. */
int hx_body_str(hx_body_rd_t *b, int nullable, const char **out);
/* An integer as jansson reads one (no fraction or exponent, in int64). */
int hx_body_int(hx_body_rd_t *b, int64_t *v);
/* A number with the double json_number_value gives for jansson's value. */
int hx_body_num(hx_body_rd_t *b, double *v);
/* 1 when the next value is null (consumed). */
int hx_body_null(hx_body_rd_t *b);
/* HX_OK when only white space is left. */
int hx_body_end(hx_body_rd_t *b);

#endif
